"""回访 (SPEC §3): the citizen's buttons under an answer, and the office's reopen decision.

Callback data:
    fu:<case id>:satisfied|basically|unsatisfied   the rating (under the answer notice)
    fu:<case id>:reopen                            an unsatisfied citizen asks for a reopen
    fu:<case id>:comment                           starts the comment dialog (one text message)
    ro:approve|refuse:<case id>                    the office decides a reopen request

``FollowUpService`` checks that the presser is the case's own citizen (the office role for
``ro:``), so forged data for somebody else's case gets the same answer as a case that does not
exist. The comment is a question of ``bot.pending_input`` (its answer is taken ahead of the
complaint dialog, so the comment is not taken for a new complaint).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import ApplicationHandlerStop

from bot import pending_input
from bot.context import BotContext, roles_of
from bot.error_replies import error_text
from bot.handlers.staff_ui import alert, button, drop_buttons, plain
from bot.language import user_language
from bot.pending_input import Pending, Question
from bot.replies import reply
from core.cases import Satisfaction
from core.errors import DomainError, NotFound
from core.services.follow_up import CALLBACK_PREFIX, MAX_COMMENT
from core.text import strip_controls

CALLBACK_PATTERN: Final = rf"^{CALLBACK_PREFIX}"  # everything under fu:, malformed data included
# \Z, not $: "$" also matches before a trailing newline, and forged data may end in one
COMMENT_PATTERN: Final = r"^fu:[1-9][0-9]{0,11}:comment\Z"
REOPEN_PATTERN: Final = r"^ro:(approve|refuse):[1-9][0-9]{0,11}\Z"
_CHOICE = re.compile(r"fu:([1-9][0-9]{0,11}):(satisfied|basically|unsatisfied|reopen|comment)", re.ASCII)
_DECISION = re.compile(r"ro:(approve|refuse):([1-9][0-9]{0,11})", re.ASCII)

COMMENT: Final = "fu.comment"  # the pending_input question


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
        await alert(update, deps.catalogue.t(lang, "fallback.stale_button"))
        return
    case_id, choice = int(m.group(1)), m.group(2)
    service = deps.services.follow_up
    try:
        if choice == "reopen":
            case = await service.request_reopen(user.id, case_id)
            deps.wake_sender()
            await query.answer()
            await drop_buttons(query.message)
            await reply(
                update,
                context,
                deps.catalogue.t(lang, "follow_up.reopen_requested", tracking_no=case.tracking_no),
            )
            return
        rated = await service.rate(user.id, case_id, Satisfaction(choice))
    except NotFound:
        await alert(update, deps.catalogue.t(lang, "cases.not_found"))
        return
    except DomainError as error:
        await alert(update, error_text(deps, lang, error))
        return
    deps.wake_sender()
    await query.answer()
    await drop_buttons(query.message)
    level = deps.catalogue.t(lang, f"follow_up.level_{choice}")
    comment = button(deps, lang, "follow_up.button_comment", f"{CALLBACK_PREFIX}{case_id}:comment")
    if rated.closed:
        text = deps.catalogue.t(
            lang, "follow_up.thanks_closed", tracking_no=rated.case.tracking_no, level=level
        )
        markup = InlineKeyboardMarkup([[comment]])
    else:
        text = deps.catalogue.t(lang, "follow_up.sorry", tracking_no=rated.case.tracking_no)
        reopen = button(deps, lang, "follow_up.button_reopen", f"{CALLBACK_PREFIX}{case_id}:reopen")
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
        await alert(update, deps.catalogue.t(lang, "fallback.stale_button"))
        return
    if not (await roles_of(context, user.id)).office:
        await alert(update, deps.catalogue.t(lang, "join.office_only"))
        return
    approve = m.group(1) == "approve"
    try:
        case = await deps.services.follow_up.reopen_decision(user.id, int(m.group(2)), approve)
    except DomainError as error:
        await alert(update, error_text(deps, lang, error))
        return
    deps.wake_sender()
    key = "follow_up.reopen_approved_done" if approve else "follow_up.reopen_refused_done"
    await query.answer(plain(deps.catalogue.t(lang, key, tracking_no=case.tracking_no)))
    await drop_buttons(query.message)


# -- the comment -----------------------------------------------------------------------------------


async def comment_started(update: Update, context: BotContext) -> None:
    """``fu:<id>:comment``: asks for the comment (the service checks whose case it is when
    the comment arrives)."""
    query = update.callback_query
    chat = update.effective_chat
    m = _CHOICE.fullmatch(query.data or "") if query is not None else None
    deps = context.deps
    lang = await user_language(update, context)
    if query is None or m is None or m.group(2) != "comment" or context.user_data is None or chat is None:
        # this handler stops the update, so nobody after it would answer the button
        await alert(update, deps.catalogue.t(lang, "fallback.stale_button"))
        raise ApplicationHandlerStop
    pending_input.ask(context, COMMENT, chat.id, case_id=int(m.group(1)))
    await query.answer()
    await reply(update, context, deps.catalogue.t(lang, "follow_up.ask_comment", limit=MAX_COMMENT))
    raise ApplicationHandlerStop


async def comment_given(
    update: Update, context: BotContext, pending: Pending, text: str, lang: str
) -> Mapping[str, Any] | None:
    """The comment: stored with the rating; the question is done."""
    deps = context.deps
    user = update.effective_user
    assert user is not None and pending.case_id is not None
    try:
        await deps.services.follow_up.comment(user.id, pending.case_id, strip_controls(text))
    except NotFound:
        await reply(update, context, deps.catalogue.t(lang, "cases.not_found"))
        return None
    await reply(update, context, deps.catalogue.t(lang, "follow_up.comment_saved"))
    return None


QUESTIONS: Final = (Question(COMMENT, comment_given, "liaison.cancelled"),)
