"""Good practices (推介典型) and long-term measures (长效机制), SPEC §5 and the plan's 保障措施
四 and 五 (core.measures).

Rules kept here, whatever the bot shows:
- Only the office records and shares a good practice; sharing goes to every active liaison (or
  one unit's) through the outbox, carrying the unit, the title and the office's text: never who
  recorded it, never a complainant (the cases it rests on are named by number only in the
  office's own listing, not in the shared notice).
- Only a liaison proposes a measure, for its own unit, and moves it; a measure of another
  unit is reported exactly like one that does not exist. Done needs evidence (a document or a
  photo), dropped a reason. The office sees every unit's measures and the overdue ones.
- Every action writes an audit entry; every status change a history row.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime

from core.audit import AuditEntry
from core.calendar import WorkingDays
from core.campaigns import campaign_by_id
from core.clock import Clock
from core.errors import NotFound, ValidationFailed
from core.measures import (
    FINAL,
    SHARED_TO_ALL,
    Evidence,
    GoodPractice,
    Measure,
    MeasureChange,
    MeasureStatus,
    check_move,
    effective_due,
    is_overdue,
    needs_evidence,
    needs_reason,
)
from core.notices import Button, JsonScalar, Notice
from core.plan import Plan
from core.ports import UnitOfWork, UnitOfWorkFactory
from core.roles import Roles, resolve_roles
from core.services.complaints import clean_text
from core.services.workflow import tell_unit
from core.states import CaseState

MAX_TITLE = 200
MAX_TEXT = 2000
MAX_REASON = 500
MAX_EVIDENCE = 10  # files on one measure: a typo guard, not a policy

AUDIT_PRACTICE = "practice.record"
AUDIT_PRACTICE_SHARE = "practice.share"
AUDIT_MEASURE_ADD = "measure.add"
AUDIT_MEASURE_MOVE = "measure.move"

# The liaison's buttons under a measure (bot/handlers/measures.py): callback data + measure id.
CALLBACK_MEASURE_PROGRESS = "ms:prog:"
CALLBACK_MEASURE_DONE = "ms:done:"
CALLBACK_MEASURE_DROP = "ms:drop:"
CALLBACK_MEASURE_FILES = "ms:files:"  # the evidence sent again (the office, or the unit's liaison)
# the office's button under a practice not shared yet
CALLBACK_PRACTICE_SHARE = "pr:share:"

OPEN_STATUSES = (MeasureStatus.PLANNED, MeasureStatus.IN_PROGRESS)


@dataclass(frozen=True, slots=True)
class Shared:
    practice: GoodPractice
    recipients: int


@dataclass(frozen=True, slots=True)
class MeasureListing:
    """What ``/measures`` shows: one unit's (``unit_id``) or every unit's (None), and which of
    them are overdue today."""

    unit_id: str | None
    measures: list[Measure]
    overdue_ids: frozenset[int] = field(default_factory=frozenset)
    today: date | None = None


@dataclass(slots=True)
class PracticeService:
    uow: UnitOfWorkFactory
    plan: Plan
    clock: Clock
    working_days: WorkingDays
    office_admin_ids: frozenset[int] = frozenset()

    def today(self) -> date:
        return self.clock.now().astimezone(self.clock.tz).date()

    async def _roles(self, uow: UnitOfWork, user_id: int) -> Roles:
        return await resolve_roles(uow, user_id, self.office_admin_ids)

    async def _office(self, uow: UnitOfWork, user_id: int) -> Roles:
        roles = await self._roles(uow, user_id)
        roles.require_office()
        return roles

    def _units_of(self, roles: Roles) -> frozenset[str] | None:
        """The units a sub-campaign's office deals with (None: the district's, all)."""
        sub = campaign_by_id(self.plan.sub_campaigns, roles.office_scope)
        return frozenset(sub.unit_ids) if sub is not None else None

    # -- good practices (推介典型) ---------------------------------------------------------

    async def record_practice(
        self,
        office_user: int,
        unit_id: str,
        title: str,
        description: str,
        *,
        case_numbers: Sequence[str] = (),
        report_ids: Sequence[int] = (),
    ) -> GoodPractice:
        """A unit's 特色做法 on the register, with the cases and reports it rests on (each must
        exist). Office only; audited."""
        title = _required(title, "title", MAX_TITLE)
        description = _required(description, "description", MAX_TEXT)
        self.plan.unit(unit_id)
        now = self.clock.now()
        async with self.uow() as uow:
            roles = await self._office(uow, office_user)
            units = self._units_of(roles)
            if units is not None and unit_id not in units:
                raise NotFound(kind="unit")
            numbers = list(dict.fromkeys(case_numbers))
            for number in numbers:
                found = await uow.cases.get_by_tracking_no(number)
                if found is None or found.state is CaseState.DRAFT:
                    raise NotFound(kind="case", tracking_no=number)
            reports = list(dict.fromkeys(report_ids))
            for report_id in reports:
                report = await uow.reports.get(report_id)
                if report is None or report.unit_id != unit_id:
                    raise NotFound(kind="report", report_id=report_id)
            practice = await uow.practices.add_practice(
                GoodPractice(
                    unit_id=unit_id,
                    title=title,
                    description=description,
                    recorded_at=now,
                    recorded_by=office_user,
                    case_numbers=numbers,
                    report_ids=reports,
                )
            )
            details: dict[str, object] = {"practice": practice.id, "cases": numbers, "reports": reports}
            await uow.audit.add(AuditEntry(office_user, now, AUDIT_PRACTICE, unit_id, details))
            await uow.commit()
        return practice

    async def practices(self, office_user: int, unit_id: str | None = None) -> list[GoodPractice]:
        async with self.uow() as uow:
            roles = await self._office(uow, office_user)
            found = await uow.practices.list_practices(unit_id=unit_id)
        units = self._units_of(roles)
        return [p for p in found if units is None or p.unit_id in units]

    async def share_practice(self, office_user: int, practice_id: int, unit_id: str | None = None) -> Shared:
        """Make the practice known to every active liaison (or one unit's). Once per target: a
        second press sends nothing again (the outbox's dedup keys), yet is audited."""
        if unit_id is not None:
            self.plan.unit(unit_id)
        now = self.clock.now()
        async with self.uow() as uow:
            roles = await self._office(uow, office_user)
            scope = self._units_of(roles)
            practice = await uow.practices.get_practice(practice_id)
            if practice is None or (scope is not None and practice.unit_id not in scope):
                raise NotFound(kind="practice")
            if unit_id is not None:
                targets = [unit_id]
            else:
                active = {li.unit_id for li in await uow.liaisons.list_active()}
                targets = sorted(u for u in active if scope is None or u in scope)
            params: dict[str, JsonScalar | list[str]] = {
                "practice_units": [practice.unit_id],
                "title": practice.title,
                "text": practice.description,
            }
            to = unit_id or SHARED_TO_ALL
            sent = 0
            for unit in targets:
                sent += await tell_unit(
                    uow,
                    unit,
                    "practices.shared_message",
                    now,
                    params=params,
                    dedup_key=f"practice-shared:{practice_id}:{to}:{unit}",
                )
            practice.shared_at, practice.shared_to = now, to
            await uow.practices.update_practice(practice)
            details: dict[str, object] = {"practice": practice_id, "to": to, "recipients": sent}
            await uow.audit.add(AuditEntry(office_user, now, AUDIT_PRACTICE_SHARE, practice.unit_id, details))
            await uow.commit()
        return Shared(practice, sent)

    # -- long-term measures (长效机制) -------------------------------------------------------

    async def add_measure(self, liaison_user: int, title: str, due: date, description: str = "") -> Measure:
        """A liaison proposes a measure of its own unit, due on ``due`` (today or later)."""
        title = _required(title, "title", MAX_TITLE)
        description = clean_text(description, limit=MAX_TEXT)
        if due < self.today():
            raise ValidationFailed(field="due", reason="past")
        now = self.clock.now()
        async with self.uow() as uow:
            unit_id = (await self._roles(uow, liaison_user)).require_liaison()
            measure = await uow.practices.add_measure(
                Measure(
                    unit_id=unit_id,
                    title=title,
                    due=due,
                    created_at=now,
                    created_by=liaison_user,
                    description=description,
                    updated_at=now,
                    history=[MeasureChange(MeasureStatus.PLANNED, now, liaison_user)],
                )
            )
            details: dict[str, object] = {"measure": measure.id, "due": due.isoformat()}
            await uow.audit.add(AuditEntry(liaison_user, now, AUDIT_MEASURE_ADD, unit_id, details))
            await uow.commit()
        return measure

    async def measures(self, viewer: int, unit_id: str | None = None) -> MeasureListing:
        """The office: every unit's measures (or ``unit_id``'s). A liaison: its own unit's
        (another unit's is reported as unknown)."""
        today = self.today()
        async with self.uow() as uow:
            roles = await self._roles(uow, viewer)
            if roles.office:
                scope = self._units_of(roles)
                if unit_id is not None and scope is not None and unit_id not in scope:
                    raise NotFound(kind="unit")
                found = await uow.practices.list_measures(unit_id=unit_id)
                found = [m for m in found if scope is None or m.unit_id in scope]
            else:
                own = roles.require_liaison()
                if unit_id is not None and unit_id != own:
                    raise NotFound(kind="unit")
                unit_id = own
                found = await uow.practices.list_measures(unit_id=own)
        late = frozenset(m.id for m in found if m.id is not None and is_overdue(m, today, self.working_days))
        return MeasureListing(unit_id, found, late, today)

    async def measure(self, viewer: int, measure_id: int) -> Measure:
        """One measure: its unit's liaison or the office."""
        async with self.uow() as uow:
            roles = await self._roles(uow, viewer)
            found = await uow.practices.get_measure(measure_id)
            scope = self._units_of(roles) if roles.office else None
            if roles.office and found is not None and (scope is None or found.unit_id in scope):
                return found
            if found is None or found.unit_id != roles.require_liaison():
                raise NotFound(kind="measure")  # another unit's (or another campaign's): unknown
        return found

    async def move_measure(
        self,
        liaison_user: int,
        measure_id: int,
        target: MeasureStatus,
        *,
        note: str = "",
        evidence: Sequence[Evidence] = (),
    ) -> Measure:
        """The unit's liaison moves its measure: in progress, done (with at least one file) or
        dropped (with a reason). Audited; the change is a history row."""
        note = clean_text(note, limit=MAX_REASON)
        if needs_reason(target) and not note:
            raise ValidationFailed(field="reason", reason="empty")
        if needs_evidence(target) and not evidence:
            raise ValidationFailed(field="evidence", reason="missing")
        now = self.clock.now()
        async with self.uow() as uow:
            unit_id = (await self._roles(uow, liaison_user)).require_liaison()
            measure = await uow.practices.get_measure(measure_id, for_update=True)
            if measure is None or measure.unit_id != unit_id:
                raise NotFound(kind="measure")  # another unit's: as if it did not exist
            check_move(measure.status, target)
            files = [*measure.evidence, *evidence][:MAX_EVIDENCE]
            change = MeasureChange(target, now, liaison_user, from_status=measure.status, note=note)
            moved = replace(measure, status=target, updated_at=now, evidence=files)
            moved.history = [*measure.history, change]
            await uow.practices.update_measure(moved, change)
            details: dict[str, object] = {
                "measure": measure_id,
                "from": measure.status.value,
                "to": target.value,
                "files": len(evidence),
            }
            await uow.audit.add(AuditEntry(liaison_user, now, AUDIT_MEASURE_MOVE, unit_id, details))
            await uow.commit()
        return moved


# -- reminders before a measure's due date (the periodic pass) --------------------------------


async def remind_measures(
    uow: UnitOfWork,
    wd: WorkingDays,
    reminder_days: Callable[[date], dict[date, int]],
    today: date,
    now: datetime,
    not_before: datetime | None,
    done: set[str],
) -> tuple[int, int]:
    """Remind each unit's liaisons of an open measure's due date on the days the rectification
    reminders use (``reminder_days``: n working days before, and on the day; a due date on a
    day off counts from the next working day). Dedup keys per measure, day and liaison, so a
    second pass queues nothing again. Returns (measures reminded, notices queued); ``done``
    gets the keys finished (the pass's memo). The caller commits."""
    reminded = queued_total = 0
    for measure in await uow.practices.list_measures(statuses=OPEN_STATUSES):
        assert measure.id is not None and measure.status not in FINAL
        due = effective_due(measure.due, wd)
        left = reminder_days(due).get(today)
        done_key = f"measure-due:{measure.id}:{today.isoformat()}"
        if left is None or done_key in done:
            continue
        queued = 0
        for liaison in await uow.liaisons.list_for_unit(measure.unit_id):
            notice = Notice(
                chat_id=liaison.user_id,
                user_id=liaison.user_id,
                text_key="practices.reminder_due_today" if left == 0 else "practices.reminder_due",
                params={
                    "measure_id": measure.id,
                    "title": measure.title,
                    "due_date": due.isoformat(),
                    "days_left": left,
                },
                buttons=((Button("practices.button_done", f"{CALLBACK_MEASURE_DONE}{measure.id}"),),),
                dedup_key=f"{done_key}:{liaison.user_id}",
                not_before=not_before,
            )
            queued += await uow.outbox.add(notice.to_outbox(now))
        reminded += queued > 0
        queued_total += queued
        done.add(done_key)
    return reminded, queued_total


def _required(text: str, name: str, limit: int) -> str:
    cleaned = clean_text(text, limit=limit)
    if not cleaned:
        raise ValidationFailed(field=name, reason="empty")
    return cleaned
