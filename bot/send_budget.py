"""One send budget for the whole deployment (SPEC §7, issue 11): the replies every instance sends
while it handles updates and the outbox sender's notices draw on it together, so that all of
them stay under Telegram's limits — about 30 messages a second overall, one a second per
private chat, 20 a minute per group — however many instances run.

Who asks:
- replies, through ``BudgetRateLimiter``, python-telegram-bot's rate-limiter hook on the
  Application's bot: every message-posting call a handler makes (send*, edit*, copy, forward).
  Edits count overall (and in a group) but not against a private chat's one a second.
  They are ``Priority.REPLY``: an answer to the user who just wrote must not wait behind a queue
  of unrelated sends, so a reply never queues behind notices; at worst it waits for the current
  slot of the budget (below) to pass;
- the outbox sender (``bot.sender``), ``Priority.NOTICE``: it takes what replies leave, and it
  keeps its own ``Pacer`` on top (windows counted from Telegram's answers, RetryAfter per chat).

Where the budget lives:
- one process (SQLite: the supported shape there, see bot/dialog_state.py): in memory. Overall a
  sliding one-second window; notices wait while a reply waits;
- several instances on PostgreSQL: the overall count and the group windows are rows of the
  ``send_budget`` table (``storage.send_budget.SqlSendLedger``), claimed one message at a time
  with one autocommit statement on the database's clock, so instances with skewed clocks agree.
  The second is cut into ``SLOTS_PER_SECOND`` slots of ``cap`` messages each, with ``cap``
  chosen so that no second, wherever it starts, spans more than 30 (``slot_cap``); in the first
  half of each slot one message is kept for replies, which a notice may take in its second
  half, so a busy sender neither starves replies nor wastes what they leave.
- per private chat, always in this process: a token bucket (one message a second, bursts of
  ``private_burst``: Telegram tolerates short bursts in a private chat). Replies spend it but
  never wait for it (a person answering a prompt sends nothing for seconds, and one who floods
  is cut off by the per-user throttle, bot/throttle.py); notices wait for it, so the sender
  does not pile onto a chat its person is busy in. One chat's updates are handled by one instance at a time
  and notices by the one sender holding the outbox lease, so two instances rarely post to one
  private chat in the same second; the shared ledger does not count private chats (a round trip
  per reply for a case Telegram forgives). README "Known limits" says so.

A RetryAfter from Telegram pauses the whole budget of this process for the time it asks.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from enum import IntEnum
from typing import Any, Final, Protocol

from sqlalchemy.ext.asyncio import AsyncEngine
from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from bot.delivery import retry_after_seconds
from bot.pacing import SendLimits
from storage.send_budget import SqlSendLedger


class Priority(IntEnum):
    REPLY = 0  # an answer in the chat whose update is being handled
    NOTICE = 1  # the outbox sender: notices, reminders, digests, broadcasts


# Bot API methods that put a message into a chat (what Telegram's limits count); the rest
# (answerCallbackQuery, getMe, setMyCommands, getFile, sendChatAction...) go at once
_POSTING_PREFIXES: Final = ("send", "edit", "copyMessage", "forwardMessage")
_NOT_POSTING: Final = frozenset({"sendChatAction"})

SLOTS_PER_SECOND: Final = 9  # shared ledger: 111 ms slots; see slot_cap
MAX_NAP: Final = 0.25  # seconds: re-check at least this often while waiting


def posts_message(endpoint: str) -> bool:
    return endpoint.startswith(_POSTING_PREFIXES) and endpoint not in _NOT_POSTING


def slot_cap(per_second: float, slots_per_second: int) -> int:
    """Messages per slot such that any one-second span — it overlaps at most
    ``slots_per_second + 1`` slots — holds at most ``per_second`` of them."""
    return max(1, math.floor(per_second / (slots_per_second + 1)))


class SharedLedger(Protocol):
    """The deployment's counts in the database (``storage.send_budget.SqlSendLedger``)."""

    async def take(self, scope: str, *, slots_per_second: int, cap: int, reserve: int) -> bool:
        """One message in the current slot of ``scope`` if fewer than ``cap`` went in it (fewer
        than ``cap - reserve`` in the slot's first half); False when it is full."""
        ...

    async def take_in_window(self, scope: str, *, cap: int, window: float) -> float:
        """One message if fewer than ``cap`` went to ``scope`` in the last ``window`` seconds:
        0.0; else the seconds until one of them leaves the window."""
        ...


