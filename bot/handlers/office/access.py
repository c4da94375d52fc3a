"""Who may see and do the office's things, and where (SPEC §6, §10): ``guard`` first in every
command and button; the pieces of the ``of:`` callback data the office's modules share."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Final

from telegram import Chat, Update
from telegram.constants import ChatType

from bot.context import BotContext, Deps, roles_of
from bot.handlers.staff_ui import alert
from bot.language import user_language
from bot.replies import reply

CALLBACK_PREFIX: Final = "of:"
CALLBACK_PATTERN: Final = r"^of:"  # everything under of:, malformed data included
EXTENSION_PATTERN: Final = r"^ext:"  # likewise for the extension buttons
MAX_CALLBACK_DATA: Final = 64  # Telegram's limit, in bytes
ID: Final = r"[1-9][0-9]{0,11}"  # a case's database id
PLAN_ID: Final = r"[a-z][a-z0-9_]{0,39}"  # an area's or a unit's id in the plan


def _office_place(chat: Chat | None, deps: Deps) -> bool:
    """Office views (they show who complained) only in a private chat or the office chat."""
    if chat is None:
        return False
    return chat.type == ChatType.PRIVATE or chat.id == deps.settings.office_chat_id


async def _refuse(update: Update, context: BotContext, lang: str, key: str) -> None:
    text = context.deps.catalogue.t(lang, key)
    if update.callback_query is not None:
        await alert(update, text)
    else:
        await reply(update, context, text)


async def guard(update: Update, context: BotContext) -> tuple[int, str] | None:
    """(user id, language) for an office member in a fitting chat; refuses anybody else."""
    user = update.effective_user
    if user is None:
        return None
    lang = await user_language(update, context)
    if not (await roles_of(context, user.id)).office:
        await _refuse(update, context, lang, "office.only")
        return None
    if not _office_place(update.effective_chat, context.deps):
        await _refuse(update, context, lang, "office.error_place")
        return None
    return user.id, lang


def command_text(update: Update) -> str:
    """What follows the command, line breaks kept (``context.args`` splits them away)."""
    message = update.effective_message
    text = message.text if message is not None and message.text else ""
    parts = text.split(maxsplit=1)
    return parts[1].strip() if len(parts) > 1 else ""


OfficeCallback = Callable[[Update, BotContext, int, str], Awaitable[None]]


def office_only(callback: OfficeCallback) -> Callable[[Update, BotContext], Coroutine[Any, Any, None]]:
    """The handler for ``callback``: an office member in a fitting chat reaches it with their
    user id and language; anybody else gets ``guard``'s refusal, before anything is parsed."""

    @functools.wraps(callback)
    async def handler(update: Update, context: BotContext) -> None:
        guarded = await guard(update, context)
        if guarded is not None:
            await callback(update, context, *guarded)

    return handler
