"""Dialog state read from the database per update, so any instance serves any update of a chat
(SPEC §9), and a crash or restart mid-dialog resumes at the same step (SPEC §10).

python-telegram-bot keeps conversation states in ``ConversationHandler``'s memory and
``user_data`` in ``Application``'s, and reads its persistence once, at start. We keep its
handlers and the dialogs as they are and change only where the state lives, in the update
processor (``bot.concurrency``), which runs every update as a *turn* (``DialogTurns.turn``):

1. take the chat's (and the user's) lock: in-process always; on PostgreSQL also a session-level
   advisory lock on a dedicated connection (``SqlDialogStore.turn``), so two instances never
   run one chat's updates at once. On SQLite one process is the supported shape and the
   in-process lock is all there is;
2. read this user's ``user_data`` and this chat/user's state in every persistent
   ``ConversationHandler`` (on PostgreSQL in the same statement as 1) and put them where
   python-telegram-bot looks;
3. run the update (``Application.process_update``, unchanged);
4. write what changed at once (one transaction; nothing when nothing changed), then release
   (on PostgreSQL the write, its commit and the release are one round trip).

Why this design rather than a BasePersistence that reads per update: python-telegram-bot asks
its persistence nothing before ``ConversationHandler.check_update`` picks a state, so the state
has to be in memory before the update reaches the handlers; the update processor is the one
place that sees every update first and already holds the chat's lock.

Where python-telegram-bot keeps the state (no public API loads one key, so this is the one
private part, checked by ``check_internals`` at the first turn and by
tests/integration/test_dialog_state_per_update.py, which fail loudly if a release moves it):
``ConversationHandler._conversations``, a ``TrackingDict`` after ``Application.initialize``
(written with ``update_no_track`` / ``.data`` so loading is not taken for a change to flush);
``Application.user_data[user_id]`` (public: the mapping proxy hands out the live dict, filled
in place). The conversation key is built from the handler's public ``per_chat``/``per_user``/
``per_message``, as python-telegram-bot builds it.

Conversation timeouts run as jobs, on the instance that took the step before: if the dialog
went on at another instance since, that job is stale and must neither tell the citizen their
dialog lapsed nor end it. ``DialogJobQueue`` runs each persistent ConversationHandler's timeout
(its ``_trigger_timeout``, scheduled with ``run_once``; checked by the tests) in the chat's
turn, on an event loop timer rather than an APScheduler job (``_Timer``: set and dropped at
every step): under the same locks it reads the rows, and runs the timeout only if they are
still what this process last synced (nobody moved the dialog on since), writing what it
changed at once; otherwise it drops this process's timer (the other instance has its own).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, MutableMapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from telegram import Update
from telegram.ext import Application, CallbackContext, ConversationHandler, Job, JobQueue
from telegram.ext._handlers.conversationhandler import PendingState
from telegram.ext._utils.trackingdict import TrackingDict

from bot.concurrency import lock_keys
from bot.context import Deps
from bot.persistence import EMPTY_JSON, NOT_SYNCED, DialogPersistence, user_data_json
from storage.db import make_engine
from storage.dialog_store import KEEP, ConversationKey, HeldTurn, SqlDialogStore

log = logging.getLogger(__name__)


class PtbInternalsChanged(RuntimeError):
    """python-telegram-bot no longer keeps conversation states where this module loads them."""


def conversation_key(handler: ConversationHandler[Any], update: Update) -> ConversationKey | None:
    """The key ``handler`` files this update's conversation under (as its ``_get_key`` does), or
    None when it would not take the update at all."""
    chat, user = update.effective_chat, update.effective_user
    key: list[Hashable] = []
    if handler.per_chat:
        if chat is None:
            return None
        key.append(chat.id)
    if handler.per_user:
        if user is None:
            return None
        key.append(user.id)
    if handler.per_message:
        query = update.callback_query
        if query is None:
            return None
        if query.inline_message_id:
            key.append(query.inline_message_id)
        elif query.message is not None:
            key.append(query.message.message_id)
        else:
            return None
    return tuple(key)


def _states_of(handler: ConversationHandler[Any]) -> MutableMapping[ConversationKey, object]:
    states = getattr(handler, "_conversations", None)
    if not isinstance(states, TrackingDict):
        raise PtbInternalsChanged(
            f"ConversationHandler {handler.name!r} keeps no TrackingDict in _conversations "
            f"(found {type(states).__name__}): bot/dialog_state.py must follow python-telegram-bot"
        )
    return cast(MutableMapping[ConversationKey, object], states)


def _current(value: object) -> object | None:
    """A state as python-telegram-bot would persist it (a running non-blocking step: the old)."""
    if isinstance(value, PendingState):
        return value.resolve() if value.done() else value.old_state
    return value


@dataclass
class _Loaded:
    user_id: int | None
    user_json: str
    states: dict[tuple[str, ConversationKey], object | None]


class DialogTurns:
    """Loads and stores one chat/user's dialog state around each update (module docstring)."""

    def __init__(self, persistence: DialogPersistence) -> None:
        self._persistence = persistence
        self._store: SqlDialogStore = persistence.store
        self._application: Application[Any, Any, Any, Any, Any, Any] | None = None
        self._handlers: list[ConversationHandler[Any]] = []
        self._checked = False
        self._hold: Callable[[object], contextlib.AbstractAsyncContextManager[None]] | None = None

    def bind(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        hold: Callable[[object], contextlib.AbstractAsyncContextManager[None]] | None = None,
    ) -> None:
        """Call once the handlers are registered; ``hold``: the update processor's in-process
        locks (``PerChatUpdateProcessor.hold``), for the conversation timeouts."""
        self._application = application
        self._hold = hold
        self._handlers = [
            h
            for group in application.handlers.values()
            for h in group
            if isinstance(h, ConversationHandler) and h.persistent and h.name
        ]

    def check_internals(self) -> None:
        """Fail loudly (not silently serve stale state) if python-telegram-bot moved things."""
        app = self._application
        if app is None:
            raise RuntimeError("DialogTurns.bind(application) was not called")
        for handler in self._handlers:
            states = _states_of(handler)
            if not hasattr(states, "update_no_track") or not hasattr(states, "data"):
                raise PtbInternalsChanged("TrackingDict lost update_no_track/data")
        if not isinstance(getattr(app, "_user_data", None), dict):
            raise PtbInternalsChanged("Application.user_data is no longer a view of a defaultdict")
        self._checked = True

    @contextlib.asynccontextmanager
    async def turn(self, update: object) -> AsyncIterator[None]:
        """Lock, load, (the block runs the update), write back, unlock: steps 1-4 above."""
        app = self._application
        if app is None or not isinstance(update, Update):
            yield
            return
        user = update.effective_user
        user_id = user.id if user is not None else None
        wanted = self._wanted(update)
        if user_id is None and not wanted:
            yield
            return
        if not self._checked:
            self.check_internals()
            # from now on turns write every change; the timer's writes could only go stale
            self._persistence.written_by_turns = True
        async with self._store.turn(lock_keys(update), user_id, _names(wanted)) as (held, rows):
            loaded = self._apply(app, user_id, rows.user_data, wanted, rows.conversations)
            try:
                yield
            except Exception:
                # python-telegram-bot hands handler errors to the error handler, so this is
                # rare; what the update did before failing is kept, as the timer would have
                await self._write_back(app, loaded, wanted, held)
                raise
            # cancelled (shutdown): nothing is written, the update did not finish
            await self._write_back(app, loaded, wanted, held)

    def _wanted(self, update: Update) -> list[tuple[ConversationHandler[Any], str, ConversationKey]]:
        wanted = []
        for handler in self._handlers:
            key = conversation_key(handler, update)
            if key is not None:
                wanted.append((handler, cast(str, handler.name), key))
        return wanted

    def guard_timeout(
        self, handler: ConversationHandler[Any], callback: Callable[[Any], Awaitable[Any]]
    ) -> Any:
        """``callback`` (the handler's timeout job) run in the chat's turn, and only if the
        dialog did not go on elsewhere since (module docstring)."""

        async def in_turn(context: CallbackContext[Any, Any, Any, Any]) -> None:
            job = cast(Job[Any], context.job)
            update = getattr(job.data, "update", None)
            key = getattr(job.data, "conversation_key", None)
            if not isinstance(update, Update) or key is None:
                raise PtbInternalsChanged("a conversation timeout's job data has no update/key")
            hold = self._hold(update) if self._hold is not None else contextlib.nullcontext()
            async with hold, self._timeout_turn(update) as stands:
                if stands:
                    await callback(context)
                    return
                if handler.timeout_jobs.get(key) is job:
                    del handler.timeout_jobs[key]
                log.info(
                    "conversation %s: timeout dropped, the dialog went on at another instance", handler.name
                )

        return in_turn

    @contextlib.asynccontextmanager
    async def _timeout_turn(self, update: Update) -> AsyncIterator[bool]:
        """Yields whether the rows are still what this process last synced; if so, writes what
        the block changed, under the locks."""
        app = self._application
        assert app is not None
        user_id = update.effective_user.id if update.effective_user is not None else None
        wanted = self._wanted(update)
        async with self._store.turn(lock_keys(update), user_id, _names(wanted)) as (held, rows):
            user_json = EMPTY_JSON
            if user_id is not None:
                user_json = (
                    user_data_json(user_id, rows.user_data) if rows.user_data else None
                ) or EMPTY_JSON
            moved = user_id is not None and user_json != self._persistence.last_synced_user(user_id)
            states: dict[tuple[str, ConversationKey], object | None] = {}
            for _, name, key in wanted:
                state = rows.conversations.get((name, key))
                states[(name, key)] = state
                synced = self._persistence.last_synced_conversation(name, key)
                moved = moved or (synced is not NOT_SYNCED and synced != state)
            if moved:
                yield False
                return
            yield True
            await self._write_back(app, _Loaded(user_id, user_json, states), wanted, held)

    def _apply(
        self,
        app: Application[Any, Any, Any, Any, Any, Any],
        user_id: int | None,
        user_data: dict[str, Any] | None,
        wanted: list[tuple[ConversationHandler[Any], str, ConversationKey]],
        found: dict[tuple[str, ConversationKey], object],
    ) -> _Loaded:
        user_json = EMPTY_JSON
        if user_id is not None:
            live = app.user_data[user_id]  # the proxy's defaultdict makes the entry if missing
            live.clear()
            if user_data:
                live.update(json.loads(json.dumps(user_data)))  # a private copy, JSON as stored
                user_json = user_data_json(user_id, live) or EMPTY_JSON
            self._persistence.synced_user(user_id, user_json)
        states: dict[tuple[str, ConversationKey], object | None] = {}
        for handler, name, key in wanted:
            conversations = cast(TrackingDict[ConversationKey, object], _states_of(handler))
            if isinstance(conversations.get(key), PendingState):
                states[(name, key)] = _current(conversations.get(key))
                continue  # a non-blocking step of this chat still runs here: it is fresher
            state = found.get((name, key))
            if state is None or state == ConversationHandler.END:
                conversations.data.pop(key, None)
                state = None
            else:
                conversations.update_no_track({key: state})
            states[(name, key)] = state
            self._persistence.synced_conversation(name, key, state)
        return _Loaded(user_id, user_json, states)

    async def _write_back(
        self,
        app: Application[Any, Any, Any, Any, Any, Any],
        loaded: _Loaded,
        wanted: list[tuple[ConversationHandler[Any], str, ConversationKey]],
        held: HeldTurn | None,
    ) -> None:
        """Writes what the update changed; ``held``: the turn's locks (PostgreSQL), which the
        write releases in the same round trip (``SqlDialogStore.write_turn``)."""
        user_data: object = KEEP
        user_json = loaded.user_json
        if loaded.user_id is not None:
            text = user_data_json(loaded.user_id, app.user_data.get(loaded.user_id) or {})
            if text is not None and text != loaded.user_json:
                user_data, user_json = json.loads(text), text
        changed: dict[tuple[str, ConversationKey], object | None] = {}
        for handler, name, key in wanted:
            state = _current(_states_of(handler).get(key))
            if state != loaded.states.get((name, key)):
                changed[(name, key)] = state
        await self._store.write_turn(loaded.user_id, user_data, changed, held)
        if loaded.user_id is not None:
            self._persistence.synced_user(loaded.user_id, user_json)
        for (name, key), state in changed.items():
            self._persistence.synced_conversation(name, key, state)


