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
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import sys
from collections.abc import AsyncIterator, Awaitable, Hashable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

# Admission never blocks: see the module docstring.
_UNBOUNDED_ADMISSION = sys.maxsize


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

    __slots__ = ("_chats", "_limit", "_running")

    def __init__(self, max_concurrent_updates: int) -> None:
        if max_concurrent_updates < 1:
            raise ValueError("max_concurrent_updates must be a positive integer")
        # The base class's bound is admission (see the module docstring), so it reports
        # ``max_concurrent_updates`` as unbounded; ours is ``running_limit``.
        super().__init__(_UNBOUNDED_ADMISSION)
        self._limit = max_concurrent_updates
        self._running = asyncio.Semaphore(max_concurrent_updates)
        self._chats: dict[Hashable, _ChatSlot] = {}

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
        """Chats with an update running or waiting; idle chats hold no lock (no memory leak)."""
        return len(self._chats)

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = chat_key(update)
        if key is None:
            async with _closing_unless_awaited(coroutine), self._running:
                await coroutine
            return
        # Everything up to ``lock.acquire`` runs without yielding, so the order in which updates
        # queue on their chat's lock is the order the application handed them to us, and
        # asyncio.Lock wakes waiters first-in first-out.
        slot = self._chats.get(key)
        if slot is None:
            slot = self._chats[key] = _ChatSlot()
        slot.users += 1
        try:
            async with _closing_unless_awaited(coroutine), slot.lock, self._running:
                await coroutine
        finally:
            slot.users -= 1
            if slot.users == 0:
                del self._chats[key]

    async def initialize(self) -> None:
        """Nothing to allocate: locks are made per chat on demand."""

    async def shutdown(self) -> None:
        """Nothing to free: a chat's lock goes away when its last update is done."""
