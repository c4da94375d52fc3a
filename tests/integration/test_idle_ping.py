"""PostgreSQL connections are tried only after sitting idle (storage.db._install_idle_ping).

pool_pre_ping tried every checkout (three round trips with asyncpg); now a connection just
used goes straight back to work, one idle for longer than ``IDLE_PING_AFTER`` is tried first
and, dead, replaced before any statement sees it. What that costs is shown too: a connection
killed within the second fails the one statement that finds out, and the next gets a new one."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

import storage.db
from storage.db import make_engine

pytestmark = pytest.mark.postgres


@pytest.fixture
async def engine(migrated_pg_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(migrated_pg_url, pool_size=1, max_overflow=0)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
def pings(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    seen: list[int] = []
    real = AsyncAdapt_asyncpg_connection.ping

    def counted(self: AsyncAdapt_asyncpg_connection) -> None:
        seen.append(1)
        real(self)

    monkeypatch.setattr(AsyncAdapt_asyncpg_connection, "ping", counted)
    return seen


async def backend_pid(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def kill(url: str, pid: int) -> None:
    admin = make_engine(url)
    try:
        async with admin.connect() as conn:
            assert (await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})).scalar_one()
    finally:
        await admin.dispose()


async def test_a_connection_just_used_is_not_pinged(engine: AsyncEngine, pings: list[int]) -> None:
    first = await backend_pid(engine)
    for _ in range(5):
        assert await backend_pid(engine) == first  # the same pooled connection each time
    assert pings == []


async def test_an_idle_connection_that_died_is_replaced_before_use(
    engine: AsyncEngine, migrated_pg_url: str, pings: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    first = await backend_pid(engine)
    await kill(migrated_pg_url, first)  # e.g. the server restarted overnight
    monkeypatch.setattr(storage.db, "IDLE_PING_AFTER", 0.0)  # every checkout counts as idle
    second = await backend_pid(engine)  # no error: the ping found it dead, the pool reconnected
    assert second != first
    assert len(pings) == 1


async def test_a_connection_that_died_within_the_second_fails_one_statement(
    engine: AsyncEngine, migrated_pg_url: str, pings: list[int]
) -> None:
    first = await backend_pid(engine)
    await kill(migrated_pg_url, first)
    with pytest.raises(DBAPIError) as failed:
        await backend_pid(engine)
    assert failed.value.connection_invalidated
    assert await backend_pid(engine) != first  # the next statement has a new connection
    assert pings == []
