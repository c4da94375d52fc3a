"""What the report dialogs (self-inspection, rectification) and the campaign commands share:
the report service built from ``Deps``, dates and unit names in the reader's language, a
Telegram document as a report file and its limits, and a domain error in the section's words.

It sits beside the dialogs and below the handlers: ``bot.handlers.campaign`` and the dialogs
both import it, and it imports neither, so the arrows point one way.
"""

from __future__ import annotations

import contextlib
from datetime import date

from telegram import Document

from bot.case_view import format_day
from bot.context import Deps
from bot.i18n import Catalogue, Html, escape
from core.errors import DomainError, ValidationFailed
from core.plan import Plan, UnknownPlanId
from core.services.reports import MAX_REPORT_FILE_BYTES, ReportFile, ReportService
from core.text import strip_controls


def report_service(deps: Deps) -> ReportService:
    """Cheap to build (no state): one per use."""
    return ReportService(
        uow=deps.uow,
        plan=deps.plan,
        clock=deps.clock,
        working_days=deps.services.working_days,
        office_chat_id=deps.settings.office_chat_id,
        office_admin_ids=deps.settings.office_admin_ids,
    )


# a date as the case views show it (``cases.date``: 2026年11月30日（周一）): one formatter for both
format_date = format_day


def unit_label(plan: Plan, lang: str, unit_id: str) -> str:
    try:
        unit = plan.unit(unit_id)
    except UnknownPlanId:
        return unit_id  # a unit dropped from the plan since: its id still says which
    return (unit.name_en or unit.name) if lang == "en" else unit.name


def report_file(document: Document) -> ReportFile:
    return ReportFile(
        file_id=document.file_id,
        file_unique_id=document.file_unique_id,
        mime=document.mime_type,
        size=document.file_size,
        file_name=strip_controls(document.file_name) if document.file_name else None,
    )


def file_limits(catalogue: Catalogue, lang: str) -> str:
    """What the formal report may be, told before it is asked for."""
    return catalogue.t(lang, "self_inspection.file_limits", limit_mb=MAX_REPORT_FILE_BYTES >> 20)


def error_text(catalogue: Catalogue, lang: str, error: DomainError, section: str) -> str:
    """A domain error in words: the section's text for the field or reason when there is one
    (``self_inspection.invalid_inspected_above_total``...), else the error's own text."""
    params = {k: v for k, v in error.params.items() if isinstance(v, str | int)}
    candidates: list[str] = []
    if isinstance(error, ValidationFailed):
        field, reason = params.get("field"), params.get("reason")
        candidates += [f"{section}.invalid_{field}_{reason}", f"{section}.invalid_{field}"]
    reason = params.get("reason")
    if reason is not None:
        candidates.append(f"{section}.refused_{reason}")
    candidates.append(error.key)
    for name, value in list(params.items()):
        # ISO dates (``due_date``) are also offered formatted, without the suffix (``{due}``)
        if name.endswith("_date") and isinstance(value, str):
            with contextlib.suppress(ValueError):
                day = date.fromisoformat(value)
                params[name.removesuffix("_date")] = Html(escape(format_date(catalogue, lang, day)))
    for key in candidates:
        if catalogue.has(key, lang) or catalogue.has(key):
            return catalogue.t(lang, key, **params)
    return catalogue.t(lang, "error.domain")


def resolve_unit(plan: Plan, text: str) -> str | None:
    """A unit id, or a unit's name or alias as typed (区财政局, 财政局)."""
    wanted = text.strip()
    for unit in plan.units:
        if wanted == unit.id or wanted in unit.names or wanted.casefold() == unit.name_en.casefold():
            return unit.id
    return None
