"""/lang: pick 中文 or English with a button; stored per user, answered in the new language."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest

from bot.context import BotContext
from bot.i18n import LANGUAGES
from bot.language import choose_language, user_language
from bot.replies import reply

CALLBACK_PREFIX = "lang:"
CALLBACK_PATTERN = rf"^{CALLBACK_PREFIX}({'|'.join(LANGUAGES)})\Z"


def language_keyboard(context: BotContext) -> InlineKeyboardMarkup:
    catalogue = context.deps.catalogue
    # each button is labelled in its own language, so anyone can find theirs
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(catalogue.t(lang, "language.name"), callback_data=CALLBACK_PREFIX + lang)]
         for lang in LANGUAGES]
    )


async def lang_command(update: Update, context: BotContext) -> None:
    """Asks which language, with one button per language."""
    lang = await user_language(update, context)
    prompt = context.deps.catalogue.t(lang, "lang.prompt")
    await reply(update, context, prompt, reply_markup=language_keyboard(context))


async def language_chosen(update: Update, context: BotContext) -> None:
    """Stores the chosen language and confirms in it, replacing the buttons."""
    query = update.callback_query
    user = update.effective_user
    if query is None or user is None or query.data is None:
        return
    chosen = query.data.removeprefix(CALLBACK_PREFIX)
    if chosen not in LANGUAGES:  # the pattern already filters; forged data never gets here
        await query.answer()
        return
    chat = update.effective_chat
    await choose_language(context, user, chat.id if chat else None, chosen)
    text = context.deps.catalogue.t(chosen, "lang.changed")
    await query.answer()
    try:
        await query.edit_message_text(text)
    except BadRequest:
        # the prompt is too old to edit (or already says this): say it in a new message
        await reply(update, context, text)
