"""What nobody else handled: unknown commands, stale buttons, any other message.

Registered last (``bot.app.register_handlers``), so every real handler gets its chance first.
"""

from __future__ import annotations

from telegram import Update

from bot.context import BotContext
from bot.language import user_language
from bot.replies import reply

MAX_ECHOED_COMMAND = 40


async def unknown_command(update: Update, context: BotContext) -> None:
    """Names the command we do not know and points to /help."""
    message = update.effective_message
    command = (message.text or "").split(maxsplit=1)[0] if message and message.text else "/"
    if len(command) > MAX_ECHOED_COMMAND:  # Telegram's own commands are at most 32 characters
        command = command[: MAX_ECHOED_COMMAND - 1] + "…"
    lang = await user_language(update, context)
    await reply(update, context, context.deps.catalogue.t(lang, "fallback.unknown_command", command=command))


async def nothing_to_cancel(update: Update, context: BotContext) -> None:
    """/cancel outside any dialog: says there is nothing to cancel (not "unknown command")."""
    lang = await user_language(update, context)
    await reply(update, context, context.deps.catalogue.t(lang, "fallback.nothing_to_cancel"))


async def unhandled_text(update: Update, context: BotContext) -> None:
    """Plain text nobody took: points to /start."""
    lang = await user_language(update, context)
    await reply(update, context, context.deps.catalogue.t(lang, "fallback.text"))


async def unhandled_message(update: Update, context: BotContext) -> None:
    """Stickers, locations and the like that nobody took: points to /start."""
    lang = await user_language(update, context)
    await reply(update, context, context.deps.catalogue.t(lang, "fallback.unsupported"))


async def stale_button(update: Update, context: BotContext) -> None:
    """A button whose handler is gone (old message, restarted dialog, forged data)."""
    query = update.callback_query
    if query is None:
        return
    lang = await user_language(update, context)
    await query.answer(context.deps.catalogue.t(lang, "fallback.stale_button"), show_alert=True)
