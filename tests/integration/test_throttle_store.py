"""The flood counter several instances share (storage/repositories/throttle.py), on a real
database: it counts per user and window in one statement, starts again in a new window, stays
exact under concurrent instances, and with the in-process window (bot/throttle.py) holds a
user spread over several instances to the limit. The bot uses it on PostgreSQL only; the same
tests run on SQLite to show the statement is portable."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.throttle import UpdateThrottle, Verdict
from core.clock import FixedClock
from storage.db import make_engine
from storage.repositories.throttle import SqlThrottleCounter

W0 = datetime(2026, 11, 23, 2, 0, 0, tzinfo=UTC)
W1 = W0 + timedelta(seconds=10)


async def test_counts_per_user_and_window_and_starts_again_in_a_new_window(engine: AsyncEngine) -> None:
    counter = SqlThrottleCounter(engine)

    assert [await counter.hit(1, W0) for _ in range(3)] == [1, 2, 3]
    assert await counter.hit(2, W0) == 1  # another user counts apart
    assert await counter.hit(1, W1) == 1  # a new window starts at one
    assert await counter.hit(1, W0) == 2  # a late one stamped with the old window counts in the new
    assert await counter.hit(1, W1) == 3


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"])
async def test_concurrent_instances_never_lose_a_count(db_url: str) -> None:
    engines = [make_engine(db_url) for _ in range(3)]  # three instances, three pools
    try:
        counters = [SqlThrottleCounter(e) for e in engines]
        counts = await asyncio.gather(*(counters[i % 3].hit(42, W0) for i in range(60)))
    finally:
        for e in engines:
            await e.dispose()
    assert sorted(counts) == list(range(1, 61))


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"])
async def test_a_user_spread_over_instances_is_held_to_the_limit(db_url: str) -> None:
    clock = FixedClock(W0 + timedelta(seconds=1))
    engines = [make_engine(db_url) for _ in range(3)]
    try:
        instances = [UpdateThrottle(10.0, clock, SqlThrottleCounter(e)) for e in engines]
        # a load balancer spreads one user's 30 updates round-robin over three instances
        verdicts = [await instances[i % 3].check(7, 20) for i in range(30)]
        assert verdicts[:20] == [Verdict.PASS] * 20
        assert verdicts[20:].count(Verdict.WARN) == 1
        assert Verdict.PASS not in verdicts[20:]

        clock.advance(timedelta(seconds=10))
        assert await instances[1].check(7, 20) is Verdict.PASS
    finally:
        for e in engines:
            await e.dispose()
