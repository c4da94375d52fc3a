"""``/healthz``, ``/readyz`` and ``/metrics`` (issue 15, SPEC §9): the routes, shared by the web
app (``web.health``) and the bot's own small listener (HEALTH_HOST:HEALTH_PORT).

python-telegram-bot's ``run_webhook`` owns its tornado server and ``run_polling`` has none, so
the bot serves these on a separate uvicorn server, started as a task in the Application's
post_init and stopped when it shuts down (a closer on the deps). No session, no CSRF: they
show no case and accept no input.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot.metrics import CONTENT_TYPE, metrics_for
from core.health import Limits, Readiness, Readings, assess
from storage.health import take_readings

log = logging.getLogger(__name__)


def limits_of(settings: Any) -> Limits:
    return Limits(
        outbox_max_age=timedelta(seconds=settings.ready_outbox_max_age_seconds),
        pass_max_age=timedelta(seconds=settings.ready_pass_max_age_seconds),
    )


async def readiness(deps: Any) -> Readiness:
    now = deps.clock.now()
    if deps.session_factory is None:
        readings = Readings(now=now, database_error="no database configured")
    else:
        readings = await take_readings(deps.session_factory, now)
    return assess(readings, limits_of(deps.settings))


def routes(deps: Any) -> list[Route]:
    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok\n")

    async def readyz(request: Request) -> Response:
        result = await readiness(deps)
        return JSONResponse(result.as_dict(), status_code=200 if result.ready else 503)

    async def metrics(request: Request) -> Response:
        return Response(await metrics_for(deps).scrape(), media_type=CONTENT_TYPE)

    return [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]


class HealthServer:
    """A uvicorn server for ``routes(deps)`` in this event loop."""

    def __init__(self, deps: Any, host: str, port: int) -> None:
        config = uvicorn.Config(
            Starlette(routes=routes(deps)), host=host, port=port, log_level="warning", lifespan="off"
        )
        self.server = uvicorn.Server(config)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self.server.serve(), name="health-server")
        for _ in range(200):  # until it listens (or failed to)
            if self.server.started or self._task.done():
                break
            await asyncio.sleep(0.01)
        if self._task.done():
            self._task.result()  # a port in use: say so at start, not never
        log.info("health listener on %s:%s", self.server.config.host, self.server.config.port)

    async def stop(self) -> None:
        if self._task is None:
            return
        self.server.should_exit = True
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await asyncio.wait_for(self._task, timeout=5)
        self._task = None


async def start_health_server(deps: Any) -> HealthServer | None:
    """Start the listener when HEALTH_PORT is set; it stops with ``deps.aclose()``."""
    settings = deps.settings
    if settings.health_port is None:
        return None
    server = HealthServer(deps, settings.health_host, settings.health_port)
    await server.start()
    deps.closers.append(server.stop)  # closers run last first: before the engine is disposed
    return server
