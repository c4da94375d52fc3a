"""The office's web dashboard as one ASGI app (``python -m bot web``): the dashboard's pages,
the report pages, the Open311 API, and the static files they need, all served by the app
itself (offices run on closed networks: no CDN).

Every feature module exposes ``routes(deps)``; this module puts them together with the error
pages and the security headers (web.security).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from bot.context import Deps
from web import dashboard, health, open311, reports
from web.render import Pages
from web.security import CsrfFailed, Forbidden, SecurityHeaders, SignInRequired, request_lang

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"


def create_app(deps: Deps, *, close_deps: bool = False) -> Starlette:
    """The app over ``deps``; with ``close_deps`` it disposes them (the engine) when the
    server shuts down (``python -m bot web``; tests close their own)."""
    pages = Pages(deps)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            if close_deps:
                await deps.aclose()

    async def sign_in_required(request: Request, exc: Exception) -> Response:
        return pages.render(request, None, "sign_in_required.html", lang=request_lang(request), status=401)

    async def forbidden(request: Request, exc: Exception) -> Response:
        viewer = exc.viewer if isinstance(exc, Forbidden) else None
        lang = viewer.lang if viewer is not None else request_lang(request)
        return pages.render(request, viewer, "error.html", {"key": "web.error.forbidden"},
                            lang=lang, status=403)  # fmt: skip

    async def csrf_failed(request: Request, exc: Exception) -> Response:
        return pages.render(request, None, "error.html", {"key": "web.error.csrf"},
                            lang=request_lang(request), status=403)  # fmt: skip

    async def http_error(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        key = {404: "web.error.not_found", 405: "web.error.method"}.get(status, "web.error.other")
        return pages.render(
            request, None, "error.html", {"key": key}, lang=request_lang(request), status=status
        )

    async def server_error(request: Request, exc: Exception) -> Response:
        log.exception("dashboard %s %s failed", request.method, request.url.path, exc_info=exc)
        return pages.render(request, None, "error.html", {"key": "web.error.other"},
                            lang=request_lang(request), status=500)  # fmt: skip

    routes = [
        *dashboard.routes(deps, pages),
        *reports.routes(deps),
        *open311.routes(deps),
        *health.routes(deps),  # issue 15: /healthz /readyz /metrics
        Mount("/static", StaticFiles(directory=str(STATIC)), name="static"),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[Middleware(SecurityHeaders, hsts=deps.settings.web_cookie_secure)],
        exception_handlers={
            SignInRequired: sign_in_required,
            Forbidden: forbidden,
            CsrfFailed: csrf_failed,
            HTTPException: http_error,
            Exception: server_error,
        },
    )
    app.state.deps = deps
    app.state.pages = pages  # web.reports.access renders through it
    return app
