"""Builders for real ``telegram.Update`` objects, as Telegram would send them.

Every builder makes the update's JSON (what the Bot API's ``getUpdates`` returns) and parses it
with ``Update.de_json``, so the objects are the same the bot gets in production, bot attached
(``message.reply_text`` works). ``payload(update)`` gives the JSON back for the Bot API
stand-in. Users chat with the bot in private chats (chat id = user id).

    users = TgUser(42, "张三")                 # language_code "zh-hans"
    make = UpdateFactory(bot)                   # bot may be None for bare objects
    make.command(users, "start")
    make.text(users, "窗口工作人员态度很差")
    make.callback(users, "lang:en", message_id=1001)
    make.group_text(users, -100_555, "@banshinan_test_bot 怎么投诉？")   # in a group chat
    make.edited(update, text="改过的文字")       # the same message, edited
"""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from telegram import Bot, Update


@dataclass(frozen=True, slots=True)
class TgUser:
    id: int
    first_name: str = "张三"
    language_code: str | None = "zh-hans"
    last_name: str | None = None
    username: str | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name is not None:
            data["last_name"] = self.last_name
        if self.username is not None:
            data["username"] = self.username
        if self.language_code is not None:
            data["language_code"] = self.language_code
        return data

    def private_chat(self) -> dict[str, Any]:
        chat: dict[str, Any] = {"id": self.id, "type": "private", "first_name": self.first_name}
        if self.last_name is not None:
            chat["last_name"] = self.last_name
        if self.username is not None:
            chat["username"] = self.username
        return chat


def group_chat(chat_id: int, title: str = "群聊") -> dict[str, Any]:
    """A group chat's JSON: a supergroup for ids below -10¹², a basic group otherwise."""
    kind = "supergroup" if chat_id < -1_000_000_000_000 else "group"
    return {"id": chat_id, "type": kind, "title": title}


ZH_USER = TgUser(100_001, "张三", "zh-hans")
EN_USER = TgUser(100_002, "Alice", "en-GB")
NO_LANG_USER = TgUser(100_003, "Ivan", None)


