"""The one error handler: log with context, tell the user something kind (never a traceback),
tell the office chat about the unexpected, briefly."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from telegram import Update
from telegram.error import Forbidden, NetworkError, RetryAfter, TelegramError
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
        log.error("unexpected error in %s", where, exc_info=error)
        await self._tell_user(update, context, "error.unexpected")
        await self._tell_office(update, context, error)
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
                # stop the button's spinner even if the message below fails
                await update.callback_query.answer()
            if update.effective_chat is not None:
                await context.bot.send_message(update.effective_chat.id, text)
        except Exception:
            log.warning("could not tell the user about the error in %s", describe(update), exc_info=True)

    async def _tell_office(self, update: object, context: BotContext, error: BaseException) -> None:
        chat_id = context.deps.settings.office_chat_id
        if chat_id is None:
            return
        kind = type(error).__name__
        now = self._monotonic()
        last = self._last_notice.get(kind)
        if last is not None and now - last < OFFICE_NOTICE_INTERVAL:
            return
        self._last_notice[kind] = now
        summary = f"{kind}: {error}"
        if len(summary) > MAX_ERROR_TEXT:
            summary = summary[: MAX_ERROR_TEXT - 1] + "…"
        update_id = update.update_id if isinstance(update, Update) else "-"
        chat = update.effective_chat if isinstance(update, Update) else None
        text = context.deps.catalogue.t(
            DEFAULT_LANG,
            "error.office_notice",
            error=summary,
            update_id=str(update_id),
            chat_id=str(chat.id) if chat else "-",
        )
        try:
            await context.bot.send_message(chat_id, text)
        except TelegramError:
            log.warning("could not tell the office chat %s about an error", chat_id, exc_info=True)


def describe(update: object) -> str:
    """A short, log-friendly description of where an error happened (no message text)."""
    if not isinstance(update, Update):
        return "no update" if update is None else type(update).__name__
    user = update.effective_user
    chat = update.effective_chat
    kind = "callback" if update.callback_query else "message" if update.effective_message else "update"
    chat_id = chat.id if chat else "-"
    user_id = user.id if user else "-"
    return f"{kind} update {update.update_id} (chat {chat_id}, user {user_id})"
