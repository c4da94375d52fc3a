"""python-telegram-bot's persistence on our own database (SPEC §4.1, §10): conversation states
and ``user_data`` (the dialogs' drafts) survive a restart, so a dialog resumes where it was.

``bot_data`` is not persisted: it holds the process's dependencies (``bot.context.BotData``),
which are rebuilt at start. ``chat_data`` and callback data are not used by this bot.

Who writes, when (SPEC §9: any instance serves any update of a chat): every update with a
chat or user runs as a "turn" (``bot.dialog_state``, from the update processor): under the
chat's lock it reads this user's ``user_data`` and this chat/user's conversation states from the
database, runs, and writes what changed at once, before the lock goes. The database is the
truth; this process's copy is only as fresh as its last turn for that user.

python-telegram-bot's own writes, every ``FLUSH_SECONDS`` (and on shutdown), are switched off
once turns run (``written_by_turns``, set at the first turn): every change is made in a
turn — updates, and conversation timeouts, which run in their chat's turn too
(``bot.dialog_state.DialogJobQueue``) — and written by it before its lock goes. The timer is
not only redundant but wrong: it hands over a deep copy taken whenever it fires, outside any
lock, possibly mid-turn, and its write can land after a later turn's (with many chats on
SQLite it waits for the write lock), putting a dialog back one step (found with
bench/bench_dialog.py: 1 dialog in 100–400 re-asked a step). Without turns (tests that drive
this class alone) a write is compared with what was last *synced* with the database for that
user or conversation (``synced_user``/``synced_conversation``) and skipped when equal.

``user_data`` must hold JSON only (string keys; str, int, float, bool, None, lists, dicts): it
goes into a JSON column. A value that is not JSON is logged and that user's data is not
written, rather than failing every write again. A NUL character anywhere in it is removed
before writing (PostgreSQL's JSONB refuses it; the dialogs clean their input with
``core.text``, this is the guard for what one forgot).

At start, python-telegram-bot still reads every conversation and ``user_data`` once
(``get_conversations``, ``get_user_data``); turns then overwrite a user's entries with the
database's before each update.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Final, cast

from telegram.ext import BasePersistence, PersistenceInput
from telegram.ext._utils.types import CDCData, ConversationDict, ConversationKey

from bot.context import BotData
from bot.log_privacy import person_ref
from core.text import strip_nul
from storage.dialog_store import SqlDialogStore

log = logging.getLogger(__name__)

FLUSH_SECONDS: Final = 1.0
EMPTY_JSON: Final = "{}"
_EMPTY: Final = EMPTY_JSON
NOT_SYNCED: Final = object()  # no turn synced this conversation yet
_UNKNOWN: Final = NOT_SYNCED
_ESCAPED_NUL: Final = "\\u0000"  # how json.dumps writes NUL

UserData = dict[Any, Any]
ChatData = dict[Any, Any]


def _dump(data: UserData) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True, allow_nan=False)


def user_data_json(user_id: int, data: UserData) -> str | None:
    """The JSON a user's data is stored as (NUL removed), or None when it is not JSON (logged:
    that user's data is then not written)."""
    try:
        text = _dump(data)
        if _ESCAPED_NUL in text:  # cheap test first; a typed backslash-u0000 also matches
            cleaned = _dump(strip_nul(data))
            if cleaned != text:
                # a handler took this text without cleaning it (core.text); PostgreSQL would
                # refuse the row for good, so the NUL goes and the dialog goes on
                log.warning("a NUL character in user_data (keys %s) was removed", sorted(map(str, data)))
                text = cleaned
    except (TypeError, ValueError):
        log.error(
            "user_data of %s is not JSON (keys %s); not persisted",
            person_ref(user_id),
            sorted(map(str, data)),
            exc_info=True,
        )
        return None
    return text


