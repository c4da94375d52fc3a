"""The liaison's side (SPEC §5): ``/inbox``, the case card's buttons, and the questions that
collect a reply, a return reason, an extension request or an internal note.

Every button is re-checked by ``LiaisonService`` (active liaison, a unit on the case, a lead
unit to act), so a forged ``lc:`` button from another unit gets the same "not found" as a case
that does not exist. Callback data is parsed strictly; anything else under ``lc:`` gets the
stale-button answer. Cases are shown in private chats only, and the views the service returns
are already stripped of the complainant's identity (the screens: ``bot.handlers.liaison_card``).

Callback data:
    lc:inbox:<lead page>:<copied page>   the inbox
    lc:view:<case id>                    the case card
    lc:sign:<case id>                    签收
    lc:files:<case id>                   send the evidence files (by Telegram file id)
    lc:reply|ext|return|note:<case id>   ask for the text (``input_started``)
    lc:confirm:<case id> / lc:cancel:<case id>   send what the preview shows / drop the question
    rv:approve|refuse:<case id>          the office's decision on a reply held for review

The questions are ``bot.pending_input``'s: their buttons are registered in a group before the
others (see ``bot.app.register_handlers``) and their answers are taken before the complaint
dialog sees the text; a prompt left unanswered for ``bot.pending_input.PROMPT_TTL`` lapses and
the text goes on to the other handlers as usual.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any, Final

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatType
from telegram.ext import ApplicationHandlerStop

from bot import pending_input
from bot.case_view import CaseFormatter
from bot.context import BotContext, roles_of
from bot.error_replies import error_text as error_text  # re-exported: bot.handlers.join uses it
from bot.handlers.liaison_card import CALLBACK_PREFIX, case_data, render_card, render_inbox
from bot.handlers.staff_ui import alert, drop_buttons, plain, replace_or_send, send_evidence
from bot.handlers.staff_ui import formatter as formatter  # re-exported: bot.handlers.join uses it
from bot.i18n import Html
from bot.language import user_language
from bot.pending_input import Pending, Question
from bot.replies import reply
from core.directory import UnitRole
from core.errors import DomainError, InvalidTransition, ValidationFailed
from core.plan import UnknownPlanId
from core.services.liaison import MAX_REASON, MAX_REPLY, MIN_REPLY, LiaisonAction
from core.text import clean_text, strip_controls

CALLBACK_PATTERN: Final = rf"^{CALLBACK_PREFIX}"  # everything under lc:, malformed data included
# \Z, not $: "$" also matches before a trailing newline, and forged data may end in one
INPUT_PATTERN: Final = r"^lc:(reply|ext|return|note):[1-9][0-9]{0,11}\Z"
CONFIRM_PATTERN: Final = r"^lc:confirm:[1-9][0-9]{0,11}\Z"
CANCEL_PATTERN: Final = r"^lc:cancel:[1-9][0-9]{0,11}\Z"
REVIEW_PATTERN: Final = r"^rv:(approve|refuse):[1-9][0-9]{0,11}\Z"
_CASE_BUTTON = re.compile(r"lc:(view|sign|files):([1-9][0-9]{0,11})", re.ASCII)
_INBOX = re.compile(r"lc:inbox:([0-9]{1,4}):([0-9]{1,4})", re.ASCII)
_INPUT = re.compile(r"lc:(reply|ext|return|note|confirm|cancel):([1-9][0-9]{0,11})", re.ASCII)
_REVIEW = re.compile(r"rv:(approve|refuse):([1-9][0-9]{0,11})", re.ASCII)

# pending_input kinds: lc.<action>; an extension asks the days first (step "days"), a reply or
# a return reason is shown back for confirmation (step "confirm")
KINDS: Final = {action: f"lc.{action}" for action in ("reply", "ext", "return", "note")}


def _private(update: Update) -> bool:
    chat = update.effective_chat
    return chat is not None and chat.type == ChatType.PRIVATE


# -- /inbox and the lc: buttons -----------------------------------------------------------------


async def inbox_command(update: Update, context: BotContext) -> None:
    """/inbox: the unit's open cases, most urgent first, and the cases it is copied on."""
    user = update.effective_user
    if user is None:
        return
    deps = context.deps
    lang = await user_language(update, context)
    try:
        inbox = await deps.services.liaison.inbox(user.id)
    except DomainError as error:
        await reply(update, context, error_text(deps, lang, error))
        return
    text, markup = render_inbox(deps, lang, inbox)
    await reply(update, context, text, reply_markup=markup)


