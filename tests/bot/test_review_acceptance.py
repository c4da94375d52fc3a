"""复核检查 and 验收 through the real Application on a migrated database: the office records a
review inspection with findings (the liaisons hear of their unit's), a finding becomes a
整改建议书 through the rectification flow (the liaison gets its notice), a unit's acceptance
is refused with every reason and then recorded once its reports are in, the campaign's is
refused with the blocking units and then recorded with the office's exceptions; a liaison is
refused at the office's commands."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.dialogs.reporting import report_service
from core.clock import FixedClock
from core.reports import ReportKind
from core.review import FindingSeverity, UnitAcceptance
from core.services.reports import ReportFile, SelfInspectionDraft
from tests.bot.conftest import HarnessFactory
from tests.bot.test_office import (
    EFFICIENCY,
    EFFICIENCY_UNIT,
    FINANCE,
    FINANCE_UNIT,
    OFFICE,
    OFFICE_CHAT,
    alert,
    audit_actions,
    drain,
    join,
)
from tests.support.harness import BotHarness, running_harness
from tests.support.recording_request import RecordedCall
from tests.support.street_plan import STREET, street_plan
from tests.support.updates import TgUser

pytestmark = pytest.mark.filterwarnings(
    "ignore:Ignoring `conversation_timeout`:telegram.warnings.PTBUserWarning"
)
PDF = ReportFile("file-1", "u-file-1", "application/pdf", 300_000, "报告.pdf")
FACTS = "窗口无人值守，群众等候四十分钟"
STREET_OFFICE = TgUser(910_001, "苗圃街道纪工委孙九", "zh-hans")


@pytest.fixture
async def h(harness_factory: HarnessFactory) -> AsyncIterator[BotHarness]:
    async with harness_factory(office_chat_id=OFFICE_CHAT, office_admin_ids=str(OFFICE.id)) as harness:
        yield harness


def texts_to(calls: list[RecordedCall], user_id: int) -> list[str]:
    return [c.text or "" for c in calls if c.chat_id == user_id and c.text]


async def test_the_office_records_an_inspection_and_each_liaison_hears_of_its_unit(h: BotHarness) -> None:
    await join(h, FINANCE, FINANCE_UNIT)
    await join(h, EFFICIENCY, EFFICIENCY_UNIT)
    await drain(h)
    await h.command(
        OFFICE,
        "review",
        f"{FINANCE_UNIT} {EFFICIENCY_UNIT} | 区纪委、效能办 李四\n{FINANCE_UNIT} 较重：{FACTS}",
    )
    assert "复核检查 #1 已登记" in h.last_text() and FACTS in h.last_text()
    assert ("问题 #1 下发整改建议书", "rv:rect:1") in h.buttons()
    async with h.deps.uow() as uow:
        [inspection] = await uow.review.list_inspections()
        [finding] = await uow.review.list_findings()
    assert inspection.unit_ids == [FINANCE_UNIT, EFFICIENCY_UNIT] and inspection.recorded_by == OFFICE.id
    assert inspection.bodies == "区纪委、效能办 李四"
    assert finding.unit_id == FINANCE_UNIT and finding.severity is FindingSeverity.SERIOUS
    assert finding.facts == FACTS and finding.recommendation_id is None
    actions = await audit_actions(h)
    assert "review.inspection" in actions and "review.finding" in actions
    sent = await drain(h)
    [to_finance] = texts_to(sent, FINANCE.id)
    assert FACTS in to_finance and "较重" in to_finance
    [to_efficiency] = texts_to(sent, EFFICIENCY.id)
    assert "未发现问题" in to_efficiency and FACTS not in to_efficiency  # another unit's finding


async def test_a_finding_becomes_a_recommendation_and_acceptance_waits_for_the_reports(
    h: BotHarness,
) -> None:
    await join(h, FINANCE, FINANCE_UNIT)
    await h.command(OFFICE, "review", f"{FINANCE_UNIT} | 区纪委 | \n{FINANCE_UNIT} 严重：{FACTS}")
    await drain(h)

    calls = await h.click(OFFICE, "rv:rect:1")
    assert "整改建议书 #1" in alert(calls)
    async with h.deps.uow() as uow:
        finding = await uow.review.get_finding(1)
        [rec] = await uow.reports.list_recommendations(unit_id=FINANCE_UNIT)
    assert finding is not None and finding.recommendation_id == rec.id and rec.problems == FACTS
    [issued] = texts_to(await drain(h), FINANCE.id)
    assert FACTS in issued  # the rectification flow's own notice, with its button
    # a second press issues nothing more
    calls = await h.click(OFFICE, "rv:rect:1")
    assert h.t("zh", "review.already_rectified", recommendation_id=rec.id) in alert(calls)

    # refused with every reason at once
    await h.command(OFFICE, "accept", FINANCE_UNIT)
    refusal = h.last_text()
    assert "暂不能验收" in refusal
    assert h.t("zh", "review.refusal.self_inspection_missing") in refusal
    assert h.t("zh", "review.refusal.rectification_not_reported", count=1) in refusal

    reports = report_service(h.deps)
    draft = SelfInspectionDraft(
        total=10, inspected=10, problems="告知不清。", measures="清单上墙。", file=PDF
    )
    await reports.submit_self_inspection(FINANCE.id, draft)
    await h.command(OFFICE, "accept", FINANCE_UNIT)
    assert h.t("zh", "review.refusal.self_inspection_missing") not in h.last_text()
    assert h.t("zh", "review.refusal.rectification_not_reported", count=1) in h.last_text()

    assert rec.id is not None
    plan = await reports.submit_rectification(FINANCE.id, rec.id, ReportKind.RECTIFICATION_PLAN, "方案", PDF)
    assert plan.id is not None
    await reports.review(OFFICE.id, plan.id, accept=True)
    await reports.submit_rectification(FINANCE.id, rec.id, ReportKind.RECTIFICATION_REPORT, "已整改", PDF)
    await drain(h)
    await h.command(OFFICE, "accept", f"{FINANCE_UNIT} 整改到位")
    assert "验收通过" in h.last_text()
    async with h.deps.uow() as uow:
        [acceptance] = await uow.review.list_unit_acceptances()
    assert acceptance.accepted and acceptance.note == "整改到位" and acceptance.decided_by == OFFICE.id
    assert "review.accept" in await audit_actions(h)
    [told] = texts_to(await drain(h), FINANCE.id)
    assert "通过验收" in told and "整改到位" in told

    await h.command(OFFICE, "review_status")
    status = h.last_text()
    assert "复核 ✓（1 次）" in status and "验收通过" in status and "整体验收：尚未进行" in status


async def test_not_accepted_needs_a_reason_and_is_recorded(h: BotHarness) -> None:
    await join(h, FINANCE, FINANCE_UNIT)
    await h.command(OFFICE, "accept", f"{FINANCE_UNIT} 不予验收")
    assert h.last_text() == h.t("zh", "review.refuse_needs_reason")
    await h.command(OFFICE, "accept", f"{FINANCE_UNIT} 不予验收：台账不全")
    assert "不予验收（台账不全）" in h.last_text()
    async with h.deps.uow() as uow:
        [record] = await uow.review.list_unit_acceptances()
    assert not record.accepted and record.note == "台账不全"
    assert "review.refuse" in await audit_actions(h)
    [told] = texts_to(await drain(h), FINANCE.id)
    assert "不予验收" in told and "台账不全" in told


async def test_the_campaign_is_refused_with_its_blockers_then_accepted_with_exceptions(h: BotHarness) -> None:
    units = [u.id for u in h.deps.plan.units]
    # every unit but two accepted: those two block the campaign
    async with h.deps.uow() as uow:
        for unit_id in units[2:]:
            await uow.review.add_unit_acceptance(
                UnitAcceptance(unit_id=unit_id, accepted=True, decided_at=h.clock.now(), decided_by=OFFICE.id)
            )
        await uow.commit()
    await h.command(OFFICE, "accept", "all")
    refused = h.last_text()
    assert "整体验收暂不能进行：还有 2 个单位" in refused
    for unit_id in units[:2]:
        assert h.deps.plan.unit(unit_id).name in refused
    assert h.deps.plan.unit(units[2]).name not in refused
    async with h.deps.uow() as uow:
        assert await uow.review.latest_campaign_acceptance() is None

    await h.command(OFFICE, "accept_campaign", f"{units[0]} {units[1]} | 两单位机构调整，另行验收")
    assert "专项治理已整体验收" in h.last_text()
    async with h.deps.uow() as uow:
        record = await uow.review.latest_campaign_acceptance()
    assert record is not None and record.exceptions == units[:2] and record.note == "两单位机构调整，另行验收"
    assert "review.accept_campaign" in await audit_actions(h)
    await h.command(OFFICE, "review_status")
    assert "整体验收：已于" in h.last_text()


async def test_a_liaison_may_not_review_or_accept(h: BotHarness) -> None:
    await join(h, FINANCE, FINANCE_UNIT)
    for command, text in (
        ("review", f"{FINANCE_UNIT} | 自己 \n{FINANCE_UNIT} 一般：无"),
        ("accept", FINANCE_UNIT),
        ("accept", "all"),
        ("accept_campaign", ""),
        ("review_status", ""),
    ):
        await h.command(FINANCE, command, text)
        assert h.last_text() == h.t("zh", "office.only"), command
    calls = await h.send(h.make.callback(FINANCE, "rv:rect:1", message_id=1, message_text="x"))  # forged
    assert h.t("zh", "office.only") in alert(calls)
    async with h.deps.uow() as uow:
        assert await uow.review.list_inspections() == []
        assert await uow.review.list_unit_acceptances() == []


async def test_the_liaison_sees_its_own_units_findings_and_acceptance(h: BotHarness) -> None:
    await join(h, FINANCE, FINANCE_UNIT)
    await join(h, EFFICIENCY, EFFICIENCY_UNIT)
    await h.command(FINANCE, "my_review")
    assert h.last_text() == h.t("zh", "review.card_none")
    await h.command(
        OFFICE, "review", f"{FINANCE_UNIT} {EFFICIENCY_UNIT} | 区纪委\n{FINANCE_UNIT} 严重：{FACTS}"
    )
    await h.command(OFFICE, "accept", f"{FINANCE_UNIT} 不予验收：整改未到位")
    await h.command(FINANCE, "my_review")
    card = h.last_text()
    assert "复核检查 1 次，发现问题 1 个" in card and FACTS in card and "严重" in card
    assert "不予验收（整改未到位）" in card
    await h.command(EFFICIENCY, "my_review")
    assert FACTS not in h.last_text() and "发现问题 0 个" in h.last_text()
    await h.command(OFFICE, "my_review")  # not a liaison: the service refuses
    assert FACTS not in h.last_text()


async def test_a_streets_office_reviews_and_accepts_only_its_own_units(
    clock: FixedClock, migrated_sqlite_url: str
) -> None:
    async with running_harness(
        plan=street_plan(),
        clock=clock,
        database_url=migrated_sqlite_url,
        office_chat_id=OFFICE_CHAT,
        office_admin_ids=str(OFFICE.id),
    ) as h:
        await h.command(OFFICE, "members", f"add {STREET_OFFICE.id} {STREET}")
        await h.command(STREET_OFFICE, "review", f"{FINANCE_UNIT} | 街道纪工委\n{FINANCE_UNIT} 一般：x")
        assert h.last_text() == h.t("zh", "error.not_found")  # not one of the street's units
        await h.command(STREET_OFFICE, "accept", f"{FINANCE_UNIT} 不予验收：x")
        assert h.last_text() == h.t("zh", "error.not_found")
        await h.command(STREET_OFFICE, "accept", "all")
        assert h.last_text() == h.t("zh", "error.permission_denied")  # the district's to accept
        async with h.deps.uow() as uow:
            assert await uow.review.list_inspections() == []
            assert await uow.review.list_unit_acceptances() == []
            assert await uow.review.latest_campaign_acceptance() is None
        await h.command(STREET_OFFICE, "review", "miaopu_street | 街道纪工委\nmiaopu_street 一般：台账不全")
        assert "已登记" in h.last_text()
        await h.command(STREET_OFFICE, "review_status")
        assert "苗圃街道办事处" in h.last_text() and "区财政局" not in h.last_text()