def _names(
    wanted: list[tuple[ConversationHandler[Any], str, ConversationKey]],
) -> list[tuple[str, ConversationKey]]:
    return [(name, key) for _, name, key in wanted]


class _Timer:
    """Stands in for APScheduler's job under a conversation timeout's ``Job``: an event loop
    timer. python-telegram-bot asks a timeout's job only for its id, ``next_run_time`` and
    ``remove()``; APScheduler's add_job (with its wake-up) and remove_job cost about a tenth of
    every dialog step's CPU (bench/bench_dialog.py), for a timer set and dropped at each step."""

    __slots__ = ("_handle", "_queue", "id", "next_run_time")
    trigger = "timer"

    def __init__(self, queue: DialogJobQueue, job: Job[Any], delay: float) -> None:
        self._queue = queue
        self.id = uuid.uuid4().hex
        due = datetime.now(queue.scheduler.timezone) + timedelta(seconds=delay)
        self.next_run_time: datetime | None = due
        self._handle = asyncio.get_running_loop().call_later(delay, self._fire, job)

    def _fire(self, job: Job[Any]) -> None:
        self._queue.timers.discard(self)
        self.next_run_time = None
        # as APScheduler runs a job: a task of the loop's own, awaited by the queue's stop
        task = asyncio.create_task(job.run(self._queue.application), name=f"Job:{self.id}:timeout")
        self._queue.running.add(task)
        task.add_done_callback(self._queue.running.discard)

    def remove(self) -> None:
        self._handle.cancel()
        self._queue.timers.discard(self)
        self.next_run_time = None


