"""The dashboard's own pages (SPEC §9): sign-in, the case list, the case page with the office's
actions, the triage queue. ``routes(deps, pages)`` is what ``web.app.create_app`` mounts.

| path | who | what |
| --- | --- | --- |
| GET /login?token= | anyone with a link | the sign-in button (opening a link spends nothing) |
| POST /login | anyone with a link | spends the link, starts the session |
| POST /logout | staff | ends the session |
| GET /lang/{code} | anyone | the page language (a cookie) |
| GET /cases | staff | the list: the office all cases, a liaison its unit's |
| GET /cases/{no} | staff | the case: identity for the office only |
| GET /cases/{no}/files/{id} | staff | an evidence file, fetched from Telegram |
| POST /cases/{no}/{action} | office | route, reclassify, reject, extension, supervise |
| GET /triage | office | what waits for the office |
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bot.context import Deps
from web.dashboard import actions, cases, login, triage
from web.render import Pages


def routes(deps: Deps, pages: Pages) -> list[BaseRoute]:
    async def home(request: Request) -> Response:
        return RedirectResponse("/cases", status_code=303)

    case_pages = cases.CasePages(deps, pages)
    return [
        Route("/", home, name="home"),
        *login.routes(deps, pages),
        *case_pages.routes(),
        *actions.routes(deps, case_pages),
        *triage.routes(deps, pages),
    ]
