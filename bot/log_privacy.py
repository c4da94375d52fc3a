"""Identity never reaches the log (SPEC §3, §10; issue 12): no citizen's phone number, name or
Telegram user id in any record, at any level.

Three layers, set up by ``protect_logs`` (called from ``bot.cli.common.configure_logging``):

- Loggers that print whole updates or SQL parameters are capped, whatever LOG_LEVEL says:
  python-telegram-bot's DEBUG records hold whole updates (user ids, names, shared contacts),
  so ``telegram`` stays at INFO; aiosqlite's DEBUG records hold every statement with its
  parameters, so ``aiosqlite`` stays at INFO; SQLAlchemy's engine logs result rows at DEBUG,
  so ``sqlalchemy`` stays at WARNING (and its engines are made with ``hide_parameters=True``,
  storage/db.py, so an error's text never carries the bound values either).
- ``PhoneMaskFilter`` on every handler of the root logger masks anything that looks like a
  Chinese phone number (mobiles, with or without +86, and +86 numbers of any kind) in the
  message and the traceback of every record, ours or a library's, and replaces Telegram
  objects passed as log arguments (python-telegram-bot logs whole updates that way) by their
  kind and update id. So even a logger someone turns back to DEBUG prints no identity.
- Our own records name people by ``person_ref``: a pseudonym that lets a reader follow one
  chat through the log without learning who it is. Group chats (negative ids, such as the
  office chat) are not people and keep their id.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from typing import Final

from telegram import TelegramObject, Update

# A mobile (1[3-9] and nine more digits, spaced or dashed as people write them, optionally
# after +86 / 0086 / 86), or anything dialled with +86. Digits right before or after mean a
# longer number (a timestamp, an id) that is not a phone.
PHONE: Final = re.compile(
    r"(?<![\d+])(?:(?:\+|00)?86[\s-]?)?1[3-9]\d(?:[\s-]?\d{4}){2}(?!\d)"
    r"|\+\s?86[\d\s()-]{5,}\d"
)
PHONE_MASK: Final = "[phone]"

# logger name -> the most it may say (lower levels are raised to this)
CAPPED_LOGGERS: Final = {
    "telegram": logging.INFO,  # DEBUG: whole updates
    "aiosqlite": logging.INFO,  # DEBUG: every statement with its parameters
    "sqlalchemy": logging.WARNING,  # INFO: statements; DEBUG: result rows
    "asyncpg": logging.INFO,
}

# A pseudonym is only as good as its key is secret: a fresh one per process (user ids are few
# enough to try them all against a known key). Within a process one chat keeps its pseudonym.
_KEY: Final = secrets.token_bytes(16)


def mask_phones(text: str) -> str:
    return PHONE.sub(PHONE_MASK, text)


def person_ref(chat_or_user_id: int | str | None) -> str:
    """How a log line names a user or a private chat: ``user#3fa2c1d0``. Groups and channels
    (negative ids) are shown as they are."""
    if chat_or_user_id is None:
        return "-"
    try:
        number = int(chat_or_user_id)
    except (TypeError, ValueError):
        return "user#?"
    if number < 0:
        return str(number)
    digest = hmac.new(_KEY, str(number).encode(), hashlib.sha256).hexdigest()
    return f"user#{digest[:8]}"


class PhoneMaskFilter(logging.Filter):
    """Masks phone numbers in a record's message and traceback, before any handler writes it.
    On handlers, not loggers: a logger's filter does not see its children's records."""

    def __init__(self) -> None:
        super().__init__()
        self._formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(isinstance(a, TelegramObject) for a in record.args):
            # python-telegram-bot logs whole updates as arguments (DEBUG "Processing update",
            # CRITICAL when a context cannot be built): say which, not what is in them
            record.args = tuple(_telegram_summary(a) for a in record.args)
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: let logging report it as usual
            return True
        masked = mask_phones(message)
        if masked != message or record.args:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_phones(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_phones(record.stack_info)
        return True


def _telegram_summary(value: object) -> object:
    if isinstance(value, Update):
        return f"<Update {value.update_id}>"
    if isinstance(value, TelegramObject):
        return f"<{type(value).__name__}>"
    return value


def cap_loggers(caps: dict[str, int] = CAPPED_LOGGERS) -> None:
    """Raise each logger's level to its cap when the root's would let it say more."""
    root_level = logging.getLogger().getEffectiveLevel()
    for name, cap in caps.items():
        logger = logging.getLogger(name)
        level = logger.level or root_level
        if level < cap:
            logger.setLevel(cap)


def protect_logs() -> None:
    """Cap the chatty loggers and mask phones on every root handler (idempotent)."""
    cap_loggers()
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, PhoneMaskFilter) for f in handler.filters):
            handler.addFilter(PhoneMaskFilter())
