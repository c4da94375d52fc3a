"""The send budget's shared counts on PostgreSQL (storage/send_budget.py): several instances
(each its own engine, as separate processes have) claiming at once never overfill a slot or a
group's minute, and what they let through together stays under Telegram's 30 a second."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.send_budget import SLOTS_PER_SECOND, Priority, SendBudget, make_send_budget, slot_cap
from storage.db import make_engine
from storage.models import SendBudgetRow
from storage.send_budget import SqlSendLedger

pytestmark = [pytest.mark.postgres]

CAP = slot_cap(30, SLOTS_PER_SECOND)


@pytest.fixture
async def engines(migrated_pg_url: str) -> AsyncIterator[list[AsyncEngine]]:
    made = [make_engine(migrated_pg_url) for _ in range(3)]  # three instances, three pools
    async with made[0].begin() as conn:
        await conn.run_sync(SendBudgetRow.__table__.create, checkfirst=True)  # type: ignore[attr-defined]
    try:
        yield made
    finally:
        for engine in made:
            await engine.dispose()


async def rows(engine: AsyncEngine, scope: str) -> list[tuple[int, int]]:
    async with engine.connect() as conn:
        result = await conn.execute(
            select(SendBudgetRow.slot, SendBudgetRow.used).where(SendBudgetRow.scope == scope)
        )
        return [(int(slot), int(used)) for slot, used in result]


async def test_instances_claiming_at_once_never_overfill_a_slot(engines: list[AsyncEngine]) -> None:
    ledgers = [SqlSendLedger(e) for e in engines]

    async def claim(i: int) -> bool:
        return await ledgers[i % 3].take("all", slots_per_second=SLOTS_PER_SECOND, cap=CAP, reserve=0)

    granted = await asyncio.gather(*(claim(i) for i in range(90)))

    slots = await rows(engines[0], "all")
    assert sum(granted) == sum(used for _, used in slots)  # every grant counted, nothing more
    assert all(used <= CAP for _, used in slots)
    assert 0 < sum(granted) < 90  # a burst of 90 at once cannot all go


async def test_a_notice_leaves_the_first_half_of_a_slot_to_replies(engines: list[AsyncEngine]) -> None:
    ledger = SqlSendLedger(engines[0])

    async def db_time() -> float:
        async with engines[0].connect() as conn:
            value = (await conn.exec_driver_sql("SELECT extract(epoch FROM clock_timestamp())")).scalar_one()
        return float(value)

    # one-second slots of one message, one kept back: a notice only gets a slot's second half
    seen: set[tuple[bool, bool]] = set()  # (in the first half, taken)
    for i in range(40):
        before = await db_time()
        taken = await ledger.take(f"n{i}", slots_per_second=1, cap=1, reserve=1)  # a fresh slot each
        after = await db_time()
        if int(before) == int(after):  # both readings in the slot the take counted in
            first_half = after - int(after) < 0.5
            if before - int(before) < 0.5 or not first_half:
                seen.add((first_half, taken))
        await asyncio.sleep(0.05)
    assert (True, True) not in seen  # never in the first half
    assert (True, False) in seen and (False, True) in seen  # refused early, taken late
    assert await ledger.take("reply", slots_per_second=1, cap=1, reserve=0)  # a reply: any time


async def test_a_group_gets_its_limit_per_window_across_instances(engines: list[AsyncEngine]) -> None:
    ledgers = [SqlSendLedger(e) for e in engines]

    waits = await asyncio.gather(
        *(ledgers[i % 3].take_in_window("group:-1", cap=5, window=60.0) for i in range(12))
    )

    assert sorted(waits)[:5] == [0.0] * 5
    assert all(w > 0 for w in sorted(waits)[5:])  # the rest are told how long to wait
    assert max(waits) <= 60.0
    assert sum(used for _, used in await rows(engines[0], "group:-1")) == 5


async def test_budgets_of_three_instances_together_stay_under_thirty_a_second(
    engines: list[AsyncEngine],
) -> None:
    budgets: list[SendBudget] = [make_send_budget(e) for e in engines]
    assert all(b.shared is not None for b in budgets)
    loop = asyncio.get_running_loop()
    sent: list[float] = []

    async def send(i: int) -> None:
        await budgets[i % 3].acquire(10_000 + i, Priority.NOTICE if i % 2 else Priority.REPLY)
        sent.append(loop.time())

    await asyncio.gather(*(send(i) for i in range(75)))

    sent.sort()
    assert len(sent) == 75
    # any 30 consecutive sends span at least most of a second (the slots are counted on the
    # database's clock, these times on ours: a little jitter between the two is allowed)
    assert min(b - a for a, b in zip(sent, sent[30:], strict=False)) > 0.8
    # and the budget is used: 75 messages take about 75 / 27 seconds, not much more
    assert sent[-1] - sent[0] < 4.5
