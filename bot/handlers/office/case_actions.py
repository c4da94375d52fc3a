"""The ``of:`` buttons (SPEC §6): the office role first, then the data, strictly (anything else
gets the stale-button answer), then the action; the services check everything again. Here:
the queue's pages, routing and reclassifying, outcomes, 典型案例, the evidence files, the
recusal buttons; the reasons asked for are ``reasons``', broadcasts and members ``broadcasts``'."""

from __future__ import annotations

import re

from telegram import InlineKeyboardMarkup, Update

from bot.context import BotContext, Deps
from bot.error_replies import error_text
from bot.handlers.office import recusal
from bot.handlers.office.access import ID, PLAN_ID, office_only
from bot.handlers.office.broadcasts import MEMBER, cancel_broadcast, remove_member, send_broadcast
from bot.handlers.office.card import show_card
from bot.handlers.office.reasons import ask_reason
from bot.handlers.office.triage import area_picker, render_queue, route, unit_picker
from bot.handlers.staff_ui import alert, button, plain, replace_or_send, send_evidence
from core.cases import Measure, Outcome
from core.errors import DomainError

_QUEUE = re.compile(r"of:queue:([0-9]{1,4})", re.ASCII)
_CASE = re.compile(
    rf"of:(view|route|areas|files|reject|supervise|reopen|reclass|close|target|notgt):({ID})", re.ASCII
)
_AREA = re.compile(rf"of:(area|units|reclass|close):({ID}):({PLAN_ID})", re.ASCII)
_LEAD = re.compile(rf"of:lead:({ID}):({PLAN_ID}):({PLAN_ID})", re.ASCII)
_MEASURE = re.compile(rf"of:close:({ID}):({PLAN_ID}):({PLAN_ID})", re.ASCII)
_TYPICAL = re.compile(rf"of:typical:({ID}):([01])", re.ASCII)


@office_only
async def office_button(update: Update, context: BotContext, user_id: int, lang: str) -> None:
    """Everything under ``of:``. The office role first; then the data, strictly (anything else
    gets the stale-button answer); the services check everything again."""
    query = update.callback_query
    if query is None:
        return
    deps = context.deps
    data = query.data or ""
    try:
        await _dispatch_button(update, context, user_id, lang, data)
    except DomainError as error:
        await alert(update, error_text(deps, lang, error))


