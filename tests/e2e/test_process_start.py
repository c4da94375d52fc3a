"""The real process: ``python -m bot`` against the local Bot API stand-in, and its CLI."""

from __future__ import annotations

import asyncio
import ctypes
import hashlib
import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from bot.wiring import make_deps
from core.plan import Plan
from core.services.complaints import ComplaintDraft
from core.services.units import sync_plan_units
from storage.db import make_engine, make_session_factory
from storage.uow import sql_uow_factory
from tests.e2e.conftest import PLAN_FILE, TOKEN, Finished, clean_env, run_bot, stop_process
from tests.support.botapi_standin import BotApiStandin
from tests.support.harness import make_test_settings
from tests.support.updates import ZH_USER, UpdateFactory, payload

pytestmark = pytest.mark.e2e

AREA_IDS = ("conduct", "procedure", "enforcement", "extortion", "rent_seeking")


async def test_the_bot_answers_start_over_http_and_stops_cleanly(workdir: Path) -> None:
    database_url = f"sqlite+aiosqlite:///{workdir / 'bot.db'}"
    migrated = await run_bot("migrate", env=clean_env(DATABASE_URL=database_url), cwd=workdir)
    assert migrated.code == 0, migrated.stderr

    async with BotApiStandin(TOKEN) as api:
        env = clean_env(BOT_TOKEN=TOKEN, TELEGRAM_API_URL=api.api_url, DATABASE_URL=database_url)
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot",
            env=env, cwd=workdir, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        try:
            # polling has begun once the bot asks for updates
            await api.wait_for_call("getUpdates", timeout=60)
            api.push_update(UpdateFactory().command(ZH_USER, "start"))
            intro = await api.wait_for_message(ZH_USER.id, lambda m: "2540084" in m.text, timeout=30)
        finally:
            _, err = await stop_process(proc)
        stderr = err.decode("utf-8", "replace")

    assert intro.method == "sendMessage"
    assert intro.params["parse_mode"] == "HTML"
    for numeral in "一二三四五":
        assert f"{numeral}、" in intro.text
    # the menus were set on start, in both languages
    assert {lang for _, lang in api.commands} == {"", "zh", "en"}
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert TOKEN not in stderr  # the token never reaches the log


async def test_without_a_token_the_bot_says_so_and_exits_non_zero(workdir: Path) -> None:
    result = await run_bot(env=clean_env(), cwd=workdir)
    assert result.code == 2
    assert "BOT_TOKEN" in result.stderr
    assert "Traceback" not in result.stderr


async def test_check_plan_on_the_real_plan_lists_the_five_areas(workdir: Path) -> None:
    result = await run_bot("check-plan", str(PLAN_FILE), env=clean_env(), cwd=workdir)
    assert result.code == 0, result.stderr
    for area_id in AREA_IDS:
        assert f"[{area_id}]" in result.stdout
    assert "2540084" in result.stdout


async def test_check_plan_without_a_file_uses_plan_file(workdir: Path) -> None:
    result = await run_bot("check-plan", "--lang", "en", env=clean_env(), cwd=workdir)
    assert result.code == 0, result.stderr
    assert all(f"[{area_id}]" in result.stdout for area_id in AREA_IDS)


async def test_check_plan_on_a_broken_plan_exits_1_naming_the_key(workdir: Path) -> None:
    broken = workdir / "broken.toml"
    text = PLAN_FILE.read_text(encoding="utf-8")
    assert 'lead_units = ["organs_work_committee"]' in text
    broken_text = text.replace('lead_units = ["organs_work_committee"]', 'lead_units = ["no_such_unit"]', 1)
    broken.write_text(broken_text, encoding="utf-8")

    result = await run_bot("check-plan", str(broken), env=clean_env(), cwd=workdir)
    assert result.code == 1
    assert "areas[0].lead_units[0]" in result.stderr
    assert "no_such_unit" in result.stderr
    assert "Traceback" not in result.stderr


async def test_the_bot_refuses_a_broken_plan(workdir: Path) -> None:
    broken = workdir / "broken.toml"
    broken.write_text(PLAN_FILE.read_text(encoding="utf-8").replace('phone = "2540084"', 'phone = ""', 1),
                      encoding="utf-8")
    env = clean_env(BOT_TOKEN=TOKEN, PLAN_FILE=str(broken), DATABASE_URL=f"sqlite+aiosqlite:///{workdir}/x.db")
    result = await run_bot(env=env, cwd=workdir)
    assert result.code == 1
    assert "phone" in result.stderr
    assert "Traceback" not in result.stderr


