"""Names and numbers as the reports print them, in one language: units and areas from the
plan, states and ratings from the catalogue, dates, percentages.

Two forms of each text: ``html`` for Telegram messages (the catalogue's texts are HTML, with
parameters escaped) and ``plain`` for chart labels, spreadsheet cells and CSV.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, tzinfo

from bot.case_view import area_label, unit_name
from bot.i18n import Catalogue, Html
from core.plan import Plan
from core.stats import Period, Ratio

_TAG = re.compile(r"<[^>]+>")


def plain(text: str) -> str:
    """HTML as plain text: tags dropped, entities decoded."""
    return html.unescape(_TAG.sub("", text))


@dataclass(frozen=True, slots=True)
class Labels:
    catalogue: Catalogue
    plan: Plan
    lang: str
    tz: tzinfo

    def t(self, key: str, /, **params: object) -> str:
        """The catalogue text (HTML)."""
        return self.catalogue.t(self.lang, key, **params)

    def p(self, key: str, /, **params: object) -> str:
        """The catalogue text as plain text."""
        return plain(self.t(key, **params))

    def h(self, key: str, /, **params: object) -> Html:
        """The catalogue text, marked as safe HTML to nest in another text."""
        return Html(self.t(key, **params))

    # -- plan names (plain text) ---------------------------------------------------------------

    def unit(self, unit_id: str | None) -> str:
        if unit_id is None:
            return self.p("digest.unassigned")
        return unit_name(self.plan, self.lang, unit_id)

    def units(self, unit_ids: Iterable[str]) -> str:
        return self.p("cases.list_separator").join(self.unit(u) for u in unit_ids)

    def area(self, area_id: str | None) -> str:
        if area_id is None:
            return self.p("digest.unclassified")
        return plain(area_label(self.plan, self.catalogue, self.lang, area_id))

    # -- values --------------------------------------------------------------------------------

    def date(self, day: date) -> str:
        return self.p("digest.date", year=day.year, month=day.month, day=day.day)

    def period(self, period: Period) -> str:
        if period.first == period.last:
            return self.date(period.first)
        return self.p("digest.period", first=self.date(period.first), last=self.date(period.last))

    def local(self, at: datetime | None) -> datetime | None:
        """A timestamp as local wall-clock time without a zone (what spreadsheets can hold)."""
        return at.astimezone(self.tz).replace(tzinfo=None) if at is not None else None

    @staticmethod
    def percent(value: float | None) -> str:
        return "—" if value is None else f"{round(value * 100)}%"

    def rate(self, ratio: Ratio) -> str:
        """``50%（3/6）``, or a dash when there is nothing to rate."""
        if ratio.rate is None:
            return self.p("stats.rate_none")
        return self.p("stats.rate", percent=round(ratio.rate * 100), num=ratio.num, den=ratio.den)
