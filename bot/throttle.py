"""Per-user flood control (issue 12, SPEC §10 "floods"): at most ``THROTTLE_MESSAGES`` updates
from one user in any ``THROTTLE_WINDOW_SECONDS``. The first update over the limit gets one
polite "slow down"; the rest are dropped before anything reads the database: no language
lookup, no roles, no dialog state.

It runs as the very first handler group (``THROTTLE_GROUP``, registered in
``bot.app.register_handlers``): a ``TypeHandler`` that returns for updates it lets through
and raises ``ApplicationHandlerStop`` for the ones it drops, so no later group sees them.
It runs inside the update processor's per-chat lock (bot/concurrency.py), so one chat's
updates are counted in arrival order. Updates without a user (channel posts) pass.

Two layers behind one small interface (``UpdateThrottle.check``):

- ``SlidingWindow``, in this process: the timestamps of the user's last updates. This is
  what drops a flood at no cost: a dict lookup, no I/O.
- ``SharedCounter``, on PostgreSQL only (``storage.repositories.throttle``): several webhook
  instances behind one load balancer each see only part of a user's updates, so each update
  the local window let through is also counted in one upsert on a shared row per user
  (fixed windows aligned on the epoch, so every instance agrees which window is current).
  When it says "over", that is cached here until the window ends, so the rest of the flood
  costs this instance nothing either. Exactly one instance sees the count go one over the
  limit, and only that one sends the "slow down".
  On SQLite one process is the supported shape (SPEC §9): the in-process window alone holds
  the limit there, and no shared counter is made.

A fixed shared window lets through up to twice the limit around a window boundary; the
in-process sliding window does not. Both are far below what hurts the database.

Office admins (``OFFICE_ADMIN_IDS``) get ``THROTTLE_OFFICE_MESSAGES`` instead, a higher limit
rather than none: their work comes in bursts (pressing through the triage queue, forwarding a
batch of findings), but an admin account is the one a stolen phone or a runaway script would
turn into the most expensive flood, so it is still held to something. Only the configured
ids are known without a database read; office members added at run time (/members) count
as everybody else.

The shared counter failing (database down) lets updates through: the in-process window
still holds the limit per instance, and the handlers will report the database trouble.
"""

from __future__ import annotations

import contextlib
import enum
import logging
import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import Update
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop, TypeHandler

from bot.context import BotContext, Deps
from bot.i18n import language_for
from core.clock import Clock
from storage.repositories.throttle import SqlThrottleCounter

log = logging.getLogger(__name__)

# Lower than every other group (the office's pending answers are -2, the short dialogs -1):
# nothing runs before it.
THROTTLE_GROUP = -100


class Verdict(enum.Enum):
    PASS = "pass"  # handle the update
    WARN = "warn"  # drop it, after telling the user to slow down (once per flood)
    DROP = "drop"  # drop it silently


@dataclass(slots=True)
class _Recent:
    hits: deque[float] = field(default_factory=deque)  # times of the updates let through
    blocked_until: float = 0.0  # over the limit until then: drop without counting
    warned_at: float = -math.inf  # when they were last told to slow down


class SlidingWindow:
    """In-process: at most ``limit`` updates per user in any ``window`` seconds. Pure and
    synchronous (times are passed in), so it decides before the event loop can interleave
    another update."""

    def __init__(self, window: float) -> None:
        self.window = window
        self._users: dict[int, _Recent] = {}
        self._next_sweep = -math.inf

    def __len__(self) -> int:
        """Users remembered (idle ones are forgotten after a window)."""
        return len(self._users)

    def hit(self, user_id: int, now: float, limit: int) -> Verdict:
        self._sweep(now)
        recent = self._users.get(user_id)
        if recent is None:
            recent = self._users[user_id] = _Recent()
        if now < recent.blocked_until:
            return Verdict.DROP
        hits = recent.hits
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if len(hits) < limit:
            hits.append(now)
            return Verdict.PASS
        # over: blocked until the oldest update leaves the window (a slot frees up)
        return self.block(user_id, now, until=hits[0] + self.window, warn=True)

    def block(self, user_id: int, now: float, *, until: float, warn: bool) -> Verdict:
        """Drop the user's updates until ``until``. ``warn``: tell them, unless they were told
        within the last window (a flood gets one "slow down", not one per window slot)."""
        recent = self._users.setdefault(user_id, _Recent())
        recent.blocked_until = max(recent.blocked_until, until)
        if warn and now - recent.warned_at >= self.window:
            recent.warned_at = now
            return Verdict.WARN
        if not warn:
            # somebody else warned (another instance): do not warn again in this window
            recent.warned_at = max(recent.warned_at, now)
        return Verdict.DROP

    def _sweep(self, now: float) -> None:
        """Forget users with nothing in the window, at most once a window: memory stays
        proportional to the users active in the last window, not to everybody ever seen."""
        if now < self._next_sweep:
            return
        self._next_sweep = now + self.window
        horizon = now - self.window
        idle = [
            user_id
            for user_id, r in self._users.items()
            if (not r.hits or r.hits[-1] <= horizon) and r.blocked_until <= now and r.warned_at <= horizon
        ]
        for user_id in idle:
            del self._users[user_id]


