"""/healthz, /readyz and /metrics on the web app (issue 15), in-process over ASGI on a migrated
SQLite database: ready once a pass is recorded, not ready with an old pending outbox row."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.context import Deps
from bot.i18n import Catalogue
from bot.wiring import make_deps
from core.clock import FixedClock
from core.outbox import OutboxMessage
from core.plan import Plan
from storage.health import record_pass_finished
from tests.support.harness import make_test_settings
from web.app import create_app


@pytest.fixture
async def deps(
    plan: Plan, clock: FixedClock, catalogue: Catalogue, migrated_sqlite_url: str
) -> AsyncIterator[Deps]:
    d = make_deps(make_test_settings(migrated_sqlite_url), plan, clock=clock, catalogue=catalogue)
    try:
        yield d
    finally:
        await d.aclose()


@pytest.fixture
async def client(deps: Deps) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(deps))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


async def pass_finished(deps: Deps, ago: timedelta = timedelta(0)) -> None:
    assert deps.session_factory is not None
    await record_pass_finished(deps.session_factory, "test", deps.clock.now() - ago)


async def queue(deps: Deps, age: timedelta) -> None:
    async with deps.uow() as uow:
        message = OutboxMessage(1001, "sendMessage", {"text": "x"}, created_at=deps.clock.now() - age)
        await uow.outbox.add(message)
        await uow.commit()


def checks(response: httpx.Response) -> dict[str, bool]:
    return {c["name"]: c["ok"] for c in response.json()["checks"]}


async def test_healthz_answers_without_a_session(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.text == "ok\n"


async def test_readyz_is_ready_with_a_recent_pass_and_a_young_outbox(
    client: httpx.AsyncClient, deps: Deps
) -> None:
    await pass_finished(deps, timedelta(minutes=2))
    await queue(deps, timedelta(minutes=1))
    response = await client.get("/readyz")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["ready"] is True
    assert checks(response) == {"database": True, "schema": True, "outbox": True, "periodic_pass": True}
    assert all(c["reason"] for c in body["checks"])


async def test_readyz_is_not_ready_when_the_outbox_has_an_old_pending_row(
    client: httpx.AsyncClient, deps: Deps
) -> None:
    await pass_finished(deps)
    await queue(deps, timedelta(hours=1))  # older than READY_OUTBOX_MAX_AGE_SECONDS (900)
    response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["ready"] is False
    assert checks(response) == {"database": True, "schema": True, "outbox": False, "periodic_pass": True}
    outbox = next(c for c in response.json()["checks"] if c["name"] == "outbox")
    assert "3600 s" in outbox["reason"]


async def test_readyz_is_not_ready_before_any_periodic_pass_and_after_a_stale_one(
    client: httpx.AsyncClient, deps: Deps
) -> None:
    assert (await client.get("/readyz")).status_code == 503
    await pass_finished(deps, timedelta(minutes=30))
    response = await client.get("/readyz")
    assert response.status_code == 503
    assert checks(response)["periodic_pass"] is False
    await pass_finished(deps)
    assert (await client.get("/readyz")).status_code == 200


async def test_a_real_pass_records_its_finish(client: httpx.AsyncClient, deps: Deps) -> None:
    await deps.services.periodic.run()
    response = await client.get("/readyz")
    assert checks(response)["periodic_pass"] is True, response.text


async def test_metrics_on_the_web_app_show_the_outbox_from_the_database(
    client: httpx.AsyncClient, deps: Deps
) -> None:
    await queue(deps, timedelta(minutes=5))
    await queue(deps, timedelta(minutes=1))
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples = {
        s.name: s.value
        for f in text_string_to_metric_families(response.text)
        for s in f.samples
        if not s.labels
    }
    assert samples["bot_outbox_pending"] == 2
    assert samples["bot_outbox_oldest_pending_seconds"] == pytest.approx(300)
