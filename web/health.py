"""``/healthz``, ``/readyz`` and ``/metrics`` on the web app (issue 15): the same routes as the
bot's health listener (``bot.health_server``)."""

from __future__ import annotations

from starlette.routing import Route

from bot.context import Deps
from bot.health_server import routes as health_routes


def routes(deps: Deps) -> list[Route]:
    return health_routes(deps)
