"""The dashboard's pages: one Jinja2 environment over web/templates, autoescaped, with what
every page needs (the viewer, the labels in their language, the CSRF token, the navigation).

Texts come from the bot's catalogues (keys under ``web.``), so the dashboard speaks the bot's
Chinese and English; catalogue texts are Telegram HTML and are turned into plain text here,
then escaped by Jinja like any other value.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from bot.case_view import CaseFormatter
from bot.context import Deps
from bot.reports.labels import Labels, plain
from web.security import LANGS, Viewer

TEMPLATES = Path(__file__).parent / "templates"


def make_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(TEMPLATES))
    templates.env.filters["plain"] = plain
    templates.env.trim_blocks = True
    templates.env.lstrip_blocks = True
    return templates


def labels_for(deps: Deps, lang: str) -> Labels:
    return Labels(deps.catalogue, deps.plan, lang, deps.clock.tz)


def today(deps: Deps) -> date:
    return deps.services.deadlines.local_date(deps.clock.now())


def formatter(deps: Deps, lang: str) -> CaseFormatter:
    return CaseFormatter(deps.catalogue, deps.plan, lang, deps.clock.tz, deps.services.deadlines, today(deps))


class Pages:
    """Renders a page for a viewer (or for nobody: the sign-in pages)."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self.templates = make_templates()

    def render(
        self,
        request: Request,
        viewer: Viewer | None,
        name: str,
        values: dict[str, Any] | None = None,
        *,
        lang: str | None = None,
        status: int = 200,
    ) -> Response:
        lang = viewer.lang if viewer is not None else (lang or LANGS[0])
        labels = labels_for(self.deps, lang)
        fmt = formatter(self.deps, lang)
        context: dict[str, Any] = {
            "viewer": viewer,
            "office": viewer.office if viewer else False,
            "labels": labels,
            "t": labels.p,
            "fmt": fmt,
            "when": lambda at: plain(fmt.format_datetime(at)) if isinstance(at, datetime) else "",
            "day": lambda d: plain(fmt.format_date(d)) if isinstance(d, date) else "",
            "lang": lang,
            "other_langs": [code for code in LANGS if code != lang],
            "csrf": viewer.csrf if viewer else "",
            "unit_name": labels.unit(viewer.unit_id) if viewer and viewer.unit_id else "",
            **(values or {}),
        }
        return self.templates.TemplateResponse(request, name, context, status_code=status)
