"""复核检查 and 验收 (工作步骤 四, item 3), the office's side. One message each, so a phone will do::

    /review 单位A 单位B | 纪委、效能办 张三 | 2014-10-20      (units or 全部, bodies, day: optional)
    单位A 较重：窗口无人值守 依据：ZH-2014-000012             (one line per finding: unit,
    单位B 一般：公示内容不全                                  一般/较重/严重 (optional), facts)

    /review_status              per unit: inspected?, findings, accepted?
    /accept UNIT [note]         验收 of one unit (refused with every reason it may not be yet)
    /accept UNIT 不予验收 reason  不予验收
    /accept all [UNIT …] [| note]   the campaign as a whole; the units named are the exceptions
    /accept_campaign [UNIT …] [| note]

Under each finding a button turns it into a 整改建议书 through the rectification flow itself
(core.services.reports), with its default deadlines; the liaison gets the usual notice.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Final

from telegram import InlineKeyboardMarkup, Update

from bot.context import BotContext, Deps
from bot.dialogs.reporting import report_service
from bot.error_replies import error_text
from bot.handlers.cases import formatter
from bot.handlers.office.access import command_text, office_only
from bot.handlers.staff_ui import alert, button, plain
from bot.i18n import Html
from bot.replies import reply
from core.errors import DomainError, NotFound, ValidationFailed
from core.review import FindingSeverity
from core.services.review import (
    CALLBACK_FINDING_RECTIFY,
    CampaignNotAcceptable,
    FindingDraft,
    ReviewService,
    UnitNotAcceptable,
)
from core.tracking import parse_tracking_no
from core.unit_lookup import find_unit

RECTIFY_PATTERN: Final = r"^rv:"  # malformed rv: data included: it gets the stale-button answer
_RECTIFY: Final = re.compile(r"rv:rect:([1-9][0-9]{0,11})", re.ASCII)
_BASIS: Final = re.compile(r"\s*(?:依据|案件|cases?)\s*[:：]\s*(.*)$", re.IGNORECASE)
_DATE: Final = re.compile(
    r"^(?:(?P<y>\d{4})\s*[-/.年]\s*)?(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*[日号]?$"
)
_COLON: Final = re.compile(r"^(?P<head>[^:：]*)[:：](?P<tail>.*)$", re.DOTALL)
_SPLIT: Final = re.compile(r"[\s,，、;；]+")
ALL_WORDS: Final = frozenset({"all", "全部", "所有", "全体"})
REFUSE_WORDS: Final = ("不予验收", "refuse", "no")
SEVERITY_WORDS: Final = {
    "一般": FindingSeverity.MINOR,
    "轻微": FindingSeverity.MINOR,
    "minor": FindingSeverity.MINOR,
    "较重": FindingSeverity.SERIOUS,
    "serious": FindingSeverity.SERIOUS,
    "严重": FindingSeverity.GRAVE,
    "grave": FindingSeverity.GRAVE,
}


def review_service(deps: Deps) -> ReviewService:
    """Cheap to build (no state): one per use."""
    return ReviewService(
        uow=deps.uow,
        plan=deps.plan,
        clock=deps.clock,
        working_days=deps.services.working_days,
        reports=report_service(deps),
        office_admin_ids=deps.settings.office_admin_ids,
    )


class _Unparsed(Exception):
    """The message does not follow the syntax: the usage is shown."""


def _units(deps: Deps, text: str) -> list[str]:
    words = [w for w in _SPLIT.split(text.strip()) if w]
    if any(w.lower() in ALL_WORDS for w in words):
        return [u.id for u in deps.plan.units]
    found: list[str] = []
    for word in words:
        unit_id = find_unit(deps.plan, word)
        if unit_id is None:
            raise NotFound(kind="unit", typed=word)
        found.append(unit_id)
    return found


def _day(text: str, today: date) -> date:
    match = _DATE.match(text.strip())
    if match is None:
        raise _Unparsed
    try:
        return date(int(match["y"] or today.year), int(match["m"]), int(match["d"]))
    except ValueError as err:
        raise _Unparsed from err


def _finding(deps: Deps, line: str) -> FindingDraft:
    numbers: list[str] = []
    if match := _BASIS.search(line):
        numbers = [str(parse_tracking_no(w[:40], lenient=True)) for w in match.group(1).split()]
        line = line[: match.start()]
    colon = _COLON.match(line)
    head, tail = (colon["head"], colon["tail"]) if colon else (line, "")
    words = head.split()
    if not words:
        raise _Unparsed
    unit_id = find_unit(deps.plan, words[0])
    if unit_id is None:
        raise NotFound(kind="unit", typed=words[0])
    severity = FindingSeverity.MINOR
    rest = words[1:]
    if rest and rest[0].lower() in SEVERITY_WORDS:
        severity = SEVERITY_WORDS[rest[0].lower()]
        rest = rest[1:]
    facts = " ".join([*rest, tail.strip()]).strip()
    if not facts:
        raise _Unparsed
    return FindingDraft(unit_id=unit_id, severity=severity, facts=facts, case_numbers=numbers)


def parse_review(deps: Deps, text: str, today: date) -> tuple[list[str], str, date, list[FindingDraft]]:
    """(units, bodies, day, findings) from the /review message; ``_Unparsed`` or ``NotFound``."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise _Unparsed
    parts = [p.strip() for p in lines[0].split("|")]
    if len(parts) not in (2, 3) or not parts[0] or not parts[1]:
        raise _Unparsed
    units = _units(deps, parts[0])
    day = _day(parts[2], today) if len(parts) == 3 and parts[2] else today
    return units, parts[1], day, [_finding(deps, line) for line in lines[1:]]


