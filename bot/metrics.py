"""Prometheus metrics (issue 15): one ``Metrics`` per application, on its own registry, so
tests and several apps in one process never clash. Served at ``/metrics`` (web app and the
bot's health listener, ``bot.health_server``).

Labels are kinds, outcomes, states and colours: never a user id, a phone or a case's text.
The database figures (outbox depth and age, cases by state and colour) are read on a scrape
at most every ``METRICS_CACHE_SECONDS``, so scraping stays cheap.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import Update
from telegram.ext import Application

from bot.log_json import log_context
from core.deadlines import CaseDeadlines, DeadlineRules
from core.states import CaseState
from storage import health as readings

CONTENT_TYPE = CONTENT_TYPE_LATEST
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass(slots=True)
class _UpdateScope:
    kind: str
    failed: bool = False


_scope: contextvars.ContextVar[_UpdateScope | None] = contextvars.ContextVar("metrics_update", default=None)


def update_kind(update: object) -> str:
    """``message``, ``callback_query``, ...: the Update field that is set (no content)."""
    if isinstance(update, Update):
        for kind in Update.ALL_TYPES:
            if getattr(update, kind, None) is not None:
                return kind
        return "other"
    return type(update).__name__.lower()


def mark_update_failed() -> None:
    """The update being processed in this task reached the error handler."""
    scope = _scope.get()
    if scope is not None:
        scope.failed = True


class Metrics:
    def __init__(
        self,
        *,
        session_factory: async_sessionmaker[AsyncSession] | None = None,
        deadlines: DeadlineRules | None = None,
        now: Callable[[], datetime] | None = None,
        cache_seconds: float = 5.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.updates = Counter(
            "bot_updates", "Updates handled, by kind and outcome", ["kind", "outcome"], registry=r
        )
        self.latency = Histogram(
            "bot_update_seconds", "Time to handle one update", ["kind"], buckets=LATENCY_BUCKETS, registry=r
        )
        self.sends = Counter("bot_outbox_sends", "Outbox messages tried, by outcome", ["outcome"], registry=r)
        self.retry_after = Counter(
            "bot_telegram_retry_after", "Telegram's 429 answers (RetryAfter)", registry=r
        )
        self.pass_seconds = Histogram(
            "bot_periodic_pass_seconds", "Duration of the periodic passes this process ran", registry=r
        )
        self.pass_errors = Counter(
            "bot_periodic_pass_errors", "Steps of periodic passes that failed", registry=r
        )
        self.outbox_depth = Gauge("bot_outbox_pending", "Pending outbox messages (database)", registry=r)
        self.outbox_age = Gauge(
            "bot_outbox_oldest_pending_seconds",
            "Age of the oldest pending outbox message (database)",
            registry=r,
        )
        self.cases_state = Gauge("bot_cases", "Cases by state (database)", ["state"], registry=r)
        self.cases_colour = Gauge(
            "bot_cases_running_by_colour", "Running cases by warning colour (DB)", ["colour"], registry=r
        )
        self.evidence = Counter(
            "bot_evidence_fetch", "Attachments the evidence fetch tried, by outcome", ["outcome"], registry=r
        )
        self.scrape_errors = Counter(
            "bot_metrics_database_errors", "Scrapes whose database read failed", registry=r
        )
        self._factory = session_factory
        self._deadlines = deadlines
        self._now = now
        self._cache_seconds = cache_seconds
        self._monotonic = monotonic
        self._read_at: float | None = None
        self._lock = asyncio.Lock()

    # -- recorded as things happen -----------------------------------------------------------

    @contextlib.contextmanager
    def update_scope(self, update: object) -> Iterator[None]:
        scope = _UpdateScope(update_kind(update))
        token = _scope.set(scope)
        started = time.perf_counter()
        outcome = "ok"
        try:
            yield
        except BaseException:
            outcome = "error"
            raise
        finally:
            _scope.reset(token)
            if scope.failed:
                outcome = "error"
            self.latency.labels(scope.kind).observe(time.perf_counter() - started)
            self.updates.labels(scope.kind, outcome).inc()

    def sent(self, event: str) -> None:
        """The outbox sender's hook: an ``Outcome`` value, or ``retry_after`` for a 429."""
        if event == "retry_after":
            self.retry_after.inc()
        else:
            self.sends.labels(event).inc()

    def evidence_fetched(self, fetched: int, retry: int, gave_up: int, dropped: int) -> None:
        """One run of the evidence fetch (bot.evidence_fetch): how its claimed rows ended."""
        outcomes = {"fetched": fetched, "retry": retry, "gave_up": gave_up, "dropped": dropped}
        for outcome, n in outcomes.items():
            if n:
                self.evidence.labels(outcome).inc(n)

    def periodic_pass(self, seconds: float, errors: int) -> None:
        self.pass_seconds.observe(seconds)
        if errors:
            self.pass_errors.inc(errors)

    # -- read on a scrape ----------------------------------------------------------------------

    async def refresh(self) -> None:
        """Read the database figures unless read within the cache period."""
        if self._factory is None or self._now is None:
            return
        async with self._lock:
            moment = self._monotonic()
            if self._read_at is not None and moment - self._read_at < self._cache_seconds:
                return
            try:
                await self._read(self._factory, self._now())
            except Exception:
                self.scrape_errors.inc()
            self._read_at = moment

    async def _read(self, factory: async_sessionmaker[AsyncSession], now: datetime) -> None:
        async with factory() as session:
            depth = await readings.outbox_depth(session)
            oldest = await readings.oldest_pending_outbox(session)
            states = await readings.cases_by_state(session)
            running = await readings.running_deadlines(session) if self._deadlines is not None else {}
        self.outbox_depth.set(depth)
        self.outbox_age.set(max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0)
        self.cases_state.clear()
        for state, n in states.items():
            self.cases_state.labels(state).set(n)
        self.cases_colour.clear()
        if self._deadlines is not None:
            colours: dict[str, int] = {}
            today = self._deadlines.local_date(now)
            for (state, sign_due, answer_due), n in running.items():
                if answer_due is None:
                    continue
                colour = self._deadlines.case_colour(
                    CaseState(state),
                    CaseDeadlines(sign_due=sign_due or answer_due, answer_due=answer_due),
                    today,
                )
                colours[colour.value] = colours.get(colour.value, 0) + n
            for colour_name, n in colours.items():
                self.cases_colour.labels(colour_name).set(n)

    async def scrape(self) -> bytes:
        await self.refresh()
        return generate_latest(self.registry)


