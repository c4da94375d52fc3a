"""The office's case card (SPEC §6): what everybody sees plus what only the office sees, the
buttons for where the case stands, ``/case_office``, and the private chat's whole card."""

from __future__ import annotations

import re
from typing import Final

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatType
from telegram.ext import filters

from bot.case_view import CaseFormatter, unit_name
from bot.context import BotContext, Deps
from bot.handlers.office import recusal
from bot.handlers.office.access import ID, command_text, office_only
from bot.handlers.staff_ui import actor_name, button, event_text, formatter, plain, replace_or_send
from bot.i18n import Html
from bot.replies import reply
from core.cases import CaseEvent, Measure, Satisfaction
from core.errors import DomainError, NotFound
from core.services.extensions import CALLBACK_APPROVE, CALLBACK_REFUSE
from core.services.follow_up import REOPEN_APPROVE, REOPEN_REFUSE
from core.services.office import (
    OUTCOME_STATES,
    REJECTABLE_STATES,
    REOPENABLE_STATES,
    ROUTABLE_STATES,
    SUPERVISABLE_STATES,
    OfficeCaseView,
)
from core.states import Actor, CaseState
from core.tracking import parse_tracking_no

HISTORY_TEXT: Final = 300  # characters of an event's text on the card


# Case event kinds with office-specific names (office.event.<kind>); others: bot.case_view.
_OWN_EVENT_KINDS: Final = frozenset({"reclassify", "outcome", "typical", "spot_check"})


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
    elif view.complainant is not None and view.complainant.user_id is None:
        # filed through the Open311 API: no Telegram id, the key holder's account instead
        who = view.complainant
        none = fmt.t("office.card_no_phone")
        notes.append(
            fmt.t(
                "open311.card_complainant",
                via=who.via or "",
                account=who.external_id or "",
                name=who.name or none,
                phone=who.phone or none,
                email=who.email or none,
            )
        )
    elif view.complainant is not None:
        phone = view.complainant.phone or fmt.t("office.card_no_phone")
        notes.append(fmt.t("office.card_complainant", user_id=view.complainant.user_id, phone=phone))
    elif case.citizen_id is not None:
        notes.append(fmt.t("office.card_anonymous"))
    if case.target_unit_id:
        notes.append(fmt.t("office.card_target", unit=unit_name(deps.plan, lang, case.target_unit_id)))
    if case.assist_unit_ids:
        notes.append(fmt.t("office.card_assist", units=fmt.units(case.assist_unit_ids)))
    notes += recusal.card_notes(fmt, view)
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
PRIVATE_CARD_START: Final = re.compile(rf"oc({ID})", re.ASCII)


PRIVATE_CARD_LINK: Final = filters.Regex(rf"^/start(?:@\w+)?\s+oc{ID}$") & filters.UpdateType.MESSAGE


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


@office_only
async def private_card_start(update: Update, context: BotContext, user_id: int, lang: str) -> None:
    """/start oc<case id> (the office group card's link): that case's whole card, in the
    office member's private chat; anybody else gets the office's refusal."""
    chat = update.effective_chat
    if chat is None:
        return
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
    # the office sees who acted: the unit and the liaison's id, the office member's id
    name = actor_name(fmt, deps, lang, event, "office")
    if event.actor in (Actor.LIAISON, Actor.OFFICE) and event.actor_ref:
        who = fmt.t("office.who_with_id", name=name, user_id=event.actor_ref)
    else:
        who = fmt.t("office.who", name=name)
    return fmt.staff_history_line(
        event, section="office", own_kinds=_OWN_EVENT_KINDS, who=who, detail=_detail(fmt, event)
    )


def _detail(fmt: CaseFormatter, event: CaseEvent) -> str:
    if (recused := recusal.history_detail(fmt, event)) is not None:
        return recused
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
    return event_text(fmt, event, HISTORY_TEXT)


def card_keyboard(deps: Deps, lang: str, view: OfficeCaseView) -> InlineKeyboardMarkup:
    """The buttons for where the case stands (the services check again when pressed)."""
    case = view.case
    case_id = case.id
    assert case_id is not None

    def b(key: str, data: str, **params: object) -> InlineKeyboardButton:
        return button(deps, lang, key, data, **params)

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
        rows += recusal.card_rows(deps, lang, view)
    rows.append([b("office.button_queue", "of:queue:0")])
    return InlineKeyboardMarkup(rows)


@office_only
async def case_office_command(update: Update, context: BotContext, user_id: int, lang: str) -> None:
    """/case_office TRACKING_NO: the office's card of any case."""
    deps = context.deps
    typed = command_text(update)
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


async def show_card(
    update: Update, context: BotContext, user_id: int, lang: str, case_id: int, *, answer: str | None
) -> None:
    """The case card in place of the pressed message. The button is answered (with
    ``answer``) only once the card could be read: a query takes one answer, and a failure
    here must still be able to answer it with its alert."""
    view = await context.deps.services.office.view(user_id, case_id)
    if update.callback_query is not None:
        await update.callback_query.answer(answer)
    text, markup = card_for(update, context, lang, view)
    await replace_or_send(update, context, text, markup)
