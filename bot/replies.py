"""Sending the catalogue's texts back: one place that knows how a reply reaches the user."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.error import TelegramError

from bot.context import BotContext
from core.attachments import Attachment, AttachmentKind

log = logging.getLogger(__name__)


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


async def resend_files(context: BotContext, chat_id: int, files: Sequence[Attachment]) -> int:
    """Send stored evidence again by Telegram file id (the bytes never pass through the bot);
    returns how many could not be sent (logged), so the caller can say so."""
    failed = 0
    for attachment in files:
        try:
            if attachment.kind is AttachmentKind.PHOTO:
                await context.bot.send_photo(chat_id, photo=attachment.file_id)
            elif attachment.kind is AttachmentKind.VOICE:
                await context.bot.send_voice(chat_id, voice=attachment.file_id)
            else:
                await context.bot.send_document(chat_id, document=attachment.file_id)
        except TelegramError as exc:
            log.warning("could not send file %s (case %s): %s", attachment.id, attachment.case_id, exc)
            failed += 1
    return failed
