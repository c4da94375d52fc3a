"""Launch and rectification through the real Application (SPEC §5, §6): the office launches the
campaign and every liaison gets its unit's duties; the office issues a recommendation
(整改建议书) with a wrong answer at each step; the unit hands in a plan with a file; the office
accepts it; the report is sent back with a reason and handed in again; the unit's history
shows every step. A liaison of another unit can neither see nor act on it, whatever callback
data it sends; a citizen is refused /launch, /phase and /rectify."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import pytest

from bot.i18n import Catalogue
from core.clock import FixedClock
from core.plan import Plan
from core.reports import Recommendation, RecommendationStatus, ReportKind, ReportStatus, UnitReport
from core.services.reports import MAX_REPORT_TEXT
from tests.support.harness import BotHarness, running_harness
from tests.support.recording_request import RecordedCall
from tests.support.updates import TgUser

OFFICE = TgUser(900_001, "办公室王五", "zh-hans")
LIAISON = TgUser(800_001, "财政局刘六", "zh-hans")
ENGLISH_LIAISON = TgUser(800_002, "Liu", "en")
STRANGER = TgUser(800_010, "审计局赵八", "zh-hans")  # liaison of another unit
CITIZEN = TgUser(100_501, "张三", "zh-hans")
UNIT = "finance_bureau"
OTHER_UNIT = "audit_bureau"
PROBLEMS = "窗口收费公示不全，部分审批超时。"
CAMPAIGN_START = date(2026, 11, 9)


@pytest.fixture
async def h(
    plan: Plan, clock: FixedClock, catalogue: Catalogue, migrated_sqlite_url: str
) -> AsyncIterator[BotHarness]:
    # the office chat is the office member's private chat here, so the harness can press its buttons
    async with running_harness(
        plan=plan.rebase(CAMPAIGN_START),
        clock=clock,
        catalogue=catalogue,
        database_url=migrated_sqlite_url,
        office_chat_id=OFFICE.id,
        office_admin_ids=str(OFFICE.id),
    ) as harness:
        await register_liaison(harness, LIAISON, UNIT)
        await register_liaison(harness, STRANGER, OTHER_UNIT)
        yield harness


async def register_liaison(h: BotHarness, user: TgUser, unit_id: str, language: str = "zh") -> None:
    async with h.deps.uow() as uow:
        await uow.users.upsert(user.id, now=h.clock.now(), chat_id=user.id, language=language)
        await uow.liaisons.add(user.id, unit_id, now=h.clock.now())
        await uow.commit()


async def drain(h: BotHarness) -> list[RecordedCall]:
    sender = h.deps.sender
    assert sender is not None
    mark = h.request.mark()
    await sender.drain_once()
    return h.request.since(mark)


def says(h: BotHarness, key: str, **params: Any) -> bool:
    expected = h.t("zh", key, **params).split("{")[0]
    return expected in h.last_text()


def alert(calls: list[RecordedCall]) -> str:
    answers = [c for c in calls if c.method == "answerCallbackQuery"]
    assert answers, [c.method for c in calls]
    return str(answers[-1].params.get("text", ""))


async def state(h: BotHarness) -> tuple[list[Recommendation], list[UnitReport]]:
    async with h.deps.uow() as uow:
        return await uow.reports.list_recommendations(), await uow.reports.list()


async def issue(h: BotHarness) -> int:
    """The office's /rectify dialog, with one wrong answer at each step."""
    await h.command(OFFICE, "rectify", "区财政局")  # a unit's name works as well as its id
    assert says(h, "rectification.ask_problems", unit="区财政局", max=2000)
    await h.send(h.make.photo(OFFICE))
    assert says(h, "rectification.unexpected")
    await h.say(OFFICE, PROBLEMS)
    assert says(h, "rectification.ask_plan_due")
    suggested = [data for _, data in h.buttons() if data and data.startswith("rx:day:1:")]
    assert suggested == ["rx:day:1:2026-11-30", "rx:day:1:2026-12-07"]  # 5 and 10 working days

    await h.say(OFFICE, "下周吧")
    assert says(h, "rectification.invalid_date")
    await h.say(OFFICE, "2026-11-01")
    assert says(h, "rectification.invalid_plan_due_past")
    await h.click(OFFICE, "rx:day:1:2026-11-30")
    assert says(h, "rectification.ask_report_due")

    await h.say(OFFICE, "11月27日")
    assert says(h, "rectification.invalid_report_due_before_plan")
    await h.click(OFFICE, "rx:back:2")  # back to the plan's deadline, kept
    assert "当前填写：2026年11月30日（周一）" in h.last_text()
    await h.click(OFFICE, "rx:keep:1")
    await h.say(OFFICE, "12月11日")
    summary = h.last_text()
    assert PROBLEMS in summary and "2026年12月11日（周五）" in summary

    await h.click(OFFICE, "rx:confirm")
    assert says(h, "rectification.issued", recommendation_id=1, unit="区财政局", told=1)
    [rec], _ = await state(h)
    assert (rec.unit_id, rec.plan_due, rec.report_due) == (UNIT, date(2026, 11, 30), date(2026, 12, 11))
    assert rec.id is not None
    return rec.id


