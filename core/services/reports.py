"""Unit reports (SPEC §5): the self-inspection report (自查自纠总结报告) and rectification
(整改): the office's recommendation (整改建议书), the unit's plan (整改方案) and report (整改情况),
the office's review (accept, or send back with a reason).

Rules kept here, whatever the bot shows:
- Only a liaison submits, and only for its own unit; only the office issues and reviews. A
  recommendation or report of another unit is reported exactly like one that does not exist,
  so forged ids learn nothing.
- Every submission is a new row: history is never overwritten. The latest one of a series
  (unit, kind, phase, recommendation) is the one that counts.
- A unit may correct a submission the office has not reviewed yet, until its due date; after
  a send-back it submits again (see ``resubmission_due``).
- Lateness is decided once, at submission, against the due date on the plan or in the
  recommendation. A due date on a day off moves to the next working day (the deadline cannot
  expire while the office is closed); ``UnitReport.due`` stores that effective date, so the
  scoreboard never has to redo the calendar arithmetic.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from core.attachments import Attachment, AttachmentKind
from core.audit import AuditEntry
from core.calendar import WorkingDays
from core.clock import Clock
from core.errors import ActionNotAllowed, InvalidTransition, NotFound, ValidationFailed
from core.notices import Button, JsonScalar, Notice
from core.outbox import OutboxMessage
from core.plan import Deliverable, DeliverableKind, Phase, Plan, Producer
from core.ports import UnitOfWork, UnitOfWorkFactory
from core.reports import (
    CALLBACK_OPEN_RECOMMENDATION,
    AccountabilityOutcome,
    AccountabilityRecord,
    Person,
    Recommendation,
    RecommendationStatus,
    ReportKind,
    ReportStatus,
    UnitReport,
)
from core.roles import Roles, resolve_roles
from core.services.complaints import clean_text
from core.services.workflow import tell_unit
from core.states import CaseState

# Limits told to the liaison up front. Texts are summaries (the formal report is the file) and
# must fit, together, in one Telegram message (4096 characters) for the office: three of them
# (reason, problems, measures) and the template.
MAX_REPORT_TEXT = 1000
MAX_PROBLEMS_TEXT = 2000  # a recommendation's problems
MAX_REVIEW_NOTE = 500
MAX_COUNT = 100_000  # subordinate units and posts: a typo guard, not a policy
# Telegram bots can download files of at most 20 MB, so a larger report could never be read.
MAX_REPORT_FILE_BYTES = 20 * 1024 * 1024
REPORT_FILE_TYPES = frozenset(
    {
        "application/pdf",
        "application/msword",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/ofd",  # 版式文档, the official format of Chinese government documents
        "application/vnd.ms-works",  # WPS Office documents are often sent as this
        "application/wps-office.doc",
        "application/wps-office.docx",
    }
)
# Clients guess MIME types unevenly (a .wps or .ofd often arrives as application/octet-stream),
# so the file name's extension is accepted as well.
REPORT_FILE_EXTENSIONS = (".pdf", ".doc", ".docx", ".wps", ".ofd")
# After a send-back the unit gets at least this many working days to submit again, even when the
# office reviewed after the original due date (a late review must not make the unit late).
RESUBMIT_WORKING_DAYS = 5

# Office review buttons: callback data + report id.
CALLBACK_ACCEPT = "rq:accept:"
CALLBACK_SEND_BACK = "rq:back:"
# Liaison button under a new recommendation: opens the /rectification dialog on it.
# Liaison button under the self-inspection task: opens the /selfcheck dialog.
CALLBACK_START_SELF_INSPECTION = "si:start"

# Audit actions (office actions only; submissions are their own history rows).
AUDIT_ISSUE = "rectification.issue"
AUDIT_ACCOUNTABILITY = "accountability.record"
AUDIT_ACCEPT = "report.accept"
AUDIT_SEND_BACK = "report.send_back"


# ---------------------------------------------------------------------------------------------
# Errors with their own texts


class ReportNotOpen(ActionNotAllowed):
    """Nothing may be submitted now: ``params["reason"]`` is ``accepted`` (the office accepted
    the latest version), ``past_due`` (the due date passed and a version is in), ``waiting``
    (the office has not reviewed the plan yet, so no report), ``closed`` (accepted
    recommendation) or ``wrong_step`` (a plan when a report is expected, or the reverse)."""

    key = "rectification.error_closed"


class AlreadyReviewed(InvalidTransition):
    """The report was reviewed already, or a newer version replaced it."""

    key = "rectification.error_reviewed"


# ---------------------------------------------------------------------------------------------
# Pure rules


@dataclass(frozen=True, slots=True)
class ReportFile:
    """The formal report as Telegram gave it (we keep file ids, never bytes)."""

    file_id: str
    file_unique_id: str
    mime: str | None = None
    size: int | None = None
    file_name: str | None = None


def check_report_file(file: ReportFile) -> None:
    """Raise ``ValidationFailed`` for a file that is not a PDF/Word/OFD document or too big."""
    if file.size is not None and file.size > MAX_REPORT_FILE_BYTES:
        raise ValidationFailed(field="report_file", reason="too_big", limit_mb=MAX_REPORT_FILE_BYTES >> 20)
    name = (file.file_name or "").lower()
    if file.mime not in REPORT_FILE_TYPES and not name.endswith(REPORT_FILE_EXTENSIONS):
        raise ValidationFailed(field="report_file", reason="type", mime=file.mime or "?")


def check_counts(inspected: int, total: int) -> None:
    """Subordinate units/posts inspected out of the total: 1 <= total, 0 <= inspected <= total."""
    if not 1 <= total <= MAX_COUNT:
        raise ValidationFailed(field="total", reason="range", max=MAX_COUNT)
    if inspected < 0:
        raise ValidationFailed(field="inspected", reason="negative")
    if inspected > total:
        raise ValidationFailed(field="inspected", reason="above_total", total=total)


def below_target(inspected: int, total: int, target: float | None) -> bool:
    """True when coverage falls short of the plan's target (then the unit must say why).
    Compared as integers, so 100% of 3 is not missed by a rounding error."""
    if target is None:
        return False
    return inspected * 1_000_000 < round(target * 1_000_000) * total


def effective_due(due: date, wd: WorkingDays) -> date:
    """The due date, moved to the next working day when it falls on a day off."""
    return due if wd.is_workday(due) else wd.next_workday(due)


def resubmission_due(due: date, sent_back_on: date, wd: WorkingDays) -> date:
    """Due date of a version answering a send-back: the original one, or
    ``RESUBMIT_WORKING_DAYS`` working days after the send-back, whichever is later."""
    return max(due, wd.add_working_days(sent_back_on, RESUBMIT_WORKING_DAYS))


def self_inspection_target(plan: Plan) -> tuple[Phase, Deliverable]:
    """The phase and deliverable of the self-inspection report: the phase with a coverage
    target (自查面) whose units hand in a report by a fixed date. Found from the plan's data, so
    a district that names its phases differently needs no code change."""
    for phase in plan.phases:
        if phase.coverage_target is None:
            continue
        for deliverable in phase.deliverables:
            if (
                deliverable.by is Producer.UNITS
                and deliverable.kind is DeliverableKind.REPORT
                and deliverable.due is not None
            ):
                return phase, deliverable
    raise NotFound("the plan has no self-inspection report", kind="phase")


def rectification_phase(plan: Plan) -> Phase:
    """The phase in which the office issues recommendations (整改建议书)."""
    for phase in plan.phases:
        if any(d.kind is DeliverableKind.RECOMMENDATION for d in phase.deliverables):
            return phase
    raise NotFound("the plan has no rectification phase", kind="phase")


def latest(reports: Sequence[UnitReport]) -> UnitReport | None:
    """The version that counts: the newest (lists come oldest first)."""
    return reports[-1] if reports else None


class Step(StrEnum):
    """What a recommendation waits for."""

    PLAN = "plan"  # the unit's rectification plan (first, or again after a send-back)
    PLAN_REVIEW = "plan_review"  # the office's review of the plan
    REPORT = "report"  # the unit's rectification report
    REPORT_REVIEW = "report_review"  # the office's review of the report
    DONE = "done"  # accepted (复核验收)


def rectification_step(plans: Sequence[UnitReport], reports: Sequence[UnitReport]) -> Step:
    """Where a recommendation stands, from its plans and reports (oldest first)."""
    plan, report = latest(plans), latest(reports)
    if plan is None or plan.status is ReportStatus.RETURNED:
        return Step.PLAN
    if plan.status is ReportStatus.SUBMITTED:
        return Step.PLAN_REVIEW
    if report is None or report.status is ReportStatus.RETURNED:
        return Step.REPORT
    if report.status is ReportStatus.SUBMITTED:
        return Step.REPORT_REVIEW
    return Step.DONE


# ---------------------------------------------------------------------------------------------
# What the services take and return


@dataclass(frozen=True, slots=True)
class SelfInspectionDraft:
    total: int
    inspected: int
    problems: str
    measures: str
    file: ReportFile
    reason_below_target: str = ""


@dataclass(frozen=True, slots=True)
class SelfInspectionTask:
    """What a liaison sees before starting the dialog. ``current``: the version that counts,
    if any; ``may_submit`` False with ``refusal`` saying why; ``late_now``: a submission now
    would be flagged late."""

    unit_id: str
    phase: Phase
    deliverable: Deliverable
    due: date
    coverage_target: float | None
    current: UnitReport | None
    may_submit: bool
    refusal: str | None
    late_now: bool

    @property
    def correcting(self) -> bool:
        return self.current is not None and self.current.status is ReportStatus.SUBMITTED


@dataclass(frozen=True, slots=True)
class RecommendationView:
    recommendation: Recommendation
    plans: tuple[UnitReport, ...]
    reports: tuple[UnitReport, ...]
    step: Step
    # a plan/report the unit may hand in now (PLAN, REPORT, or a correction before review)
    may_submit: ReportKind | None
    due: date | None  # effective due date of what may be submitted


class HistoryKind(StrEnum):
    ISSUED = "issued"
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    SENT_BACK = "sent_back"


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One step in a unit's report history (the rows themselves are the record)."""

    at: datetime
    kind: HistoryKind
    report_kind: ReportKind | None = None  # None for an issued recommendation
    recommendation_id: int | None = None
    report_id: int | None = None
    due: date | None = None
    late: bool = False
    note: str = ""  # the send-back reason, or the recommendation's problems