class DialogPersistence(BasePersistence[UserData, ChatData, BotData]):
    """Conversations and ``user_data`` in the ``dialog_*`` tables, via ``SqlDialogStore``."""

    def __init__(self, store: SqlDialogStore, *, update_interval: float = FLUSH_SECONDS) -> None:
        super().__init__(
            store_data=PersistenceInput(bot_data=False, chat_data=False, user_data=True, callback_data=False),
            update_interval=update_interval,
        )
        self._store = store
        # What this process last saw in (or wrote to) the database, per user (its user_data's
        # JSON; no row: absent) and per conversation (its state; no row: None). See the module
        # docstring: the timer writes only what differs from this.
        self._written: dict[int, str] = {}
        self._states: dict[tuple[str, Any], object] = {}
        # True once DialogTurns writes every change itself: python-telegram-bot's timer then
        # writes nothing (module docstring)
        self.written_by_turns = False

    @property
    def store(self) -> SqlDialogStore:
        return self._store

    def synced_user(self, user_id: int, text: str) -> None:
        """A turn read or wrote this user's data (``text``: its JSON, ``EMPTY_JSON``: none)."""
        if text == _EMPTY:
            self._written.pop(user_id, None)
        else:
            self._written[user_id] = text

    def last_synced_user(self, user_id: int) -> str:
        """The JSON of this user's data as this process last saw it in the database."""
        return self._written.get(user_id, _EMPTY)

    def last_synced_conversation(self, name: str, key: tuple[Any, ...]) -> object:
        """The state as this process last saw it in the database (None: no conversation), or
        ``NOT_SYNCED`` when it never did."""
        return self._states.get((name, key), NOT_SYNCED)

    def synced_conversation(self, name: str, key: tuple[Any, ...], state: object | None) -> None:
        """A turn read or wrote this conversation's state (None: no conversation)."""
        self._states[(name, key)] = state

    # -- user_data -----------------------------------------------------------------------------

    async def get_user_data(self) -> dict[int, UserData]:
        stored = await self._store.get_user_data()
        self._written = {user_id: _dump(data) for user_id, data in stored.items()}
        return {user_id: dict(data) for user_id, data in stored.items()}

    async def update_user_data(self, user_id: int, data: UserData) -> None:
        """Writes the user's data when it differs from what the last turn synced (see the
        module docstring); empty data deletes the row, so only users with something in
        progress take a row."""
        if self.written_by_turns:
            return
        text = user_data_json(user_id, data)
        if text is None or self._written.get(user_id, _EMPTY) == text:
            return
        if text == _EMPTY:
            await self._store.drop_user_data(user_id)
            self._written.pop(user_id, None)
        else:
            await self._store.update_user_data(user_id, json.loads(text))
            self._written[user_id] = text

    async def drop_user_data(self, user_id: int) -> None:
        if self.written_by_turns:
            return
        await self._store.drop_user_data(user_id)
        self._written.pop(user_id, None)

    async def refresh_user_data(self, user_id: int, user_data: UserData) -> None:
        """Nothing to do here: the turn (``bot.dialog_state``) already read this user's data
        from the database before the update's handlers ran, under the chat's lock."""

    # -- conversations -------------------------------------------------------------------------

    async def get_conversations(self, name: str) -> ConversationDict:
        stored = await self._store.get_conversations(name)
        for key, state in stored.items():
            self._states[(name, key)] = state
        return cast(ConversationDict, stored)

    async def update_conversation(self, name: str, key: ConversationKey, new_state: object | None) -> None:
        """Writes the state unless it is what the last turn synced (see the module docstring)."""
        if self.written_by_turns or self._states.get((name, key), _UNKNOWN) == new_state:
            return
        await self._store.update_conversation(name, key, new_state)
        self._states[(name, key)] = new_state

    # -- not persisted -------------------------------------------------------------------------

    async def get_bot_data(self) -> BotData:
        raise RuntimeError("bot_data is not persisted: it holds the process's dependencies")

    async def update_bot_data(self, data: BotData) -> None:
        """Not persisted."""

    async def refresh_bot_data(self, bot_data: BotData) -> None:
        """Not persisted."""

    async def get_chat_data(self) -> dict[int, ChatData]:
        return {}

    async def update_chat_data(self, chat_id: int, data: ChatData) -> None:
        """Not persisted."""

    async def refresh_chat_data(self, chat_id: int, chat_data: ChatData) -> None:
        """Not persisted."""

    async def drop_chat_data(self, chat_id: int) -> None:
        """Not persisted."""

    async def get_callback_data(self) -> CDCData | None:
        return None

    async def update_callback_data(self, data: CDCData) -> None:
        """Not persisted."""

    async def flush(self) -> None:
        """Nothing buffered: every write above is its own committed transaction."""
