"""The liaison's side (SPEC §5): ``/inbox``, the case card and its buttons, and the short dialogs
that collect a reply, a return reason, an extension request or an internal note.

Every button is re-checked by ``LiaisonService`` (active liaison, a unit on the case, a lead
unit to act), so a forged ``lc:`` button from another unit gets the same "not found" as a case
that does not exist. Callback data is parsed strictly; anything else under ``lc:`` gets the
stale-button answer. Cases are shown in private chats only, and the views the service returns
are already stripped of the complainant's identity.

Callback data:
    lc:inbox:<lead page>:<copied page>   the inbox
    lc:view:<case id>                    the case card
    lc:sign:<case id>                    签收
    lc:files:<case id>                   send the evidence files (by Telegram file id)
    lc:reply|ext|return|note:<case id>   start a dialog (``input_conversation``)
    lc:confirm:<case id> / lc:cancel:<case id>   inside a dialog
    rv:approve|refuse:<case id>          the office's decision on a reply held for review

The dialogs are one ``ConversationHandler`` registered in a group before the others (see
``bot.app.register_handlers``): while it waits for text it takes the text and stops it from
reaching the complaint dialog; a prompt left unanswered for ``PROMPT_TTL`` lapses and the text
goes on to the other handlers as usual.
"""

from __future__ import annotations

import contextlib
import html
import logging
import re
import unicodedata
import warnings
from datetime import datetime, timedelta
from typing import Any, Final

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatType
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

from bot.case_view import CaseFormatter, unit_name
from bot.context import BotContext, Deps, roles_of
from bot.i18n import Html
from bot.language import user_language
from bot.replies import reply, resend_files
from core.cases import CaseEvent, Satisfaction, WarningColour
from core.deadlines import Deadline
from core.directory import UnitRole
from core.errors import DomainError, InvalidTransition, ValidationFailed
from core.plan import UnknownPlanId
from core.services.liaison import (
    MAX_REASON,
    MAX_REPLY,
    MIN_REPLY,
    Inbox,
    InboxEntry,
    LiaisonAction,
    LiaisonCaseView,
)
from core.states import Actor, CaseState
from core.text import clean_text, strip_controls

log = logging.getLogger(__name__)

CALLBACK_PREFIX: Final = "lc:"
CALLBACK_PATTERN: Final = rf"^{CALLBACK_PREFIX}"  # everything under lc:, malformed data included
# \Z, not $: "$" also matches before a trailing newline, and forged data may end in one
INPUT_PATTERN: Final = r"^lc:(reply|ext|return|note):[1-9][0-9]{0,11}\Z"
REVIEW_PATTERN: Final = r"^rv:(approve|refuse):[1-9][0-9]{0,11}\Z"
_CASE_BUTTON = re.compile(r"lc:(view|sign|files):([1-9][0-9]{0,11})", re.ASCII)
_INBOX = re.compile(r"lc:inbox:([0-9]{1,4}):([0-9]{1,4})", re.ASCII)
_INPUT = re.compile(r"lc:(reply|ext|return|note|confirm|cancel):([1-9][0-9]{0,11})", re.ASCII)
_REVIEW = re.compile(r"rv:(approve|refuse):([1-9][0-9]{0,11})", re.ASCII)

INPUT_NAME: Final = "liaison_input"
INPUT_KEY: Final = "liaison_input"  # context.user_data key of the dialog in progress (JSON only)
PROMPT_TTL: Final = timedelta(minutes=30)
TEXT, DAYS, CONFIRM = "lc_text", "lc_days", "lc_confirm"
END: Final = ConversationHandler.END
MAX_HISTORY_TEXT = 300  # characters of an event's text on the card (the whole text is kept)
_MARKS = {
    WarningColour.RED: "liaison.mark_red",
    WarningColour.YELLOW: "liaison.mark_yellow",
    WarningColour.BLUE: "liaison.mark_blue",
    WarningColour.NONE: "liaison.mark_none",
}
# case event kinds this feature writes; the rest are named by bot.case_view's catalogue entries
_OWN_EVENT_KINDS = frozenset(
    {"reply_pending", "reply_refused", "reopen_requested", "reopen_refused", "follow_up_comment"}
    | {"supervision", "escalated"}
)


def inbox_data(page: int = 0, assist_page: int = 0) -> str:
    return f"{CALLBACK_PREFIX}inbox:{page}:{assist_page}"


def case_data(action: str, case_id: int) -> str:
    return f"{CALLBACK_PREFIX}{action}:{case_id}"