@dataclass(frozen=True, slots=True)
class Reviewed:
    report: UnitReport
    recommendation: Recommendation | None
    notified: int  # liaisons told


# ---------------------------------------------------------------------------------------------
# The service


@dataclass(slots=True)
class ReportService:
    uow: UnitOfWorkFactory
    plan: Plan
    clock: Clock
    working_days: WorkingDays
    office_chat_id: int | None = None
    office_admin_ids: frozenset[int] = frozenset()

    # -- helpers --------------------------------------------------------------------------

    def today(self, now: datetime | None = None) -> date:
        return (now or self.clock.now()).astimezone(self.clock.tz).date()

    async def _roles(self, uow: UnitOfWork, user_id: int) -> Roles:
        return await resolve_roles(uow, user_id, self.office_admin_ids)

    async def _liaison_unit(self, uow: UnitOfWork, user_id: int) -> str:
        return (await self._roles(uow, user_id)).require_liaison()

    async def _require_office(self, uow: UnitOfWork, user_id: int) -> None:
        (await self._roles(uow, user_id)).require_office()

    def _due_for(self, due: date, previous: UnitReport | None) -> date:
        """The effective due date of a new version following ``previous``."""
        effective = effective_due(due, self.working_days)
        if previous is not None and previous.status is ReportStatus.RETURNED and previous.reviewed_at:
            return resubmission_due(effective, self.today(previous.reviewed_at), self.working_days)
        return effective

    def _may_follow(self, previous: UnitReport | None, due: date, today: date) -> str | None:
        """Why a new version may not follow ``previous`` now (None: it may)."""
        if previous is None or previous.status is ReportStatus.RETURNED:
            return None
        if previous.status is ReportStatus.ACCEPTED:
            return "accepted"
        return None if today <= due else "past_due"

    async def _add_file(self, uow: UnitOfWork, report: UnitReport, file: ReportFile, user_id: int) -> None:
        assert report.id is not None
        await uow.attachments.add(
            Attachment(
                file_id=file.file_id,
                file_unique_id=file.file_unique_id,
                kind=AttachmentKind.DOCUMENT,
                at=report.submitted_at,
                report_id=report.id,
                mime=file.mime,
                size=file.size,
                file_name=file.file_name,
                added_by=user_id,
            )
        )

    async def _tell_office_submitted(
        self,
        uow: UnitOfWork,
        report: UnitReport,
        file: ReportFile,
        key: str,
        params: dict[str, JsonScalar | list[str]],
    ) -> None:
        """The office chat gets the summary with accept/send-back buttons, then the file."""
        if self.office_chat_id is None:
            return
        assert report.id is not None
        buttons = (
            (
                Button(f"{_section(report.kind)}.button_accept", f"{CALLBACK_ACCEPT}{report.id}"),
                Button(f"{_section(report.kind)}.button_send_back", f"{CALLBACK_SEND_BACK}{report.id}"),
            ),
        )
        notice = Notice(
            chat_id=self.office_chat_id,
            text_key=key,
            params={"report_id": report.id, "report_units": [report.unit_id], **params},
            buttons=buttons,
            dedup_key=f"report-submitted:{report.id}",
        )
        await uow.outbox.add(notice.to_outbox(report.submitted_at))
        await uow.outbox.add(
            OutboxMessage(
                chat_id=self.office_chat_id,
                method="sendDocument",
                payload={
                    "document": file.file_id,
                    "caption_key": f"{_section(report.kind)}.office_file_caption",
                    "caption_params": {"report_id": report.id, "report_units": [report.unit_id]},
                },
                created_at=report.submitted_at,
                dedup_key=f"report-file:{report.id}",
            )
        )

    # -- self-inspection ------------------------------------------------------------------

    async def self_inspection_task(self, user_id: int) -> SelfInspectionTask:
        """The liaison's unit's self-inspection task: due date, the version in, what is allowed."""
        phase, deliverable = self_inspection_target(self.plan)
        async with self.uow() as uow:
            unit_id = await self._liaison_unit(uow, user_id)
            return await self._task(uow, unit_id, phase, deliverable)

    async def _task(
        self, uow: UnitOfWork, unit_id: str, phase: Phase, deliverable: Deliverable
    ) -> SelfInspectionTask:
        assert deliverable.due is not None
        filed = await uow.reports.list(unit_id=unit_id, kind=ReportKind.SELF_INSPECTION, phase_id=phase.id)
        current = latest(filed)
        today = self.today()
        due = self._due_for(deliverable.due, current)
        refusal = self._may_follow(current, due, today)
        return SelfInspectionTask(
            unit_id=unit_id,
            phase=phase,
            deliverable=deliverable,
            due=due,
            coverage_target=phase.coverage_target,
            current=current,
            may_submit=refusal is None,
            refusal=refusal,
            late_now=today > due,
        )

    def check_self_inspection(self, draft: SelfInspectionDraft) -> SelfInspectionDraft:
        """Validate and clean a draft (the dialog checks each step; this checks them all)."""
        phase, _ = self_inspection_target(self.plan)
        check_counts(draft.inspected, draft.total)
        problems = _required_text(draft.problems, "problems", MAX_REPORT_TEXT)
        measures = _required_text(draft.measures, "measures", MAX_REPORT_TEXT)
        reason = ""
        if below_target(draft.inspected, draft.total, phase.coverage_target):
            reason = _required_text(draft.reason_below_target, "reason_below_target", MAX_REPORT_TEXT)
        check_report_file(draft.file)
        return SelfInspectionDraft(
            total=draft.total,
            inspected=draft.inspected,
            problems=problems,
            measures=measures,
            file=draft.file,
            reason_below_target=reason,
        )

    async def submit_self_inspection(self, user_id: int, draft: SelfInspectionDraft) -> UnitReport:
        """Store the unit's self-inspection report (a new version: history is kept), its file,
        and tell the office. Late versions are flagged; corrections only before the due date."""
        draft = self.check_self_inspection(draft)
        phase, deliverable = self_inspection_target(self.plan)
        now = self.clock.now()
        async with self.uow() as uow:
            unit_id = await self._liaison_unit(uow, user_id)
            task = await self._task(uow, unit_id, phase, deliverable)
            if not task.may_submit:
                raise ReportNotOpen(reason=task.refusal, due_date=task.due.isoformat())
            report = await uow.reports.add(
                UnitReport(
                    unit_id=unit_id,
                    kind=ReportKind.SELF_INSPECTION,
                    phase_id=phase.id,
                    submitted_at=now,
                    submitted_by=user_id,
                    due=task.due,
                    late=task.late_now,
                    inspected=draft.inspected,
                    total=draft.total,
                    problems=draft.problems,
                    measures=draft.measures,
                    reason_below_target=draft.reason_below_target,
                )
            )
            await self._add_file(uow, report, draft.file, user_id)
            await self._tell_office_submitted(
                uow,
                report,
                draft.file,
                # below the coverage target the office sees the unit's reason too
                f"self_inspection.notify_office{'_below' if draft.reason_below_target else ''}",
                {
                    "inspected": draft.inspected,
                    "total": draft.total,
                    "coverage": _percent(draft.inspected, draft.total),
                    "reason": draft.reason_below_target,
                    "problems": draft.problems,
                    "measures": draft.measures,
                    "due_date": task.due.isoformat(),
                    "status_key": _timeliness_key(report.late, task.current),
                },
            )
            await uow.commit()
        return report

    # -- rectification: the office issues ------------------------------------------------

    async def issue_recommendation(
        self, office_user_id: int, unit_id: str, problems: str, plan_due: date, report_due: date
    ) -> tuple[Recommendation, int]:
        """整改建议书 to one unit; its liaisons are told. Returns the recommendation and how many
        liaisons were told (0: the unit has no liaison yet, the office should invite one)."""
        [(rec, told)] = await self.issue_recommendations(
            office_user_id, [unit_id], problems, plan_due, report_due
        )
        return rec, told

    async def issue_recommendations(
        self, office_user_id: int, unit_ids: Sequence[str], problems: str, plan_due: date, report_due: date
    ) -> list[tuple[Recommendation, int]]:
        """The same 整改建议书 (the findings of a check, its deadlines) to several units at once
        (stage 3: 对所有单位下发书面整改建议书), in one transaction: each unit gets its own
        recommendation, with its own history, reminders and report-back. Returns, per unit in
        the order given (duplicates dropped), the recommendation and how many liaisons were
        told."""
        problems = _required_text(problems, "problems", MAX_PROBLEMS_TEXT)
        wanted = list(dict.fromkeys(unit_ids))
        if not wanted:
            raise ValidationFailed(field="units", reason="empty")
        for unit_id in wanted:
            self.plan.unit(unit_id)  # an id the plan does not know is NotFound
        check_rectification_dates(plan_due, report_due, self.today())
        now = self.clock.now()
        issued: list[tuple[Recommendation, int]] = []
        async with self.uow() as uow:
            await self._require_office(uow, office_user_id)
            for unit_id in wanted:
                if await uow.units.get(unit_id) is None:
                    raise NotFound(kind="unit", id=unit_id)
                issued.append(
                    await self._issue_one(uow, office_user_id, unit_id, problems, plan_due, report_due, now)
                )
            await uow.commit()
        return issued

    async def issue_recommendation_in(
        self,
        uow: UnitOfWork,
        office_user_id: int,
        unit_id: str,
        problems: str,
        plan_due: date,
        report_due: date,
    ) -> tuple[Recommendation, int]:
        """``issue_recommendation`` inside the caller's transaction (a review finding becomes a
        recommendation and is linked to it in one commit); the caller checked the office role."""
        problems = _required_text(problems, "problems", MAX_PROBLEMS_TEXT)
        self.plan.unit(unit_id)
        check_rectification_dates(plan_due, report_due, self.today())
        now = self.clock.now()
        return await self._issue_one(uow, office_user_id, unit_id, problems, plan_due, report_due, now)

    async def _issue_one(
        self,
        uow: UnitOfWork,
        office_user_id: int,
        unit_id: str,
        problems: str,
        plan_due: date,
        report_due: date,
        now: datetime,
    ) -> tuple[Recommendation, int]:
        rec = await uow.reports.add_recommendation(
            Recommendation(
                unit_id=unit_id,
                problems=problems,
                issued_at=now,
                plan_due=plan_due,
                report_due=report_due,
                issued_by=office_user_id,
            )
        )
        assert rec.id is not None
        await uow.audit.add(
            AuditEntry(
                actor_id=office_user_id,
                at=now,
                action=AUDIT_ISSUE,
                target=unit_id,
                details={
                    "recommendation": rec.id,
                    "plan_due": plan_due.isoformat(),
                    "report_due": report_due.isoformat(),
                },
            )
        )
        told = await tell_unit(
            uow,
            unit_id,
            "rectification.notify_issued",
            now,
            params={
                "recommendation_id": rec.id,
                "problems": problems,
                "plan_due_date": plan_due.isoformat(),
                "report_due_date": report_due.isoformat(),
            },
            buttons=((Button("rectification.button_open", f"{CALLBACK_OPEN_RECOMMENDATION}{rec.id}"),),),
            dedup_key=f"rec-issued:{rec.id}",
        )
        return rec, told

    # -- rectification: the unit answers --------------------------------------------------

    async def open_recommendations(self, user_id: int) -> list[RecommendationView]:
        """The liaison's unit's recommendations not yet accepted, oldest first."""
        async with self.uow() as uow:
            unit_id = await self._liaison_unit(uow, user_id)
            recs = await uow.reports.list_recommendations(
                unit_id=unit_id,
                statuses=[s for s in RecommendationStatus if s is not RecommendationStatus.ACCEPTED],
            )
            return [await self._view(uow, rec) for rec in recs]

    async def recommendation(self, user_id: int, rec_id: int) -> RecommendationView:
        """One recommendation of the liaison's unit (another unit's is NotFound)."""
        async with self.uow() as uow:
            unit_id = await self._liaison_unit(uow, user_id)
            rec = await self._own_recommendation(uow, unit_id, rec_id)
            return await self._view(uow, rec)

    async def _own_recommendation(self, uow: UnitOfWork, unit_id: str, rec_id: int) -> Recommendation:
        rec = await uow.reports.get_recommendation(rec_id)
        if rec is None or rec.unit_id != unit_id:
            raise NotFound(kind="recommendation")
        return rec

    async def _view(self, uow: UnitOfWork, rec: Recommendation) -> RecommendationView:
        assert rec.id is not None
        filed = await uow.reports.list(unit_id=rec.unit_id, recommendation_id=rec.id)
        plans = tuple(r for r in filed if r.kind is ReportKind.RECTIFICATION_PLAN)
        reports = tuple(r for r in filed if r.kind is ReportKind.RECTIFICATION_REPORT)
        step = rectification_step(plans, reports)
        today = self.today()
        may: ReportKind | None = None
        due: date | None = None
        if step in (Step.PLAN, Step.PLAN_REVIEW):
            due = self._due_for(rec.plan_due, latest(plans))
            if step is Step.PLAN or today <= due:  # a correction only before the due date
                may = ReportKind.RECTIFICATION_PLAN
        elif step in (Step.REPORT, Step.REPORT_REVIEW):
            due = self._due_for(rec.report_due, latest(reports))
            if step is Step.REPORT or today <= due:
                may = ReportKind.RECTIFICATION_REPORT
        return RecommendationView(rec, plans, reports, step, may, due)

    async def submit_rectification(
        self, user_id: int, rec_id: int, kind: ReportKind, text: str, file: ReportFile
    ) -> UnitReport:
        """The unit's rectification plan or report for one of its recommendations."""
        if kind is ReportKind.SELF_INSPECTION:
            raise ValidationFailed(field="kind", reason="unknown")
        text = _required_text(text, "text", MAX_REPORT_TEXT)
        check_report_file(file)
        phase = rectification_phase(self.plan)
        now = self.clock.now()
        async with self.uow() as uow:
            unit_id = await self._liaison_unit(uow, user_id)
            rec = await self._own_recommendation(uow, unit_id, rec_id)
            view = await self._view(uow, rec)
            if view.may_submit is not kind:
                raise ReportNotOpen(reason=_refusal(view, kind))
            assert view.due is not None and rec.id is not None
            previous = latest(view.plans if kind is ReportKind.RECTIFICATION_PLAN else view.reports)
            report = await uow.reports.add(
                UnitReport(
                    unit_id=unit_id,
                    kind=kind,
                    phase_id=phase.id,
                    submitted_at=now,
                    submitted_by=user_id,
                    recommendation_id=rec.id,
                    due=view.due,
                    late=self.today(now) > view.due,
                    measures=text,
                )
            )
            await self._add_file(uow, report, file, user_id)
            rec.status = (
                RecommendationStatus.PLAN_SUBMITTED
                if kind is ReportKind.RECTIFICATION_PLAN
                else RecommendationStatus.REPORT_SUBMITTED
            )
            await uow.reports.update_recommendation(rec)
            await self._tell_office_submitted(
                uow,
                report,
                file,
                "rectification.notify_office",
                {
                    "recommendation_id": rec.id,
                    "kind_key": f"rectification.kind_{kind.value}",
                    "text": text,
                    "due_date": view.due.isoformat(),
                    "status_key": _timeliness_key(report.late, previous),
                },
            )
            await uow.commit()
        return report

    # -- the office reviews ---------------------------------------------------------------

    async def report_for_review(self, office_user_id: int, report_id: int) -> UnitReport:
        """A report the office is about to review (checks role and that it is reviewable)."""
        async with self.uow() as uow:
            await self._require_office(uow, office_user_id)
            report = await uow.reports.get(report_id)
            if report is None:
                raise NotFound(kind="report")
            await self._check_reviewable(uow, report)
            return report

    async def _check_reviewable(self, uow: UnitOfWork, report: UnitReport) -> None:
        if report.status is not ReportStatus.SUBMITTED:
            raise AlreadyReviewed(status=report.status.value)
        series = await uow.reports.list(
            unit_id=report.unit_id,
            kind=report.kind,
            phase_id=report.phase_id,
            recommendation_id=report.recommendation_id,
        )
        # a self-inspection report has no recommendation: the filter above then matches every
        # recommendation's rows too, so narrow it here
        series = [r for r in series if r.recommendation_id == report.recommendation_id]
        newest = latest(series)
        if newest is None or newest.id != report.id:
            raise AlreadyReviewed(status="superseded")

    async def review(
        self, office_user_id: int, report_id: int, *, accept: bool, reason: str = ""
    ) -> Reviewed:
        """Accept a submitted report, or send it back with a reason; the unit is told."""
        if not accept:
            reason = _required_text(reason, "reason", MAX_REVIEW_NOTE)
        now = self.clock.now()
        async with self.uow() as uow:
            await self._require_office(uow, office_user_id)
            report = await uow.reports.get(report_id)
            if report is None:
                raise NotFound(kind="report")
            await self._check_reviewable(uow, report)
            assert report.id is not None
            report.status = ReportStatus.ACCEPTED if accept else ReportStatus.RETURNED
            report.review_note = "" if accept else reason
            report.reviewed_at, report.reviewed_by = now, office_user_id
            await uow.reports.update(report)
            rec = await self._after_review(uow, report, accept)
            await uow.audit.add(
                AuditEntry(
                    actor_id=office_user_id,
                    at=now,
                    action=AUDIT_ACCEPT if accept else AUDIT_SEND_BACK,
                    target=report.unit_id,
                    details={
                        "report": report.id,
                        "kind": report.kind.value,
                        "recommendation": report.recommendation_id,
                        "reason": report.review_note,
                    },
                )
            )
            section = _section(report.kind)
            params: dict[str, JsonScalar | list[str]] = {
                "report_id": report.id,
                "kind_key": f"rectification.kind_{report.kind.value}",
                "reason": report.review_note,
                "submitted_date": self.today(report.submitted_at).isoformat(),
            }
            if report.recommendation_id is not None:
                params["recommendation_id"] = report.recommendation_id
            buttons: tuple[tuple[Button, ...], ...] = ()
            if not accept:
                again = (
                    f"{CALLBACK_OPEN_RECOMMENDATION}{report.recommendation_id}"
                    if report.recommendation_id is not None
                    else CALLBACK_START_SELF_INSPECTION
                )
                buttons = ((Button(f"{section}.button_resubmit", again),),)
                params["due_date"] = self._due_for(self._original_due(report, rec), report).isoformat()
            told = await tell_unit(
                uow,
                report.unit_id,
                f"{section}.notify_{'accepted' if accept else 'sent_back'}",
                now,
                params=params,
                buttons=buttons,
                dedup_key=f"report-reviewed:{report.id}",
            )
            await uow.commit()
        return Reviewed(report, rec, told)

    def _original_due(self, report: UnitReport, rec: Recommendation | None) -> date:
        """The due date the plan or the recommendation set for this kind of report."""
        if report.kind is ReportKind.SELF_INSPECTION:
            _, deliverable = self_inspection_target(self.plan)
            assert deliverable.due is not None
            return deliverable.due
        assert rec is not None
        return rec.plan_due if report.kind is ReportKind.RECTIFICATION_PLAN else rec.report_due

    async def _after_review(self, uow: UnitOfWork, report: UnitReport, accept: bool) -> Recommendation | None:
        """A recommendation follows its plan and report: a sent-back plan is expected again, an
        accepted report closes it (复核验收)."""
        if report.recommendation_id is None:
            return None
        rec = await uow.reports.get_recommendation(report.recommendation_id)
        if rec is None:
            return None
        if report.kind is ReportKind.RECTIFICATION_PLAN and not accept:
            rec.status = RecommendationStatus.ISSUED
        elif report.kind is ReportKind.RECTIFICATION_REPORT:
            rec.status = RecommendationStatus.ACCEPTED if accept else RecommendationStatus.PLAN_SUBMITTED
        await uow.reports.update_recommendation(rec)
        return rec

    # -- history ----------------------------------------------------------------------------

    # -- accountability (案件查办) -----------------------------------------------------------

    async def record_accountability(
        self,
        office_user_id: int,
        unit_id: str,
        outcome: AccountabilityOutcome,
        facts: str,
        *,
        people: Sequence[Person] = (),
        case_numbers: Sequence[str] = (),
    ) -> AccountabilityRecord:
        """An accountability record against a unit: the facts, the people by role, the cases it
        rests on (each must exist), the outcome. Office only; audited."""
        facts = _required_text(facts, "facts", MAX_PROBLEMS_TEXT)
        self.plan.unit(unit_id)
        cleaned = [Person(clean_text(p.role, limit=40), clean_text(p.name, limit=40)) for p in people]
        now = self.clock.now()
        async with self.uow() as uow:
            await self._require_office(uow, office_user_id)
            numbers = list(dict.fromkeys(case_numbers))
            for number in numbers:
                found = await uow.cases.get_by_tracking_no(number)
                if found is None or found.state is CaseState.DRAFT:
                    raise NotFound(kind="case", tracking_no=number)
            record = await uow.reports.add_accountability(
                AccountabilityRecord(
                    unit_id=unit_id,
                    facts=facts,
                    outcome=outcome,
                    recorded_at=now,
                    people=[p for p in cleaned if p.role],
                    case_numbers=numbers,
                    recorded_by=office_user_id,
                )
            )
            details: dict[str, object] = {"record": record.id, "outcome": outcome.value, "cases": numbers}
            await uow.audit.add(AuditEntry(office_user_id, now, AUDIT_ACCOUNTABILITY, unit_id, details))
            await uow.commit()
        return record

    async def accountability(
        self, office_user_id: int, unit_id: str | None = None
    ) -> list[AccountabilityRecord]:
        async with self.uow() as uow:
            await self._require_office(uow, office_user_id)
            return await uow.reports.list_accountability(unit_id=unit_id)

    async def history(self, viewer_id: int, unit_id: str | None = None) -> tuple[str, list[HistoryEntry]]:
        """A unit's report history, oldest first: the office may ask for any unit, a liaison
        for its own (``unit_id`` None: the liaison's unit). Returns (unit id, entries)."""
        async with self.uow() as uow:
            roles = await self._roles(uow, viewer_id)
            if roles.office:
                unit_id = unit_id or roles.unit_id
                if unit_id is None:
                    raise ValidationFailed(field="unit", reason="missing")
            else:
                own = roles.require_liaison()
                if unit_id is not None and unit_id != own:
                    raise NotFound(kind="unit")  # as if it did not exist: ids learn nothing
                unit_id = own
            self.plan.unit(unit_id)
            reports = await uow.reports.list(unit_id=unit_id)
            recs = await uow.reports.list_recommendations(unit_id=unit_id)
        return unit_id, build_history(reports, recs)


