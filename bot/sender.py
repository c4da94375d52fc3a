"""The outbox sender (SPEC §7): drains the notifications services wrote into the outbox, in
order per chat, within Telegram's limits, and records what became of each.

How it goes. A sender claims a few due messages at a time (``claim_chat_heads``: at most the
first message of each chat's queue, leased to this sender and committed before anything is
sent), renders each in its recipient's language, and a single scheduler hands them out when the
``Pacer`` allows: evenly spaced at a little under 30/s overall, one per second per private chat,
20 a minute per group, every window counted from Telegram's answers so that jitter on the way
cannot squeeze one message too many into Telegram's second. Every send runs in its own task
(several may be in flight: an answer can take longer than the 34 ms between two sends), and its
outcome is written in a fresh unit of work:

- delivered → ``sent`` with ``sent_at``;
- ``RetryAfter`` → pending again at now + retry_after; that chat pauses, and so does everybody
  unless it was a group (a group's own 20/min budget says nothing about the bot's overall one).
  The try counts as an attempt but never makes a message dead by itself;
- the chat blocked the bot, or the user is deactivated (403) → ``blocked``, and the user is
  marked ``blocked_bot``; a 400 (chat not found, unparsable text...) → ``dead`` at once;
- anything else (network, timeouts, 5xx) → pending again after 2, 4, 8... seconds (at most ten
  minutes) until ``RetryPolicy.max_attempts``, then ``dead``.

Delivery is at least once: a sender killed between Telegram's answer and the commit of
``sent`` leaves that message leased; when the lease runs out it is sent again. Only messages
in flight at the moment of the crash can be duplicated (at most ``max_in_flight``).

Order per chat: a chat's next message is not claimable while an earlier one is leased or waiting
for its retry, so a failed message holds back the rest of its chat until it is sent or dead.

One sender at a time: senders take the named lease ``outbox-sender`` (renewed at every claim),
so the pacing is the whole bot's even with several instances; the others wait, and one of them
takes over within ``sender_lease`` of the holder dying.

An idle holder costs little: a poll (not a wake-up) whose lease was renewed less than a third
of ``sender_lease`` ago first asks when the next message is due (``next_due``, one read, nothing
locked or written) and claims only if that is now. Before, every poll renewed the lease and
tried a claim: a write transaction waiting for the disk every second of the campaign, 86,400 a
day of WAL and fsyncs for a bot with nothing to send. The lease is still renewed every
``sender_lease / 3`` (10 s) when nothing is due, by the full claim. A sender that does not hold
the lease reads who does (``LeaseRepository.holder``) and tries to take it only once it is free
or has run out, rather than trying (a row lock and a commit) every second.

Entry points: ``OutboxSender.drain_once(now)`` (tests; ``drain_once(deps, now)`` for
``python -m bot tick``), ``run_forever(stop)`` / ``start()`` + ``aclose()`` (the application's
background task), ``wake()`` after a commit that wrote outbox rows, so they go out now rather
than at the next poll.

The pieces: ``bot.pacing`` (Telegram's limits and the ``Pacer``), ``bot.delivery`` (outcomes,
retries, the Bot API call) and here the sender itself: claiming, the scheduler, recording.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Final, Protocol, Self

from telegram import Bot
from telegram.error import BadRequest, ChatMigrated, Forbidden, RetryAfter, TelegramError
from telegram.request import BaseRequest, HTTPXRequest

from bot.delivery import DrainResult, Outcome, RetryPolicy, describe, invoke, retry_after_seconds
from bot.i18n import Catalogue
from bot.log_privacy import person_ref
from bot.pacing import Pacer, SendLimits, Slot
from bot.rendering import ApiCall, PlanTerms, RenderError, language_of, recipient_user, render
from bot.send_budget import Priority, SendBudget
from bot.settings import Settings
from core.clock import Clock
from core.outbox import OutboxMessage
from core.plan import Plan
from core.ports import UnitOfWorkFactory

# Names the rest of the bot and the tests import from here, wherever they are defined
__all__ = [
    "SENDER_LEASE",
    "DrainResult",
    "OutboxSender",
    "Outcome",
    "Pacer",
    "RetryPolicy",
    "SendLimits",
    "SenderDeps",
    "Slot",
    "default_worker_id",
    "drain_once",
    "make_sender",
]

log = logging.getLogger(__name__)

SENDER_LEASE: Final = "outbox-sender"
# Bot API methods an outbox row may name; the rest of the Bot (logOut, setWebhook...) is not
# something a notification does.
ALLOWED_PREFIXES: Final = ("send", "edit", "copy", "forward")
# A chat that cannot be sent to within this many seconds is left unclaimed (a group that used
# its 20 messages this minute), so its head waits in the database, not in our hands.
CLAIM_HORIZON: Final = 1.5
# The scheduler never sleeps longer than this without looking at finished sends and new rows.
MAX_NAP: Final = 0.25
# After a failure of the sender itself (the database is down...), wait this long.
ERROR_PAUSE: Final = 5.0
# On stop, messages already claimed are still sent if they can go within this many seconds;
# the others are left to their lease.
STOP_GRACE: Final = 2.0
MAX_ERROR_TEXT: Final = 500


@dataclass(slots=True)
class _Prepared:
    message: OutboxMessage
    call: ApiCall | None
    error: str | None = None

    @property
    def chat_id(self) -> int:
        return self.message.chat_id


@dataclass(slots=True)
class _Drain:
    """One drain's notion of time: the cut-off for "due" and the stamp for sent_at/retry_at."""

    cutoff: Callable[[], datetime]
    stamp: Callable[[], datetime]
    result: DrainResult = field(default_factory=DrainResult)
    # a poll's drain (not a wake-up's): its first claim may look whether anything is due first
    look_first: bool = False