def formatter(deps: Deps, lang: str) -> CaseFormatter:
    rules = deps.services.deadlines
    return CaseFormatter(
        catalogue=deps.catalogue,
        plan=deps.plan,
        lang=lang,
        tz=deps.clock.tz,
        rules=rules,
        today=rules.local_date(deps.clock.now()),
    )


def plain(text: str) -> str:
    """A catalogue text for a button or a callback alert, which are not HTML."""
    return html.unescape(re.sub(r"<[^>]+>", "", text))


# -- rendering ----------------------------------------------------------------------------------


def render_inbox(deps: Deps, lang: str, inbox: Inbox) -> tuple[str, InlineKeyboardMarkup | None]:
    fmt = formatter(deps, lang)
    unit = unit_name(deps.plan, lang, inbox.unit_id)
    paged = inbox.page > 0 or inbox.more_lead
    title = "liaison.inbox_title_paged" if paged else "liaison.inbox_title"
    parts = [fmt.t(title, unit=unit, page=inbox.page + 1)]
    if inbox.lead:
        parts.extend(_inbox_line(fmt, entry) for entry in inbox.lead)
    else:
        parts.append(fmt.t("liaison.inbox_empty"))
    if inbox.assist or inbox.assist_page > 0:
        parts.append(fmt.t("liaison.assist_title"))
        parts.extend(_inbox_line(fmt, entry) for entry in inbox.assist)
    rows: list[list[InlineKeyboardButton]] = []
    for entry in (*inbox.lead, *inbox.assist):
        if entry.case.id is not None:
            label = plain(
                fmt.t(
                    "liaison.button_case",
                    mark=fmt.t(_MARKS[entry.colour]),
                    tracking_no=entry.case.tracking_no,
                )
            )
            rows.append([InlineKeyboardButton(label, callback_data=case_data("view", entry.case.id))])
    nav: list[InlineKeyboardButton] = []
    if inbox.page > 0:
        nav.append(_nav(fmt, "cases.button.prev", inbox_data(inbox.page - 1, inbox.assist_page)))
    if inbox.more_lead:
        nav.append(_nav(fmt, "cases.button.next", inbox_data(inbox.page + 1, inbox.assist_page)))
    if inbox.assist_page > 0:
        nav.append(_nav(fmt, "liaison.button_assist_prev", inbox_data(inbox.page, inbox.assist_page - 1)))
    if inbox.more_assist:
        nav.append(_nav(fmt, "liaison.button_assist_next", inbox_data(inbox.page, inbox.assist_page + 1)))
    if nav:
        rows.append(nav)
    if rows:
        parts.append(fmt.t("liaison.inbox_footer"))
    return "\n\n".join(parts), InlineKeyboardMarkup(rows) if rows else None