async def hand_in(h: BotHarness, user: TgUser, rec_id: int, text: str, kind: str) -> None:
    """The unit's /rectification dialog from the recommendation's button, a wrong answer first."""
    await h.click(user, f"rc:open:{rec_id}")
    assert says(h, f"rectification.ask_text_{kind}", max=MAX_REPORT_TEXT)
    await h.send(h.make.document(user))
    assert says(h, "rectification.file_not_now")
    await h.say(user, text)
    assert says(h, "rectification.ask_file")
    await h.send(h.make.document(user, file_name="方案.zip", mime_type="application/zip"))
    assert says(h, "self_inspection.invalid_report_file_type")
    await h.send(h.make.document(user, file_name=f"{kind}.pdf"))
    assert text in h.last_text()
    await h.click(user, "rc:confirm")
    assert "已报送" in h.last_text()


async def test_the_office_launches_and_every_liaison_gets_its_duties(h: BotHarness) -> None:
    await register_liaison(h, ENGLISH_LIAISON, "organs_work_committee", language="en")
    await h.command(OFFICE, "launch")
    assert says(h, "campaign.launched", units=3, liaisons=3, briefed=3)
    calls = await drain(h)
    briefing = {c.chat_id: c.text or "" for c in calls}
    assert "区财政局" in briefing[LIAISON.id] and "配合" in briefing[LIAISON.id]
    assert "自查自纠总结报告" in briefing[LIAISON.id]
    english = briefing[ENGLISH_LIAISON.id]
    assert "Leads:" in english and "Self-inspection summary report" in english

    await h.command(OFFICE, "launch")  # again: nobody is briefed twice
    assert says(h, "campaign.launched", units=3, liaisons=3, briefed=0)
    assert [c for c in await drain(h) if c.method == "sendMessage"] == []

    await h.command(OFFICE, "phase")
    assert "self_inspection" in h.last_text() and "进行中" in h.last_text()