class OutboxSender:
    def __init__(
        self,
        bot: Bot,
        uow: UnitOfWorkFactory,
        clock: Clock,
        catalogue: Catalogue,
        *,
        worker_id: str | None = None,
        limits: SendLimits | None = None,
        retry: RetryPolicy | None = None,
        batch_size: int = 30,
        max_in_flight: int = 8,
        lease: timedelta = timedelta(minutes=2),
        sender_lease: timedelta = timedelta(seconds=30),
        stable_identity: bool = False,
        poll_interval: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        close_request: bool = False,
        terms: PlanTerms | None = None,
        budget: SendBudget | None = None,
    ) -> None:
        """``bot`` is a plain ``telegram.Bot`` (no rate limiter: the pacing is ours). ``lease``:
        how long a claimed message is ours (a crashed sender's messages wait that long);
        ``sender_lease``: how long another instance waits for a silent sender before taking
        over. ``monotonic`` and ``sleep`` drive the pacing (tests pass virtual time).
        ``close_request``: ``aclose`` shuts the bot's HTTP client down (it is ours)."""
        self.bot = bot
        self._terms = terms
        self.worker_id = worker_id or default_worker_id()
        # the same identity as this instance's previous run (INSTANCE_NAME): what that run
        # leased and never finished is ours to take back at start, not to wait out
        self.stable_identity = stable_identity
        self.limits = limits or SendLimits()
        self.retry = retry or RetryPolicy()
        self.batch_size = batch_size
        self.max_in_flight = max_in_flight
        self.lease = lease
        self.sender_lease = sender_lease
        self.poll_interval = poll_interval
        self.pacer = Pacer(self.limits, monotonic)
        # shared with the replies (and on PostgreSQL the other instances): what they leave
        self.budget = budget
        self._uow = uow
        self._clock = clock
        self._catalogue = catalogue
        self._monotonic = monotonic
        self._sleep = sleep
        self._close_request = close_request
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._holds_lease = False
        self._renewed_at: datetime | None = None  # when this sender last renewed its lease
        # issue 15 (bot.metrics.Metrics.sent): told each outcome's value, and "retry_after" for a 429
        self.on_outcome: Callable[[str], None] | None = None

    # -- entry points ------------------------------------------------------------------------

    async def drain_once(self, now: datetime | None = None) -> DrainResult:
        """Send everything due at ``now`` (default: the clock's now) and return what became
        of it. Times recorded (sent_at, retry_at) are the clock's, never earlier than ``now``:
        so a failed message is due again after ``now`` and the drain ends."""
        cutoff = now if now is not None else self._clock.now()
        drain = _Drain(cutoff=lambda: cutoff, stamp=lambda: max(self._clock.now(), cutoff))
        try:
            return await self._pump(drain, stop=None)
        finally:
            # a failure here must not hide the drain's own; the lease runs out anyway
            with contextlib.suppress(Exception):
                await self._release_lease()

    async def run_forever(self, stop: asyncio.Event) -> None:
        """Drain, then wait for ``wake()``, the poll interval or ``stop``; until ``stop``."""
        log.info("outbox sender %s started", self.worker_id)
        if self.stable_identity:
            with contextlib.suppress(Exception):  # the leases run out anyway
                await self._take_back()
        try:
            polled = False  # the first drain claims at once: what the last run left is due
            while not stop.is_set():
                self._wake.clear()
                drain = _Drain(cutoff=self._clock.now, stamp=self._clock.now, look_first=polled)
                try:
                    result = await self._pump(drain, stop=stop)
                except Exception:
                    log.exception("the outbox sender failed; trying again in %.0f s", ERROR_PAUSE)
                    await self._idle(stop, ERROR_PAUSE, wakeable=False)
                    continue
                if result.total:
                    log.info("outbox: %s", result)
                await self._idle(stop, self.poll_interval, wakeable=not result.skipped)
                polled = not self._wake.is_set()
        finally:
            with contextlib.suppress(Exception):
                await self._release_claims()
            with contextlib.suppress(Exception):
                await self._release_lease()
            log.info("outbox sender %s stopped", self.worker_id)

    def wake(self) -> None:
        """Outbox rows were committed: send them now instead of at the next poll."""
        self._wake.set()

    def start(self) -> None:
        """Run ``run_forever`` as a background task of the running event loop."""
        if self._task is None or self._task.done():
            self._stop = asyncio.Event()
            name = f"outbox-sender {self.worker_id}"
            self._task = asyncio.create_task(self.run_forever(self._stop), name=name)

    async def stop(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109 - a grace period, then cancel
        """Stop the background task: sends in flight finish, nothing new is claimed."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stop.set()
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout)
        except TimeoutError:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def aclose(self) -> None:
        await self.stop()
        if self._close_request:
            await self.bot.request.shutdown()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    # -- the scheduler -----------------------------------------------------------------------

    async def _pump(self, drain: _Drain, stop: asyncio.Event | None) -> DrainResult:
        """Claim, pace and send until nothing is due and nothing is in flight. Claims run
        beside the sends (a claim is a transaction, and the schedule must not wait for it)."""
        result = drain.result
        ready: list[_Prepared] = []
        running: dict[asyncio.Task[Outcome], int] = {}  # sends in flight, by their chat
        claiming: asyncio.Task[list[_Prepared] | None] | None = None
        may_claim = True  # false after a claim found nothing, until a send finishes
        finished = finished_at_claim = 0
        lease_lost = False
        low_water = max(1, self.batch_size // 2)

        def harvest() -> None:
            nonlocal claiming, may_claim, finished, lease_lost
            for task in [t for t in running if t.done()]:
                del running[task]
                result.count(task.result())
                finished += 1
                may_claim = True  # its chat's next message may have become the head
            if claiming is not None and claiming.done():
                claimed, claiming = claiming.result(), None
                if claimed is None:
                    lease_lost = True
                    result.skipped = not ready and not running and not result.total
                else:
                    ready.extend(claimed)
                    # a send that finished during the claim may have freed a chat it missed
                    may_claim = bool(claimed) or finished > finished_at_claim

        try:
            while True:
                harvest()
                stopping = stop is not None and stop.is_set()
                wanted = self.batch_size - len(ready) - len(running)
                if (
                    claiming is None
                    and may_claim
                    and not stopping
                    and not lease_lost
                    and len(ready) + len(running) < low_water
                ):
                    finished_at_claim, may_claim = finished, False
                    # never claim for a chat we hold a message of: its lease may have run out
                    # while it waited (a long RetryAfter), and it would be ours twice
                    holding = {p.chat_id for p in ready} | set(running.values())
                    claiming = asyncio.create_task(self._claim(drain, wanted, holding))
                others: set[asyncio.Task[Any]] = set(running)
                if claiming is not None:
                    others.add(claiming)
                if not ready or len(running) >= self.max_in_flight:
                    if not others:
                        return result
                    await asyncio.wait(others, return_when=asyncio.FIRST_COMPLETED)
                    continue
                # the message whose chat may go first; among equals the oldest claimed
                pick = min(ready, key=lambda p: self.pacer.ready_at(p.chat_id))
                wait = self.pacer.ready_at(pick.chat_id) - self._monotonic()
                if wait > 0:
                    if stopping and wait > STOP_GRACE:
                        log.info("stopping: %d claimed messages wait for their lease", len(ready))
                        ready.clear()
                        continue
                    await self._sleep(min(wait, MAX_NAP))
                    continue
                ready.remove(pick)
                slot = self.pacer.record(pick.chat_id)
                running[asyncio.create_task(self._deliver(pick, slot, drain))] = pick.chat_id
        finally:
            # on the way out by an exception: let the claim and the sends in flight finish and
            # record their outcome (what was claimed and not sent waits for its lease)
            pending: set[asyncio.Task[Any]] = set(running)
            if claiming is not None:
                pending.add(claiming)
            if pending:
                await asyncio.wait(pending)
                for task in running:
                    if not task.cancelled() and task.exception() is None:
                        result.count(task.result())

    async def _claim(self, drain: _Drain, limit: int, holding: set[int]) -> list[_Prepared] | None:
        """Claim and render up to ``limit`` messages, none for the chats in ``holding`` or
        that the pacer holds back; None when another sender holds the lease."""
        now = drain.cutoff()
        if drain.look_first:
            drain.look_first = False
            if self._lease_fresh(now):
                if not await self._anything_due(now):
                    return []
            elif not self._holds_lease and await self._held_elsewhere(now):
                return None
        busy = holding.union(self.pacer.busy_chats(CLAIM_HORIZON))
        languages: dict[int | None, str | None] = {None: None}
        async with self._uow() as uow:
            if not await uow.leases.try_acquire(SENDER_LEASE, self.worker_id, now=now, ttl=self.sender_lease):
                if self._holds_lease:
                    log.warning("outbox sender %s lost its lease to another sender", self.worker_id)
                self._holds_lease, self._renewed_at = False, None
                return None
            self._holds_lease = True
            batch = await uow.outbox.claim_chat_heads(
                self.worker_id, now=now, limit=limit, lease=self.lease, exclude_chats=busy
            )
            for message in batch:
                user_id = recipient_user(message)
                if user_id not in languages:
                    user = await uow.users.get(user_id) if user_id is not None else None
                    languages[user_id] = user.language if user is not None else None
            await uow.commit()
        self._renewed_at = now
        return [self._prepare(m, language_of(languages.get(recipient_user(m)))) for m in batch]

    def _lease_fresh(self, now: datetime) -> bool:
        """We hold the lease and renewed it less than a third of its time ago."""
        renewed = self._renewed_at
        return (
            self._holds_lease
            and renewed is not None
            and timedelta(0) <= now - renewed < self.sender_lease / 3
        )

    async def _held_elsewhere(self, now: datetime) -> bool:
        """Another sender holds the lease and has not let it run out: one read, where trying
        to take it would lock its row and commit (instance two of two, every second)."""
        async with self._uow() as uow:
            held = await uow.leases.holder(SENDER_LEASE)
        return held is not None and held[0] != self.worker_id and held[1] > now

    async def _anything_due(self, now: datetime) -> bool:
        """Whether a message may be claimable at ``now``: one read, no lock, nothing written
        (an earlier message of its chat may still hold it back; the claim decides)."""
        async with self._uow() as uow:
            due = await uow.outbox.next_due()
        return due is not None and due <= now

    def _prepare(self, message: OutboxMessage, lang: str) -> _Prepared:
        method = message.method
        if not (method.isidentifier() and method.startswith(ALLOWED_PREFIXES) and hasattr(self.bot, method)):
            return _Prepared(message, None, f"unsupported method {method!r}")
        try:
            return _Prepared(message, render(message, self._catalogue, lang, self._terms))
        except RenderError as exc:
            return _Prepared(message, None, f"cannot render: {exc}")

    async def _take_back(self) -> None:
        """A restart under the same identity: the previous run is gone, so its claims and the
        sender lease it held are released now (the lease is then ours again at once)."""
        async with self._uow() as uow:
            released = await uow.outbox.release_claims(self.worker_id)
            await uow.leases.release(SENDER_LEASE, self.worker_id)
            await uow.commit()
        if released:
            log.info("outbox sender %s took back %d messages of its previous run", self.worker_id, released)

    async def _release_claims(self) -> None:
        """On a clean stop, what this sender claimed and did not send is claimable at once by
        the next sender (nothing of ours is in flight any more)."""
        async with self._uow() as uow:
            await uow.outbox.release_claims(self.worker_id)
            await uow.commit()

    async def _release_lease(self) -> None:
        if not self._holds_lease:
            return
        self._holds_lease, self._renewed_at = False, None
        async with self._uow() as uow:
            await uow.leases.release(SENDER_LEASE, self.worker_id)
            await uow.commit()

    async def _idle(self, stop: asyncio.Event, timeout: float, *, wakeable: bool) -> None:  # noqa: ASYNC109
        events = [stop, self._wake] if wakeable else [stop]
        waiters = [asyncio.ensure_future(e.wait()) for e in events]
        try:
            await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()

    # -- one message -------------------------------------------------------------------------

    async def _deliver(self, prepared: _Prepared, slot: Slot, drain: _Drain) -> Outcome:
        message = prepared.message
        if prepared.call is None:
            self.pacer.answered(slot)
            return await self._record(message, drain, Outcome.DEAD, prepared.error or "cannot send")
        try:
            await self._send(prepared.call, slot)
        except RetryAfter as exc:
            if self.on_outcome is not None:
                self.on_outcome("retry_after")
            seconds = max(1.0, retry_after_seconds(exc))
            self.pacer.pause(message.chat_id, seconds, everyone=message.chat_id > 0)
            if self.budget is not None and message.chat_id > 0:
                self.budget.pause(seconds)  # replies wait too: Telegram counts them alike
            log.warning("Telegram asks to wait %.0f s (chat %s)", seconds, person_ref(message.chat_id))
            retry_at = drain.stamp() + timedelta(seconds=seconds)
            return await self._record(message, drain, Outcome.RETRIED, describe(exc), retry_at=retry_at)
        except Forbidden as exc:
            # blocked by the user, user deactivated, kicked from the group: not coming back
            return await self._record(message, drain, Outcome.BLOCKED, describe(exc))
        except BadRequest as exc:
            # chat not found, text Telegram cannot parse...: the same request fails again
            return await self._record(message, drain, Outcome.DEAD, describe(exc))
        except TelegramError as exc:
            # network trouble, timeouts, Telegram's 5xx, even a token being replaced: worth
            # trying again later (a TimedOut may have been delivered: at least once)
            return await self._record_failure(message, drain, describe(exc))
        except Exception as exc:
            # our own bug in turning the payload into a call: it would fail the same way again
            log.exception("cannot send outbox message %s", message.id)
            return await self._record(message, drain, Outcome.DEAD, describe(exc))
        return await self._record(message, drain, Outcome.SENT, None)

    async def _send(self, call: ApiCall, slot: Slot) -> None:
        params = call.params
        try:
            for _ in range(2):
                try:
                    if self.budget is not None:
                        await self.budget.acquire(_chat_id(params), Priority.NOTICE)
                    await invoke(self.bot, call.method, params)
                    return
                except ChatMigrated as exc:
                    # a group became a supergroup: same conversation, new id; settings that
                    # name the old id (OFFICE_CHAT_ID) need updating, hence the warning
                    log.warning("chat %s is now %s; sending there", params.get("chat_id"), exc.new_chat_id)
                    params = {**params, "chat_id": exc.new_chat_id}
            raise BadRequest(f"chat {call.params.get('chat_id')} migrated more than once")
        finally:
            self.pacer.answered(slot)

    async def _record_failure(self, message: OutboxMessage, drain: _Drain, error: str) -> Outcome:
        if message.attempts >= self.retry.max_attempts:
            log.warning("outbox message %s: giving up after %d attempts", message.id, message.attempts)
            return await self._record(
                message, drain, Outcome.DEAD, f"gave up after {message.attempts} attempts: {error}"
            )
        retry_at = drain.stamp() + self.retry.delay(message.attempts)
        return await self._record(message, drain, Outcome.RETRIED, error, retry_at=retry_at)

    async def _record(
        self,
        message: OutboxMessage,
        drain: _Drain,
        outcome: Outcome,
        error: str | None,
        *,
        retry_at: datetime | None = None,
    ) -> Outcome:
        assert message.id is not None, "claimed messages have ids"
        error = (error or "")[:MAX_ERROR_TEXT]
        if self.on_outcome is not None:
            self.on_outcome(outcome.value)
        if outcome is not Outcome.SENT:
            to = person_ref(message.chat_id)
            log.info("outbox message %s to %s: %s (%s)", message.id, to, outcome, error)
        try:
            async with self._uow() as uow:
                if outcome is Outcome.SENT:
                    await uow.outbox.mark_sent(message.id, now=drain.stamp())
                elif outcome is Outcome.RETRIED:
                    await uow.outbox.mark_failed(message.id, error=error, retry_at=retry_at or drain.stamp())
                elif outcome is Outcome.DEAD:
                    await uow.outbox.mark_dead(message.id, error=error)
                else:
                    await uow.outbox.mark_blocked(message.id, error=error)
                    user_id = recipient_user(message) or (message.chat_id if message.chat_id > 0 else None)
                    if user_id is not None:
                        await uow.users.set_blocked(user_id, True)
                await uow.commit()
        except Exception:
            # the lease runs out and the message is tried again: a duplicate at worst
            log.exception("could not record outbox message %s as %s", message.id, outcome)
        return outcome


# -- building one ------------------------------------------------------------------------------


def make_sender(
    settings: Settings,
    *,
    uow: UnitOfWorkFactory,
    clock: Clock,
    catalogue: Catalogue,
    request: BaseRequest | None = None,
    **options: Any,
) -> OutboxSender:
    """A sender talking to ``settings.telegram_api_url`` with its own HTTP client (or over
    ``request``, e.g. a test's offline one, which it then leaves open). ``options`` go to
    ``OutboxSender``."""
    if settings.bot_token is None:
        raise ValueError("BOT_TOKEN is not set")
    max_in_flight = int(options.get("max_in_flight", 8))
    own = request is None
    if request is None:
        # our own connection pool: the sends in flight plus room for a slow one
        request = HTTPXRequest(connection_pool_size=max_in_flight + 2)
    bot = Bot(
        settings.bot_token.get_secret_value(),
        base_url=settings.telegram_api_url,
        base_file_url=settings.file_url,
        request=request,
        get_updates_request=request,
    )
    return OutboxSender(bot, uow, clock, catalogue, close_request=own, **options)


class SenderDeps(Protocol):
    """What ``drain_once`` needs of the process's dependencies: ``bot.context.Deps`` has it.
    A protocol, so that this module does not import ``bot.context`` (which imports it)."""

    @property
    def settings(self) -> Settings: ...
    @property
    def plan(self) -> Plan: ...
    @property
    def clock(self) -> Clock: ...
    @property
    def catalogue(self) -> Catalogue: ...
    @property
    def uow(self) -> UnitOfWorkFactory: ...
    @property
    def sender(self) -> OutboxSender | None: ...


async def drain_once(deps: SenderDeps, now: datetime | None = None) -> DrainResult:
    """One drain for ``python -m bot tick``: with ``deps.sender`` when the application made
    one, else with a sender made (and closed) for the occasion."""
    if deps.sender is not None:
        return await deps.sender.drain_once(now)
    async with make_sender(
        deps.settings, uow=deps.uow, clock=deps.clock, catalogue=deps.catalogue, terms=PlanTerms(deps.plan)
    ) as sender:
        return await sender.drain_once(now)


def _chat_id(params: dict[str, Any]) -> int | None:
    value = params.get("chat_id")
    return value if isinstance(value, int) else None


def default_worker_id() -> str:
    """Host, process and a random part: unique per sender, readable in ``claimed_by``."""
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