async def liaison_button(update: Update, context: BotContext) -> None:
    """``lc:inbox``, ``lc:view``, ``lc:sign``, ``lc:files``; anything else under ``lc:`` (old
    dialog buttons, forged data) gets the stale-button answer."""
    query = update.callback_query
    user = update.effective_user
    if query is None or user is None:
        return
    deps = context.deps
    lang = await user_language(update, context)
    data = query.data or ""
    if not _private(update):
        await alert(update, deps.catalogue.t(lang, "fallback.stale_button"))
        return
    service = deps.services.liaison
    # A query takes one answer (Telegram refuses a second one with 400 and its text is lost),
    # so everything that can fail runs first and the answer comes once the outcome is known.
    try:
        if m := _INBOX.fullmatch(data):
            inbox = await service.inbox(user.id, page=int(m.group(1)), assist_page=int(m.group(2)))
            await query.answer()
            text, markup = render_inbox(deps, lang, inbox)
            await replace_or_send(update, context, text, markup)
            return
        m = _CASE_BUTTON.fullmatch(data)
        if m is None:
            await alert(update, deps.catalogue.t(lang, "fallback.stale_button"))
            return
        action, case_id = m.group(1), int(m.group(2))
        if action == "files":
            files = await service.evidence(user.id, case_id)
            await send_evidence(update, context, lang, files, "liaison")
            return
        done: str | None = None
        if action == "sign":
            case = await service.sign(user.id, case_id)
            deps.wake_sender()
            done = plain(deps.catalogue.t(lang, "liaison.signed", tracking_no=case.tracking_no))
        view = await service.view(user.id, case_id)
    except DomainError as error:
        await alert(update, error_text(deps, lang, error))
        return
    await query.answer(done)
    text, markup = render_card(deps, lang, view)
    await replace_or_send(update, context, text, markup)


async def review_button(update: Update, context: BotContext) -> None:
    """``rv:approve|refuse:<case id>``: the office on a reply held for review (REPLY_REVIEW)."""
    query = update.callback_query
    user = update.effective_user
    if query is None or user is None:
        return
    deps = context.deps
    lang = await user_language(update, context)
    m = _REVIEW.fullmatch(query.data or "")
    roles = await roles_of(context, user.id)
    if m is None:
        await alert(update, deps.catalogue.t(lang, "fallback.stale_button"))
        return
    if not roles.office:
        await alert(update, deps.catalogue.t(lang, "join.office_only"))
        return
    approve = m.group(1) == "approve"
    try:
        case = await deps.services.liaison.review_reply(user.id, int(m.group(2)), approve)
    except DomainError as error:
        await alert(update, error_text(deps, lang, error))
        return
    deps.wake_sender()
    key = "liaison.review_approved" if approve else "liaison.review_refused"
    await query.answer(plain(deps.catalogue.t(lang, key, tracking_no=case.tracking_no)))
    await drop_buttons(query.message)


# -- the questions: reply, return, extension, note ------------------------------------------------


def _cancel_markup(fmt: CaseFormatter, case_id: int) -> InlineKeyboardMarkup:
    cancel = InlineKeyboardButton(
        plain(fmt.t("liaison.button_cancel")), callback_data=case_data("cancel", case_id)
    )
    return InlineKeyboardMarkup([[cancel]])