async def test_the_bot_refuses_an_unmigrated_database_and_names_the_fix(workdir: Path) -> None:
    env = clean_env(BOT_TOKEN=TOKEN, DATABASE_URL=f"sqlite+aiosqlite:///{workdir / 'empty.db'}")
    result = await run_bot(env=env, cwd=workdir)
    assert result.code == 1
    assert "python -m bot migrate" in result.stderr
    assert "make migrate" in result.stderr
    assert "Traceback" not in result.stderr


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_webhook_mode_registers_the_hook_and_answers_posted_updates(workdir: Path) -> None:
    database_url = f"sqlite+aiosqlite:///{workdir / 'bot.db'}"
    assert (await run_bot("migrate", env=clean_env(DATABASE_URL=database_url), cwd=workdir)).code == 0
    port = free_port()
    hook = f"http://127.0.0.1:{port}/tg-hook"
    secret = "s3cret-token"

    async with BotApiStandin(TOKEN) as api:
        env = clean_env(
            BOT_TOKEN=TOKEN, TELEGRAM_API_URL=api.api_url, DATABASE_URL=database_url,
            WEBHOOK_URL=hook, WEBHOOK_LISTEN="127.0.0.1", WEBHOOK_PORT=str(port), WEBHOOK_SECRET=secret,
        )
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot",
            env=env, cwd=workdir, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        try:
            registered = await api.wait_for_call("setWebhook", timeout=60)
            assert registered.params["url"] == hook
            assert registered.params["secret_token"] == secret
            update = payload(UpdateFactory().command(ZH_USER, "help"))
            header = "X-Telegram-Bot-Api-Secret-Token"
            async with httpx.AsyncClient() as client:
                forged = await client.post(hook, json=update, headers={header: "forged"})
                assert forged.status_code == 403
                posted = await client.post(hook, json=update, headers={header: secret})
                assert posted.status_code == 200
            reply = await api.wait_for_message(ZH_USER.id, timeout=30)
        finally:
            _, err = await stop_process(proc)

    assert "/lang" in reply.text
    assert len(api.sent_to(ZH_USER.id)) == 1  # the forged post was not processed
    assert proc.returncode == 0, err.decode("utf-8", "replace")


# ---------------------------------------------------------------------------------------------
# Start-up errors (issue 12): one clear line, a non-zero exit, no traceback, no secret, and
# nothing already stored is lost.

WRONG_TOKEN = "987654321:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"  # shaped like a real one
WRONG_SECRET = WRONG_TOKEN.split(":")[1]
PR_CAPBSET_DROP, CAP_DAC_OVERRIDE = 24, 1  # <linux/prctl.h>, <linux/capability.h>


def _without_dac_override() -> None:
    """``preexec_fn``: drop CAP_DAC_OVERRIDE from the bounding set before exec. Root ignores
    file modes through that capability alone; without it a 0444 file in a 0555 directory is
    read-only for root too, just as for the service user an operator runs the bot as."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_CAPBSET_DROP, CAP_DAC_OVERRIDE, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP, CAP_DAC_OVERRIDE)")


def _read_only_for_us(directory: Path) -> None:
    """Make ``directory`` and its files read-only for the bot's process, or skip saying why."""
    for path in directory.iterdir():
        path.chmod(0o444)
    directory.chmod(0o555)
    probe = [sys.executable, "-c", f"open({str(directory / 'bot.db')!r}, 'ab')"]
    preexec = _without_dac_override if os.geteuid() == 0 else None
    try:
        tried = subprocess.run(probe, preexec_fn=preexec, capture_output=True, text=True, timeout=30)
    except subprocess.SubprocessError as exc:  # no CAP_SETPCAP to drop a capability with
        pytest.skip(f"cannot make a file read-only for root here: {exc}")
    if "PermissionError" not in tried.stderr:
        pytest.skip("cannot make a file read-only for this user here (writes still succeed)")


async def _run_restricted(*args: str, env: dict[str, str], cwd: Path) -> Finished:
    """``python -m bot ARGS`` as ``run_bot`` does, without CAP_DAC_OVERRIDE when we are root."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args,
        env=env, cwd=cwd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        preexec_fn=_without_dac_override if os.geteuid() == 0 else None,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return Finished(proc.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"))


async def _file_a_case(database_url: str, plan: Plan) -> str:
    """A case filed through the real service, as the bot would, before the trouble starts."""
    deps = make_deps(make_test_settings(database_url), plan)
    try:
        await sync_plan_units(plan, deps.uow)
        filed = await deps.services.complaints.file(
            ZH_USER.id, ComplaintDraft(description="窗口工作人员推诿扯皮，让我跑了三趟", area="conduct")
        )
    finally:
        await deps.aclose()
    return filed.case.tracking_no


async def _description_of(database_url: str, tracking_no: str) -> str:
    engine = make_engine(database_url)
    try:
        async with sql_uow_factory(make_session_factory(engine))() as uow:
            case = await uow.cases.get_by_tracking_no(tracking_no)
    finally:
        await engine.dispose()
    assert case is not None
    return case.description


def _one_clear_line(result: Finished, *needles: str) -> str:
    """The failure's single line on stderr (after any log lines), checked for ``needles``."""
    assert result.code != 0
    assert "Traceback" not in result.stderr + result.stdout
    line = result.stderr.strip().splitlines()[-1]
    for needle in needles:
        assert needle in line, result.stderr
    return line


