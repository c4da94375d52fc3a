"""The triage queue and routing (SPEC §6): ``/triage``, the queue's pages, the area and unit
pickers, and routing a case to its lead units."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Final

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.case_view import CaseFormatter, unit_name
from bot.context import BotContext, Deps
from bot.error_replies import error_text
from bot.handlers.office import recusal
from bot.handlers.office.access import MAX_CALLBACK_DATA, office_only
from bot.handlers.office.card import show_card
from bot.handlers.staff_ui import button, formatter, plain, replace_or_send
from bot.i18n import Html
from bot.replies import reply
from core.services.extensions import CALLBACK_APPROVE, CALLBACK_REFUSE
from core.services.follow_up import REOPEN_APPROVE, REOPEN_REFUSE
from core.services.office import NoLeadUnit, QueueItem, QueueKind, TriageQueue, UnknownArea

log = logging.getLogger(__name__)


QUEUE_PAGE: Final = 5


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
        nav.append(button(deps, lang, "cases.button.prev", f"of:queue:{page - 1}"))
    if page + 1 < pages:
        nav.append(button(deps, lang, "cases.button.next", f"of:queue:{page + 1}"))
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
    if (candidates := recusal.queue_note(fmt, item.candidates)) is not None:
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
        [button(deps, lang, "office.button_view", f"of:view:{case_id}", tracking_no=item.case.tracking_no)]
    ]
    if item.kind in (QueueKind.TRIAGE, QueueKind.RETURNED):
        actions = []
        if item.suggested_area is not None:
            actions.append(button(deps, lang, "office.button_route", f"of:route:{case_id}"))
        actions.append(button(deps, lang, "office.button_areas", f"of:areas:{case_id}"))
        actions.append(button(deps, lang, "office.button_reject", f"of:reject:{case_id}"))
        rows.append(actions)
    elif item.kind is QueueKind.EXTENSION:
        rows.append(
            [
                button(deps, lang, "extension.button_approve", f"{CALLBACK_APPROVE}{case_id}"),
                button(deps, lang, "extension.button_refuse", f"{CALLBACK_REFUSE}{case_id}"),
            ]
        )
    else:
        rows.append(
            [
                button(deps, lang, "follow_up.button_reopen_approve", f"{REOPEN_APPROVE}{case_id}"),
                button(deps, lang, "follow_up.button_reopen_refuse", f"{REOPEN_REFUSE}{case_id}"),
            ]
        )
    return rows


def _cut(text: str, limit: int, fmt: CaseFormatter) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit].rstrip() + fmt.t("cases.card.truncated")


@office_only
async def triage_command(update: Update, context: BotContext, user_id: int, lang: str) -> None:
    """/triage: cases to route, returned cases, extension and reopen requests, oldest first."""
    deps = context.deps
    queue = await deps.services.office.triage_queue(user_id)
    text, markup = render_queue(deps, lang, queue, 0)
    await reply(update, context, text, reply_markup=markup)


def area_picker(
    deps: Deps, lang: str, case_id: int, tracking_no: str, action: str
) -> tuple[str, InlineKeyboardMarkup]:
    """Areas as buttons: ``action`` is "area" (route there) or "reclass" (set the area)."""
    fmt = formatter(deps, lang)
    rows = [
        [InlineKeyboardButton(plain(fmt.area(a.id)), callback_data=f"of:{action}:{case_id}:{a.id}")]
        for a in deps.plan.areas
    ]
    rows.append([button(deps, lang, "office.button_back", f"of:view:{case_id}")])
    key = "office.pick_area" if action == "area" else "office.pick_reclass"
    return fmt.t(key, tracking_no=tracking_no), InlineKeyboardMarkup(rows)


def unit_picker(
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
    rows.append([button(deps, lang, "office.button_back", f"of:view:{case_id}")])
    text = fmt.t("office.pick_unit", tracking_no=tracking_no, area=fmt.area(area_id))
    return text, InlineKeyboardMarkup(rows)


async def route(
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
        text, markup = unit_picker(deps, lang, case_id, case.tracking_no, wanted, excluded)
        await replace_or_send(update, context, text, markup)
        return
    except UnknownArea:
        if area_id is not None:
            raise
        case = await service.case(user_id, case_id)
        await query.answer()
        text, markup = area_picker(deps, lang, case_id, case.tracking_no, "area")
        await replace_or_send(update, context, text, markup)
        return
    deps.wake_sender()
    fmt = formatter(deps, lang)
    done = fmt.t("office.routed", tracking_no=routed.case.tracking_no, units=fmt.units(routed.lead_unit_ids))
    await show_card(update, context, user_id, lang, case_id, answer=plain(done)[:200])