@office_only
async def review_command(update: Update, context: BotContext, user_id: int, lang: str) -> None:
    """/review: records an inspection and its findings (audited; the units' liaisons told)."""
    deps = context.deps
    service = review_service(deps)
    usage = deps.catalogue.t(lang, "review.usage")
    try:
        units, bodies, day, findings = parse_review(deps, command_text(update), service.today())
        recorded = await service.record_inspection(user_id, units, bodies, day, findings)
    except _Unparsed:
        await reply(update, context, usage)
        return
    except NotFound as missing:
        if missing.params.get("tracking_no"):
            text = deps.catalogue.t(lang, "review.no_case", tracking_no=str(missing.params["tracking_no"]))
        elif missing.params.get("typed"):
            text = deps.catalogue.t(lang, "review.no_unit", typed=str(missing.params["typed"]))
        else:
            text = error_text(deps, lang, missing)
        await reply(update, context, text)
        return
    except ValidationFailed as err:
        if err.params.get("reason") == "not_inspected":
            text = deps.catalogue.t(lang, "review.finding_not_inspected")
        elif err.params.get("field") == "inspected_on":
            text = deps.catalogue.t(lang, "review.future_day")
        else:
            text = error_text(deps, lang, err) + "\n\n" + usage
        await reply(update, context, text)
        return
    except DomainError as error:
        await reply(update, context, error_text(deps, lang, error))
        return
    deps.wake_sender()
    fmt = formatter(deps, lang)
    lines = [
        fmt.t(
            "review.recorded",
            inspection_id=recorded.inspection.id,
            units=Html(fmt.units(recorded.inspection.unit_ids)),
            bodies=recorded.inspection.bodies,
            date=Html(fmt.format_date(recorded.inspection.inspected_on)),
            count=len(recorded.findings),
            told=recorded.told,
        )
    ]
    rows = []
    for f in recorded.findings:
        lines.append(_finding_line(deps, lang, f.id or 0, f.unit_id, f.severity, f.facts))
        rows.append(
            [
                button(
                    deps,
                    lang,
                    "review.button_rectify",
                    f"{CALLBACK_FINDING_RECTIFY}{f.id}",
                    finding_id=f.id,
                )
            ]
        )
    await reply(update, context, "\n".join(lines), reply_markup=InlineKeyboardMarkup(rows) if rows else None)


def _finding_line(
    deps: Deps, lang: str, finding_id: int, unit_id: str, severity: FindingSeverity, facts: str
) -> str:
    fmt = formatter(deps, lang)
    return fmt.t(
        "review.finding_item",
        finding_id=finding_id,
        unit=Html(fmt.units([unit_id])),
        severity=Html(fmt.t(f"review.severity_{severity.value}")),
        facts=facts[:300],
    )


async def rectify_button(update: Update, context: BotContext) -> None:
    """``rv:rect:ID``: the finding becomes a 整改建议书 (office only; checked before parsing)."""
    await _rectify(update, context)


@office_only
async def _rectify(update: Update, context: BotContext, user_id: int, lang: str) -> None:
    query = update.callback_query
    assert query is not None
    deps = context.deps
    match = _RECTIFY.fullmatch(query.data or "")
    if match is None:
        await alert(update, deps.catalogue.t(lang, "fallback.stale_button"))
        return
    try:
        done = await review_service(deps).rectify_finding(user_id, int(match.group(1)))
    except DomainError as error:
        await alert(update, error_text(deps, lang, error))
        return
    deps.wake_sender()
    fmt = formatter(deps, lang)
    text = fmt.t(
        "review.rectified",
        finding_id=done.finding.id,
        recommendation_id=done.recommendation.id,
        unit=Html(fmt.units([done.finding.unit_id])),
        plan_due=Html(fmt.format_date(done.recommendation.plan_due)),
        report_due=Html(fmt.format_date(done.recommendation.report_due)),
        told=done.told,
    )
    await query.answer(plain(text)[:200])
    await reply(update, context, text)


