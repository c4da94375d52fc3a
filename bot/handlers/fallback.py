"""What nobody else handled: unknown commands, stale buttons, any other message; and the few
updates no handler may take at all (buttons without data, edited messages).

Every update gets an answer that fits it (SPEC §10), and a button press exactly one
(Telegram refuses a second ``answerCallbackQuery`` and spins the button without any):

- ``blank_button`` and ``edited_message`` run in ``GUARD_GROUP``, before every dialog: a
  button without data would otherwise reach the first patterned handler whatever its pattern
  (python-telegram-bot's ``CallbackQueryHandler`` lets data-less queries through every
  pattern), and an edited message must never file or change anything.
- ``stale_button`` is the last ``CallbackQueryHandler``: any data no pattern took.
- ``group_pointer`` / ``group_message``: in group chats (not the office chat, which has its
  own commands), a citizen's command, or a message that mentions or replies to the bot, gets a
  pointer to the private chat and nothing about any case; other group chatter gets nothing.
- the rest (registered last in ``bot.app.register_handlers``): private chats only.
"""

from __future__ import annotations

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    MessageEntity,
    ReplyParameters,
    Update,
)
from telegram.constants import ChatType
from telegram.ext import ApplicationHandlerStop

from bot.context import BotContext
from bot.dialogs import complaint
from bot.language import user_language
from bot.replies import reply

MAX_ECHOED_COMMAND = 40
# Before the office's answers (-2) and the short dialogs (-1), after flood control (-100).
GUARD_GROUP = -10
# Commands a citizen might send in a group that only make sense in the private chat: they get
# the pointer there (the public /help, /lang and /stats keep working in groups as they are).
GROUP_POINTER_COMMANDS = ("start", "new", "complain", "my", "case", "cancel", "join", "inbox")
# The step the complaint dialog is at, named by the summary's edit buttons.
_COMPLAINT_STEPS = {
    complaint.DESCRIBE: "complaint.button.edit_description",
    complaint.SCOPE: "complaint.button.edit_description",
    complaint.AREA: "complaint.button.edit_area",
    complaint.UNIT: "complaint.button.edit_unit",
    complaint.PLACE: "complaint.button.edit_place",
    complaint.TIME: "complaint.button.edit_time",
    complaint.EVIDENCE: "complaint.button.edit_evidence",
    complaint.IDENTITY: "complaint.button.edit_identity",
    complaint.SUMMARY: "fallback.edited_step_summary",
    complaint.EDIT: "fallback.edited_step_summary",
}


def no_data(data: object) -> bool:
    """A ``CallbackQueryHandler`` pattern no data matches: python-telegram-bot never calls a
    pattern for a query without data and lets such a query through, so a handler with this
    pattern takes exactly the queries that carry no data (and no game)."""
    return False


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


# -- the guards (GUARD_GROUP) ---------------------------------------------------------------------


async def blank_button(update: Update, context: BotContext) -> None:
    """A button press without data (forged; Telegram's own buttons always carry some): the
    stale-button answer, and no dialog sees it."""
    await stale_button(update, context)
    raise ApplicationHandlerStop


async def edited_message(update: Update, context: BotContext) -> None:
    """An edited message is never taken (it would file or change something behind the
    summary the user confirmed): in a private chat one line says so, and which step the
    complaint dialog is at; in a group nothing is said. No other handler sees it."""
    chat = update.effective_chat
    if chat is not None and chat.type == ChatType.PRIVATE:
        lang = await user_language(update, context)
        catalogue = context.deps.catalogue
        text = catalogue.t(lang, "fallback.edited")
        step = _complaint_step(context)
        if step is not None:
            text += "\n" + catalogue.t(lang, "fallback.edited_step", step=catalogue.t(lang, step))
        await reply(update, context, text)
    raise ApplicationHandlerStop


def _complaint_step(context: BotContext) -> str | None:
    """The catalogue key naming the step of the complaint dialog in progress, if any."""
    draft = complaint.Draft.from_json((context.user_data or {}).get(complaint.DRAFT_KEY))
    if draft is None or not draft.trail:
        return None
    return _COMPLAINT_STEPS.get(draft.trail[-1])


# -- group chats ------------------------------------------------------------------------------------


async def group_pointer(update: Update, context: BotContext) -> None:
    """A citizen's command in a group: where to send it instead (the private chat). Commands
    for another bot (``/my@other_bot``) are not ours to answer."""
    message = update.effective_message
    if message is None or message.text is None:
        return
    command = message.text.split(maxsplit=1)[0]
    target = command.partition("@")[2]
    if target and target.lower() != (context.bot.username or "").lower():
        return
    await _point_to_private_chat(update, context, message)


async def group_message(update: Update, context: BotContext) -> None:
    """Group text nobody took: answered only when it mentions or replies to the bot (people
    talking among themselves are not the bot's business)."""
    message = update.effective_message
    if message is None or not _addressed_to_bot(message, context):
        return
    await _point_to_private_chat(update, context, message)


def _addressed_to_bot(message: Message, context: BotContext) -> bool:
    bot_id = context.bot.id
    replied = message.reply_to_message
    if replied is not None and replied.from_user is not None and replied.from_user.id == bot_id:
        return True
    username = (context.bot.username or "").lower()
    entities = message.parse_entities() or message.parse_caption_entities()
    for entity, text in entities.items():
        if entity.type == MessageEntity.MENTION and text.lstrip("@").lower() == username:
            return True
        if entity.type == MessageEntity.TEXT_MENTION and entity.user is not None and entity.user.id == bot_id:
            return True
    return False


async def _point_to_private_chat(update: Update, context: BotContext, message: Message) -> None:
    """The pointer: a line and a t.me button to the bot's private chat; nothing about cases,
    whatever was asked (a group is no place for a complaint or a complainant)."""
    lang = await user_language(update, context)
    catalogue = context.deps.catalogue
    username = context.bot.username
    text = catalogue.t(lang, "fallback.group_pointer", bot=f"@{username}")
    button = InlineKeyboardButton(
        catalogue.t(lang, "fallback.group_pointer_button"), url=f"https://t.me/{username}"
    )
    await reply(
        update,
        context,
        text,
        reply_markup=InlineKeyboardMarkup([[button]]),
        reply_parameters=ReplyParameters(message.message_id, allow_sending_without_reply=True),
    )