class DialogJobQueue(JobQueue[Any]):
    """python-telegram-bot's JobQueue, but a persistent dialog's timeout runs in its chat's
    turn (``DialogTurns.guard_timeout``) once ``turns`` is set, on a plain event loop timer
    (``_Timer``) while the queue runs."""

    def __init__(self) -> None:
        super().__init__()
        self.turns: DialogTurns | None = None
        self.timers: set[_Timer] = set()  # the timeouts waiting (``jobs()`` lists APScheduler's)
        self.running: set[asyncio.Task[None]] = set()  # the timeouts that fired, still running

    def run_once(  # type: ignore[override]
        self, callback: Any, when: Any, data: object | None = None, **kwargs: Any
    ) -> Job[Any]:
        handler = getattr(callback, "__self__", None)
        is_timeout = getattr(callback, "__func__", None) is ConversationHandler._trigger_timeout
        if (
            self.turns is not None
            and is_timeout
            and isinstance(handler, ConversationHandler)
            and handler.persistent
        ):
            callback = self.turns.guard_timeout(handler, callback)
            delay = when.total_seconds() if isinstance(when, timedelta) else when
            if self.scheduler.running and isinstance(delay, int | float) and not kwargs:
                job = Job(callback=callback, data=data)
                timer = _Timer(self, job, float(delay))
                job._job = cast(Any, timer)  # what Job.schedule_removal, next_t and id read
                self.timers.add(timer)
                return job
        return super().run_once(callback, when, data=data, **kwargs)

    async def stop(self, wait: bool = True) -> None:
        """The timers go with the scheduler's jobs; with ``wait``, the timeouts running finish."""
        for timer in list(self.timers):
            timer.remove()
        if wait and self.running:
            await asyncio.gather(*self.running, return_exceptions=True)
        await super().stop(wait)


def make_dialog_persistence(deps: Deps, running_limit: int) -> DialogPersistence:
    """The persistence over ``deps``' database; on PostgreSQL with its own small AUTOCOMMIT
    engine for the lock connections (see ``SqlDialogStore``), disposed on shutdown. At most
    ``running_limit`` updates run at once, so at most that many lock connections are open."""
    engine, factory = deps.engine, deps.session_factory
    assert engine is not None and factory is not None
    lock_engine = None
    if engine.dialect.name == "postgresql":
        lock_engine = make_engine(
            engine.url,
            isolation_level="AUTOCOMMIT",
            pool_size=min(running_limit, 4),
            max_overflow=running_limit,
        )
        deps.closers.append(lock_engine.dispose)
    return DialogPersistence(SqlDialogStore(factory, deps.clock, lock_engine=lock_engine))
