"""python-telegram-bot's persistence on our own database (SPEC §4.1, §10): conversation states
and ``user_data`` (the dialogs' drafts) survive a restart, so a dialog resumes where it was.

``bot_data`` is not persisted: it holds the process's dependencies (``bot.context.BotData``),
which are rebuilt at start. ``chat_data`` and callback data are not used by this bot.

How often: python-telegram-bot collects what changed and hands it over every
``update_interval`` seconds (and once more on a clean shutdown). With ``FLUSH_SECONDS`` at one
second, a crash loses at most the answers of the last second, i.e. the last step of a dialog:
people do not answer two steps within a second. Writing on every update instead would put two
database writes into every dialog step (SPEC §10 wants a dialog update to cost little more than
a bare handler).

``user_data`` must hold JSON only (string keys; str, int, float, bool, None, lists, dicts): it
goes into a JSON column. A value that is not JSON is logged and that user's data is not
written, rather than failing the whole flush again every second. A NUL character anywhere in
it is removed before writing (PostgreSQL's JSONB refuses it; the dialogs clean their input with
``core.text``, this is the guard for what one forgot).

python-telegram-bot reads conversation states once, at start (``get_conversations``), and
keeps them in memory; several instances therefore need each chat pinned to one instance
(SPEC §9). Under that rule this process is the only writer of its users' rows, which lets it
skip writing data that did not change since it last wrote it.
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
_EMPTY: Final = "{}"
_ESCAPED_NUL: Final = "\\u0000"  # how json.dumps writes NUL

UserData = dict[Any, Any]
ChatData = dict[Any, Any]


def _dump(data: UserData) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True, allow_nan=False)


class DialogPersistence(BasePersistence[UserData, ChatData, BotData]):
    """Conversations and ``user_data`` in the ``dialog_*`` tables, via ``SqlDialogStore``."""

    def __init__(self, store: SqlDialogStore, *, update_interval: float = FLUSH_SECONDS) -> None:
        super().__init__(
            store_data=PersistenceInput(bot_data=False, chat_data=False, user_data=True, callback_data=False),
            update_interval=update_interval,
        )
        self._store = store
        # user id -> the JSON last written (or read) for them; users without a row are absent
        self._written: dict[int, str] = {}

    # -- user_data -----------------------------------------------------------------------------

    async def get_user_data(self) -> dict[int, UserData]:
        stored = await self._store.get_user_data()
        self._written = {user_id: _dump(data) for user_id, data in stored.items()}
        return {user_id: dict(data) for user_id, data in stored.items()}

    async def update_user_data(self, user_id: int, data: UserData) -> None:
        """Writes the user's data when it changed; empty data deletes the row, so only users
        with something in progress take a row."""
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
            return
        if self._written.get(user_id, _EMPTY) == text:
            return
        if text == _EMPTY:
            await self._store.drop_user_data(user_id)
            self._written.pop(user_id, None)
        else:
            await self._store.update_user_data(user_id, json.loads(text))
            self._written[user_id] = text

    async def drop_user_data(self, user_id: int) -> None:
        await self._store.drop_user_data(user_id)
        self._written.pop(user_id, None)

    async def refresh_user_data(self, user_id: int, user_data: UserData) -> None:
        """Nothing to refresh: this process is the only writer of its users' data."""

    # -- conversations -------------------------------------------------------------------------

    async def get_conversations(self, name: str) -> ConversationDict:
        return cast(ConversationDict, await self._store.get_conversations(name))

    async def update_conversation(self, name: str, key: ConversationKey, new_state: object | None) -> None:
        await self._store.update_conversation(name, key, new_state)

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