def build_history(reports: Collection[UnitReport], recs: Collection[Recommendation]) -> list[HistoryEntry]:
    """Every step, from the rows: issued, submitted (late or not), accepted, sent back."""
    entries: list[HistoryEntry] = []
    for rec in recs:
        entries.append(
            HistoryEntry(
                at=rec.issued_at,
                kind=HistoryKind.ISSUED,
                recommendation_id=rec.id,
                due=rec.report_due,
                note=rec.problems,
            )
        )
    for r in reports:
        entries.append(
            HistoryEntry(
                at=r.submitted_at,
                kind=HistoryKind.SUBMITTED,
                report_kind=r.kind,
                recommendation_id=r.recommendation_id,
                report_id=r.id,
                due=r.due,
                late=r.late,
            )
        )
        if r.reviewed_at is not None and r.status is not ReportStatus.SUBMITTED:
            entries.append(
                HistoryEntry(
                    at=r.reviewed_at,
                    kind=HistoryKind.ACCEPTED if r.status is ReportStatus.ACCEPTED else HistoryKind.SENT_BACK,
                    report_kind=r.kind,
                    recommendation_id=r.recommendation_id,
                    report_id=r.id,
                    note=r.review_note,
                )
            )
    # stable: entries of the same instant keep the order they were written in (recommendations,
    # then each report's submission before its review), which is the order they happened in
    entries.sort(key=lambda e: e.at)
    return entries


