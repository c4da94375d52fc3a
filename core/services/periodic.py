"""The periodic pass (SPEC §3, §7): everything time-driven, computed from the database.

The running bot calls ``PeriodicPass.run`` every minute (``bot.tick``); ``python -m bot tick``
calls it once. Nothing is scheduled in memory per case: each pass asks the database which
deadlines are near or missed (``cases.list_due``, ``cases.list_awaiting_follow_up``: indexed
SQL filters, never every case) and works out from the dates alone what is owed today.

Exactly once, whatever runs it:
- A lease (``leases.try_acquire("periodic", ...)``) keeps two instances from running a pass at
  the same time.
- Every notice has a dedup key derived from ``Reminder.key`` (case, deadline, kind, due date),
  and the outbox refuses a key it has seen, so a second pass (after a crash, on another
  instance, or a minute later) queues nothing twice. An extension moves the due date, and so
  earns fresh reminders.
- The supervision (督办) and escalation (通报) facts are internal case events, recorded in the
  same transaction as their notices, and looked for before being recorded again.

Quiet hours: a notice created at night is held back (``not_before``) until they end. A blue or
yellow warning that could only arrive on a later day is stale and is not queued.

Due cases are handled in batches, one unit of work each (cases locked and read in one query,
their supervision facts in another, each unit's liaisons once); a batch that fails is done
again case by case, so one bad case is logged and skipped rather than stopping the pass for
everyone else.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta
from enum import StrEnum

from core.cases import Case, CaseEvent, Satisfaction, Visibility
from core.clock import Clock
from core.deadlines import CaseDeadlines, Deadline, DeadlineRules, QuietHours, Reminder, ReminderKind
from core.directory import Liaison, UnitLeader
from core.notices import Button, JsonScalar, Notice
from core.outbox import OutboxMessage
from core.plan import Deliverable, Phase, Plan, Producer
from core.ports import UnitOfWork, UnitOfWorkFactory
from core.reports import CALLBACK_OPEN_RECOMMENDATION, RecommendationStatus, ReportStatus
from core.services.practices import remind_measures  # issue 14
from core.services.workflow import Who, apply_action, roster_for, tell_citizen, tell_office, tell_unit
from core.states import Action, Actor, CaseState

log = logging.getLogger("core.periodic")

LEASE_NAME = "periodic"
# Long enough for a slow pass; short enough that a crashed instance's lease runs out soon and
# another instance takes over. The pass renews it between its steps.
DEFAULT_LEASE_TTL = timedelta(minutes=5)

# Case event kinds written by the pass. "escalated" is what the weekly digest's notice list
# (通报) queries; "supervision" records that the 督办通知 went out.
SUPERVISION_EVENT = "supervision"
ESCALATED_EVENT = "escalated"
# the last rung: the lead units' 一把手 and 分管领导 told; data["reached"] says how many of them
# (0: none bound yet — the fact stands, and the office sees it in the case's history)
LEADER_EVENT = "leader_escalated"

# Phase reminders for unit deliverables: n working days before the due date (0: the due day).
DEFAULT_PHASE_REMINDER_DAYS = (3, 1, 0)

_WARNINGS = frozenset({ReminderKind.BLUE, ReminderKind.YELLOW})
# Due cases handled in one transaction: few enough that a lock held for the batch is short,
# many enough that a pass over thousands of cases is a few dozen transactions.
DEFAULT_BATCH = 100
_DEADLINE_KEYS = {Deadline.SIGN: "reminder.deadline_sign", Deadline.ANSWER: "reminder.deadline_answer"}


class DigestKind(StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"


@dataclass(frozen=True, slots=True)
class DigestRequest:
    """What the pass asks of the digest job.

    ``day`` is the local date the digest is for (the Monday, for a weekly one). The job
    must put ``dedup_key`` on the outbox row(s) it writes (``f"{dedup_key}:{part}"`` when it
    sends several, e.g. text and chart) and ``not_before`` on them (quiet hours); that is what
    keeps a digest to one per day across restarts and instances.
    """

    kind: DigestKind
    day: date
    now: datetime
    not_before: datetime | None
    dedup_key: str


PhaseJob = Callable[[datetime, datetime | None], Awaitable[int]]
"""Announces the phases opening today (``CampaignService.open_phases_due(now, not_before=)``),
once each by its own dedup keys; returns how many notices it queued. None: no announcements."""

DigestJob = Callable[[DigestRequest], Awaitable[bool]]
"""Builds and queues one digest; True if it queued something (False: its dedup key was used
already). Supplied by the office features; None means no digests."""


@dataclass(slots=True)
class PassSummary:
    """What one pass did, for the log, ``tick``'s output and tests. Reminder counts are of
    reminders acted on (each may queue several notices: every liaison, the office copy);
    ``notices`` counts the outbox rows queued."""

    ran: bool = True  # False: another instance holds the lease
    blue: int = 0
    yellow: int = 0
    supervision: int = 0
    escalated: int = 0
    leaders_told: int = 0  # cases whose overdue answer went up to the units' leaders
    follow_up_closed: int = 0
    phases_announced: int = 0  # notices queued by the phase job
    phase_reminders: int = 0
    rectification_reminders: int = 0  # 整改建议书 deadlines reminded (plan or report)
    measure_reminders: int = 0  # 长效机制 measures reminded of their due date (issue 14)
    digests: int = 0
    notices: int = 0
    errors: int = 0

    def counts(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "ran"}

    @property
    def total(self) -> int:
        """Things done (not counting notices and errors): zero means nothing was owed."""
        counts = self.counts()
        return sum(v for k, v in counts.items() if k not in ("notices", "errors"))

    def __str__(self) -> str:
        if not self.ran:
            return "skipped (another instance holds the lease)"
        return " ".join(f"{name}={value}" for name, value in self.counts().items())


@dataclass(slots=True)
class _Batch:
    """What one batch of due cases writes, stored in one go at its end, and what it knows."""

    seen: set[tuple[int, str, object]]  # (case, event kind, reminder key) already recorded
    roster: dict[str, list[Liaison]]  # unit → its liaisons
    leaders: dict[str, list[UnitLeader]] = field(default_factory=dict)  # unit → its bound leaders
    events: list[CaseEvent] = field(default_factory=list)
    messages: list[OutboxMessage] = field(default_factory=list)
    blue: list[str] = field(default_factory=list)  # reminder keys of the warnings written
    yellow: list[str] = field(default_factory=list)


def default_holder() -> str:
    """Who holds the lease: host, process and a random tag (two passes in one process, as in
    tests, are still two holders)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(slots=True)
