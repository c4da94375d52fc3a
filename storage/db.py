"""Engines and sessions. One code path for SQLite (aiosqlite, the default) and PostgreSQL
(asyncpg, for several instances)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

READ_ONLY_OPTION = "banshinan_read_only"

SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",  # readers don't block the writer, the writer doesn't block readers
    "PRAGMA foreign_keys=ON",  # off by default in SQLite, per connection
    "PRAGMA busy_timeout=5000",  # wait for the write lock instead of failing at once
    "PRAGMA synchronous=NORMAL",  # safe with WAL; a power cut may lose the last commit, not corrupt
)


def is_sqlite(url: str | URL) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def normalise_url(url: str | URL) -> URL:
    """Accept plain ``sqlite:///`` and ``postgresql://`` URLs and pick the async drivers."""
    u = make_url(url)
    backend, driver = u.get_backend_name(), u.get_driver_name()
    if backend == "sqlite" and driver != "aiosqlite":
        u = u.set(drivername="sqlite+aiosqlite")
    elif backend == "postgresql" and driver != "asyncpg":
        u = u.set(drivername="postgresql+asyncpg")
    return u


def _sqlite_file(u: URL) -> Path | None:
    db = u.database
    if not db or db == ":memory:" or db.startswith("file:"):
        return None
    return Path(db)


def make_engine(url: str | URL, **kwargs: Any) -> AsyncEngine:
    """An async engine for ``url``; extra keyword arguments go to ``create_async_engine``."""
    u = normalise_url(url)
    if u.get_backend_name() == "sqlite":
        path = _sqlite_file(u)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(u, **kwargs)
        _install_sqlite_hooks(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_async_engine(u, **kwargs)


def _install_sqlite_hooks(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module (it would skip BEGIN before
        # SELECT and DDL); SQLAlchemy emits our BEGIN below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            for pragma in SQLITE_PRAGMAS:
                cursor.execute(pragma)
        finally:
            cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # IMMEDIATE takes the write lock when the transaction starts. A deferred transaction
        # that reads and then writes fails with "database is locked" (SQLITE_BUSY_SNAPSHOT,
        # which busy_timeout cannot wait out) when another connection wrote in between;
        # serialising transactions up front makes every read-modify-write (counters, invite
        # codes, outbox claims, case transitions) safe and lets busy_timeout do the waiting.
        # Read-only sessions (long statistics queries) use a deferred BEGIN: under WAL they
        # read a snapshot and never hold up the writers.
        read_only = conn.get_execution_options().get(READ_ONLY_OPTION, False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def make_session_factory(engine: AsyncEngine, *, read_only: bool = False) -> async_sessionmaker[AsyncSession]:
    """Sessions on ``engine``. ``read_only=True`` is for long reads (digests, statistics,
    exports): on SQLite they don't take the write lock, on PostgreSQL the transaction is
    READ ONLY. Writing through such a session fails."""
    if read_only:
        engine = engine.execution_options(**{READ_ONLY_OPTION: True, "postgresql_readonly": True})
    # expire_on_commit=False: objects read in a unit of work stay readable after commit.
    return async_sessionmaker(engine, expire_on_commit=False)