class UpdateFactory:
    """Makes updates with increasing ``update_id`` and ``message_id`` (like Telegram)."""

    def __init__(
        self,
        bot: Bot | None = None,
        *,
        first_update_id: int = 1,
        first_message_id: int = 1,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.bot = bot
        self._update_ids: Iterator[int] = itertools.count(first_update_id)
        self._message_ids: Iterator[int] = itertools.count(first_message_id)
        self._file_ids: Iterator[int] = itertools.count(1)
        self._query_ids: Iterator[int] = itertools.count(1)
        self._now = now

    # -- messages -----------------------------------------------------------------------------

    def text(self, user: TgUser, text: str, **message_fields: Any) -> Update:
        """A plain text message from ``user`` in their private chat."""
        return self.message(user, text=text, **message_fields)

    def command(
        self, user: TgUser, command: str, args: str = "", *, mention_bot: str | None = None
    ) -> Update:
        """``/command args``, with the ``bot_command`` entity Telegram adds (``/start@bot`` when
        ``mention_bot`` names the bot)."""
        name = command.lstrip("/")
        head = f"/{name}@{mention_bot}" if mention_bot else f"/{name}"
        text = f"{head} {args}".rstrip() if args else head
        entity = {"type": "bot_command", "offset": 0, "length": _utf16_len(head)}
        return self.message(user, text=text, entities=[entity])

    def contact(self, user: TgUser, phone_number: str = "+8613800000000", *, own: bool = True) -> Update:
        """A shared contact; ``own`` means the user shared their own (``user_id`` matches), as
        Telegram's "share my phone number" button does."""
        contact: dict[str, Any] = {"phone_number": phone_number, "first_name": user.first_name}
        if own:
            contact["user_id"] = user.id
        return self.message(user, contact=contact)

    def photo(self, user: TgUser, *, caption: str | None = None, file_size: int = 120_000) -> Update:
        """A photo in the sizes Telegram sends (a thumbnail and the full picture)."""
        n = next(self._file_ids)
        sizes = [
            {"file_id": f"photo{n}-s", "file_unique_id": f"uph{n}s", "width": 90, "height": 67,
             "file_size": 1_500},
            {"file_id": f"photo{n}-m", "file_unique_id": f"uph{n}m", "width": 1280, "height": 960,
             "file_size": file_size},
        ]
        extra: dict[str, Any] = {"caption": caption} if caption is not None else {}
        return self.message(user, photo=sizes, **extra)

    def document(
        self,
        user: TgUser,
        *,
        file_name: str = "evidence.pdf",
        mime_type: str = "application/pdf",
        file_size: int = 200_000,
        caption: str | None = None,
    ) -> Update:
        n = next(self._file_ids)
        document = {
            "file_id": f"doc{n}",
            "file_unique_id": f"udoc{n}",
            "file_name": file_name,
            "mime_type": mime_type,
            "file_size": file_size,
        }
        extra: dict[str, Any] = {"caption": caption} if caption is not None else {}
        return self.message(user, document=document, **extra)

    def voice(self, user: TgUser, *, duration: int = 5, file_size: int = 20_000) -> Update:
        n = next(self._file_ids)
        voice = {
            "file_id": f"voice{n}",
            "file_unique_id": f"uvoice{n}",
            "duration": duration,
            "mime_type": "audio/ogg",
            "file_size": file_size,
        }
        return self.message(user, voice=voice)

    def group_text(
        self, user: TgUser, chat_id: int, text: str, *, reply_to_bot: str | None = None, **fields: Any
    ) -> Update:
        """A text from ``user`` in the group ``chat_id``; ``@username`` mentions in it get the
        ``mention`` entity Telegram adds; ``reply_to_bot``: the text of the bot's message it
        replies to."""
        entities = [
            {"type": "mention", "offset": _utf16_len(text[: m.start()]), "length": _utf16_len(m.group())}
            for m in re.finditer(r"@[A-Za-z0-9_]{5,32}", text)
        ]
        if text.startswith("/"):
            head = text.split(maxsplit=1)[0]
            entities = [{"type": "bot_command", "offset": 0, "length": _utf16_len(head)}]
        extra: dict[str, Any] = {"entities": entities} if entities else {}
        if reply_to_bot is not None:
            bot = self.bot and _bot_json(self.bot)
            extra["reply_to_message"] = {
                "message_id": next(self._message_ids),
                "date": self._timestamp(),
                "chat": group_chat(chat_id),
                "text": reply_to_bot,
                **({"from": bot} if bot else {}),
            }
        return self.message(user, chat=group_chat(chat_id), text=text, **extra, **fields)

    def edited(self, original: Update, **changes: Any) -> Update:
        """``original``'s message as the user edited it (same ``message_id``, ``edit_date``
        set, ``changes`` applied, e.g. ``text=``), delivered as Telegram does: an
        ``edited_message`` update."""
        assert original.message is not None, "only a message can be edited"
        message = original.message.to_dict()
        message.update(changes)
        if "text" in changes:
            message.pop("entities", None)
        message["edit_date"] = self._timestamp()
        return self.update(edited_message=message)

    def message(self, user: TgUser, **fields: Any) -> Update:
        """Any message from ``user`` (pass the Bot API's message fields; ``chat=`` for a chat
        other than the private one)."""
        message = {
            "message_id": next(self._message_ids),
            "date": self._timestamp(),
            "chat": user.private_chat(),
            "from": user.to_json(),
            **fields,
        }
        return self.update(message=message)

    # -- callback queries ---------------------------------------------------------------------

    def callback(
        self,
        user: TgUser,
        data: str | None,
        *,
        message_id: int = 1,
        message_text: str = "",
        reply_markup: dict[str, Any] | None = None,
        bot_user: dict[str, Any] | None = None,
    ) -> Update:
        """A button press: ``data`` is the button's callback_data (``None``: a query without
        any, as a forging client may send); the query is attached to the bot's message
        ``message_id`` in the user's private chat."""
        message: dict[str, Any] = {
            "message_id": message_id,
            "date": self._timestamp(),
            "chat": user.private_chat(),
            "text": message_text,
        }
        sender = bot_user or (self.bot and _bot_json(self.bot))
        if sender:
            message["from"] = sender
        if reply_markup is not None:
            message["reply_markup"] = reply_markup
        query = {
            "id": f"cq{next(self._query_ids)}",
            "from": user.to_json(),
            "chat_instance": f"ci{user.id}",
            "message": message,
        }
        if data is not None:
            query["data"] = data
        return self.update(callback_query=query)

    # -- raw ------------------------------------------------------------------------------------

    def update(self, **fields: Any) -> Update:
        payload = {"update_id": next(self._update_ids), **fields}
        return Update.de_json(payload, self.bot)

    def _timestamp(self) -> int:
        return int(self._now().timestamp()) if self._now else int(time.time())


def payload(update: Update) -> dict[str, Any]:
    """The JSON Telegram would send for ``update`` (for the Bot API stand-in's getUpdates)."""
    return update.to_dict()


def _bot_json(bot: Bot) -> dict[str, Any] | None:
    try:
        return bot.bot.to_dict()
    except RuntimeError:  # not initialised yet: the bot's user is unknown
        return None


def _utf16_len(text: str) -> int:
    # Telegram counts entity offsets and lengths in UTF-16 code units
    return len(text.encode("utf-16-le")) // 2
