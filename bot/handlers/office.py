"""The office's side (SPEC §6): the triage queue, the office's case card, routing and
reclassifying, rejecting with a reason, outcomes, supervision notices, spot checks,
broadcasts, office members, undelivered notifications, findings, and the office's decision on
extension requests.

Every command and every button checks the office role first (``roles_of``, read fresh per
update), before anything is parsed or read, so a citizen or a liaison gets the same refusal
whatever they send; the services check it again inside their transaction. Office views show
who complained, so they are given only in a private chat or in the office chat
(``OFFICE_CHAT_ID``), never in another group.

Callback data (case ids are database ids; area and unit ids are the plan's):
    of:queue:<page>                          the triage queue
    of:view:<case>                           the office's case card
    of:route:<case>                          route to the case's area (its lead units)
    of:areas:<case>                          pick an area to route to
    of:area:<case>:<area>                    route to that area's lead units
    of:units:<case>:<area>                   pick the lead unit (for that area)
    of:lead:<case>:<area>:<unit>             route to the area with that lead unit
    of:reclass:<case>[:<area>]               reclassify: pick the area, then set it
    of:close:<case>[:<outcome>[:<measure>]]  record the outcome (closes an answered case)
    of:typical:<case>:<0|1>                  典型案例 on or off
    of:files:<case>                          the evidence files
    of:reject|supervise|reopen:<case>        ask for the reason or the text (next message)
    of:cancel                                drop the question
    of:broadcast:send                        send the broadcast shown for confirmation
    of:member:remove:<user id>               end a run-time office member's role
    ext:approve|refuse:<case>                the office on an extension request (refuse asks why)
(Reopen requests, ``ro:``, are ``bot.handlers.follow_up``'s; replies held for review, ``rv:``,
``bot.handlers.liaison``'s.)

A reason or a text asked for after a button is remembered in ``user_data`` (``INPUT_KEY``:
what, which case, which chat, the prompt's message id, when) and taken by ``pending_text``, a
handler in a group of its own before the dialogs: while something is asked it takes the next
text in that chat (in a group: only a reply to the prompt, which the prompt forces), and lets
everything through once the prompt has lapsed or been answered. Another command drops it.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Final

from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    BotCommandScopeChatMember,
    Chat,
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram.constants import ChatType
from telegram.error import BadRequest, TelegramError
from telegram.ext import ApplicationHandlerStop, filters

from bot.case_view import CaseFormatter, unit_name
from bot.commands import CITIZEN_COMMANDS, bot_commands
from bot.context import BotContext, Deps, roles_of
from bot.handlers import office_recusal
from bot.handlers.join import LIAISON_EXTRA, drop_chat_menu, find_unit, set_liaison_menu
from bot.handlers.liaison import error_text, formatter, plain
from bot.i18n import Html, language_for
from bot.language import stored_language, user_language
from bot.replies import reply, resend_files
from core.cases import CaseEvent, Measure, Outcome, Satisfaction, Source
from core.errors import DomainError, NotFound, ValidationFailed
from core.plan import Plan
from core.roles import Roles
from core.services.extensions import CALLBACK_APPROVE, CALLBACK_REFUSE
from core.services.follow_up import REOPEN_APPROVE, REOPEN_REFUSE
from core.services.office import (
    DEFAULT_SPOT_CHECK,
    MAX_BROADCAST,
    MAX_REASON,
    MAX_SPOT_CHECK,
    MAX_SUPERVISION,
    OUTCOME_STATES,
    REJECTABLE_STATES,
    REOPENABLE_STATES,
    ROUTABLE_STATES,
    SUPERVISABLE_STATES,
    NoLeadUnit,
    OfficeCaseView,
    QueueItem,
    QueueKind,
    TriageQueue,
    UnknownArea,
)
from core.states import Actor, CaseState
from core.stats import parse_period
from core.text import strip_controls
from core.tracking import parse_tracking_no

log = logging.getLogger(__name__)

CALLBACK_PREFIX: Final = "of:"
CALLBACK_PATTERN: Final = r"^of:"  # everything under of:, malformed data included
EXTENSION_PATTERN: Final = r"^ext:"  # likewise for the extension buttons
MAX_CALLBACK_DATA: Final = 64  # Telegram's limit, in bytes

_ID = r"[1-9][0-9]{0,11}"
_PLAN_ID = r"[a-z][a-z0-9_]{0,39}"
_QUEUE = re.compile(r"of:queue:([0-9]{1,4})", re.ASCII)
_CASE = re.compile(
    rf"of:(view|route|areas|files|reject|supervise|reopen|reclass|close|target|notgt):({_ID})", re.ASCII
)
_AREA = re.compile(rf"of:(area|units|reclass|close):({_ID}):({_PLAN_ID})", re.ASCII)
_LEAD = re.compile(rf"of:lead:({_ID}):({_PLAN_ID}):({_PLAN_ID})", re.ASCII)
_MEASURE = re.compile(rf"of:close:({_ID}):({_PLAN_ID}):({_PLAN_ID})", re.ASCII)
_TYPICAL = re.compile(rf"of:typical:({_ID}):([01])", re.ASCII)
_MEMBER = re.compile(r"of:member:remove:([1-9][0-9]{0,14})", re.ASCII)
_EXTENSION = re.compile(rf"ext:(approve|refuse):({_ID})", re.ASCII)
_USER_ID = re.compile(r"[1-9][0-9]{0,14}", re.ASCII)

INPUT_KEY: Final = "office_input"  # user_data: the question waiting for its answer (JSON only)
BROADCAST_KEY: Final = "office_broadcast"  # user_data: the broadcast shown for confirmation
PROMPT_TTL: Final = timedelta(minutes=30)
QUEUE_PAGE: Final = 5
HISTORY_TEXT: Final = 300  # characters of an event's text on the card
DEAD_LETTER_ERROR: Final = 120

# What a prompt asks for, and the longest answer.
_INPUT_LIMITS: Final = {
    "reject": MAX_REASON,
    "supervise": MAX_SUPERVISION,
    "reopen": MAX_REASON,
    "ext_refuse": MAX_REASON,
}

# The office's menu: the citizen's /start first, a liaison's /inbox if they are one too, the
# office's commands (descriptions: office.menu.<name>), then the rest of the citizen's.
OFFICE_COMMANDS: Final = (
    "office",
    "triage",
    "case_office",
    "finding",
    "supervise",
    "spotcheck",
    "broadcast",
    "members",
    "failed",
    "invite",
    "remove_liaison",
    "launch",
    "phase",
    "reports",
    "digest",
    "scoreboard",
    "export",
)

# Case event kinds with office-specific names (office.event.<kind>); others: bot.case_view.
_OWN_EVENT_KINDS: Final = frozenset({"reclassify", "outcome", "typical", "spot_check"})
_SOURCES_TYPED: Final = {
    "inspection": Source.INSPECTION,
    "明察暗访": Source.INSPECTION,
    "spot_check": Source.SPOT_CHECK,
    "随机抽查": Source.SPOT_CHECK,
    "special_check": Source.SPECIAL_CHECK,
    "专项检查": Source.SPECIAL_CHECK,
}


# -- access --------------------------------------------------------------------------------------


def _office_place(chat: Chat | None, deps: Deps) -> bool:
    """Office views (they show who complained) only in a private chat or the office chat."""
    if chat is None:
        return False
    return chat.type == ChatType.PRIVATE or chat.id == deps.settings.office_chat_id


async def _alert(update: Update, text: str) -> None:
    query = update.callback_query
    if query is not None:
        await query.answer(plain(text)[:200], show_alert=True)


async def _refuse(update: Update, context: BotContext, lang: str, key: str) -> None:
    text = context.deps.catalogue.t(lang, key)
    if update.callback_query is not None:
        await _alert(update, text)
    else:
        await reply(update, context, text)


async def _guard(update: Update, context: BotContext) -> tuple[int, str] | None:
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


def _button(deps: Deps, lang: str, key: str, data: str, **params: object) -> InlineKeyboardButton:
    return InlineKeyboardButton(plain(deps.catalogue.t(lang, key, **params)), callback_data=data)


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
            log.info("could not edit the office message (%s); sending a new one", exc.message)
    await reply(update, context, text, reply_markup=markup)


async def _drop_buttons(message: object) -> None:
    if isinstance(message, Message):
        with contextlib.suppress(BadRequest):
            await message.edit_reply_markup(reply_markup=None)


def _command_text(update: Update) -> str:
    """What follows the command, line breaks kept (``context.args`` splits them away)."""
    message = update.effective_message
    text = message.text if message is not None and message.text else ""
    parts = text.split(maxsplit=1)
    return parts[1].strip() if len(parts) > 1 else ""


# -- the menu ------------------------------------------------------------------------------------


def office_menu(deps: Deps, lang: str, roles: Roles) -> list[BotCommand]:
    catalogue = deps.catalogue
    head = bot_commands(catalogue, lang, CITIZEN_COMMANDS[:1])
    liaison = bot_commands(catalogue, lang, LIAISON_EXTRA) if roles.liaison else []
    office = [BotCommand(name, plain(catalogue.t(lang, f"office.menu.{name}"))) for name in OFFICE_COMMANDS]
    rest = bot_commands(catalogue, lang, CITIZEN_COMMANDS[1:])
    return [*head, *liaison, *office, *rest]


async def set_office_menu(bot: Bot, deps: Deps, chat: Chat, user_id: int, lang: str, roles: Roles) -> None:
    """The office menu for this member: their private chat, or (in the office chat) for them
    only there. A missing menu is cosmetic, so errors are logged."""
    scope: BotCommandScopeChat | BotCommandScopeChatMember = (
        BotCommandScopeChat(chat.id)
        if chat.type == ChatType.PRIVATE
        else BotCommandScopeChatMember(chat.id, user_id)
    )
    try:
        await bot.set_my_commands(office_menu(deps, lang, roles), scope=scope)
    except TelegramError:
        log.warning("could not set the office menu for chat %s", chat.id, exc_info=True)


async def office_start_menu(update: Update, context: BotContext) -> None:
    """/start (in a group of its own, after the greeting): an office member's chat gets the
    office menu. Says nothing: the greeting is /start's."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None or chat.type != ChatType.PRIVATE:
        return
    roles = await roles_of(context, user.id)
    if roles.office:
        lang = await user_language(update, context)
        await set_office_menu(context.bot, context.deps, chat, user.id, lang, roles)


