"""Migrations build the schema the models describe, on SQLite and PostgreSQL, and the bot can
tell a migrated database from one that is not."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from storage.db import make_engine
from storage.migrate import (
    SchemaNotMigrated,
    check_schema,
    current_revision,
    downgrade,
    ensure_schema,
    head_revision,
    upgrade,
)
from storage.models import Base


async def _table_names(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
    finally:
        await engine.dispose()


async def test_empty_database_is_reported_not_migrated_with_the_fix(empty_db_url: str) -> None:
    status = await check_schema(empty_db_url)
    assert status.current is None
    assert status.head == head_revision()
    assert not status.up_to_date

    with pytest.raises(SchemaNotMigrated) as raised:
        await ensure_schema(empty_db_url)
    message = str(raised.value)
    assert "make migrate" in message and "python -m bot migrate" in message
    assert raised.value.status == status


async def test_upgrade_creates_every_model_table_and_reports_up_to_date(empty_db_url: str) -> None:
    await upgrade(empty_db_url)

    status = await ensure_schema(empty_db_url)
    assert status.up_to_date and status.current == head_revision()
    assert await current_revision(empty_db_url) == head_revision()
    assert set(Base.metadata.tables) <= await _table_names(empty_db_url)


async def test_upgrade_is_idempotent(empty_db_url: str) -> None:
    await upgrade(empty_db_url)
    await upgrade(empty_db_url)
    assert (await check_schema(empty_db_url)).up_to_date


async def test_migrations_match_the_models(empty_db_url: str) -> None:
    """A model change without a migration fails here (what `alembic check` would say)."""
    await upgrade(empty_db_url)

    def diff(conn: Connection) -> list[Any]:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))

    engine = make_engine(empty_db_url)
    try:
        async with engine.connect() as conn:
            differences = await conn.run_sync(diff)
    finally:
        await engine.dispose()
    assert differences == []


async def test_downgrade_to_base_removes_everything_and_upgrade_restores_it(empty_db_url: str) -> None:
    await upgrade(empty_db_url)
    await downgrade(empty_db_url, "base")

    assert await current_revision(empty_db_url) is None
    assert await _table_names(empty_db_url) <= {"alembic_version"}

    await upgrade(empty_db_url)
    assert (await check_schema(empty_db_url)).up_to_date


async def test_revision_from_a_newer_release_is_not_up_to_date(empty_db_url: str) -> None:
    await upgrade(empty_db_url)
    engine = make_engine(empty_db_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE alembic_version SET version_num = 'f00dfeed'"))
    finally:
        await engine.dispose()

    status = await check_schema(empty_db_url)
    assert status.current == "f00dfeed" and not status.current_is_known and not status.up_to_date
    with pytest.raises(SchemaNotMigrated, match="newer version"):
        await ensure_schema(empty_db_url)


async def test_sqlite_connections_get_the_pragmas_and_the_file_its_directory(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "bot.db"
    engine = make_engine(f"sqlite:///{path}")  # plain sqlite:// is upgraded to aiosqlite
    try:
        async with engine.connect() as conn:
            pragmas: dict[str, object] = {
                name: (await conn.execute(text(f"PRAGMA {name}"))).scalar_one()
                for name in ("journal_mode", "foreign_keys", "busy_timeout", "synchronous")
            }
    finally:
        await engine.dispose()
    assert path.exists()
    assert pragmas == {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 5000, "synchronous": 1}


async def test_instances_migrating_at_the_same_time_do_not_collide(empty_db_url: str) -> None:
    await asyncio.gather(upgrade(empty_db_url), upgrade(empty_db_url), upgrade(empty_db_url))
    assert (await check_schema(empty_db_url)).up_to_date