async def test_recommendation_plan_accepted_report_sent_back_and_handed_in_again(h: BotHarness) -> None:
    rec_id = await issue(h)
    calls = await drain(h)
    [notice] = [c for c in calls if c.chat_id == LIAISON.id]
    assert PROBLEMS in (notice.text or "")
    assert ("📝 报送整改材料", f"rc:open:{rec_id}") in notice.buttons

    # the plan, with a file
    await hand_in(h, LIAISON, rec_id, "一、重做公示栏；二、超时件逐件督办。", "rectification_plan")
    _, [plan] = await state(h)
    assert (plan.kind, plan.late, plan.status) == (
        ReportKind.RECTIFICATION_PLAN,
        False,
        ReportStatus.SUBMITTED,
    )
    calls = await drain(h)
    to_office = [c for c in calls if c.chat_id == OFFICE.id]
    assert [c.method for c in to_office] == ["sendMessage", "sendDocument"]
    assert ("✅ 通过", f"rq:accept:{plan.id}") in to_office[0].buttons

    # until the office has looked at it the plan may be corrected, but no report can come yet
    await h.command(LIAISON, "rectification")
    assert h.t("zh", "rectification.step_plan_review") in h.last_text()
    assert h.buttons() == [(f"#{rec_id} 报送整改方案", f"rc:pick:{rec_id}"), ("✖ 取消", "rc:cancel")]
    await h.click(LIAISON, "rc:cancel")
    assert says(h, "rectification.cancelled")

    await h.click(OFFICE, f"rq:accept:{plan.id}")
    assert "已通过" in h.last_text()
    assert any(c.method == "editMessageReplyMarkup" for c in h.last_calls)  # the buttons go
    calls = await drain(h)
    assert any(c.chat_id == LIAISON.id and "已通过审核" in (c.text or "") for c in calls)
    calls = await h.click(OFFICE, f"rq:accept:{plan.id}")  # pressed again (another member)
    assert alert(calls) == h.t("zh", "rectification.error_reviewed")

    # the report, from the list this time
    await h.command(LIAISON, "rectification")
    assert (f"#{rec_id} 报送整改情况", f"rc:pick:{rec_id}") in h.buttons()
    await h.click(LIAISON, f"rc:pick:{rec_id}")
    assert says(h, "rectification.ask_text_rectification_report", max=MAX_REPORT_TEXT)
    await h.command(LIAISON, "cancel")
    await hand_in(h, LIAISON, rec_id, "公示栏已更新，超时件全部办结。", "rectification_report")
    await drain(h)
    _, reports = await state(h)
    report = reports[-1]

    # sent back with a reason, then handed in again
    await h.click(OFFICE, f"rq:back:{report.id}")
    assert "理由" in h.last_text()
    await h.command(OFFICE, "cancel")
    assert says(h, "rectification.review_cancelled")
    await h.click(OFFICE, f"rq:back:{report.id}")
    await h.say(OFFICE, "缺少整改前后对比照片")
    assert "缺少整改前后对比照片" in h.last_text()
    calls = await drain(h)
    [back] = [c for c in calls if c.chat_id == LIAISON.id]
    assert "缺少整改前后对比照片" in (back.text or "")
    assert ("📝 重新报送", f"rc:open:{rec_id}") in back.buttons
    [rec], _ = await state(h)
    assert rec.status is RecommendationStatus.PLAN_SUBMITTED

    await hand_in(h, LIAISON, rec_id, "补充整改前后对比。", "rectification_report")
    await drain(h)
    _, reports = await state(h)
    await h.click(OFFICE, f"rq:accept:{reports[-1].id}")
    [rec], reports = await state(h)
    assert rec.status is RecommendationStatus.ACCEPTED
    assert [(r.kind.value, r.status.value) for r in reports] == [
        ("rectification_plan", "accepted"),
        ("rectification_report", "returned"),
        ("rectification_report", "accepted"),
    ]

    # every step in the unit's history, for the unit and for the office
    await h.command(LIAISON, "reports")
    history = h.last_text()
    for needle in ("收到整改建议书 #1", "报送整改方案", "整改方案 #", "被退回：缺少整改前后对比照片"):
        assert needle in history, history
    await h.command(OFFICE, "reports", UNIT)
    assert history == h.last_text()
    await h.command(LIAISON, "rectification")
    assert says(h, "rectification.none_open")


