"""推介典型 and 长效机制 through the real Application on a migrated database: the office records
a good practice and shares it with every liaison (no identity in it); a liaison proposes its
unit's measure, moves it to done with a document, and the office lists every unit's; the
periodic pass reminds before a measure's due date (once); citizens, liaisons of another unit
and liaisons at the office's commands are refused."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta

import pytest

from core.measures import MeasureStatus
from tests.bot.conftest import HarnessFactory
from tests.bot.test_office import (
    CITIZEN,
    EFFICIENCY,
    EFFICIENCY_UNIT,
    FINANCE,
    FINANCE_UNIT,
    LEAD_UNIT,
    LIAISON,
    OFFICE,
    OFFICE_CHAT,
    alert,
    audit_actions,
    drain,
    file_case,
    join,
)
from tests.support.harness import BotHarness

pytestmark = pytest.mark.filterwarnings(
    "ignore:Ignoring `conversation_timeout`:telegram.warnings.PTBUserWarning"
)
PRACTICE = "区财政局 窗口首问负责制 | 群众来办事，第一个接待的工作人员负责到底，不让群众多跑一次。"


@pytest.fixture
async def h(harness_factory: HarnessFactory) -> AsyncIterator[BotHarness]:
    async with harness_factory(office_chat_id=OFFICE_CHAT, office_admin_ids=str(OFFICE.id)) as harness:
        yield harness


async def test_the_office_records_a_practice_and_every_liaison_gets_it_without_identity(
    h: BotHarness,
) -> None:
    case = await file_case(h)
    for user, unit in ((LIAISON, LEAD_UNIT), (EFFICIENCY, EFFICIENCY_UNIT), (FINANCE, FINANCE_UNIT)):
        await join(h, user, unit)
    await h.command(OFFICE, "practice", f"{PRACTICE}\n依据：{case.tracking_no}")
    assert h.last_text() == h.t("zh", "practices.recorded", practice_id=1, title="窗口首问负责制")
    async with h.deps.uow() as uow:
        [practice] = await uow.practices.list_practices()
    assert practice.unit_id == FINANCE_UNIT and practice.case_numbers == [case.tracking_no]
    assert practice.recorded_by == OFFICE.id and practice.shared_at is None

    await h.command(OFFICE, "practices")
    assert "窗口首问负责制" in h.last_text() and case.tracking_no in h.last_text()
    calls = await h.click(OFFICE, "pr:share:1")
    assert h.t("zh", "practices.shared_done", practice_id=1, count=3) in alert(calls)
    sent = await drain(h)
    for user in (LIAISON, EFFICIENCY, FINANCE):
        [notice] = [c.text or "" for c in sent if c.chat_id == user.id]
        assert "窗口首问负责制" in notice and "区财政局" in notice
        # nobody's identity: not the office member, not the complainant, not the case
        assert str(OFFICE.id) not in notice and "王五" not in notice
        assert "张三" not in notice and case.tracking_no not in notice
    assert not [c for c in sent if c.chat_id == CITIZEN.id]
    async with h.deps.uow() as uow:
        shared = await uow.practices.get_practice(1)
    assert shared is not None and shared.shared_to == "all" and shared.shared_at is not None
    # shared: the register shows no share button for it any more, and a second press of the
    # old one sends nothing again
    await h.command(OFFICE, "practices")
    assert "pr:share:1" not in [d for _, d in h.buttons()]
    await h.send(h.make.callback(OFFICE, "pr:share:1", message_id=1, message_text="x"))
    assert not [c for c in await drain(h) if c.chat_id in (LIAISON.id, FINANCE.id)]
    actions = await audit_actions(h)
    assert "practice.record" in actions and "practice.share" in actions


async def test_a_liaison_adds_a_measure_and_finishes_it_with_a_document(h: BotHarness) -> None:
    await join(h, FINANCE, FINANCE_UNIT)
    await h.command(FINANCE, "measure", "2026-12-31 建立窗口首问负责制度\n各窗口统一执行，纳入考核。")
    assert "#1" in h.last_text() and "建立窗口首问负责制度" in h.last_text()
    await h.command(FINANCE, "measures")
    assert "计划中" in h.last_text()
    assert "ms:prog:1" in [d for _, d in h.buttons()]

    await h.click(FINANCE, "ms:prog:1")
    assert h.last_text() == h.t("zh", "practices.moved_progress", measure_id=1, title="建立窗口首问负责制度")
    await h.command(FINANCE, "measures")
    await h.click(FINANCE, "ms:done:1")
    assert h.last_text() == h.t("zh", "practices.ask_evidence", measure_id=1, title="建立窗口首问负责制度")
    await h.say(FINANCE, "已经做完了")  # a text is not evidence: the question stands
    assert h.last_text() == h.t("zh", "practices.evidence_needed")
    await h.send(h.make.document(FINANCE, file_name="首问负责制度.pdf"))
    assert h.last_text() == h.t("zh", "practices.moved_done", measure_id=1, title="建立窗口首问负责制度")

    async with h.deps.uow() as uow:
        measure = await uow.practices.get_measure(1)
    assert measure is not None and measure.status is MeasureStatus.DONE
    assert [e.file_name for e in measure.evidence] == ["首问负责制度.pdf"]
    assert [(c.from_status, c.to_status, c.by) for c in measure.history] == [
        (None, MeasureStatus.PLANNED, FINANCE.id),
        (MeasureStatus.PLANNED, MeasureStatus.IN_PROGRESS, FINANCE.id),
        (MeasureStatus.IN_PROGRESS, MeasureStatus.DONE, FINANCE.id),
    ]
    actions = await audit_actions(h)
    assert actions.count("measure.move") == 2 and "measure.add" in actions
    h.check_callback_answers()

    # the office sees every unit's, with the tally
    await h.command(OFFICE, "measures")
    listing = h.last_text()
    assert "区财政局" in listing and "1/1" in listing and "建立窗口首问负责制度" in listing
    # and its evidence, sent again by Telegram's file id
    calls = await h.click(OFFICE, "ms:files:1")
    [sent] = [c for c in calls if c.method == "sendDocument"]
    assert sent.chat_id == OFFICE.id and sent.params.get("document") == measure.evidence[0].file_id
    # a liaison of another unit may not have them
    await join(h, EFFICIENCY, EFFICIENCY_UNIT)
    calls = await h.send(h.make.callback(EFFICIENCY, "ms:files:1", message_id=1, message_text="x"))
    assert alert(calls) == h.t("zh", "error.not_found")
    assert not [c for c in calls if c.method == "sendDocument"]
    h.check_callback_answers()


async def test_a_dropped_measure_needs_a_reason(h: BotHarness) -> None:
    await join(h, FINANCE, FINANCE_UNIT)
    await h.command(FINANCE, "measure", "2026-12-31 每月一次群众评议")
    await h.command(FINANCE, "measures")
    await h.click(FINANCE, "ms:drop:1")
    await h.say(FINANCE, "与区里统一评议制度重复")
    assert h.last_text() == h.t("zh", "practices.moved_dropped", measure_id=1, title="每月一次群众评议")
    async with h.deps.uow() as uow:
        measure = await uow.practices.get_measure(1)
    assert measure is not None and measure.status is MeasureStatus.DROPPED
    assert measure.history[-1].note == "与区里统一评议制度重复"


async def test_the_office_sees_overdue_measures(h: BotHarness) -> None:
    await join(h, FINANCE, FINANCE_UNIT)
    await h.command(FINANCE, "measure", "2026-11-24 建立限时办结制度")
    h.clock.advance(timedelta(days=3))  # Thursday 26 November: due on Tuesday
    await h.command(OFFICE, "measures", "区财政局")
    listing = h.last_text()
    assert "逾期 1 项" in listing and h.t("zh", "practices.overdue_mark") in listing


async def test_a_reminder_goes_out_before_the_due_date_once(h: BotHarness) -> None:
    await join(h, FINANCE, FINANCE_UNIT)
    # Monday 23 November 2026; due Thursday the 26th: three working days before is today
    assert h.clock.now().date() == date(2026, 11, 23)
    await h.command(FINANCE, "measure", "2026-11-26 建立限时办结制度")
    summary = await h.deps.services.periodic.run(h.clock.now())
    assert summary.measure_reminders == 1
    again = await h.deps.services.periodic.run(h.clock.now())
    assert again.measure_reminders == 0
    sent = [c for c in await drain(h) if c.chat_id == FINANCE.id]
    [reminder] = sent
    assert "建立限时办结制度" in (reminder.text or "") and "3" in (reminder.text or "")
    assert "ms:done:1" in [d for _, d in reminder.buttons]
    # Tuesday: no reminder day (1 working day before is Wednesday)
    summary = await h.deps.services.periodic.run(h.clock.now() + timedelta(days=1))
    assert summary.measure_reminders == 0


async def test_citizens_and_other_units_are_refused(h: BotHarness) -> None:
    await join(h, FINANCE, FINANCE_UNIT)
    await join(h, EFFICIENCY, EFFICIENCY_UNIT)
    await h.command(FINANCE, "measure", "2026-12-31 建立窗口首问负责制度")
    # a citizen may not add or list measures
    await h.command(CITIZEN, "measure", "2026-12-31 我的制度")
    assert h.last_text() == h.t("zh", "error.permission_denied")
    await h.command(CITIZEN, "measures")
    assert h.last_text() == h.t("zh", "error.permission_denied")
    # another unit's liaison does not see it and may not move it (a forged button)
    await h.command(EFFICIENCY, "measures")
    assert "建立窗口首问负责制度" not in h.last_text()
    calls = await h.send(h.make.callback(EFFICIENCY, "ms:prog:1", message_id=1, message_text="x"))
    assert alert(calls) == h.t("zh", "error.not_found")
    async with h.deps.uow() as uow:
        measure = await uow.practices.get_measure(1)
    assert measure is not None and measure.status is MeasureStatus.PLANNED
    # liaisons and citizens may not record, list or share practices
    for user in (FINANCE, CITIZEN):
        await h.command(user, "practice", PRACTICE)
        assert h.last_text() == h.t("zh", "office.only")
        await h.command(user, "practices")
        assert h.last_text() == h.t("zh", "office.only")
        calls = await h.send(h.make.callback(user, "pr:share:1", message_id=1, message_text="x"))
        assert alert(calls) == h.t("zh", "office.only")
    async with h.deps.uow() as uow:
        assert await uow.practices.list_practices() == []
