"""The triage queue: what waits for the office, oldest first (``OfficeService.triage_queue``):
cases to route, returned cases, extension and reopen requests. Each row opens the case page,
where the office acts."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bot.context import Deps
from bot.reports.labels import plain
from core.errors import PermissionDenied
from web.render import Pages, formatter, labels_for
from web.security import require_office, staff_error


def routes(deps: Deps, pages: Pages) -> list[BaseRoute]:
    async def triage_page(request: Request) -> Response:
        viewer = await require_office(request, deps)
        try:
            queue = await deps.services.office.triage_queue(viewer.user_id)
        except PermissionDenied as denied:
            raise staff_error(denied) from None
        labels = labels_for(deps, viewer.lang)
        fmt = formatter(deps, viewer.lang)
        rows = []
        for item in queue.items:
            reason = item.reason
            if item.reason_key and deps.catalogue.has(item.reason_key):
                reason = labels.p(item.reason_key)
            rows.append(
                {
                    "item": item,
                    "kind": labels.p(f"web.triage.kind_{item.kind.value}"),
                    "state": plain(fmt.state(item.case.state)),
                    "suggested": labels.area(item.suggested_area) if item.suggested_area else "",
                    "units": labels.units(item.units) if item.units else "",
                    "reason": reason,
                }
            )
        return pages.render(request, viewer, "dashboard/triage.html", {"rows": rows, "active": "triage"})

    return [Route("/triage", triage_page, name="triage")]
