"""SQLAlchemy's aiosqlite adapter, with one trip to aiosqlite's thread per statement.

aiosqlite runs SQLite in a thread of its own; every call is a hand-over to that thread and
back (about 0.1 ms on this kind of machine, far more than SQLite needs for a statement on a
local file). SQLAlchemy's adapter makes four of them per statement: create a cursor, execute,
fetch the rows, close the cursor. This one runs the four as one function in the thread, so a
dialog step with ten statements spends a millisecond less waiting (bench/bench_dialog.py).
A transaction's BEGIN rides along with its first statement (``begin_with_next``) instead of
making a trip of its own, and so do writes whose outcome nobody reads before the transaction
ends (``ride_along``: a new case's units, history and audit entries, a dialog step's state):
they go with the transaction's next statement or with its COMMIT. A dialog step's write is then
one trip, not three. A constraint such a write breaks fails the statement or the COMMIT it went
with, naming it, and the transaction is rolled back as for any failed statement.

Everything else is SQLAlchemy's own adapter: connections, transactions (commit and rollback
are one trip each already), errors, server-side cursors (``stream``: rows fetched on demand, as
before). It leans on names of aiosqlite that are not in its documentation:
``Connection._execute`` (run a function in the connection's thread), ``Connection._conn`` and
``Connection._connection`` (the sqlite3 connection there); ``check_driver`` fails loudly at
start if they move.
"""

from __future__ import annotations

import collections
import sqlite3
from dataclasses import dataclass, field
from typing import Any, cast

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import immutabledict
from sqlalchemy.util.concurrency import await_


class DriverChanged(RuntimeError):
    """aiosqlite no longer has what this adapter uses."""


def check_driver() -> None:
    if not callable(getattr(aiosqlite.Connection, "_execute", None)) or not isinstance(
        getattr(aiosqlite.Connection, "_conn", None), property
    ):
        raise DriverChanged("aiosqlite.Connection lost _execute/_conn: storage/sqlite_driver.py needs a look")
    if "_connection" not in aiosqlite.Connection.__init__.__code__.co_names:
        raise DriverChanged("aiosqlite.Connection lost _connection: storage/sqlite_driver.py needs a look")


@dataclass(slots=True)
class _Done:
    """What a cursor tells after a statement, taken in the thread before it is closed."""

    description: Any
    rowcount: int
    lastrowid: int | None
    arraysize: int = 1
    rows: list[Any] = field(default_factory=list)

    def close(self) -> None:
        """The sqlite3 cursor is closed already, in the thread."""


Pending = list[tuple[str, Any]]  # statements riding along: (SQL, its rows' parameters)


def _ahead(cursor: sqlite3.Cursor, begin: str | None, pending: Pending) -> None:
    # runs in aiosqlite's thread: what goes before the trip's own statement
    if begin is not None:
        cursor.execute(begin)
    for operation, rows in pending:
        try:
            cursor.executemany(operation, rows)
        except sqlite3.Error as error:
            raise type(error)(f"{error} (in a statement sent ahead: {operation})") from error


def _run(
    conn: aiosqlite.Connection,
    operation: str | None,
    parameters: Any,
    many: bool,
    begin: str | None,
    pending: Pending,
) -> _Done:
    # runs in aiosqlite's thread
    cursor = conn._conn.cursor()
    try:
        _ahead(cursor, begin, pending)
        if operation is None:
            return _Done(None, -1, None)
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        rows = cursor.fetchall() if cursor.description else []
        return _Done(cursor.description, cursor.rowcount, cursor.lastrowid, cursor.arraysize, rows)
    finally:
        cursor.close()