class PeriodicPass:
    uow: UnitOfWorkFactory
    plan: Plan
    clock: Clock
    deadlines: DeadlineRules
    quiet_hours: QuietHours
    office_chat_id: int | None = None
    holder: str = field(default_factory=default_holder)
    lease_ttl: timedelta = DEFAULT_LEASE_TTL
    phase_job: PhaseJob | None = None
    digest_job: DigestJob | None = None
    digest_hour: int = 8  # local hour from which the day's digest goes out
    weekly_digest_weekday: int = 0  # Monday
    phase_reminder_days: tuple[int, ...] = DEFAULT_PHASE_REMINDER_DAYS
    batch_size: int = DEFAULT_BATCH
    # retention (issue 15, core.services.retention.RetentionService.run_pass): erases the
    # identity of cases past their date, in batches; None: nothing is erased
    retention_job: Callable[[datetime], Awaitable[object]] | None = None
    # health (issue 15, storage.health.record_pass_finished): told (holder, finish time) after
    # every pass this instance ran, for /readyz; None: not recorded
    on_finished: Callable[[str, datetime], Awaitable[None]] | None = None
    # Keys this process has finished today (committed, or found done by someone else): later
    # passes of the same day skip them without opening a transaction. Only a shortcut: the
    # database (dedup keys, events) is what guarantees once. Cleared when the day changes, so
    # it stays as small as one day's work.
    _done: set[str] = field(init=False, default_factory=set)
    _done_day: date | None = field(init=False, default=None)

    async def run(self, now: datetime | None = None) -> PassSummary:
        """One pass at ``now`` (default: the clock's time). Returns what it did; ``ran`` is
        False when another instance is running a pass."""
        now = now if now is not None else self.clock.now()
        if not await self._lease(now):
            log.info("periodic pass skipped: another instance holds the lease")
            return PassSummary(ran=False)
        summary = PassSummary()
        try:
            today = self.deadlines.local_date(now)
            if self._done_day != today:
                self._done.clear()
                self._done_day = today
            not_before = self._not_before(now)
            steps = (
                self._deadline_reminders,
                self._follow_up_timeouts,
                self._phase_announcements,
                self._phase_reminders,
                self._rectification_reminders,
                self._measure_reminders,  # issue 14: 长效机制 due dates
                self._digests,
                self._retention,
            )
            for i, step in enumerate(steps):
                if i and not await self._lease(max(now, self.clock.now())):
                    log.warning("periodic pass lost its lease; stopping before %s", step.__name__)
                    break
                try:
                    await step(now, today, not_before, summary)
                except Exception:
                    log.exception("periodic pass: %s failed", step.__name__)
                    summary.errors += 1
        finally:
            await self._release()
        if self.on_finished is not None:  # issue 15: /readyz's "last pass recent"
            try:
                await self.on_finished(self.holder, max(now, self.clock.now()))
            except Exception:
                log.exception("periodic pass: recording its finish failed")
        log.info("periodic pass at %s: %s", now.isoformat(), summary)
        return summary

    # -- the lease --------------------------------------------------------------------------

    async def _lease(self, now: datetime) -> bool:
        """Take or renew the lease (committed at once, so other instances see it)."""
        async with self.uow() as uow:
            acquired = await uow.leases.try_acquire(LEASE_NAME, self.holder, now=now, ttl=self.lease_ttl)
            await uow.commit()
        return acquired

    async def _release(self) -> None:
        try:
            async with self.uow() as uow:
                await uow.leases.release(LEASE_NAME, self.holder)
                await uow.commit()
        except Exception:  # the lease runs out by itself; never hide the pass's own outcome
            log.exception("periodic pass: releasing the lease failed")

    def _not_before(self, now: datetime) -> datetime | None:
        allowed = self.quiet_hours.next_allowed(now)
        return allowed if allowed > now else None

    def _delivery_day(self, now: datetime, not_before: datetime | None) -> date:
        return self.deadlines.local_date(not_before or now)

    # -- three-colour warnings, supervision, escalation ---------------------------------------

    def _owed(self, case: Case, today: date, now: datetime, not_before: datetime | None) -> list[Reminder]:
        """Reminders due for ``case`` today, minus those done already and stale warnings."""
        if case.id is None or case.answer_due is None:
            return []
        if case.sign_due is None and case.state is CaseState.ASSIGNED:
            return []
        # outside "assigned" the sign-for date plays no part (pending_deadlines drops it)
        dates = CaseDeadlines(case.sign_due or case.answer_due, case.answer_due)
        reminders = self.deadlines.reminders_due(case.id, case.state, dates, today)
        # blue and yellow are about today: one that could only arrive tomorrow would be wrong
        fresh = self._delivery_day(now, not_before) == today
        return [
            r
            for r in reminders
            if r.key not in self._done and (fresh or r.kind not in (ReminderKind.BLUE, ReminderKind.YELLOW))
        ]

    async def _deadline_reminders(
        self, now: datetime, today: date, not_before: datetime | None, summary: PassSummary
    ) -> None:
        async with self.uow() as uow:
            listed = await uow.cases.list_due(self.deadlines.reminder_horizon(today))
        owed = [c.id for c in listed if c.id is not None and self._owed(c, today, now, not_before)]
        for start in range(0, len(owed), self.batch_size):
            batch = owed[start : start + self.batch_size]
            try:
                done = await self._remind_batch(batch, today, now, not_before, summary)
            except Exception:
                # one bad case must not cost the others their reminders: case by case
                log.warning("periodic pass: a batch of %d failed; retrying case by case", len(batch))
                done = []
                for case_id in batch:
                    try:
                        done += await self._remind_batch([case_id], today, now, not_before, summary)
                    except Exception:
                        log.exception("periodic pass: reminders for case %s failed", case_id)
                        summary.errors += 1
            self._done.update(done)

    async def _remind_batch(
        self,
        case_ids: list[int],
        today: date,
        now: datetime,
        not_before: datetime | None,
        summary: PassSummary,
    ) -> list[str]:
        """Send what these cases are owed today in one transaction; returns the keys done.
        The cases are locked and read again (one may have been signed or answered since it was
        listed), the supervision facts of the batch read in one query, and each unit's
        liaisons once."""
        counts = PassSummary()
        done: list[str] = []
        async with self.uow() as uow:
            cases = await uow.cases.get_many(case_ids, for_update=True)
            owed = {case.id: self._owed(case, today, now, not_before) for case in cases}
            needs_history = [
                case_id
                for case_id, reminders in owed.items()
                if case_id is not None and any(r.kind not in _WARNINGS for r in reminders)
            ]
            facts = await uow.events.list_kinds(
                needs_history, (SUPERVISION_EVENT, ESCALATED_EVENT, LEADER_EVENT)
            )
            seen = {(e.case_id, e.kind, e.data.get("key")) for e in facts}
            # every lead unit's liaisons of the batch in one query; their leaders likewise
            batch = _Batch(seen, await roster_for(uow, (u for c in cases for u in c.lead_unit_ids)))
            if any(r.kind is ReminderKind.LEADER for rs in owed.values() for r in rs):
                units = sorted({u for c in cases for u in c.lead_unit_ids})
                for leader in await uow.leaders.list_active(units):
                    batch.leaders.setdefault(leader.unit_id, []).append(leader)
            for case in cases:
                assert case.id is not None
                for reminder in owed[case.id]:
                    await self._remind(uow, case, reminder, batch, today, now, not_before, counts)
                done += [r.key for r in owed[case.id]]
            await uow.events.add_many(batch.events)
            stored = await uow.outbox.add_many(batch.messages)
            counts.notices += len(stored)
            # a warning counts when at least one of its notices was new (the others were sent
            # by an earlier pass, maybe on another instance)
            new = {key.rsplit(":", 2)[0] for key in stored if key is not None}
            counts.blue += sum(1 for key in batch.blue if f"rem:{key}" in new)
            counts.yellow += sum(1 for key in batch.yellow if f"rem:{key}" in new)
            await uow.commit()
        for name, value in counts.counts().items():
            setattr(summary, name, getattr(summary, name) + value)
        return done

    async def _remind(
        self,
        uow: UnitOfWork,
        case: Case,
        reminder: Reminder,
        batch: _Batch,
        today: date,
        now: datetime,
        not_before: datetime | None,
        counts: PassSummary,
    ) -> None:
        """One reminder of one case: a warning, or a supervision / escalation not yet recorded.
        What it writes goes into ``batch``, stored at the end of the batch."""
        assert case.id is not None
        if reminder.kind in _WARNINGS:
            await self._warn(uow, case, reminder, now, not_before, batch)
            (batch.blue if reminder.kind is ReminderKind.BLUE else batch.yellow).append(reminder.key)
            return
        kind = {
            ReminderKind.SUPERVISION: SUPERVISION_EVENT,
            ReminderKind.ESCALATION: ESCALATED_EVENT,
            ReminderKind.LEADER: LEADER_EVENT,
        }[reminder.kind]
        if (case.id, kind, reminder.key) in batch.seen:
            return  # another instance, or an earlier day, did it
        if kind == LEADER_EVENT:
            self._tell_leaders(case, reminder, today, now, not_before, batch)
            counts.leaders_told += 1
            return
        await self._supervise(uow, case, reminder, kind, today, now, not_before, batch)
        if kind == SUPERVISION_EVENT:
            counts.supervision += 1
        else:
            counts.escalated += 1

    @staticmethod
    def _case_params(case: Case, reminder: Reminder) -> dict[str, JsonScalar | list[str]]:
        # never the complainant: units must not learn who complained
        return {
            "tracking_no": case.tracking_no,
            "case_area": case.area,
            "deadline_key": _DEADLINE_KEYS[reminder.deadline],
            "due_date": reminder.due.isoformat(),
        }

    async def _warn(
        self,
        uow: UnitOfWork,
        case: Case,
        reminder: Reminder,
        now: datetime,
        not_before: datetime | None,
        batch: _Batch,
    ) -> int:
        """Blue or yellow warning to the lead units' liaisons."""
        key = "reminder.blue" if reminder.kind is ReminderKind.BLUE else "reminder.yellow"
        queued = 0
        for unit_id in case.lead_unit_ids:
            queued += await tell_unit(
                uow,
                unit_id,
                key,
                now,
                dedup_key=f"rem:{reminder.key}:{unit_id}",
                params=self._case_params(case, reminder),
                not_before=not_before,
                roster=batch.roster,
                sink=batch.messages,
            )
        return queued

    def _tell_leaders(
        self,
        case: Case,
        reminder: Reminder,
        today: date,
        now: datetime,
        not_before: datetime | None,
        batch: _Batch,
    ) -> None:
        """The leaders' step: each lead unit's bound 一把手 and 分管领导 get the overdue case
        (never the complainant), and the case's history records it with how many were reached."""
        assert case.id is not None
        overdue = self.deadlines.overdue_by(reminder.due, today)
        reached: list[int] = []
        for unit_id in case.lead_unit_ids:
            for leader in batch.leaders.get(unit_id, []):
                notice = Notice(
                    chat_id=leader.user_id,
                    user_id=leader.user_id,
                    text_key="supervision.leader_notice",
                    params={
                        **self._case_params(case, reminder),
                        "overdue_days": overdue,
                        "leader_units": [unit_id],
                        "role_key": f"role.{leader.role.value}",
                    },
                    dedup_key=f"rem:{reminder.key}:leader:{unit_id}:{leader.user_id}",
                    not_before=not_before,
                )
                batch.messages.append(notice.to_outbox(now))
                reached.append(leader.user_id)
        batch.events.append(
            CaseEvent(
                case_id=case.id,
                at=now,
                actor=Actor.SYSTEM,
                actor_ref="system",
                kind=LEADER_EVENT,
                visibility=Visibility.INTERNAL,
                data={
                    "key": reminder.key,
                    "deadline": reminder.deadline.value,
                    "due": reminder.due.isoformat(),
                    "overdue_days": overdue,
                    "lead": list(case.lead_unit_ids),
                    "reached": len(reached),
                },
            )
        )

    async def _supervise(
        self,
        uow: UnitOfWork,
        case: Case,
        reminder: Reminder,
        kind: str,
        today: date,
        now: datetime,
        not_before: datetime | None,
        batch: _Batch,
    ) -> int:
        """督办通知 (or 通报 escalation): the event, the lead units' notice, the office's copy."""
        assert case.id is not None
        overdue = self.deadlines.overdue_by(reminder.due, today)
        batch.events.append(
            CaseEvent(
                case_id=case.id,
                at=now,
                actor=Actor.SYSTEM,
                actor_ref="system",
                kind=kind,
                visibility=Visibility.INTERNAL,
                data={
                    "key": reminder.key,
                    "deadline": reminder.deadline.value,
                    "due": reminder.due.isoformat(),
                    "overdue_days": overdue,
                    "lead": list(case.lead_unit_ids),
                },
            )
        )
        params = {**self._case_params(case, reminder), "overdue_days": overdue}
        unit_key, office_key = (
            ("supervision.notice", "supervision.office_copy")
            if kind == SUPERVISION_EVENT
            else ("supervision.escalated_unit", "supervision.escalated_office")
        )
        queued = 0
        for unit_id in case.lead_unit_ids:
            queued += await tell_unit(
                uow,
                unit_id,
                unit_key,
                now,
                dedup_key=f"rem:{reminder.key}:{unit_id}",
                params=params,
                not_before=not_before,
                roster=batch.roster,
                sink=batch.messages,
            )
        queued += await tell_office(
            uow,
            self.office_chat_id,
            office_key,
            now,
            dedup_key=f"rem:{reminder.key}:office",
            params={**params, "lead_units": list(case.lead_unit_ids)},
            not_before=not_before,
            sink=batch.messages,
        )
        return queued

    # -- follow-up (回访) timeout --------------------------------------------------------------

    async def _follow_up_timeouts(
        self, now: datetime, today: date, not_before: datetime | None, summary: PassSummary
    ) -> None:
        async with self.uow() as uow:
            waiting = await uow.cases.list_awaiting_follow_up(now - self.deadlines.follow_up)
        for case in waiting:
            assert case.id is not None
            try:
                queued = await self._close_unanswered(case.id, now, not_before)
            except Exception:
                log.exception("periodic pass: follow-up timeout for case %s failed", case.id)
                summary.errors += 1
                continue
            if queued is not None:
                summary.follow_up_closed += 1
                summary.notices += queued

    async def _close_unanswered(self, case_id: int, now: datetime, not_before: datetime | None) -> int | None:
        """Close an answered case the citizen did not rate in time, as "no response" (never
        counted as satisfied). Returns the notices queued, or None if nothing was due after
        all (rated or moved on since it was listed)."""
        async with self.uow() as uow:
            case = await uow.cases.get(case_id, for_update=True)
            if (
                case is None
                or case.state is not CaseState.ANSWERED
                or case.satisfaction is not None
                or case.answered_at is None
                or self.deadlines.follow_up_expires(case.answered_at) > now
            ):
                return None
            case.satisfaction = Satisfaction.NO_RESPONSE
            case.closed_at = now
            data: dict[str, object] = {"satisfaction": Satisfaction.NO_RESPONSE.value}
            await apply_action(uow, case, Action.CLOSE, Who.system(), now, data=data)
            told = await tell_citizen(
                uow,
                case,
                "reminder.follow_up_closed",
                now,
                # per answer: a reopened and answered-again case may time out again
                dedup_key=f"follow-up-timeout:{case_id}:{case.answered_at.isoformat()}",
                not_before=not_before,
            )
            await uow.commit()
        return int(told)

    # -- phases: announcements and reminders for unit reports ----------------------------------

    async def _phase_announcements(
        self, now: datetime, today: date, not_before: datetime | None, summary: PassSummary
    ) -> None:
        if self.phase_job is not None:
            queued = await self.phase_job(now, not_before)
            summary.phases_announced += queued
            summary.notices += queued

    def _reminder_days(self, due: date) -> dict[date, int]:
        """Reminder day → working days left (0: the due day itself)."""
        days: dict[date, int] = {}
        for n in self.phase_reminder_days:
            day = due
            for _ in range(n):
                day = self.deadlines.wd.previous_workday(day)
            days[day] = n
        return days

    async def _phase_reminders(
        self, now: datetime, today: date, not_before: datetime | None, summary: PassSummary
    ) -> None:
        """Remind every unit that has not handed in a fixed-date unit deliverable (the
        self-inspection report) of its due date, on the plan's reminder days, while its phase
        is open. Driven by the plan: any phase, any deliverable the units produce by a date."""
        for phase in self.plan.phases:
            for deliverable in phase.deliverables:
                if deliverable.by is not Producer.UNITS or deliverable.due is None:
                    continue
                # a due date on a day off moves to the next working day (as the report
                # service counts it), which may lie just after the phase's last day
                due = self.deadlines.wd.add_working_days(deliverable.due, 0)
                if not phase.start <= today <= max(phase.end, due):
                    continue
                left = self._reminder_days(due).get(today)
                done_key = f"report-due:{deliverable.id}:{today.isoformat()}"
                if left is None or done_key in self._done:
                    continue
                units, queued = await self._remind_units(
                    phase, deliverable, due, left, today, now, not_before
                )
                summary.phase_reminders += units
                summary.notices += queued
                self._done.add(done_key)

    async def _remind_units(
        self,
        phase: Phase,
        deliverable: Deliverable,
        due: date,
        left: int,
        today: date,
        now: datetime,
        not_before: datetime | None,
    ) -> tuple[int, int]:
        units_reminded = queued_total = 0
        async with self.uow() as uow:
            for unit in await uow.units.list():
                # a report filed for this phase counts unless the office sent it back
                filed = await uow.reports.list(unit_id=unit.id, phase_id=phase.id)
                if any(r.status is not ReportStatus.RETURNED for r in filed):
                    continue
                queued = 0
                for liaison in await uow.liaisons.list_for_unit(unit.id):
                    # names from the plan in the liaison's language (the catalogue gives the
                    # same placeholders to both languages)
                    user = await uow.users.get(liaison.user_id)
                    en = user is not None and user.language == "en"
                    name = (deliverable.name_en or deliverable.name) if en else deliverable.name
                    notice = Notice(
                        chat_id=liaison.user_id,
                        user_id=liaison.user_id,
                        text_key="reminder.report_due_today" if left == 0 else "reminder.report_due",
                        params={
                            "deliverable": name,
                            "phase": (phase.name_en or phase.name) if en else phase.name,
                            "due_date": due.isoformat(),
                            "days_left": left,
                        },
                        dedup_key=f"report-due:{deliverable.id}:{unit.id}:{today.isoformat()}:{liaison.user_id}",
                        not_before=not_before,
                    )
                    queued += await uow.outbox.add(notice.to_outbox(now))
                units_reminded += queued > 0
                queued_total += queued
            await uow.commit()
        return units_reminded, queued_total

    async def _rectification_reminders(
        self, now: datetime, today: date, not_before: datetime | None, summary: PassSummary
    ) -> None:
        """Remind a unit of its 整改建议书's next deadline on the same days as the plan's
        reports (``phase_reminder_days`` working days before, and on the day): the plan's due
        date while no plan is in, then the report's while no report is in. An accepted
        recommendation, or one whose step is done, gets no reminder."""
        waiting = (RecommendationStatus.ISSUED, RecommendationStatus.PLAN_SUBMITTED)
        async with self.uow() as uow:
            for rec in await uow.reports.list_recommendations(statuses=waiting):
                assert rec.id is not None
                step = "plan" if rec.status is RecommendationStatus.ISSUED else "report"
                due = rec.plan_due if step == "plan" else rec.report_due
                left = self._reminder_days(due).get(today)
                done_key = f"rec-due:{rec.id}:{step}:{today.isoformat()}"
                if left is None or done_key in self._done:
                    continue
                queued = 0
                for liaison in await uow.liaisons.list_for_unit(rec.unit_id):
                    notice = Notice(
                        chat_id=liaison.user_id,
                        user_id=liaison.user_id,
                        text_key=f"reminder.rectification_{step}_due" + ("_today" if left == 0 else ""),
                        params={"recommendation_id": rec.id, "due_date": due.isoformat(), "days_left": left},
                        buttons=(
                            (Button("rectification.button_open", f"{CALLBACK_OPEN_RECOMMENDATION}{rec.id}"),),
                        ),
                        dedup_key=f"{done_key}:{liaison.user_id}",
                        not_before=not_before,
                    )
                    queued += await uow.outbox.add(notice.to_outbox(now))
                summary.rectification_reminders += queued > 0
                summary.notices += queued
                self._done.add(done_key)
            await uow.commit()

    async def _measure_reminders(
        self, now: datetime, today: date, not_before: datetime | None, summary: PassSummary
    ) -> None:
        """Long-term measures (core.services.practices.remind_measures): on the same reminder
        days as the 整改建议书's deadlines, with the same dedup."""
        async with self.uow() as uow:
            wd = self.deadlines.wd
            reminded, queued = await remind_measures(
                uow, wd, self._reminder_days, today, now, not_before, self._done
            )
            await uow.commit()
        summary.measure_reminders += reminded
        summary.notices += queued

    # -- scheduled digests ---------------------------------------------------------------------

    async def _digests(
        self, now: datetime, today: date, not_before: datetime | None, summary: PassSummary
    ) -> None:
        """Ask for the day's digest from ``digest_hour`` on, and on the weekly digest's weekday
        for the week's too. Once per process and day here; the job's dedup key makes it once
        across restarts and instances."""
        if self.digest_job is None or now.astimezone(self.deadlines.tz).hour < self.digest_hour:
            return
        requests = [self._digest_request(DigestKind.DAILY, today, now, not_before)]
        if today.weekday() == self.weekly_digest_weekday:
            requests.append(self._digest_request(DigestKind.WEEKLY, today, now, not_before))
        for request in requests:
            if request.dedup_key in self._done:
                continue
            if await self.digest_job(request):
                summary.digests += 1
            self._done.add(request.dedup_key)

    async def _retention(
        self, now: datetime, today: date, not_before: datetime | None, summary: PassSummary
    ) -> None:
        """Last, so erasure never delays a reminder; it logs its own counts."""
        if self.retention_job is not None:
            await self.retention_job(now)

    @staticmethod
    def _digest_request(
        kind: DigestKind, day: date, now: datetime, not_before: datetime | None
    ) -> DigestRequest:
        key = f"digest:{kind.value}:{day.isoformat()}"
        return DigestRequest(kind=kind, day=day, now=now, not_before=not_before, dedup_key=key)