def _nav(fmt: CaseFormatter, key: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(plain(fmt.t(key)), callback_data=data)


def _inbox_line(fmt: CaseFormatter, entry: InboxEntry) -> str:
    case = entry.case
    line = fmt.t(
        "liaison.inbox_line",
        mark=fmt.t(_MARKS[entry.colour]),
        tracking_no=case.tracking_no,
        state=fmt.state(case.state),
        area=fmt.area(case.area),
    )
    if entry.due is not None:
        kind = Deadline.SIGN if case.state is CaseState.ASSIGNED else Deadline.ANSWER
        deadline = fmt.deadline(kind, entry.due, entry.colour)
        line += "\n" + fmt.t("liaison.inbox_deadline", deadline=deadline)
    return line


def render_card(deps: Deps, lang: str, view: LiaisonCaseView) -> tuple[Html, InlineKeyboardMarkup]:
    """The card (the same facts citizens see, from ``bot.case_view``), which unit the reader is,
    the whole history with internal entries marked, and the buttons this unit has now."""
    fmt = formatter(deps, lang)
    role_key = "liaison.card_role_lead" if view.role is UnitRole.LEAD else "liaison.card_role_assist"
    notes = [fmt.t(role_key, unit=unit_name(deps.plan, lang, view.unit_id))]
    if view.reply_pending:
        notes.append(fmt.t("liaison.card_reply_pending"))
    notes.append(fmt.t("liaison.card_identity"))
    entries = [_history_line(fmt, deps, lang, e) for e in view.history]
    text = fmt.staff_card(
        view.case,
        evidence_count=len(view.evidence),
        notes=notes,
        history=entries,
        title_key="liaison.history_title",
    )
    return text, card_keyboard(fmt, view)


def _history_line(fmt: CaseFormatter, deps: Deps, lang: str, event: CaseEvent) -> str:
    who = _who(fmt, deps, lang, event)
    return fmt.staff_history_line(
        event, section="liaison", own_kinds=_OWN_EVENT_KINDS, who=who, detail=_detail(fmt, event)
    )


def _who(fmt: CaseFormatter, deps: Deps, lang: str, event: CaseEvent) -> str:
    """Who acted, by role or unit: never a person's id (and never the complainant)."""
    unit = event.data.get("unit")
    if event.actor is Actor.LIAISON and isinstance(unit, str) and unit:
        name = unit_name(deps.plan, lang, unit)
    else:
        name = fmt.t(f"liaison.actor_{event.actor.value}")
    return fmt.t("liaison.who", name=name)


def _detail(fmt: CaseFormatter, event: CaseEvent) -> str:
    satisfaction = event.data.get("satisfaction")
    if isinstance(satisfaction, str) and satisfaction in {s.value for s in Satisfaction}:
        return plain(fmt.t(f"follow_up.level_{satisfaction}"))
    lead = event.data.get("lead")
    if event.kind == "route" and isinstance(lead, list) and lead:
        return fmt.units(str(u) for u in lead)
    days = event.data.get("days")
    text = event.text.strip()
    if event.kind == "request_extension" and isinstance(days, int):
        text = plain(fmt.t("liaison.extension_detail", days=days, reason=text))
    if len(text) > MAX_HISTORY_TEXT:
        text = text[:MAX_HISTORY_TEXT].rstrip() + fmt.t("cases.card.truncated")
    return text


def card_keyboard(fmt: CaseFormatter, view: LiaisonCaseView) -> InlineKeyboardMarkup:
    case_id = view.case.id
    assert case_id is not None

    def button(key: str, action: str, **params: object) -> InlineKeyboardButton:
        return InlineKeyboardButton(plain(fmt.t(key, **params)), callback_data=case_data(action, case_id))

    acts = set(view.actions)
    rows: list[list[InlineKeyboardButton]] = []
    first = [
        button(f"liaison.button_{a.value}", a.value)
        for a in (LiaisonAction.SIGN, LiaisonAction.REPLY)
        if a in acts
    ]
    second = [
        button(f"liaison.button_{a.value}", a.value)
        for a in (LiaisonAction.EXTENSION, LiaisonAction.RETURN)
        if a in acts
    ]
    third = [button("liaison.button_note", "note")] if LiaisonAction.NOTE in acts else []
    if view.evidence:
        third.append(button("liaison.button_files", "files", count=len(view.evidence)))
    rows = [row for row in (first, second, third) if row]
    rows.append([InlineKeyboardButton(plain(fmt.t("liaison.button_back")), callback_data=inbox_data())])
    return InlineKeyboardMarkup(rows)


# -- helpers ------------------------------------------------------------------------------------


def error_text(deps: Deps, lang: str, error: DomainError) -> str:
    params = {k: v for k, v in error.params.items() if isinstance(v, str | int | float)}
    key = (
        error.key if deps.catalogue.has(error.key, lang) or deps.catalogue.has(error.key) else "error.domain"
    )
    if isinstance(error, ValidationFailed) and error.params.get("reason") == "too_short":
        key = "liaison.error_too_short"
    elif isinstance(error, ValidationFailed) and error.params.get("field") == "length":
        key = "liaison.error_too_long"
    return deps.catalogue.t(lang, key, **params)


async def _alert(update: Update, text: str) -> None:
    query = update.callback_query
    if query is not None:
        await query.answer(plain(text)[:200], show_alert=True)


async def _replace_or_send(
    update: Update, context: BotContext, text: str, markup: InlineKeyboardMarkup | None
) -> None:
    """Edit the message the button is on; one we cannot edit gets a new message."""
    query = update.callback_query
    if query is not None and isinstance(query.message, Message) and query.message.text is not None:
        try:
            await query.edit_message_text(text, reply_markup=markup)
            return
        except BadRequest as exc:
            if "not modified" in exc.message.lower():
                return
            log.info("could not edit the liaison message (%s); sending a new one", exc.message)
    await reply(update, context, text, reply_markup=markup)


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
        await _alert(update, deps.catalogue.t(lang, "fallback.stale_button"))
        return
    service = deps.services.liaison
    # A query takes one answer (Telegram refuses a second one with 400 and its text is lost),
    # so everything that can fail runs first and the answer comes once the outcome is known.
    try:
        if m := _INBOX.fullmatch(data):
            inbox = await service.inbox(user.id, page=int(m.group(1)), assist_page=int(m.group(2)))
            await query.answer()
            text, markup = render_inbox(deps, lang, inbox)
            await _replace_or_send(update, context, text, markup)
            return
        m = _CASE_BUTTON.fullmatch(data)
        if m is None:
            await _alert(update, deps.catalogue.t(lang, "fallback.stale_button"))
            return
        action, case_id = m.group(1), int(m.group(2))
        if action == "files":
            await _send_files(update, context, lang, case_id)
            return
        done: str | None = None
        if action == "sign":
            case = await service.sign(user.id, case_id)
            deps.wake_sender()
            done = plain(deps.catalogue.t(lang, "liaison.signed", tracking_no=case.tracking_no))
        view = await service.view(user.id, case_id)
    except DomainError as error:
        await _alert(update, error_text(deps, lang, error))
        return
    await query.answer(done)
    text, markup = render_card(deps, lang, view)
    await _replace_or_send(update, context, text, markup)


async def _send_files(update: Update, context: BotContext, lang: str, case_id: int) -> None:
    """The evidence, sent again by Telegram file id (no download: the bytes never pass here)."""
    query = update.callback_query
    chat = update.effective_chat
    assert query is not None and chat is not None and update.effective_user is not None
    deps = context.deps
    files = await deps.services.liaison.evidence(update.effective_user.id, case_id)
    await query.answer()
    if not files:
        await reply(update, context, deps.catalogue.t(lang, "liaison.files_none"))
        return
    failed = await resend_files(context, chat.id, files)
    if failed:
        await reply(update, context, deps.catalogue.t(lang, "liaison.files_failed", count=failed))


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
        await _alert(update, deps.catalogue.t(lang, "fallback.stale_button"))
        return
    if not roles.office:
        await _alert(update, deps.catalogue.t(lang, "join.office_only"))
        return
    approve = m.group(1) == "approve"
    try:
        case = await deps.services.liaison.review_reply(user.id, int(m.group(2)), approve)
    except DomainError as error:
        await _alert(update, error_text(deps, lang, error))
        return
    deps.wake_sender()
    key = "liaison.review_approved" if approve else "liaison.review_refused"
    await query.answer(plain(deps.catalogue.t(lang, key, tracking_no=case.tracking_no)))
    await _close_buttons(query.message)


async def _close_buttons(message: object) -> None:
    """Take the buttons off a decided request, so nobody presses them again."""
    if isinstance(message, Message):
        with contextlib.suppress(BadRequest):
            await message.edit_reply_markup(reply_markup=None)


# -- the dialogs: reply, return, extension, note --------------------------------------------------


def _pending(context: BotContext, now: datetime) -> dict[str, Any] | None:
    """The dialog in progress, or None when there is none or its prompt lapsed."""
    data = context.user_data.get(INPUT_KEY) if context.user_data is not None else None
    if not isinstance(data, dict):
        return None
    try:
        started = datetime.fromisoformat(str(data["at"]))
        int(data["case_id"])
    except (KeyError, TypeError, ValueError):
        return None
    if now - started > PROMPT_TTL:
        return None
    return data


def _clear(context: BotContext) -> None:
    if context.user_data is not None:
        context.user_data.pop(INPUT_KEY, None)


def _cancel_markup(fmt: CaseFormatter, case_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    plain(fmt.t("liaison.button_cancel")), callback_data=case_data("cancel", case_id)
                )
            ]
        ]
    )


