"""The campaign's progress page (SPEC §2 phases, §5 self-inspection and rectification, §6):
where the plan stands, which units have reported, and the cases over time with a chart.

Office only: it lists every unit's reporting status. The figures it shares with the weekly
digest (coverage, rectification, the colours) come from the same ``storage.stats`` queries.
"""

from __future__ import annotations

import asyncio
from typing import Any

from bot.reports.labels import Labels
from core.campaign_view import CampaignProgress, DeadlineOutcome
from core.reports import RecommendationStatus
from core.stats import DeliveryStatus, Period, Ratio, SelfReportStatus
from storage.campaign_view import ProgressReader
from web.reports import charts
from web.reports.cache import TtlCache
from web.reports.common import ReportContext, filter_form
from web.reports.filters import ReportFilter

CACHE_SECONDS = 120.0

_progress: TtlCache[CampaignProgress] = TtlCache(CACHE_SECONDS)
_charts: TtlCache[bytes] = TtlCache(CACHE_SECONDS)


async def progress(ctx: ReportContext, flt: ReportFilter) -> CampaignProgress:
    today = ctx.today()
    key = (ctx.deps.settings.database_url, today, flt.period)

    async def compute() -> CampaignProgress:
        async with ctx.read_only() as session:
            reader = ProgressReader(session, ctx.deps.services.deadlines, ctx.deps.plan)
            return await reader.progress(flt.period, today)

    return await _progress.get(key, compute)


async def chart_png(ctx: ReportContext, flt: ReportFilter, lang: str) -> bytes:
    key = (ctx.deps.settings.database_url, ctx.today(), flt.period, lang)

    async def draw() -> bytes:
        data = await progress(ctx, flt)
        return await asyncio.to_thread(charts.progress_chart, data, ctx.labels(lang))

    return await _charts.get(key, draw)


def _name(labels: Labels, zh: str, en: str) -> str:
    return (en or zh) if labels.lang == "en" else zh


def _percent(labels: Labels, r: Ratio) -> str:
    return labels.rate(r)


async def page_context(ctx: ReportContext, flt: ReportFilter, lang: str) -> dict[str, Any]:
    labels = ctx.labels(lang)
    data = await progress(ctx, flt)
    cov = data.self_reports
    rect = data.rectification
    phases = [
        {
            "number": p.number,
            "name": _name(labels, p.name, p.name_en),
            "dates": labels.period(Period(p.start, p.end)),
            "status": p.status,
            "status_text": labels.p(f"web.reports.phase_state.{p.status}"),
            "days_left": labels.p("web.reports.days_left", days=p.days_left)
            if p.days_left is not None
            else "",
            "opened_early": p.opened_early,
            "deliverables": [
                (_name(labels, zh, en), labels.date(due) if due else "") for zh, en, due in p.deliverables
            ],
        }
        for p in data.phases
    ]
    filed = cov.coverage
    target = round((data.coverage_target or 1.0) * 100)
    missing = [
        labels.unit(u.unit) for u in cov.with_status(SelfReportStatus.MISSING, SelfReportStatus.PENDING)
    ]
    delivery = [
        (labels.p(f"digest.chart_{s}"), rect.plans.get(d, 0), rect.reports.get(d, 0))
        for s, d in (
            ("on_time", DeliveryStatus.ON_TIME),
            ("late", DeliveryStatus.LATE),
            ("missing", DeliveryStatus.OVERDUE),
            ("not_due", DeliveryStatus.PENDING),
        )
    ]
    w = data.warnings
    return {
        **filter_form(ctx, labels, flt, units=False),
        "labels": labels,
        "phases": phases,
        "coverage_text": labels.p(
            "web.reports.self_report_coverage", filed=filed.num, total=filed.den, target=target
        ),
        "coverage_rate": _percent(labels, filed),
        "coverage_share": round(100 * (filed.rate or 0)),
        "on_time_rate": _percent(labels, cov.on_time),
        "inspected_rate": _percent(labels, cov.inspected_share),
        "missing": missing,
        "missing_text": labels.p("cases.list_separator").join(missing),
        "recommendations": rect.recommendations,
        "rec_by_status": [
            (labels.p(f"export.col.rec_{s.value}"), rect.by_status.get(s, 0)) for s in RecommendationStatus
        ],
        "delivery": delivery,
        "rect_rate": _percent(labels, rect.on_time),
        "warnings": [
            ("red", labels.p("digest.colour_red"), w.red),
            ("yellow", labels.p("digest.colour_yellow"), w.yellow),
            ("blue", labels.p("digest.colour_blue"), w.blue),
            ("", labels.p("export.col.supervised"), w.supervised),
            ("", labels.p("export.col.escalated"), w.escalated),
        ],
        "states": [(labels.p(f"state.{s}"), n) for s, n in data.states_now.items()],
        "received_total": data.received_total,
        "deadline_totals": [
            (labels.p(f"web.reports.outcome.{o.value}"), data.deadlines.total(o.value))
            for o in DeadlineOutcome
        ],
        "chart_query": flt.query(area=None, unit=None),
    }


def clear_caches() -> None:
    _progress.clear()
    _charts.clear()
