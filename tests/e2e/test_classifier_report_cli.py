"""``python -m bot report classifier`` as a real process (issue 14): it writes the text and the
workbook of the classifier report into --out; ``--period A..B`` narrows it as for the others."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import load_workbook

from core.plan import load_plan
from storage.db import make_engine, make_session_factory
from storage.migrate import upgrade
from storage.uow import sql_uow_factory
from tests.e2e.conftest import PLAN_FILE, clean_env, run_bot
from tests.support.classifier_seed import seed_classifier_cases

pytestmark = pytest.mark.e2e

NOW = "2026-11-23T10:00:00+08:00"


@pytest.fixture
async def database_url(workdir: Path) -> str:
    url = f"sqlite+aiosqlite:///{workdir / 'bot.db'}"
    await upgrade(url)
    engine = make_engine(url)
    try:
        await seed_classifier_cases(sql_uow_factory(make_session_factory(engine)), load_plan(PLAN_FILE))
    finally:
        await engine.dispose()
    return url


async def test_report_classifier_writes_text_and_workbook(workdir: Path, database_url: str) -> None:
    out = workdir / "out"
    done = await run_bot(
        "report", "classifier", "--now", NOW, "--period", "2026-11-16..2026-11-22", "--out", str(out),
        env=clean_env(DATABASE_URL=database_url),
        cwd=workdir,
    )  # fmt: skip
    assert done.code == 0, done.stderr
    _check_weekly(out, {Path(line) for line in done.stdout.split()})


def _check_weekly(out: Path, written: set[Path]) -> None:
    stem = out / "classifier-2026-11-16_2026-11-22"
    assert written == {Path(f"{stem}{suffix}") for suffix in (".txt", ".html", ".xlsx")}
    text = Path(f"{stem}.txt").read_text(encoding="utf-8")
    assert "已确定类别 5 件，办公室沿用自动分类 2 件（40%）" in text and "<b>" not in text
    assert "“拖拉”：2 件" in text
    wb = load_workbook(Path(f"{stem}.xlsx"))
    assert wb.sheetnames == ["混淆矩阵", "各类别一致率", "改判", "关键词"]
    phrases = [list(r) for r in wb["关键词"].iter_rows(min_row=2, values_only=True)]
    assert phrases == [["拖拉", 2], ["窗口", 1]]  # 11-10's 窗口 is outside the period


async def test_report_classifier_in_english_over_the_campaign(workdir: Path, database_url: str) -> None:
    out = workdir / "out"
    done = await run_bot(
        "report", "classifier", "--now", NOW, "--lang", "en", "--out", str(out),
        env=clean_env(DATABASE_URL=database_url),
        cwd=workdir,
    )  # fmt: skip
    assert done.code == 0, done.stderr
    (xlsx,) = [Path(line) for line in done.stdout.split() if line.endswith(".xlsx")]
    assert xlsx.name.startswith("classifier-") and xlsx.name.endswith("_2026-11-23.xlsx")
    corrections = list(load_workbook(xlsx)["Corrections"].iter_rows(min_row=2, values_only=True))
    assert len(corrections) == 3 and corrections[0][2] == 2