def _confirm_markup(fmt: CaseFormatter, case_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    plain(fmt.t("liaison.button_confirm")), callback_data=case_data("confirm", case_id)
                ),
                InlineKeyboardButton(
                    plain(fmt.t("liaison.button_cancel")), callback_data=case_data("cancel", case_id)
                ),
            ]
        ]
    )


async def input_started(update: Update, context: BotContext) -> object:
    """``lc:reply|ext|return|note:<id>``: checks the unit may do it now, remembers what is
    being asked, and asks for the text (or, for an extension, the number of days)."""
    query = update.callback_query
    user = update.effective_user
    m = _INPUT.fullmatch(query.data or "") if query is not None else None
    deps = context.deps
    lang = await user_language(update, context)
    if query is None or user is None or m is None or context.user_data is None:
        # this handler stops the update, so nobody after it would answer the button
        await _alert(update, deps.catalogue.t(lang, "fallback.stale_button"))
        raise ApplicationHandlerStop(END)
    action, case_id = m.group(1), int(m.group(2))
    if not _private(update):
        await _alert(update, deps.catalogue.t(lang, "fallback.stale_button"))
        raise ApplicationHandlerStop(END)
    try:
        view = await deps.services.liaison.view(user.id, case_id)
    except DomainError as error:
        await _alert(update, error_text(deps, lang, error))
        raise ApplicationHandlerStop(END) from None
    wanted = LiaisonAction(action)
    if wanted not in view.actions:
        text = deps.catalogue.t(lang, InvalidTransition.key)
        if wanted is LiaisonAction.EXTENSION and view.role is UnitRole.LEAD:
            text = deps.catalogue.t(lang, "liaison.extension_unavailable")
        await _alert(update, text)
        raise ApplicationHandlerStop(END)
    limit = 0
    if wanted is LiaisonAction.EXTENSION:
        try:
            limit = deps.plan.area(view.case.area or "").deadlines.extension
        except UnknownPlanId:
            await _alert(update, deps.catalogue.t(lang, InvalidTransition.key))
            raise ApplicationHandlerStop(END) from None
    context.user_data[INPUT_KEY] = {
        "action": action,
        "case_id": case_id,
        "tracking_no": view.case.tracking_no,
        "at": deps.clock.now().isoformat(),
        "limit": limit,
    }
    await query.answer()
    fmt = formatter(deps, lang)
    prompts = {
        "reply": fmt.t("liaison.ask_reply", tracking_no=view.case.tracking_no, limit=MAX_REPLY),
        "return": fmt.t("liaison.ask_return", tracking_no=view.case.tracking_no),
        "note": fmt.t("liaison.ask_note", tracking_no=view.case.tracking_no),
        "ext": fmt.t("extension.ask_days", limit=limit),
    }
    await reply(update, context, prompts[action], reply_markup=_cancel_markup(fmt, case_id))
    raise ApplicationHandlerStop(DAYS if wanted is LiaisonAction.EXTENSION else TEXT)


