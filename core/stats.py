"""Statistics as plain data (SPEC §4.3, §6): periods, the counts the database aggregates, and
the rates computed from them.

The counting happens in SQL (``storage.stats``); what arrives here is a handful of rows per
digest, so rates, shares and totals are pure functions over them, testable without a database.

Which cases each figure looks at (the cohort), for a period of local dates ``first..last``:

- received: cases created in the period (drafts excluded);
- on-time sign-for: sign-for deadlines that fell in the period and have matured, i.e. the case
  was signed, or the deadline passed while it still waited to be signed (a case returned as
  misrouted instead of signed does not count against the unit);
- on-time answer: likewise for answer deadlines (an approved extension moves the deadline; an
  answer from before a reopen does not count for the new deadline);
- satisfaction and reopens: cases answered in the period. "No response" is a rating that is
  never counted as satisfied; cases still waiting for their rating are "pending", outside the
  rate;
- per unit: the cases the unit leads (``case_units`` role ``lead``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from typing import TypeVar

from core.cases import Satisfaction
from core.deadlines import DeadlineRules
from core.reports import RecommendationStatus

HOTSPOT_MIN_CASES = 3  # repeated complaints about one unit and area in a period
NOTICE_LIST_LIMIT = 50  # entries of each kind listed in a digest; the total is always given

K = TypeVar("K")


# -- periods ------------------------------------------------------------------------------------


class PeriodKind(StrEnum):
    DAILY = "daily"  # the previous day: the daily digest at 08:00 reports on yesterday
    WEEKLY = "weekly"  # the previous Monday..Sunday
    THIS_WEEK = "this_week"  # Monday..today
    CAMPAIGN = "campaign"  # the campaign's first day..today
    RANGE = "range"  # explicit dates


@dataclass(frozen=True, slots=True)
class Period:
    """Local calendar dates ``first..last``, both included."""

    first: date
    last: date
    kind: PeriodKind = PeriodKind.RANGE

    def __post_init__(self) -> None:
        if self.first > self.last:
            raise ValueError(f"a period must not end ({self.last}) before it starts ({self.first})")

    @classmethod
    def day(cls, day: date, kind: PeriodKind = PeriodKind.RANGE) -> Period:
        return cls(day, day, kind)

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def dates(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range(self.days)]

    def contains(self, day: date) -> bool:
        return self.first <= day <= self.last

    def previous(self) -> Period:
        """The period of the same length just before this one (for trends)."""
        return Period(self.first - timedelta(days=self.days), self.first - timedelta(days=1), self.kind)

    def start(self, tz: tzinfo) -> datetime:
        """The first instant of the period in ``tz`` (aware)."""
        return datetime.combine(self.first, time(0), tzinfo=tz)

    def end(self, tz: tzinfo) -> datetime:
        """The first instant after the period (exclusive bound)."""
        return datetime.combine(self.last + timedelta(days=1), time(0), tzinfo=tz)

    def __str__(self) -> str:
        if self.first == self.last:
            return self.first.isoformat()
        return f"{self.first.isoformat()}..{self.last.isoformat()}"


_RANGE = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2})(?:\.\.([0-9]{4}-[0-9]{2}-[0-9]{2}))?", re.ASCII)
PERIOD_WORDS = tuple(k.value for k in PeriodKind if k is not PeriodKind.RANGE)


def week_of(day: date) -> Period:
    """Monday..Sunday of ``day``'s week."""
    monday = day - timedelta(days=day.weekday())
    return Period(monday, monday + timedelta(days=6), PeriodKind.WEEKLY)


def parse_period(text: str, today: date, campaign_start: date) -> Period:
    """``daily``, ``weekly``, ``this_week``, ``campaign``, ``YYYY-MM-DD`` or
    ``YYYY-MM-DD..YYYY-MM-DD``; raises ValueError with a reason otherwise."""
    word = text.strip().lower().replace("-", "_") if not text.strip()[:1].isdigit() else text.strip()
    if word == PeriodKind.DAILY:
        return Period.day(today - timedelta(days=1), PeriodKind.DAILY)
    if word == PeriodKind.WEEKLY:
        return week_of(today - timedelta(days=7))
    if word == PeriodKind.THIS_WEEK:
        return Period(week_of(today).first, today, PeriodKind.THIS_WEEK)
    if word == PeriodKind.CAMPAIGN:
        return Period(min(campaign_start, today), today, PeriodKind.CAMPAIGN)
    m = _RANGE.fullmatch(word)
    if m is None:
        raise ValueError(
            f"unknown period {text!r}: use {', '.join(PERIOD_WORDS)}, YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD"
        )
    try:
        first = date.fromisoformat(m.group(1))
        last = date.fromisoformat(m.group(2)) if m.group(2) else first
    except ValueError as exc:
        raise ValueError(f"not a date in {text!r}: {exc}") from None
    return Period(first, last, PeriodKind.RANGE)


