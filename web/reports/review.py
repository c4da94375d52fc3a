"""The review and acceptance page (复核检查 and 验收, issue 14; office only, read-only): per
unit whether it was inspected, its findings by severity (and how many became a 整改建议书), and
its acceptance as it stands; the campaign's acceptance as a whole. The same figures as the
chat's ``/review_status`` (core.services.review), read on the read-only connection. A street's
or township's office sees its own units only."""

from __future__ import annotations

from typing import Any

from core.campaigns import campaign_by_id
from core.review import FindingSeverity, campaign_blockers, latest_acceptance
from storage.repositories.review import SqlReviewRepository
from web.reports.common import ReportContext


async def page_context(ctx: ReportContext, lang: str, campaign: str | None = None) -> dict[str, Any]:
    labels = ctx.labels(lang)
    plan = ctx.deps.plan
    units = [u.id for u in plan.units]
    sub = campaign_by_id(plan.sub_campaigns, campaign) if campaign else None
    if sub is not None:
        units = [u for u in units if u in sub.unit_ids]
    async with ctx.read_only() as session:
        repo = SqlReviewRepository(session)
        inspections = await repo.list_inspections()
        findings = await repo.list_findings()
        decided = latest_acceptance(await repo.list_unit_acceptances())
        whole = await repo.latest_campaign_acceptance()
    rows = []
    for unit_id in units:
        own = [f for f in findings if f.unit_id == unit_id]
        acceptance = decided.get(unit_id)
        if acceptance is None:
            state = labels.p("review.status_not_decided")
        else:
            state = labels.p("review.status_accepted" if acceptance.accepted else "review.status_refused")
        rows.append(
            {
                "unit": labels.unit(unit_id),
                "inspections": sum(1 for i in inspections if unit_id in i.unit_ids),
                "findings": len(own),
                **{s.value: sum(1 for f in own if f.severity is s) for s in FindingSeverity},
                "rectified": sum(1 for f in own if f.recommendation_id is not None),
                "acceptance": state,
                "note": acceptance.note if acceptance is not None else "",
            }
        )
    blockers = campaign_blockers(units, {u: a.accepted for u, a in decided.items()})
    if whole is not None:
        at = labels.local(whole.decided_at) or whole.decided_at
        summary = labels.p("web.reports.review.campaign_accepted", date=labels.date(at.date()))
    else:
        summary = labels.p("web.reports.review.campaign_open", count=len(blockers))
    return {
        "labels": labels,
        "rows": rows,
        "severities": [labels.p(f"review.severity_{s.value}") for s in FindingSeverity],
        "severity_keys": [s.value for s in FindingSeverity],
        "summary": summary,
        "inspections": len(inspections),
    }
