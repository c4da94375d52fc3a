"""Which language to answer a user in, and remembering their choice.

The stored choice (``/lang``, or what we derived when we first saw them) wins; until we have
stored anything, Telegram's ``language_code`` decides (``bot.i18n.language_for``).
"""

from __future__ import annotations

import logging

from telegram import Update, User

from bot.context import BotContext
from bot.i18n import language_for
from bot.log_privacy import person_ref

log = logging.getLogger(__name__)


async def stored_language(context: BotContext, user_id: int) -> str | None:
    """The language stored for the user (None: none yet), from this process's cache when it
    has a fresh entry (``bot.language_cache``)."""
    cache = context.deps.languages
    hit, cached = cache.get(user_id)
    if hit:
        return cached
    async with context.deps.uow() as uow:
        record = await uow.users.get(user_id)
    language = record.language if record is not None else None
    cache.put(user_id, language)
    return language


async def user_language(update: object, context: BotContext) -> str:
    """The language to answer this update's user in; the default language if there is no user.

    Never raises: a database hiccup must not stop us from telling the user something."""
    user = update.effective_user if isinstance(update, Update) else None
    if user is None:
        return language_for(None, None)
    try:
        stored = await stored_language(context, user.id)
    except Exception:
        log.warning("could not read the language of %s; using Telegram's", person_ref(user.id), exc_info=True)
        stored = None
    return language_for(stored, user.language_code)


async def remember_user(context: BotContext, user: User, chat_id: int | None) -> str:
    """Record that we have seen ``user`` (and where to reach them); returns their language.

    A user's first language is derived from Telegram's; later calls never override ``/lang``."""
    now = context.deps.clock.now()
    async with context.deps.uow() as uow:
        record = await uow.users.upsert(
            user.id, now=now, chat_id=chat_id, first_language=language_for(None, user.language_code)
        )
        await uow.commit()
    context.deps.languages.put(user.id, record.language)
    return language_for(record.language, user.language_code)


async def choose_language(context: BotContext, user: User, chat_id: int | None, language: str) -> None:
    """Store ``/lang``'s choice."""
    now = context.deps.clock.now()
    async with context.deps.uow() as uow:
        await uow.users.upsert(user.id, now=now, chat_id=chat_id, language=language)
        await uow.commit()
    context.deps.languages.put(user.id, language)  # this process answers in it from now on