@dataclass(frozen=True, slots=True)
class WarningDates:
    """The dates that decide the three colours on ``today``, worked out once in Python so SQL
    only compares due dates with them (``core.deadlines.DeadlineRules.colour`` in a query).

    A running deadline is red when due before ``today``, yellow when due ``today``, blue when
    due on ``blue`` (None when today is not a working day: no blue then)."""

    today: date
    blue: date | None
    horizon: date  # no running deadline due later than this has a colour today
    supervision_cutoff: date  # due on or before: the 督办通知 has gone out
    escalation_cutoff: date  # answer due on or before: on the 通报 list

    @classmethod
    def on(cls, rules: DeadlineRules, today: date) -> WarningDates:
        blue = rules.wd.next_workday(today) if rules.wd.is_workday(today) else None
        return cls(
            today=today,
            blue=blue,
            horizon=rules.reminder_horizon(today),
            supervision_cutoff=rules.supervision_cutoff(today),
            escalation_cutoff=rules.escalation_cutoff(today),
        )


# -- rates --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Ratio:
    """``num`` out of ``den``; the rate is None when there is nothing to rate (0 of 0 is not
    100%, and not 0% either)."""

    num: int
    den: int

    @property
    def rate(self) -> float | None:
        return self.num / self.den if self.den else None

    def __add__(self, other: Ratio) -> Ratio:
        return Ratio(self.num + other.num, self.den + other.den)


def change(current: int, previous: int) -> float | None:
    """Relative change from ``previous`` to ``current`` (None from zero)."""
    return (current - previous) / previous if previous else None


@dataclass(frozen=True, slots=True)
class CaseMetrics:
    """The case figures of one row (overall, one area or one unit) for one period."""

    key: str | None = None  # area id or unit id; None for the overall row or "no area"
    received: int = 0
    sign_due: int = 0  # sign-for deadlines that fell in the period and have matured
    signed_on_time: int = 0
    answer_due: int = 0  # answer deadlines likewise
    answered_on_time: int = 0
    answered: int = 0  # cases answered in the period
    satisfied: int = 0  # 满意
    basically: int = 0  # 基本满意
    unsatisfied: int = 0  # 不满意
    no_response: int = 0  # no rating within 3 days
    pending: int = 0  # answered, rating not in yet
    reopened: int = 0  # answered in the period and reopened (at any time)

    @property
    def sign_rate(self) -> Ratio:
        return Ratio(self.signed_on_time, self.sign_due)

    @property
    def answer_rate(self) -> Ratio:
        return Ratio(self.answered_on_time, self.answer_due)

    @property
    def rated(self) -> int:
        """Ratings in, "no response" included: the denominator of every satisfaction rate."""
        return self.satisfied + self.basically + self.unsatisfied + self.no_response

    @property
    def satisfaction_rate(self) -> Ratio:
        """满意 + 基本满意 over all ratings; "no response" is never counted as satisfied."""
        return Ratio(self.satisfied + self.basically, self.rated)

    def satisfaction_shares(self) -> dict[Satisfaction, Ratio]:
        rated = self.rated
        return {
            Satisfaction.SATISFIED: Ratio(self.satisfied, rated),
            Satisfaction.BASICALLY: Ratio(self.basically, rated),
            Satisfaction.UNSATISFIED: Ratio(self.unsatisfied, rated),
            Satisfaction.NO_RESPONSE: Ratio(self.no_response, rated),
        }

    @property
    def reopen_rate(self) -> Ratio:
        return Ratio(self.reopened, self.answered)


def sum_metrics(rows: Iterable[CaseMetrics], key: str | None = None) -> CaseMetrics:
    """The figures of disjoint groups added up (areas are; lead units are not: a case may have
    two)."""
    totals = dict.fromkeys((f.name for f in fields(CaseMetrics) if f.name != "key"), 0)
    for row in rows:
        for name in totals:
            totals[name] += getattr(row, name)
    return CaseMetrics(key=key, **totals)


# -- daily digest -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WarningCounts:
    """Cases by their most urgent running deadline's colour (三色预警) on one day."""

    blue: int = 0
    yellow: int = 0  # due today
    red: int = 0  # overdue
    supervised: int = 0  # overdue past the 督办 day
    escalated: int = 0  # answer overdue long enough for the 通报 list

    @property
    def total(self) -> int:
        return self.blue + self.yellow + self.red


@dataclass(frozen=True, slots=True)
class Count:
    key: str | None  # area or unit id; None: none yet (unclassified, not yet assigned)
    count: int


@dataclass(frozen=True, slots=True)
class AreaUnitCount:
    area: str | None
    unit: str | None
    count: int


@dataclass(frozen=True, slots=True)
class UnitWarnings:
    unit: str
    warnings: WarningCounts


