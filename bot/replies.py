"""Sending the catalogue's texts back: one place that knows how a reply reaches the user."""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardMarkup, Message, Update

from bot.context import BotContext


async def reply(
    update: Update,
    context: BotContext,
    text: str,
    *,
    reply_markup: InlineKeyboardMarkup | None = None,
    **kwargs: Any,
) -> Message | None:
    """Answer in the update's chat (parse mode HTML comes from the application's defaults)."""
    chat = update.effective_chat
    if chat is None:
        return None
    return await context.bot.send_message(chat.id, text, reply_markup=reply_markup, **kwargs)
