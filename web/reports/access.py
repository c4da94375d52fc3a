"""The report pages' view of web.security: who is looking, and the page rendered for them by
the dashboard's own renderer (``web.render.Pages``, kept on the app's state)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from bot.context import Deps
from web.render import Pages
from web.security import Viewer, require_office, require_staff

__all__ = ["Viewer", "office_viewer", "render", "staff_viewer"]


async def staff_viewer(request: Request, deps: Deps) -> Viewer:
    return await require_staff(request, deps)


async def office_viewer(request: Request, deps: Deps) -> Viewer:
    return await require_office(request, deps)


def render(request: Request, viewer: Viewer, name: str, values: dict[str, Any]) -> Response:
    pages: Pages = request.app.state.pages
    return pages.render(request, viewer, name, values)