async def test_a_liaison_of_another_unit_neither_sees_nor_acts(h: BotHarness) -> None:
    rec_id = await issue(h)
    await drain(h)
    await hand_in(h, LIAISON, rec_id, "整改方案", "rectification_plan")
    _, [plan] = await state(h)

    await h.command(STRANGER, "rectification")
    assert says(h, "rectification.none_open")
    # forged buttons: opening the other unit's recommendation, picking it, reviewing its plan
    calls = await h.send(h.make.callback(STRANGER, f"rc:open:{rec_id}", message_id=7))
    assert h.t("zh", "rectification.not_found") in " ".join(h.texts(calls))
    calls = await h.send(h.make.callback(STRANGER, f"rc:pick:{rec_id}", message_id=7))
    assert alert(calls) == h.t("zh", "rectification.stale_button")
    for data in (f"rq:accept:{plan.id}", f"rq:back:{plan.id}"):
        calls = await h.send(h.make.callback(STRANGER, data, message_id=7))
        assert alert(calls) == h.t("zh", "rectification.review_office_only")
    await h.send(h.make.callback(STRANGER, "rq:accept:99x", message_id=7))  # mangled: stale
    # nor does it read the other unit's history
    await h.command(STRANGER, "reports", UNIT)
    assert says(h, "rectification.history_not_allowed")

    [rec], [plan_now] = await state(h)
    assert rec.status is RecommendationStatus.PLAN_SUBMITTED
    assert plan_now.status is ReportStatus.SUBMITTED
    sent_to_stranger = " ".join(c.text or "" for c in h.request.calls if c.chat_id == STRANGER.id)
    assert PROBLEMS not in sent_to_stranger


async def test_a_citizen_is_refused_the_office_commands(h: BotHarness) -> None:
    for command, args, key in (
        ("launch", "", "campaign.office_only"),
        ("phase", "self_inspection", "campaign.office_only"),
        ("rectify", UNIT, "rectification.office_only"),
    ):
        await h.command(CITIZEN, command, args)
        assert says(h, key), (command, h.last_text())
    await h.say(CITIZEN, PROBLEMS)  # no /rectify dialog started: this is not taken as problems
    assert not says(h, "rectification.ask_plan_due")
    # a liaison is no office member either
    await h.command(LIAISON, "rectify", UNIT)
    assert says(h, "rectification.office_only")
    recs, reports = await state(h)
    assert recs == [] and reports == []
    async with h.deps.uow() as uow:
        assert await uow.audit.list_recent() == []


async def test_the_office_issues_one_recommendation_to_several_units_and_to_all(h: BotHarness) -> None:
    await h.command(OFFICE, "rectify", "区财政局、audit_bureau, 财政局")  # names, ids, a repeat
    assert "2 个单位（区财政局、区审计局）" in h.last_text()
    await h.say(OFFICE, PROBLEMS)
    await h.click(OFFICE, "rx:day:1:2026-11-30")
    await h.say(OFFICE, "12月11日")
    assert "2 个单位" in h.last_text()
    await h.click(OFFICE, "rx:confirm")
    assert says(h, "rectification.issued_many", count=2, first=1, last=2, told=2)
    recs, _ = await state(h)
    assert [(r.unit_id, r.problems, r.plan_due) for r in recs] == [
        (UNIT, PROBLEMS, date(2026, 11, 30)),
        (OTHER_UNIT, PROBLEMS, date(2026, 11, 30)),
    ]
    sent = await drain(h)
    told = {c.chat_id for c in sent if c.method == "sendMessage" and PROBLEMS in (c.text or "")}
    assert told == {LIAISON.id, STRANGER.id}  # each unit's own liaison, each its own number

    await h.command(OFFICE, "rectify", "全部")
    units = len(h.plan.units)
    assert f"{units} 个单位" in h.last_text() and "等）" in h.last_text()
    await h.say(OFFICE, PROBLEMS)
    await h.click(OFFICE, "rx:day:1:2026-11-30")
    await h.say(OFFICE, "12月11日")
    await h.click(OFFICE, "rx:confirm")
    text = h.last_text()
    assert h.t("zh", "rectification.issued_many", count=units, first=3, last=units + 2, told=2) in text
    assert f"以下 {units - 2} 个单位还没有联络员" in text
    recs, _ = await state(h)
    assert len(recs) == units + 2
    async with h.deps.uow() as uow:
        actions = [e.action for e in await uow.audit.list_recent(limit=500)]
    assert actions.count("rectification.issue") == units + 2


async def test_an_unknown_unit_in_a_list_stops_before_anything_is_asked(h: BotHarness) -> None:
    await h.command(OFFICE, "rectify", "区财政局，不存在局")
    assert says(h, "rectification.unknown_unit", unit="不存在局")
    recs, _ = await state(h)
    assert recs == []
