"""/classifier through the real Application (issue 14): the office gets the short text (decided
cases, agreement, the top confusion, the phrases in disagreement) and the workbook, whose cells
are checked with openpyxl; a period narrows it; liaisons and citizens are refused like at every
other office command; no citizen's identity reaches the workbook."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator

import pytest
from openpyxl import load_workbook

from tests.bot.conftest import HarnessFactory
from tests.support.classifier_seed import seed_classifier_cases
from tests.support.harness import BotHarness
from tests.support.recording_request import RecordedCall
from tests.support.updates import TgUser

OFFICE = TgUser(300_001, "周主任")
CITIZEN = TgUser(100_001, "张三")
LIAISON = TgUser(200_001, "李联络")
OFFICE_CHAT = -1001234567890


@pytest.fixture
async def h(harness_factory: HarnessFactory) -> AsyncIterator[BotHarness]:
    async with harness_factory(office_chat_id=OFFICE_CHAT, office_admin_ids=str(OFFICE.id)) as harness:
        await seed_classifier_cases(harness.deps.uow, harness.plan)
        async with harness.deps.uow() as uow:
            await uow.users.upsert(LIAISON.id, now=harness.clock.now(), chat_id=LIAISON.id)
            await uow.liaisons.add(LIAISON.id, "organs_work_committee", now=harness.clock.now())
            await uow.commit()
        yield harness


def _documents(calls: list[RecordedCall]) -> list[RecordedCall]:
    return [c for c in calls if c.method == "sendDocument"]


async def test_office_gets_the_text_and_the_workbook(h: BotHarness) -> None:
    calls = await h.command(OFFICE, "classifier")
    text = "\n".join(h.texts())
    assert "<b>分类报告</b>" in text
    assert "已确定类别 <b>6</b> 件，办公室沿用自动分类 <b>2</b> 件（33%）" in text
    conduct, procedure = h.t("zh", "area.name.conduct"), h.t("zh", "area.name.procedure")
    assert f"• {conduct} → {procedure}：2 件（如 ZH-2026-000001、ZH-2026-000002）" in text
    assert "• “拖拉”：2 件" in text and "• “窗口”：2 件" in text
    assert "脸难看" not in text  # it fired only on an agreed case
    assert "ZH-2026-000099" not in text

    (document,) = _documents(calls)
    upload = document.files["document"]
    assert upload.filename.startswith("classifier-2014-") and upload.filename.endswith("_2026-11-23.xlsx")
    wb = load_workbook(io.BytesIO(upload.content))
    assert wb.sheetnames == ["混淆矩阵", "各类别一致率", "改判", "关键词"]
    matrix = [list(r) for r in wb["混淆矩阵"].iter_rows(values_only=True)]
    header = matrix[0]
    assert header[0] == "自动分类 \\ 办公室" and header[-1] == "合计"
    by_row = {row[0]: dict(zip(header[1:], row[1:], strict=True)) for row in matrix[1:]}
    assert by_row[conduct][procedure] == 2 and by_row[conduct][conduct] == 1 and by_row[conduct]["合计"] == 3
    assert by_row["（未分类）"][h.t("zh", "area.name.extortion")] == 1
    phrases = [list(r) for r in wb["关键词"].iter_rows(values_only=True)]
    assert phrases[1:3] == [["拖拉", 2], ["窗口", 2]]
    corrections = [list(r) for r in wb["改判"].iter_rows(values_only=True)]
    assert corrections[1][:4] == [conduct, procedure, 2, "ZH-2026-000001、ZH-2026-000002"]
    assert corrections[1][4] == "拖拉（2）、窗口（1）"
    areas = {r[0]: r for r in wb["各类别一致率"].iter_rows(min_row=2, values_only=True)}
    assert areas[conduct][1:] == (3, 1, pytest.approx(1 / 3))
    cells = "".join(str(v) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for v in row)
    assert "投诉" not in cells and "督查发现" not in cells  # no case text, no office finding


async def test_a_period_narrows_the_report_and_english_works(h: BotHarness) -> None:
    calls = await h.command(TgUser(OFFICE.id, "Zhou", "en-GB"), "classifier", "2026-11-16..2026-11-22")
    text = "\n".join(h.texts())
    assert "Decided cases: <b>5</b>; the office kept the classifier's area in <b>2</b> (40%)." in text
    (document,) = _documents(calls)
    assert document.files["document"].filename == "classifier-2026-11-16_2026-11-22.xlsx"
    wb = load_workbook(io.BytesIO(document.files["document"].content))
    assert wb.sheetnames == ["Confusion matrix", "Agreement by area", "Corrections", "Phrases"]


async def test_an_empty_period_and_a_bad_one(h: BotHarness) -> None:
    await h.command(OFFICE, "classifier", "2026-11-01")
    assert h.t("zh", "classifier_report.empty") in "\n".join(h.texts())
    calls = await h.command(OFFICE, "classifier", "yesterdayish")
    assert "无法识别的期间：yesterdayish" in h.last_text()
    assert not _documents(calls)


@pytest.mark.parametrize("who", [CITIZEN, LIAISON], ids=["citizen", "liaison"])
async def test_liaisons_and_citizens_are_refused(h: BotHarness, who: TgUser) -> None:
    calls = await h.command(who, "classifier")
    assert h.texts() == [h.t("zh", "office.only")]
    assert not _documents(calls)


async def test_the_office_menu_has_the_button(h: BotHarness) -> None:
    from bot.handlers.office.menu import office_menu
    from core.roles import Roles

    names = [c.command for c in office_menu(h.deps, "zh", Roles(OFFICE.id, office=True))]
    assert "classifier" in names
    assert h.t("zh", "office.menu.classifier") != "office.menu.classifier"
