"""The campaign-long scoreboard's per-day cache (issue 13, migration 0016).

At a million cases the campaign-long scoreboard counted every case's figures per lead unit
(2.2 s). ``scoreboard_daily`` holds those figures per lead unit, area and local day for the
days before the day it was refreshed on; ``StatsReader.unit_metrics`` adds them up for the
days they cover and counts only the days since from the cases (an index range).

Why a cache rebuilt by the periodic pass rather than counts kept in step with every write: a
case's figures change through many paths (filing, routing, signing, answering, the rating, a
reopen event, reclassification), some of them Core statements tuned to a statement budget
(issue 11's submit), and a restore or a bulk load writes rows directly. Kept in step, any path
that forgot it would skew the year-end evaluation for good; rebuilt, the cache is at most
``REFRESH_EVERY`` behind the cases for the days before today (a rating given to an answer of
last week shows in the campaign figures at the next rebuild, as the dashboard's own two-minute
cache already delays it), today's figures are always live, and a rebuild repairs anything.
The cache is used only when it was rebuilt today in the reader's time zone; otherwise (no bot
running the pass, a new day not yet rebuilt, another zone) the scoreboard counts the cases as
before, slower but never wrong.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.deadlines import DeadlineRules
from core.plan import Plan
from storage.db import make_session_factory
from storage.models import ScoreboardDailyRefreshRow, ScoreboardDailyRow
from storage.repositories._sql import insert_for
from storage.stats import StatsReader

log = logging.getLogger(__name__)

REFRESH_EVERY = timedelta(minutes=10)  # how far the cached days may lag behind the cases
# PostgreSQL advisory lock key: two instances finishing a pass at once rebuild once
_LOCK_KEY = 0x5C0_2EB0_A2D
_COLUMNS = [c.name for c in ScoreboardDailyRow.__table__.columns]


async def refresh(
    session: AsyncSession,
    rules: DeadlineRules,
    plan: Plan,
    now: datetime,
    rows: Sequence[Mapping[str, Any]] | None = None,
) -> None:
    """Rebuild the cache from the cases, for the local days before ``now``'s (in the caller's
    transaction: readers see the old rows or the new, never a half). ``rows``: the figures
    counted beforehand (``count_rows``), else counted here, in the statement that stores them."""
    zone = getattr(rules.tz, "key", None)
    if not isinstance(zone, str):
        raise ValueError("the scoreboard cache needs a named time zone (rules.tz.key)")
    through = now.astimezone(rules.tz).date()
    reader = StatsReader(session, rules, plan)
    await session.execute(delete(ScoreboardDailyRow))
    if rows is None:
        await session.execute(insert(ScoreboardDailyRow).from_select(_COLUMNS, reader.daily_rows(through)))
    elif rows:
        await session.execute(insert(ScoreboardDailyRow), [dict(r) for r in rows])
    t = ScoreboardDailyRefreshRow.__table__
    values = {"zone": zone, "through": through, "refreshed_at": now}
    stmt = (
        insert_for(session, t)
        .values(id=1, **values)
        .on_conflict_do_update(index_elements=[t.c.id], set_=values)
    )
    await session.execute(stmt)


async def refresh_if_stale(
    factory: async_sessionmaker[AsyncSession],
    rules: DeadlineRules,
    plan: Plan,
    now: datetime,
    *,
    every: timedelta = REFRESH_EVERY,
) -> bool:
    """Rebuild (own transaction) unless it was rebuilt today, in this zone, within ``every``.
    True when it rebuilt."""
    if _is_sqlite(factory):
        return await _refresh_sqlite(factory, rules, plan, now, every)
    async with factory() as session:
        if session.get_bind().dialect.name == "postgresql":
            # held to the commit; SQLite's writers are one at a time already (BEGIN IMMEDIATE)
            await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        last = (
            await session.execute(select(ScoreboardDailyRefreshRow).where(ScoreboardDailyRefreshRow.id == 1))
        ).scalar_one_or_none()
        if _fresh(last, rules, now, every):
            return False
        await refresh(session, rules, plan, now)
        await session.commit()
        return True


def _is_sqlite(factory: async_sessionmaker[AsyncSession]) -> bool:
    bind = factory.kw.get("bind")
    return bind is not None and bind.dialect.name == "sqlite"


def _fresh(
    last: ScoreboardDailyRefreshRow | None, rules: DeadlineRules, now: datetime, every: timedelta
) -> bool:
    return (
        last is not None
        and last.zone == getattr(rules.tz, "key", None)
        and last.through == now.astimezone(rules.tz).date()
        and now - last.refreshed_at < every
    )


async def count_rows(
    session: AsyncSession, rules: DeadlineRules, plan: Plan, now: datetime
) -> list[dict[str, Any]]:
    """The cache's rows as the cases give them now, read only."""
    through = now.astimezone(rules.tz).date()
    result = await session.execute(StatsReader(session, rules, plan).daily_rows(through))
    rows = [dict(row._mapping) for row in result]
    for row in rows:  # SQLite gives the computed day back as its ISO text
        if isinstance(row["day"], str):
            row["day"] = date.fromisoformat(row["day"])
    return rows


async def _refresh_sqlite(
    factory: async_sessionmaker[AsyncSession],
    rules: DeadlineRules,
    plan: Plan,
    now: datetime,
    every: timedelta,
) -> bool:
    # SQLite has one writer at a time: counting a large campaign (seconds at a million cases)
    # inside the write transaction would hold every citizen's filing past its busy timeout. So
    # the check and the count read a snapshot without the write lock, and the write transaction
    # only swaps the rows (tens of thousands at most: units x areas x days).
    bind = factory.kw["bind"]
    async with make_session_factory(bind, read_only=True)() as reading:
        last = (
            await reading.execute(select(ScoreboardDailyRefreshRow).where(ScoreboardDailyRefreshRow.id == 1))
        ).scalar_one_or_none()
        if _fresh(last, rules, now, every):
            return False
        rows = await count_rows(reading, rules, plan, now)
    async with factory() as session:
        await refresh(session, rules, plan, now, rows)
        await session.commit()
    return True


def after_pass(
    recorded: Callable[[str, datetime], Awaitable[None]] | None,
    factory: async_sessionmaker[AsyncSession],
    rules: DeadlineRules,
    plan: Plan,
) -> Callable[[str, datetime], Awaitable[None]]:
    """The periodic pass's ``on_finished``: what was there (``recorded``, the health record),
    then the cache's rebuild when it is due. A failed rebuild is logged and tried again after
    the next pass; the scoreboard counts the cases meanwhile."""

    async def finished(holder: str, at: datetime) -> None:
        if recorded is not None:
            await recorded(holder, at)
        try:
            if await refresh_if_stale(factory, rules, plan, at):
                log.info("scoreboard cache rebuilt for the days before %s", at.astimezone(rules.tz).date())
        except Exception:
            log.exception("scoreboard cache: the rebuild failed")

    return finished
