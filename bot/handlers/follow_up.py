"""回访 (SPEC §3): the citizen's buttons under an answer, and the office's reopen decision.

Callback data:
    fu:<case id>:satisfied|basically|unsatisfied   the rating (under the answer notice)
    fu:<case id>:reopen                            an unsatisfied citizen asks for a reopen
    fu:<case id>:comment                           starts the comment dialog (one text message)
    ro:approve|refuse:<case id>                    the office decides a reopen request

``FollowUpService`` checks that the presser is the case's own citizen (the office role for
``ro:``), so forged data for somebody else's case gets the same answer as a case that does not
exist. The comment dialog is a small ``ConversationHandler`` registered with the liaison
dialogs, ahead of the complaint dialog, so the comment is not taken for a new complaint.
"""

from __future__ import annotations

import contextlib
import re
import warnings
from datetime import datetime, timedelta
from typing import Final

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest
from telegram.ext import (
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot.context import BotContext, Deps, roles_of
from bot.handlers.liaison import error_text, plain
from bot.language import user_language
from bot.replies import reply
from core.cases import Satisfaction
from core.errors import DomainError, NotFound, ValidationFailed
from core.services.follow_up import CALLBACK_PREFIX, MAX_COMMENT
from core.text import strip_controls

CALLBACK_PATTERN: Final = rf"^{CALLBACK_PREFIX}"  # everything under fu:, malformed data included
# \Z, not $: "$" also matches before a trailing newline, and forged data may end in one
COMMENT_PATTERN: Final = r"^fu:[1-9][0-9]{0,11}:comment\Z"
REOPEN_PATTERN: Final = r"^ro:(approve|refuse):[1-9][0-9]{0,11}\Z"
_CHOICE = re.compile(r"fu:([1-9][0-9]{0,11}):(satisfied|basically|unsatisfied|reopen|comment)", re.ASCII)
_DECISION = re.compile(r"ro:(approve|refuse):([1-9][0-9]{0,11})", re.ASCII)

COMMENT_NAME: Final = "follow_up_comment"
COMMENT_KEY: Final = "follow_up_comment"  # context.user_data: {"case_id", "at"} (JSON only)
COMMENT, END = "fu_comment", ConversationHandler.END
PROMPT_TTL: Final = timedelta(minutes=30)


def _button(deps: Deps, lang: str, key: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(plain(deps.catalogue.t(lang, key)), callback_data=data)


async def _alert(update: Update, text: str) -> None:
    if update.callback_query is not None:
        await update.callback_query.answer(plain(text)[:200], show_alert=True)


async def _drop_buttons(message: object) -> None:
    """The question is answered: its buttons go, the answer text stays readable."""
    if isinstance(message, Message):
        with contextlib.suppress(BadRequest):
            await message.edit_reply_markup(reply_markup=None)


async def follow_up_button(update: Update, context: BotContext) -> None:
    """``fu:<id>:<rating>`` records the rating; ``fu:<id>:reopen`` asks the office to reopen."""
    query = update.callback_query
    user = update.effective_user
    if query is None or user is None:
        return
    deps = context.deps
    lang = await user_language(update, context)
    m = _CHOICE.fullmatch(query.data or "")
    if m is None or m.group(2) == "comment":  # comment: the dialog takes it; here it is stale
        await _alert(update, deps.catalogue.t(lang, "fallback.stale_button"))
        return
    case_id, choice = int(m.group(1)), m.group(2)
    service = deps.services.follow_up
    try:
        if choice == "reopen":
            case = await service.request_reopen(user.id, case_id)
            deps.wake_sender()
            await query.answer()
            await _drop_buttons(query.message)
            await reply(
                update,
                context,
                deps.catalogue.t(lang, "follow_up.reopen_requested", tracking_no=case.tracking_no),
            )
            return
        rated = await service.rate(user.id, case_id, Satisfaction(choice))
    except NotFound:
        await _alert(update, deps.catalogue.t(lang, "cases.not_found"))
        return
    except DomainError as error:
        await _alert(update, error_text(deps, lang, error))
        return
    deps.wake_sender()
    await query.answer()
    await _drop_buttons(query.message)
    level = deps.catalogue.t(lang, f"follow_up.level_{choice}")
    comment = _button(deps, lang, "follow_up.button_comment", f"{CALLBACK_PREFIX}{case_id}:comment")
    if rated.closed:
        text = deps.catalogue.t(
            lang, "follow_up.thanks_closed", tracking_no=rated.case.tracking_no, level=level
        )
        markup = InlineKeyboardMarkup([[comment]])
    else:
        text = deps.catalogue.t(lang, "follow_up.sorry", tracking_no=rated.case.tracking_no)
        reopen = _button(deps, lang, "follow_up.button_reopen", f"{CALLBACK_PREFIX}{case_id}:reopen")
        markup = InlineKeyboardMarkup([[reopen], [comment]])
    await reply(update, context, text, reply_markup=markup)


async def reopen_decision_button(update: Update, context: BotContext) -> None:
    """``ro:approve|refuse:<id>``: the office decides a reopen request (office role checked
    here and again in the service)."""
    query = update.callback_query
    user = update.effective_user
    if query is None or user is None:
        return
    deps = context.deps
    lang = await user_language(update, context)
    m = _DECISION.fullmatch(query.data or "")
    if m is None:
        await _alert(update, deps.catalogue.t(lang, "fallback.stale_button"))
        return
    if not (await roles_of(context, user.id)).office:
        await _alert(update, deps.catalogue.t(lang, "join.office_only"))
        return
    approve = m.group(1) == "approve"
    try:
        case = await deps.services.follow_up.reopen_decision(user.id, int(m.group(2)), approve)
    except DomainError as error:
        await _alert(update, error_text(deps, lang, error))
        return
    deps.wake_sender()
    key = "follow_up.reopen_approved_done" if approve else "follow_up.reopen_refused_done"
    await query.answer(plain(deps.catalogue.t(lang, key, tracking_no=case.tracking_no)))
    await _drop_buttons(query.message)


# -- the comment dialog ---------------------------------------------------------------------------


def _pending(context: BotContext, now: datetime) -> int | None:
    data = context.user_data.get(COMMENT_KEY) if context.user_data is not None else None
    if not isinstance(data, dict):
        return None
    try:
        case_id, started = int(data["case_id"]), datetime.fromisoformat(str(data["at"]))
    except (KeyError, TypeError, ValueError):
        return None
    return case_id if now - started <= PROMPT_TTL else None


def _clear(context: BotContext) -> None:
    if context.user_data is not None:
        context.user_data.pop(COMMENT_KEY, None)


async def comment_started(update: Update, context: BotContext) -> object:
    """``fu:<id>:comment``: asks for the comment (the service checks whose case it is when
    the comment arrives)."""
    query = update.callback_query
    m = _CHOICE.fullmatch(query.data or "") if query is not None else None
    deps = context.deps
    lang = await user_language(update, context)
    if query is None or m is None or m.group(2) != "comment" or context.user_data is None:
        # this handler stops the update, so nobody after it would answer the button
        await _alert(update, deps.catalogue.t(lang, "fallback.stale_button"))
        raise ApplicationHandlerStop(END)
    context.user_data[COMMENT_KEY] = {"case_id": int(m.group(1)), "at": deps.clock.now().isoformat()}
    await query.answer()
    await reply(update, context, deps.catalogue.t(lang, "follow_up.ask_comment", limit=MAX_COMMENT))
    raise ApplicationHandlerStop(COMMENT)


async def comment_given(update: Update, context: BotContext) -> object:
    """The comment: stored with the rating; the dialog ends."""
    deps = context.deps
    case_id = _pending(context, deps.clock.now())
    message = update.effective_message
    user = update.effective_user
    if case_id is None or message is None or message.text is None or user is None:
        _clear(context)
        return END  # the prompt lapsed: the text goes on to the other handlers
    lang = await user_language(update, context)
    try:
        await deps.services.follow_up.comment(user.id, case_id, strip_controls(message.text))
    except ValidationFailed as error:
        await reply(update, context, error_text(deps, lang, error))
        raise ApplicationHandlerStop(COMMENT) from None
    except NotFound:
        _clear(context)
        await reply(update, context, deps.catalogue.t(lang, "cases.not_found"))
        raise ApplicationHandlerStop(END) from None
    except DomainError as error:
        _clear(context)
        await reply(update, context, error_text(deps, lang, error))
        raise ApplicationHandlerStop(END) from None
    _clear(context)
    await reply(update, context, deps.catalogue.t(lang, "follow_up.comment_saved"))
    raise ApplicationHandlerStop(END)


async def comment_cancelled(update: Update, context: BotContext) -> object:
    _clear(context)
    lang = await user_language(update, context)
    await reply(update, context, context.deps.catalogue.t(lang, "liaison.cancelled"))
    raise ApplicationHandlerStop(END)


async def comment_abandoned(update: Update, context: BotContext) -> object:
    """Another command while the prompt waits: the prompt goes, the command runs."""
    _clear(context)
    return END


def comment_conversation(*, persistent: bool) -> ConversationHandler[BotContext]:
    private = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
    with warnings.catch_warnings():
        # per_message=False on purpose: the dialog is a button and then a text message
        warnings.filterwarnings("ignore", message=".*per_message=False.*", category=PTBUserWarning)
        return ConversationHandler(
            entry_points=[CallbackQueryHandler(comment_started, pattern=COMMENT_PATTERN)],
            states={COMMENT: [MessageHandler(filters.TEXT & ~filters.COMMAND & private, comment_given)]},
            fallbacks=[
                CommandHandler("cancel", comment_cancelled, filters=private),
                MessageHandler(filters.COMMAND & private, comment_abandoned),
            ],
            name=COMMENT_NAME,
            persistent=persistent,
            allow_reentry=True,
        )
