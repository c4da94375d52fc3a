"""Storage for python-telegram-bot's persistence: conversation states, user_data, chat_data,
bot_data and callback_data, as JSON (SPEC §4.1: a dialog resumes after a restart).

This is the table layer only; a ``BasePersistence`` subclass in ``bot/`` adapts it (and
decides how to turn its objects into JSON). Each call is its own short transaction: persistence
is written outside the services' units of work, as python-telegram-bot flushes it.

Every string written is stripped of NUL first (``core.text.strip_nul``), whatever a handler
let through: PostgreSQL refuses it in JSONB.

``get_conversation`` reads one key, so several instances can read dialog state from the
database per update instead of trusting the copy python-telegram-bot loaded at start (SPEC §9).

Per update (``bot.dialog_state``): ``locked(keys)`` holds PostgreSQL session-level advisory
locks keyed by chat and user on a dedicated autocommit connection for the whole update (one
statement to take them, one to release them); ``read_turn`` reads this user's ``user_data`` and
this chat/user's conversation states in ONE statement (a ``UNION ALL``, on the lock connection
when there is one); ``write_turn`` writes what changed in one short transaction. On SQLite
there is no lock connection: one process is the supported shape there, and the in-process
per-chat lock (``bot.concurrency``) is the whole of the ordering.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import AsyncIterator, Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, cast

from sqlalchemy import String, Table, and_, delete, func, literal, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from core.clock import Clock, SystemClock
from core.text import strip_nul
from storage.models import DialogBotDataRow, DialogChatDataRow, DialogConversationRow, DialogUserDataRow
from storage.repositories._sql import insert_for

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


def advisory_id(key: Hashable) -> int:
    """A stable signed 64-bit number for a lock key such as ``("chat", 42)``: the same on every
    instance (Python's ``hash`` is salted per process), as ``pg_advisory_lock(bigint)`` takes."""
    digest = hashlib.blake2b(repr(key).encode(), digest_size=8, person=b"dialog-lock").digest()
    return int.from_bytes(digest, "big", signed=True)


def encode_key(key: ConversationKey) -> str:
    return json.dumps(list(key), separators=(",", ":"))


def decode_key(text: str) -> ConversationKey:
    return tuple(json.loads(text))


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
        self._clock = clock or SystemClock()
        self._locks = lock_engine

    @property
    def locks_across_processes(self) -> bool:
        return self._locks is not None

    # -- per update (bot.dialog_state) --------------------------------------------------------

    @contextlib.asynccontextmanager
    async def locked(self, keys: Sequence[Hashable]) -> AsyncIterator[AsyncConnection | None]:
        """Hold the advisory locks of ``keys`` (in this order: every caller passes chat before
        user, so two holders never wait for each other in a cycle) until the block ends; yields
        the lock connection (None without a lock engine: SQLite, one process)."""
        if self._locks is None or not keys:
            yield None
            return
        ids = {f"k{i}": advisory_id(k) for i, k in enumerate(keys)}
        take = select(*(func.pg_advisory_lock(literal(v)) for v in ids.values()))
        give = select(*(func.pg_advisory_unlock(literal(v)) for v in ids.values()))
        async with self._locks.connect() as conn:
            await conn.execute(take)
            try:
                yield conn
            finally:
                try:
                    await conn.execute(give)
                except BaseException:
                    # the session's locks die with it: a connection we could not unlock on
                    # must not go back to the pool still holding them
                    await conn.invalidate()
                    raise

    async def read_turn(
        self,
        user_id: int | None,
        conversations: Sequence[tuple[str, ConversationKey]],
        conn: AsyncConnection | None = None,
    ) -> TurnRows:
        """The user's ``user_data`` row and these conversations' rows, in one statement."""
        parts = []
        if user_id is not None:
            parts.append(
                select(
                    literal("u", String).label("kind"),
                    literal("", String).label("name"),
                    literal("", String).label("key"),
                    _USER.c.data.label("value"),
                ).where(_USER.c.user_id == user_id)
            )
        if conversations:
            wanted = or_(*(and_(_CONV.c.name == n, _CONV.c.key == encode_key(k)) for n, k in conversations))
            parts.append(
                select(
                    literal("c", String).label("kind"),
                    _CONV.c.name,
                    _CONV.c.key,
                    _CONV.c.state.label("value"),
                ).where(wanted)
            )
        found = TurnRows()
        if not parts:
            return found
        stmt = parts[0] if len(parts) == 1 else union_all(*parts)
        if conn is not None:
            rows = list(await conn.execute(stmt))
        else:
            async with self._sessions() as session:
                rows = list(await session.execute(stmt))
        for kind, name, key, value in rows:
            if kind == "u":
                found.user_data = dict(cast(dict[str, Any], value))
            else:
                found.conversations[(str(name), decode_key(str(key)))] = value
        return found

    async def write_turn(
        self,
        user_id: int | None,
        user_data: object,
        conversations: Mapping[tuple[str, ConversationKey], object | None],
    ) -> None:
        """What one update changed, in one transaction: ``user_data`` (``KEEP``: unchanged;
        None or empty: the row goes) and conversation states (None: the row goes)."""
        if (user_data is KEEP or user_id is None) and not conversations:
            return
        now = self._clock.now()
        async with self._sessions() as session:
            if user_id is not None and user_data is not KEEP:
                if not user_data:
                    await session.execute(delete(_USER).where(_USER.c.user_id == user_id))
                else:
                    values = {"data": strip_nul(dict(cast(Mapping[str, Any], user_data))), "updated_at": now}
                    stmt = insert_for(session, _USER).values(user_id=user_id, **values)
                    stmt = stmt.on_conflict_do_update(index_elements=[_USER.c.user_id], set_=values)
                    await session.execute(stmt)
            for (name, key), state in conversations.items():
                encoded = encode_key(key)
                if state is None:
                    await session.execute(delete(_CONV).where(_CONV.c.name == name, _CONV.c.key == encoded))
                else:
                    values = {"state": strip_nul(state), "updated_at": now}
                    stmt = insert_for(session, _CONV).values(name=name, key=encoded, **values)
                    stmt = stmt.on_conflict_do_update(index_elements=[_CONV.c.name, _CONV.c.key], set_=values)
                    await session.execute(stmt)
            await session.commit()

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
