"""The report pages' filters from a query string: period, area, unit (the same grammar as the
chat's ``/scoreboard`` and ``/export`` arguments, ``core.stats.parse_period``).

A value the page's own form never sends (an unknown area, a malformed date) is not an error
page: it is dropped, the default stands and the page says what was ignored, so a stale
bookmark still opens.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import urlencode

from core.plan import Plan, UnknownPlanId
from core.stats import Period, PeriodKind, parse_period

MAX_ECHOED = 40  # characters of an ignored value shown back


@dataclass(frozen=True, slots=True)
class ReportFilter:
    period: Period
    period_word: str  # the choice in the form: a PERIOD_WORDS entry, or "range"
    area: str | None = None
    unit: str | None = None
    ignored: tuple[str, ...] = field(default=())  # values dropped, as typed (shortened)

    def query(self, **override: str | None) -> str:
        """The query string that reproduces this filter (for links: chart, exports, paging)."""
        values: dict[str, str | None] = {
            "period": self.period_word,
            "from": self.period.first.isoformat() if self.period_word == PeriodKind.RANGE else None,
            "to": self.period.last.isoformat() if self.period_word == PeriodKind.RANGE else None,
            "area": self.area,
            "unit": self.unit,
        }
        values.update(override)
        return urlencode({k: v for k, v in values.items() if v})


def _short(text: str) -> str:
    return text if len(text) <= MAX_ECHOED else text[: MAX_ECHOED - 1] + "…"


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


def parse_filter(
    params: Mapping[str, str],
    *,
    plan: Plan,
    today: date,
    default: str = PeriodKind.CAMPAIGN.value,
    unit_allowed: bool = True,
) -> ReportFilter:
    """``period`` (a word or ``YYYY-MM-DD[..YYYY-MM-DD]``), or ``from``/``to`` dates with
    ``period=range``; ``area`` (an area id); ``unit`` (a unit id) when ``unit_allowed``."""
    ignored: list[str] = []
    given = (params.get("period") or "").strip()
    word = given or default
    first, last = _date(params.get("from") or ""), _date(params.get("to") or "")
    period: Period | None = None
    # dates without a period word (a hand-made link) mean those dates
    if word == PeriodKind.RANGE.value or (not given and (first or last)):
        if first or last:
            start, end = first or last, last or first
            assert start is not None and end is not None
            if start > end:
                start, end = end, start  # a range typed backwards means the same days
            period, word = Period(start, end, PeriodKind.RANGE), PeriodKind.RANGE.value
        else:
            ignored.append(_short(word))
    else:
        try:
            period = parse_period(word, today, plan.start)
        except ValueError:
            ignored.append(_short(word))
        else:
            if period.kind is PeriodKind.RANGE:  # a date or range typed into ``period``
                word = PeriodKind.RANGE.value
    if period is None:
        word = default
        period = parse_period(default, today, plan.start)
    area = (params.get("area") or "").strip() or None
    if area is not None and area not in {a.id for a in plan.areas}:
        ignored.append(_short(area))
        area = None
    unit = (params.get("unit") or "").strip() or None
    if unit is not None:
        try:
            unit = plan.unit(unit).id
        except UnknownPlanId:
            ignored.append(_short(unit))
            unit = None
        if not unit_allowed:
            unit = None
    return ReportFilter(period, word, area, unit, tuple(ignored))
