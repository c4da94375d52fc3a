"""The good practices and long-term measures page (推介典型 and 长效机制, issue 14; office only,
read-only): every practice the office recorded (unit, title, whether and when it was shared,
who recommended it) and every unit's measures (due date, progress, whether the 制度 document is
in). The same records as the chat's ``/practices`` and ``/measures``, read on the read-only
connection. A street's or township's office sees its own units only, as on the review page."""

from __future__ import annotations

from typing import Any

from core.campaigns import campaign_by_id
from core.measures import MeasureStatus, is_overdue
from storage.repositories.practices import SqlPracticeRepository
from web.reports.common import ReportContext


async def page_context(ctx: ReportContext, lang: str, campaign: str | None = None) -> dict[str, Any]:
    labels = ctx.labels(lang)
    plan = ctx.deps.plan
    sub = campaign_by_id(plan.sub_campaigns, campaign) if campaign else None
    units = sub.unit_ids if sub is not None else None  # None: the district's office, every unit
    async with ctx.read_only() as session:
        repo = SqlPracticeRepository(session)
        practices = [p for p in await repo.list_practices() if units is None or p.unit_id in units]
        measures = [m for m in await repo.list_measures() if units is None or m.unit_id in units]
    today, wd = ctx.today(), ctx.deps.services.deadlines.wd

    def day(at: Any) -> str:
        local = labels.local(at)
        return labels.date(local.date()) if local is not None else ""

    practice_rows = [
        {
            "id": p.id,
            "unit": labels.unit(p.unit_id),
            "title": p.title,
            "shared": p.shared_at is not None,
            "state": labels.p("web.reports.practices.shared" if p.shared_at else "practices.not_shared"),
            "recorded": day(p.recorded_at),
            "shared_at": day(p.shared_at),
            # an office member's Telegram id, as the audit trail names them (never a citizen's)
            "recorded_by": p.recorded_by if p.recorded_by is not None else "",
        }
        for p in practices
    ]
    measure_rows = []
    for m in measures:
        late = is_overdue(m, today, wd)
        measure_rows.append(
            {
                "id": m.id,
                "unit": labels.unit(m.unit_id),
                "title": m.title,
                "due": labels.date(m.due),
                "status": m.status.value,
                "state": labels.p(f"practices.status.{m.status.value}"),
                "overdue": late,
                "evidence": (
                    labels.p("web.reports.practices.evidence_yes", count=len(m.evidence))
                    if m.evidence
                    else labels.p("web.reports.practices.evidence_no")
                ),
            }
        )
    return {
        "labels": labels,
        "practices": practice_rows,
        "measures": measure_rows,
        "practices_summary": labels.p(
            "web.reports.practices.practices_summary",
            count=len(practices),
            shared=sum(1 for p in practices if p.shared_at is not None),
        ),
        "measures_summary": labels.p(
            "web.reports.practices.measures_summary",
            count=len(measures),
            done=sum(1 for m in measures if m.status is MeasureStatus.DONE),
            overdue=sum(1 for r in measure_rows if r["overdue"]),
        ),
    }