def _commit(conn: aiosqlite.Connection, begin: str | None, pending: Pending) -> None:
    # runs in aiosqlite's thread: the writes that rode along, then COMMIT
    cursor = conn._conn.cursor()
    try:
        _ahead(cursor, begin, pending)
    finally:
        cursor.close()
    conn._conn.commit()


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    """A buffered cursor whose statement is one function in aiosqlite's thread."""

    __slots__ = ()
    _awaitable_cursor_close = False  # nothing to close in the thread: _Done.close

    def __init__(self, adapt_connection: Any) -> None:
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = _Done(None, -1, None)  # type: ignore[assignment]  # a cursor's read side
        self._soft_closed_memoized = immutabledict()
        self._rows = collections.deque()

    def execute(self, operation: Any, parameters: Any = None) -> Any:
        try:
            return await_(self._trip(operation, parameters, False))
        except Exception as error:
            self._adapt_connection._handle_exception(error)

    def executemany(self, operation: Any, seq_of_parameters: Any) -> Any:
        try:
            return await_(self._trip(operation, seq_of_parameters, True))
        except Exception as error:
            self._adapt_connection._handle_exception(error)

    def ride_along(self, operation: str, parameters: Any, many: bool) -> None:
        """Keep the statement for the connection's next trip (``OneTripConnection.ride_along``);
        the cursor tells nothing about it (no rows, rowcount -1)."""
        cast("OneTripConnection", self._adapt_connection).ride_along(
            operation, parameters if many else [parameters]
        )
        self._cursor = _Done(None, -1, None)  # type: ignore[assignment]
        self._rows = collections.deque()

    async def _trip(self, operation: Any, parameters: Any, many: bool) -> None:
        connection = cast("OneTripConnection", self._adapt_connection)
        begin, pending = connection.take_begin(), connection.take_pending()
        async with self._adapt_connection._execute_mutex:
            done = await self._connection._execute(
                _run, self._connection, operation, parameters, many, begin, pending
            )
        self._cursor = done
        self._rows = collections.deque(done.rows)
        done.rows = []


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    """Also: no trip to COMMIT or ROLLBACK what is not a transaction. SQLAlchemy ends every
    checkout with a rollback (the pool's reset) and every ``begin()`` block with a commit, also
    for a single statement run in autocommit (storage.db.SINGLE_STATEMENT_OPTION); whether
    SQLite is inside a transaction is a flag on the connection, read here without the thread
    (nothing else runs on this connection while SQLAlchemy ends its use)."""

    __slots__ = ("_begin", "_pending")
    _cursor_cls = OneTripCursor

    def __init__(self, dbapi: Any, connection: Any) -> None:
        super().__init__(dbapi, connection)
        self._begin: str | None = None
        self._pending: Pending = []

    def begin_with_next(self, statement: str) -> None:
        """Run ``statement`` (BEGIN, or BEGIN IMMEDIATE) in the trip of the next statement, just
        before it: a transaction costs no trip to start. A BEGIN that fails (the write lock not
        had within busy_timeout) fails that statement, which SQLAlchemy then rolls back."""
        self._begin = statement

    def take_begin(self) -> str | None:
        begin, self._begin = self._begin, None
        return begin

    def ride_along(self, operation: str, rows: Any) -> None:
        """Send ``operation`` (a write whose rowcount and rows nobody reads) for each of
        ``rows`` with the next statement or the COMMIT, before it and after the BEGIN, in the
        order they came; a ROLLBACK drops them."""
        self._pending.append((operation, rows))

    def take_pending(self) -> Pending:
        pending, self._pending = self._pending, []
        return pending

    def cursor(self, server_side: bool = False) -> Any:
        if server_side and (self._begin is not None or self._pending):
            # a streamed statement runs outside OneTripCursor: what rides along goes first, alone
            self._cursor_cls(self).execute(None)
        return super().cursor(server_side)

    def _in_transaction(self) -> bool:
        raw = self._connection._connection  # the sqlite3 connection; None once closed
        return raw is None or raw.in_transaction  # closed: let aiosqlite say so

    def rollback(self) -> None:
        self._begin, self._pending = None, []  # never sent: nothing to undo
        if self._in_transaction():
            super().rollback()

    def commit(self) -> None:
        begin, pending = self.take_begin(), self.take_pending()
        if pending:  # they and the COMMIT: one trip
            try:
                await_(self._commit_with(begin, pending))
            except Exception as error:
                self._handle_exception(error)
        elif self._in_transaction():
            super().commit()

    async def _commit_with(self, begin: str | None, pending: Pending) -> None:
        async with self._execute_mutex:
            await self._connection._execute(_commit, self._connection, begin, pending)


class OneTripDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """The DB-API module SQLAlchemy's aiosqlite dialect is given (``create_async_engine(...,
    module=...)``): the same, but its connections make one-trip cursors."""

    def connect(self, *arg: Any, **kw: Any) -> OneTripConnection:
        adapted = super().connect(*arg, **kw)
        return OneTripConnection(self, adapted._connection)


def one_trip_module() -> OneTripDBAPI:
    check_driver()
    return OneTripDBAPI(aiosqlite, sqlite3)