async def office_command(update: Update, context: BotContext) -> None:
    """/office: the office's commands, and the office menu for this chat."""
    guarded = await _guard(update, context)
    chat = update.effective_chat
    if guarded is None or chat is None:
        return
    user_id, lang = guarded
    deps = context.deps
    lines = [
        deps.catalogue.t(
            lang,
            "help.command_line",
            command=name,
            description=Html(deps.catalogue.t(lang, f"office.menu.{name}")),
        )
        for name in OFFICE_COMMANDS
    ]
    await reply(update, context, deps.catalogue.t(lang, "office.help", commands=Html("\n".join(lines))))
    await set_office_menu(context.bot, deps, chat, user_id, lang, await roles_of(context, user_id))


# -- the triage queue ----------------------------------------------------------------------------


def render_queue(
    deps: Deps, lang: str, queue: TriageQueue, page: int
) -> tuple[str, InlineKeyboardMarkup | None]:
    fmt = formatter(deps, lang)
    if not queue.items:
        return fmt.t("office.queue_empty"), None
    pages = max(1, -(-len(queue.items) // QUEUE_PAGE))
    page = min(max(0, page), pages - 1)
    shown = queue.items[page * QUEUE_PAGE : (page + 1) * QUEUE_PAGE]
    parts = [fmt.t("office.queue_title", count=len(queue.items), page=page + 1, pages=pages)]
    rows: list[list[InlineKeyboardButton]] = []
    for item in shown:
        parts.append(_queue_line(fmt, deps, lang, item))
        rows.extend(_queue_buttons(deps, lang, item))
    nav: list[InlineKeyboardButton] = []
    if page > 0:
        nav.append(_button(deps, lang, "cases.button.prev", f"of:queue:{page - 1}"))
    if page + 1 < pages:
        nav.append(_button(deps, lang, "cases.button.next", f"of:queue:{page + 1}"))
    if nav:
        rows.append(nav)
    return "\n\n".join(parts), InlineKeyboardMarkup(rows)


def _queue_line(fmt: CaseFormatter, deps: Deps, lang: str, item: QueueItem) -> str:
    case = item.case
    line = fmt.t(
        f"office.queue_kind_{item.kind.value}",
        tracking_no=case.tracking_no,
        since=Html(fmt.format_datetime(item.since)),
        area=fmt.area(item.suggested_area),
    )
    details: list[str] = []
    if item.reason_key is not None and deps.catalogue.has(item.reason_key, lang):
        details.append(fmt.t("office.queue_reason", reason=fmt.t(item.reason_key)))
    if item.units:
        details.append(fmt.t("office.queue_units", units=fmt.units(item.units)))
    if (candidates := office_recusal.queue_note(fmt, item.candidates)) is not None:
        details.append(candidates)
    if item.days is not None:
        details.append(fmt.t("office.queue_days", days=item.days))
    if item.reason:
        details.append(fmt.t("office.queue_reason", reason=_cut(item.reason, 200, fmt)))
    summary = _cut(case.description, 80, fmt)
    details.append(fmt.t("office.queue_summary", text=summary))
    return "\n".join([line, *details])


def _queue_buttons(deps: Deps, lang: str, item: QueueItem) -> list[list[InlineKeyboardButton]]:
    case_id = item.case.id
    assert case_id is not None
    rows = [
        [_button(deps, lang, "office.button_view", f"of:view:{case_id}", tracking_no=item.case.tracking_no)]
    ]
    if item.kind in (QueueKind.TRIAGE, QueueKind.RETURNED):
        actions = []
        if item.suggested_area is not None:
            actions.append(_button(deps, lang, "office.button_route", f"of:route:{case_id}"))
        actions.append(_button(deps, lang, "office.button_areas", f"of:areas:{case_id}"))
        actions.append(_button(deps, lang, "office.button_reject", f"of:reject:{case_id}"))
        rows.append(actions)
    elif item.kind is QueueKind.EXTENSION:
        rows.append(
            [
                _button(deps, lang, "extension.button_approve", f"{CALLBACK_APPROVE}{case_id}"),
                _button(deps, lang, "extension.button_refuse", f"{CALLBACK_REFUSE}{case_id}"),
            ]
        )
    else:
        rows.append(
            [
                _button(deps, lang, "follow_up.button_reopen_approve", f"{REOPEN_APPROVE}{case_id}"),
                _button(deps, lang, "follow_up.button_reopen_refuse", f"{REOPEN_REFUSE}{case_id}"),
            ]
        )
    return rows


def _cut(text: str, limit: int, fmt: CaseFormatter) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit].rstrip() + fmt.t("cases.card.truncated")


async def triage_command(update: Update, context: BotContext) -> None:
    """/triage: cases to route, returned cases, extension and reopen requests, oldest first."""
    guarded = await _guard(update, context)
    if guarded is None:
        return
    user_id, lang = guarded
    deps = context.deps
    queue = await deps.services.office.triage_queue(user_id)
    text, markup = render_queue(deps, lang, queue, 0)
    await reply(update, context, text, reply_markup=markup)


# -- the case card -------------------------------------------------------------------------------


def render_card(
    deps: Deps, lang: str, view: OfficeCaseView, *, identity: bool = True, private_link: str | None = None
) -> tuple[Html, InlineKeyboardMarkup]:
    """The same card everybody sees, plus what only the office sees: where the case came from,
    who complained (unless anonymous), the unit complained about, the classifier's guess, the
    outcome, and the whole history with internal entries marked.

    ``identity=False`` (the office group: ``card_for``) leaves out who complained and says
    where to see it; ``private_link`` adds a button opening the card in the private chat."""
    fmt = formatter(deps, lang)
    case = view.case
    notes = [fmt.t("office.card_source", source=fmt.t(f"office.source.{case.source.value}"))]
    if view.complainant is not None and not identity:
        notes.append(fmt.t("privacy.card_identity_elsewhere"))
    elif view.complainant is not None:
        phone = view.complainant.phone or fmt.t("office.card_no_phone")
        notes.append(fmt.t("office.card_complainant", user_id=view.complainant.user_id, phone=phone))
    elif case.citizen_id is not None:
        notes.append(fmt.t("office.card_anonymous"))
    if case.target_unit_id:
        notes.append(fmt.t("office.card_target", unit=unit_name(deps.plan, lang, case.target_unit_id)))
    if case.assist_unit_ids:
        notes.append(fmt.t("office.card_assist", units=fmt.units(case.assist_unit_ids)))
    notes += office_recusal.card_notes(fmt, view)
    if case.area_auto and case.area_auto != case.area_final:
        confidence = f"{case.confidence:.2f}" if case.confidence is not None else "–"
        notes.append(fmt.t("office.card_area_auto", area=fmt.area(case.area_auto), confidence=confidence))
    if case.satisfaction is not None:
        notes.append(
            fmt.t("office.card_satisfaction", level=fmt.t(f"cases.satisfaction.{case.satisfaction.value}"))
        )
    if case.outcome is not None:
        measure = fmt.t(f"office.measure.{(case.measure or Measure.NONE).value}")
        notes.append(
            fmt.t(
                "office.card_outcome", outcome=fmt.t(f"office.outcome.{case.outcome.value}"), measure=measure
            )
        )
    if case.typical:
        notes.append(fmt.t("office.card_typical"))
    if view.reopen_requested:
        notes.append(fmt.t("office.card_reopen_requested"))
    entries = [_history_line(fmt, deps, lang, e) for e in view.history]
    text = fmt.staff_card(
        case,
        evidence_count=len(view.evidence),
        notes=notes,
        history=entries,
        title_key="office.history_title",
    )
    markup = card_keyboard(deps, lang, view)
    if private_link is not None:
        link = InlineKeyboardButton(plain(fmt.t("privacy.button_open_private")), url=private_link)
        markup = InlineKeyboardMarkup([*markup.inline_keyboard, [link]])
    return text, markup


# The office card with the complainant's identity opens in a private chat only (SPEC §3, §10):
# in the office group the card says where to see it, with a deep link (t.me/<bot>?start=oc<id>)
# into the member's private chat, where /start oc<id> shows the whole card.
PRIVATE_CARD_START: Final = re.compile(rf"oc({_ID})", re.ASCII)
PRIVATE_CARD_LINK: Final = filters.Regex(rf"^/start(?:@\w+)?\s+oc{_ID}$") & filters.UpdateType.MESSAGE


def card_for(
    update: Update, context: BotContext, lang: str, view: OfficeCaseView
) -> tuple[Html, InlineKeyboardMarkup]:
    """The office card as this chat may show it: with who complained in a private chat only."""
    chat = update.effective_chat
    if chat is not None and chat.type == ChatType.PRIVATE:
        return render_card(context.deps, lang, view)
    username = context.bot.username  # known since initialize() (getMe)
    link = f"https://t.me/{username}?start=oc{view.case.id}" if username and view.complainant else None
    return render_card(context.deps, lang, view, identity=False, private_link=link)


async def private_card_start(update: Update, context: BotContext) -> None:
    """/start oc<case id> (the office group card's link): that case's whole card, in the
    office member's private chat; anybody else gets the office's refusal."""
    guarded = await _guard(update, context)
    chat = update.effective_chat
    if guarded is None or chat is None:
        return
    user_id, lang = guarded
    match = PRIVATE_CARD_START.fullmatch(" ".join(context.args or []))
    if chat.type != ChatType.PRIVATE or match is None:
        await reply(update, context, context.deps.catalogue.t(lang, "office.case_not_found"))
        return
    try:
        view = await context.deps.services.office.view(user_id, int(match.group(1)))
    except NotFound:
        await reply(update, context, context.deps.catalogue.t(lang, "office.case_not_found"))
        return
    text, markup = render_card(context.deps, lang, view)
    await reply(update, context, text, reply_markup=markup)


def _history_line(fmt: CaseFormatter, deps: Deps, lang: str, event: CaseEvent) -> str:
    who = _who(fmt, deps, lang, event)
    return fmt.staff_history_line(
        event, section="office", own_kinds=_OWN_EVENT_KINDS, who=who, detail=_detail(fmt, event)
    )


def _who(fmt: CaseFormatter, deps: Deps, lang: str, event: CaseEvent) -> str:
    """The office sees who acted: the unit and the liaison's id, the office member's id."""
    unit = event.data.get("unit")
    if event.actor is Actor.LIAISON and isinstance(unit, str) and unit:
        name = unit_name(deps.plan, lang, unit)
    else:
        name = fmt.t(f"office.actor_{event.actor.value}")
    if event.actor in (Actor.LIAISON, Actor.OFFICE) and event.actor_ref:
        return fmt.t("office.who_with_id", name=name, user_id=event.actor_ref)
    return fmt.t("office.who", name=name)


def _detail(fmt: CaseFormatter, event: CaseEvent) -> str:
    if (recusal := office_recusal.history_detail(fmt, event)) is not None:
        return recusal
    data = event.data
    satisfaction = data.get("satisfaction")
    if isinstance(satisfaction, str) and satisfaction in {s.value for s in Satisfaction}:
        return plain(fmt.t(f"cases.satisfaction.{satisfaction}"))
    lead = data.get("lead")
    if event.kind == "route" and isinstance(lead, list) and lead:
        return fmt.units(str(u) for u in lead)
    if event.kind == "reclassify":
        before, after = data.get("from"), data.get("to")
        return plain(
            fmt.t(
                "office.reclassify_detail",
                before=fmt.area(before if isinstance(before, str) else None),
                after=fmt.area(after if isinstance(after, str) else None),
            )
        )
    outcome, measure = data.get("outcome"), data.get("measure")
    if isinstance(outcome, str) and isinstance(measure, str):
        return plain(
            fmt.t(
                "office.card_outcome",
                outcome=fmt.t(f"office.outcome.{outcome}"),
                measure=fmt.t(f"office.measure.{measure}"),
            )
        )
    days = data.get("days")
    text = event.text.strip()
    if event.kind == "request_extension" and isinstance(days, int):
        text = plain(fmt.t("liaison.extension_detail", days=days, reason=text))
    if len(text) > HISTORY_TEXT:
        text = text[:HISTORY_TEXT].rstrip() + fmt.t("cases.card.truncated")
    return text


def card_keyboard(deps: Deps, lang: str, view: OfficeCaseView) -> InlineKeyboardMarkup:
    """The buttons for where the case stands (the services check again when pressed)."""
    case = view.case
    case_id = case.id
    assert case_id is not None

    def b(key: str, data: str, **params: object) -> InlineKeyboardButton:
        return _button(deps, lang, key, data, **params)

    rows: list[list[InlineKeyboardButton]] = []
    state = case.state
    if state in ROUTABLE_STATES:
        first = []
        if view.suggested_area is not None:
            first.append(b("office.button_route", f"of:route:{case_id}"))
        first.append(b("office.button_areas", f"of:areas:{case_id}"))
        rows.append(first)
        second = []
        if view.suggested_area is not None:
            second.append(b("office.button_units", f"of:units:{case_id}:{view.suggested_area}"))
        if state in REJECTABLE_STATES:
            second.append(b("office.button_reject", f"of:reject:{case_id}"))
        if second:
            rows.append(second)
    if state is CaseState.EXTENSION_REQUESTED:
        rows.append(
            [
                b("extension.button_approve", f"{CALLBACK_APPROVE}{case_id}"),
                b("extension.button_refuse", f"{CALLBACK_REFUSE}{case_id}"),
            ]
        )
    if view.reopen_requested:
        rows.append(
            [
                b("follow_up.button_reopen_approve", f"{REOPEN_APPROVE}{case_id}"),
                b("follow_up.button_reopen_refuse", f"{REOPEN_REFUSE}{case_id}"),
            ]
        )
    if state in SUPERVISABLE_STATES:
        rows.append([b("office.button_supervise", f"of:supervise:{case_id}")])
    closing: list[InlineKeyboardButton] = []
    if state in OUTCOME_STATES:
        key = "office.button_close" if state is CaseState.ANSWERED else "office.button_outcome"
        closing.append(b(key, f"of:close:{case_id}"))
    if state in REOPENABLE_STATES:
        closing.append(b("office.button_reopen", f"of:reopen:{case_id}"))
    if closing:
        rows.append(closing)
    last: list[InlineKeyboardButton] = []
    if state is not CaseState.REJECTED:
        last.append(b("office.button_reclassify", f"of:reclass:{case_id}"))
    typical_key = "office.button_untypical" if case.typical else "office.button_typical"
    last.append(b(typical_key, f"of:typical:{case_id}:{0 if case.typical else 1}"))
    if view.evidence:
        last.append(b("office.button_files", f"of:files:{case_id}", count=len(view.evidence)))
    rows.append(last)
    if state is not CaseState.REJECTED:
        rows += office_recusal.card_rows(deps, lang, view)
    rows.append([b("office.button_queue", "of:queue:0")])
    return InlineKeyboardMarkup(rows)


async def case_office_command(update: Update, context: BotContext) -> None:
    """/case_office TRACKING_NO: the office's card of any case."""
    guarded = await _guard(update, context)
    if guarded is None:
        return
    user_id, lang = guarded
    deps = context.deps
    typed = _command_text(update)
    if not typed:
        await reply(update, context, deps.catalogue.t(lang, "office.case_usage"))
        return
    try:
        tracking_no = str(parse_tracking_no(typed[:40], lenient=True))
        view = await deps.services.office.find(user_id, tracking_no)
    except NotFound:
        await reply(update, context, deps.catalogue.t(lang, "office.case_not_found"))
        return
    except DomainError:
        await reply(update, context, deps.catalogue.t(lang, "office.case_usage"))
        return
    text, markup = card_for(update, context, lang, view)
    await reply(update, context, text, reply_markup=markup)


# -- pickers ----------------------------------------------------------------------------------------


def _area_picker(
    deps: Deps, lang: str, case_id: int, tracking_no: str, action: str
) -> tuple[str, InlineKeyboardMarkup]:
    """Areas as buttons: ``action`` is "area" (route there) or "reclass" (set the area)."""
    fmt = formatter(deps, lang)
    rows = [
        [InlineKeyboardButton(plain(fmt.area(a.id)), callback_data=f"of:{action}:{case_id}:{a.id}")]
        for a in deps.plan.areas
    ]
    rows.append([_button(deps, lang, "office.button_back", f"of:view:{case_id}")])
    key = "office.pick_area" if action == "area" else "office.pick_reclass"
    return fmt.t(key, tracking_no=tracking_no), InlineKeyboardMarkup(rows)


def _unit_picker(
    deps: Deps, lang: str, case_id: int, tracking_no: str, area_id: str, excluded: Sequence[str]
) -> tuple[str, InlineKeyboardMarkup]:
    """Every unit but the ones that may not lead, two to a row."""
    fmt = formatter(deps, lang)
    buttons = []
    for unit in deps.plan.units:
        data = f"of:lead:{case_id}:{area_id}:{unit.id}"
        if unit.id in excluded:
            continue
        if len(data.encode()) > MAX_CALLBACK_DATA:
            log.warning("unit id %s is too long for a button; pick it with /case_office instead", unit.id)
            continue
        buttons.append(InlineKeyboardButton(plain(unit_name(deps.plan, lang, unit.id)), callback_data=data))
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append([_button(deps, lang, "office.button_back", f"of:view:{case_id}")])
    text = fmt.t("office.pick_unit", tracking_no=tracking_no, area=fmt.area(area_id))
    return text, InlineKeyboardMarkup(rows)


def _outcome_picker(
    deps: Deps, lang: str, case_id: int, tracking_no: str
) -> tuple[str, InlineKeyboardMarkup]:
    rows = [
        [_button(deps, lang, f"office.outcome.{o.value}", f"of:close:{case_id}:{o.value}")] for o in Outcome
    ]
    rows.append([_button(deps, lang, "office.button_back", f"of:view:{case_id}")])
    return deps.catalogue.t(lang, "office.pick_outcome", tracking_no=tracking_no), InlineKeyboardMarkup(rows)


def _measure_picker(
    deps: Deps, lang: str, case_id: int, tracking_no: str, outcome: Outcome
) -> tuple[str, InlineKeyboardMarkup]:
    buttons = [
        _button(deps, lang, f"office.measure.{m.value}", f"of:close:{case_id}:{outcome.value}:{m.value}")
        for m in Measure
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append([_button(deps, lang, "office.button_back", f"of:close:{case_id}")])
    text = deps.catalogue.t(
        lang,
        "office.pick_measure",
        tracking_no=tracking_no,
        outcome=deps.catalogue.t(lang, f"office.outcome.{outcome.value}"),
    )
    return text, InlineKeyboardMarkup(rows)


# -- the of: buttons -------------------------------------------------------------------------------


async def office_button(update: Update, context: BotContext) -> None:
    """Everything under ``of:``. The office role first; then the data, strictly (anything else
    gets the stale-button answer); the services check everything again."""
    query = update.callback_query
    if query is None:
        return
    guarded = await _guard(update, context)
    if guarded is None:
        return
    user_id, lang = guarded
    deps = context.deps
    data = query.data or ""
    try:
        await _dispatch_button(update, context, user_id, lang, data)
    except DomainError as error:
        await _alert(update, error_text(deps, lang, error))


async def _dispatch_button(update: Update, context: BotContext, user_id: int, lang: str, data: str) -> None:
    query = update.callback_query
    assert query is not None
    deps = context.deps
    service = deps.services.office
    if m := _QUEUE.fullmatch(data):
        queue = await service.triage_queue(user_id)
        await query.answer()
        text, markup = render_queue(deps, lang, queue, int(m.group(1)))
        await _replace_or_send(update, context, text, markup)
        return
    if data == "of:cancel":
        _clear(context)
        await query.answer(plain(deps.catalogue.t(lang, "office.cancelled")))
        await _drop_buttons(query.message)
        return
    if data == "of:broadcast:send":
        await _send_broadcast(update, context, user_id, lang)
        return
    if m := _MEMBER.fullmatch(data):
        await _remove_member(update, context, user_id, lang, int(m.group(1)))
        return
    if m := _TYPICAL.fullmatch(data):
        case = await service.mark_typical(user_id, int(m.group(1)), m.group(2) == "1")
        key = "office.typical_on" if case.typical else "office.typical_off"
        done = plain(deps.catalogue.t(lang, key, tracking_no=case.tracking_no))
        await _show_card(update, context, user_id, lang, int(m.group(1)), answer=done)
        return
    if m := _LEAD.fullmatch(data):
        case_id, area_id, unit_id = int(m.group(1)), m.group(2), m.group(3)
        await _route(update, context, user_id, lang, case_id, area_id, (unit_id,))
        return
    if m := _MEASURE.fullmatch(data):
        await _close(update, context, user_id, lang, int(m.group(1)), m.group(2), m.group(3))
        return
    if m := _AREA.fullmatch(data):
        action, case_id, plan_id = m.group(1), int(m.group(2)), m.group(3)
        if action == "area":
            await _route(update, context, user_id, lang, case_id, plan_id, None)
        elif action == "units":
            case = await service.case(user_id, case_id)
            view_excluded = sorted(case.may_not_lead())
            await query.answer()
            text, markup = _unit_picker(deps, lang, case_id, case.tracking_no, plan_id, view_excluded)
            await _replace_or_send(update, context, text, markup)
        elif action == "reclass":
            case = await service.reclassify(user_id, case_id, plan_id)
            done = plain(deps.catalogue.t(lang, "office.reclassified", tracking_no=case.tracking_no))
            await _show_card(update, context, user_id, lang, case_id, answer=done)
        else:  # close:<case>:<outcome>
            await _close(update, context, user_id, lang, case_id, plan_id, None)
        return
    if m := office_recusal.TARGET_BUTTON.fullmatch(data):
        step, case_id, unit_id = m.group(1), int(m.group(2)), m.group(3)
        if step == "tgt":
            case = await service.case(user_id, case_id)
            await query.answer()
            text, markup = office_recusal.confirm(deps, lang, case, unit_id)
            await _replace_or_send(update, context, text, markup)
        else:
            marked = await service.mark_target(user_id, case_id, unit_id)
            done = office_recusal.marked_text(deps, lang, marked)
            await _show_card(update, context, user_id, lang, case_id, answer=done)
        return
    m = _CASE.fullmatch(data)
    if m is None:
        await _alert(update, deps.catalogue.t(lang, "fallback.stale_button"))
        return
    action, case_id = m.group(1), int(m.group(2))
    if action == "view":
        await _show_card(update, context, user_id, lang, case_id, answer=None)
    elif action == "route":
        await _route(update, context, user_id, lang, case_id, None, None)
    elif action in ("areas", "reclass"):
        case = await service.case(user_id, case_id)
        await query.answer()
        text, markup = _area_picker(
            deps, lang, case_id, case.tracking_no, "area" if action == "areas" else "reclass"
        )
        await _replace_or_send(update, context, text, markup)
    elif action == "close":
        case = await service.case(user_id, case_id)
        await query.answer()
        text, markup = _outcome_picker(deps, lang, case_id, case.tracking_no)
        await _replace_or_send(update, context, text, markup)
    elif action == "files":
        await _send_files(update, context, user_id, lang, case_id)
    elif action == "target":
        case = await service.case(user_id, case_id)
        await query.answer()
        text, markup = office_recusal.picker(deps, lang, case)
        await _replace_or_send(update, context, text, markup)
    elif action == "notgt":
        case = await service.clear_candidates(user_id, case_id)
        done = plain(deps.catalogue.t(lang, "office.recusal.cleared", tracking_no=case.tracking_no))
        await _show_card(update, context, user_id, lang, case_id, answer=done[:200])
    else:  # reject, supervise, reopen: ask for the text
        await _ask(update, context, user_id, lang, action, case_id)


async def _show_card(
    update: Update, context: BotContext, user_id: int, lang: str, case_id: int, *, answer: str | None
) -> None:
    """The case card in place of the pressed message. The button is answered (with
    ``answer``) only once the card could be read: a query takes one answer, and a failure
    here must still be able to answer it with its alert."""
    view = await context.deps.services.office.view(user_id, case_id)
    if update.callback_query is not None:
        await update.callback_query.answer(answer)
    text, markup = card_for(update, context, lang, view)
    await _replace_or_send(update, context, text, markup)


async def _route(
    update: Update,
    context: BotContext,
    user_id: int,
    lang: str,
    case_id: int,
    area_id: str | None,
    lead: tuple[str, ...] | None,
) -> None:
    """Route; when the area's leads may not take it, offer the units, and with no area yet,
    the areas."""
    query = update.callback_query
    assert query is not None
    deps = context.deps
    service = deps.services.office
    try:
        routed = await service.route(user_id, case_id, area_id, lead)
    except NoLeadUnit as error:
        # the office names the lead itself: any unit but the one complained about
        case = await service.case(user_id, case_id)
        await query.answer(plain(error_text(deps, lang, error))[:200], show_alert=True)
        wanted = str(error.params.get("area_id") or area_id or case.area or "")
        excluded = [case.target_unit_id] if case.target_unit_id else []
        text, markup = _unit_picker(deps, lang, case_id, case.tracking_no, wanted, excluded)
        await _replace_or_send(update, context, text, markup)
        return
    except UnknownArea:
        if area_id is not None:
            raise
        case = await service.case(user_id, case_id)
        await query.answer()
        text, markup = _area_picker(deps, lang, case_id, case.tracking_no, "area")
        await _replace_or_send(update, context, text, markup)
        return
    deps.wake_sender()
    fmt = formatter(deps, lang)
    done = fmt.t("office.routed", tracking_no=routed.case.tracking_no, units=fmt.units(routed.lead_unit_ids))
    await _show_card(update, context, user_id, lang, case_id, answer=plain(done)[:200])


async def _close(
    update: Update,
    context: BotContext,
    user_id: int,
    lang: str,
    case_id: int,
    outcome_text: str,
    measure_text: str | None,
) -> None:
    query = update.callback_query
    assert query is not None
    deps = context.deps
    try:
        outcome = Outcome(outcome_text)
        measure = Measure(measure_text) if measure_text is not None else None
    except ValueError:
        await _alert(update, deps.catalogue.t(lang, "fallback.stale_button"))
        return
    if measure is None and outcome is not Outcome.NOT_SUBSTANTIATED:
        case = await deps.services.office.case(user_id, case_id)
        await query.answer()
        text, markup = _measure_picker(deps, lang, case_id, case.tracking_no, outcome)
        await _replace_or_send(update, context, text, markup)
        return
    case = await deps.services.office.close_with_outcome(user_id, case_id, outcome, measure or Measure.NONE)
    deps.wake_sender()
    done = plain(deps.catalogue.t(lang, "office.outcome_recorded", tracking_no=case.tracking_no))
    await _show_card(update, context, user_id, lang, case_id, answer=done)


async def _send_files(update: Update, context: BotContext, user_id: int, lang: str, case_id: int) -> None:
    """The evidence, sent again by Telegram file id (the bytes never pass through here)."""
    query = update.callback_query
    chat = update.effective_chat
    assert query is not None and chat is not None
    deps = context.deps
    files = await deps.services.office.evidence(user_id, case_id)
    await query.answer()
    if not files:
        await reply(update, context, deps.catalogue.t(lang, "office.files_none"))
        return
    failed = await resend_files(context, chat.id, files)
    if failed:
        await reply(update, context, deps.catalogue.t(lang, "office.files_failed", count=failed))


# -- questions: a reason or a text after a button ------------------------------------------------


def _pending(context: BotContext, now: datetime) -> dict[str, Any] | None:
    """The question waiting for an answer, or None when there is none or it lapsed."""
    data = context.user_data.get(INPUT_KEY) if context.user_data is not None else None
    if not isinstance(data, dict):
        return None
    try:
        started = datetime.fromisoformat(str(data["at"]))
        int(data["case_id"]), int(data["chat_id"])
        kind = str(data["kind"])
    except (KeyError, TypeError, ValueError):
        return None
    if kind not in _INPUT_LIMITS or now - started > PROMPT_TTL:
        return None
    return data


def _clear(context: BotContext) -> None:
    if context.user_data is not None:
        context.user_data.pop(INPUT_KEY, None)
        context.user_data.pop(BROADCAST_KEY, None)


async def _ask(update: Update, context: BotContext, user_id: int, lang: str, kind: str, case_id: int) -> None:
    """Checks the case can take it now, remembers the question, and asks. In a group the
    prompt forces a reply, so the answer reaches the bot even with privacy mode on."""
    query = update.callback_query
    chat = update.effective_chat
    user = update.effective_user
    deps = context.deps
    if context.user_data is None or chat is None or user is None:
        await _alert(update, deps.catalogue.t(lang, "fallback.stale_button"))
        return
    case = await deps.services.office.case(user_id, case_id)
    allowed = {
        "reject": REJECTABLE_STATES,
        "supervise": SUPERVISABLE_STATES,
        "reopen": REOPENABLE_STATES,
        "ext_refuse": frozenset({CaseState.EXTENSION_REQUESTED}),
    }[kind]
    if case.state not in allowed:
        await _alert(update, deps.catalogue.t(lang, "error.invalid_transition"))
        return
    prompt_key = "extension.ask_refuse_reason" if kind == "ext_refuse" else f"office.ask_{kind}"
    text = deps.catalogue.t(lang, prompt_key, tracking_no=case.tracking_no, limit=_INPUT_LIMITS[kind])
    text += "\n" + deps.catalogue.t(lang, "office.ask_cancel_hint")
    if chat.type != ChatType.PRIVATE:
        text = (
            deps.catalogue.t(lang, "office.ask_mention", user_id=user.id, name=user.first_name) + " " + text
        )
    if query is not None:
        await query.answer()
    sent = await context.bot.send_message(chat.id, text, reply_markup=ForceReply(selective=True))
    context.user_data.pop(BROADCAST_KEY, None)
    context.user_data[INPUT_KEY] = {
        "kind": kind,
        "case_id": case_id,
        "tracking_no": case.tracking_no,
        "chat_id": chat.id,
        "prompt_id": sent.message_id,
        "at": deps.clock.now().isoformat(),
    }


async def pending_text(update: Update, context: BotContext) -> None:
    """The answer to a question asked after a button (see the module's docstring). Nothing
    waiting (or another chat, or in a group not a reply to the prompt): lets it through."""
    message = update.effective_message
    user, chat = update.effective_user, update.effective_chat
    if message is None or message.text is None or user is None or chat is None or context.user_data is None:
        return
    if INPUT_KEY not in context.user_data:
        return
    deps = context.deps
    pending = _pending(context, deps.clock.now())
    if pending is None:
        context.user_data.pop(INPUT_KEY, None)  # lapsed: the text goes on to the others
        return
    if int(pending["chat_id"]) != chat.id:
        return
    if chat.type != ChatType.PRIVATE:
        answered = message.reply_to_message
        if answered is None or answered.message_id != pending.get("prompt_id"):
            return
    if message.text.startswith("/"):
        context.user_data.pop(INPUT_KEY, None)
        if message.text.split(maxsplit=1)[0].split("@")[0].lower() != "/cancel":
            return  # another command: the question is dropped and the command runs
        lang = await user_language(update, context)
        await reply(update, context, deps.catalogue.t(lang, "office.cancelled"))
        raise ApplicationHandlerStop
    lang = await user_language(update, context)
    if not (await roles_of(context, user.id)).office:
        context.user_data.pop(INPUT_KEY, None)
        await reply(update, context, deps.catalogue.t(lang, "office.only"))
        raise ApplicationHandlerStop
    kind, case_id = str(pending["kind"]), int(pending["case_id"])
    tracking_no = str(pending.get("tracking_no", ""))
    text = strip_controls(message.text)
    try:
        if kind == "reject":
            await deps.services.office.reject(user.id, case_id, text)
            done = deps.catalogue.t(lang, "office.rejected_done", tracking_no=tracking_no)
        elif kind == "supervise":
            await deps.services.office.supervise(user.id, case_id, text)
            done = deps.catalogue.t(lang, "office.supervised_done", tracking_no=tracking_no)
        elif kind == "reopen":
            await deps.services.office.reopen(user.id, case_id, text)
            done = deps.catalogue.t(lang, "office.reopened_done", tracking_no=tracking_no)
        else:
            await deps.services.extensions.refuse(user.id, case_id, text)
            done = deps.catalogue.t(lang, "extension.refused_done", tracking_no=tracking_no)
    except ValidationFailed as error:
        # the question stands: a shorter (or non-empty) answer is welcome
        pending["at"] = deps.clock.now().isoformat()
        await reply(update, context, error_text(deps, lang, error))
        raise ApplicationHandlerStop from None
    except DomainError as error:
        context.user_data.pop(INPUT_KEY, None)
        await reply(update, context, error_text(deps, lang, error))
        raise ApplicationHandlerStop from None
    context.user_data.pop(INPUT_KEY, None)
    deps.wake_sender()
    await reply(update, context, done)
    raise ApplicationHandlerStop


# -- the extension buttons -------------------------------------------------------------------------


async def extension_button(update: Update, context: BotContext) -> None:
    """``ext:approve:<id>`` grants the request at once; ``ext:refuse:<id>`` asks why (the lead
    units are told the reason)."""
    query = update.callback_query
    if query is None:
        return
    guarded = await _guard(update, context)
    if guarded is None:
        return
    user_id, lang = guarded
    deps = context.deps
    m = _EXTENSION.fullmatch(query.data or "")
    if m is None:
        await _alert(update, deps.catalogue.t(lang, "fallback.stale_button"))
        return
    case_id = int(m.group(2))
    try:
        if m.group(1) == "refuse":
            await _ask(update, context, user_id, lang, "ext_refuse", case_id)
            return
        decided = await deps.services.extensions.approve(user_id, case_id)
    except DomainError as error:
        await _alert(update, error_text(deps, lang, error))
        return
    deps.wake_sender()
    fmt = formatter(deps, lang)
    done = fmt.t(
        "extension.approved_done",
        tracking_no=decided.case.tracking_no,
        answer_due_date=Html(fmt.format_date(decided.new_due)),
    )
    await query.answer(plain(done)[:200])
    await _drop_buttons(query.message)
    await reply(update, context, done)


# -- supervision, spot checks, findings ------------------------------------------------------------


async def supervise_command(update: Update, context: BotContext) -> None:
    """/supervise TRACKING_NO TEXT: a supervision notice to the case's lead units (without the
    text: asks for it)."""
    guarded = await _guard(update, context)
    if guarded is None:
        return
    user_id, lang = guarded
    deps = context.deps
    typed = _command_text(update)
    parts = typed.split(maxsplit=1)
    if not parts:
        await reply(update, context, deps.catalogue.t(lang, "office.supervise_usage"))
        return
    try:
        tracking_no = str(parse_tracking_no(parts[0][:40], lenient=True))
        found = await deps.services.office.case_by_number(user_id, tracking_no)
        assert found.id is not None
        if len(parts) == 1:
            await _ask(update, context, user_id, lang, "supervise", found.id)
            return
        case = await deps.services.office.supervise(user_id, found.id, parts[1])
    except NotFound:
        await reply(update, context, deps.catalogue.t(lang, "office.case_not_found"))
        return
    except DomainError as error:
        await reply(update, context, error_text(deps, lang, error))
        return
    deps.wake_sender()
    await reply(
        update, context, deps.catalogue.t(lang, "office.supervised_done", tracking_no=case.tracking_no)
    )


async def spotcheck_command(update: Update, context: BotContext) -> None:
    """/spotcheck [N] [PERIOD]: N closed cases picked at random (closed in the period), with
    buttons to review each (and reopen it from its card)."""
    guarded = await _guard(update, context)
    if guarded is None:
        return
    user_id, lang = guarded
    deps = context.deps
    args = list(context.args or [])
    n = DEFAULT_SPOT_CHECK
    if args and args[0].isdigit() and len(args[0]) <= 3:
        n = int(args.pop(0))
    usage = deps.catalogue.t(lang, "office.spotcheck_usage", default=DEFAULT_SPOT_CHECK, limit=MAX_SPOT_CHECK)
    if not 1 <= n <= MAX_SPOT_CHECK or len(args) > 1:
        await reply(update, context, usage)
        return
    closed_from = closed_until = None
    if args:
        today = deps.services.deadlines.local_date(deps.clock.now())
        try:
            period = parse_period(args[0][:40], today, deps.plan.start)
        except ValueError:
            await reply(update, context, usage)
            return
        closed_from, closed_until = period.start(deps.clock.tz), period.end(deps.clock.tz)
    try:
        check = await deps.services.office.spot_check(
            user_id, n, closed_from=closed_from, closed_until=closed_until
        )
    except DomainError as error:
        await reply(update, context, error_text(deps, lang, error))
        return
    fmt = formatter(deps, lang)
    if not check.cases:
        await reply(update, context, fmt.t("office.spotcheck_none"))
        return
    lines = [fmt.t("office.spotcheck_title", count=len(check.cases))]
    rows = []
    for index, case in enumerate(check.cases, start=1):
        lines.append(fmt.list_item(case, index))
        assert case.id is not None
        rows.append(
            [_button(deps, lang, "office.button_view", f"of:view:{case.id}", tracking_no=case.tracking_no)]
        )
    lines.append(fmt.t("office.spotcheck_footer"))
    await reply(update, context, "\n\n".join(lines), reply_markup=InlineKeyboardMarkup(rows))


def _find_area(plan: Plan, typed: str) -> str | None:
    """An area by id, number (1-5) or numeral (一-五)."""
    for area in plan.areas:
        if typed in (area.id, str(area.number), area.numeral):
            return area.id
    return None


async def finding_command(update: Update, context: BotContext) -> None:
    """/finding UNIT AREA [SOURCE] TEXT: a case from the office's own supervision (明察暗访 by
    default) against the unit; routed as a complaint would be."""
    guarded = await _guard(update, context)
    if guarded is None:
        return
    user_id, lang = guarded
    deps = context.deps
    parts = _command_text(update).split(maxsplit=2)
    usage = deps.catalogue.t(lang, "office.finding_usage")
    if len(parts) < 3:
        await reply(update, context, usage)
        return
    unit_id, area_id = find_unit(deps.plan, parts[0]), _find_area(deps.plan, parts[1])
    rest = parts[2]
    source = Source.INSPECTION
    head = rest.split(maxsplit=1)
    if head and head[0].lower() in _SOURCES_TYPED:
        source = _SOURCES_TYPED[head[0].lower()]
        rest = head[1] if len(head) > 1 else ""
    if unit_id is None or area_id is None or not rest.strip():
        await reply(update, context, usage)
        return
    try:
        finding = await deps.services.office.office_finding(user_id, unit_id, area_id, rest, source)
    except DomainError as error:
        await reply(update, context, error_text(deps, lang, error))
        return
    deps.wake_sender()
    case = finding.case
    assert case.id is not None
    fmt = formatter(deps, lang)
    if finding.routed:
        text = fmt.t(
            "office.finding_routed", tracking_no=case.tracking_no, units=fmt.units(case.lead_unit_ids)
        )
        markup = InlineKeyboardMarkup(
            [[_button(deps, lang, "office.button_view", f"of:view:{case.id}", tracking_no=case.tracking_no)]]
        )
    else:
        picker_text, markup = _unit_picker(deps, lang, case.id, case.tracking_no, area_id, (unit_id,))
        text = fmt.t("office.finding_triage", tracking_no=case.tracking_no) + "\n\n" + picker_text
    await reply(update, context, text, reply_markup=markup)


# -- broadcast, members, undelivered ----------------------------------------------------------------


async def broadcast_command(update: Update, context: BotContext) -> None:
    """/broadcast [UNIT] TEXT: shown back with a send button (to every liaison, or the unit's)."""
    guarded = await _guard(update, context)
    chat = update.effective_chat
    if guarded is None or chat is None:
        return
    _, lang = guarded
    deps = context.deps
    typed = _command_text(update)
    head = typed.split(maxsplit=1)
    unit_id = find_unit(deps.plan, head[0]) if head else None
    text = (head[1] if len(head) > 1 else "") if unit_id is not None else typed
    if not text.strip() or context.user_data is None:
        await reply(update, context, deps.catalogue.t(lang, "office.broadcast_usage", limit=MAX_BROADCAST))
        return
    if len(text) > MAX_BROADCAST:
        await reply(
            update,
            context,
            deps.catalogue.t(lang, "office.broadcast_too_long", limit=MAX_BROADCAST, length=len(text)),
        )
        return
    context.user_data.pop(INPUT_KEY, None)
    context.user_data[BROADCAST_KEY] = {
        "text": text,
        "unit_id": unit_id,
        "chat_id": chat.id,
        "at": deps.clock.now().isoformat(),
    }
    to = (
        unit_name(deps.plan, lang, unit_id)
        if unit_id
        else deps.catalogue.t(lang, "office.broadcast_everyone")
    )
    preview = deps.catalogue.t(lang, "office.broadcast_preview", to=to, text=text)
    markup = InlineKeyboardMarkup(
        [
            [
                _button(deps, lang, "office.button_send", "of:broadcast:send"),
                _button(deps, lang, "office.button_cancel", "of:cancel"),
            ]
        ]
    )
    await reply(update, context, preview, reply_markup=markup)


async def _send_broadcast(update: Update, context: BotContext, user_id: int, lang: str) -> None:
    query = update.callback_query
    chat = update.effective_chat
    assert query is not None
    deps = context.deps
    data = context.user_data.get(BROADCAST_KEY) if context.user_data is not None else None
    shown = _broadcast_shown(data, chat, deps.clock.now())
    if shown is None:
        await _alert(update, deps.catalogue.t(lang, "fallback.stale_button"))
        return
    text, unit_id = shown
    if context.user_data is not None:
        context.user_data.pop(BROADCAST_KEY, None)
    sent = await deps.services.office.broadcast(user_id, text, unit_id)
    deps.wake_sender()
    await query.answer()
    await _drop_buttons(query.message)
    await reply(update, context, deps.catalogue.t(lang, "office.broadcast_done", count=sent.recipients))


def _broadcast_shown(data: object, chat: Chat | None, now: datetime) -> tuple[str, str | None] | None:
    """The broadcast shown for confirmation in this chat, unless it lapsed (or is garbage)."""
    if not isinstance(data, dict) or chat is None:
        return None
    try:
        same_chat = int(data["chat_id"]) == chat.id
        fresh = now - datetime.fromisoformat(str(data["at"])) <= PROMPT_TTL
        text, unit_id = data["text"], data.get("unit_id")
    except (KeyError, TypeError, ValueError):
        return None
    if not (same_chat and fresh and isinstance(text, str) and (unit_id is None or isinstance(unit_id, str))):
        return None
    return text, unit_id


def render_members(
    deps: Deps, lang: str, admins: Sequence[int], added: Sequence[tuple[int, datetime]]
) -> tuple[str, InlineKeyboardMarkup | None]:
    fmt = formatter(deps, lang)
    lines = [fmt.t("office.members_title")]
    lines.extend(fmt.t("office.member_admin", user_id=user_id) for user_id in admins)
    lines.extend(
        fmt.t("office.member_added", user_id=user_id, since=Html(fmt.format_datetime(at)))
        for user_id, at in added
    )
    lines.append(fmt.t("office.members_usage"))
    rows = [
        [_button(deps, lang, "office.button_remove_member", f"of:member:remove:{user_id}", user_id=user_id)]
        for user_id, _ in added
    ]
    return "\n".join(lines), InlineKeyboardMarkup(rows) if rows else None


async def members_command(update: Update, context: BotContext) -> None:
    """/members, /members add USER_ID, /members remove USER_ID."""
    guarded = await _guard(update, context)
    if guarded is None:
        return
    user_id, lang = guarded
    deps = context.deps
    args = list(context.args or [])
    service = deps.services.office
    try:
        if args:
            if len(args) != 2 or args[0].lower() not in ("add", "remove") or not _USER_ID.fullmatch(args[1]):
                await reply(update, context, deps.catalogue.t(lang, "office.members_usage"))
                return
            member_id = int(args[1])
            if args[0].lower() == "add":
                await service.add_member(user_id, member_id)
                deps.wake_sender()
                await reply(
                    update, context, deps.catalogue.t(lang, "office.member_added_done", user_id=member_id)
                )
            else:
                await service.remove_member(user_id, member_id)
                deps.wake_sender()
                await _reset_menu(context, member_id)
                await reply(
                    update, context, deps.catalogue.t(lang, "office.member_removed_done", user_id=member_id)
                )
            return
        members = await service.members(user_id)
    except DomainError as error:
        await reply(update, context, error_text(deps, lang, error))
        return
    text, markup = render_members(
        deps, lang, members.admins, [(m.user_id, m.added_at) for m in members.added]
    )
    await reply(update, context, text, reply_markup=markup)


async def _remove_member(
    update: Update, context: BotContext, user_id: int, lang: str, member_id: int
) -> None:
    query = update.callback_query
    assert query is not None
    deps = context.deps
    await deps.services.office.remove_member(user_id, member_id)
    deps.wake_sender()
    await _reset_menu(context, member_id)
    members = await deps.services.office.members(user_id)
    # answered after the last read that can fail: a query takes one answer
    await query.answer(plain(deps.catalogue.t(lang, "office.member_removed_done", user_id=member_id)))
    text, markup = render_members(
        deps, lang, members.admins, [(m.user_id, m.added_at) for m in members.added]
    )
    await _replace_or_send(update, context, text, markup)


async def _reset_menu(context: BotContext, user_id: int) -> None:
    """A removed member loses the office menu: their private chat goes back to the liaison's
    or the citizen's, and their own menu in the office chat goes."""
    roles = await roles_of(context, user_id)
    if roles.liaison:
        lang = language_for(await stored_language(context, user_id), None)
        await set_liaison_menu(context.bot, context.deps.catalogue, user_id, lang)
    else:
        await drop_chat_menu(context.bot, user_id)
    office_chat = context.deps.settings.office_chat_id
    if office_chat is not None:
        try:
            await context.bot.delete_my_commands(scope=BotCommandScopeChatMember(office_chat, user_id))
        except TelegramError:
            log.info("could not reset the office-chat menu of %s", user_id, exc_info=True)


async def failed_command(update: Update, context: BotContext) -> None:
    """/failed: notifications that could not be delivered, newest first."""
    guarded = await _guard(update, context)
    if guarded is None:
        return
    user_id, lang = guarded
    deps = context.deps
    letters = await deps.services.office.dead_letters(user_id)
    fmt = formatter(deps, lang)
    counts = {state.value: count for state, count in letters.counts.items()}
    lines = [fmt.t("office.failed_title", **counts)]
    if not letters.messages:
        lines.append(fmt.t("office.failed_none"))
    for message in letters.messages:
        key = message.payload.get("text_key")
        error = " ".join((message.last_error or "").split())[:DEAD_LETTER_ERROR]
        lines.append(
            fmt.t(
                f"office.failed_line_{message.state.value}",
                id=message.id or 0,
                chat_id=message.chat_id,
                what=str(key) if isinstance(key, str) else message.method,
                attempts=message.attempts,
                at=Html(fmt.format_datetime(message.created_at)),
                error=error or "–",
            )
        )
    await reply(update, context, "\n".join(lines))
