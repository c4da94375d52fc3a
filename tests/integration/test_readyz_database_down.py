"""/readyz turns not ready when the database goes away and ready again when it is back
(issue 15). The shared PostgreSQL server is never stopped (others use it): the app reaches it
through a small TCP proxy on 127.0.0.1 that the test closes and reopens."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.engine import make_url

from bot.i18n import Catalogue
from bot.wiring import make_deps
from core.clock import FixedClock
from core.plan import Plan
from storage.db import make_engine, make_session_factory
from storage.health import record_pass_finished
from tests.support.harness import make_test_settings
from web.app import create_app


class TcpProxy:
    """127.0.0.1:<port> → target; ``close`` drops the listener and every connection."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def open(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.close()
        self._writers.clear()
        await self._server.wait_closed()
        self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self._writers.update((writer, up_writer))

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(Exception):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._writers.difference_update((writer, up_writer))


@pytest.fixture
async def proxy(migrated_pg_url: str) -> AsyncIterator[TcpProxy]:
    url = make_url(migrated_pg_url)
    p = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    await p.open()
    try:
        yield p
    finally:
        if p._server is not None:
            await p.close()


async def test_readyz_follows_the_database_going_away_and_coming_back(
    proxy: TcpProxy, migrated_pg_url: str, plan: Plan, clock: FixedClock, catalogue: Catalogue
) -> None:
    engine = make_engine(migrated_pg_url)
    try:
        await record_pass_finished(make_session_factory(engine), "test", clock.now())
    finally:
        await engine.dispose()
    proxied = (
        make_url(migrated_pg_url).set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    )
    deps = make_deps(make_test_settings(proxied), plan, clock=clock, catalogue=catalogue)
    transport = httpx.ASGITransport(app=create_app(deps))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            first = await client.get("/readyz")
            assert first.status_code == 200, first.text

            await proxy.close()  # the database "stops"
            down = await asyncio.wait_for(client.get("/readyz"), timeout=30)
            assert down.status_code == 503
            database = down.json()["checks"][0]
            assert database["name"] == "database" and database["ok"] is False
            assert "unreachable" in database["reason"]
            assert (await client.get("/healthz")).status_code == 200  # the process still answers

            await proxy.open()  # and is back, on the same port
            back = await asyncio.wait_for(client.get("/readyz"), timeout=30)
            assert back.status_code == 200, back.text
    finally:
        await deps.aclose()