def _confirm_markup(fmt: CaseFormatter, case_id: int) -> InlineKeyboardMarkup:
    confirm = InlineKeyboardButton(
        plain(fmt.t("liaison.button_confirm")), callback_data=case_data("confirm", case_id)
    )
    cancel = InlineKeyboardButton(
        plain(fmt.t("liaison.button_cancel")), callback_data=case_data("cancel", case_id)
    )
    return InlineKeyboardMarkup([[confirm, cancel]])


async def input_started(update: Update, context: BotContext) -> None:
    """``lc:reply|ext|return|note:<id>``: checks the unit may do it now, remembers what is
    being asked, and asks for the text (or, for an extension, the number of days)."""
    query = update.callback_query
    user, chat = update.effective_user, update.effective_chat
    m = _INPUT.fullmatch(query.data or "") if query is not None else None
    deps = context.deps
    lang = await user_language(update, context)
    # this handler stops the update, so nobody after it would answer the button
    if query is None or user is None or chat is None or m is None or context.user_data is None:
        await alert(update, deps.catalogue.t(lang, "fallback.stale_button"))
        raise ApplicationHandlerStop
    action, case_id = m.group(1), int(m.group(2))
    if not _private(update):
        await alert(update, deps.catalogue.t(lang, "fallback.stale_button"))
        raise ApplicationHandlerStop
    try:
        view = await deps.services.liaison.view(user.id, case_id)
    except DomainError as error:
        await alert(update, error_text(deps, lang, error))
        raise ApplicationHandlerStop from None
    wanted = LiaisonAction(action)
    if wanted not in view.actions:
        text = deps.catalogue.t(lang, InvalidTransition.key)
        if wanted is LiaisonAction.EXTENSION and view.role is UnitRole.LEAD:
            text = deps.catalogue.t(lang, "liaison.extension_unavailable")
        await alert(update, text)
        raise ApplicationHandlerStop
    limit = 0
    if wanted is LiaisonAction.EXTENSION:
        try:
            limit = deps.plan.area(view.case.area or "").deadlines.extension
        except UnknownPlanId:
            await alert(update, deps.catalogue.t(lang, InvalidTransition.key))
            raise ApplicationHandlerStop from None
    step = "days" if wanted is LiaisonAction.EXTENSION else "text"
    pending_input.ask(
        context,
        KINDS[action],
        chat.id,
        case_id=case_id,
        tracking_no=view.case.tracking_no,
        limit=limit,
        step=step,
    )
    await query.answer()
    fmt = formatter(deps, lang)
    prompts = {
        "reply": fmt.t("liaison.ask_reply", tracking_no=view.case.tracking_no, limit=MAX_REPLY),
        "return": fmt.t("liaison.ask_return", tracking_no=view.case.tracking_no),
        "note": fmt.t("liaison.ask_note", tracking_no=view.case.tracking_no),
        "ext": fmt.t("extension.ask_days", limit=limit),
    }
    await reply(update, context, prompts[action], reply_markup=_cancel_markup(fmt, case_id))
    raise ApplicationHandlerStop


async def _days_given(
    update: Update, context: BotContext, pending: Pending, text: str, lang: str
) -> Mapping[str, Any] | None:
    """The extension's working days (1..the area's limit); then asks for the reason."""
    assert pending.case_id is not None
    limit = int(pending.get("limit") or 0)
    typed = unicodedata.normalize("NFKC", text).strip()
    days = int(typed) if typed.isdigit() and len(typed) <= 3 else 0
    fmt = formatter(context.deps, lang)
    if not 1 <= days <= limit:
        await reply(update, context, fmt.t("extension.error_days", limit=limit))
        return {}  # asked again
    markup = _cancel_markup(fmt, pending.case_id)
    await reply(update, context, fmt.t("extension.ask_reason"), reply_markup=markup)
    return {"days": days, "step": "text"}