class SendBudget:
    """``await budget.acquire(chat_id, priority)`` returns when a message to ``chat_id`` may go
    (module docstring). One per process, shared by the replies and the outbox sender."""

    def __init__(
        self,
        limits: SendLimits | None = None,
        shared: SharedLedger | None = None,
        *,
        private_burst: int = 3,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.limits = limits or SendLimits()
        self.shared = shared
        self.private_burst = private_burst
        self._now = monotonic
        self._sleep = sleep
        self._capacity = max(1, math.floor(self.limits.overall_per_second))
        self._cap = slot_cap(self.limits.overall_per_second, SLOTS_PER_SECOND)
        self._slot = 1.0 / SLOTS_PER_SECOND
        self._sent: deque[float] = deque()  # this process's sends of the last second (alone)
        self._groups: dict[int, deque[float]] = {}  # this process's sends per group, last minute
        self._buckets: dict[int, tuple[float, float]] = {}  # private chat: (tokens, at)
        self._paused_until = -math.inf
        self._replies_waiting = 0
        self.waited = 0.0  # seconds callers spent waiting in acquire (for the bench)

    async def acquire(
        self, chat_id: int | None, priority: Priority = Priority.REPLY, *, new_message: bool = True
    ) -> None:
        """``new_message``: False for an edit of a message already in the chat, which counts
        overall and in a group's minute but not against a private chat's one a second (a
        pressed button's prompt loses its keyboard, and the next prompt is the message)."""
        if not new_message and chat_id is not None and chat_id > 0:
            chat_id = None
        started = self._now()
        counted = priority is Priority.REPLY
        if counted:
            self._replies_waiting += 1
        try:
            while True:
                wait = self._local_wait(chat_id, priority)
                if wait > 0:
                    await self._sleep(min(wait, MAX_NAP))
                    continue
                refund = self._take_local(chat_id)
                wait = await self._take_shared(chat_id, priority)
                if wait > 0:
                    refund()
                    await self._sleep(min(wait, MAX_NAP))
                    continue
                return
        finally:
            if counted:
                self._replies_waiting -= 1
            self.waited += self._now() - started

    def pause(self, seconds: float) -> None:
        """Telegram answered RetryAfter: nothing goes from this process for ``seconds``."""
        self._paused_until = max(self._paused_until, self._now() + seconds)

    # -- in this process -------------------------------------------------------------------

    def _local_wait(self, chat_id: int | None, priority: Priority) -> float:
        now = self._now()
        wait = self._paused_until - now
        if priority is Priority.NOTICE and self._replies_waiting:
            wait = max(wait, self._slot / 2)  # replies first; they are few and quick
        if chat_id is not None and chat_id > 0 and priority is Priority.NOTICE:
            # a reply spends the chat's tokens but never waits for them: the person who just
            # wrote sets the pace, and a flood of theirs is the throttle's (bot/throttle.py)
            tokens, _ = self._bucket(chat_id, now)
            if tokens < 1:
                wait = max(wait, (1 - tokens) * self.limits.private_interval)
        if self.shared is None:
            second = 1.0 + self.limits.slack
            while self._sent and self._sent[0] + second <= now:
                self._sent.popleft()
            if len(self._sent) >= self._capacity:
                wait = max(wait, self._sent[0] + second - now)
            if chat_id is not None and chat_id < 0:
                minute = 60.0 + self.limits.slack
                sent = self._groups.get(chat_id)
                while sent and sent[0] + minute <= now:
                    sent.popleft()
                if sent is not None and len(sent) >= self.limits.group_per_minute:
                    wait = max(wait, sent[0] + minute - now)
        return wait

    def _bucket(self, chat_id: int, now: float) -> tuple[float, float]:
        tokens, at = self._buckets.get(chat_id, (float(self.private_burst), now))
        tokens = min(float(self.private_burst), tokens + (now - at) / self.limits.private_interval)
        return tokens, now

    def _take_local(self, chat_id: int | None) -> Callable[[], None]:
        """Counts the message here now (before any await, so that two coroutines cannot both
        take the last token); returns what gives it back if the shared ledger says no."""
        now = self._now()
        if len(self._buckets) > 10_000:  # forget chats whose bucket is full again
            full = float(self.private_burst)
            self._buckets = {c: v for c, v in self._buckets.items() if self._bucket(c, now)[0] < full}
        undo: list[Callable[[], object]] = []
        if chat_id is not None and chat_id > 0:
            tokens, _ = self._bucket(chat_id, now)
            self._buckets[chat_id] = (tokens - 1, now)
            undo.append(lambda: self._give_back(chat_id))
        if self.shared is None:
            self._sent.append(now)
            undo.append(self._sent.pop)
            if chat_id is not None and chat_id < 0:
                group = self._groups.setdefault(chat_id, deque())
                group.append(now)
                undo.append(group.pop)
            if len(self._groups) > 1_000:
                self._groups = {c: q for c, q in self._groups.items() if q and q[-1] + 61.0 > now}

        def refund() -> None:
            for step in reversed(undo):
                step()

        return refund

    def _give_back(self, chat_id: int) -> None:
        tokens, at = self._buckets.get(chat_id, (0.0, self._now()))
        self._buckets[chat_id] = (min(float(self.private_burst), tokens + 1), at)

    # -- across instances ------------------------------------------------------------------

    async def _take_shared(self, chat_id: int | None, priority: Priority) -> float:
        if self.shared is None:
            return 0.0
        reserve = 1 if priority is Priority.NOTICE else 0
        per_second, cap = SLOTS_PER_SECOND, self._cap
        taken = await self.shared.take("all", slots_per_second=per_second, cap=cap, reserve=reserve)
        if not taken:
            return self._slot / 2
        if chat_id is not None and chat_id < 0:
            # the overall message just taken is spent even if the group says wait: groups are
            # few and rarely at their limit, and a refund would need a round trip of its own
            return await self.shared.take_in_window(
                f"group:{chat_id}", cap=self.limits.group_per_minute, window=60.0 + self.limits.slack
            )
        return 0.0


def make_send_budget(engine: AsyncEngine | None) -> SendBudget:
    """The process's budget: counted in the database with the other instances on PostgreSQL,
    in memory otherwise (module docstring)."""
    shared = SqlSendLedger(engine) if engine is not None and engine.dialect.name == "postgresql" else None
    return SendBudget(shared=shared)


def _chat_of(data: dict[str, Any] | None) -> int | None:
    value = (data or {}).get("chat_id")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    return None  # "@channelusername" or no chat: counted overall only


class BudgetRateLimiter(BaseRateLimiter[Priority]):
    """The Application bot's rate limiter: every message-posting call waits for the budget
    (``Priority.REPLY`` unless the caller passes ``rate_limit_args=Priority.NOTICE``); a
    RetryAfter pauses the budget and the call is tried again, up to ``max_retries`` times."""

    def __init__(self, budget: SendBudget, max_retries: int = 0) -> None:
        self.budget = budget
        self.max_retries = max_retries

    async def initialize(self) -> None:
        """Nothing to open: the ledger uses the application's engine."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: Priority | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        counted = posts_message(endpoint)
        priority = rate_limit_args if isinstance(rate_limit_args, Priority) else Priority.REPLY
        chat_id = _chat_of(data)
        attempt = 0
        while True:
            if counted:
                await self.budget.acquire(chat_id, priority, new_message=not endpoint.startswith("edit"))
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                if attempt >= self.max_retries:
                    raise
                attempt += 1
                self.budget.pause(max(1.0, retry_after_seconds(exc)))

