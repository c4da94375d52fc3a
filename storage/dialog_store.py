"""Storage for python-telegram-bot's persistence: conversation states, user_data, chat_data,
bot_data and callback_data, as JSON (SPEC §4.1: a dialog resumes after a restart).

This is the table layer only; a ``BasePersistence`` subclass in ``bot/`` adapts it (and
decides how to turn its objects into JSON). Each call is its own short transaction: persistence
is written outside the services' units of work, as python-telegram-bot flushes it.

Every string written is stripped of NUL first (``core.text.strip_nul``), whatever a handler
let through: PostgreSQL refuses it in JSONB.

``get_conversation`` reads one key, so several instances can read dialog state from the
database per update instead of trusting the copy python-telegram-bot loaded at start (SPEC §9).

Per update (``bot.dialog_state``), ``turn(keys, user_id, conversations)``: on PostgreSQL it holds
session-level advisory locks keyed by chat and user on a dedicated AUTOCOMMIT connection for the
whole update, and a turn is two round trips there: ``dialog_turn_open`` takes the locks and then
reads this user's ``user_data`` and this chat/user's conversation states (one statement; the
function reads after the locks are held), and ``write_turn`` CALLs ``dialog_turn_close``, which
writes what changed, commits and only then releases the locks (migration 0018). A turn that
writes nothing releases them with one more statement. On SQLite there is no lock connection:
one process is the supported shape there, and the in-process per-chat lock
(``bot.concurrency``) is the whole of the ordering; the read is one statement without BEGIN (a
read never takes the write lock) and the write one short transaction. These statements are
built once per shape: per update, building them cost more than running them.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
from collections.abc import AsyncIterator, Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, cast

from sqlalchemy import (
    Select,
    String,
    Table,
    and_,
    bindparam,
    delete,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.sql.expression import Executable

from core.clock import Clock, SystemClock
from core.text import strip_nul
from storage.db import RIDE_ALONG_OPTION, SINGLE_STATEMENT_OPTION, json_without_nul
from storage.models import DialogBotDataRow, DialogChatDataRow, DialogConversationRow, DialogUserDataRow
from storage.repositories._sql import bound, insert_for, insert_on

_RIDE_ALONG = {RIDE_ALONG_OPTION: True}  # a step's writes go with its COMMIT on SQLite


def _execute_all(conn: Connection, statements: Sequence[Executable], params: dict[str, Any]) -> None:
    for stmt in statements:
        conn.execute(stmt, params, execution_options=_RIDE_ALONG)


ConversationKey = tuple[Hashable, ...]

_CONV = cast(Table, DialogConversationRow.__table__)
_USER = cast(Table, DialogUserDataRow.__table__)
_CHAT = cast(Table, DialogChatDataRow.__table__)
_BOT = cast(Table, DialogBotDataRow.__table__)


# ``write_turn``'s user_data argument when the user's data did not change
KEEP: Final = object()


@dataclass
class TurnRows:
    """What ``read_turn`` found: the user's data (None: no row) and the conversation states
    by (conversation name, key); absent keys have no row (no conversation)."""

    user_data: dict[str, Any] | None = None
    conversations: dict[tuple[str, ConversationKey], object] = field(default_factory=dict)


# -- the per-update statements, built once per shape --------------------------------------------
# Built from bound parameters, so SQLAlchemy compiles each shape once (its compiled cache) and
# every update only binds values: building and compiling a statement per update cost more than
# running it (bench/bench_dialog.py).


@functools.cache
def _read_statement(with_user: bool, n: int) -> Executable:
    parts: list[Select[Any]] = []
    if with_user:
        parts.append(
            select(
                literal("u", String).label("kind"),
                literal("", String).label("name"),
                literal("", String).label("key"),
                _USER.c.data.label("value"),
            ).where(_USER.c.user_id == bindparam("uid"))
        )
    if n:
        wanted = or_(
            *(and_(_CONV.c.name == bindparam(f"n{i}"), _CONV.c.key == bindparam(f"k{i}")) for i in range(n))
        )
        parts.append(
            select(
                literal("c", String).label("kind"),
                _CONV.c.name,
                _CONV.c.key,
                _CONV.c.state.label("value"),
            ).where(wanted)
        )
    return parts[0] if len(parts) == 1 else union_all(*parts)


def _upsert(dialect: str, table: Table, prefix: str, keys: tuple[str, ...], value: str) -> Any:
    stmt = insert_on(dialect)(table).values(bound(table, prefix, *keys, value, "updated_at"))
    return stmt.on_conflict_do_update(
        index_elements=[table.c[k] for k in keys],
        set_={value: stmt.excluded[value], "updated_at": stmt.excluded.updated_at},
    )


def _remove(table: Table, prefix: str, keys: tuple[str, ...]) -> Any:
    return delete(table).where(*(table.c[k] == v for k, v in bound(table, prefix, *keys).items()))


@functools.cache
def _write_statements(dialect: str, user_op: str | None, ops: tuple[str, ...]) -> tuple[Any, ...]:
    """One statement per row: the user's data (``user_op``: "put", "del" or None) and each
    conversation (``ops``), parameters named ``u_<column>`` and ``c<i>_<column>``."""
    statements = []
    if user_op == "put":
        statements.append(_upsert(dialect, _USER, "u_", ("user_id",), "data"))
    elif user_op == "del":
        statements.append(_remove(_USER, "u_", ("user_id",)))
    for i, op in enumerate(ops):
        if op == "put":
            statements.append(_upsert(dialect, _CONV, f"c{i}_", ("name", "key"), "state"))
        else:
            statements.append(_remove(_CONV, f"c{i}_", ("name", "key")))
    return tuple(statements)


# PostgreSQL's per-turn routines (migration 0018), through the driver's own SQL: no statement to
# build or compile, and the parameters in the routines' order
_TURN_OPEN: Final = "SELECT * FROM dialog_turn_open($1, $2, $3, $4)"  # (kind, name, key, value)
_TURN_CLOSE: Final = "CALL dialog_turn_close($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
# a turn that wrote nothing lets go of its locks by itself
_TURN_UNLOCK: Final = "SELECT pg_advisory_unlock(k) FROM unnest($1::bigint[]) AS k"


def _turn_rows(result: Any, *, json_text: bool = False) -> TurnRows:
    """``TurnRows`` from rows of (kind, name, key, value): the read statement's (JSON decoded by
    the column types) or, ``json_text``, ``dialog_turn_open``'s (JSON as text)."""
    found = TurnRows()
    for kind, name, key, json_value in result:
        value = json.loads(json_value) if json_text else json_value
        if kind == "u":
            found.user_data = dict(cast(dict[str, Any], value))
        else:
            found.conversations[(str(name), decode_key(str(key)))] = value
    return found