async def input_text(
    update: Update, context: BotContext, pending: Pending, text: str, lang: str
) -> Mapping[str, Any] | None:
    """The text asked for: a note is added at once; a reply or a return reason is shown back
    for confirmation (a new text replaces the one shown); an extension's reason sends the
    request."""
    if pending.get("step") == "days":
        return await _days_given(update, context, pending, text, lang)
    deps = context.deps
    user = update.effective_user
    assert user is not None and pending.case_id is not None
    fmt = formatter(deps, lang)
    case_id, tracking_no = pending.case_id, pending.get("tracking_no")
    if pending.kind == KINDS["note"]:
        await deps.services.liaison.add_note(user.id, case_id, strip_controls(text))
        await reply(update, context, fmt.t("liaison.note_added", tracking_no=tracking_no))
        return None
    if pending.kind == KINDS["ext"]:
        days = int(pending.get("days") or 0)
        requested = await deps.services.extensions.request(user.id, case_id, days, strip_controls(text))
        deps.wake_sender()
        due = Html(fmt.format_date(requested.case.answer_due)) if requested.case.answer_due else ""
        await reply(update, context, fmt.t("extension.requested", days=requested.days, answer_due_date=due))
        return None
    is_reply = pending.kind == KINDS["reply"]
    if pending.get("step") == "confirm":  # a new text: the one shown is no longer confirmable
        pending_input.keep(context, pending, step="text", text="")
    cleaned = clean_text(text, limit=MAX_REPLY if is_reply else MAX_REASON)
    if is_reply and len(cleaned) < MIN_REPLY:
        raise ValidationFailed(field="reply", reason="too_short", min=MIN_REPLY)
    if not cleaned:
        raise ValidationFailed(field="reason", reason="too_short", min=1)
    key = "liaison.reply_preview" if is_reply else "liaison.return_preview"
    preview = fmt.t(key, tracking_no=tracking_no, text=cleaned)
    await reply(update, context, preview, reply_markup=_confirm_markup(fmt, case_id))
    return {"text": cleaned, "step": "confirm"}


async def input_confirmed(update: Update, context: BotContext) -> None:
    """``lc:confirm:<id>``: sends the reply, or returns the case, as shown in the preview."""
    query = update.callback_query
    user = update.effective_user
    deps = context.deps
    lang = await user_language(update, context)
    pending = pending_input.current(context, (KINDS["reply"], KINDS["return"]))
    m = _INPUT.fullmatch(query.data or "") if query is not None else None
    if (
        query is None
        or user is None
        or m is None
        or pending is None
        or pending.get("step") != "confirm"
        or pending.case_id != int(m.group(2))
    ):
        await alert(update, deps.catalogue.t(lang, "fallback.stale_button"))
        raise ApplicationHandlerStop
    case_id, text = pending.case_id, str(pending.get("text", ""))
    pending_input.drop(context, "answered")
    try:
        if pending.kind == KINDS["reply"]:
            replied = await deps.services.liaison.reply(user.id, case_id, text)
            key = "liaison.reply_pending_review" if replied.pending_review else "liaison.reply_sent"
            tracking_no = replied.case.tracking_no
        else:
            case = await deps.services.liaison.return_case(user.id, case_id, text)
            key, tracking_no = "liaison.returned", case.tracking_no
    except DomainError as error:
        await alert(update, error_text(deps, lang, error))
        raise ApplicationHandlerStop from None
    deps.wake_sender()
    await query.answer()
    await drop_buttons(query.message)
    await reply(update, context, deps.catalogue.t(lang, key, tracking_no=tracking_no))
    raise ApplicationHandlerStop


async def input_cancelled(update: Update, context: BotContext) -> None:
    """``lc:cancel:<id>``: drops the question (/cancel is ``bot.pending_input``'s)."""
    query = update.callback_query
    lang = await user_language(update, context)
    if query is None or pending_input.current(context, KINDS.values()) is None:
        await alert(update, context.deps.catalogue.t(lang, "fallback.stale_button"))
        raise ApplicationHandlerStop
    pending_input.drop(context, "cancelled")
    await query.answer()
    await drop_buttons(query.message)
    await reply(update, context, context.deps.catalogue.t(lang, "liaison.cancelled"))
    raise ApplicationHandlerStop


QUESTIONS: Final = tuple(Question(kind, input_text, "liaison.cancelled") for kind in KINDS.values())
