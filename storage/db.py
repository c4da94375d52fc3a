"""Engines and sessions. One code path for SQLite (aiosqlite, the default) and PostgreSQL
(asyncpg, for several instances)."""

from __future__ import annotations

import contextlib
import json
import socket
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from core.text import NUL, strip_nul
from storage.sqlite_driver import OneTripConnection, OneTripCursor, one_trip_module

READ_ONLY_OPTION = "banshinan_read_only"
# A connection that runs one statement only (a read): on SQLite no BEGIN at all, the statement
# is its own transaction (one snapshot), and it neither takes nor waits for the write lock.
SINGLE_STATEMENT_OPTION = "banshinan_single_statement"

# A write whose rowcount and rows nobody reads (an INSERT of a new case's history, a dialog
# step's state): on SQLite it goes with the transaction's next statement or its COMMIT, in one
# trip to the database's thread (storage.sqlite_driver); PostgreSQL runs it as usual.
RIDE_ALONG_OPTION = "banshinan_ride_along"

SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",  # readers don't block the writer, the writer doesn't block readers
    "PRAGMA foreign_keys=ON",  # off by default in SQLite, per connection
    "PRAGMA busy_timeout=5000",  # wait for the write lock instead of failing at once
    "PRAGMA synchronous=NORMAL",  # safe with WAL; a power cut may lose the last commit, not corrupt
    # A commit that finds the WAL past this many pages copies it into the database file and
    # syncs it (a checkpoint): 4-5 ms in the commit of whoever's update it was, against 0.03 ms
    # for a plain one (bench_dialog). The long-running bot checkpoints in the background every
    # few seconds (``checkpoint``, bot.app), so this is only the safety net, set well above the
    # default 1,000 pages (4 MB).
    "PRAGMA wal_autocheckpoint=10000",
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
    kwargs.setdefault("json_serializer", json_without_nul)
    # bound values (phones, names, user ids) never appear in SQLAlchemy's logs or in the text
    # of its errors, which end up in the log too
    kwargs.setdefault("hide_parameters", True)
    if u.get_backend_name() == "sqlite":
        path = _sqlite_file(u)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        if u.get_driver_name() == "aiosqlite":
            kwargs.setdefault("module", one_trip_module())  # storage.sqlite_driver
        engine = create_async_engine(u, **kwargs)
        _install_sqlite_hooks(engine)
    else:
        engine = create_async_engine(u, **kwargs)
        if not kwargs.get("pool_pre_ping"):
            _install_idle_ping(engine)
    _install_nul_guard(engine)
    return engine


async def open_connections(engine: AsyncEngine, n: int) -> None:
    """Open ``n`` of ``engine``'s pooled connections now and put them back: at start, so no
    update pays for a connection being made (a PostgreSQL backend to start: 2.5-3.5 ms, ~9 ms
    for an engine's first, which also reads the server's types) the first time two things need
    the database at once."""
    async with contextlib.AsyncExitStack() as stack:
        for _ in range(n):
            await stack.enter_async_context(engine.connect())


async def checkpoint(engine: AsyncEngine) -> tuple[int, int, int] | None:
    """SQLite: copy the WAL's committed pages into the database file, without waiting for (or
    holding up) anyone (PASSIVE), in a pooled connection's own thread. Returns SQLite's (busy,
    pages in the WAL, pages copied); None on PostgreSQL, which checkpoints by itself."""
    if engine.dialect.name != "sqlite":
        return None
    async with engine.execution_options(**{SINGLE_STATEMENT_OPTION: True}).connect() as conn:
        result = await conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
        busy, wal, copied = (int(v) for v in result.one())
    return busy, wal, copied


# -- a pooled PostgreSQL connection that sat idle is tried before it is handed out ---------------
# SQLAlchemy's pool_pre_ping tries every checkout, and asyncpg's ping outside a transaction is
# three round trips (BEGIN, an empty query, ROLLBACK): on a dialog step, with its lock connection
# and its unit of work, that was a sixth of the step (bench/bench_dialog.py). A connection back
# in the pool for less than IDLE_PING_AFTER was just used; one that sat longer (overnight, or
# across a database restart) is tried first, and a dead one is replaced before anyone uses it
# (DisconnectionError makes the pool connect afresh). A connection that dies within the second
# fails the statement that finds out, and SQLAlchemy then drops the pool's other connections.
IDLE_PING_AFTER = 1.0  # seconds


