"""The one error handler: log with context, tell the user something kind (never a traceback),
tell the office chat about the unexpected, briefly.

Nobody's identity goes into the log line or the office notice (SPEC §3, §10): the update is
described by its kind and id, the chat by its type; the office notice holds the update kind,
the handler that failed, the exception's type (not its text: an exception's message may hold
what a user typed) and an error reference that is also in the log line, where the traceback is.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import time
from collections.abc import Callable

from telegram import Update
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import ApplicationHandlerStop

from bot.context import BotContext
from bot.i18n import DEFAULT_LANG
from bot.language import user_language
from bot.plan_view import campaign_view
from core.errors import DomainError

log = logging.getLogger(__name__)

OFFICE_NOTICE_INTERVAL = 60.0  # seconds between office notices about the same kind of error
MAX_ERROR_TEXT = 200


class ErrorReporter:
    """Registered with ``application.add_error_handler``. Holds the office-notice throttle, so
    a failing dependency produces one notice a minute per error type, not one per update."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._last_notice: dict[str, float] = {}

    async def __call__(self, update: object, context: BotContext) -> None:
        error = context.error
        if error is None:
            return
        where = describe(update)
        if isinstance(error, DomainError):
            # raised on purpose by the domain: the user gets the error's own text
            log.info("domain error %s in %s: %s", error.key, where, error)
            await self._tell_user(update, context, error.key)
            raise ApplicationHandlerStop  # one answer per update: no other group replies too
        if isinstance(error, Forbidden):
            log.info("Telegram refused to deliver in %s (bot blocked or kicked): %s", where, error)
            return
        if not isinstance(update, Update) and isinstance(error, NetworkError | RetryAfter):
            # polling hiccups; python-telegram-bot retries by itself
            log.warning("network trouble talking to Telegram: %s", error)
            return
        ref = new_error_ref()
        log.error("unexpected error %s in %s, handler %s", ref, where, handler_of(error), exc_info=error)
        await self._tell_user(update, context, "error.unexpected")
        await self._tell_office(update, context, error, ref)
        if isinstance(update, Update):
            raise ApplicationHandlerStop  # one answer per update: no other group replies too

    async def _tell_user(self, update: object, context: BotContext, key: str) -> None:
        if not isinstance(update, Update):
            return
        try:
            lang = await user_language(update, context)
            catalogue = context.deps.catalogue
            text = catalogue.t(lang, key, phone=campaign_view(context.deps.plan, lang).phone)
            if update.callback_query is not None:
                # stop the button's spinner even if the message below fails; a handler that
                # answered before it failed has used the query's one answer, which is fine
                with contextlib.suppress(BadRequest):
                    await update.callback_query.answer()
            if update.effective_chat is not None:
                await context.bot.send_message(update.effective_chat.id, text)
        except Exception:
            log.warning("could not tell the user about the error in %s", describe(update), exc_info=True)

    async def _tell_office(self, update: object, context: BotContext, error: BaseException, ref: str) -> None:
        chat_id = context.deps.settings.office_chat_id
        if chat_id is None:
            return
        kind = type(error).__name__
        now = self._monotonic()
        last = self._last_notice.get(kind)
        if last is not None and now - last < OFFICE_NOTICE_INTERVAL:
            return
        self._last_notice[kind] = now
        text = context.deps.catalogue.t(
            DEFAULT_LANG,
            "error.office_notice",
            error=kind,
            handler=handler_of(error)[:MAX_ERROR_TEXT],
            kind=update_kind(update),
            ref=ref,
        )
        try:
            await context.bot.send_message(chat_id, text)
        except TelegramError:
            log.warning("could not tell the office chat %s about error %s", chat_id, ref, exc_info=True)


def new_error_ref() -> str:
    """A short reference for one error, in the log line and the office notice alike."""
    return f"E-{secrets.token_hex(4)}"


# frames of these packages are the machinery around a handler, not the handler
_MACHINERY = frozenset({"telegram", "asyncio", "contextlib", "functools"})


def handler_of(error: BaseException) -> str:
    """The outermost function of ours the error went through: the handler callback (or the
    dialog step) that failed, e.g. ``bot.handlers.office.office_button``."""
    tb = error.__traceback__
    while tb is not None:
        frame = tb.tb_frame
        module = str(frame.f_globals.get("__name__", ""))
        if module.partition(".")[0] not in _MACHINERY:
            return f"{module}.{frame.f_code.co_qualname}"
        tb = tb.tb_next
    return "-"


def update_kind(update: object) -> str:
    """``message``, ``callback_query``, ``edited_message``, ...: what sort of update it was."""
    if not isinstance(update, Update):
        return "no update" if update is None else type(update).__name__
    return next((name for name in Update.ALL_TYPES if getattr(update, name, None) is not None), "update")


def describe(update: object) -> str:
    """A short, log-friendly description of where an error happened: the update's kind and id
    and the chat's type; no message text, no chat or user id, no name."""
    if not isinstance(update, Update):
        return update_kind(update)
    chat = update.effective_chat
    where = f"{chat.type} chat" if chat is not None else "no chat"
    return f"{update_kind(update)} update {update.update_id} ({where})"