async def input_days(update: Update, context: BotContext) -> object:
    """The extension's working days (1..the area's limit); then asks for the reason."""
    deps = context.deps
    pending = _pending(context, deps.clock.now())
    message = update.effective_message
    if pending is None or message is None or message.text is None:
        _clear(context)
        return END  # the prompt lapsed: the text goes on to the other handlers
    lang = await user_language(update, context)
    limit = int(pending.get("limit") or 0)
    typed = unicodedata.normalize("NFKC", message.text).strip()
    days = int(typed) if typed.isdigit() and len(typed) <= 3 else 0
    fmt = formatter(deps, lang)
    if not 1 <= days <= limit:
        await reply(update, context, fmt.t("extension.error_days", limit=limit))
        raise ApplicationHandlerStop(DAYS)
    pending["days"] = days
    pending["at"] = deps.clock.now().isoformat()
    await reply(
        update,
        context,
        fmt.t("extension.ask_reason"),
        reply_markup=_cancel_markup(fmt, int(pending["case_id"])),
    )
    raise ApplicationHandlerStop(TEXT)


async def input_text(update: Update, context: BotContext) -> object:
    """The text asked for: a note is added at once; a reply or a return reason is shown back
    for confirmation; an extension's reason sends the request."""
    deps = context.deps
    pending = _pending(context, deps.clock.now())
    message = update.effective_message
    user = update.effective_user
    if pending is None or message is None or message.text is None or user is None:
        _clear(context)
        return END  # the prompt lapsed: the text goes on to the other handlers
    lang = await user_language(update, context)
    fmt = formatter(deps, lang)
    action, case_id = str(pending["action"]), int(pending["case_id"])
    service = deps.services.liaison
    try:
        if action == "note":
            await service.add_note(user.id, case_id, strip_controls(message.text))
            _clear(context)
            await reply(update, context, fmt.t("liaison.note_added", tracking_no=pending["tracking_no"]))
            raise ApplicationHandlerStop(END)
        if action == "ext":
            requested = await deps.services.extensions.request(
                user.id, case_id, int(pending["days"]), strip_controls(message.text)
            )
            deps.wake_sender()
            _clear(context)
            due = Html(fmt.format_date(requested.case.answer_due)) if requested.case.answer_due else ""
            await reply(
                update, context, fmt.t("extension.requested", days=requested.days, answer_due_date=due)
            )
            raise ApplicationHandlerStop(END)
        limit = MAX_REPLY if action == "reply" else MAX_REASON
        text = clean_text(message.text, limit=limit)
        if action == "reply" and len(text) < MIN_REPLY:
            raise ValidationFailed(field="reply", reason="too_short", min=MIN_REPLY)
        if not text:
            raise ValidationFailed(field="reason", reason="too_short", min=1)
    except ValidationFailed as error:
        await reply(update, context, error_text(deps, lang, error))
        raise ApplicationHandlerStop(TEXT) from None
    except DomainError as error:
        _clear(context)
        await reply(update, context, error_text(deps, lang, error))
        raise ApplicationHandlerStop(END) from None
    pending["text"] = text
    pending["at"] = deps.clock.now().isoformat()
    key = "liaison.reply_preview" if action == "reply" else "liaison.return_preview"
    preview = fmt.t(key, tracking_no=pending["tracking_no"], text=text)
    await reply(update, context, preview, reply_markup=_confirm_markup(fmt, case_id))
    raise ApplicationHandlerStop(CONFIRM)


