"""``/accountability`` (office): 案件查办 records against a unit (保障措施 三): who (by role and
name), the facts, the cases they rest on, and the outcome. ::

    /accountability UNIT OUTCOME [NUMBER ...]
    人员：一把手 张某；窗口工作人员 李某        (optional line)
    the facts, on the following lines

    /accountability list [UNIT]

Records name public servants, never a complainant; they are on the audit trail.
"""

from __future__ import annotations

import re
from typing import Final

from telegram import Update

from bot.context import BotContext
from bot.dialogs.reporting import report_service
from bot.error_replies import error_text
from bot.handlers.join import find_unit
from bot.handlers.office.access import command_text, office_only
from bot.handlers.staff_ui import formatter
from bot.i18n import Html
from bot.replies import reply
from core.errors import DomainError, NotFound
from core.reports import AccountabilityOutcome, AccountabilityRecord, Person
from core.tracking import parse_tracking_no

_PEOPLE: Final = re.compile(r"^\s*(?:人员|people)\s*[:：]\s*(.*)$", re.IGNORECASE)
_LIST: Final = ("list", "ls", "列表", "查看")
_SHOWN: Final = 20


def _outcome(context: BotContext, word: str) -> AccountabilityOutcome | None:
    catalogue = context.deps.catalogue
    for outcome in AccountabilityOutcome:
        labels = {outcome.value, *(catalogue.t(lang, f"office.accountability_outcome.{outcome.value}")
                                   for lang in ("zh", "en"))}  # fmt: skip
        if word.casefold() in {label.casefold() for label in labels}:
            return outcome
    return None


def _people(text: str) -> list[Person]:
    out = []
    for part in re.split(r"[;；,，、]", text):
        words = part.split(maxsplit=1)
        if words:
            out.append(Person(words[0], words[1] if len(words) > 1 else ""))
    return out


@office_only
async def accountability_command(update: Update, context: BotContext, user_id: int, lang: str) -> None:
    deps = context.deps
    text = command_text(update)
    first, _, rest = text.partition("\n")
    words = first.split()
    usage = deps.catalogue.t(lang, "office.accountability_usage")
    service = report_service(deps)
    try:
        if words and words[0].casefold() in _LIST:
            unit_id = find_unit(deps.plan, " ".join(words[1:])) if len(words) > 1 else None
            records = await service.accountability(user_id, unit_id)
            await reply(update, context, _listing(context, lang, records))
            return
        unit_id = find_unit(deps.plan, words[0]) if words else None
        outcome = _outcome(context, words[1]) if len(words) > 1 else None
        lines = rest.splitlines()
        people: list[Person] = []
        if lines and (match := _PEOPLE.match(lines[0])):
            people, lines = _people(match.group(1)), lines[1:]
        facts = "\n".join(lines).strip()
        if unit_id is None or outcome is None or not facts:
            await reply(update, context, usage)
            return
        numbers = [str(parse_tracking_no(w[:40], lenient=True)) for w in words[2:]]
        record = await service.record_accountability(
            user_id, unit_id, outcome, facts, people=people, case_numbers=numbers
        )
    except NotFound as missing:
        number = missing.params.get("tracking_no")
        key = "office.accountability_no_case" if number else "office.case_not_found"
        await reply(update, context, deps.catalogue.t(lang, key, tracking_no=str(number or "")))
        return
    except DomainError as error:
        await reply(update, context, error_text(deps, lang, error))
        return
    await reply(
        update, context, deps.catalogue.t(lang, "office.accountability_recorded", record_id=record.id)
    )


def _listing(context: BotContext, lang: str, records: list[AccountabilityRecord]) -> str:
    fmt = formatter(context.deps, lang)
    if not records:
        return fmt.t("office.accountability_none")
    lines = [fmt.t("office.accountability_header", count=len(records))]
    for record in records[-_SHOWN:]:
        people = fmt.t("cases.list_separator").join(f"{p.role} {p.name}".strip() for p in record.people)
        lines.append(
            fmt.t(
                "office.accountability_item",
                record_id=record.id,
                unit=Html(fmt.units([record.unit_id])),
                outcome=fmt.t(f"office.accountability_outcome.{record.outcome.value}"),
                at=Html(fmt.format_datetime(record.recorded_at)),
                people=people or "—",
                cases=" ".join(record.case_numbers) or "—",
                facts=record.facts[:200],
            )
        )
    return "\n\n".join(lines)
