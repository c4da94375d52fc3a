"""``python -m bot check`` (issue 15): prints every readiness check and exits 0 when ready, 1
when not; the same checks as /readyz, for cron-style monitors."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.cli import main
from core.outbox import OutboxMessage
from storage.db import make_engine, make_session_factory
from storage.health import record_pass_finished
from storage.uow import SqlUnitOfWork
from tests.conftest import REPO_ROOT


async def _record_pass(url: str, at: datetime) -> None:
    engine = make_engine(url)
    try:
        await record_pass_finished(make_session_factory(engine), "test", at)
    finally:
        await engine.dispose()


async def _queue_old(url: str, age: timedelta) -> None:
    engine = make_engine(url)
    try:
        async with SqlUnitOfWork(make_session_factory(engine)) as uow:
            now = datetime.now(UTC)
            await uow.outbox.add(OutboxMessage(1, "sendMessage", {"text": "x"}, created_at=now - age))
            await uow.commit()
    finally:
        await engine.dispose()


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, migrated_sqlite_url: str) -> str:
    monkeypatch.chdir(tmp_path)  # no developer's .env
    monkeypatch.setenv("DATABASE_URL", migrated_sqlite_url)
    return migrated_sqlite_url


def test_check_exits_1_without_a_recent_pass_and_0_with_one(
    env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check"]) == 1
    out = capsys.readouterr().out
    assert "FAIL periodic_pass: no periodic pass recorded yet" in out
    assert "ok   database: reachable" in out and "ok   schema: at head" in out
    assert out.rstrip().endswith("NOT READY")

    asyncio.run(_record_pass(env, datetime.now(UTC)))
    assert main(["check"]) == 0
    out = capsys.readouterr().out
    assert "ok   periodic_pass" in out and out.rstrip().endswith("ready")


def test_check_exits_1_on_an_old_pending_outbox_row(
    env: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    asyncio.run(_record_pass(env, datetime.now(UTC)))
    asyncio.run(_queue_old(env, timedelta(minutes=3)))
    assert main(["check"]) == 0
    monkeypatch.setenv("READY_OUTBOX_MAX_AGE_SECONDS", "60")  # the limit comes from the settings
    assert main(["check"]) == 1
    assert "FAIL outbox: oldest pending message waits" in capsys.readouterr().out


def test_check_on_an_unmigrated_database_says_which_command_fixes_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
    assert main(["check"]) == 1
    assert "FAIL schema: never migrated" in capsys.readouterr().out


def test_check_as_a_process(env: str, tmp_path: Path) -> None:
    asyncio.run(_record_pass(env, datetime.now(UTC)))
    done = subprocess.run(
        [sys.executable, "-m", "bot", "check"],
        cwd=tmp_path,
        env={"DATABASE_URL": env, "PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ready" in done.stdout
