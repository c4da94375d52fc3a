"""Review inspections, findings and acceptance records on SQLite and PostgreSQL: stored and read
back whole, listed in order, a finding linked to the 整改建议书 it became, the newest
acceptance of a unit the one that counts, and the campaign's latest record with its
exceptions."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from core.plan import Plan
from core.ports import UnitOfWorkFactory
from core.reports import Recommendation
from core.review import (
    CampaignAcceptance,
    FindingSeverity,
    ReviewFinding,
    ReviewInspection,
    UnitAcceptance,
    latest_acceptance,
)
from core.services.units import sync_plan_units

AT = datetime(2014, 11, 3, 2, 0, tzinfo=UTC)


async def test_inspections_and_findings_round_trip_and_a_finding_keeps_its_recommendation(
    uow_factory: UnitOfWorkFactory, plan: Plan
) -> None:
    await sync_plan_units(plan, uow_factory)
    async with uow_factory() as uow:
        later = await uow.review.add_inspection(
            ReviewInspection("区纪委", date(2014, 11, 2), ["audit_bureau"], AT, recorded_by=900_001)
        )
        first = await uow.review.add_inspection(
            ReviewInspection(
                "区纪委、效能办 李四", date(2014, 10, 20), ["finance_bureau", "audit_bureau"], AT,
                recorded_by=900_001, note="第一轮",
            )
        )  # fmt: skip
        assert first.id is not None and later.id is not None
        grave = await uow.review.add_finding(
            ReviewFinding(
                first.id, "finance_bureau", FindingSeverity.GRAVE, "窗口无人值守", AT,
                case_numbers=["ZH-2014-000001"],
            )
        )  # fmt: skip
        await uow.review.add_finding(
            ReviewFinding(first.id, "audit_bureau", FindingSeverity.MINOR, "公示不全", AT)
        )
        await uow.review.add_finding(
            ReviewFinding(later.id, "audit_bureau", FindingSeverity.SERIOUS, "台账缺失", AT)
        )
        rec = await uow.reports.add_recommendation(
            Recommendation("finance_bureau", "窗口无人值守", AT, date(2014, 11, 10), date(2014, 11, 30))
        )
        await uow.commit()
    assert grave.id is not None and rec.id is not None
    async with uow_factory() as uow:
        await uow.review.link_recommendation(grave.id, rec.id)
        await uow.commit()
    async with uow_factory() as uow:
        listed = await uow.review.list_inspections()
        again = await uow.review.get_inspection(first.id)
        assert await uow.review.get_inspection(9999) is None
        back = await uow.review.get_finding(grave.id)
        of_audit = await uow.review.list_findings(unit_id="audit_bureau")
        of_first = await uow.review.list_findings(inspection_id=first.id)
    assert [i.id for i in listed] == [first.id, later.id]  # by inspection day
    assert again == ReviewInspection(
        "区纪委、效能办 李四", date(2014, 10, 20), ["finance_bureau", "audit_bureau"], AT,
        recorded_by=900_001, note="第一轮", id=first.id,
    )  # fmt: skip
    assert back == ReviewFinding(
        first.id, "finance_bureau", FindingSeverity.GRAVE, "窗口无人值守", AT,
        case_numbers=["ZH-2014-000001"], recommendation_id=rec.id, id=grave.id,
    )  # fmt: skip
    assert [f.facts for f in of_audit] == ["公示不全", "台账缺失"]
    assert [f.unit_id for f in of_first] == ["finance_bureau", "audit_bureau"]


async def test_the_newest_acceptance_counts_and_the_campaign_keeps_its_exceptions(
    uow_factory: UnitOfWorkFactory, plan: Plan
) -> None:
    await sync_plan_units(plan, uow_factory)
    async with uow_factory() as uow:
        assert await uow.review.latest_campaign_acceptance() is None
        await uow.review.add_unit_acceptance(
            UnitAcceptance("finance_bureau", False, AT, decided_by=900_001, note="台账不全")
        )
        await uow.review.add_unit_acceptance(UnitAcceptance("finance_bureau", True, AT + timedelta(days=3)))
        await uow.review.add_unit_acceptance(UnitAcceptance("audit_bureau", True, AT + timedelta(days=1)))
        await uow.review.add_campaign_acceptance(CampaignAcceptance(AT + timedelta(days=4), 900_001))
        await uow.review.add_campaign_acceptance(
            CampaignAcceptance(AT + timedelta(days=5), 900_001, exceptions=["tax_bureau"], note="另行验收")
        )
        await uow.commit()
    async with uow_factory() as uow:
        everything = await uow.review.list_unit_acceptances()
        finance = await uow.review.list_unit_acceptances(unit_id="finance_bureau")
        campaign = await uow.review.latest_campaign_acceptance()
    assert [(a.unit_id, a.accepted) for a in everything] == [
        ("finance_bureau", False),
        ("audit_bureau", True),
        ("finance_bureau", True),
    ]
    assert finance[0].note == "台账不全" and finance[0].decided_by == 900_001
    decided = latest_acceptance(everything)
    assert decided["finance_bureau"].accepted and decided["finance_bureau"].decided_at == AT + timedelta(
        days=3
    )
    assert campaign is not None and campaign.exceptions == ["tax_bureau"] and campaign.note == "另行验收"
    assert campaign.decided_at == AT + timedelta(days=5)
