"""The campaign's progress as the office's dashboard shows it (SPEC §2, §5, §6): the plan's
phases and their state, units' reports, and the cases over time.

The counting is SQL's (``storage.campaign_view``, built on ``storage.stats``); what arrives here
is a few hundred rows at most (one per day and state), folded into weeks by pure functions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum

from core.states import CaseState
from core.stats import Period, RectificationCounts, SelfReportCoverage, WarningCounts

# The states a received case can be in, in the order a case moves through them (draft: never
# received, not shown).
STATE_ORDER = tuple(s for s in CaseState if s is not CaseState.DRAFT)
MAX_WEEKS = 160  # about three years: beyond that the chart's bars are too thin to read


class DeadlineOutcome(StrEnum):
    """An answer deadline, as things stand today: the colours over time."""

    ON_TIME = "on_time"  # answered by the due date
    LATE = "late"  # answered after it
    OVERDUE = "overdue"  # not answered, due date passed (red)
    RUNNING = "running"  # not answered, not due yet


@dataclass(frozen=True, slots=True)
class DayCount:
    day: date
    key: str  # a state or a DeadlineOutcome value
    count: int


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def weeks_of(period: Period) -> tuple[date, ...]:
    """The Mondays of the weeks the period touches, at most the last ``MAX_WEEKS``."""
    first, last = week_start(period.first), week_start(period.last)
    n = (last - first).days // 7 + 1
    start = max(0, n - MAX_WEEKS)
    return tuple(first + timedelta(weeks=i) for i in range(start, n))


@dataclass(frozen=True, slots=True)
class WeeklySeries:
    """Counts per week (``weeks`` are Mondays) for each key, in ``keys`` order."""

    weeks: tuple[date, ...]
    keys: tuple[str, ...]
    values: Mapping[str, tuple[int, ...]] = field(default_factory=dict)

    def total(self, key: str) -> int:
        return sum(self.values.get(key, ()))

    @property
    def empty(self) -> bool:
        return not any(any(v) for v in self.values.values())

    @classmethod
    def fold(cls, period: Period, counts: Iterable[DayCount], keys: Iterable[str]) -> WeeklySeries:
        """Daily counts summed into the weeks of ``period`` (days outside it are dropped)."""
        weeks = weeks_of(period)
        index = {w: i for i, w in enumerate(weeks)}
        order = list(keys)
        sums: dict[str, list[int]] = {k: [0] * len(weeks) for k in order}
        for c in counts:
            i = index.get(week_start(c.day))
            if i is None or not period.contains(c.day):
                continue
            if c.key not in sums:
                order.append(c.key)
                sums[c.key] = [0] * len(weeks)
            sums[c.key][i] += c.count
        return cls(weeks, tuple(order), {k: tuple(v) for k, v in sums.items()})


@dataclass(frozen=True, slots=True)
class PhaseProgress:
    phase_id: str
    number: int
    name: str
    name_en: str
    start: date
    end: date
    status: str  # a PhaseState value
    opened_early: bool  # the office opened it before its start date
    deliverables: tuple[tuple[str, str, date | None], ...]  # (name, English name, due)
    days_left: int | None  # days to the end of an open phase


@dataclass(frozen=True, slots=True)
class CampaignProgress:
    today: date
    period: Period
    phases: tuple[PhaseProgress, ...]
    self_reports: SelfReportCoverage
    coverage_target: float | None  # the plan's target share (1.0: 100%)
    rectification: RectificationCounts
    warnings: WarningCounts
    states_now: Mapping[str, int]  # received cases by their current state
    received: WeeklySeries  # cases received per week, by current state
    deadlines: WeeklySeries  # answer deadlines per week of their due date, by DeadlineOutcome

    @property
    def received_total(self) -> int:
        return sum(self.states_now.values())
