"""案件查办 (/accountability): the office records accountability against a unit (people by
role, facts, the cases it rests on, outcome), lists them; unknown cases, malformed records,
liaisons and citizens are refused. Through the real Application on a migrated database."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from core.reports import AccountabilityOutcome, Person
from tests.bot.conftest import HarnessFactory
from tests.bot.test_office import CITIZEN, LIAISON, OFFICE, OFFICE_CHAT, audit_actions, file_case, join
from tests.support.harness import BotHarness

pytestmark = pytest.mark.filterwarnings(
    "ignore:Ignoring `conversation_timeout`:telegram.warnings.PTBUserWarning"
)
FACTS = "该局在自查自纠中隐瞒窗口推诿问题，报送材料与实际不符。"


@pytest.fixture
async def h(harness_factory: HarnessFactory) -> AsyncIterator[BotHarness]:
    async with harness_factory(office_chat_id=OFFICE_CHAT, office_admin_ids=str(OFFICE.id)) as harness:
        yield harness


async def test_the_office_records_and_lists_accountability(h: BotHarness) -> None:
    case = await file_case(h)
    await h.command(
        OFFICE,
        "accountability",
        f"区财政局 诫勉谈话 {case.tracking_no.lower()}\n人员：一把手 张某；窗口工作人员 李某\n{FACTS}",
    )
    assert h.last_text() == h.t("zh", "office.accountability_recorded", record_id=1)
    async with h.deps.uow() as uow:
        [record] = await uow.reports.list_accountability()
    assert record.unit_id == "finance_bureau" and record.outcome is AccountabilityOutcome.ADMONITION
    assert record.people == [Person("一把手", "张某"), Person("窗口工作人员", "李某")]
    assert record.case_numbers == [case.tracking_no] and record.facts == FACTS
    assert record.recorded_by == OFFICE.id
    assert "accountability.record" in await audit_actions(h)

    await h.command(OFFICE, "accountability", "list 区财政局")
    listing = h.last_text()
    assert "诫勉谈话" in listing and "一把手 张某" in listing and case.tracking_no in listing
    await h.command(OFFICE, "accountability", "list 区审计局")
    assert h.last_text() == h.t("zh", "office.accountability_none")


@pytest.mark.parametrize(
    "args",
    ["", "区财政局", "区财政局 诫勉谈话", "不存在局 诫勉谈话\n事实", "区财政局 罚站\n事实"],
    ids=["empty", "unit only", "no facts", "unknown unit", "unknown outcome"],
)
async def test_a_malformed_record_gets_the_usage_and_saves_nothing(h: BotHarness, args: str) -> None:
    await h.command(OFFICE, "accountability", args)
    assert h.last_text() == h.t("zh", "office.accountability_usage")
    async with h.deps.uow() as uow:
        assert await uow.reports.list_accountability() == []


async def test_a_record_resting_on_an_unknown_case_is_refused(h: BotHarness) -> None:
    await h.command(OFFICE, "accountability", f"区财政局 通报批评 ZH-2026-009999\n{FACTS}")
    assert h.last_text() == h.t("zh", "office.accountability_no_case", tracking_no="ZH-2026-009999")


async def test_liaisons_and_citizens_may_not_record_or_read_accountability(h: BotHarness) -> None:
    await join(h, LIAISON, "organs_work_committee")
    for user in (LIAISON, CITIZEN):
        for args in (f"区财政局 诫勉谈话\n{FACTS}", "list"):
            await h.command(user, "accountability", args)
            assert h.last_text() == h.t("zh", "office.only")
    async with h.deps.uow() as uow:
        assert await uow.reports.list_accountability() == []
