"""The Open311 GeoReport v2 API (SPEC §9): a 12345 hotline or a city portal files and reads
cases of the campaign through the same services as the bot.

    GET  /open311/v2/services.json          the plan's task areas
    GET  /open311/v2/requests.json          citizens' cases, public fields only, filtered, paged
    GET  /open311/v2/requests/{id}.json     one case by its tracking number
    POST /open311/v2/requests.json          file a case (api_key issued by the office)

Each also answers in XML (``.xml``). ``web.app`` mounts ``routes(deps)`` beside the dashboard's.
Keys: ``/apikey`` in the bot, ``python -m bot apikey`` on the server (core.services.api_keys).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bot.context import Deps
from web.open311.views import Open311Api, View, _lang, _plain
from web.open311.wire import Format, Open311Error, render

log = logging.getLogger(__name__)
PREFIX = "/open311/v2"

Endpoint = Callable[[Request], Coroutine[Any, Any, Response]]


def routes(deps: Deps) -> list[BaseRoute]:
    api = Open311Api(deps)
    table: list[tuple[str, View, list[str]]] = [
        ("/services", api.services, ["GET"]),
        ("/requests", api.list_requests, ["GET"]),
        ("/requests", api.file_request, ["POST"]),
        ("/requests/{id}", api.one_request, ["GET"]),
    ]
    # GET and POST of requests.json are two routes on one path; Starlette tries them in order
    # and answers 405 only if none has the method.
    return [
        Route(f"{PREFIX}{path}.{fmt.value}", _endpoint(deps, view, fmt), methods=methods)
        for path, view, methods in table
        for fmt in Format
    ]


def _endpoint(deps: Deps, view: View, fmt: Format) -> Endpoint:
    """``view`` for one format, its refusals rendered as Open311 error arrays; an unexpected
    failure is logged and answered as one too, never as a traceback."""

    @functools.wraps(view)
    async def endpoint(request: Request) -> Response:
        try:
            return await view(request, fmt)
        except Open311Error as error:
            return _error(deps, request, fmt, error.status, error.key, error.params, error.headers)
        except Exception:
            log.exception("open311 %s %s failed", request.method, request.url.path)
            return _error(deps, request, fmt, 500, "invalid", {}, {})

    return endpoint


def _error(
    deps: Deps,
    request: Request,
    fmt: Format,
    status: int,
    key: str,
    params: dict[str, Any],
    headers: dict[str, str],
) -> Response:
    description = _plain(deps, _lang(request), f"web.open311.error.{key}", **params)
    return render(
        "errors", [{"code": status, "description": description}], fmt, status=status, headers=headers
    )
