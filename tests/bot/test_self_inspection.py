"""The self-inspection report through the real Application (SPEC §5): the office opens the phase,
a liaison gets the task and completes the dialog with a document (one wrong answer at every
step, back and keep, cancel), the office is told; a correction before the due date; a liaison
of no unit, a citizen and stale buttons are refused.

The plan is re-based so that self-inspection runs 2026-11-20 .. 11-29 (report due Sunday 11-29,
so Monday 11-30 counts) around the fixed clock's Monday 2026-11-23."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import pytest

from bot.i18n import Catalogue
from core.clock import FixedClock
from core.plan import Plan
from core.reports import ReportKind, ReportStatus, UnitReport
from core.services.reports import MAX_REPORT_TEXT
from tests.support.harness import BotHarness, running_harness
from tests.support.recording_request import RecordedCall
from tests.support.updates import TgUser

OFFICE = TgUser(900_001, "办公室王五", "zh-hans")
LIAISON = TgUser(800_001, "财政局刘六", "zh-hans")
LIAISON_2 = TgUser(800_002, "财政局陈七", "zh-hans")
CITIZEN = TgUser(100_501, "张三", "zh-hans")
UNIT = "finance_bureau"
CAMPAIGN_START = date(2026, 11, 9)
DUE_SHOWN = "2026年11月30日（周一）"
SI_DOC_NAME = "财政局自查自纠总结报告.pdf"


def harness_for(
    plan: Plan, clock: FixedClock, catalogue: Catalogue, database_url: str
) -> contextlib.AbstractAsyncContextManager[BotHarness]:
    # the office chat is the office member's private chat here, so the harness can press its buttons
    return running_harness(
        plan=plan.rebase(CAMPAIGN_START),
        clock=clock,
        catalogue=catalogue,
        database_url=database_url,
        office_chat_id=OFFICE.id,
        office_admin_ids=str(OFFICE.id),
    )


@pytest.fixture
async def h(
    plan: Plan, clock: FixedClock, catalogue: Catalogue, migrated_sqlite_url: str
) -> AsyncIterator[BotHarness]:
    async with harness_for(plan, clock, catalogue, migrated_sqlite_url) as harness:
        yield harness


async def register_liaison(h: BotHarness, user: TgUser, unit_id: str) -> None:
    async with h.deps.uow() as uow:
        await uow.users.upsert(user.id, now=h.clock.now(), chat_id=user.id, language="zh")
        await uow.liaisons.add(user.id, unit_id, now=h.clock.now())
        await uow.commit()


async def drain(h: BotHarness) -> list[RecordedCall]:
    sender = h.deps.sender
    assert sender is not None
    mark = h.request.mark()
    await sender.drain_once()
    return h.request.since(mark)


async def unit_reports(h: BotHarness) -> list[UnitReport]:
    async with h.deps.uow() as uow:
        return await uow.reports.list(unit_id=UNIT, kind=ReportKind.SELF_INSPECTION)


def says(h: BotHarness, key: str, **params: Any) -> bool:
    """The bot's last text contains the catalogue text (the part before any placeholder the
    test did not fill)."""
    expected = h.t("zh", key, **params).split("{")[0]
    return expected in h.last_text()


def alert(calls: list[RecordedCall]) -> str:
    answers = [c for c in calls if c.method == "answerCallbackQuery"]
    assert answers, [c.method for c in calls]
    return str(answers[-1].params.get("text", ""))


async def test_a_liaison_gets_the_task_and_hands_in_the_report_with_a_file(h: BotHarness) -> None:
    await register_liaison(h, LIAISON, UNIT)
    await h.command(OFFICE, "phase", "self_inspection")
    assert "1 名联络员" in h.last_text()
    calls = await drain(h)
    task = [c for c in calls if c.chat_id == LIAISON.id]
    assert task and "自查自纠" in (task[0].text or "")
    assert ("📝 开始填报", "si:start") in task[0].buttons

    # the task's button starts the dialog
    await h.click(LIAISON, "si:start")
    texts = h.texts()
    assert any(DUE_SHOWN in t for t in texts), texts
    assert says(h, "self_inspection.ask_total")

    # TOTAL: not a number, then 12
    await h.say(LIAISON, "十二个")
    assert says(h, "self_inspection.invalid_number")
    assert says(h, "self_inspection.ask_total")
    await h.say(LIAISON, "12")
    assert says(h, "self_inspection.ask_inspected", total=12)

    # INSPECTED: above the total, then 10 (below 100%: the reason is asked)
    await h.say(LIAISON, "13")
    assert says(h, "self_inspection.invalid_inspected_above_total", total=12)
    await h.say(LIAISON, "１０")  # full-width digits are fine
    assert says(h, "self_inspection.ask_reason", coverage=83, target=100, max=MAX_REPORT_TEXT)

    # REASON: blank, then a reason
    await h.say(LIAISON, "   ")
    assert says(h, "self_inspection.invalid_empty")
    await h.say(LIAISON, "两个基层所正在撤并，9月上旬补查。")
    assert says(h, "self_inspection.ask_problems", max=MAX_REPORT_TEXT)

    # PROBLEMS: a photo is not an answer, then the text
    await h.send(h.make.photo(LIAISON))
    assert says(h, "self_inspection.unexpected")
    await h.say(LIAISON, "窗口收费公示不全；<b>部分</b>审批超时。")
    assert says(h, "self_inspection.ask_measures", max=MAX_REPORT_TEXT)

    # back to PROBLEMS (its answer shown and kept), keep, on to MEASURES
    measures_step = h.buttons()[-2][1]
    assert measures_step == "si:back:4"
    await h.click(LIAISON, "si:back:4")
    assert says(h, "self_inspection.ask_problems", max=MAX_REPORT_TEXT)
    assert "&lt;b&gt;部分&lt;/b&gt;" in h.last_text()  # the liaison's text is escaped
    await h.click(LIAISON, "si:keep:3")
    assert says(h, "self_inspection.ask_measures", max=MAX_REPORT_TEXT)
    # a button of a step already left is stale
    calls = await h.click(LIAISON, "si:keep:3")
    assert alert(calls) == h.t("zh", "self_inspection.stale_button")

    await h.say(LIAISON, "公示栏重做，超时件逐件督办。")
    assert says(h, "self_inspection.ask_document")
    assert "20 MB" in h.last_text()

    # DOCUMENT: text, a picture file, a huge PDF, then the report
    await h.say(LIAISON, "报告稍后发")
    assert says(h, "self_inspection.not_a_document")
    await h.send(h.make.document(LIAISON, file_name="scan.jpg", mime_type="image/jpeg"))
    assert says(h, "self_inspection.invalid_report_file_type")
    await h.send(h.make.document(LIAISON, file_name="big.pdf", file_size=30 * 1024 * 1024))
    assert says(h, "self_inspection.invalid_report_file_too_big", limit_mb=20)
    await h.send(h.make.document(LIAISON, file_name=SI_DOC_NAME))
    summary = h.last_text()
    assert "10/12（83%）" in summary and SI_DOC_NAME in summary and "撤并" in summary
    assert ("✅ 确认报送", "si:confirm") in h.buttons()

    await h.click(LIAISON, "si:confirm")
    assert says(h, "self_inspection.submitted", report_id=1, due=DUE_SHOWN)

    [report] = await unit_reports(h)
    assert (report.inspected, report.total, report.late) == (10, 12, False)
    assert report.reason_below_target == "两个基层所正在撤并，9月上旬补查。"
    assert report.problems == "窗口收费公示不全；<b>部分</b>审批超时。"
    assert report.due == date(2026, 11, 30)
    async with h.deps.uow() as uow:
        files = await uow.attachments.list_for_report(report.id or 0)
    assert [f.file_name for f in files] == [SI_DOC_NAME]

    # the office gets the summary with review buttons, then the file
    calls = await drain(h)
    to_office = [c for c in calls if c.chat_id == OFFICE.id]
    assert [c.method for c in to_office] == ["sendMessage", "sendDocument"]
    assert ("✅ 通过", f"rq:accept:{report.id}") in to_office[0].buttons
    assert "10/12" in (to_office[0].text or "")


async def test_cancel_and_back_from_the_first_step(h: BotHarness) -> None:
    await register_liaison(h, LIAISON, UNIT)
    await h.command(LIAISON, "selfcheck")
    assert ("✖ 取消", "si:cancel") in h.buttons()
    assert not any(data and data.startswith("si:back") for _, data in h.buttons())  # nothing before
    await h.say(LIAISON, "8")
    await h.click(LIAISON, "si:back:1")
    assert says(h, "self_inspection.ask_total")
    assert "当前填写：8" in h.last_text()
    await h.command(LIAISON, "cancel")
    assert says(h, "self_inspection.cancelled")
    # the dialog is over: its buttons are stale and plain text is no answer any more
    calls = await h.click(LIAISON, "si:keep:0")
    assert alert(calls)
    await h.say(LIAISON, "12")
    assert not says(h, "self_inspection.ask_inspected", total=12)
    assert await unit_reports(h) == []


async def test_a_unit_corrects_its_report_before_the_due_date_and_the_latest_counts(h: BotHarness) -> None:
    await register_liaison(h, LIAISON, UNIT)
    await register_liaison(h, LIAISON_2, UNIT)

    async def hand_in(user: TgUser, problems: str) -> None:
        await h.command(user, "selfcheck")
        for answer in ("5", "5", problems, "已整改"):
            await h.say(user, answer)
        await h.send(h.make.document(user, file_name="报告.docx", mime_type="application/msword"))
        await h.click(user, "si:confirm")

    await hand_in(LIAISON, "初稿")
    h.clock.advance(timedelta(days=1))
    await h.command(LIAISON_2, "selfcheck")
    assert "已于 2026年11月23日（周一） 报送过报告" in h.texts()[0]
    await h.command(LIAISON_2, "cancel")
    await hand_in(LIAISON_2, "修改稿")
    reports = await unit_reports(h)
    assert [r.problems for r in reports] == ["初稿", "修改稿"]
    assert all(r.status is ReportStatus.SUBMITTED and not r.late for r in reports)

    # after the due date the report that is in stays as it is
    h.clock.advance(timedelta(days=7))
    await h.command(LIAISON, "selfcheck")
    assert says(h, "self_inspection.refused_past_due", due=DUE_SHOWN)


async def test_only_liaisons_start_the_report(h: BotHarness) -> None:
    for user in (CITIZEN, OFFICE):
        await h.command(user, "selfcheck")
        assert says(h, "self_inspection.not_liaison")
        await h.say(user, "12")  # no dialog was started: nothing takes this as an answer
        assert not says(h, "self_inspection.ask_inspected", total=12)
    # the task button, forged by someone who is not a liaison
    calls = await h.send(h.make.callback(CITIZEN, "si:start", message_id=5))
    assert h.t("zh", "self_inspection.not_liaison") in " ".join(h.texts(calls))
    assert await unit_reports(h) == []


async def test_the_office_sends_a_self_inspection_report_back_and_the_unit_hands_it_in_again(
    h: BotHarness,
) -> None:
    await register_liaison(h, LIAISON, UNIT)
    await h.command(LIAISON, "selfcheck")
    for answer in ("3", "3", "无", "无"):
        await h.say(LIAISON, answer)
    await h.send(h.make.document(LIAISON))
    await h.click(LIAISON, "si:confirm")
    await drain(h)
    [first] = await unit_reports(h)

    await h.click(OFFICE, f"rq:back:{first.id}")
    assert "退回" in h.last_text()
    assert h.last_calls[-1].params["reply_markup"]  # a forced reply: works in a group too
    await h.say(OFFICE, "请附所属单位名单")
    assert "已退回" in h.last_text()
    calls = await drain(h)
    notice = [c for c in calls if c.chat_id == LIAISON.id]
    assert notice and "请附所属单位名单" in (notice[0].text or "")
    assert ("📝 重新填报", "si:start") in notice[0].buttons

    await h.click(LIAISON, "si:start")
    assert says(h, "self_inspection.ask_total")
    reports = await unit_reports(h)
    assert reports[0].status is ReportStatus.RETURNED


async def test_a_restart_in_the_middle_resumes_the_dialog(
    plan: Plan, clock: FixedClock, catalogue: Catalogue, migrated_sqlite_url: str
) -> None:
    async with harness_for(plan, clock, catalogue, migrated_sqlite_url) as first:
        await register_liaison(first, LIAISON, UNIT)
        await first.command(LIAISON, "selfcheck")
        await first.say(LIAISON, "4")
        await first.say(LIAISON, "4")
        assert says(first, "self_inspection.ask_problems", max=MAX_REPORT_TEXT)

    async with harness_for(plan, clock, catalogue, migrated_sqlite_url) as second:  # restarted
        await second.say(LIAISON, "未发现问题")
        assert says(second, "self_inspection.ask_measures", max=MAX_REPORT_TEXT)
        await second.say(LIAISON, "继续巡查")
        await second.send(second.make.document(LIAISON))
        assert "4/4（100%）" in second.last_text()
        await second.click(LIAISON, "si:confirm")
        [report] = await unit_reports(second)
        assert (report.total, report.inspected, report.problems) == (4, 4, "未发现问题")
