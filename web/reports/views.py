"""The report routes: check the viewer, parse the filters, build the page's values (the
modules beside this one) and render, or send the image or file.

| path | who | what |
| --- | --- | --- |
| /reports/scoreboard | office; a liaison (own unit's row) | 绩效评估 table, filters |
| /reports/scoreboard.png | as the page | its chart (PNG, cached with the figures) |
| /reports/progress | office | phases, reports' coverage, cases over time |
| /reports/progress.png | office | its chart |
| /reports/exports | office | the export form |
| /reports/export | office | the download (XLSX or one CSV) |
| /reports/audit | office | the audit-trail viewer |
| /reports/classifier | office | the classifier report: confusion matrix, phrases (issue 14) |
| /reports/classifier.xlsx | office | its workbook (the chat's /classifier document) |
| /reports/review | office | review inspections and acceptance per unit (issue 14) |
| /reports/practices | office | good practices and long-term measures (issue 14) |
"""

from __future__ import annotations

from typing import Any

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Route

from bot.context import Deps
from bot.reports.tables import XLSX_MIME
from web.reports import audit, exports, progress, scoreboard
from web.reports import classifier as classifier_report  # issue 14
from web.reports import practices as practices_report  # issue 14: 推介典型, 长效机制
from web.reports import review as review_report  # issue 14: 复核检查, 验收
from web.reports.access import Viewer, office_viewer, render, staff_viewer
from web.reports.common import ReportContext, filter_form
from web.reports.downloads import content_disposition
from web.reports.filters import parse_filter

PNG_CACHE = "private, max-age=120"  # as long as the figures behind it are cached


def routes(deps: Deps) -> list[BaseRoute]:
    ctx = ReportContext.of(deps)

    def page(viewer: Viewer, request: Request, name: str, values: dict[str, Any], active: str) -> Response:
        return render(request, viewer, f"reports/{name}.html", {**values, "active": active,
                                                                "office": viewer.office})  # fmt: skip

    async def scoreboard_page(request: Request) -> Response:
        viewer = await staff_viewer(request, deps)
        flt = _filter(ctx, request, viewer)
        values = await scoreboard.page_context(
            ctx, flt, viewer.lang, own_unit=not viewer.office, campaign=viewer.campaign
        )
        return page(viewer, request, "scoreboard", values, "scoreboard")

    async def scoreboard_chart(request: Request) -> Response:
        viewer = await staff_viewer(request, deps)
        png = await scoreboard.chart_png(ctx, _filter(ctx, request, viewer), viewer.lang, viewer.campaign)
        return Response(png, media_type="image/png", headers={"Cache-Control": PNG_CACHE})

    async def progress_page(request: Request) -> Response:
        viewer = await office_viewer(request, deps)
        flt = _filter(ctx, request, viewer)
        values = await progress.page_context(ctx, flt, viewer.lang)
        return page(viewer, request, "progress", values, "progress")

    async def progress_chart(request: Request) -> Response:
        viewer = await office_viewer(request, deps)
        png = await progress.chart_png(ctx, _filter(ctx, request, viewer), viewer.lang)
        return Response(png, media_type="image/png", headers={"Cache-Control": PNG_CACHE})

    def exports_values(viewer: Viewer, request: Request) -> dict[str, Any]:
        labels = ctx.labels(viewer.lang)
        flt = _filter(ctx, request, viewer)
        formats = [(f.value, labels.p(f"web.reports.format_{f.value}")) for f in exports.ExportFormat]
        return {**filter_form(ctx, labels, flt), "labels": labels, "formats": formats}

    async def exports_page(request: Request) -> Response:
        viewer = await office_viewer(request, deps)
        return page(viewer, request, "exports", exports_values(viewer, request), "exports")

    async def export_download(request: Request) -> Response:
        viewer = await office_viewer(request, deps)
        flt = _filter(ctx, request, viewer)
        try:
            fmt = exports.ExportFormat(request.query_params.get("format") or exports.ExportFormat.XLSX.value)
        except ValueError:
            fmt = exports.ExportFormat.XLSX
        try:
            download = await exports.make_download(ctx, flt, fmt, viewer.lang, viewer.campaign)
        except exports.ExportTooLarge as too_large:
            labels = ctx.labels(viewer.lang)
            values = exports_values(viewer, request)
            values["too_large"] = labels.p(
                "web.reports.export_too_large", rows=too_large.rows, max=too_large.limit
            )
            response = page(viewer, request, "exports", values, "exports")
            response.status_code = 413
            return response
        return FileResponse(
            download.path,
            media_type=download.mime,
            headers={
                "Content-Disposition": content_disposition(download.name),
                "Cache-Control": "no-store",  # a case export never sits in a shared cache
            },
            background=BackgroundTask(download.cleanup),
        )

    async def audit_page(request: Request) -> Response:
        viewer = await office_viewer(request, deps)
        query = audit.parse_query(request.query_params)
        values = await audit.page_context(ctx, query, ctx.labels(viewer.lang))
        return page(viewer, request, "audit", values, "audit")

    # the classifier report (issue 14): office only
    async def classifier_page(request: Request) -> Response:
        viewer = await office_viewer(request, deps)
        flt = _filter(ctx, request, viewer)
        values = await classifier_report.page_context(ctx, flt, viewer.lang, viewer.campaign)
        return page(viewer, request, "classifier", values, "classifier")

    async def classifier_download(request: Request) -> Response:
        viewer = await office_viewer(request, deps)
        flt = _filter(ctx, request, viewer)
        name, data = await classifier_report.download(ctx, flt, viewer.lang, viewer.campaign)
        headers = {"Content-Disposition": content_disposition(name), "Cache-Control": "no-store"}
        return Response(data, media_type=XLSX_MIME, headers=headers)

    # review inspections and acceptance (issue 14): office only, read-only
    async def review_page(request: Request) -> Response:
        viewer = await office_viewer(request, deps)
        values = await review_report.page_context(ctx, viewer.lang, viewer.campaign)
        return page(viewer, request, "review", values, "review")

    # good practices and long-term measures (issue 14): office only, read-only
    async def practices_page(request: Request) -> Response:
        viewer = await office_viewer(request, deps)
        values = await practices_report.page_context(ctx, viewer.lang, viewer.campaign)
        return page(viewer, request, "practices", values, "practices")

    return [
        Route("/reports/review", review_page, name="reports_review"),  # issue 14
        Route("/reports/practices", practices_page, name="reports_practices"),  # issue 14
        Route("/reports/scoreboard", scoreboard_page, name="reports_scoreboard"),
        Route("/reports/scoreboard.png", scoreboard_chart, name="reports_scoreboard_chart"),
        Route("/reports/progress", progress_page, name="reports_progress"),
        Route("/reports/progress.png", progress_chart, name="reports_progress_chart"),
        Route("/reports/exports", exports_page, name="reports_exports"),
        Route("/reports/export", export_download, name="reports_export_download"),
        Route("/reports/audit", audit_page, name="reports_audit"),
        Route("/reports/classifier", classifier_page, name="reports_classifier"),
        Route("/reports/classifier.xlsx", classifier_download, name="reports_classifier_download"),
    ]


def _filter(ctx: ReportContext, request: Request, viewer: Viewer) -> Any:
    flt = parse_filter(
        request.query_params, plan=ctx.deps.plan, today=ctx.today(), unit_allowed=viewer.office
    )
    if not viewer.office:
        # a liaison's scoreboard is its own unit's row, whatever the query string says
        from dataclasses import replace

        flt = replace(flt, unit=viewer.unit_id)
    return flt
