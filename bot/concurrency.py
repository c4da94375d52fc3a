"""Concurrent across chats, strictly ordered within one chat (SPEC §10).

python-telegram-bot hands every update to the update processor in the order it arrived, each in
its own task. ``PerChatUpdateProcessor`` lets updates of different chats run side by side but
makes updates of the same chat wait for each other, in arrival order, so a dialog never sees
its second message before its first.

The base class's semaphore is acquired *before* ``do_process_update`` runs, so if it were the
real bound, a flood in one chat would fill every slot with updates that only wait for their
chat's lock and starve everybody else. We therefore admit every update to
``do_process_update`` (the application has already made a task per update, so admission costs
nothing extra) and bound the number of updates actually *running* with our own semaphore,
taken after the chat's lock.

Across instances (SPEC §9, issue 11): when ``bind_dialogs`` gave it a ``DialogTurns``
(``bot.dialog_state``; ``build_application`` does so whenever there is a database), each
update with a chat or user runs inside a turn, taken after our slot: on PostgreSQL it holds a
session-level advisory lock keyed by the chat (and the user) for the whole update, so one
chat's updates run one at a time whichever instance they reach, and it reads the chat/user's
dialog state from the database before and writes it back after. On SQLite one process is the
supported shape: the in-process locks here are all the ordering there is.

Besides the chat's lock an update also takes its user's (chat first, then user, everywhere, so
no two updates wait for each other in a cycle): ``user_data`` is per user, and the same person
in a private chat and in the office group must not have two turns read and write it at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import inspect
import sys
from collections.abc import AsyncIterator, Awaitable, Hashable
from typing import Any, Protocol

from telegram import Update
from telegram.ext import BaseUpdateProcessor

# Admission never blocks: see the module docstring.
_UNBOUNDED_ADMISSION = sys.maxsize
_collected_before_freeze = False  # see PerChatUpdateProcessor.initialize


class _ChatSlot:
    __slots__ = ("lock", "users")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.users = 0  # updates holding or waiting for the lock


def chat_key(update: object) -> Hashable | None:
    """The key updates are serialised on: the chat, else the user (inline queries, callback
    queries on inline messages), else None (updates about nobody in particular run freely)."""
    if isinstance(update, Update):
        if update.effective_chat is not None:
            return ("chat", update.effective_chat.id)
        if update.effective_user is not None:
            return ("user", update.effective_user.id)
    return None


def lock_keys(update: object) -> tuple[Hashable, ...]:
    """Every lock an update takes, in the order it takes them: its chat's (``chat_key``), then
    its user's when that is a different key."""
    first = chat_key(update)
    if first is None:
        return ()
    user = update.effective_user if isinstance(update, Update) else None
    if user is None or first == ("user", user.id):
        return (first,)
    return (first, ("user", user.id))


class DialogTurnRunner(Protocol):
    """``bot.dialog_state.DialogTurns``: what runs around each keyed update."""

    def turn(self, update: object) -> contextlib.AbstractAsyncContextManager[None]: ...


@contextlib.asynccontextmanager
async def _closing_unless_awaited(coroutine: Awaitable[Any]) -> AsyncIterator[None]:
    """Close the update's coroutine if we are cancelled (shutdown) before it ever ran, so
    Python does not warn about a coroutine that was never awaited."""
    try:
        yield
    except BaseException:
        if inspect.iscoroutine(coroutine) and inspect.getcoroutinestate(coroutine) == inspect.CORO_CREATED:
            coroutine.close()
        raise


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Runs at most ``max_concurrent_updates`` (the argument) updates at once, one per chat at
    a time."""

    __slots__ = ("_chats", "_dialogs", "_limit", "_running")

    def __init__(self, max_concurrent_updates: int) -> None:
        if max_concurrent_updates < 1:
            raise ValueError("max_concurrent_updates must be a positive integer")
        # The base class's bound is admission (see the module docstring), so it reports
        # ``max_concurrent_updates`` as unbounded; ours is ``running_limit``.
        super().__init__(_UNBOUNDED_ADMISSION)
        self._limit = max_concurrent_updates
        self._running = asyncio.Semaphore(max_concurrent_updates)
        self._chats: dict[Hashable, _ChatSlot] = {}  # chats' and users' slots (lock_keys)
        self._dialogs: DialogTurnRunner | None = None

    def bind_dialogs(self, dialogs: DialogTurnRunner) -> None:
        """Run every keyed update inside ``dialogs.turn`` (see the module docstring)."""
        self._dialogs = dialogs

    @property
    def running_limit(self) -> int:
        """At most this many updates run at once."""
        return self._limit

    @property
    def current_concurrent_updates(self) -> int:
        """Updates running right now (not those waiting for their chat's turn)."""
        return self._limit - self._running._value  # asyncio exposes no public counter

    @property
    def active_chats(self) -> int:
        """Chats (and users) with an update running or waiting; idle ones hold no lock (no
        memory leak)."""
        return len(self._chats)

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = chat_key(update)
        if key is None:
            async with _closing_unless_awaited(coroutine), self._running:
                await coroutine
            return
        async with _closing_unless_awaited(coroutine), self.hold(update):
            if self._dialogs is None:
                await coroutine
            else:
                async with self._dialogs.turn(update):
                    await coroutine

    @contextlib.asynccontextmanager
    async def hold(self, update: object) -> AsyncIterator[None]:
        """This update's turn in this process: its chat's and user's locks (``lock_keys``),
        then a running slot. (``bot.dialog_state`` also runs conversation timeouts in it.)"""
        # Everything up to the first ``lock.acquire`` runs without yielding, so the order in
        # which updates queue on their chat's lock is the order the application handed them to
        # us, and asyncio.Lock wakes waiters first-in first-out.
        keys = lock_keys(update)
        slots = []
        for k in keys:
            slot = self._chats.get(k)
            if slot is None:
                slot = self._chats[k] = _ChatSlot()
            slot.users += 1
            slots.append(slot)
        try:
            async with contextlib.AsyncExitStack() as held:
                for slot in slots:
                    await held.enter_async_context(slot.lock)
                await held.enter_async_context(self._running)
                yield
        finally:
            for k, slot in zip(keys, slots, strict=True):
                slot.users -= 1
                if slot.users == 0:
                    del self._chats[k]

    async def initialize(self) -> None:
        """Locks are made per chat on demand; what is here is start-up's end for the heap.

        Everything the process built to start (the plan, the classifier's word lists, the
        catalogues, python-telegram-bot's objects: some 230,000 tracked objects) lives until it
        stops, yet every full garbage collection walks it: one update in a few hundred paid
        120 ms for that (bench/bench_dialog.py, per-step p99). ``gc.freeze`` moves it out of the
        collector's sight; what is made later is collected as before. The first time also
        collects first, so no garbage of start-up is frozen (later applications in one process,
        as in the tests and benches, only freeze: freezing costs nothing, collecting does)."""
        global _collected_before_freeze
        if not _collected_before_freeze:
            gc.collect()
            _collected_before_freeze = True
        gc.freeze()

    async def shutdown(self) -> None:
        """Nothing to free: a chat's lock goes away when its last update is done."""
