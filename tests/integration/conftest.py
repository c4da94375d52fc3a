"""Real databases for the storage tests.

``db_url`` runs a test on SQLite (a fresh migrated file in tmp_path, copied from one that
``storage.migrate.upgrade`` migrated for the session) and on PostgreSQL (one database per
session, created next to TEST_DATABASE_URL's, migrated once, emptied after each test and
dropped at the end; skipped with the reason when TEST_DATABASE_URL is unset). ``empty_db_url``
is a database with no schema, for the migration tests. ``uow_factory`` adds the in-memory fake,
so the same contract tests prove the fakes behave like the real thing.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core.ports import UnitOfWorkFactory
from storage.db import make_engine, make_session_factory, normalise_url
from storage.migrate import upgrade
from storage.models import Base
from storage.uow import sql_uow_factory
from tests.conftest import sqlite_url
from tests.fakes import FakeStore, fake_uow_factory

PG_SKIP_REASON = (
    "TEST_DATABASE_URL is not set; PostgreSQL storage tests need it, "
    "e.g. postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
SQL_BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
ALL_BACKENDS = ["fake", *SQL_BACKENDS]


def _pg_base_url() -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        pytest.skip(PG_SKIP_REASON)
    return str(normalise_url(url).render_as_string(hide_password=False))


def _with_database(url: str, name: str) -> str:
    return make_url(url).set(database=name).render_as_string(hide_password=False)


async def _admin(url: str, *statements: str) -> None:
    # CREATE/DROP DATABASE cannot run inside a transaction.
    engine = make_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            for statement in statements:
                await conn.execute(text(statement))
    finally:
        await engine.dispose()


class PgDatabases:
    """Throwaway databases next to TEST_DATABASE_URL's: one migrated database shared by the
    session (emptied after each test) and fresh empty ones for the migration tests."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        base_name = make_url(base_url).database or "test"
        self.prefix = f"{base_name}_t{uuid.uuid4().hex[:8]}"
        self.shared_url = ""

    async def create(self, suffix: str) -> str:
        name = f"{self.prefix}_{suffix}"
        await _admin(self.base_url, f'CREATE DATABASE "{name}"')
        return _with_database(self.base_url, name)

    async def drop(self, url: str) -> None:
        name = make_url(url).database
        await _admin(self.base_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    async def empty_shared(self) -> None:
        # Far cheaper than a database per test; on tables this small DELETE beats TRUNCATE.
        # Children first, for the foreign keys. Ids keep counting, which no test relies on.
        tables = reversed(Base.metadata.sorted_tables)
        await _admin(self.shared_url, *(f'DELETE FROM "{t.name}"' for t in tables))


@pytest.fixture(scope="session")
def pg_databases() -> Iterator[PgDatabases]:
    dbs = PgDatabases(_pg_base_url())

    async def make_shared() -> str:
        url = await dbs.create("shared")
        await upgrade(url)
        return url

    dbs.shared_url = asyncio.run(make_shared())
    yield dbs
    asyncio.run(dbs.drop(dbs.shared_url))


@pytest.fixture
async def empty_pg_url(pg_databases: PgDatabases) -> AsyncIterator[str]:
    url = await pg_databases.create(uuid.uuid4().hex[:8])
    yield url
    await pg_databases.drop(url)


@pytest.fixture
async def migrated_pg_url(pg_databases: PgDatabases) -> AsyncIterator[str]:
    """The session's migrated database, emptied again after the test."""
    yield pg_databases.shared_url
    await pg_databases.empty_shared()


@pytest.fixture(params=SQL_BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Which database a test runs on. A module may override it (test_repositories adds "fake")."""
    return str(request.param)


@pytest.fixture
async def empty_sqlite_url(tmp_path: Path) -> str:
    return sqlite_url(tmp_path / "empty" / "bot.db")  # the directory does not exist yet


# Sync dispatchers: they pick the backend's async fixture by name (an async fixture cannot
# request another one dynamically while the event loop runs).


@pytest.fixture
def empty_db_url(backend: str, request: pytest.FixtureRequest) -> str:
    """A database with no schema at all."""
    return str(request.getfixturevalue("empty_sqlite_url" if backend == "sqlite" else "empty_pg_url"))


@pytest.fixture
def db_url(backend: str, request: pytest.FixtureRequest) -> str:
    """A fresh database migrated to head, for this test only."""
    if backend not in ("sqlite", "postgres"):
        pytest.skip(f"needs a real database, not {backend}")
    # migrated_sqlite_url (tests/conftest.py): a copy of a file storage.migrate.upgrade migrated
    return str(request.getfixturevalue("migrated_sqlite_url" if backend == "sqlite" else "migrated_pg_url"))


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(db_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return make_session_factory(engine)


@pytest.fixture
def sql_uow(session_factory: async_sessionmaker[AsyncSession]) -> UnitOfWorkFactory:
    return sql_uow_factory(session_factory)


@pytest.fixture
def uow_factory(backend: str, request: pytest.FixtureRequest) -> UnitOfWorkFactory:
    """A unit-of-work factory on ``backend``: the fake store or a fresh real database."""
    if backend == "fake":
        return fake_uow_factory(FakeStore())
    factory: UnitOfWorkFactory = request.getfixturevalue("sql_uow")
    return factory
