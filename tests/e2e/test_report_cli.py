"""``python -m bot report ...`` as a real process, on a database seeded with the realistic mix
of ``tests/support/stats_seed.py``: it writes the digest text, its chart and its workbook."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import load_workbook

from core.plan import load_plan
from storage.db import make_engine, make_session_factory
from storage.migrate import upgrade
from storage.uow import sql_uow_factory
from tests.e2e.conftest import PLAN_FILE, clean_env, run_bot
from tests.support.stats_seed import CITIZEN_PHONE, seed_mix

pytestmark = pytest.mark.e2e

NOW = "2026-11-23T10:00:00+08:00"


@pytest.fixture
async def database_url(workdir: Path) -> str:
    url = f"sqlite+aiosqlite:///{workdir / 'bot.db'}"
    await upgrade(url)
    engine = make_engine(url)
    try:
        await seed_mix(sql_uow_factory(make_session_factory(engine)), load_plan(PLAN_FILE))
    finally:
        await engine.dispose()
    return url


async def test_report_digest_writes_text_chart_and_workbook(workdir: Path, database_url: str) -> None:
    out = workdir / "out"
    done = await run_bot(
        "report",
        "digest",
        "--now",
        NOW,
        "--out",
        str(out),
        env=clean_env(DATABASE_URL=database_url),
        cwd=workdir,
    )
    assert done.code == 0, done.stderr
    _check_daily(out, {Path(line) for line in done.stdout.split()})
    assert "Traceback" not in done.stderr


def _check_daily(out: Path, written: set[Path]) -> None:
    stem = out / "digest-daily-2026-11-23"
    for suffix in (".txt", ".html", ".png", ".xlsx"):
        assert Path(f"{stem}{suffix}") in written
    text = Path(f"{stem}.txt").read_text(encoding="utf-8")
    assert "日报 · 2026年11月23日" in text and "新受理（2026年11月22日）：3 件" in text
    assert "🔴 超期 5 件" in text and "<b>" not in text  # plain text
    assert "<b>新受理</b>" in Path(f"{stem}.html").read_text(encoding="utf-8")
    assert Path(f"{stem}.png").read_bytes().startswith(b"\x89PNG")
    assert load_workbook(f"{stem}.xlsx").sheetnames == ["新受理", "三色预警"]
    assert Path(f"{stem}-warnings.csv").read_bytes().startswith(b"\xef\xbb\xbf")


async def test_report_weekly_digest_scoreboard_and_export(workdir: Path, database_url: str) -> None:
    env = clean_env(DATABASE_URL=database_url)
    out = workdir / "out"
    weekly = await run_bot(
        "report", "digest", "--period", "weekly", "--now", NOW, "--out", str(out), env=env, cwd=workdir
    )
    assert weekly.code == 0, weekly.stderr
    text = (out / "digest-weekly-2026-11-16_2026-11-22.txt").read_text(encoding="utf-8")
    assert "满意率 50%（3/6）" in text

    board = await run_bot(
        "report", "scoreboard", "--period", "2026-11-16..2026-11-22", "--unit", "区直机关工委",
        "--now", NOW, "--out", str(out), env=env, cwd=workdir,
    )  # fmt: skip
    assert board.code == 0, board.stderr
    sheet = load_workbook(out / "scoreboard-2026-11-16_2026-11-22.xlsx")["单位评分"]
    assert [c.value for c in sheet[2]][:2] == ["区直机关工委", 5]

    export = await run_bot(
        "report", "export", "--area", "conduct", "--now", NOW, "--out", str(out), env=env, cwd=workdir
    )
    assert export.code == 0, export.stderr
    names = sorted(Path(p).name for p in export.stdout.split())
    assert names == [
        "export-2014-07-21_2026-11-23-conduct-cases.csv",
        "export-2014-07-21_2026-11-23-conduct-events.csv",
        "export-2014-07-21_2026-11-23-conduct-scoreboard.csv",
        "export-2014-07-21_2026-11-23-conduct.xlsx",
    ]
    cases_csv = (out / names[0]).read_text(encoding="utf-8-sig")
    assert cases_csv.startswith("受理编号,") and CITIZEN_PHONE not in cases_csv


async def test_report_with_a_bad_period_says_what_it_takes(workdir: Path, database_url: str) -> None:
    done = await run_bot(
        "report", "digest", "--period", "lastyear", "--out", str(workdir / "out"),
        env=clean_env(DATABASE_URL=database_url), cwd=workdir,
    )  # fmt: skip
    assert done.code == 2
    assert "--period" in done.stderr and "weekly" in done.stderr
    assert "Traceback" not in done.stderr