@office_only
async def accept_command(update: Update, context: BotContext, user_id: int, lang: str) -> None:
    """/accept UNIT [note] | /accept UNIT 不予验收 reason | /accept all [UNIT …] [| note]."""
    deps = context.deps
    typed = command_text(update).strip()
    words = typed.split(maxsplit=1)
    if not words:
        await reply(update, context, deps.catalogue.t(lang, "review.accept_usage"))
        return
    if words[0].lower() in ALL_WORDS:
        await _accept_campaign(update, context, user_id, lang, words[1] if len(words) > 1 else "")
        return
    unit_id = find_unit(deps.plan, words[0])
    if unit_id is None:
        await reply(update, context, deps.catalogue.t(lang, "review.no_unit", typed=words[0]))
        return
    note = words[1].strip() if len(words) > 1 else ""
    refuse = next((w for w in REFUSE_WORDS if note.lower().startswith(w)), None)
    service = review_service(deps)
    fmt = formatter(deps, lang)
    try:
        if refuse is not None:
            reason = note[len(refuse) :].lstrip(" :：")
            if not reason:
                await reply(update, context, deps.catalogue.t(lang, "review.refuse_needs_reason"))
                return
            await service.refuse_unit(user_id, unit_id, reason)
            text = fmt.t("review.refused_done", unit=Html(fmt.units([unit_id])), note=reason)
        else:
            await service.accept_unit(user_id, unit_id, note)
            text = fmt.t("review.accepted_done", unit=Html(fmt.units([unit_id])))
    except UnitNotAcceptable as refused:
        reasons = "\n".join(
            "• " + fmt.t(f"review.refusal.{r.value}", count=refused.unreported) for r in refused.reasons
        )
        text = fmt.t("review.refused_unit", unit=Html(fmt.units([unit_id])), reasons=Html(reasons))
    except DomainError as error:
        text = error_text(deps, lang, error)
    else:
        deps.wake_sender()
    await reply(update, context, text)


@office_only
async def accept_campaign_command(update: Update, context: BotContext, user_id: int, lang: str) -> None:
    """/accept_campaign [UNIT …] [| note]: the campaign as a whole, the units named excepted."""
    await _accept_campaign(update, context, user_id, lang, command_text(update))


async def _accept_campaign(update: Update, context: BotContext, user_id: int, lang: str, rest: str) -> None:
    deps = context.deps
    fmt = formatter(deps, lang)
    head, _, note = rest.partition("|")
    try:
        exceptions = _units(deps, head) if head.strip() else []
        record = await review_service(deps).accept_campaign(user_id, exceptions, note.strip())
    except NotFound as missing:
        typed = str(missing.params.get("typed", ""))
        await reply(update, context, deps.catalogue.t(lang, "review.no_unit", typed=typed))
        return
    except CampaignNotAcceptable as refused:
        text = fmt.t(
            "review.refused_campaign",
            count=len(refused.blockers),
            units=Html(fmt.units(refused.blockers)),
        )
        await reply(update, context, text)
        return
    except DomainError as error:
        await reply(update, context, error_text(deps, lang, error))
        return
    text = fmt.t(
        "review.campaign_accepted",
        exceptions=Html(fmt.units(record.exceptions)) if record.exceptions else "—",
    )
    await reply(update, context, text)


@office_only
async def review_status_command(update: Update, context: BotContext, user_id: int, lang: str) -> None:
    """/review_status: per unit: inspected?, findings (by severity), accepted?; the campaign."""
    deps = context.deps
    try:
        status = await review_service(deps).status(user_id)
    except DomainError as error:
        await reply(update, context, error_text(deps, lang, error))
        return
    fmt = formatter(deps, lang)
    lines = [fmt.t("review.status_header")]
    for unit in status.units:
        if unit.acceptance is None:
            accepted = fmt.t("review.status_not_decided")
        elif unit.accepted:
            accepted = fmt.t("review.status_accepted")
        else:
            accepted = fmt.t("review.status_refused")
        grave = sum(1 for f in unit.findings if f.severity is not FindingSeverity.MINOR)
        lines.append(
            fmt.t(
                "review.status_line",
                unit=Html(fmt.units([unit.unit_id])),
                inspected=Html(fmt.t("review.yes" if unit.inspected else "review.no")),
                inspections=unit.inspections,
                findings=len(unit.findings),
                serious=grave,
                rectified=sum(1 for f in unit.findings if f.recommendation_id is not None),
                accepted=Html(accepted),
            )
        )
    if status.campaign is not None:
        lines.append(
            fmt.t("review.status_campaign_accepted", at=Html(fmt.format_datetime(status.campaign.decided_at)))
        )
    else:
        lines.append(fmt.t("review.status_campaign_open", count=len(status.blockers)))
    await reply(update, context, "\n".join(lines))
