"""Writes that ride along (storage.db.RIDE_ALONG_OPTION): on SQLite they go to the database's
thread with the transaction's next statement or its COMMIT (storage.sqlite_driver), on
PostgreSQL as usual. Either way a transaction reads what it wrote, keeps its order, and stores
all of it or, when one of them breaks a constraint, none of it."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

import storage.sqlite_driver as driver
from storage.db import RIDE_ALONG_OPTION
from storage.models import UnitRow

RIDE = {RIDE_ALONG_OPTION: True}
ADD = insert(UnitRow)


def unit(n: int) -> dict[str, str]:
    return {"id": f"u{n}", "name": f"单位{n}", "kind": "office"}


async def names(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as conn:
        return list((await conn.execute(select(UnitRow.name).order_by(UnitRow.id))).scalars())


@pytest.fixture
def trips(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What went to SQLite's thread: "run" per statement's trip, "commit" per COMMIT that
    carried writes (PostgreSQL: nothing). A new connection's own set-up (PRAGMAs) is left out."""
    seen: list[str] = []
    run, commit = driver._run, driver._commit

    def counted_run(*args: Any) -> Any:
        if not str(args[1]).startswith("PRAGMA"):
            seen.append("run")
        return run(*args)

    def counted_commit(*args: Any) -> Any:
        seen.append("commit")
        return commit(*args)

    monkeypatch.setattr(driver, "_run", counted_run)
    monkeypatch.setattr(driver, "_commit", counted_commit)
    return seen


async def test_what_rode_along_is_read_back_in_order_and_committed(
    engine: AsyncEngine, trips: list[str]
) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(lambda c: c.execute(ADD, [unit(1), unit(2)], execution_options=RIDE))
        await conn.run_sync(lambda c: c.execute(ADD, unit(3), execution_options=RIDE))
        read = list((await conn.execute(select(UnitRow.id).order_by(UnitRow.id))).scalars())
        await conn.run_sync(lambda c: c.execute(ADD, unit(4), execution_options=RIDE))
    sent = list(trips)
    assert read == ["u1", "u2", "u3"]  # the read carried the three before it
    assert await names(engine) == ["单位1", "单位2", "单位3", "单位4"]  # the COMMIT the last
    if engine.dialect.name == "sqlite":
        assert sent == ["run", "commit"]  # the read with the three before it, the COMMIT with u4


async def test_a_transaction_of_writes_only_is_one_trip_on_sqlite(
    engine: AsyncEngine, trips: list[str]
) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(lambda c: [c.execute(ADD, unit(n), execution_options=RIDE) for n in (1, 2)])
    assert await names(engine) == ["单位1", "单位2"]
    if engine.dialect.name == "sqlite":
        assert trips[0] == "commit"  # BEGIN IMMEDIATE, both INSERTs and COMMIT together


async def test_a_write_that_breaks_a_constraint_fails_what_it_went_with_and_keeps_nothing(
    engine: AsyncEngine,
) -> None:
    async with engine.begin() as conn:
        await conn.execute(ADD, unit(1))
    with pytest.raises(IntegrityError) as failed:
        async with engine.begin() as conn:
            await conn.run_sync(lambda c: c.execute(ADD, unit(2), execution_options=RIDE))
            await conn.run_sync(lambda c: c.execute(ADD, unit(1), execution_options=RIDE))  # taken
    if engine.dialect.name == "sqlite":
        # it failed the COMMIT it rode with, which names it
        assert "sent ahead: INSERT INTO units" in str(failed.value)
    assert await names(engine) == ["单位1"]  # u2 went with the failed transaction


async def test_a_rollback_drops_what_was_waiting_to_ride_along(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        await conn.begin()
        await conn.run_sync(lambda c: c.execute(ADD, unit(1), execution_options=RIDE))
        await conn.rollback()
        await conn.begin()  # the same pooled connection: nothing left over rides with this one
        await conn.execute(ADD, unit(2))
        await conn.commit()
    assert await names(engine) == ["单位2"]