async def test_a_read_only_sqlite_database_is_named_in_one_line_and_keeps_its_cases(
    workdir: Path, plan: Plan
) -> None:
    db_dir = workdir / "data"
    db_file = db_dir / "bot.db"
    database_url = f"sqlite+aiosqlite:///{db_file}"
    assert (await run_bot("migrate", env=clean_env(DATABASE_URL=database_url), cwd=workdir)).code == 0
    tracking_no = await _file_a_case(database_url, plan)
    for leftover in db_dir.glob("bot.db-*"):  # WAL files of a clean shutdown: none should be left
        leftover.unlink()
    before = hashlib.sha256(db_file.read_bytes()).hexdigest()
    _read_only_for_us(db_dir)
    try:
        env = clean_env(BOT_TOKEN=TOKEN, DATABASE_URL=database_url, TELEGRAM_API_URL="http://127.0.0.1:9/bot")
        for command in ((), ("migrate",), ("tick",)):
            result = await _run_restricted(*command, env=env, cwd=workdir)
            assert result.code == 1, (command, result.stderr)
            line = _one_clear_line(result, f"database file {db_file} is read-only", "check its permissions")
            assert len(result.stderr.strip().splitlines()) == 1, (command, result.stderr)
            assert TOKEN not in result.stderr + result.stdout, line
    finally:
        db_dir.chmod(0o755)
        db_file.chmod(0o644)
    assert hashlib.sha256(db_file.read_bytes()).hexdigest() == before  # not a byte changed
    assert await _description_of(database_url, tracking_no) == "窗口工作人员推诿扯皮，让我跑了三趟"


async def test_an_unreachable_postgresql_is_named_in_one_line(workdir: Path) -> None:
    port = free_port()  # bound and closed again: nothing listens there now
    password = "s3cret-db-password"
    database_url = f"postgresql+asyncpg://bot:{password}@127.0.0.1:{port}/banshinan"
    env = clean_env(BOT_TOKEN=TOKEN, DATABASE_URL=database_url, TELEGRAM_API_URL="http://127.0.0.1:9/bot")
    for command in ((), ("migrate",), ("tick",)):
        result = await run_bot(*command, env=env, cwd=workdir)
        assert result.code == 1, (command, result.stderr)
        _one_clear_line(result, f"cannot reach PostgreSQL at 127.0.0.1:{port}: connection refused")
        assert len(result.stderr.strip().splitlines()) == 1, (command, result.stderr)
        assert password not in result.stderr + result.stdout
        assert TOKEN not in result.stderr + result.stdout


@pytest.mark.parametrize(
    ("token", "answer"),
    [(WRONG_TOKEN, "Unauthorized"), ("987654321:AAHdq TcvCH1vGWJxfSeofSAs0K5PALDsaw", "Not Found")],
    ids=["unknown-401", "malformed-404"],
)
async def test_a_wrong_token_exits_with_one_line_and_never_shows_the_token(
    workdir: Path, plan: Plan, token: str, answer: str
) -> None:
    database_url = f"sqlite+aiosqlite:///{workdir / 'bot.db'}"
    assert (await run_bot("migrate", env=clean_env(DATABASE_URL=database_url), cwd=workdir)).code == 0
    tracking_no = await _file_a_case(database_url, plan)

    async with BotApiStandin(TOKEN) as api:  # knows only TOKEN: Telegram's answers for others
        env = clean_env(
            BOT_TOKEN=token, TELEGRAM_API_URL=api.api_url, DATABASE_URL=database_url, LOG_LEVEL="DEBUG"
        )
        result = await run_bot(env=env, cwd=workdir)
    assert [method for _, method in api.refused] == ["getMe"]  # it did ask Telegram, once
    assert result.code == 2, result.stderr
    _one_clear_line(result, "Telegram refused BOT_TOKEN 987654321:****", f"getMe: {answer}", "@BotFather")
    output = result.stdout + result.stderr
    assert WRONG_SECRET not in output and "TcvCH1vGWJxfSeofSAs0K5PALDsaw" not in output  # not even in DEBUG
    assert await _description_of(database_url, tracking_no) == "窗口工作人员推诿扯皮，让我跑了三趟"
