"""The scoreboard from the per-day cache (storage/scoreboard_daily.py, migration 0016) equals the
scoreboard counted from the cases, on SQLite and PostgreSQL: for random mixes of cases (every
state, dates either side of local midnight, no area, none to two lead units, ratings, reopens),
after changes to them and a rebuild, for campaign-long and other long periods, by area and by
unit; and what the cache promises about time: today's cases count at once, a change to an
older day counts from the next rebuild, and a cache of another day or zone is not used."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.i18n import Catalogue
from bot.wiring import make_deps
from core.calendar import WorkingDays
from core.cases import Case, CaseEvent, Satisfaction, Source, Visibility
from core.clock import FixedClock
from core.deadlines import DeadlineRules
from core.plan import Plan
from core.ports import UnitOfWorkFactory
from core.services.units import sync_plan_units
from core.states import Actor, CaseState
from core.stats import CaseMetrics, Period, PeriodKind
from storage import scoreboard_daily
from storage.health import last_pass_finished
from storage.models import (
    CaseEventRow,
    CaseRecusalRow,
    CaseRow,
    CaseUnitRow,
    ScoreboardDailyRefreshRow,
    ScoreboardDailyRow,
)
from storage.stats import CACHE_MIN_DAYS, StatsReader
from tests.support.harness import make_test_settings
from tests.support.stats_seed import TODAY, TZ, seed_mix

RULES = DeadlineRules(WorkingDays(), "Asia/Shanghai")
NOW = datetime.combine(TODAY, time(9, 30), tzinfo=TZ)
MIDNIGHT = datetime.combine(TODAY, time(0), tzinfo=TZ)  # today's first instant, local
AREAS = [None, "conduct", "enforcement"]
UNITS = ["organs_work_committee", "discipline_commission", "supervision_bureau"]
STATES = list(CaseState)
BLANK = dict.fromkeys(("assigned", "sign_due", "signed", "answer_due", "answered", "satisfaction"))


def periods(plan: Plan) -> list[Period]:
    return [
        Period(plan.start, TODAY, PeriodKind.CAMPAIGN),
        Period(TODAY - timedelta(days=45), TODAY),
        Period(TODAY - timedelta(days=60), TODAY - timedelta(days=10)),
        Period(TODAY - timedelta(days=40), TODAY + timedelta(days=6)),
    ]


def _moment(minutes: int) -> datetime:
    # minutes from today's local midnight, in UTC as the clock gives them
    return (MIDNIGHT + timedelta(minutes=minutes)).astimezone(UTC)


@st.composite
def case_specs(draw: Any) -> dict[str, Any]:
    # days back from today: any of the last 70, or often the last few (where the cached days
    # meet the counted ones and deadlines are about to mature)
    day = draw(st.one_of(st.integers(-70, 0), st.integers(-4, 0)))
    # a minute of the day: near midnight often, where a UTC day and a local day differ
    minute = draw(st.one_of(st.sampled_from([0, 1, 479, 480, 959, 960, 1439]), st.integers(0, 1439)))
    created = day * 1440 + (min(minute, 600) if day == 0 else minute)  # today: this morning

    def when(base_day: int) -> int | None:
        if not draw(st.booleans()):
            return None
        return (base_day + draw(st.integers(-2, 2))) * 1440 + draw(st.sampled_from([0, 1, 600, 1439]))

    sign_due = day + draw(st.integers(0, 3)) if draw(st.integers(0, 3)) else None
    answer_due = day + draw(st.integers(0, 12)) if draw(st.integers(0, 3)) else None
    running = [CaseState.ASSIGNED, CaseState.SIGNED, CaseState.EXTENSION_REQUESTED]
    return {
        "created": created,
        "state": draw(st.one_of(st.sampled_from(running), st.sampled_from(STATES))),
        "area": draw(st.sampled_from(AREAS)),
        "lead": draw(st.lists(st.sampled_from(UNITS), max_size=2, unique=True)),
        "assigned": when(day),
        "sign_due": sign_due,
        "signed": when(sign_due) if sign_due is not None else None,
        "answer_due": answer_due,
        "answered": when(answer_due) if answer_due is not None else None,
        "satisfaction": draw(st.sampled_from([None, *Satisfaction])),
        "reopened": draw(st.booleans()),
    }


def _case(n: int, spec: dict[str, Any]) -> Case:
    def at(minutes: int | None) -> datetime | None:
        return None if minutes is None else _moment(minutes)

    def on(days: int | None) -> date | None:
        return None if days is None else TODAY + timedelta(days=days)

    created = _moment(spec["created"])
    return Case(
        tracking_no=f"ZH-2026-{n:06d}",
        state=spec["state"],
        source=Source.CITIZEN,
        description="…",
        created_at=created,
        area_auto=spec["area"],
        lead_unit_ids=list(spec["lead"]),
        assigned_at=at(spec["assigned"]),
        sign_due=on(spec["sign_due"]),
        signed_at=at(spec["signed"]),
        answer_due=on(spec["answer_due"]),
        answered_at=at(spec["answered"]),
        satisfaction=spec["satisfaction"],
    )


async def _reopen(uow: Any, case_id: int, minutes: int) -> None:
    event = CaseEvent(case_id, _moment(minutes), Actor.CITIZEN, "c", "reopen", Visibility.PUBLIC)
    await uow.events.add(event)


async def _wipe(factory: async_sessionmaker[AsyncSession]) -> None:
    async with factory() as session:
        for row in (
            CaseEventRow,
            CaseUnitRow,
            CaseRecusalRow,
            CaseRow,
            ScoreboardDailyRow,
            ScoreboardDailyRefreshRow,
        ):
            await session.execute(delete(row))
        await session.commit()


def _nonzero(metrics: dict[str | None, CaseMetrics]) -> dict[str | None, CaseMetrics]:
    # a unit with nothing in the period may come back as a row of zeros or not at all
    return {k: m for k, m in metrics.items() if m != CaseMetrics(key=k)}


async def _assert_cache_equals_cases(factory: async_sessionmaker[AsyncSession], plan: Plan) -> int:
    """Every period, area and unit: the cached figures are the counted ones. Returns how many
    comparisons saw any figure, so a test can tell it compared something."""
    seen = 0
    async with factory() as session:
        reader = StatsReader(session, RULES, plan)
        assert await reader.cache_through(TODAY) == TODAY  # the cache is what is being read
        for period in periods(plan):
            assert period.days > CACHE_MIN_DAYS
            for area in (None, "conduct"):
                for unit in (None, UNITS[1]):
                    cached = await reader.unit_metrics(period, TODAY, area=area, unit=unit)
                    counted = await reader.unit_metrics(period, TODAY, area=area, unit=unit, cached=False)
                    assert _nonzero(cached) == _nonzero(counted), (period, area, unit)
                    seen += bool(_nonzero(counted))
            board = await reader.scoreboard(period, TODAY)
            counted = await reader.unit_metrics(period, TODAY, cached=False)
            for row in board.rows:
                assert row.cases == counted.get(row.unit, CaseMetrics(key=row.unit)), (period, row.unit)
    return seen


@pytest.fixture
async def units(sql_uow: UnitOfWorkFactory, plan: Plan) -> UnitOfWorkFactory:
    await sync_plan_units(plan, sql_uow)
    return sql_uow


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    specs=st.lists(case_specs(), min_size=1, max_size=25),
    changes=st.lists(st.tuples(st.integers(0, 24), case_specs()), max_size=8),
)
async def test_the_cached_scoreboard_is_the_counted_one_for_any_mix_and_after_changes(
    units: UnitOfWorkFactory,
    session_factory: async_sessionmaker[AsyncSession],
    plan: Plan,
    specs: list[dict[str, Any]],
    changes: list[tuple[int, dict[str, Any]]],
) -> None:
    await _wipe(session_factory)
    ids = []
    async with units() as uow:
        for n, spec in enumerate(specs, start=1):
            case = await uow.cases.add(_case(n, spec))
            assert case.id is not None
            ids.append(case.id)
            if spec["reopened"]:
                await _reopen(uow, case.id, spec["created"] + 1)
        await uow.commit()
    assert await scoreboard_daily.refresh_if_stale(session_factory, RULES, plan, NOW)
    await _assert_cache_equals_cases(session_factory, plan)

    # changes to older days (another rating, area, lead units, dates, a reopen), then the rebuild
    async with units() as uow:
        for index, spec in changes:
            case_id = ids[index % len(ids)]
            stored = await uow.cases.get(case_id)
            assert stored is not None
            changed = _case(0, spec)
            for name in ("state", "area_auto", "lead_unit_ids", "sign_due", "signed_at", "answer_due"):
                setattr(stored, name, getattr(changed, name))
            stored.answered_at, stored.satisfaction = changed.answered_at, changed.satisfaction
            await uow.cases.update(stored)
            if spec["reopened"]:
                await _reopen(uow, case_id, 0)
        await uow.commit()
    later = NOW + scoreboard_daily.REFRESH_EVERY
    assert await scoreboard_daily.refresh_if_stale(session_factory, RULES, plan, later)
    await _assert_cache_equals_cases(session_factory, plan)


async def test_the_statistics_mix_reads_the_same_from_the_cache(
    units: UnitOfWorkFactory, session_factory: async_sessionmaker[AsyncSession], plan: Plan
) -> None:
    await seed_mix(units, plan)
    await scoreboard_daily.refresh_if_stale(session_factory, RULES, plan, NOW)
    assert await _assert_cache_equals_cases(session_factory, plan) > 0


async def _campaign_received(
    factory: async_sessionmaker[AsyncSession], plan: Plan, unit: str
) -> tuple[int, int]:
    """(from the cache, counted) cases received by ``unit`` over the campaign."""
    period = Period(plan.start, TODAY, PeriodKind.CAMPAIGN)
    async with factory() as session:
        reader = StatsReader(session, RULES, plan)
        cached = await reader.unit_metrics(period, TODAY, unit=unit)
        counted = await reader.unit_metrics(period, TODAY, unit=unit, cached=False)
    return cached[unit].received, counted[unit].received


async def test_today_counts_at_once_and_an_older_day_from_the_next_rebuild(
    units: UnitOfWorkFactory, session_factory: async_sessionmaker[AsyncSession], plan: Plan
) -> None:
    unit = UNITS[0]
    old = {"created": -3 * 1440, "state": CaseState.ASSIGNED, "area": "conduct", "lead": [unit]}
    async with units() as uow:
        first = await uow.cases.add(_case(1, {**BLANK, **old}))
        await uow.commit()
    assert await scoreboard_daily.refresh_if_stale(session_factory, RULES, plan, NOW)
    assert await _campaign_received(session_factory, plan, unit) == (1, 1)
    async with session_factory() as session:
        rows = (await session.execute(select(func.count()).select_from(ScoreboardDailyRow))).scalar_one()
    assert rows == 1  # one unit, one area, one day

    async with units() as uow:
        await uow.cases.add(_case(2, {**BLANK, **old, "created": 60}))  # today, 01:00
        assert first.id is not None
        moved = await uow.cases.get(first.id)
        assert moved is not None
        moved.lead_unit_ids = [UNITS[1]]  # re-routed: no longer the unit's
        await uow.cases.update(moved)
        await uow.commit()
    # today's case at once; the re-routed older one still counts for the unit until the rebuild
    assert await _campaign_received(session_factory, plan, unit) == (2, 1)
    soon = NOW + scoreboard_daily.REFRESH_EVERY / 2
    assert not await scoreboard_daily.refresh_if_stale(session_factory, RULES, plan, soon)
    assert await _campaign_received(session_factory, plan, unit) == (2, 1)
    assert await scoreboard_daily.refresh_if_stale(
        session_factory, RULES, plan, NOW + scoreboard_daily.REFRESH_EVERY
    )
    assert await _campaign_received(session_factory, plan, unit) == (1, 1)


async def test_a_cache_of_another_day_or_zone_is_not_read(
    units: UnitOfWorkFactory, session_factory: async_sessionmaker[AsyncSession], plan: Plan
) -> None:
    async with units() as uow:
        spec = {"created": -2 * 1440, "state": CaseState.ASSIGNED, "area": "conduct", "lead": [UNITS[0]]}
        await uow.cases.add(_case(1, {**BLANK, **spec}))
        await uow.commit()
    assert await scoreboard_daily.refresh_if_stale(session_factory, RULES, plan, NOW - timedelta(days=1))
    async with session_factory() as session:
        reader = StatsReader(session, RULES, plan)
        assert await reader.cache_through(TODAY - timedelta(days=1)) == TODAY - timedelta(days=1)
        assert await reader.cache_through(TODAY) is None  # yesterday's: counted instead
        other = StatsReader(session, DeadlineRules(WorkingDays(), "Asia/Urumqi"), plan)
        assert await other.cache_through(TODAY - timedelta(days=1)) is None
    # the new day makes it stale at once, whatever REFRESH_EVERY says
    assert await scoreboard_daily.refresh_if_stale(session_factory, RULES, plan, NOW)
    assert await _campaign_received(session_factory, plan, UNITS[0]) == (1, 1)


async def test_the_pass_records_its_finish_then_rebuilds_the_cache_when_due(
    units: UnitOfWorkFactory, session_factory: async_sessionmaker[AsyncSession], plan: Plan
) -> None:
    recorded: list[tuple[str, datetime]] = []

    async def record(holder: str, at: datetime) -> None:
        recorded.append((holder, at))

    finished = scoreboard_daily.after_pass(record, session_factory, RULES, plan)
    await finished("bot-1", NOW)
    async with session_factory() as session:
        last = (await session.execute(select(ScoreboardDailyRefreshRow))).scalar_one()
    assert recorded == [("bot-1", NOW)]
    assert (last.zone, last.through, last.refreshed_at) == ("Asia/Shanghai", TODAY, NOW)


async def test_the_running_bots_pass_keeps_the_cache(
    db_url: str, plan: Plan, clock: FixedClock, catalogue: Catalogue
) -> None:
    deps = make_deps(make_test_settings(db_url), plan, clock=clock, catalogue=catalogue)
    try:
        assert deps.session_factory is not None
        await sync_plan_units(plan, deps.uow)
        summary = await deps.services.periodic.run()
        assert summary.ran
        async with deps.session_factory() as session:
            last = (await session.execute(select(ScoreboardDailyRefreshRow))).scalar_one()
            finished = await last_pass_finished(session)
        assert last.through == clock.now().astimezone(deps.services.deadlines.tz).date()
        assert last.refreshed_at == clock.now() and finished is not None  # the health record too
    finally:
        await deps.aclose()
