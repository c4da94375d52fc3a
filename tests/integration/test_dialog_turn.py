"""One dialog turn in the store (``SqlDialogStore.turn`` / ``write_turn``): the rows it reads are
what the previous turn wrote, on both back ends; on PostgreSQL its advisory locks are held from
the read until the write (``dialog_turn_open`` / ``dialog_turn_close``, migration 0018) or the
turn's end, whatever fails in between."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core.clock import FixedClock
from storage.db import make_engine
from storage.dialog_store import KEEP, SqlDialogStore, advisory_id

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
CHAT, USER = ("chat", 42), ("user", 42)
KEY = (42, 42)
# the advisory locks are PostgreSQL's: on SQLite one process is the supported shape
POSTGRES_ONLY = pytest.mark.parametrize("backend", [pytest.param("postgres", marks=pytest.mark.postgres)])


@pytest.fixture
async def lock_engine(engine: AsyncEngine) -> AsyncIterator[AsyncEngine | None]:
    """PostgreSQL: an AUTOCOMMIT engine of its own, as bot.dialog_state makes; SQLite: none."""
    if engine.dialect.name != "postgresql":
        yield None
        return
    locks = make_engine(engine.url, isolation_level="AUTOCOMMIT")
    yield locks
    await locks.dispose()


@pytest.fixture
def store(
    session_factory: async_sessionmaker[AsyncSession], lock_engine: AsyncEngine | None
) -> SqlDialogStore:
    return SqlDialogStore(session_factory, FixedClock(T0), lock_engine=lock_engine)


async def held_elsewhere(engine: AsyncEngine, *keys: object) -> list[bool]:
    """Whether each key's advisory lock is held by another session (tried, and given back)."""
    async with engine.connect() as conn:
        found = []
        for key in keys:
            lock = advisory_id(key)
            taken = (await conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": lock})).scalar_one()
            if taken:
                await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": lock})
            found.append(not taken)
        await conn.commit()
    return found


async def test_a_turn_reads_what_the_previous_turn_wrote(store: SqlDialogStore) -> None:
    wanted = [("complaint", KEY), ("report", KEY)]
    async with store.turn([CHAT, USER], 42, wanted) as (held, rows):
        assert rows.user_data is None and rows.conversations == {}
        # a string state (python-telegram-bot's own are ints; ours may be names), a draft
        # with Chinese text, a NUL a handler let through (PostgreSQL refuses it in JSONB)
        draft = {"draft": {"description": "窗口\x00人员态度差", "area": 2}, "lang": "zh"}
        await store.write_turn(42, draft, {("complaint", KEY): "DESCRIBE", ("report", KEY): 3}, held)
    async with store.turn([CHAT, USER], 42, wanted) as (held, rows):
        assert rows.user_data == {"draft": {"description": "窗口人员态度差", "area": 2}, "lang": "zh"}
        assert rows.conversations == {("complaint", KEY): "DESCRIBE", ("report", KEY): 3}
        # the dialog ends: its state and the user's data go
        await store.write_turn(42, {}, {("complaint", KEY): None}, held)
    async with store.turn([CHAT, USER], 42, wanted) as (held, rows):
        assert rows.user_data is None
        assert rows.conversations == {("report", KEY): 3}
        await store.write_turn(42, KEEP, {}, held)  # nothing changed: nothing written
    assert (await store.read_turn(42, wanted)).conversations == {("report", KEY): 3}


@POSTGRES_ONLY
async def test_the_locks_are_held_from_the_read_until_the_write(
    store: SqlDialogStore, engine: AsyncEngine
) -> None:
    async with store.turn([CHAT, USER], 42, [("complaint", KEY)]) as (held, _):
        assert await held_elsewhere(engine, CHAT, USER) == [True, True]
        assert held is not None
        await store.write_turn(42, KEEP, {("complaint", KEY): "PLACE"}, held)
        # released with the write, in the same round trip, and only after its commit
        assert held.released
        assert await held_elsewhere(engine, CHAT, USER) == [False, False]
    async with store.turn([CHAT, USER], 42, [("complaint", KEY)]) as (held, rows):
        assert rows.conversations == {("complaint", KEY): "PLACE"}
    # a turn that wrote nothing lets go when it ends
    assert await held_elsewhere(engine, CHAT, USER) == [False, False]


@POSTGRES_ONLY
async def test_a_failed_write_writes_nothing_and_the_turn_still_lets_go(
    store: SqlDialogStore, engine: AsyncEngine
) -> None:
    too_long = "x" * 65  # dialog_conversations.name is VARCHAR(64)
    with pytest.raises(DBAPIError):
        async with store.turn([CHAT, USER], 42, [("complaint", KEY)]) as (held, _):
            await store.write_turn(
                42, {"draft": {"area": 1}}, {("complaint", KEY): "PLACE", (too_long, KEY): 1}, held
            )
    assert await held_elsewhere(engine, CHAT, USER) == [False, False]
    rows = await store.read_turn(42, [("complaint", KEY)])
    assert rows.user_data is None and rows.conversations == {}  # the write was one transaction


@POSTGRES_ONLY
async def test_a_turn_waits_for_the_holder_and_reads_its_write(store: SqlDialogStore) -> None:
    """The second turn's read comes after the first turn's commit, not from a snapshot taken
    while it waited for the locks."""
    first_holds = asyncio.Event()
    order: list[str] = []

    async def first() -> None:
        async with store.turn([CHAT, USER], 42, [("complaint", KEY)]) as (held, _):
            first_holds.set()
            await asyncio.sleep(0.2)
            order.append("first writes")
            await store.write_turn(42, KEEP, {("complaint", KEY): "TIME"}, held)

    async def second() -> object:
        await first_holds.wait()
        async with store.turn([CHAT, USER], 42, [("complaint", KEY)]) as (_, rows):
            order.append("second reads")
            return rows.conversations.get(("complaint", KEY))

    _, seen = await asyncio.gather(first(), second())
    assert order == ["first writes", "second reads"]
    assert seen == "TIME"
