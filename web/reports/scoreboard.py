"""The scoreboard page (绩效评估, SPEC §6) and its chart.

The figures are the chat's ``/scoreboard``: ``storage.stats.StatsReader.scoreboard`` for the
same period, area and unit, drawn by ``bot.reports.charts.scoreboard_chart`` and printed with
the chat's own percentages (``Labels.rate``), so a unit's row reads the same on the page, in
the chat and in the workbook.

Who sees what: the office every unit; a liaison its own unit's row only (the scoreboard is the
basis of the year-end evaluation, and a unit may know where it stands, but not how the others
stand). The liaison's unit is taken from the session, never from the query string.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from bot.reports import charts
from bot.reports.labels import Labels
from core.stats import Ratio, Scoreboard, ScoreRow
from storage.stats import StatsReader
from web.reports.cache import TtlCache
from web.reports.common import ReportContext, filter_form
from web.reports.filters import ReportFilter

CACHE_SECONDS = 120.0  # figures shared for 2 minutes by the page, its chart and every viewer
# (a campaign-long one reads the per-day cache, storage/scoreboard_daily.py, when the bot's
# pass keeps it; without it, it aggregates every case: seconds at a million)

_boards: TtlCache[Scoreboard] = TtlCache(CACHE_SECONDS)
_charts: TtlCache[bytes] = TtlCache(CACHE_SECONDS)


@dataclass(frozen=True, slots=True)
class Cell:
    text: str
    num: bool = False  # right-aligned figure


def _rate(labels: Labels, r: Ratio) -> Cell:
    return Cell(labels.rate(r), num=True)


def _row(labels: Labels, row: ScoreRow) -> list[Cell]:
    """The chat's scoreboard line as table cells (bot.reports.text._score_line's figures)."""
    c = row.cases
    return [
        Cell(labels.unit(row.unit)),
        Cell(str(c.received), num=True),
        _rate(labels, c.sign_rate),
        _rate(labels, c.answer_rate),
        _rate(labels, c.satisfaction_rate),
        _rate(labels, c.reopen_rate),
        Cell(labels.p(f"scoreboard.self_report.{row.self_report.value}")),
        _rate(labels, row.rectification.on_time),
    ]


COLUMNS = (
    "unit", "received", "sign_rate", "answer_rate", "satisfaction_rate", "reopen_rate", "self_report",
    "rect_rate",
)  # fmt: skip


def _active(row: ScoreRow) -> bool:
    # the chat's rule (bot.reports.text._active): units with nothing this period are listed apart
    c = row.cases
    return bool(c.received or c.sign_due or c.answer_due or c.answered or row.rectification.recommendations)


async def board(ctx: ReportContext, flt: ReportFilter, campaign: str | None = None) -> Scoreboard:
    """The scoreboard of ``flt``, shared by the page and the chart for CACHE_SECONDS;
    ``campaign``: the viewer's (a street's office sees its own campaign's figures)."""
    today = ctx.today()
    key = (ctx.deps.settings.database_url, today, flt.period, flt.area, flt.unit, campaign)

    async def compute() -> Scoreboard:
        async with ctx.read_only() as session:
            reader = StatsReader(session, ctx.deps.services.deadlines, ctx.deps.plan, campaign=campaign)
            return await reader.scoreboard(flt.period, today, area=flt.area, unit=flt.unit)

    return await _boards.get(key, compute)


async def chart_png(ctx: ReportContext, flt: ReportFilter, lang: str, campaign: str | None = None) -> bytes:
    key = (ctx.deps.settings.database_url, ctx.today(), flt.period, flt.area, flt.unit, lang, campaign)

    async def draw() -> bytes:
        scoreboard = await board(ctx, flt, campaign)
        # matplotlib in a worker thread: the event loop keeps serving other requests
        return await asyncio.to_thread(charts.scoreboard_chart, scoreboard, ctx.labels(lang))

    return await _charts.get(key, draw)


async def page_context(
    ctx: ReportContext, flt: ReportFilter, lang: str, *, own_unit: bool, campaign: str | None = None
) -> dict[str, Any]:
    labels = ctx.labels(lang)
    scoreboard = await board(ctx, flt, campaign)
    active = [r for r in scoreboard.rows if _active(r)]
    quiet = [r for r in scoreboard.rows if not _active(r)]
    return {
        **filter_form(ctx, labels, flt, units=not own_unit),
        "labels": labels,
        "own_unit": own_unit,
        "columns": [labels.p(f"export.col.{c}") for c in COLUMNS],
        "rows": [_row(labels, r) for r in active],
        "quiet": [labels.unit(r.unit) for r in quiet],
        "quiet_text": labels.p(
            "scoreboard.quiet", count=len(quiet), units=labels.units(r.unit for r in quiet)
        )
        if quiet
        else "",
        "legend": labels.p("scoreboard.legend"),
        "chart_query": flt.query(),
    }


def clear_caches() -> None:
    """For tests: forget every cached scoreboard and chart."""
    _boards.clear()
    _charts.clear()
