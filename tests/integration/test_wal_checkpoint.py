"""SQLite's WAL is copied into the database file by a background checkpoint (storage.db
``checkpoint``, bot.jobs), not by whichever commit finds it past 1,000 pages: the connections'
own limit is raised to a safety net of 10,000 pages."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db import checkpoint, is_sqlite


def modified(path: Path) -> int:
    return path.stat().st_mtime_ns


async def wal_pages_limit(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.exec_driver_sql("PRAGMA wal_autocheckpoint")).scalar_one())


async def test_the_commits_checkpoint_only_as_a_safety_net_and_the_background_one_copies_the_wal(
    engine: AsyncEngine, db_url: str
) -> None:
    if not is_sqlite(db_url):
        assert await checkpoint(engine) is None  # PostgreSQL checkpoints by itself
        return
    assert await wal_pages_limit(engine) == 10_000
    database = Path(engine.url.database or "")
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE wal_probe (n INTEGER, pad TEXT)"))
        for n in range(200):
            await conn.execute(text("INSERT INTO wal_probe VALUES (:n, :pad)"), {"n": n, "pad": "x" * 2000})
    await asyncio.sleep(0.05)  # past the file system's timestamp granularity
    before = modified(database)
    busy, wal, copied = await checkpoint(engine) or (1, 0, 0)
    assert busy == 0 and wal > 0 and copied == wal  # every page in the WAL is in the file now
    assert modified(database) > before
    async with engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM wal_probe"))).scalar_one() == 200
