"""Chart images for the digests and the scoreboard (PNG, matplotlib's Agg renderer, headless).

Chinese labels need a CJK font: the Makefile installs Debian's ``fonts-noto-cjk``
(``NotoSansCJK-Regular.ttc``). ``cjk_font`` finds it through matplotlib's font manager (also
when it was installed after matplotlib built its font cache); without one the charts are still
drawn, with a warning in the log, and Chinese shows as boxes.

Figures are built with ``matplotlib.figure.Figure`` on an Agg canvas, never through pyplot's
global figure manager, so rendering in a worker thread is safe; the font settings are applied
in an ``rc_context`` under a lock.
"""

from __future__ import annotations

import io
import logging
import textwrap
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from matplotlib import font_manager, rc_context
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from bot.reports.labels import Labels
from core.cases import Satisfaction
from core.stats import DailyDigest, DeliveryStatus, Ratio, Scoreboard, SelfReportStatus, WeeklyDigest

log = logging.getLogger(__name__)

# Preferred families, Simplified Chinese first; the file names catch fonts matplotlib's cache
# does not know yet.
CJK_FAMILIES = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Noto Sans CJK JP",
    "Noto Sans CJK TC",
    "Noto Serif CJK SC",
)
CJK_FILE_HINTS = ("NotoSansCJK", "NotoSansSC", "SourceHanSans", "wqy-zenhei", "wqy-microhei", "NotoSerifCJK")
KNOWN_FONT_FILES = (
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
)

RED, YELLOW, BLUE = "#d62728", "#f2b705", "#1f77b4"
GREY, GREEN = "#9e9e9e", "#2ca02c"
DPI = 110
_RENDER_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """The family name of an installed CJK font, or None (logged once)."""
    known = {f.name for f in font_manager.fontManager.ttflist}
    for family in CJK_FAMILIES:
        if family in known:
            return family
    candidates = [str(p) for p in KNOWN_FONT_FILES if p.exists()]
    candidates += [
        f for f in font_manager.findSystemFonts() if any(h in Path(f).name for h in CJK_FILE_HINTS)
    ]
    for path in candidates:
        try:
            font_manager.fontManager.addfont(path)
            name: str = font_manager.FontProperties(fname=path).get_name()
        except Exception:  # a broken font file must not stop the digest
            log.debug("cannot load font %s", path, exc_info=True)
            continue
        return name
    log.warning(
        "no CJK font found: chart labels in Chinese will show as boxes. "
        "Install one (Debian: apt-get install fonts-noto-cjk; `make setup` does it as root)."
    )
    return None


@contextmanager
def _style() -> Iterator[None]:
    family = cjk_font()
    sans = [family, "DejaVu Sans"] if family else ["DejaVu Sans"]
    with (
        _RENDER_LOCK,
        rc_context({"font.family": "sans-serif", "font.sans-serif": sans, "axes.unicode_minus": False}),
    ):
        yield


def _png(draw: Callable[[Figure], None], size: tuple[float, float]) -> bytes:
    with _style():
        fig = Figure(figsize=size, dpi=DPI, layout="constrained")
        FigureCanvasAgg(fig)
        draw(fig)
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
    return buf.getvalue()


def _wrap(label: str, width: int = 9) -> str:
    # CJK text has no spaces: wrap by characters
    return "\n".join(textwrap.wrap(label, width, break_long_words=True)) or label