def advisory_id(key: Hashable) -> int:
    """A stable signed 64-bit number for a lock key such as ``("chat", 42)``: the same on every
    instance (Python's ``hash`` is salted per process), as ``pg_advisory_lock(bigint)`` takes."""
    digest = hashlib.blake2b(repr(key).encode(), digest_size=8, person=b"dialog-lock").digest()
    return int.from_bytes(digest, "big", signed=True)


def encode_key(key: ConversationKey) -> str:
    return json.dumps(list(key), separators=(",", ":"))


def decode_key(text: str) -> ConversationKey:
    return tuple(json.loads(text))


@dataclass
class HeldTurn:
    """A turn's hold on its advisory locks (PostgreSQL): its lock connection, the locks' ids,
    and whether its write (``dialog_turn_close``) already released them."""

    conn: AsyncConnection
    lock_ids: tuple[int, ...]
    released: bool = False


class SqlDialogStore:
    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        clock: Clock | None = None,
        *,
        lock_engine: AsyncEngine | None = None,
    ) -> None:
        """``lock_engine``: PostgreSQL only, an engine in AUTOCOMMIT of its own for the lock
        connections, so an update holding its chat's lock never waits for a connection that
        other lock holders took from the services' pool (which would deadlock at pool size)."""
        self._sessions = session_factory
        # the per-update reads and writes go through Core on the engine itself: no ORM session
        # for two statements (bot.dialog_state runs them around every update)
        self._engine = cast(AsyncEngine, session_factory.kw["bind"])
        self._reader = self._engine.execution_options(**{SINGLE_STATEMENT_OPTION: True})
        self._clock = clock or SystemClock()
        self._locks = lock_engine

    @property
    def locks_across_processes(self) -> bool:
        return self._locks is not None

    @property
    def lock_engine(self) -> AsyncEngine | None:
        return self._locks

    # -- per update (bot.dialog_state) --------------------------------------------------------

    @contextlib.asynccontextmanager
    async def turn(
        self,
        keys: Sequence[Hashable],
        user_id: int | None,
        conversations: Sequence[tuple[str, ConversationKey]],
    ) -> AsyncIterator[tuple[HeldTurn | None, TurnRows]]:
        """Hold the advisory locks of ``keys`` (in this order: every caller passes chat before
        user, so two holders never wait for each other in a cycle) until the block ends or its
        ``write_turn`` releases them, and read the user's and the conversations' rows once they
        are held. Yields the hold (None without a lock engine: SQLite, one process) and the rows."""
        if self._locks is None or not keys:
            yield None, await self.read_turn(user_id, conversations)
            return
        ids = tuple(advisory_id(k) for k in keys)
        names = [name for name, _ in conversations]
        encoded = [encode_key(key) for _, key in conversations]
        async with self._locks.connect() as conn:
            try:
                result = await conn.exec_driver_sql(_TURN_OPEN, (list(ids), user_id, names, encoded))
                rows = _turn_rows(result, json_text=True)
            except BaseException:
                # some of the locks may be held: they die with the session
                await conn.invalidate()
                raise
            held = HeldTurn(conn, ids)
            try:
                yield held, rows
            finally:
                if not held.released:
                    await self._release(held)

    async def _release(self, held: HeldTurn) -> None:
        try:
            await held.conn.exec_driver_sql(_TURN_UNLOCK, (list(held.lock_ids),))
        except BaseException:
            # a connection we could not unlock on must not go back to the pool holding them
            await held.conn.invalidate()
            raise
        held.released = True

    async def read_turn(
        self, user_id: int | None, conversations: Sequence[tuple[str, ConversationKey]]
    ) -> TurnRows:
        """The user's ``user_data`` row and these conversations' rows, in one statement."""
        if user_id is None and not conversations:
            return TurnRows()
        stmt = _read_statement(user_id is not None, len(conversations))
        params: dict[str, Any] = {"uid": user_id}
        for i, (wanted_name, wanted_key) in enumerate(conversations):
            params[f"n{i}"], params[f"k{i}"] = wanted_name, encode_key(wanted_key)
        # one SELECT reads one snapshot by itself: on SQLite no BEGIN (IMMEDIATE would take
        # the write lock for a read), see storage.db.SINGLE_STATEMENT_OPTION
        async with self._reader.connect() as own:
            return _turn_rows(await own.execute(stmt, params))

    async def write_turn(
        self,
        user_id: int | None,
        user_data: object,
        conversations: Mapping[tuple[str, ConversationKey], object | None],
        held: HeldTurn | None = None,
    ) -> None:
        """What one update changed, in one transaction: ``user_data`` (``KEEP``: unchanged;
        None or empty: the row goes) and conversation states (None: the row goes).

        ``held``: the turn's hold (PostgreSQL): the writes and the release of its locks are one
        CALL on its lock connection (``dialog_turn_close``: write, commit, unlock), so a turn
        costs no pool checkout, BEGIN or COMMIT of its own. With nothing to write the locks
        stay held until the turn's block ends."""
        if (user_data is KEEP or user_id is None) and not conversations:
            return
        now = self._clock.now()
        user_op: str | None = None
        if user_id is not None and user_data is not KEEP:
            user_op = "put" if user_data else "del"
        if held is not None:
            await self._close(held, user_id, user_op, user_data, conversations, now)
            return
        # NUL is stripped by the engine's JSON serializer (storage.db), the last guard for
        # every JSON value written, and by its hook for the keys' strings
        params: dict[str, Any] = {}
        if user_op is not None:
            params["u_user_id"] = user_id
            if user_op == "put":
                params["u_data"] = dict(cast(Mapping[str, Any], user_data))
                params["u_updated_at"] = now
        ops: list[str] = []
        for i, ((name, key), state) in enumerate(conversations.items()):
            params[f"c{i}_name"], params[f"c{i}_key"] = name, encode_key(key)
            if state is None:
                ops.append("del")
            else:
                ops.append("put")
                params[f"c{i}_state"], params[f"c{i}_updated_at"] = state, now
        async with self._engine.begin() as own:  # SQLite: the writes and COMMIT in one trip
            statements = _write_statements(own.dialect.name, user_op, tuple(ops))
            # run_sync: AsyncConnection.execute insists on a trip per statement (AwaitRequired)
            await own.run_sync(_execute_all, statements, params)

    async def _close(
        self,
        held: HeldTurn,
        user_id: int | None,
        user_op: str | None,
        user_data: object,
        conversations: Mapping[tuple[str, ConversationKey], object | None],
        now: datetime,
    ) -> None:
        put: list[tuple[str, str, str]] = []
        drop: list[tuple[str, str]] = []
        for (name, key), state in conversations.items():
            if state is None:
                drop.append((name, encode_key(key)))
            else:
                put.append((name, encode_key(key), json_without_nul(state)))
        data = json_without_nul(dict(cast(Mapping[str, Any], user_data))) if user_op == "put" else None
        # the engine's hook strips NUL from the strings (names, keys); the JSON is stripped above
        await held.conn.exec_driver_sql(
            _TURN_CLOSE,
            (
                list(held.lock_ids),
                user_id,
                user_op,
                data,
                [p[0] for p in put],
                [p[1] for p in put],
                [p[2] for p in put],
                [d[0] for d in drop],
                [d[1] for d in drop],
                now,
            ),
        )
        held.released = True

    async def _read(self, fn: Callable[[AsyncSession], Any]) -> Any:
        async with self._sessions() as session:
            return await fn(session)

    async def _upsert(self, table: Table, key: dict[str, Any], values: dict[str, Any]) -> None:
        # The last guard (SPEC §10): PostgreSQL refuses NUL in JSONB (and TEXT), and a refused
        # write would fail again on every flush, leaving that user stuck in their dialog.
        key, values = strip_nul(key), {**strip_nul(values), "updated_at": self._clock.now()}
        async with self._sessions() as session:
            stmt = insert_for(session, table).values(**key, **values)
            stmt = stmt.on_conflict_do_update(index_elements=[table.c[k] for k in key], set_=values)
            await session.execute(stmt)
            await session.commit()

    async def _delete(self, table: Table, **key: Any) -> None:
        async with self._sessions() as session:
            await session.execute(delete(table).where(*(table.c[k] == v for k, v in key.items())))
            await session.commit()

    # conversations

    async def get_conversations(self, name: str) -> dict[ConversationKey, object]:
        async def fn(session: AsyncSession) -> dict[ConversationKey, object]:
            rows = await session.execute(select(_CONV.c.key, _CONV.c.state).where(_CONV.c.name == name))
            return {decode_key(str(k)): state for k, state in rows}

        return cast(dict[ConversationKey, object], await self._read(fn))

    async def get_conversation(self, name: str, key: ConversationKey) -> object | None:
        async def fn(session: AsyncSession) -> object | None:
            stmt = select(_CONV.c.state).where(_CONV.c.name == name, _CONV.c.key == encode_key(key))
            return (await session.execute(stmt)).scalar_one_or_none()

        return await self._read(fn)

    async def update_conversation(self, name: str, key: ConversationKey, state: object | None) -> None:
        """``None`` ends the conversation (the row is deleted)."""
        if state is None:
            await self._delete(_CONV, name=name, key=encode_key(key))
        else:
            await self._upsert(_CONV, {"name": name, "key": encode_key(key)}, {"state": state})

    # user_data / chat_data

    async def get_user_data(self) -> dict[int, dict[str, Any]]:
        return await self._all(_USER, "user_id")

    async def update_user_data(self, user_id: int, data: dict[str, Any]) -> None:
        await self._upsert(_USER, {"user_id": user_id}, {"data": data})

    async def drop_user_data(self, user_id: int) -> None:
        await self._delete(_USER, user_id=user_id)

    async def get_chat_data(self) -> dict[int, dict[str, Any]]:
        return await self._all(_CHAT, "chat_id")

    async def update_chat_data(self, chat_id: int, data: dict[str, Any]) -> None:
        await self._upsert(_CHAT, {"chat_id": chat_id}, {"data": data})

    async def drop_chat_data(self, chat_id: int) -> None:
        await self._delete(_CHAT, chat_id=chat_id)

    async def _all(self, table: Table, id_column: str) -> dict[int, dict[str, Any]]:
        async def fn(session: AsyncSession) -> dict[int, dict[str, Any]]:
            rows = await session.execute(select(table.c[id_column], table.c.data))
            return {int(cast(int, i)): dict(cast(dict[str, Any], d)) for i, d in rows}

        return cast(dict[int, dict[str, Any]], await self._read(fn))

    # bot_data / callback_data: one row each

    async def get_blob(self, name: str) -> object | None:
        async def fn(session: AsyncSession) -> object | None:
            stmt = select(_BOT.c.data).where(_BOT.c.name == name)
            return (await session.execute(stmt)).scalar_one_or_none()

        return await self._read(fn)

    async def update_blob(self, name: str, data: object) -> None:
        await self._upsert(_BOT, {"name": name}, {"data": data})

    async def get_bot_data(self) -> dict[str, Any]:
        data = await self.get_blob("bot_data")
        return dict(cast(dict[str, Any], data)) if data else {}

    async def update_bot_data(self, data: dict[str, Any]) -> None:
        await self.update_blob("bot_data", data)

    async def get_callback_data(self) -> object | None:
        return await self.get_blob("callback_data")

    async def update_callback_data(self, data: object) -> None:
        await self.update_blob("callback_data", data)