def check_rectification_dates(plan_due: date, report_due: date, today: date) -> None:
    if plan_due < today:
        raise ValidationFailed(field="plan_due", reason="past")
    if report_due < plan_due:
        raise ValidationFailed(field="report_due", reason="before_plan")


# ---------------------------------------------------------------------------------------------
# Small helpers


def _required_text(text: str, field: str, limit: int) -> str:
    cleaned = clean_text(text, limit=limit)
    if not cleaned:
        raise ValidationFailed(field=field, reason="empty")
    return cleaned


def _refusal(view: RecommendationView, kind: ReportKind) -> str:
    if view.step is Step.DONE:
        return "closed"
    if view.may_submit is None:
        return "past_due"  # a version awaits review and its due date has passed
    if view.step is Step.PLAN_REVIEW and kind is ReportKind.RECTIFICATION_REPORT:
        return "waiting"
    return "wrong_step"


def _percent(inspected: int, total: int) -> int:
    """Coverage in whole percent, rounded down (99.6% is not 100%)."""
    return inspected * 100 // total if total else 0


def _section(kind: ReportKind) -> str:
    """The catalogue section of a report kind's texts."""
    return "self_inspection" if kind is ReportKind.SELF_INSPECTION else "rectification"


def _timeliness_key(late: bool, previous: UnitReport | None) -> str:
    """How the office sees a submission: on time or late, first version or a new one."""
    again = previous is not None
    if late:
        return "rectification.status_late_again" if again else "rectification.status_late"
    return "rectification.status_on_time_again" if again else "rectification.status_on_time"
