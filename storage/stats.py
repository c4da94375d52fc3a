"""Statistics from SQL aggregates (SPEC §4.3, §6, §10): digests, the unit scoreboard, the
public figures and the exports.

Every figure is counted by the database (``GROUP BY``, ``SUM(CASE WHEN ...)``); Python only
sees a few rows per query, never the cases one by one, so a digest costs the same whether the
database holds a thousand cases or a million. Dates that depend on the working-day calendar
(the three colours, the 督办 and 通报 cutoffs) are worked out in Python first
(``core.stats.WarningDates``) and the query only compares due dates with them.

Which cases each figure counts is documented in ``core.stats``. Use a read-only session
(``storage.db.make_session_factory(engine, read_only=True)``): on SQLite a long read then
never holds up the writers.

Local dates in SQL: PostgreSQL converts with the time zone's rules (``timezone(zone, ts)``).
SQLite has no time zones, so it shifts by the zone's UTC offset of the day asked about; that is
exact for zones without daylight saving time, such as the default Asia/Shanghai.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    and_,
    case,
    exists,
    false,
    func,
    literal_column,
    or_,
    select,
    text,
    true,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core.campaigns import campaign_by_id
from core.cases import Satisfaction
from core.deadlines import DeadlineRules
from core.errors import NotFound
from core.plan import Plan
from core.reports import RecommendationStatus, ReportKind, ReportStatus
from core.services.reports import self_inspection_target
from core.states import CaseState
from core.stats import (
    HOTSPOT_MIN_CASES,
    NOTICE_LIST_LIMIT,
    AreaUnitCount,
    CaseMetrics,
    CaseRecord,
    Count,
    DailyDigest,
    DeliveryStatus,
    EventRecord,
    ExportFilter,
    Hotspot,
    NoticeEntry,
    NoticeKind,
    NoticeList,
    Period,
    PeriodKind,
    PeriodStats,
    PublicStats,
    RectificationCounts,
    Scoreboard,
    ScoreRow,
    SelfReportCoverage,
    SelfReportStatus,
    Trend,
    UnitSelfReport,
    UnitWarnings,
    WarningCounts,
    WarningDates,
    WeeklyDigest,
    self_report_status,
    sorted_counts,
    sum_metrics,
    total_rectification,
    week_of,
)
from storage.db import make_session_factory
from storage.models import (
    CaseEventRow,
    CaseRow,
    CaseUnitRow,
    RecommendationRow,
    ScoreboardDailyRefreshRow,
    ScoreboardDailyRow,
    UnitReportRow,
    UnitRow,
)

Dimension = Literal["all", "area", "unit"]
# which of a case's dates puts it in a period, for each figure (StatsReader._metric_parts)
Bucket = Literal["created", "sign", "answer", "answered"]

# Core columns (Any: the queries select expressions of them, the rows come back untyped)
C: Any = CaseRow.__table__.c
CU: Any = CaseUnitRow.__table__.c
E: Any = CaseEventRow.__table__.c
R: Any = UnitReportRow.__table__.c
REC: Any = RecommendationRow.__table__.c
U: Any = UnitRow.__table__.c
SD: Any = ScoreboardDailyRow.__table__.c
SD_REFRESH: Any = ScoreboardDailyRefreshRow.__table__.c

LEAD = "lead"
DRAFT = CaseState.DRAFT.value
# Where a deadline runs (core.deadlines.pending_deadlines): signing while assigned; the answer
# from assignment until the answer, also while an extension request waits.
SIGN_RUNNING = (CaseState.ASSIGNED.value,)
ANSWER_RUNNING = (CaseState.ASSIGNED.value, CaseState.SIGNED.value, CaseState.EXTENSION_REQUESTED.value)
REOPEN_EVENT = "reopen"
ESCALATED_EVENT = "escalated"  # core.services.periodic.ESCALATED_EVENT
EXPORT_PAGE = 2000
# a scoreboard over more days than this reads the per-day cache (unit_metrics); a shorter one,
# a week's, counts its cases at once (an index range, tens of ms at a million cases)
CACHE_MIN_DAYS = 31
_ZONE_NAME = re.compile(r"[A-Za-z0-9_+\-/]+", re.ASCII)


def read_only_factory(session_factory: async_sessionmaker[AsyncSession]) -> async_sessionmaker[AsyncSession]:
    """A read-only session factory on the same engine as ``session_factory``."""
    bind = session_factory.kw.get("bind")
    if not isinstance(bind, AsyncEngine):
        raise TypeError("the session factory is not bound to an AsyncEngine")
    return make_session_factory(bind, read_only=True)


def _count(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
    """1 if any row of the group meets ``condition``."""
    return func.coalesce(func.max(case((condition, 1), else_=0)), 0)


def _as_date(value: Any) -> date:
    # PostgreSQL gives dates; SQLite's date() gives ISO text
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _area() -> ColumnElement[str | None]:
    """The case's area: as people decided it, else as the classifier guessed."""
    return func.coalesce(C.area_final, C.area_auto)


