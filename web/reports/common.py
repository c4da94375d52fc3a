"""What every report page shares: the day (from the injected clock), the labels in the
viewer's language, the reports builder (``bot.reports.build.Reports``, the chat's own), the
read-only session factory and the filter form's choices."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.context import Deps
from bot.reports.build import Reports
from bot.reports.job import reports_for
from bot.reports.labels import Labels
from core.stats import PERIOD_WORDS, PeriodKind
from web.reports.filters import ReportFilter

PERIOD_CHOICES = (*PERIOD_WORDS, PeriodKind.RANGE.value)


@dataclass(frozen=True, slots=True)
class ReportContext:
    deps: Deps
    reports: Reports
    read_only: async_sessionmaker[AsyncSession]

    @classmethod
    def of(cls, deps: Deps) -> ReportContext:
        reports = reports_for(deps)  # raises when deps has no database: a wiring mistake
        return cls(deps, reports, reports.session_factory)  # read-only already

    def today(self) -> date:
        return self.deps.services.deadlines.local_date(self.deps.clock.now())

    def labels(self, lang: str) -> Labels:
        return self.reports.labels(lang)


def filter_form(
    ctx: ReportContext, labels: Labels, flt: ReportFilter, *, units: bool = True
) -> dict[str, Any]:
    """The template values of the period/area/unit form (choices in the plan's order)."""
    plan = ctx.deps.plan
    return {
        "flt": flt,
        "period_choices": [(w, labels.p(f"web.reports.period_word.{w}")) for w in PERIOD_CHOICES],
        "area_choices": [(a.id, labels.area(a.id)) for a in plan.areas],
        "unit_choices": [(u.id, labels.unit(u.id)) for u in plan.units] if units else [],
        "period_label": labels.period(flt.period),
    }
