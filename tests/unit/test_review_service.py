"""The review service's own rules on fakes: what an inspection may record (units of the plan,
findings only about inspected units, no day in the future, cases that exist), that only the
office records, that a finding becomes at most one 整改建议书, and that the campaign's
exceptions must be units of the plan."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from core.calendar import WorkingDays
from core.clock import FixedClock
from core.errors import NotFound, PermissionDenied, ValidationFailed
from core.plan import Plan
from core.review import AcceptanceRefusal, FindingSeverity
from core.services.reports import ReportService
from core.services.review import (
    AUDIT_FINDING,
    AUDIT_INSPECTION,
    AlreadyRectified,
    CampaignNotAcceptable,
    FindingDraft,
    ReviewService,
    UnitNotAcceptable,
)
from core.services.units import sync_plan_units
from tests.fakes import FakeStore, fake_uow_factory

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2014, 11, 3, 10, tzinfo=TZ)
OFFICE = 900_001
STRANGER = 555
FIN, AUD = "finance_bureau", "audit_bureau"


async def service(plan: Plan) -> tuple[ReviewService, FakeStore]:
    store = FakeStore()
    factory = fake_uow_factory(store)
    await sync_plan_units(plan, factory)
    clock, wd = FixedClock(NOW, TZ), WorkingDays()
    admins = frozenset({OFFICE})
    reports = ReportService(uow=factory, plan=plan, clock=clock, working_days=wd, office_admin_ids=admins)
    return ReviewService(factory, plan, clock, wd, reports=reports, office_admin_ids=admins), store


async def test_an_inspection_is_recorded_with_its_findings_and_audited(plan: Plan) -> None:
    svc, store = await service(plan)
    drafts = [
        FindingDraft(FIN, FindingSeverity.GRAVE, "  窗口无人  "),
        FindingDraft(FIN, FindingSeverity.MINOR, "公示"),
    ]
    done = await svc.record_inspection(OFFICE, [FIN, AUD, FIN], "区纪委", date(2014, 11, 1), drafts)
    assert done.inspection.unit_ids == [FIN, AUD]  # duplicates dropped, order kept
    assert [f.facts for f in done.findings] == ["窗口无人", "公示"]
    actions = [e.action for e in store.audit]
    assert actions.count(AUDIT_INSPECTION) == 1 and actions.count(AUDIT_FINDING) == 2
    status = await svc.status(OFFICE)
    fin = next(u for u in status.units if u.unit_id == FIN)
    aud = next(u for u in status.units if u.unit_id == AUD)
    assert fin.inspected and len(fin.findings) == 2 and aud.inspected and not aud.findings
    assert not next(u for u in status.units if u.unit_id not in (FIN, AUD)).inspected
    assert FIN in status.blockers and status.campaign is None


@pytest.mark.parametrize(
    ("units", "day", "drafts", "error"),
    [
        ([], date(2014, 11, 1), [], ValidationFailed),
        (["no_such_unit"], date(2014, 11, 1), [], NotFound),
        ([FIN], NOW.date() + timedelta(days=1), [], ValidationFailed),  # not in the future
        ([FIN], date(2014, 11, 1), [FindingDraft(AUD, FindingSeverity.MINOR, "x")], ValidationFailed),
        ([FIN], date(2014, 11, 1), [FindingDraft(FIN, FindingSeverity.MINOR, "   ")], ValidationFailed),
        (
            [FIN],
            date(2014, 11, 1),
            [FindingDraft(FIN, FindingSeverity.MINOR, "x", case_numbers=["ZH-2014-999999"])],
            NotFound,
        ),
    ],
)
async def test_an_inspection_that_does_not_hold_together_records_nothing(
    plan: Plan, units: list[str], day: date, drafts: list[FindingDraft], error: type[Exception]
) -> None:
    svc, store = await service(plan)
    with pytest.raises(error):
        await svc.record_inspection(OFFICE, units, "区纪委", day, drafts)
    assert not store.review_inspections and not store.review_findings and not store.audit


async def test_only_the_office_records_or_accepts(plan: Plan) -> None:
    svc, store = await service(plan)
    with pytest.raises(PermissionDenied):
        await svc.record_inspection(STRANGER, [FIN], "区纪委", date(2014, 11, 1))
    with pytest.raises(PermissionDenied):
        await svc.accept_unit(STRANGER, FIN)
    with pytest.raises(PermissionDenied):
        await svc.refuse_unit(STRANGER, FIN, "理由")
    with pytest.raises(PermissionDenied):
        await svc.accept_campaign(STRANGER, [u.id for u in plan.units])
    assert not store.unit_acceptances and not store.campaign_acceptances


async def test_a_finding_becomes_one_recommendation_and_then_blocks_acceptance(plan: Plan) -> None:
    svc, store = await service(plan)
    done = await svc.record_inspection(
        OFFICE, [FIN], "区纪委", date(2014, 11, 1), [FindingDraft(FIN, FindingSeverity.SERIOUS, "台账缺失")]
    )
    [finding] = done.findings
    assert finding.id is not None
    rectified = await svc.rectify_finding(OFFICE, finding.id)
    assert rectified.recommendation.problems == "台账缺失" and rectified.recommendation.unit_id == FIN
    assert rectified.recommendation.plan_due > NOW.date()
    assert rectified.recommendation.report_due > rectified.recommendation.plan_due
    assert store.review_findings[finding.id].recommendation_id == rectified.recommendation.id
    with pytest.raises(AlreadyRectified):
        await svc.rectify_finding(OFFICE, finding.id)
    assert len(store.recommendations) == 1
    with pytest.raises(UnitNotAcceptable) as refused:
        await svc.accept_unit(OFFICE, FIN)
    assert refused.value.reasons == [
        AcceptanceRefusal.SELF_INSPECTION_MISSING,
        AcceptanceRefusal.RECTIFICATION_NOT_REPORTED,
    ]
    assert refused.value.unreported == 1 and not store.unit_acceptances


async def test_the_campaigns_exceptions_are_units_of_the_plan_and_a_refusal_still_blocks(plan: Plan) -> None:
    svc, store = await service(plan)
    others = [u.id for u in plan.units if u.id != FIN]
    with pytest.raises(NotFound):
        await svc.accept_campaign(OFFICE, ["no_such_unit"])
    await svc.refuse_unit(OFFICE, FIN, "整改未到位")
    with pytest.raises(CampaignNotAcceptable) as blocked:
        await svc.accept_campaign(OFFICE, others)
    assert blocked.value.blockers == [FIN]  # 不予验收 is not accepted
    record = await svc.accept_campaign(OFFICE, [*others, FIN], "另行验收")
    assert record.exceptions == [*others, FIN] and record.note == "另行验收"
    assert [e.action for e in store.audit][-1] == "review.accept_campaign"