@dataclass(frozen=True, slots=True)
class DailyDigest:
    """日报: new cases of ``period`` (yesterday) and the deadlines as they stand ``today``."""

    today: date
    period: Period
    new_by_area: tuple[Count, ...]
    new_by_unit: tuple[Count, ...]  # lead units; a case with two lead units counts for both
    new_by_area_unit: tuple[AreaUnitCount, ...]
    warnings: WarningCounts
    warnings_by_unit: tuple[UnitWarnings, ...]

    @property
    def new_total(self) -> int:
        return sum(c.count for c in self.new_by_area)


# -- weekly digest ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Trend:
    """Cases received per day of ``period`` next to the days of the period before."""

    period: Period
    per_day: tuple[int, ...]  # one per day of period
    previous_per_day: tuple[int, ...]  # one per day of period.previous()

    @property
    def total(self) -> int:
        return sum(self.per_day)

    @property
    def previous_total(self) -> int:
        return sum(self.previous_per_day)

    @property
    def change(self) -> float | None:
        return change(self.total, self.previous_total)

    @classmethod
    def from_counts(cls, period: Period, counts: Mapping[date, int]) -> Trend:
        return cls(
            period=period,
            per_day=tuple(counts.get(d, 0) for d in period.dates()),
            previous_per_day=tuple(counts.get(d, 0) for d in period.previous().dates()),
        )


class SelfReportStatus(StrEnum):
    ON_TIME = "on_time"
    LATE = "late"
    MISSING = "missing"  # due date passed, nothing filed
    PENDING = "pending"  # not filed, not due yet
    NOT_SET = "not_set"  # the plan has no self-inspection deadline


@dataclass(frozen=True, slots=True)
class UnitSelfReport:
    unit: str
    status: SelfReportStatus
    inspected: int | None = None
    total: int | None = None


def self_report_status(filed: bool, on_time: bool, due: date | None, today: date) -> SelfReportStatus:
    """A unit's self-inspection report as the scoreboard sees it (a version the office sent
    back does not count as filed)."""
    if filed:
        return SelfReportStatus.ON_TIME if on_time else SelfReportStatus.LATE
    if due is None:
        return SelfReportStatus.NOT_SET
    return SelfReportStatus.MISSING if today > due else SelfReportStatus.PENDING


@dataclass(frozen=True, slots=True)
class SelfReportCoverage:
    """自查自纠 coverage: which units filed their report, on time or late."""

    due: date | None
    units: tuple[UnitSelfReport, ...]

    def with_status(self, *statuses: SelfReportStatus) -> tuple[UnitSelfReport, ...]:
        return tuple(u for u in self.units if u.status in statuses)

    @property
    def coverage(self) -> Ratio:
        """Units that filed out of all units (the plan asks for 100%)."""
        filed = self.with_status(SelfReportStatus.ON_TIME, SelfReportStatus.LATE)
        return Ratio(len(filed), len(self.units))

    @property
    def on_time(self) -> Ratio:
        return Ratio(len(self.with_status(SelfReportStatus.ON_TIME)), len(self.units))

    @property
    def inspected_share(self) -> Ratio:
        """Subordinate units/posts inspected out of the total, over the reports filed."""
        filed = [u for u in self.units if u.inspected is not None and u.total]
        return Ratio(sum(u.inspected or 0 for u in filed), sum(u.total or 0 for u in filed))


class DeliveryStatus(StrEnum):
    """A rectification plan or report against its deadline."""

    ON_TIME = "on_time"
    LATE = "late"
    OVERDUE = "overdue"  # not delivered, deadline passed
    PENDING = "pending"  # not delivered, not due yet


_MATURED = (DeliveryStatus.ON_TIME, DeliveryStatus.LATE, DeliveryStatus.OVERDUE)


@dataclass(frozen=True, slots=True)
class RectificationCounts:
    """整改: recommendations by status, and their plans and reports against the deadlines."""

    by_status: Mapping[RecommendationStatus, int] = field(default_factory=dict)
    plans: Mapping[DeliveryStatus, int] = field(default_factory=dict)
    reports: Mapping[DeliveryStatus, int] = field(default_factory=dict)

    @property
    def recommendations(self) -> int:
        return sum(self.by_status.values())

    @property
    def on_time(self) -> Ratio:
        """Plans and reports delivered on time out of those delivered or overdue."""
        num = den = 0
        for counts in (self.plans, self.reports):
            num += counts.get(DeliveryStatus.ON_TIME, 0)
            den += sum(counts.get(s, 0) for s in _MATURED)
        return Ratio(num, den)

    def __add__(self, other: RectificationCounts) -> RectificationCounts:
        return RectificationCounts(
            by_status=_sum_maps(self.by_status, other.by_status),
            plans=_sum_maps(self.plans, other.plans),
            reports=_sum_maps(self.reports, other.reports),
        )