class StatsReader:
    """All statistics queries, on one (preferably read-only) session."""

    def __init__(
        self, session: AsyncSession, rules: DeadlineRules, plan: Plan, *, campaign: str | None = None
    ) -> None:
        """``campaign``: a street's or township's campaign id, for its own office's digests and
        scoreboard (issue 14): every figure counts that campaign's cases and units only. None:
        the district's office, every case."""
        self.session = session
        self.rules = rules
        self.plan = plan
        self.campaign = campaign or None
        sub = campaign_by_id(plan.sub_campaigns, campaign) if campaign else None
        self.campaign_units: frozenset[str] | None = (
            frozenset(sub.unit_ids if sub is not None else ()) if campaign else None
        )
        self.dialect = session.get_bind().dialect.name
        self._tuned = False
        self.unit_order = [u.id for u in plan.units]
        self.area_order = [a.id for a in plan.areas]
        try:
            self.self_report_due: date | None = self_inspection_target(plan)[1].due
        except NotFound:
            self.self_report_due = None

    # -- SQL building blocks -------------------------------------------------------------------

    async def _run(self, stmt: Any) -> Any:
        """Execute; rows come back untyped (they are read by name or position right away)."""
        if self.dialect == "postgresql" and not self._tuned:
            # PostgreSQL's default random_page_cost (4) prices an index probe as a spinning
            # disk's seek: it then joins a week's cases to their units by reading all of
            # case_units (4 million rows for a million cases, 0.5 s) rather than probing its
            # primary key (0.15 s). 1.1 is the usual setting for SSDs and cached data; LOCAL:
            # for this read-only transaction only.
            await self.session.execute(text("SET LOCAL random_page_cost = 1.1"))
            self._tuned = True
        return await self.session.execute(stmt)

    def _bounds(self, period: Period) -> tuple[datetime, datetime]:
        return period.start(self.rules.tz), period.end(self.rules.tz)

    def _in(self, column: Any, period: Period) -> ColumnElement[bool]:
        """A timestamp column within the period's local days."""
        start, end = self._bounds(period)
        return and_(column >= start, column < end)

    @staticmethod
    def _due_in(column: Any, period: Period) -> ColumnElement[bool]:
        return and_(column >= period.first, column <= period.last)

    def _local_date(self, column: Any, day: date) -> ColumnElement[Any]:
        """The local calendar date of a timestamp column (see the module docstring)."""
        if self.dialect == "postgresql":
            zone = getattr(self.rules.tz, "key", None)
            if isinstance(zone, str) and _ZONE_NAME.fullmatch(zone):
                # a literal, not a parameter: GROUP BY must see the same expression as SELECT
                return func.date(func.timezone(literal_column(f"'{zone}'"), column))
            minutes = self._offset_minutes(day)
            return func.date(column + literal_column(f"interval '{minutes} minutes'"))
        return func.date(column, literal_column(f"'{self._offset_minutes(day):+d} minutes'"))

    def _offset_minutes(self, day: date) -> int:
        offset = datetime.combine(day, time(12), tzinfo=self.rules.tz).utcoffset() or timedelta(0)
        return int(offset.total_seconds() // 60)

    @staticmethod
    def _lead_of(*where: ColumnElement[bool]) -> list[ColumnElement[bool]]:
        """Conditions on cases for a query joined to their lead units. The cases are picked
        first (``case_units.case_id IN (...)``): left to itself SQLite would walk all of
        case_units by unit and look every case up, which costs a second per 200,000 cases."""
        return [*where, CU.case_id.in_(select(C.id).where(*where))]

    def _case_filter(
        self, area: str | None, unit: str | None, *, lead_only: bool
    ) -> list[ColumnElement[bool]]:
        where: list[ColumnElement[bool]] = self._scope()
        if area is not None:
            where.append(_area() == area)
        if unit is not None:
            link = [CU.case_id == C.id, CU.unit_id == unit]
            if lead_only:
                link.append(CU.role == LEAD)
            where.append(exists().where(*link))
        return where

    def _scope(self) -> list[ColumnElement[bool]]:
        """The campaign's cases only, when this reader is a street's (see __init__)."""
        return [C.campaign == self.campaign] if self.campaign is not None else []

    # -- case figures --------------------------------------------------------------------------

    async def case_metrics(
        self,
        period: Period,
        today: date,
        *,
        by: Dimension = "all",
        area: str | None = None,
        unit: str | None = None,
    ) -> list[CaseMetrics]:
        """Received, on-time sign-for and answer, satisfaction and reopens (``core.stats``
        says which cases each counts), overall or per area or per lead unit."""
        columns = [
            _count(and_(self._bucket_in(bucket, period), condition)).label(name)
            for name, bucket, condition in self._metric_parts(today)
        ]
        # per unit, the join on case_units already picks the unit's cases
        where = self._case_filter(area, None if by == "unit" else unit, lead_only=True)
        if period.first > self.plan.start:
            # one OR of four indexed ranges, which each backend can combine. Only a shortcut:
            # every figure above tests its own range. A campaign-long period takes nearly
            # every case, and a plain scan beats the index lookups then.
            buckets: tuple[Bucket, ...] = ("created", "sign", "answer", "answered")
            in_period = or_(*(self._bucket_in(b, period) for b in buckets))
            where = [in_period, *where]
        key: ColumnElement[Any] | None
        stmt: Any
        if by == "area":
            key = _area()
            stmt = select(key.label("key"), *columns).where(*where).group_by(key)
        elif by == "unit":
            key = CU.unit_id
            stmt = (
                select(key.label("key"), *columns)
                .select_from(
                    CaseRow.__table__.join(CaseUnitRow.__table__, and_(CU.case_id == C.id, CU.role == LEAD))
                )
                .where(*where)
                .group_by(key)
            )
            if unit is not None:
                stmt = stmt.where(CU.unit_id == unit)
        else:
            stmt = select(*columns).where(*where)
        rows = (await self._run(stmt)).mappings().all()
        out = []
        for row in rows:
            values = {name: int(row[name] or 0) for name in row if name != "key"}
            out.append(CaseMetrics(key=row["key"] if by != "all" else None, **values))
        return out

    def _metric_parts(self, today: date) -> list[tuple[str, Bucket, ColumnElement[bool]]]:
        """Each CaseMetrics figure as (field, the date that puts a case in a period, what else
        the case must be). One definition for the figures of a period (``case_metrics``) and
        for the per-day cache (``daily_rows``, storage/scoreboard_daily.py)."""
        signed = C.signed_at.is_not(None)
        # an answer from before the latest assignment (a reopened case) is not this round's
        answered = and_(
            C.answered_at.is_not(None), or_(C.assigned_at.is_(None), C.answered_at >= C.assigned_at)
        )
        sign_matured = or_(signed, and_(C.state.in_(SIGN_RUNNING), C.sign_due < today))
        answer_matured = or_(answered, and_(C.state.in_(ANSWER_RUNNING), C.answer_due < today))
        reopened = C.id.in_(select(E.case_id).where(E.kind == REOPEN_EVENT))
        by_answer: Bucket = "answered"
        return [
            ("received", "created", C.state != DRAFT),
            ("sign_due", "sign", sign_matured),
            (
                "signed_on_time",
                "sign",
                and_(sign_matured, signed, self._local_date(C.signed_at, today) <= C.sign_due),
            ),
            ("answer_due", "answer", answer_matured),
            (
                "answered_on_time",
                "answer",
                and_(answer_matured, answered, self._local_date(C.answered_at, today) <= C.answer_due),
            ),
            ("answered", "answered", true()),
            # the ratings' values are CaseMetrics' field names (satisfied, basically, ...)
            *((s.value, by_answer, C.satisfaction == s.value) for s in Satisfaction),
            ("pending", "answered", C.satisfaction.is_(None)),
            ("reopened", "answered", reopened),
        ]

    # -- the per-day cache of the unit figures (issue 13, storage/scoreboard_daily.py) ---------

    async def unit_metrics(
        self,
        period: Period,
        today: date,
        *,
        area: str | None = None,
        unit: str | None = None,
        cached: bool = True,
    ) -> dict[str | None, CaseMetrics]:
        """The figures per lead unit (``case_metrics(by="unit")``). For a period longer than
        CACHE_MIN_DAYS the days the cache holds (refreshed today, in this time zone) come from
        scoreboard_daily and only the days since from the cases: every figure counts the cases
        whose date of that figure falls in the period, so the two parts add up. ``cached=False``
        counts everything from the cases."""
        # the cache holds the whole district's figures: a street's reader counts its own cases
        use_cache = cached and period.days > CACHE_MIN_DAYS and self.campaign is None
        through = await self.cache_through(today) if use_cache else None
        if through is None or through <= period.first:
            rows = await self.case_metrics(period, today, by="unit", area=area, unit=unit)
            return {m.key: m for m in rows}
        rows = await self._cached_unit_metrics(
            period.first, min(through, period.last + timedelta(days=1)), area, unit
        )
        if through <= period.last:
            rest = Period(through, period.last, period.kind)
            rows += await self.case_metrics(rest, today, by="unit", area=area, unit=unit)
        grouped: dict[str | None, list[CaseMetrics]] = {}
        for m in rows:
            grouped.setdefault(m.key, []).append(m)
        return {key: sum_metrics(parts, key) for key, parts in grouped.items()}

    async def cache_through(self, today: date) -> date | None:
        """``today`` when scoreboard_daily was refreshed today in this reader's time zone (it
        then holds every day before today), else None: the cases are counted instead."""
        zone = getattr(self.rules.tz, "key", None)
        row = (await self._run(select(SD_REFRESH.zone, SD_REFRESH.through).where(SD_REFRESH.id == 1))).first()
        if row is None or row.zone != zone or _as_date(row.through) != today:
            return None
        return today

    async def _cached_unit_metrics(
        self, first: date, before: date, area: str | None, unit: str | None
    ) -> list[CaseMetrics]:
        names = [name for name, _, _ in self._metric_parts(first)]
        stmt = (
            select(SD.unit_id.label("key"), *(func.coalesce(func.sum(SD[n]), 0).label(n) for n in names))
            .where(SD.day >= first, SD.day < before)
            .group_by(SD.unit_id)
        )
        if area is not None:
            stmt = stmt.where(SD.area == area)
        if unit is not None:
            stmt = stmt.where(SD.unit_id == unit)
        rows = (await self._run(stmt)).mappings().all()
        return [CaseMetrics(key=row["key"], **{n: int(row[n]) for n in names}) for row in rows]

    def daily_rows(self, through: date) -> Any:
        """scoreboard_daily's rows: per lead unit, area ("" for none) and local day before
        ``through``, every figure of ``case_metrics`` for the cases whose date of that figure
        is that day. Each running deadline of those days fell before ``through`` and so has
        matured on any day the rows are read on (``unit_metrics`` reads them on ``through``
        only): the rows depend on the cases alone."""
        parts = self._metric_parts(through)
        # literals, not parameters: GROUP BY must see the same expression as SELECT
        area = func.coalesce(_area(), literal_column("''"))
        lead_rows = CaseRow.__table__.join(CaseUnitRow.__table__, and_(CU.case_id == C.id, CU.role == LEAD))
        buckets: tuple[Bucket, ...] = ("created", "sign", "answer", "answered")
        selects = []
        for bucket in buckets:
            day = self._bucket_day(bucket, through)
            columns = [
                (_count(condition) if b == bucket else literal_column("0")).label(name)
                for name, b, condition in parts
            ]
            selects.append(
                select(CU.unit_id.label("unit_id"), area.label("area"), day.label("day"), *columns)
                .select_from(lead_rows)
                .where(self._bucket_before(bucket, through))
                .group_by(CU.unit_id, area, day)
            )
        each = union_all(*selects).subquery()
        return select(
            each.c.unit_id,
            each.c.area,
            each.c.day,
            *(func.sum(each.c[name]).label(name) for name, _, _ in parts),
        ).group_by(each.c.unit_id, each.c.area, each.c.day)

    def _bucket_in(self, bucket: Bucket, period: Period) -> ColumnElement[bool]:
        if bucket == "created":
            return self._in(C.created_at, period)
        if bucket == "sign":
            return self._due_in(C.sign_due, period)
        if bucket == "answer":
            return self._due_in(C.answer_due, period)
        return self._in(C.answered_at, period)

    def _bucket_day(self, bucket: Bucket, day: date) -> ColumnElement[Any]:
        """The local date that puts a case in ``bucket`` (``day``: for SQLite's offset)."""
        if bucket == "created":
            return self._local_date(C.created_at, day)
        if bucket == "sign":
            return C.sign_due
        if bucket == "answer":
            return C.answer_due
        return self._local_date(C.answered_at, day)

    def _bucket_before(self, bucket: Bucket, day: date) -> ColumnElement[bool]:
        start = datetime.combine(day, time(0), tzinfo=self.rules.tz)
        if bucket == "created":
            return C.created_at < start
        if bucket == "sign":
            return C.sign_due < day
        if bucket == "answer":
            return C.answer_due < day
        return C.answered_at < start

    async def totals(
        self, period: Period, today: date, *, area: str | None = None, unit: str | None = None
    ) -> CaseMetrics:
        """The overall row (a case with two lead units counts once)."""
        rows = await self.case_metrics(period, today, area=area, unit=unit)
        return rows[0] if rows else CaseMetrics()

    async def new_cases(
        self, period: Period
    ) -> tuple[tuple[Count, ...], tuple[Count, ...], tuple[AreaUnitCount, ...]]:
        """Cases received in the period by area, by lead unit, and by both."""
        received = [self._in(C.created_at, period), C.state != DRAFT, *self._scope()]
        area = _area()
        by_area = await self._run(select(area.label("area"), func.count()).where(*received).group_by(area))
        areas = sorted_counts((Count(a, int(n)) for a, n in by_area), self.area_order)
        joined = CaseRow.__table__.outerjoin(CaseUnitRow.__table__, and_(CU.case_id == C.id, CU.role == LEAD))
        matrix_rows = await self._run(
            select(area.label("area"), CU.unit_id, func.count())
            .select_from(joined)
            .where(*received)
            .group_by(area, CU.unit_id)
        )
        matrix = tuple(AreaUnitCount(a, u, int(n)) for a, u, n in matrix_rows)
        per_unit: dict[str | None, int] = {}
        for m in matrix:
            per_unit[m.unit] = per_unit.get(m.unit, 0) + m.count
        units = sorted_counts((Count(u, n) for u, n in per_unit.items()), self.unit_order)
        rank_a = {a: i for i, a in enumerate(self.area_order)}
        rank_u = {u: i for i, u in enumerate(self.unit_order)}
        matrix = tuple(
            sorted(
                matrix,
                key=lambda m: (
                    rank_a.get(m.area or "", 99),
                    m.area or "",
                    rank_u.get(m.unit or "", 999),
                    m.unit or "",
                ),
            )
        )
        return areas, units, matrix

    async def warnings(self, today: date) -> tuple[WarningCounts, tuple[UnitWarnings, ...]]:
        """三色预警 on ``today``: cases by the colour of their most urgent running deadline,
        overall and per lead unit, with how many are past the 督办 day and on the 通报 list."""
        d = WarningDates.on(self.rules, today)
        sign_run = C.state.in_(SIGN_RUNNING)
        answer_run = C.state.in_(ANSWER_RUNNING)

        def due(condition: Any) -> ColumnElement[bool]:
            return or_(and_(sign_run, condition(C.sign_due)), and_(answer_run, condition(C.answer_due)))

        red = due(lambda col: col < d.today)
        yellow = due(lambda col: col == d.today)
        blue = due(lambda col: col == d.blue) if d.blue is not None else false()
        columns = [
            _count(red).label("red"),
            _count(and_(~red, yellow)).label("yellow"),
            _count(and_(~red, ~yellow, blue)).label("blue"),
            _count(due(lambda col: col <= d.supervision_cutoff)).label("supervised"),
            _count(and_(answer_run, C.answer_due <= d.escalation_cutoff)).label("escalated"),
        ]
        # served by the (state, sign_due) and (state, answer_due) indexes
        near = and_(due(lambda col: col <= d.horizon), *self._scope())
        total_row = (await self._run(select(*columns).where(near))).mappings().one()
        total = WarningCounts(**{k: int(v or 0) for k, v in total_row.items()})
        per_unit = await self._run(
            select(CU.unit_id.label("unit"), *columns)
            .select_from(
                CaseRow.__table__.join(CaseUnitRow.__table__, and_(CU.case_id == C.id, CU.role == LEAD))
            )
            .where(*self._lead_of(near))
            .group_by(CU.unit_id)
        )
        units = []
        for row in per_unit.mappings():
            counts = WarningCounts(**{k: int(v or 0) for k, v in row.items() if k != "unit"})
            if counts.total or counts.supervised or counts.escalated:
                units.append(UnitWarnings(row["unit"], counts))
        rank = {u: i for i, u in enumerate(self.unit_order)}
        units.sort(
            key=lambda w: (-w.warnings.red, -w.warnings.yellow, -w.warnings.blue, rank.get(w.unit, 999))
        )
        return total, tuple(units)

    async def trend(self, period: Period) -> Trend:
        """Cases received per local day of the period and of the period before."""
        previous = period.previous()
        day = self._local_date(C.created_at, period.first)
        span = Period(previous.first, period.last)
        rows = await self._run(
            select(day.label("day"), func.count())
            .where(self._in(C.created_at, span), C.state != DRAFT, *self._scope())
            .group_by(day)
        )
        return Trend.from_counts(period, {_as_date(d): int(n) for d, n in rows})

    async def hotspots(
        self, period: Period, *, min_cases: int = HOTSPOT_MIN_CASES, limit: int = 20
    ) -> tuple[Hotspot, ...]:
        """Repeated complaints in the period about one target (a plan unit, else the target
        as written) in one area."""
        area = _area()
        written = case((C.target_unit_id.is_(None), func.trim(C.target_text)), else_="")
        n = func.count().label("n")
        rows = await self._run(
            select(C.target_unit_id, written.label("text"), area.label("area"), n)
            .where(
                self._in(C.created_at, period),
                C.state != DRAFT,
                or_(C.target_unit_id.is_not(None), func.trim(C.target_text) != ""),
                *self._scope(),
            )
            .group_by(C.target_unit_id, written, area)
            .having(func.count() >= min_cases)
            .order_by(n.desc(), C.target_unit_id.is_(None), C.target_unit_id, written)
            .limit(limit)
        )
        return tuple(Hotspot(u, t or "", a, int(k)) for u, t, a, k in rows)

    # -- units' reports --------------------------------------------------------------------------

    async def active_units(self) -> list[str]:
        stmt = select(U.id).where(U.active.is_(True))
        if self.campaign_units is not None:
            stmt = stmt.where(U.id.in_(sorted(self.campaign_units)))
        rows = await self._run(stmt)
        rank = {u: i for i, u in enumerate(self.unit_order)}
        return sorted((r for (r,) in rows), key=lambda u: (rank.get(u, len(rank)), u))

    async def self_reports(self, today: date, units: Sequence[str] | None = None) -> SelfReportCoverage:
        """自查自纠: per unit, whether a version the office did not send back is in, on time."""
        units = list(units) if units is not None else await self.active_units()
        live = R.status != ReportStatus.RETURNED.value
        rows = await self._run(
            select(
                R.unit_id,
                _flag(live).label("filed"),
                _flag(and_(live, R.late.is_(False))).label("on_time"),
                func.max(case((live, R.inspected))).label("inspected"),
                func.max(case((live, R.total))).label("total"),
            )
            .where(R.kind == ReportKind.SELF_INSPECTION.value)
            .group_by(R.unit_id)
        )
        found = {r.unit_id: r for r in rows}
        out = []
        for unit in units:
            r = found.get(unit)
            filed = bool(r and r.filed)
            status = self_report_status(filed, bool(r and r.on_time), self.self_report_due, today)
            out.append(
                UnitSelfReport(
                    unit, status, r.inspected if r and filed else None, r.total if r and filed else None
                )
            )
        return SelfReportCoverage(self.self_report_due, tuple(out))

    async def rectification(
        self, today: date, issued_before: datetime | None = None
    ) -> dict[str, RectificationCounts]:
        """整改 per unit: recommendations by status, plans and reports against deadlines."""
        live = R.status != ReportStatus.RETURNED.value
        plan = R.kind == ReportKind.RECTIFICATION_PLAN.value
        report = R.kind == ReportKind.RECTIFICATION_REPORT.value
        on_time = R.late.is_(False)
        per_rec = (
            select(
                REC.id,
                REC.unit_id,
                REC.status,
                REC.plan_due,
                REC.report_due,
                _flag(plan).label("plan_filed"),
                _flag(and_(plan, on_time)).label("plan_on_time"),
                _flag(report).label("report_filed"),
                _flag(and_(report, on_time)).label("report_on_time"),
            )
            .select_from(
                RecommendationRow.__table__.outerjoin(
                    UnitReportRow.__table__, and_(R.recommendation_id == REC.id, live)
                )
            )
            .group_by(REC.id, REC.unit_id, REC.status, REC.plan_due, REC.report_due)
        )
        if issued_before is not None:
            per_rec = per_rec.where(REC.issued_at < issued_before)
        if self.campaign_units is not None:
            per_rec = per_rec.where(REC.unit_id.in_(sorted(self.campaign_units)))
        x = per_rec.subquery()
        columns = [func.count().label("n")]
        for what, due in (("plan", x.c.plan_due), ("report", x.c.report_due)):
            filed, timely = x.c[f"{what}_filed"] == 1, x.c[f"{what}_on_time"] == 1
            columns += [
                _count(and_(filed, timely)).label(f"{what}_{DeliveryStatus.ON_TIME.value}"),
                _count(and_(filed, ~timely)).label(f"{what}_{DeliveryStatus.LATE.value}"),
                _count(and_(~filed, due < today)).label(f"{what}_{DeliveryStatus.OVERDUE.value}"),
                _count(and_(~filed, due >= today)).label(f"{what}_{DeliveryStatus.PENDING.value}"),
            ]
        rows = await self._run(select(x.c.unit_id, x.c.status, *columns).group_by(x.c.unit_id, x.c.status))
        out: dict[str, RectificationCounts] = {}
        for row in rows.mappings():
            counts = RectificationCounts(
                by_status={RecommendationStatus(row["status"]): int(row["n"])},
                plans={s: int(row[f"plan_{s.value}"]) for s in DeliveryStatus},
                reports={s: int(row[f"report_{s.value}"]) for s in DeliveryStatus},
            )
            unit = row["unit_id"]
            out[unit] = out[unit] + counts if unit in out else counts
        return out

    # -- the 通报 list ---------------------------------------------------------------------------

    async def notices(self, period: Period, *, limit: int = NOTICE_LIST_LIMIT) -> NoticeList:
        """Cases escalated in the period (overdue past the 通报 cutoff) and typical cases
        (典型案例) that saw any event in the period."""
        escalated = and_(E.kind == ESCALATED_EVENT, self._in(E.at, period))
        if self.campaign is not None:
            # not correlated: the listing below joins the cases too
            mine = select(C.id).where(*self._scope()).correlate(None)
            escalated = and_(escalated, E.case_id.in_(mine))
        total_escalated = (await self._run(select(func.count()).where(escalated))).scalar_one()
        rows = await self._run(
            select(E.at, E.data, C.id, C.tracking_no, _area().label("area"))
            .select_from(CaseEventRow.__table__.join(CaseRow.__table__, C.id == E.case_id))
            .where(escalated)
            .order_by(E.at, E.id)
            .limit(limit)
        )
        escalated_rows = rows.all()
        typical = and_(
            # spelled as the partial index ix_cases_typical is, so the planner uses it
            C.typical if self.dialect == "postgresql" else C.typical == true(),
            exists().where(E.case_id == C.id, self._in(E.at, period)),
            *self._scope(),
        )
        total_typical = (await self._run(select(func.count()).where(typical))).scalar_one()
        typical_rows = (
            await self._run(
                select(C.id, C.tracking_no, _area().label("area"), C.outcome, C.measure)
                .where(typical)
                .order_by(C.id)
                .limit(limit)
            )
        ).all()
        leads = await self._lead_units([r.id for r in (*escalated_rows, *typical_rows)])
        escalated_entries = []
        for r in escalated_rows:
            data = dict(r.data or {})
            due = data.get("due")
            overdue = data.get("overdue_days")
            escalated_entries.append(
                NoticeEntry(
                    kind=NoticeKind.ESCALATED,
                    tracking_no=r.tracking_no,
                    area=r.area,
                    lead_units=leads.get(r.id, ()),
                    at=r.at if isinstance(r.at, datetime) else None,
                    due=date.fromisoformat(due) if isinstance(due, str) else None,
                    overdue_days=overdue if isinstance(overdue, int) else None,
                )
            )
        typical_entries = [
            NoticeEntry(
                kind=NoticeKind.TYPICAL,
                tracking_no=r.tracking_no,
                area=r.area,
                lead_units=leads.get(r.id, ()),
                outcome=r.outcome,
                measure=r.measure,
            )
            for r in typical_rows
        ]
        return NoticeList(
            escalated=tuple(escalated_entries),
            escalated_total=int(total_escalated),
            typical=tuple(typical_entries),
            typical_total=int(total_typical),
        )

    async def _lead_units(self, case_ids: Sequence[int]) -> dict[int, tuple[str, ...]]:
        if not case_ids:
            return {}
        rows = await self._run(
            select(CU.case_id, CU.unit_id)
            .where(CU.case_id.in_(set(case_ids)), CU.role == LEAD)
            .order_by(CU.case_id, CU.position)
        )
        out: dict[int, list[str]] = {}
        for case_id, unit_id in rows:
            out.setdefault(case_id, []).append(unit_id)
        return {k: tuple(v) for k, v in out.items()}

    # -- assembled -------------------------------------------------------------------------------

    async def daily_digest(self, today: date) -> DailyDigest:
        """日报 on ``today``: yesterday's new cases, today's deadlines."""
        period = Period.day(today - timedelta(days=1), PeriodKind.DAILY)
        return await self.daily_digest_for(period, today)

    async def daily_digest_for(self, period: Period, today: date) -> DailyDigest:
        by_area, by_unit, matrix = await self.new_cases(period)
        warnings, per_unit = await self.warnings(today)
        return DailyDigest(
            today=today,
            period=period,
            new_by_area=by_area,
            new_by_unit=by_unit,
            new_by_area_unit=matrix,
            warnings=warnings,
            warnings_by_unit=per_unit,
        )

    async def scoreboard(
        self, period: Period, today: date, *, area: str | None = None, unit: str | None = None
    ) -> Scoreboard:
        """绩效评估 per unit: every active unit (or ``unit``), in the plan's order."""
        units = await self.active_units()
        if unit is not None:
            units = [unit]
        metrics = await self.unit_metrics(period, today, area=area, unit=unit)
        reports = await self.self_reports(today, units)
        statuses = {r.unit: r.status for r in reports.units}
        rect = await self.rectification(today, issued_before=period.end(self.rules.tz))
        rows = tuple(
            ScoreRow(
                unit=u,
                cases=metrics.get(u, CaseMetrics(key=u)),
                self_report=statuses.get(u, SelfReportStatus.NOT_SET),
                rectification=rect.get(u, RectificationCounts()),
            )
            for u in units
        )
        return Scoreboard(period=period, today=today, rows=rows)

    async def weekly_digest(self, today: date, period: Period | None = None) -> WeeklyDigest:
        """周报 on ``today`` about ``period`` (default: the previous Monday..Sunday)."""
        period = period or week_of(today - timedelta(days=7))
        rect = await self.rectification(today)
        return WeeklyDigest(
            today=today,
            period=period,
            trend=await self.trend(period),
            totals=await self.totals(period, today),
            scoreboard=await self.scoreboard(period, today),
            self_reports=await self.self_reports(today),
            rectification=total_rectification(rect.values()),
            notices=await self.notices(period),
            hotspots=await self.hotspots(period),
        )

    async def period_stats(self, period: Period, today: date) -> PeriodStats:
        by_area = sorted(
            await self.case_metrics(period, today, by="area"),
            key=lambda m: (m.key is None, self.area_order.index(m.key) if m.key in self.area_order else 99),
        )
        rank = {u: i for i, u in enumerate(self.unit_order)}
        by_unit = sorted(
            await self.case_metrics(period, today, by="unit"),
            key=lambda m: (rank.get(m.key or "", 999), m.key),
        )
        # every case has one area (or none, a group of its own): the total is the areas' sum,
        # which saves a third pass over the period's cases
        return PeriodStats(
            period=period, total=sum_metrics(by_area), by_area=tuple(by_area), by_unit=tuple(by_unit)
        )

    async def public_stats(self, today: date) -> PublicStats:
        """/stats: this week (Monday..today) and the campaign so far."""
        week = Period(week_of(today).first, today, PeriodKind.THIS_WEEK)
        campaign = Period(min(self.plan.start, today), today, PeriodKind.CAMPAIGN)
        return PublicStats(
            today=today,
            week=await self.period_stats(week, today),
            campaign=await self.period_stats(campaign, today),
        )

    # -- exports ---------------------------------------------------------------------------------

    def _export_where(self, flt: ExportFilter) -> list[ColumnElement[bool]]:
        where = [C.state != DRAFT, *self._case_filter(flt.area, flt.unit, lead_only=False)]
        if flt.campaign is not None:
            where.append(C.campaign == flt.campaign)
        return where

    async def count_cases(self, flt: ExportFilter) -> int:
        where = [self._in(C.created_at, flt.period), *self._export_where(flt)]
        return int(
            (await self._run(select(func.count()).select_from(CaseRow.__table__).where(*where))).scalar_one()
        )

    async def count_events(self, flt: ExportFilter) -> int:
        stmt = (
            select(func.count())
            .select_from(CaseEventRow.__table__.join(CaseRow.__table__, C.id == E.case_id))
            .where(self._in(E.at, flt.period), *self._export_where(flt))
        )
        return int((await self._run(stmt)).scalar_one())

    async def iter_cases(self, flt: ExportFilter, *, page: int = EXPORT_PAGE) -> AsyncIterator[CaseRecord]:
        """Cases created in the period, oldest first, a page at a time (keyset on
        (created_at, id), so a page costs the same at the end of a million rows as at the
        start). Never the complainant's identity."""
        start, end = self._bounds(flt.period)
        where = [C.created_at >= start, C.created_at < end, *self._export_where(flt)]
        after: tuple[datetime, int] | None = None
        columns = [
            C.id, C.tracking_no, C.state, C.source, _area().label("area"), C.area_auto, C.confidence,
            C.target_unit_id, C.target_text, C.place, C.occurred, C.description, C.created_at,
            C.assigned_at, C.sign_due, C.signed_at, C.answer_due, C.answered_at, C.extended,
            C.closed_at, C.outcome, C.measure, C.typical, C.satisfaction, C.satisfaction_comment,
        ]  # fmt: skip
        while True:
            stmt = select(*columns).where(*where).order_by(C.created_at, C.id).limit(page)
            if after is not None:
                stmt = stmt.where(
                    or_(C.created_at > after[0], and_(C.created_at == after[0], C.id > after[1]))
                )
            rows = (await self._run(stmt)).all()
            if not rows:
                return
            units = await self._units_of([r.id for r in rows])
            for r in rows:
                lead, assist = units.get(r.id, ((), ()))
                yield CaseRecord(
                    tracking_no=r.tracking_no,
                    state=r.state,
                    source=r.source,
                    area=r.area,
                    area_auto=r.area_auto,
                    confidence=r.confidence,
                    lead_units=lead,
                    assist_units=assist,
                    target_unit=r.target_unit_id,
                    target_text=r.target_text,
                    place=r.place,
                    occurred=r.occurred,
                    description=r.description,
                    created_at=r.created_at,
                    assigned_at=r.assigned_at,
                    sign_due=r.sign_due,
                    signed_at=r.signed_at,
                    answer_due=r.answer_due,
                    answered_at=r.answered_at,
                    extended=bool(r.extended),
                    closed_at=r.closed_at,
                    outcome=r.outcome,
                    measure=r.measure,
                    typical=bool(r.typical),
                    satisfaction=r.satisfaction,
                    satisfaction_comment=r.satisfaction_comment,
                )
            if len(rows) < page:
                return
            after = (rows[-1].created_at, rows[-1].id)

    async def _units_of(self, case_ids: Sequence[int]) -> dict[int, tuple[tuple[str, ...], tuple[str, ...]]]:
        rows = await self._run(
            select(CU.case_id, CU.unit_id, CU.role)
            .where(CU.case_id.in_(case_ids))
            .order_by(CU.case_id, CU.position)
        )
        lead: dict[int, list[str]] = {}
        assist: dict[int, list[str]] = {}
        for case_id, unit_id, role in rows:
            (lead if role == LEAD else assist).setdefault(case_id, []).append(unit_id)
        return {i: (tuple(lead.get(i, ())), tuple(assist.get(i, ()))) for i in set(lead) | set(assist)}

    async def iter_events(self, flt: ExportFilter, *, page: int = EXPORT_PAGE) -> AsyncIterator[EventRecord]:
        """Events that happened in the period, of cases of the area and unit, oldest first.
        The actor's role only: a citizen's (or anybody's) Telegram id stays out."""
        start, end = self._bounds(flt.period)
        where = [E.at >= start, E.at < end, *self._export_where(flt)]
        after: tuple[datetime, int] | None = None
        while True:
            stmt = (
                select(E.id, E.at, E.actor, E.kind, E.visibility, E.text, C.tracking_no)
                .select_from(CaseEventRow.__table__.join(CaseRow.__table__, C.id == E.case_id))
                .where(*where)
                .order_by(E.at, E.id)
                .limit(page)
            )
            if after is not None:
                stmt = stmt.where(or_(E.at > after[0], and_(E.at == after[0], E.id > after[1])))
            rows = (await self._run(stmt)).all()
            if not rows:
                return
            for r in rows:
                yield EventRecord(
                    tracking_no=r.tracking_no,
                    at=r.at,
                    actor=r.actor,
                    kind=r.kind,
                    visibility=r.visibility,
                    text=r.text,
                )
            if len(rows) < page:
                return
            after = (rows[-1].at, rows[-1].id)
