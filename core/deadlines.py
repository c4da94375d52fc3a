"""Case deadlines, three-colour warnings, supervision and reminders (SPEC §3, §7).

Everything here is pure: dates in, dates out, over a ``WorkingDays``. A due date is a date; a
case is due by the end of that day. The periodic pass asks ``reminders_due`` what to send for
a case today; each ``Reminder`` has a stable key, so running the pass twice (or on two
instances) sends nothing twice as long as the outbox refuses a key it has already seen.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from zoneinfo import ZoneInfo

from core.calendar import WorkingDays
from core.cases import WarningColour
from core.errors import ValidationFailed
from core.states import CaseState

DEFAULT_ESCALATE_AFTER = 5  # working days overdue before the case goes on the 通报 list
# working days after that before the unit's 一把手 and 分管领导 are told (保障措施 一)
DEFAULT_LEADER_AFTER = 3
DEFAULT_FOLLOW_UP = timedelta(days=3)  # 回访: no answer in 3 days is "no response"

_SEVERITY = {
    WarningColour.NONE: 0,
    WarningColour.BLUE: 1,
    WarningColour.YELLOW: 2,
    WarningColour.RED: 3,
}


class Deadline(StrEnum):
    SIGN = "sign"  # 签收
    ANSWER = "answer"  # 答复


class ReminderKind(StrEnum):
    BLUE = "blue"  # one working day left
    YELLOW = "yellow"  # due today
    # the red warning's message: 督办通知 to the unit (copy to the office) the day after
    SUPERVISION = "supervision"
    ESCALATION = "escalation"  # overdue by N working days: on the weekly 通报 list
    LEADER = "leader"  # still overdue M working days after that: the unit's leaders are told


@dataclass(frozen=True, slots=True)
class CaseDeadlines:
    sign_due: date
    answer_due: date


@dataclass(frozen=True, slots=True)
class Reminder:
    case_id: int
    deadline: Deadline
    kind: ReminderKind
    due: date

    @property
    def key(self) -> str:
        """Unique per (case, deadline, kind, due date): an extension moves the due date and so
        earns fresh reminders, while a re-run of the same day finds the same keys."""
        return f"{self.case_id}:{self.deadline.value}:{self.kind.value}:{self.due.isoformat()}"


def pending_deadlines(state: CaseState, deadlines: CaseDeadlines) -> dict[Deadline, date]:
    """The deadlines still running in ``state``.

    Signing only matters while the case waits to be signed; the answer deadline runs from
    assignment until the answer, including while an extension request waits for the office.
    Returned, re-routed or reopened cases get new deadlines when they are assigned again.
    """
    if state is CaseState.ASSIGNED:
        return {Deadline.SIGN: deadlines.sign_due, Deadline.ANSWER: deadlines.answer_due}
    if state in (CaseState.SIGNED, CaseState.EXTENSION_REQUESTED):
        return {Deadline.ANSWER: deadlines.answer_due}
    return {}


def worst_colour(colours: Iterable[WarningColour]) -> WarningColour:
    return max(colours, key=_SEVERITY.__getitem__, default=WarningColour.NONE)


class DeadlineRules:
    """The deadline arithmetic of SPEC §3 over one working-day calendar and time zone."""

    def __init__(
        self,
        working_days: WorkingDays,
        tz: str | tzinfo,
        *,
        escalate_after: int = DEFAULT_ESCALATE_AFTER,
        follow_up: timedelta = DEFAULT_FOLLOW_UP,
        leader_after: int = DEFAULT_LEADER_AFTER,
    ) -> None:
        if escalate_after < 1:
            raise ValueError("escalate_after must be at least 1 working day")
        if leader_after < 1:
            raise ValueError("leader_after must be at least 1 working day")
        self.leader_after = leader_after
        self.wd = working_days
        self.tz = ZoneInfo(tz) if isinstance(tz, str) else tz
        self.escalate_after = escalate_after
        self.follow_up = follow_up

    def local_date(self, at: datetime) -> date:
        """The calendar date of ``at`` in the campaign's time zone (naive means already local)."""
        return (at.astimezone(self.tz) if at.tzinfo is not None else at).date()

    def for_assignment(self, assigned_at: datetime, *, sign_for: int, answer: int) -> CaseDeadlines:
        """Deadlines for a case assigned at ``assigned_at`` with the area's working-day counts.

        The assignment day is not counted: the n-th working day strictly after it is due. So a
        case assigned on a Saturday or a holiday is due exactly as if it had been assigned on
        the last working day before, i.e. the count starts on the next working day.
        """
        if sign_for < 1 or answer < 1:
            raise ValueError(f"deadlines need at least 1 working day (sign_for={sign_for}, answer={answer})")
        start = self.local_date(assigned_at)
        return CaseDeadlines(
            sign_due=self.wd.add_working_days(start, sign_for),
            answer_due=self.wd.add_working_days(start, answer),
        )

    def may_request_extension(self, answer_due: date, today: date, *, extended: bool) -> bool:
        """One extension per case, asked for no later than the due day."""
        return not extended and today <= answer_due

    def extend(self, answer_due: date, days: int, *, limit: int) -> date:
        """The new answer due date after an extension of ``days`` working days (1..limit, the
        limit being the area's answer length)."""
        if not 1 <= days <= limit:
            raise ValidationFailed(field="extension_days", value=days, min=1, max=limit)
        return self.wd.add_working_days(answer_due, days)

    def colour(self, due: date, today: date) -> WarningColour:
        """三色预警 for one due date as seen on ``today``.

        Blue only on a working day whose next working day is the due day, so the warning is
        raised when someone is at work to act on it (not over a weekend or a holiday week).
        """
        if today > due:
            return WarningColour.RED
        if today == due:
            return WarningColour.YELLOW
        if self.wd.is_workday(today) and self.wd.next_workday(today) == due:
            return WarningColour.BLUE
        return WarningColour.NONE

    def case_colour(self, state: CaseState, deadlines: CaseDeadlines, today: date) -> WarningColour:
        """The most urgent colour among the deadlines still running in ``state``."""
        return worst_colour(self.colour(due, today) for due in pending_deadlines(state, deadlines).values())

    def supervision_day(self, due: date) -> date:
        """督办通知 day: the first working day after a missed due date."""
        return self.wd.next_workday(due)

    def escalation_day(self, due: date) -> date:
        """The day the case is overdue by ``escalate_after`` working days (通报 list)."""
        return self.wd.add_working_days(due, self.escalate_after)

    def leader_day(self, due: date) -> date:
        """The day the unit's 一把手 and 分管领导 are told: ``leader_after`` working days after
        the office's step (the 通报 list), the last rung of the ladder."""
        return self.wd.add_working_days(due, self.escalate_after + self.leader_after)

    def overdue_by(self, due: date, today: date) -> int:
        """Working days overdue on ``today`` (0 when not overdue)."""
        return max(0, self.wd.working_days_between(due, today))

    def supervision_cutoff(self, today: date) -> date:
        """Latest due date whose supervision day is on or before ``today``: for SQL
        (``due <= cutoff``), so passes and digests never loop over cases in Python."""
        return self._cutoff(today, 1)

    def escalation_cutoff(self, today: date) -> date:
        """Latest due date that is on the 通报 list on ``today`` (``answer_due <= cutoff``)."""
        return self._cutoff(today, self.escalate_after)

    def reminder_horizon(self, today: date) -> date:
        """No running deadline due after this date has a reminder today: the pass only needs
        cases with a pending due date ``<= horizon``."""
        return self.wd.next_workday(today)

    def _cutoff(self, today: date, k: int) -> date:
        # add_working_days(d, k) <= today  <=>  (d, today] holds >= k working days
        #                                  <=>  d < the k-th latest working day <= today
        w = today if self.wd.is_workday(today) else self.wd.previous_workday(today)
        for _ in range(k - 1):
            w = self.wd.previous_workday(w)
        return w - timedelta(days=1)

    def reminders_due(
        self, case_id: int, state: CaseState, deadlines: CaseDeadlines, today: date
    ) -> list[Reminder]:
        """What the periodic pass should send today for this case, each with a stable key.

        Blue and yellow are about today only (a missed blue is stale once yellow is due).
        Supervision and escalation are due from their day on, so a pass that did not run on
        that day catches up; the key keeps it to one message. Blue is not sent for signing:
        sign-for is one working day, so it would repeat the assignment notice itself.
        Escalation is about answering, the deadline the 通报 list reports on; so is the
        leaders' step after it.
        """
        out: list[Reminder] = []
        for deadline, due in pending_deadlines(state, deadlines).items():
            c = self.colour(due, today)
            if c is WarningColour.BLUE and deadline is Deadline.ANSWER:
                out.append(Reminder(case_id, deadline, ReminderKind.BLUE, due))
            elif c is WarningColour.YELLOW:
                out.append(Reminder(case_id, deadline, ReminderKind.YELLOW, due))
            if today >= self.supervision_day(due):
                out.append(Reminder(case_id, deadline, ReminderKind.SUPERVISION, due))
            if deadline is Deadline.ANSWER and today >= self.escalation_day(due):
                out.append(Reminder(case_id, deadline, ReminderKind.ESCALATION, due))
            if deadline is Deadline.ANSWER and today >= self.leader_day(due):
                out.append(Reminder(case_id, deadline, ReminderKind.LEADER, due))
        return out

    def follow_up_expires(self, answered_at: datetime) -> datetime:
        """After this instant an unanswered follow-up (回访) is recorded as no response."""
        return answered_at + self.follow_up


