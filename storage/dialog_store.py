"""Storage for python-telegram-bot's persistence: conversation states, user_data, chat_data,
bot_data and callback_data, as JSON (SPEC §4.1: a dialog resumes after a restart).

This is the table layer only; a ``BasePersistence`` subclass in ``bot/`` adapts it (and
decides how to turn its objects into JSON). Each call is its own short transaction: persistence
is written outside the services' units of work, as python-telegram-bot flushes it.

Every string written is stripped of NUL first (``core.text.strip_nul``), whatever a handler
let through: PostgreSQL refuses it in JSONB.

``get_conversation`` reads one key, so several instances can read dialog state from the
database per update instead of trusting the copy python-telegram-bot loaded at start (SPEC §9).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable
from typing import Any, cast

from sqlalchemy import Table, delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clock import Clock, SystemClock
from core.text import strip_nul
from storage.models import DialogBotDataRow, DialogChatDataRow, DialogConversationRow, DialogUserDataRow
from storage.repositories._sql import insert_for

ConversationKey = tuple[Hashable, ...]

_CONV = cast(Table, DialogConversationRow.__table__)
_USER = cast(Table, DialogUserDataRow.__table__)
_CHAT = cast(Table, DialogChatDataRow.__table__)
_BOT = cast(Table, DialogBotDataRow.__table__)


def encode_key(key: ConversationKey) -> str:
    return json.dumps(list(key), separators=(",", ":"))


def decode_key(text: str) -> ConversationKey:
    return tuple(json.loads(text))


class SqlDialogStore:
    def __init__(self, session_factory: async_sessionmaker[AsyncSession], clock: Clock | None = None) -> None:
        self._sessions = session_factory
        self._clock = clock or SystemClock()

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