def _sum_maps(a: Mapping[K, int], b: Mapping[K, int]) -> dict[K, int]:
    out = dict(a)
    for key, value in b.items():
        out[key] = out.get(key, 0) + value
    return out


def total_rectification(counts: Iterable[RectificationCounts]) -> RectificationCounts:
    total = RectificationCounts()
    for c in counts:
        total = total + c
    return total


@dataclass(frozen=True, slots=True)
class ScoreRow:
    """One unit's line of the scoreboard (绩效评估)."""

    unit: str
    cases: CaseMetrics
    self_report: SelfReportStatus
    rectification: RectificationCounts


@dataclass(frozen=True, slots=True)
class Scoreboard:
    period: Period
    today: date
    rows: tuple[ScoreRow, ...]  # every active unit, in the plan's order

    def row(self, unit_id: str) -> ScoreRow:
        for r in self.rows:
            if r.unit == unit_id:
                return r
        raise KeyError(unit_id)


class NoticeKind(StrEnum):
    ESCALATED = "escalated"  # overdue long enough for the 通报 list
    TYPICAL = "typical"  # marked 典型案例 by the office


@dataclass(frozen=True, slots=True)
class NoticeEntry:
    """One line of the 通报 list: the case by its tracking number, never its text or person."""

    kind: NoticeKind
    tracking_no: str
    area: str | None
    lead_units: tuple[str, ...]
    at: datetime | None = None  # when it was escalated
    due: date | None = None
    overdue_days: int | None = None
    outcome: str | None = None
    measure: str | None = None


@dataclass(frozen=True, slots=True)
class NoticeList:
    escalated: tuple[NoticeEntry, ...]
    escalated_total: int
    typical: tuple[NoticeEntry, ...]
    typical_total: int


@dataclass(frozen=True, slots=True)
class Hotspot:
    """At least ``HOTSPOT_MIN_CASES`` complaints about one unit (or one target as written, when
    it is not a plan unit) in one area within the period."""

    target_unit: str | None
    target_text: str
    area: str | None
    count: int


@dataclass(frozen=True, slots=True)
class WeeklyDigest:
    """周报 for ``period`` (the previous week), as things stand ``today``."""

    today: date
    period: Period
    trend: Trend
    totals: CaseMetrics  # all cases: received, on-time rates, satisfaction
    scoreboard: Scoreboard
    self_reports: SelfReportCoverage
    rectification: RectificationCounts
    notices: NoticeList
    hotspots: tuple[Hotspot, ...]


Digest = DailyDigest | WeeklyDigest


# -- public statistics --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PeriodStats:
    period: Period
    total: CaseMetrics
    by_area: tuple[CaseMetrics, ...]
    by_unit: tuple[CaseMetrics, ...]


@dataclass(frozen=True, slots=True)
class PublicStats:
    """/stats (SPEC §4.3): aggregates only, this week and the campaign so far."""

    today: date
    week: PeriodStats
    campaign: PeriodStats


# -- exports ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExportFilter:
    """Exports of cases created in ``period`` (events: that happened in it), optionally of one
    area and of one unit (lead or assisting)."""

    period: Period
    area: str | None = None
    unit: str | None = None
    # a street's or township's office exports its own campaign's cases (core.campaigns); None:
    # every campaign (the district's office)
    campaign: str | None = None


@dataclass(frozen=True, slots=True)
class CaseRecord:
    """A case as exported: everything the office needs except who complained (no citizen id,
    no phone, no anonymity flag: the identity never leaves the office's own views)."""

    tracking_no: str
    state: str
    source: str
    area: str | None
    area_auto: str | None
    confidence: float | None
    lead_units: tuple[str, ...]
    assist_units: tuple[str, ...]
    target_unit: str | None
    target_text: str
    place: str
    occurred: str
    description: str
    created_at: datetime
    assigned_at: datetime | None
    sign_due: date | None
    signed_at: datetime | None
    answer_due: date | None
    answered_at: datetime | None
    extended: bool
    closed_at: datetime | None
    outcome: str | None
    measure: str | None
    typical: bool
    satisfaction: str | None
    satisfaction_comment: str


@dataclass(frozen=True, slots=True)
class EventRecord:
    """A case event as exported: the actor's role, never their Telegram id."""

    tracking_no: str
    at: datetime
    actor: str
    kind: str
    visibility: str
    text: str


def sorted_counts(counts: Iterable[Count], order: Sequence[str]) -> tuple[Count, ...]:
    """Counts in the plan's order of ``order`` ids, unknown ids after them, None last."""
    rank = {key: i for i, key in enumerate(order)}
    return tuple(sorted(counts, key=lambda c: (c.key is None, rank.get(c.key or "", len(rank)), c.key or "")))
