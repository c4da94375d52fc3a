"""推介典型 (the plan's 保障措施 四): the office's register of good practices (特色做法). ::

    /practice UNIT title | what the unit does
    依据：ZH-2014-000012 ZH-2014-000031          (optional last line: the cases it rests on)

    /practices [UNIT]      the register, with a share button under each practice

Sharing sends the unit, the title and the office's text to every liaison through the outbox
(as ``/broadcast`` does); never who recorded it, never a complainant.
"""

from __future__ import annotations

import re
from typing import Final

from telegram import InlineKeyboardMarkup, Update

from bot.context import BotContext, Deps
from bot.error_replies import error_text
from bot.handlers.join import find_unit
from bot.handlers.office.access import command_text, office_only
from bot.handlers.staff_ui import alert, button, formatter, plain
from bot.i18n import Html
from bot.replies import reply
from core.errors import DomainError, NotFound, ValidationFailed
from core.measures import GoodPractice
from core.services.practices import CALLBACK_PRACTICE_SHARE, PracticeService
from core.tracking import parse_tracking_no

SHARE_PATTERN: Final = r"^pr:"  # malformed pr: data included: it gets the stale-button answer
_SHARE: Final = re.compile(r"pr:share:([1-9][0-9]{0,11})", re.ASCII)
_BASIS: Final = re.compile(r"^\s*(?:依据|案件|cases?)\s*[:：]\s*(.*)$", re.IGNORECASE)
_SHOWN: Final = 20


def practice_service(deps: Deps) -> PracticeService:
    """Cheap to build (no state): one per use."""
    return PracticeService(
        uow=deps.uow,
        plan=deps.plan,
        clock=deps.clock,
        working_days=deps.services.working_days,
        office_admin_ids=deps.settings.office_admin_ids,
    )


def _parse(deps: Deps, text: str) -> tuple[str, str, str, list[str]] | None:
    """(unit id, title, description, case numbers) from ``UNIT title | text``, or None."""
    lines = text.splitlines()
    numbers: list[str] = []
    if len(lines) > 1 and (match := _BASIS.match(lines[-1])):
        numbers = [str(parse_tracking_no(w[:40], lenient=True)) for w in match.group(1).split()]
        lines = lines[:-1]
    head, sep, rest = "\n".join(lines).partition("|")
    words = head.split(maxsplit=1)
    if not sep or len(words) < 2:
        return None
    unit_id = find_unit(deps.plan, words[0])
    if unit_id is None or not words[1].strip() or not rest.strip():
        return None
    return unit_id, words[1].strip(), rest.strip(), numbers


@office_only
async def practice_command(update: Update, context: BotContext, user_id: int, lang: str) -> None:
    """/practice UNIT title | text: a good practice on the register (audited)."""
    deps = context.deps
    usage = deps.catalogue.t(lang, "practices.practice_usage")
    try:
        parsed = _parse(deps, command_text(update))
        if parsed is None:
            await reply(update, context, usage)
            return
        unit_id, title, description, numbers = parsed
        practice = await practice_service(deps).record_practice(
            user_id, unit_id, title, description, case_numbers=numbers
        )
    except NotFound as missing:
        number = missing.params.get("tracking_no")
        key = "practices.no_case" if number else "error.not_found"
        await reply(update, context, deps.catalogue.t(lang, key, tracking_no=str(number or "")))
        return
    except ValidationFailed:
        await reply(update, context, usage)
        return
    except DomainError as error:
        await reply(update, context, error_text(deps, lang, error))
        return
    markup = InlineKeyboardMarkup(
        [[button(deps, lang, "practices.button_share", f"{CALLBACK_PRACTICE_SHARE}{practice.id}")]]
    )
    await reply(
        update,
        context,
        deps.catalogue.t(lang, "practices.recorded", practice_id=practice.id, title=practice.title),
        reply_markup=markup,
    )


@office_only
async def practices_command(update: Update, context: BotContext, user_id: int, lang: str) -> None:
    """/practices [UNIT]: the register, newest last, a share button under those not shared."""
    deps = context.deps
    typed = command_text(update)
    unit_id = find_unit(deps.plan, typed) if typed else None
    if typed and unit_id is None:
        await reply(update, context, deps.catalogue.t(lang, "practices.practice_usage"))
        return
    try:
        found = await practice_service(deps).practices(user_id, unit_id)
    except DomainError as error:
        await reply(update, context, error_text(deps, lang, error))
        return
    text, markup = render_practices(deps, lang, found)
    await reply(update, context, text, reply_markup=markup)


def render_practices(
    deps: Deps, lang: str, practices: list[GoodPractice]
) -> tuple[str, InlineKeyboardMarkup | None]:
    fmt = formatter(deps, lang)
    if not practices:
        return fmt.t("practices.none"), None
    shown = practices[-_SHOWN:]
    lines = [fmt.t("practices.header", count=len(practices))]
    rows = []
    for p in shown:
        shared = (
            fmt.t("practices.shared_on", at=Html(fmt.format_datetime(p.shared_at)))
            if p.shared_at is not None
            else fmt.t("practices.not_shared")
        )
        lines.append(
            fmt.t(
                "practices.item",
                practice_id=p.id,
                unit=Html(fmt.units([p.unit_id])),
                title=p.title,
                text=p.description[:300],
                cases=" ".join(p.case_numbers) or "—",
                at=Html(fmt.format_datetime(p.recorded_at)),
                shared=Html(shared),
            )
        )
        if p.shared_at is None:
            rows.append(
                [
                    button(
                        deps,
                        lang,
                        "practices.button_share_id",
                        f"{CALLBACK_PRACTICE_SHARE}{p.id}",
                        practice_id=p.id,
                    )
                ]
            )
    return "\n\n".join(lines), InlineKeyboardMarkup(rows) if rows else None


async def share_button(update: Update, context: BotContext) -> None:
    """``pr:share:ID``: the practice to every liaison (office only; checked before parsing)."""
    await _share(update, context)


@office_only
async def _share(update: Update, context: BotContext, user_id: int, lang: str) -> None:
    query = update.callback_query
    assert query is not None
    deps = context.deps
    match = _SHARE.fullmatch(query.data or "")
    if match is None:
        await alert(update, deps.catalogue.t(lang, "fallback.stale_button"))
        return
    try:
        shared = await practice_service(deps).share_practice(user_id, int(match.group(1)))
    except DomainError as error:
        await alert(update, error_text(deps, lang, error))
        return
    deps.wake_sender()
    text = deps.catalogue.t(
        lang, "practices.shared_done", practice_id=shared.practice.id, count=shared.recipients
    )
    await query.answer(plain(text)[:200])
    await reply(update, context, text)
