"""The campaign page's chart (PNG): cases received per week by their state, and answer
deadlines per week by how they ended (the three colours over time).

Drawn through ``bot.reports.charts``' own renderer (its CJK font, lock and DPI), so the
dashboard's images look like the digests' in the chat; the scoreboard's chart is
``bot.reports.charts.scoreboard_chart`` itself.
"""

from __future__ import annotations

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from bot.reports import charts
from bot.reports.labels import Labels
from core.campaign_view import CampaignProgress, DeadlineOutcome, WeeklySeries

STATE_COLOURS = {
    "submitted": "#c7c7c7",
    "triage": "#9e9e9e",
    "assigned": "#aec7e8",
    "signed": charts.BLUE,
    "extension_requested": "#9467bd",
    "answered": "#98df8a",
    "returned": "#ff9896",
    "reopened": "#ff7f0e",
    "closed": charts.GREEN,
    "rejected": "#7f7f7f",
}
OUTCOME_COLOURS = {
    DeadlineOutcome.ON_TIME.value: charts.GREEN,
    DeadlineOutcome.LATE.value: charts.YELLOW,
    DeadlineOutcome.OVERDUE.value: charts.RED,
    DeadlineOutcome.RUNNING.value: charts.GREY,
}


def _stacked(
    ax: Axes, series: WeeklySeries, colours: dict[str, str], name: dict[str, str], labels: Labels
) -> None:
    if series.empty:
        charts._empty(ax, labels.p("digest.none"))
        return
    x = list(range(len(series.weeks)))
    bottom = [0] * len(x)
    for key in series.keys:
        values = list(series.values.get(key, ()))
        if not any(values):
            continue  # a state no case is in: no legend entry either
        ax.bar(x, values, bottom=bottom, color=colours.get(key, charts.GREY), label=name[key], width=0.85)
        bottom = [a + b for a, b in zip(bottom, values, strict=True)]
    step = max(1, len(x) // 12)
    ax.set_xticks(x[::step], [f"{w.month}/{w.day}" for w in series.weeks[::step]], fontsize=8)
    if len(series.weeks) > 1 and series.weeks[0].year != series.weeks[-1].year:
        ax.set_xlabel(f"{series.weeks[0].year}–{series.weeks[-1].year}", fontsize=8)
    ax.set_ylabel(labels.p("digest.chart_cases"))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(fontsize=7, loc="upper left", ncols=2)


def progress_chart(progress: CampaignProgress, labels: Labels) -> bytes:
    """Two panels, one above the other, sharing the weeks of the page's period."""
    states = {k: labels.p(f"state.{k}") for k in progress.received.keys}
    outcomes = {k: labels.p(f"web.reports.outcome.{k}") for k in progress.deadlines.keys}

    def draw(fig: Figure) -> None:
        fig.suptitle(labels.p("web.reports.progress_chart_title", period=labels.period(progress.period)))
        top, bottom = fig.subplots(2, 1)
        top.set_title(labels.p("web.reports.chart_received_by_state"), fontsize=10)
        _stacked(top, progress.received, STATE_COLOURS, states, labels)
        bottom.set_title(labels.p("web.reports.chart_deadlines"), fontsize=10)
        _stacked(bottom, progress.deadlines, OUTCOME_COLOURS, outcomes, labels)

    return charts._png(draw, (11, 7.5))
