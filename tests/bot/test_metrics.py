"""/metrics after a complaint filed through the real Application (issue 15): the update
counter, the latency histogram, the outbox series and the sender's counters move; labels carry
no user id, phone or text. Also the bot's own health listener on a real port."""

from __future__ import annotations

import socket
from collections.abc import Iterable
from datetime import timedelta

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from telegram.ext import CommandHandler

from bot.context import BotContext
from bot.dialogs.complaint import SUMMARY
from bot.health_server import routes, start_health_server
from bot.metrics import Metrics, metrics_for
from core.outbox import OutboxMessage
from storage.health import record_pass_finished
from tests.bot.conftest import HarnessFactory
from tests.bot.test_complaint_dialog import Citizen, register_liaison
from tests.support.harness import BotHarness
from tests.support.recording_request import ApiError
from tests.support.updates import ZH_USER

# the dialog's conversation_timeout needs a running JobQueue, which the harness does not start
pytestmark = pytest.mark.filterwarnings(
    "ignore:Ignoring `conversation_timeout`:telegram.warnings.PTBUserWarning",
    "ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning",
)
LIAISON = 200_001
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(h: BotHarness) -> tuple[str, Samples]:
    app = Starlette(routes=routes(h.deps))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bot") as client:
        response = await client.get("/metrics")
    assert response.status_code == 200
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return response.text, samples


def total(samples: Samples, name: str, **labels: str) -> float:
    want = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and want <= set(ls))


def label_values(samples: Iterable[tuple[str, tuple[tuple[str, str], ...]]]) -> set[str]:
    return {value for _, labels in samples for _, value in labels}


async def test_filing_a_complaint_moves_the_update_latency_and_outbox_series(
    harness_factory: HarnessFactory,
) -> None:
    async with harness_factory(metrics_cache_seconds=0) as h:
        await register_liaison(h, LIAISON, "organs_work_committee")
        _, before = await scrape(h)
        assert total(before, "bot_updates_total") == 0
        assert total(before, "bot_outbox_pending") == 0

        citizen = Citizen(h)
        await citizen.to(SUMMARY)  # /new, then every step the happy way
        await citizen.press("submit")
        assert "ZH-2026-000001" in h.last_text()

        text, after = await scrape(h)
        updates = total(after, "bot_updates_total")
        assert updates >= 10  # every message and button of the dialog
        assert total(after, "bot_updates_total", kind="message", outcome="ok") >= 5
        assert total(after, "bot_updates_total", kind="callback_query", outcome="ok") >= 2
        assert total(after, "bot_update_seconds_count") == updates
        assert total(after, "bot_update_seconds_sum") > 0
        assert total(after, "bot_update_seconds_bucket", kind="message", le="+Inf") >= 5
        assert total(after, "bot_outbox_pending") >= 1  # the liaison's notice
        assert total(after, "bot_cases", state="assigned") == 1
        assert total(after, "bot_cases_running_by_colour") == 1
        # nobody's id, phone or words in a label
        values = label_values(after)
        assert str(ZH_USER.id) not in text and str(LIAISON) not in text
        assert not any("玩手机" in v or v.isdigit() for v in values if v not in ("+Inf",)), values

        # the sender: one 429, then sent
        h.request.fail("sendMessage", ApiError(429, "Too Many Requests", retry_after=1), times=1)
        assert h.deps.sender is not None
        for _ in range(4):
            h.clock.advance(timedelta(seconds=5))
            await h.deps.sender.drain_once()
        _, drained = await scrape(h)
        assert total(drained, "bot_telegram_retry_after_total") == 1
        assert total(drained, "bot_outbox_sends_total", outcome="retried") == 1
        assert total(drained, "bot_outbox_sends_total", outcome="sent") >= 1
        assert total(drained, "bot_outbox_pending") == 0


async def test_an_update_whose_handler_fails_is_counted_as_an_error(harness: BotHarness) -> None:
    async def boom(update: object, context: BotContext) -> None:
        raise RuntimeError("boom")

    harness.app.add_handler(CommandHandler("boomtest", boom), group=-99)
    await harness.command(ZH_USER, "boomtest")
    metrics = metrics_for(harness.deps)
    assert metrics.updates.labels("message", "error")._value.get() == 1


async def test_database_figures_are_cached_between_scrapes(harness: BotHarness) -> None:
    moments = iter([0.0, 1.0, 10.0])
    assert harness.deps.session_factory is not None
    metrics = Metrics(
        session_factory=harness.deps.session_factory,
        now=harness.clock.now,
        cache_seconds=5,
        monotonic=lambda: next(moments),
    )
    await metrics.refresh()  # read at 0
    async with harness.deps.uow() as uow:
        await uow.outbox.add(OutboxMessage(1, "sendMessage", {"text": "x"}, created_at=harness.clock.now()))
        await uow.commit()
    await metrics.refresh()  # 1 s later: cached
    assert metrics.outbox_depth._value.get() == 0
    await metrics.refresh()  # 10 s later: read again
    assert metrics.outbox_depth._value.get() == 1


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_the_bots_health_listener_serves_the_three_endpoints(harness_factory: HarnessFactory) -> None:
    port = free_port()
    async with harness_factory(health_port=port) as h:  # post_init started it
        assert h.deps.session_factory is not None
        await record_pass_finished(h.deps.session_factory, "test", h.clock.now())
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            assert (await client.get("/healthz")).text == "ok\n"
            ready = await client.get("/readyz")
            assert ready.status_code == 200, ready.text
            assert ready.json()["ready"] is True
            assert "bot_updates_total" in (await client.get("/metrics")).text
    with socket.socket() as s:  # stopped with the application
        assert s.connect_ex(("127.0.0.1", port)) != 0


async def test_no_listener_without_health_port(harness: BotHarness) -> None:
    assert await start_health_server(harness.deps) is None