class SharedCounter(Protocol):
    """Updates of ``user_id`` counted by all instances in the window starting at
    ``window_start``, this one included (``storage.repositories.throttle.SqlThrottleCounter``)."""

    async def hit(self, user_id: int, window_start: datetime) -> int: ...


class UpdateThrottle:
    """``await throttle.check(user_id, limit)``: the in-process window first, then (when
    there is one) the shared counter."""

    def __init__(self, window: float, clock: Clock, shared: SharedCounter | None = None) -> None:
        self.window = window
        self._clock = clock
        self._local = SlidingWindow(window)
        self._shared = shared

    @property
    def shared(self) -> SharedCounter | None:
        return self._shared

    async def check(self, user_id: int, limit: int) -> Verdict:
        now = self._clock.now().timestamp()
        verdict = self._local.hit(user_id, now, limit)
        if verdict is not Verdict.PASS or self._shared is None:
            return verdict
        start = math.floor(now / self.window) * self.window
        try:
            count = await self._shared.hit(user_id, datetime.fromtimestamp(start, UTC))
        except Exception:
            log.warning("the shared flood counter failed; letting the update through", exc_info=True)
            return Verdict.PASS
        if count <= limit:
            return Verdict.PASS
        # over across the instances: only the one that saw the count pass the limit warns
        return self._local.block(user_id, now, until=start + self.window, warn=count == limit + 1)


class ThrottleGate:
    """The ``TypeHandler`` callback: passes, or tells the user once and stops the update."""

    def __init__(self, throttle: UpdateThrottle, limit_for: Callable[[int], int]) -> None:
        self.throttle = throttle
        self._limit_for = limit_for

    async def __call__(self, update: Update, context: BotContext) -> None:
        user = update.effective_user
        if user is None:
            return  # channel posts and the like: nobody to hold to a limit
        limit = self._limit_for(user.id)
        if limit <= 0:
            return
        verdict = await self.throttle.check(user.id, limit)
        if verdict is Verdict.PASS:
            return
        if verdict is Verdict.WARN:
            window = self.throttle.window
            log.info("a user sent more than %s updates in %g s; dropping the rest", limit, window)
            await _slow_down(update, context)
        elif update.callback_query is not None:
            # every press is answered once, or its spinner turns for seconds on the user's
            # screen: one cheap Bot API call (answers are not rate-limited per chat), no database
            with contextlib.suppress(TelegramError):
                await update.callback_query.answer()
        raise ApplicationHandlerStop


async def _slow_down(update: Update, context: BotContext) -> None:
    """The one answer to a flood, in Telegram's language for the user: the stored /lang
    choice would be a database read, which is what a flood must not cause."""
    user = update.effective_user
    lang = language_for(None, user.language_code if user else None)
    text = context.deps.catalogue.t(lang, "throttle.slow_down")
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(text)
        elif update.effective_message is not None and update.effective_chat is not None:
            await context.bot.send_message(update.effective_chat.id, text)
    except TelegramError as exc:
        log.info("could not send the slow-down answer: %s", type(exc).__name__)


def make_throttle_handler(deps: Deps) -> TypeHandler[Update, BotContext, None] | None:
    """The first handler of the application, or None when the limit is off."""
    settings = deps.settings
    if settings.throttle_messages <= 0 or settings.throttle_window_seconds <= 0:
        return None
    throttle = UpdateThrottle(settings.throttle_window_seconds, deps.clock, _shared_counter(deps))
    admins = settings.office_admin_ids
    citizen_limit, admin_limit = settings.throttle_messages, settings.throttle_office_messages

    def limit_for(user_id: int) -> int:
        return admin_limit if user_id in admins else citizen_limit

    return TypeHandler(Update, ThrottleGate(throttle, limit_for))


def _shared_counter(deps: Deps) -> SharedCounter | None:
    """The PostgreSQL counter; None on SQLite (one process: the local window is the limit)."""
    if deps.session_factory is None:
        return None
    engine = deps.session_factory.kw.get("bind")
    if not isinstance(engine, AsyncEngine) or engine.dialect.name != "postgresql":
        return None
    return SqlThrottleCounter(engine)
