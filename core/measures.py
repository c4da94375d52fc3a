"""Good practices (推介典型, 保障措施 四) and long-term measures (长效机制, 工作步骤 四 item 2,
保障措施 五): the records and their pure rules.

A measure is proposed by its own unit's liaison (a 制度 the unit builds so that the problems
found do not come back), with a due date; it moves planned → in progress → done (with
evidence: the 制度 document or a photo of it) or is dropped with a reason. Done and dropped
are final. Every change is a history row with who and when.

A measure is overdue when it is not final and its due date has passed; a due date on a day off
counts from the next working day, as every other deadline of the campaign does.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Final

from core.attachments import AttachmentKind
from core.calendar import WorkingDays
from core.errors import InvalidTransition


class MeasureStatus(StrEnum):
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    DROPPED = "dropped"


FINAL: Final = frozenset({MeasureStatus.DONE, MeasureStatus.DROPPED})

# Allowed moves. Planned may go straight to done (a 制度 adopted at once); nothing leaves a
# final status (a dropped measure is proposed again as a new one, so its history stays true).
TRANSITIONS: Final[dict[MeasureStatus, frozenset[MeasureStatus]]] = {
    MeasureStatus.PLANNED: frozenset({MeasureStatus.IN_PROGRESS, MeasureStatus.DONE, MeasureStatus.DROPPED}),
    MeasureStatus.IN_PROGRESS: frozenset({MeasureStatus.DONE, MeasureStatus.DROPPED}),
    MeasureStatus.DONE: frozenset(),
    MeasureStatus.DROPPED: frozenset(),
}


class MeasureClosed(InvalidTransition):
    """The measure's status does not allow that move (it is final, or already there)."""

    key = "practices.error_transition"


@dataclass(frozen=True, slots=True)
class Evidence:
    """A file the liaison sent as proof of a done measure (Telegram's ids, never bytes)."""

    file_id: str
    file_unique_id: str
    kind: AttachmentKind
    mime: str | None = None
    file_name: str | None = None
    size: int | None = None


@dataclass(frozen=True, slots=True)
class MeasureChange:
    """One status change: from (None: created), to, who, when, the reason or note."""

    to_status: MeasureStatus
    at: datetime
    by: int | None
    from_status: MeasureStatus | None = None
    note: str = ""


@dataclass(slots=True)
class Measure:
    """长效机制: one institutional measure of one unit."""

    unit_id: str
    title: str
    due: date
    created_at: datetime
    created_by: int | None = None
    description: str = ""
    status: MeasureStatus = MeasureStatus.PLANNED
    updated_at: datetime | None = None
    evidence: list[Evidence] = field(default_factory=list)
    history: list[MeasureChange] = field(default_factory=list)
    id: int | None = None

    @property
    def final(self) -> bool:
        return self.status in FINAL


@dataclass(slots=True)
class GoodPractice:
    """特色做法: a unit's good practice, recorded by the office and shared with the liaisons.
    ``case_numbers``/``report_ids``: what it rests on (optional). ``shared_to``: ``"all"`` (every
    liaison) or a unit id, once shared."""

    unit_id: str
    title: str
    description: str
    recorded_at: datetime
    recorded_by: int | None = None
    case_numbers: list[str] = field(default_factory=list)
    report_ids: list[int] = field(default_factory=list)
    shared_at: datetime | None = None
    shared_to: str | None = None
    id: int | None = None


SHARED_TO_ALL: Final = "all"


def may_move(current: MeasureStatus, target: MeasureStatus) -> bool:
    return target in TRANSITIONS[current]


def check_move(current: MeasureStatus, target: MeasureStatus) -> None:
    """Raise ``MeasureClosed`` unless ``current → target`` is allowed."""
    if not may_move(current, target):
        raise MeasureClosed(current=current.value, target=target.value)


def needs_evidence(target: MeasureStatus) -> bool:
    """Done needs at least one file; dropped needs a reason (``needs_reason``)."""
    return target is MeasureStatus.DONE


def needs_reason(target: MeasureStatus) -> bool:
    return target is MeasureStatus.DROPPED


def effective_due(due: date, wd: WorkingDays) -> date:
    """A due date on a day off moves to the next working day."""
    return wd.add_working_days(due, 0)


def is_overdue(measure: Measure, today: date, wd: WorkingDays) -> bool:
    """Not final and its (effective) due date is before ``today``."""
    return not measure.final and effective_due(measure.due, wd) < today


def overdue(measures: Sequence[Measure], today: date, wd: WorkingDays) -> list[Measure]:
    return [m for m in measures if is_overdue(m, today, wd)]


@dataclass(frozen=True, slots=True)
class UnitMeasures:
    """A unit's tally for the year-end report."""

    unit_id: str
    done: int
    total: int  # dropped ones are not counted: they are not owed any more
    overdue: int


def tally(measures: Sequence[Measure], today: date, wd: WorkingDays) -> dict[str, UnitMeasures]:
    """Per unit: done / total (without dropped) and overdue."""
    out: dict[str, UnitMeasures] = {}
    for m in measures:
        old = out.get(m.unit_id, UnitMeasures(m.unit_id, 0, 0, 0))
        if m.status is MeasureStatus.DROPPED:
            out[m.unit_id] = old
            continue
        out[m.unit_id] = UnitMeasures(
            m.unit_id,
            old.done + (m.status is MeasureStatus.DONE),
            old.total + 1,
            old.overdue + is_overdue(m, today, wd),
        )
    return out


# -- what a period's report shows (the /export sheets and the dashboard page, issue 14) ------------


def practices_in(
    practices: Iterable[GoodPractice], start: datetime, end: datetime, units: Collection[str] | None = None
) -> list[GoodPractice]:
    """The practices recorded in ``[start, end)`` of ``units`` (None: every unit): a practice is
    news of the period it was recorded in, as a case is of the period it came in."""
    return [p for p in practices if start <= p.recorded_at < end and (units is None or p.unit_id in units)]


def measures_in(
    measures: Iterable[Measure], start: datetime, end: datetime, units: Collection[str] | None = None
) -> list[Measure]:
    """The measures alive in ``[start, end)`` of ``units`` (None: every unit): proposed before
    its end and not made final before its start. A measure runs for months, so a weekly export
    shows every one still owed, not only those proposed that week; one done long before is
    not the period's business."""
    out = []
    for m in measures:
        if units is not None and m.unit_id not in units:
            continue
        closed = (m.updated_at or m.created_at) if m.final else None
        if m.created_at < end and (closed is None or closed >= start):
            out.append(m)
    return out