async def _dispatch_button(update: Update, context: BotContext, user_id: int, lang: str, data: str) -> None:
    query = update.callback_query
    assert query is not None
    deps = context.deps
    service = deps.services.office
    if m := _QUEUE.fullmatch(data):
        queue = await service.triage_queue(user_id)
        await query.answer()
        text, markup = render_queue(deps, lang, queue, int(m.group(1)))
        await replace_or_send(update, context, text, markup)
        return
    if data == "of:cancel":
        await cancel_broadcast(update, context, lang)
        return
    if data == "of:broadcast:send":
        await send_broadcast(update, context, user_id, lang)
        return
    if m := MEMBER.fullmatch(data):
        await remove_member(update, context, user_id, lang, int(m.group(1)))
        return
    if m := _TYPICAL.fullmatch(data):
        case = await service.mark_typical(user_id, int(m.group(1)), m.group(2) == "1")
        key = "office.typical_on" if case.typical else "office.typical_off"
        done = plain(deps.catalogue.t(lang, key, tracking_no=case.tracking_no))
        await show_card(update, context, user_id, lang, int(m.group(1)), answer=done)
        return
    if m := _LEAD.fullmatch(data):
        case_id, area_id, unit_id = int(m.group(1)), m.group(2), m.group(3)
        await route(update, context, user_id, lang, case_id, area_id, (unit_id,))
        return
    if m := _MEASURE.fullmatch(data):
        await _close(update, context, user_id, lang, int(m.group(1)), m.group(2), m.group(3))
        return
    if m := _AREA.fullmatch(data):
        action, case_id, plan_id = m.group(1), int(m.group(2)), m.group(3)
        if action == "area":
            await route(update, context, user_id, lang, case_id, plan_id, None)
        elif action == "units":
            case = await service.case(user_id, case_id)
            view_excluded = sorted(case.may_not_lead())
            await query.answer()
            text, markup = unit_picker(deps, lang, case_id, case.tracking_no, plan_id, view_excluded)
            await replace_or_send(update, context, text, markup)
        elif action == "reclass":
            case = await service.reclassify(user_id, case_id, plan_id)
            done = plain(deps.catalogue.t(lang, "office.reclassified", tracking_no=case.tracking_no))
            await show_card(update, context, user_id, lang, case_id, answer=done)
        else:  # close:<case>:<outcome>
            await _close(update, context, user_id, lang, case_id, plan_id, None)
        return
    if m := recusal.TARGET_BUTTON.fullmatch(data):
        step, case_id, unit_id = m.group(1), int(m.group(2)), m.group(3)
        if step == "tgt":
            case = await service.case(user_id, case_id)
            await query.answer()
            text, markup = recusal.confirm(deps, lang, case, unit_id)
            await replace_or_send(update, context, text, markup)
        else:
            marked = await service.mark_target(user_id, case_id, unit_id)
            done = recusal.marked_text(deps, lang, marked)
            await show_card(update, context, user_id, lang, case_id, answer=done)
        return
    m = _CASE.fullmatch(data)
    if m is None:
        await alert(update, deps.catalogue.t(lang, "fallback.stale_button"))
        return
    action, case_id = m.group(1), int(m.group(2))
    if action == "view":
        await show_card(update, context, user_id, lang, case_id, answer=None)
    elif action == "route":
        await route(update, context, user_id, lang, case_id, None, None)
    elif action in ("areas", "reclass"):
        case = await service.case(user_id, case_id)
        await query.answer()
        text, markup = area_picker(
            deps, lang, case_id, case.tracking_no, "area" if action == "areas" else "reclass"
        )
        await replace_or_send(update, context, text, markup)
    elif action == "close":
        case = await service.case(user_id, case_id)
        await query.answer()
        text, markup = _outcome_picker(deps, lang, case_id, case.tracking_no)
        await replace_or_send(update, context, text, markup)
    elif action == "files":
        await send_evidence(update, context, lang, await service.evidence(user_id, case_id), "office")
    elif action == "target":
        case = await service.case(user_id, case_id)
        await query.answer()
        text, markup = recusal.picker(deps, lang, case)
        await replace_or_send(update, context, text, markup)
    elif action == "notgt":
        case = await service.clear_candidates(user_id, case_id)
        done = plain(deps.catalogue.t(lang, "office.recusal.cleared", tracking_no=case.tracking_no))
        await show_card(update, context, user_id, lang, case_id, answer=done[:200])
    else:  # reject, supervise, reopen: ask for the text
        await ask_reason(update, context, user_id, lang, action, case_id)


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
        await alert(update, deps.catalogue.t(lang, "fallback.stale_button"))
        return
    if measure is None and outcome is not Outcome.NOT_SUBSTANTIATED:
        case = await deps.services.office.case(user_id, case_id)
        await query.answer()
        text, markup = _measure_picker(deps, lang, case_id, case.tracking_no, outcome)
        await replace_or_send(update, context, text, markup)
        return
    case = await deps.services.office.close_with_outcome(user_id, case_id, outcome, measure or Measure.NONE)
    deps.wake_sender()
    done = plain(deps.catalogue.t(lang, "office.outcome_recorded", tracking_no=case.tracking_no))
    await show_card(update, context, user_id, lang, case_id, answer=done)


def _outcome_picker(
    deps: Deps, lang: str, case_id: int, tracking_no: str
) -> tuple[str, InlineKeyboardMarkup]:
    rows = [
        [button(deps, lang, f"office.outcome.{o.value}", f"of:close:{case_id}:{o.value}")] for o in Outcome
    ]
    rows.append([button(deps, lang, "office.button_back", f"of:view:{case_id}")])
    return deps.catalogue.t(lang, "office.pick_outcome", tracking_no=tracking_no), InlineKeyboardMarkup(rows)


def _measure_picker(
    deps: Deps, lang: str, case_id: int, tracking_no: str, outcome: Outcome
) -> tuple[str, InlineKeyboardMarkup]:
    buttons = [
        button(deps, lang, f"office.measure.{m.value}", f"of:close:{case_id}:{outcome.value}:{m.value}")
        for m in Measure
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append([button(deps, lang, "office.button_back", f"of:close:{case_id}")])
    text = deps.catalogue.t(
        lang,
        "office.pick_measure",
        tracking_no=tracking_no,
        outcome=deps.catalogue.t(lang, f"office.outcome.{outcome.value}"),
    )
    return text, InlineKeyboardMarkup(rows)