async def input_confirmed(update: Update, context: BotContext) -> object:
    """``lc:confirm:<id>``: sends the reply, or returns the case, as shown in the preview."""
    query = update.callback_query
    user = update.effective_user
    deps = context.deps
    lang = await user_language(update, context)
    pending = _pending(context, deps.clock.now())
    m = _INPUT.fullmatch(query.data or "") if query is not None else None
    if (
        query is None
        or user is None
        or m is None
        or pending is None
        or int(pending["case_id"]) != int(m.group(2))
    ):
        _clear(context)
        await _alert(update, deps.catalogue.t(lang, "fallback.stale_button"))
        raise ApplicationHandlerStop(END)
    action, case_id, text = str(pending["action"]), int(pending["case_id"]), str(pending.get("text", ""))
    _clear(context)
    try:
        if action == "reply":
            replied = await deps.services.liaison.reply(user.id, case_id, text)
            key = "liaison.reply_pending_review" if replied.pending_review else "liaison.reply_sent"
            tracking_no = replied.case.tracking_no
        else:
            case = await deps.services.liaison.return_case(user.id, case_id, text)
            key, tracking_no = "liaison.returned", case.tracking_no
    except DomainError as error:
        await _alert(update, error_text(deps, lang, error))
        raise ApplicationHandlerStop(END) from None
    deps.wake_sender()
    await query.answer()
    await _close_buttons(query.message)
    await reply(update, context, deps.catalogue.t(lang, key, tracking_no=tracking_no))
    raise ApplicationHandlerStop(END)


async def input_cancelled(update: Update, context: BotContext) -> object:
    """``lc:cancel:<id>`` or /cancel: drops the dialog."""
    _clear(context)
    lang = await user_language(update, context)
    text = context.deps.catalogue.t(lang, "liaison.cancelled")
    if update.callback_query is not None:
        await update.callback_query.answer()
        await _close_buttons(update.callback_query.message)
    await reply(update, context, text)
    raise ApplicationHandlerStop(END)


async def input_abandoned(update: Update, context: BotContext) -> object:
    """Another command while a prompt waits: the prompt is dropped and the command runs."""
    _clear(context)
    return END


def input_conversation(*, persistent: bool) -> ConversationHandler[BotContext]:
    """The liaison's dialogs (reply, return reason, extension, note) as one conversation."""
    private = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
    text = filters.TEXT & ~filters.COMMAND & private
    cancel_button = CallbackQueryHandler(input_cancelled, pattern=r"^lc:cancel:[1-9][0-9]{0,11}\Z")
    with warnings.catch_warnings():
        # per_message=False on purpose: the dialog spans a button and the next text message;
        # the case id in every button's data ties the buttons to the dialog instead
        warnings.filterwarnings("ignore", message=".*per_message=False.*", category=PTBUserWarning)
        return ConversationHandler(
            entry_points=[CallbackQueryHandler(input_started, pattern=INPUT_PATTERN)],
            states={
                TEXT: [MessageHandler(text, input_text), cancel_button],
                DAYS: [MessageHandler(text, input_days), cancel_button],
                CONFIRM: [
                    CallbackQueryHandler(input_confirmed, pattern=r"^lc:confirm:[1-9][0-9]{0,11}\Z"),
                    cancel_button,
                    MessageHandler(text, input_text),  # a new text replaces the one shown
                ],
            },
            fallbacks=[
                CommandHandler("cancel", input_cancelled, filters=private),
                MessageHandler(filters.COMMAND & private, input_abandoned),
            ],
            name=INPUT_NAME,
            persistent=persistent,
            allow_reentry=True,
        )
