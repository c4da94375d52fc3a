"""What the office reads and files itself (SPEC §6): ``/spotcheck`` (closed cases at random),
``/finding`` (a case from the office's own supervision), ``/failed`` (undelivered notices)."""

from __future__ import annotations

from typing import Final

from telegram import InlineKeyboardMarkup, Update

from bot.context import BotContext
from bot.error_replies import error_text
from bot.handlers.join import find_unit
from bot.handlers.office.access import command_text, office_only
from bot.handlers.office.triage import unit_picker
from bot.handlers.staff_ui import button, formatter
from bot.i18n import Html
from bot.replies import reply
from core.cases import Source
from core.errors import DomainError
from core.plan import Plan
from core.services.office import DEFAULT_SPOT_CHECK, MAX_SPOT_CHECK
from core.stats import parse_period

DEAD_LETTER_ERROR: Final = 120


_SOURCES_TYPED: Final = {
    "inspection": Source.INSPECTION,
    "明察暗访": Source.INSPECTION,
    "spot_check": Source.SPOT_CHECK,
    "随机抽查": Source.SPOT_CHECK,
    "special_check": Source.SPECIAL_CHECK,
    "专项检查": Source.SPECIAL_CHECK,
}


@office_only
async def spotcheck_command(update: Update, context: BotContext, user_id: int, lang: str) -> None:
    """/spotcheck [N] [PERIOD]: N closed cases picked at random (closed in the period), with
    buttons to review each (and reopen it from its card)."""
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
            [button(deps, lang, "office.button_view", f"of:view:{case.id}", tracking_no=case.tracking_no)]
        )
    lines.append(fmt.t("office.spotcheck_footer"))
    await reply(update, context, "\n\n".join(lines), reply_markup=InlineKeyboardMarkup(rows))


def _find_area(plan: Plan, typed: str) -> str | None:
    """An area by id, number (1-5) or numeral (一-五)."""
    for area in plan.areas:
        if typed in (area.id, str(area.number), area.numeral):
            return area.id
    return None


@office_only
async def finding_command(update: Update, context: BotContext, user_id: int, lang: str) -> None:
    """/finding UNIT AREA [SOURCE] TEXT: a case from the office's own supervision (明察暗访 by
    default) against the unit; routed as a complaint would be."""
    deps = context.deps
    parts = command_text(update).split(maxsplit=2)
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
            [[button(deps, lang, "office.button_view", f"of:view:{case.id}", tracking_no=case.tracking_no)]]
        )
    else:
        picker_text, markup = unit_picker(deps, lang, case.id, case.tracking_no, area_id, (unit_id,))
        text = fmt.t("office.finding_triage", tracking_no=case.tracking_no) + "\n\n" + picker_text
    await reply(update, context, text, reply_markup=markup)


@office_only
async def failed_command(update: Update, context: BotContext, user_id: int, lang: str) -> None:
    """/failed: notifications that could not be delivered, newest first."""
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