def _empty(ax: Axes, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", color=GREY, transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])


def _percent(r: Ratio) -> float:
    return 100 * (r.rate or 0.0)


# -- daily ----------------------------------------------------------------------------------------


def daily_chart(digest: DailyDigest, labels: Labels) -> bytes:
    """New cases by area (left) and warnings by lead unit (right)."""

    def draw(fig: Figure) -> None:
        fig.suptitle(labels.p("digest.daily_chart_title", date=labels.date(digest.today)))
        left, right = fig.subplots(1, 2, width_ratios=(1, 1.3))
        left.set_title(labels.p("digest.chart_new", period=labels.period(digest.period)))
        if digest.new_total:
            # every area of the plan, with its zero: a quiet area is news too
            found = {c.key: c.count for c in digest.new_by_area}
            keys: list[str | None] = [a.id for a in labels.plan.areas]
            keys += [k for k in found if k not in keys]
            names = [_wrap(labels.area(k), 10) for k in keys]
            counts = [found.get(k, 0) for k in keys]
            y = list(range(len(counts)))[::-1]
            bars = left.barh(y, counts, color=BLUE)
            left.bar_label(bars, padding=2)
            left.set_yticks(y, names, fontsize=8)
            left.set_xlabel(labels.p("digest.chart_cases"))
            left.xaxis.set_major_locator(MaxNLocator(integer=True))
        else:
            _empty(left, labels.p("digest.none"))
        right.set_title(labels.p("digest.chart_warnings"))
        units = digest.warnings_by_unit[:12]
        if units:
            y = list(range(len(units)))[::-1]
            red = [u.warnings.red for u in units]
            yellow = [u.warnings.yellow for u in units]
            blue = [u.warnings.blue for u in units]
            right.barh(y, red, color=RED, label=labels.p("digest.colour_red"))
            right.barh(y, yellow, left=red, color=YELLOW, label=labels.p("digest.colour_yellow"))
            right.barh(
                y, blue, left=[r + w for r, w in zip(red, yellow, strict=True)], color=BLUE,
                label=labels.p("digest.colour_blue"),
            )  # fmt: skip
            right.set_yticks(y, [_wrap(labels.unit(u.unit), 12) for u in units], fontsize=8)
            right.legend(fontsize=8, loc="lower right")
            right.xaxis.set_major_locator(MaxNLocator(integer=True))
        else:
            _empty(right, labels.p("digest.none"))

    return _png(draw, (11, 5))


# -- weekly ---------------------------------------------------------------------------------------


def weekly_chart(digest: WeeklyDigest, labels: Labels) -> bytes:
    """Trend, satisfaction, on-time rates per unit, self-reports and rectification."""

    def draw(fig: Figure) -> None:
        fig.suptitle(labels.p("digest.weekly_chart_title", period=labels.period(digest.period)))
        (trend, sat), (rates, reports) = fig.subplots(2, 2)
        _trend(trend, digest, labels)
        _satisfaction(sat, digest, labels)
        _unit_rates(rates, digest.scoreboard, labels, limit=10)
        _reports(reports, digest, labels)

    return _png(draw, (12, 9))


def _trend(ax: Axes, digest: WeeklyDigest, labels: Labels) -> None:
    weekdays = labels.p("cases.weekdays").split()
    days = digest.period.dates()
    ticks = (
        [weekdays[d.weekday()] for d in days]
        if digest.period.days == 7 and len(weekdays) == 7
        else [f"{d.month}/{d.day}" for d in days]
    )
    x = list(range(len(days)))
    ax.plot(x, digest.trend.per_day, marker="o", color=BLUE, label=labels.p("digest.chart_this_period"))
    ax.plot(
        x, digest.trend.previous_per_day, marker="o", linestyle="--", color=GREY,
        label=labels.p("digest.chart_previous_period"),
    )  # fmt: skip
    step = max(1, len(x) // 14)
    ax.set_xticks(x[::step], ticks[::step], fontsize=8)
    ax.set_title(labels.p("digest.chart_trend"))
    ax.set_ylabel(labels.p("digest.chart_cases"))
    ax.set_ylim(bottom=0)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(fontsize=8)


def _satisfaction(ax: Axes, digest: WeeklyDigest, labels: Labels) -> None:
    t = digest.totals
    ax.set_title(labels.p("digest.chart_satisfaction", rate=labels.rate(t.satisfaction_rate)))
    values = [t.satisfied, t.basically, t.unsatisfied, t.no_response, t.pending]
    if not any(values):
        _empty(ax, labels.p("digest.none"))
        return
    names = [labels.p(f"cases.satisfaction.{s.value}") for s in Satisfaction] + [labels.p("digest.pending")]
    colours = [GREEN, "#98df8a", RED, GREY, "#dddddd"]
    bars = ax.bar(range(len(values)), values, color=colours)
    ax.bar_label(bars)
    ax.set_xticks(range(len(values)), names, fontsize=9)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))