_HHMM = re.compile(r"([0-9]{1,2}):([0-9]{2})", re.ASCII)


@dataclass(frozen=True, slots=True)
class QuietHours:
    """No reminders between ``start`` and ``end`` local time; may wrap midnight (21:00–08:00).

    ``start == end`` means no quiet hours. Datetimes are read on their own wall clock unless
    ``tz`` is set, in which case aware datetimes are converted to it first.
    """

    start: time
    end: time
    tz: tzinfo | None = None

    @classmethod
    def parse(cls, text: str, tz: str | tzinfo | None = None) -> QuietHours:
        """``"21:00-08:00"`` → QuietHours(21:00, 08:00)."""
        parts = text.strip().split("-")
        if len(parts) != 2:
            raise ValueError(f"quiet hours must look like 21:00-08:00, got {text!r}")
        times: list[time] = []
        for p in parts:
            m = _HHMM.fullmatch(p.strip())
            if m is None:
                raise ValueError(f"quiet hours must look like 21:00-08:00, got {text!r}")
            times.append(time(int(m.group(1)), int(m.group(2))))
        zone = ZoneInfo(tz) if isinstance(tz, str) else tz
        return cls(times[0], times[1], zone)

    def _local(self, dt: datetime) -> datetime:
        return dt.astimezone(self.tz) if self.tz is not None and dt.tzinfo is not None else dt

    def contains(self, dt: datetime) -> bool:
        t = self._local(dt).time()
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= t < self.end
        return t >= self.start or t < self.end

    def next_allowed(self, dt: datetime) -> datetime:
        """``dt`` itself outside quiet hours, else the end of this quiet spell."""
        if not self.contains(dt):
            return dt
        local = self._local(dt)
        day = local.date()
        if self.start > self.end and local.time() >= self.start:
            day += timedelta(days=1)  # evening part of a spell that wraps midnight
        return datetime.combine(day, self.end, tzinfo=local.tzinfo)