def metrics_for(deps: Any) -> Metrics:
    """The deps' ``Metrics``, made on first use (one per deps: the bot and the web app of
    one process share it)."""
    existing = getattr(deps, "metrics", None)
    if isinstance(existing, Metrics):
        return existing
    services = getattr(deps, "services", None)
    periodic = getattr(services, "periodic", None)
    metrics = Metrics(
        session_factory=deps.session_factory,
        deadlines=getattr(periodic, "deadlines", None),
        now=deps.clock.now,
        cache_seconds=deps.settings.metrics_cache_seconds,
    )
    deps.metrics = metrics
    return metrics


class MeteredApplication(Application):
    """The Application, each update counted and timed (``bot_updates``, ``bot_update_seconds``)
    and its id in the logs' context (``bot.log_json``). An update whose handler raised reaches
    ``process_error`` in the same task, which marks it failed."""

    async def process_update(self, update: object) -> None:
        deps = getattr(self.bot_data, "_deps", None)
        if deps is None:
            await super().process_update(update)
            return
        update_id = update.update_id if isinstance(update, Update) else None
        with metrics_for(deps).update_scope(update), log_context(update_id=update_id):
            await super().process_update(update)

    async def process_error(
        self, update: object | None, error: Exception, job: Any = None, coroutine: Any = None
    ) -> bool:
        if job is None:
            mark_update_failed()
        return await super().process_error(update, error, job, coroutine)
