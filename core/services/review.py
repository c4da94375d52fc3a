"""复核检查 and 验收 (the plan's 工作步骤 四, item 3): the 纪委/监察局/效能办/优化办 with related
units inspect every unit again, record findings per unit, and accept each unit and then the
campaign as a whole (core.review holds the pure rules).

Rules kept here, whatever the bot shows:
- Only the office records inspections, findings and acceptances; every record writes an audit
  entry. A liaison sees its own unit's findings and acceptance, never another unit's.
- A finding may become a 整改建议书: the existing rectification flow issues it
  (``ReportService.issue_recommendation``: the same record, deadlines, reminders and report-back
  as any other) and the finding keeps the link. A finding becomes at most one.
- A unit is accepted only when ``core.review.refusals`` finds nothing; the refusal carries every
  reason at once. 不予验收 is the office's own decision (with a note) and is always allowed.
- The campaign is accepted as a whole only when ``core.review.campaign_blockers`` is empty,
  counting the office's explicit exceptions.
- The liaisons are told of their unit's findings and of its acceptance through the outbox; the
  texts carry the unit's findings and the office's note, never a complainant.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from core.audit import AuditEntry
from core.calendar import WorkingDays
from core.campaigns import campaign_by_id
from core.clock import Clock
from core.errors import ActionNotAllowed, NotFound, PermissionDenied, ValidationFailed
from core.notices import JsonScalar
from core.plan import Plan
from core.ports import UnitOfWork, UnitOfWorkFactory
from core.reports import Recommendation, ReportKind, ReportStatus
from core.review import (
    AcceptanceRefusal,
    CampaignAcceptance,
    FindingSeverity,
    ReviewFinding,
    ReviewInspection,
    UnitAcceptance,
    UnitReadiness,
    campaign_blockers,
    latest_acceptance,
    refusals,
)
from core.roles import Roles, resolve_roles
from core.services.reports import ReportService
from core.services.workflow import tell_unit
from core.states import CaseState
from core.text import clean_text

MAX_BODIES = 500
MAX_FACTS = 2000
MAX_NOTE = 500
MAX_FINDINGS = 50  # in one inspection: a typo guard, not a policy
# The deadlines a finding's 整改建议书 gets when the office does not give them, in working days:
# the plan after the issue, the report after the plan (the /rectify dialog's first suggestions).
PLAN_WORKING_DAYS = 5
REPORT_WORKING_DAYS = 10

AUDIT_INSPECTION = "review.inspection"
AUDIT_FINDING = "review.finding"
AUDIT_RECTIFY = "review.rectify"
AUDIT_ACCEPT = "review.accept"
AUDIT_REFUSE = "review.refuse"
AUDIT_ACCEPT_CAMPAIGN = "review.accept_campaign"

# The office's button under a finding (bot/handlers/office/review.py): callback data + finding id.
CALLBACK_FINDING_RECTIFY = "rv:rect:"


class UnitNotAcceptable(ActionNotAllowed):
    """The unit may not be accepted now: ``reasons`` (core.review.AcceptanceRefusal, all of
    them), ``unreported`` (how many of its findings' 整改建议书 have no report yet)."""

    key = "review.refused_unit"

    def __init__(self, unit_id: str, reasons: Sequence[AcceptanceRefusal], unreported: int) -> None:
        super().__init__(unit_id=unit_id, unreported=unreported)
        self.unit_id = unit_id
        self.reasons = list(reasons)
        self.unreported = unreported


class CampaignNotAcceptable(ActionNotAllowed):
    """The campaign may not be accepted as a whole: ``blockers``, the units in plan order."""

    key = "review.refused_campaign"

    def __init__(self, blockers: Sequence[str]) -> None:
        super().__init__(count=len(blockers))
        self.blockers = list(blockers)


class AlreadyRectified(ActionNotAllowed):
    """The finding became a 整改建议书 already (``recommendation_id``)."""

    key = "review.already_rectified"


@dataclass(frozen=True, slots=True)
class FindingDraft:
    unit_id: str
    severity: FindingSeverity
    facts: str
    case_numbers: Sequence[str] = ()


@dataclass(frozen=True, slots=True)
class RecordedInspection:
    inspection: ReviewInspection
    findings: list[ReviewFinding]
    told: int  # liaison notices queued


@dataclass(frozen=True, slots=True)
class Rectified:
    finding: ReviewFinding
    recommendation: Recommendation
    told: int


@dataclass(frozen=True, slots=True)
class UnitReviewState:
    """One unit's line of ``/review_status`` (and the year-end report, the liaison card)."""

    unit_id: str
    inspections: int
    findings: list[ReviewFinding]
    acceptance: UnitAcceptance | None

    @property
    def inspected(self) -> bool:
        return self.inspections > 0

    @property
    def accepted(self) -> bool:
        return self.acceptance is not None and self.acceptance.accepted


@dataclass(frozen=True, slots=True)
class ReviewStatus:
    units: list[UnitReviewState]
    campaign: CampaignAcceptance | None = None
    blockers: list[str] = field(default_factory=list)


@dataclass(slots=True)
class ReviewService:
    uow: UnitOfWorkFactory
    plan: Plan
    clock: Clock
    working_days: WorkingDays
    reports: ReportService | None = None  # to turn a finding into a 整改建议书
    office_admin_ids: frozenset[int] = frozenset()

    def today(self) -> date:
        return self.clock.now().astimezone(self.clock.tz).date()

    async def _roles(self, uow: UnitOfWork, user_id: int) -> Roles:
        return await resolve_roles(uow, user_id, self.office_admin_ids)

    async def _office(self, uow: UnitOfWork, user_id: int, unit_ids: Sequence[str] = ()) -> None:
        """The office, and (a sub-campaign's office) only its own units: another's is NotFound."""
        roles = await self._roles(uow, user_id)
        roles.require_office()
        sub = campaign_by_id(self.plan.sub_campaigns, roles.office_scope)
        if sub is not None and any(u not in sub.unit_ids for u in unit_ids):
            raise NotFound(kind="unit")

    async def _district_office(self, uow: UnitOfWork, user_id: int) -> None:
        """The campaign as a whole is the district office's to accept."""
        roles = await self._roles(uow, user_id)
        roles.require_office()
        if campaign_by_id(self.plan.sub_campaigns, roles.office_scope) is not None:
            raise PermissionDenied(reason="district_only")

    def _unit_ids(self) -> list[str]:
        return [u.id for u in self.plan.units]

    # -- inspections and findings ----------------------------------------------------------

    async def record_inspection(
        self,
        office_user: int,
        unit_ids: Sequence[str],
        bodies: str,
        inspected_on: date,
        findings: Sequence[FindingDraft] = (),
        note: str = "",
    ) -> RecordedInspection:
        """A review inspection of the units, by the bodies named, on a day not in the future,
        with its findings (each about one of those units). Audited; each unit with findings
        has its liaisons told."""
        units = list(dict.fromkeys(unit_ids))
        if not units:
            raise ValidationFailed(field="units", reason="empty")
        for unit_id in units:
            self.plan.unit(unit_id)  # an id the plan does not know is NotFound
        bodies = _required(bodies, "bodies", MAX_BODIES)
        note = clean_text(note, limit=MAX_NOTE)
        if inspected_on > self.today():
            raise ValidationFailed(field="inspected_on", reason="future")
        if len(findings) > MAX_FINDINGS:
            raise ValidationFailed(field="findings", reason="too_many", limit=MAX_FINDINGS)
        cleaned = [
            FindingDraft(
                unit_id=f.unit_id,
                severity=FindingSeverity(f.severity),
                facts=_required(f.facts, "facts", MAX_FACTS),
                case_numbers=list(dict.fromkeys(f.case_numbers)),
            )
            for f in findings
        ]
        for f in cleaned:
            if f.unit_id not in units:
                raise ValidationFailed(field="finding_unit", reason="not_inspected", unit_id=f.unit_id)
        now = self.clock.now()
        async with self.uow() as uow:
            await self._office(uow, office_user, units)
            for f in cleaned:
                for number in f.case_numbers:
                    found = await uow.cases.get_by_tracking_no(number)
                    if found is None or found.state is CaseState.DRAFT:
                        raise NotFound(kind="case", tracking_no=number)
            inspection = await uow.review.add_inspection(
                ReviewInspection(
                    bodies=bodies,
                    inspected_on=inspected_on,
                    unit_ids=units,
                    recorded_at=now,
                    recorded_by=office_user,
                    note=note,
                )
            )
            assert inspection.id is not None
            await uow.audit.add(
                AuditEntry(
                    actor_id=office_user,
                    at=now,
                    action=AUDIT_INSPECTION,
                    target=f"inspection:{inspection.id}",
                    details={
                        "units": units,
                        "inspected_on": inspected_on.isoformat(),
                        "findings": len(cleaned),
                    },
                )
            )
            stored: list[ReviewFinding] = []
            for f in cleaned:
                finding = await uow.review.add_finding(
                    ReviewFinding(
                        inspection_id=inspection.id,
                        unit_id=f.unit_id,
                        severity=f.severity,
                        facts=f.facts,
                        recorded_at=now,
                        case_numbers=list(f.case_numbers),
                    )
                )
                await uow.audit.add(
                    AuditEntry(
                        actor_id=office_user,
                        at=now,
                        action=AUDIT_FINDING,
                        target=f.unit_id,
                        details={
                            "inspection": inspection.id,
                            "finding": finding.id,
                            "severity": f.severity.value,
                            "cases": list(f.case_numbers),
                        },
                    )
                )
                stored.append(finding)
            told = 0
            for unit_id in units:
                own = [f for f in stored if f.unit_id == unit_id]
                told += await _tell_findings(uow, inspection, unit_id, own, now)
            await uow.commit()
        return RecordedInspection(inspection, stored, told)

    async def rectify_finding(
        self,
        office_user: int,
        finding_id: int,
        plan_due: date | None = None,
        report_due: date | None = None,
    ) -> Rectified:
        """The finding becomes a 整改建议书 to its unit, issued by the rectification flow itself
        (its liaisons get the usual notice with its button), and keeps the link. Deadlines not
        given: ``PLAN_WORKING_DAYS`` and then ``REPORT_WORKING_DAYS`` working days."""
        if self.reports is None:
            raise ActionNotAllowed("no report service configured")
        plan_due = plan_due or self.working_days.add_working_days(self.today(), PLAN_WORKING_DAYS)
        report_due = report_due or self.working_days.add_working_days(plan_due, REPORT_WORKING_DAYS)
        now = self.clock.now()
        # one transaction: the finding locked, the recommendation issued (its notices queued)
        # and linked, so two presses of the button make one recommendation, not two
        async with self.uow() as uow:
            await self._office(uow, office_user)
            finding = await uow.review.get_finding(finding_id, for_update=True)
            if finding is None:
                raise NotFound(kind="finding")
            await self._office(uow, office_user, [finding.unit_id])
            if finding.recommendation_id is not None:
                raise AlreadyRectified(recommendation_id=finding.recommendation_id)
            rec, told = await self.reports.issue_recommendation_in(
                uow, office_user, finding.unit_id, finding.facts, plan_due, report_due
            )
            assert rec.id is not None
            await uow.review.link_recommendation(finding_id, rec.id)
            await uow.audit.add(
                AuditEntry(
                    actor_id=office_user,
                    at=now,
                    action=AUDIT_RECTIFY,
                    target=finding.unit_id,
                    details={"finding": finding_id, "recommendation": rec.id},
                )
            )
            await uow.commit()
        finding.recommendation_id = rec.id
        return Rectified(finding, rec, told)

    # -- acceptance ------------------------------------------------------------------------

    async def _readiness(self, uow: UnitOfWork, unit_id: str) -> UnitReadiness:
        filed = await uow.reports.list(unit_id=unit_id, kind=ReportKind.SELF_INSPECTION)
        self_in = bool(filed) and filed[-1].status is not ReportStatus.RETURNED
        unreported = 0
        for finding in await uow.review.list_findings(unit_id=unit_id):
            if finding.recommendation_id is None:
                continue
            reports = await uow.reports.list(
                unit_id=unit_id,
                kind=ReportKind.RECTIFICATION_REPORT,
                recommendation_id=finding.recommendation_id,
            )
            if not reports or reports[-1].status is ReportStatus.RETURNED:
                unreported += 1
        return UnitReadiness(
            unit_id=unit_id, self_inspection_in=self_in, unreported_rectifications=unreported
        )

    async def accept_unit(self, office_user: int, unit_id: str, note: str = "") -> UnitAcceptance:
        """验收 of one unit, refused (``UnitNotAcceptable``, every reason) while it owes its
        self-inspection report or a report on a finding's 整改建议书. Audited; liaisons told."""
        self.plan.unit(unit_id)
        note = clean_text(note, limit=MAX_NOTE)
        now = self.clock.now()
        async with self.uow() as uow:
            await self._office(uow, office_user, [unit_id])
            readiness = await self._readiness(uow, unit_id)
            reasons = refusals(readiness)
            if reasons:
                raise UnitNotAcceptable(unit_id, reasons, readiness.unreported_rectifications)
            record = await self._decide(uow, office_user, unit_id, True, note, now)
            await uow.commit()
        return record

    async def refuse_unit(self, office_user: int, unit_id: str, note: str) -> UnitAcceptance:
        """不予验收 of one unit, with the office's reason. Audited; liaisons told."""
        self.plan.unit(unit_id)
        note = _required(note, "note", MAX_NOTE)
        now = self.clock.now()
        async with self.uow() as uow:
            await self._office(uow, office_user, [unit_id])
            record = await self._decide(uow, office_user, unit_id, False, note, now)
            await uow.commit()
        return record

    async def _decide(
        self, uow: UnitOfWork, office_user: int, unit_id: str, accepted: bool, note: str, now: datetime
    ) -> UnitAcceptance:
        record = await uow.review.add_unit_acceptance(
            UnitAcceptance(
                unit_id=unit_id, accepted=accepted, decided_at=now, decided_by=office_user, note=note
            )
        )
        await uow.audit.add(
            AuditEntry(
                actor_id=office_user,
                at=now,
                action=AUDIT_ACCEPT if accepted else AUDIT_REFUSE,
                target=unit_id,
                details={"acceptance": record.id},
            )
        )
        await tell_unit(
            uow,
            unit_id,
            "review.notify_accepted" if accepted else "review.notify_refused",
            now,
            params={"note": note or "—"},
            dedup_key=f"review-acceptance:{record.id}",
        )
        return record

    async def accept_campaign(
        self, office_user: int, exceptions: Sequence[str] = (), note: str = ""
    ) -> CampaignAcceptance:
        """The campaign accepted as a whole, refused (``CampaignNotAcceptable``, the units in
        plan order) while a unit is neither accepted nor on the office's list of exceptions."""
        excepted = list(dict.fromkeys(exceptions))
        for unit_id in excepted:
            self.plan.unit(unit_id)
        note = clean_text(note, limit=MAX_NOTE)
        now = self.clock.now()
        async with self.uow() as uow:
            await self._district_office(uow, office_user)
            decided = latest_acceptance(await uow.review.list_unit_acceptances())
            accepted = {u: a.accepted for u, a in decided.items()}
            blockers = campaign_blockers(self._unit_ids(), accepted, excepted)
            if blockers:
                raise CampaignNotAcceptable(blockers)
            record = await uow.review.add_campaign_acceptance(
                CampaignAcceptance(decided_at=now, decided_by=office_user, exceptions=excepted, note=note)
            )
            await uow.audit.add(
                AuditEntry(
                    actor_id=office_user,
                    at=now,
                    action=AUDIT_ACCEPT_CAMPAIGN,
                    target="campaign",
                    details={"acceptance": record.id, "exceptions": excepted},
                )
            )
            await uow.commit()
        return record

    # -- what the office and the liaison see ------------------------------------------------

    async def status(self, office_user: int) -> ReviewStatus:
        """Per unit in plan order: inspected?, findings, acceptance; and the campaign's."""
        async with self.uow() as uow:
            roles = await self._roles(uow, office_user)
            roles.require_office()
            sub = campaign_by_id(self.plan.sub_campaigns, roles.office_scope)
            if sub is None:
                return await self.read_status(uow)
            return await self.read_status(uow, [u for u in self._unit_ids() if u in sub.unit_ids])

    async def read_status(self, uow: UnitOfWork, unit_ids: Sequence[str] | None = None) -> ReviewStatus:
        """The same, inside the caller's unit of work; ``unit_ids``: only those (a sub-campaign's
        office), the campaign's blockers still counted over them."""
        wanted = list(unit_ids) if unit_ids is not None else self._unit_ids()
        inspections = await uow.review.list_inspections()
        findings = await uow.review.list_findings()
        decided = latest_acceptance(await uow.review.list_unit_acceptances())
        campaign = await uow.review.latest_campaign_acceptance()
        units = [
            UnitReviewState(
                unit_id=u,
                inspections=sum(1 for i in inspections if u in i.unit_ids),
                findings=[f for f in findings if f.unit_id == u],
                acceptance=decided.get(u),
            )
            for u in wanted
        ]
        accepted = {s.unit_id: s.accepted for s in units}
        return ReviewStatus(units, campaign, campaign_blockers(wanted, accepted))

    async def own_unit(self, user_id: int) -> UnitReviewState:
        """The liaison's unit's findings and acceptance (its card)."""
        async with self.uow() as uow:
            unit_id = (await self._roles(uow, user_id)).require_liaison()
            inspections = await uow.review.list_inspections()
            decided = latest_acceptance(await uow.review.list_unit_acceptances(unit_id=unit_id))
            return UnitReviewState(
                unit_id=unit_id,
                inspections=sum(1 for i in inspections if unit_id in i.unit_ids),
                findings=await uow.review.list_findings(unit_id=unit_id),
                acceptance=decided.get(unit_id),
            )


async def _tell_findings(
    uow: UnitOfWork, inspection: ReviewInspection, unit_id: str, findings: list[ReviewFinding], now: datetime
) -> int:
    """The unit's liaisons: one notice per finding (its severity, its facts), or one saying the
    inspection found nothing. Returns the notices queued."""
    params: dict[str, JsonScalar | list[str]] = {
        "inspection_id": inspection.id or 0,
        "bodies": inspection.bodies,
        "date": inspection.inspected_on.isoformat(),
    }
    if not findings:
        return await tell_unit(
            uow,
            unit_id,
            "review.notify_inspected",
            now,
            params=params,
            dedup_key=f"review-inspection:{inspection.id}:{unit_id}",
        )
    told = 0
    for finding in findings:
        told += await tell_unit(
            uow,
            unit_id,
            "review.notify_finding",
            now,
            params={
                **params,
                "finding_id": finding.id or 0,
                "severity_key": f"review.severity_{finding.severity.value}",
                "facts": finding.facts,
            },
            dedup_key=f"review-finding:{finding.id}",
        )
    return told


def _required(text: str, name: str, limit: int) -> str:
    cleaned = clean_text(text, limit=limit)
    if not cleaned:
        raise ValidationFailed(field=name, reason="empty")
    return cleaned