def _install_idle_ping(engine: AsyncEngine) -> None:
    pool = engine.sync_engine.pool

    @event.listens_for(pool, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info["idle_since"] = time.monotonic()

    @event.listens_for(pool, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.pop("idle_since", None)
        if since is None or time.monotonic() - since < IDLE_PING_AFTER:
            return  # new, or just used
        try:
            dbapi_connection.ping()
        except Exception as exc:
            raise DisconnectionError("a pooled connection did not answer its ping") from exc


# -- NUL: the last guard for every repository ---------------------------------------------------
# PostgreSQL refuses U+0000 in TEXT/VARCHAR ("invalid byte sequence") and in JSONB (as the
# escape \u0000), failing the whole transaction. The services clean what people type
# (core.text); these hooks make sure nothing they missed (a file name, a name from Telegram)
# can fail a write, on SQLite as well, so both back ends store the same thing.


def json_without_nul(value: Any) -> str:
    return json.dumps(strip_nul(value))


def _without_nul(parameters: Any) -> Any:
    if isinstance(parameters, str):
        return parameters.replace(NUL, "") if NUL in parameters else parameters
    if isinstance(parameters, dict):
        return {k: _without_nul(v) for k, v in parameters.items()}
    if isinstance(parameters, list | tuple):
        return type(parameters)(_without_nul(p) for p in parameters)
    return parameters


def _has_nul(parameters: Any) -> bool:
    if isinstance(parameters, str):
        return NUL in parameters
    if isinstance(parameters, dict):
        return any(_has_nul(v) for v in parameters.values())
    if isinstance(parameters, list | tuple):
        return any(_has_nul(p) for p in parameters)
    return False


def _install_nul_guard(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "before_cursor_execute", retval=True)
    def _strip_nul(
        _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _executemany: bool
    ) -> tuple[str, Any]:
        # every bound value of every statement, ORM and Core alike; copied only when needed
        if _has_nul(parameters):
            parameters = _without_nul(parameters)
        return statement, parameters


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

    @event.listens_for(engine.sync_engine, "do_execute")
    def _ride_along_one(cursor: Any, statement: str, parameters: Any, context: Any) -> bool:
        return _ride_along(cursor, statement, parameters, context, many=False)

    @event.listens_for(engine.sync_engine, "do_executemany")
    def _ride_along_many(cursor: Any, statement: str, parameters: Any, context: Any) -> bool:
        return _ride_along(cursor, statement, parameters, context, many=True)

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # IMMEDIATE takes the write lock when the transaction starts. A deferred transaction
        # that reads and then writes fails with "database is locked" (SQLITE_BUSY_SNAPSHOT,
        # which busy_timeout cannot wait out) when another connection wrote in between;
        # serialising transactions up front makes every read-modify-write (counters, invite
        # codes, outbox claims, case transitions) safe and lets busy_timeout do the waiting.
        # Read-only sessions (long statistics queries) use a deferred BEGIN: under WAL they
        # read a snapshot and never hold up the writers.
        options = conn.get_execution_options()
        if options.get(SINGLE_STATEMENT_OPTION, False):
            return  # sqlite3 runs it in autocommit (isolation_level None, above)
        begin = "BEGIN" if options.get(READ_ONLY_OPTION, False) else "BEGIN IMMEDIATE"
        raw = conn.connection.dbapi_connection
        if isinstance(raw, OneTripConnection):
            raw.begin_with_next(begin)  # sent with the transaction's first statement
        else:
            conn.exec_driver_sql(begin)


def _ride_along(cursor: Any, statement: str, parameters: Any, context: Any, *, many: bool) -> bool:
    """A statement run with ``RIDE_ALONG_OPTION``: kept for the next trip instead of sent
    (True: SQLAlchemy does not run it itself)."""
    if not context.execution_options.get(RIDE_ALONG_OPTION, False) or not isinstance(cursor, OneTripCursor):
        return False
    cursor.ride_along(statement, parameters, many)
    return True


# -- what went wrong, in one line -----------------------------------------------------------------


class DatabaseUnavailable(RuntimeError):
    """The database cannot be opened, reached or written; ``str()`` is one line for the
    operator, naming the file or the server and what to check."""


def describe_database_error(exc: BaseException, url: str | URL) -> str:
    """One line saying what is wrong with the database at ``url`` (read-only file, refused
    connection, unknown database, ...), for start-up errors: no driver trace, no password."""
    u = normalise_url(url)
    chain = _exception_chain(exc)
    if u.get_backend_name() == "sqlite":
        return _describe_sqlite(chain, u)
    return _describe_postgres(chain, u)


def _exception_chain(exc: BaseException) -> list[BaseException]:
    """``exc``, what it wraps (SQLAlchemy's ``orig``) and its causes, outermost first."""
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop(0)
        if e is None or any(e is s for s in seen):
            continue
        seen.append(e)
        orig = getattr(e, "orig", None)
        todo += [orig if isinstance(orig, BaseException) else None, e.__cause__, e.__context__]
    return seen


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _describe_sqlite(chain: list[BaseException], u: URL) -> str:
    path = _sqlite_file(u)
    where = f"database file {path}" if path is not None else f"database {u.database or ':memory:'}"
    for e in chain:
        if isinstance(e, OSError) and e.filename is not None:  # e.g. creating its directory
            return f"cannot use the {where}: {e.strerror or e} ({e.filename}): check the permissions"
    messages = " | ".join(str(e).lower() for e in chain)
    if "readonly" in messages or "read-only" in messages:
        # SQLite also writes <name>-wal and -shm beside the file, so the directory matters too
        beside = f" and those of its directory {path.parent}" if path is not None else ""
        return f"{where} is read-only: check its permissions{beside}"
    if "unable to open database file" in messages:
        return f"cannot open the {where}: check that its directory exists and may be written"
    if "database is locked" in messages:
        return f"{where} is locked by another process: stop it, or wait for it to finish"
    if "not a database" in messages or "malformed" in messages:
        return f"{where} is not a readable SQLite database (damaged?): restore it from a backup"
    return f"cannot use the {where}: {_first_line(chain[-1])}"


# PostgreSQL's SQLSTATE codes we can explain (asyncpg errors carry ``sqlstate``)
_PG_STATES = {
    "28P01": "refused the password of user {user}: check DATABASE_URL",
    "28000": "refused user {user}: {detail}",
    "3D000": "has no database {database}: create it (createdb {database}) or fix DATABASE_URL",
    "25006": "database {database} is read-only (a standby server, or default_transaction_read_only)",
    "42501": "user {user} may not write to database {database}: {detail}",
    "57P03": "is not accepting connections yet (starting up, or a standby): {detail}",
    "53300": "has too many connections: {detail}",
}


def _describe_postgres(chain: list[BaseException], u: URL) -> str:
    server = f"PostgreSQL at {u.host or 'localhost'}:{u.port or 5432}"
    for e in chain:
        state = getattr(e, "sqlstate", None)
        if isinstance(state, str) and state in _PG_STATES:
            problem = _PG_STATES[state].format(user=u.username, database=u.database, detail=_first_line(e))
            return f"{server} {problem}"
    for e in chain:
        if isinstance(e, ConnectionRefusedError) or "connect call failed" in str(e).lower():
            return f"cannot reach {server}: connection refused (is it running? right host and port?)"
        if isinstance(e, TimeoutError):
            return f"cannot reach {server}: timed out"
        if isinstance(e, socket.gaierror):
            return f"cannot reach {server}: the host name does not resolve"
        if isinstance(e, OSError):
            return f"cannot reach {server}: {e.strerror or _first_line(e)}"
    for e in chain:
        if "read-only transaction" in str(e):
            return f"{server} " + _PG_STATES["25006"].format(database=u.database)
    return f"cannot use the database at {server}: {_first_line(chain[-1])}"


def make_session_factory(engine: AsyncEngine, *, read_only: bool = False) -> async_sessionmaker[AsyncSession]:
    """Sessions on ``engine``. ``read_only=True`` is for long reads (digests, statistics,
    exports): on SQLite they don't take the write lock, on PostgreSQL the transaction is
    READ ONLY. Writing through such a session fails."""
    if read_only:
        engine = engine.execution_options(**{READ_ONLY_OPTION: True, "postgresql_readonly": True})
    # expire_on_commit=False: objects read in a unit of work stay readable after commit.
    return async_sessionmaker(engine, expire_on_commit=False)