def _unit_rates(ax: Axes, board: Scoreboard, labels: Labels, *, limit: int) -> None:
    rows = [r for r in board.rows if r.cases.sign_due or r.cases.answer_due or r.cases.rated][:limit]
    ax.set_title(labels.p("digest.chart_rates"))
    if not rows:
        _empty(ax, labels.p("digest.none"))
        return
    y = list(range(len(rows)))[::-1]
    height = 0.27
    series = (
        (labels.p("scoreboard.chart_sign"), [_percent(r.cases.sign_rate) for r in rows], GREY),
        (labels.p("scoreboard.chart_answer"), [_percent(r.cases.answer_rate) for r in rows], BLUE),
        (
            labels.p("scoreboard.chart_satisfaction"),
            [_percent(r.cases.satisfaction_rate) for r in rows],
            GREEN,
        ),
    )
    for i, (name, values, colour) in enumerate(series):
        ax.barh([v + (1 - i) * height for v in y], values, height=height, color=colour, label=name)
    ax.set_yticks(y, [_wrap(labels.unit(r.unit), 12) for r in rows], fontsize=8)
    ax.set_xlim(0, 100)
    ax.set_xlabel("%")
    ax.legend(fontsize=7, loc="lower right")


def _reports(ax: Axes, digest: WeeklyDigest, labels: Labels) -> None:
    ax.set_title(labels.p("digest.chart_reports"))
    cov = digest.self_reports
    on_time = len(cov.with_status(SelfReportStatus.ON_TIME))
    late = len(cov.with_status(SelfReportStatus.LATE))
    missing = len(cov.units) - on_time - late
    rect = digest.rectification
    delivered = [
        sum(c.get(s, 0) for c in (rect.plans, rect.reports))
        for s in (DeliveryStatus.ON_TIME, DeliveryStatus.LATE, DeliveryStatus.OVERDUE, DeliveryStatus.PENDING)
    ]
    rows = [labels.p("digest.chart_self_reports"), labels.p("digest.chart_rectification")]
    segments = (
        (labels.p("digest.chart_on_time"), [on_time, delivered[0]], GREEN),
        (labels.p("digest.chart_late"), [late, delivered[1]], YELLOW),
        (labels.p("digest.chart_missing"), [missing, delivered[2]], RED),
        (labels.p("digest.chart_not_due"), [0, delivered[3]], GREY),
    )
    if not cov.units and not rect.recommendations:
        _empty(ax, labels.p("digest.none"))
        return
    left = [0, 0]
    for name, values, colour in segments:
        ax.barh([1, 0], values, left=left, color=colour, label=name)
        left = [a + b for a, b in zip(left, values, strict=True)]
    ax.set_yticks([1, 0], rows, fontsize=9)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(fontsize=7, loc="lower right")


# -- scoreboard ----------------------------------------------------------------------------------


def scoreboard_chart(board: Scoreboard, labels: Labels) -> bytes:
    """On-time sign-for, on-time answer and satisfaction per unit."""
    rows = [
        r for r in board.rows if r.cases.received or r.cases.sign_due or r.cases.answer_due or r.cases.rated
    ]
    height = max(4.0, 0.45 * len(rows) + 1.5)

    def draw(fig: Figure) -> None:
        ax = fig.subplots()
        fig.suptitle(labels.p("scoreboard.chart_title", period=labels.period(board.period)))
        if rows:
            _unit_rates(ax, Scoreboard(board.period, board.today, tuple(rows)), labels, limit=len(rows))
            ax.set_title("")
        else:
            _empty(ax, labels.p("digest.none"))

    return _png(draw, (10, height))
