"""The complaint dialog against a bare python-telegram-bot dialog (issue 11, SPEC §10: "a dialog
update costs little more than a bare handler").

Run from the repository root:

    .venv/bin/python bench/bench_dialog.py [--chats 200] [--dialogs 1000] [--seconds 8] [--detail]

It plays the whole complaint dialog (/new → description → confirm area → unit → place → time →
evidence done → anonymous → submit: nine updates) through the real Application
(``bot.app.build_application`` over ``bot.wiring.make_deps``, started as the running bot starts
it: post_init, persistence flushed every second, the conversation timeout's jobs, the outbox
sender), with Telegram stubbed at the HTTP layer by an offline ``BaseRequest`` that answers
every Bot API call and keeps only each chat's last inline keyboard and text (to press its
buttons) and a count per method, so memory stays flat. Beside it, in the same run, a bare
``ConversationHandler`` of as many steps (/new, then eight texts; each step stores the text in
``user_data`` and replies with one message), without a database.

Each is driven with one chat playing ``--dialogs`` dialogs back to back, and with ``--chats``
chats (each its own user) playing one dialog each, all interleaved. ``--dialogs`` is 1,000 by
default: a step's p99 is taken as the sample at rank ``int(0.99 n)``, which with 50 dialogs is
the slowest one and with 200 the second slowest (a single stall of the machine decides it);
with 1,000 it is the eleventh. A chat sends its next update when its previous one is done, so
each chat's updates are in order. Updates go through the
application's update processor as polling hands them over (ours: ``PerChatUpdateProcessor``,
which runs each update as a turn that reads and writes the dialog state; bare: the default
processor with the same bound, ``max_concurrent_updates``). A chat whose dialog leaves the happy
path (the button to press is missing) stops and is reported as derailed.

Ours runs on a fresh migrated SQLite file (``storage.migrate.upgrade``) and on a fresh
PostgreSQL database next to TEST_DATABASE_URL when that is set (dropped after); skipped, with a
line saying so, otherwise.

Send budget: ``build_application`` always installs ``BudgetRateLimiter`` over the process's
``SendBudget`` (bot/send_budget.py: 30 messages a second overall, one a second per private chat
after a burst of three, 20 a minute per group, shared with the outbox sender and, on PostgreSQL,
counted in the database with the other instances). Ours is measured as built ("limiter on")
and, for the cost of the dialog itself, once more with the bench swapping it out before the
build ("limiter off": ``bot.app.BudgetRateLimiter`` patched in this process only). The bare
dialog runs under the same rules (a ``BudgetRateLimiter`` over an in-memory ``SendBudget`` of its
own) and without. With the limiter on, a run is bound by the budget, not by the code, so it
stops sending after ``--seconds`` (chats finish the update they are in); its updates/s count the
updates done from the first second (the budget's burst allowance) to the stop. Runs without the
limiter play every dialog to the end. One chat with the limiter on is bound by the per-chat
rule (a person answers a prompt in seconds, the bench in microseconds): its figures show the
rule, not the code.

Settings differ from the defaults for the bench only: the per-user flood throttle is disabled
(``throttle_messages=0``: one chat sends hundreds of updates a minute here), and the daily case
limit is lifted (one citizen files ``--dialogs`` cases). The periodic pass's job is removed
(bench/bench_tick.py measures it). Nothing else is changed.

Each run first plays one dialog of a user of its own, not measured (``warm_up``).

It prints, per run: updates/s, ours/bare, p50 and p99 latency per update (from the start of the
update processor's ``process_update`` to its end: the turn, the handlers, the replies, and the
wait for a running slot), Bot API calls and SQL statements per update, CPU time over wall time
(every thread), dialogs done, errors logged and how many log records said "database is locked"
(a logging handler on the root logger). ``--detail`` adds p50/p99 per dialog step and the calls
per method. The issue's targets are printed beside the figures; nothing is asserted.
``--profile`` adds a cProfile of one ours run (SQLite, limiter off, the many-chats case).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import io
import itertools
import json
import logging
import math
import os
import pstats
import sys
import tempfile
import time
import uuid
import warnings
from collections import Counter
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

# the path is set up just above
from sqlalchemy import event, func, select, text  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402
from telegram import Update  # noqa: E402
from telegram.ext import (  # noqa: E402
    Application,
    ApplicationBuilder,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    filters,
)
from telegram.request import BaseRequest, RequestData  # noqa: E402
from telegram.warnings import PTBUserWarning  # noqa: E402

import bot.app as bot_app  # noqa: E402
from bot.app import REPLY_MAX_RETRIES, build_application  # noqa: E402
from bot.evidence_fetch import EVIDENCE_FETCH_JOB_NAME  # noqa: E402
from bot.send_budget import BudgetRateLimiter, SendBudget  # noqa: E402
from bot.tick import PERIODIC_JOB_NAME  # noqa: E402
from bot.warm_start import warmed  # noqa: E402
from bot.wiring import make_deps  # noqa: E402
from core.plan import Plan, load_plan  # noqa: E402
from storage.db import make_engine, make_session_factory, normalise_url  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import CaseRow  # noqa: E402
from tests.support.harness import make_test_settings  # noqa: E402
from tests.support.updates import TgUser, UpdateFactory  # noqa: E402

TOKEN = "123456:BENCH"
BOT_USER = {
    "id": 7_000_000_001,
    "is_bot": True,
    "first_name": "办事难",
    "username": "banshinan_bench_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}
DESCRIPTION = "区政务中心的工作人员上班时间玩手机，办事拖拉，让我跑了三趟"
PLACE_TEXT = "二楼3号窗口"
WHEN_TEXT = "11月20日上午"
UNIT_LABEL = "区政务中心"  # the unit the description suggests
STEPS = 9  # updates per dialog, ours and bare
STEP_NAMES = ("/new", "describe", "area", "unit", "place", "time", "evidence", "identity", "submit")
WARMUP = 1.0  # seconds: the send budget lets the first second's 30 messages through at once
LOCKED = "database is locked"
TARGETS = (
    "targets (issue 11, not asserted): ours ≥ 25% of bare updates/s on PostgreSQL with the send "
    "budget on; p99 per step ≤ 10 ms with one chat; no 'database is locked' with many chats on SQLite"
)


# ---------------------------------------------------------------------------------------------
# Telegram, offline


class OfflineRequest(BaseRequest):
    """Answers every Bot API call like Telegram would, without keeping the calls: a count per
    method, and per chat only the last message that had an inline keyboard (to press it)."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        # chat id -> (message id, text, reply_markup) of the last message with inline buttons
        self.keyboards: dict[int, tuple[int, str, dict[str, Any]]] = {}
        self.last_text: dict[int, str] = {}  # chat id -> the last text sent or edited there
        self._message_ids: Iterator[int] = itertools.count(1001)

    @property
    def read_timeout(self) -> float | None:
        return None

    async def initialize(self) -> None:
        """No network."""

    async def shutdown(self) -> None:
        """No network."""

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        api_method = url.rsplit("/", 1)[-1]
        self.counts[api_method] += 1
        params: dict[str, Any] = dict(request_data.parameters) if request_data is not None else {}
        return 200, json.dumps({"ok": True, "result": self._result(api_method, params)}).encode()

    def _result(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return BOT_USER
        if method in ("sendMessage", "editMessageText"):
            chat_id = int(params["chat_id"])
            markup = params.get("reply_markup")
            if isinstance(markup, str):
                markup = json.loads(markup)
            message_id = int(params["message_id"]) if "message_id" in params else next(self._message_ids)
            message: dict[str, Any] = {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private", "first_name": "user"},
                "from": BOT_USER,
                "text": params.get("text", ""),
            }
            self.last_text[chat_id] = message["text"]
            # Telegram gives back only an inline keyboard in the message (not a reply keyboard)
            if isinstance(markup, dict) and "inline_keyboard" in markup:
                message["reply_markup"] = markup
                self.keyboards[chat_id] = (message_id, message["text"], markup)
            return message
        if method == "getMyCommands":
            return []
        return True  # answerCallbackQuery, setMyCommands, deleteMyCommands, ...

    def button(self, chat_id: int, labels: tuple[str, ...]) -> tuple[int, str, dict[str, Any], str]:
        """The last inline keyboard in ``chat_id``: its message and the data of the first button
        with one of ``labels``."""
        if chat_id not in self.keyboards:
            last = self.last_text.get(chat_id, "")[:80].replace("\n", " ")
            raise Derailed(f"no inline keyboard in this chat yet; the last text: {last!r}")
        message_id, message_text, markup = self.keyboards[chat_id]
        for label in labels:
            for row in markup["inline_keyboard"]:
                for b in row:
                    if b["text"] == label and "callback_data" in b:
                        return message_id, message_text, markup, b["callback_data"]
        shown = [b["text"] for row in markup["inline_keyboard"] for b in row]
        last = self.last_text.get(chat_id, "")[:60].replace("\n", " ")
        raise Derailed(f"no button {labels}; the last keyboard had {shown}; the last text: {last!r}")


class Derailed(Exception):
    """The bot did not answer as the happy path expects (the button to press is missing)."""


# ---------------------------------------------------------------------------------------------
# What is counted: latencies, and the log


class LogCounter(logging.Handler):
    """Counts ERROR+ records, and WARNING+ records that say "database is locked" (in the
    message or its traceback); keeps the first few distinct error lines to show."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.locked = 0
        self.errors = 0
        self.first: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            text += " | " + repr(record.exc_info[1])
            chain: BaseException | None = record.exc_info[1]
            while chain is not None:  # SQLAlchemy wraps the driver's error
                text += " " + str(chain)
                chain = chain.__cause__ or chain.__context__
        if LOCKED in text:
            self.locked += 1
        if record.levelno >= logging.ERROR:
            self.errors += 1
            line = text.splitlines()[0][:200]
            if len(self.first) < 3 and line not in self.first:
                self.first.append(line)

    def reset(self) -> None:
        self.locked, self.errors, self.first = 0, 0, []


class StatementCounter:
    """SQL statements sent by every engine of the process (ours makes its own in make_deps)."""

    def __init__(self) -> None:
        self.count = 0
        event.listen(Engine, "before_cursor_execute", self._seen)

    def _seen(self, *_: object) -> None:
        self.count += 1


STATEMENTS = StatementCounter()


@dataclass
class Result:
    name: str
    drive: Drive
    calls: Counter[str]  # Bot API calls by method, the cut run's drain included
    dialogs_done: int
    errors: int
    locked: int
    first_errors: list[str]
    statements: int = 0  # SQL statements during the run (the persistence's flushes included)

    @property
    def rate(self) -> float:
        return self.drive.rate

    def percentile(self, p: float, latencies: list[float] | None = None) -> float:
        """The ``p`` quantile (0.99: p99) of the latencies, in ms."""
        ordered = sorted(self.drive.latencies if latencies is None else latencies)
        if not ordered:
            return float("nan")
        return 1000 * ordered[min(len(ordered) - 1, int(p * len(ordered)))]


# ---------------------------------------------------------------------------------------------
# Driving: one coroutine per chat, each update after the previous one is done


Step = Callable[[TgUser], Update]


@dataclass
class Drive:
    """Plays dialogs: one coroutine per chat, each update sent when the chat's previous one is
    done. Stops sending after ``seconds``."""

    app: Application[Any, Any, Any, Any, Any, Any]
    seconds: float
    latencies: list[float] = field(default_factory=list)
    by_step: dict[int, list[float]] = field(default_factory=dict)
    finished: list[float] = field(default_factory=list)  # when each update was done (s after start)
    derailed: list[str] = field(default_factory=list)  # one line per chat that left the happy path
    start: float = 0.0
    cut: bool = False
    cpu_share: float = 0.0

    async def one(self, update: Update, index: int) -> None:
        # as polling hands an update over (Application._update_fetcher): the processor's
        # process_update around the application's; timed from its start to its end, so it
        # includes what the processor does around the handlers (our chat's turn: dialog state
        # read and written) and the wait for one of the running slots
        start = time.perf_counter()
        try:
            await self.app.update_processor.process_update(update, self.app.process_update(update))
        finally:
            end = time.perf_counter()
            self.latencies.append(end - start)
            self.by_step.setdefault(index, []).append(end - start)
            if end - self.start <= self.seconds:
                self.finished.append(end - self.start)

    async def chat(self, user: TgUser, dialogs: int, steps: list[Step]) -> None:
        for _ in range(dialogs):
            for index, step in enumerate(steps):
                if time.perf_counter() - self.start >= self.seconds:
                    self.cut = True
                    return
                try:
                    update = step(user)
                except Derailed as exc:
                    self.derailed.append(f"chat {user.id} at {STEP_NAMES[index]}: {exc}")
                    return
                await self.one(update, index)

    async def run(self, users: list[TgUser], dialogs: int, steps: list[Step]) -> None:
        self.start, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(self.chat(user, dialogs, steps) for user in users))
        wall = time.perf_counter() - self.start
        # the process's CPU time (every thread: aiosqlite runs SQLite in one) over the wall time
        self.cpu_share = (time.process_time() - cpu) / wall

    @property
    def rate(self) -> float:
        """Updates done per second. A run cut at ``seconds`` is bound by the send budget: its
        first second (the rate limiter's burst allowance) is left out."""
        if not self.finished:
            return 0.0
        if self.cut:
            steady = [t for t in self.finished if t > WARMUP]
            return len(steady) / (self.seconds - WARMUP)
        return len(self.finished) / self.finished[-1]


async def warm_up(app: Application[Any, Any, Any, Any, Any, Any], steps: list[Step]) -> None:
    """One dialog of a user of its own, not measured: what a process does once (the command
    menus, the classifier's word lists, the first statements' plans) is not a step's cost."""
    drive = Drive(app, math.inf)
    await drive.run(users_from(590_000_001, 1), 1, steps)
    if drive.derailed:
        raise RuntimeError(f"the warm-up dialog derailed: {drive.derailed[0]}")


def users_from(first_id: int, n: int) -> list[TgUser]:
    return [TgUser(first_id + i, "张三", "zh-hans") for i in range(n)]


# ---------------------------------------------------------------------------------------------
# Ours


@contextlib.contextmanager
def limiter(on: bool) -> Iterator[None]:
    """``on``: as built. Off: ``build_application`` gets no rate limiter (None is what the
    builder holds when none is set)."""
    if on:
        yield
    else:
        with mock.patch.object(bot_app, "BudgetRateLimiter", lambda *_, **__: None):
            yield


def ours_steps(request: OfflineRequest, make: UpdateFactory, labels: dict[str, str]) -> list[Step]:
    def click(*names: str) -> Step:
        def step(user: TgUser) -> Update:
            message_id, message_text, markup, data = request.button(user.id, names)
            return make.callback(
                user, data, message_id=message_id, message_text=message_text, reply_markup=markup
            )

        return step

    return [
        lambda u: make.command(u, "new"),
        lambda u: make.text(u, DESCRIPTION),
        click(labels["confirm_area"]),
        click(UNIT_LABEL),
        lambda u: make.text(u, PLACE_TEXT),
        lambda u: make.text(u, WHEN_TEXT),
        click(labels["done"], labels["skip_evidence"]),  # "done" once there is evidence
        lambda u: make.text(u, labels["anonymous"]),
        click(labels["submit"]),
    ]


async def count_cases(url: str) -> int:
    engine = make_engine(url)
    try:
        async with make_session_factory(engine)() as session:
            return int((await session.execute(select(func.count()).select_from(CaseRow))).scalar_one())
    finally:
        await engine.dispose()


@contextlib.asynccontextmanager
async def running(app: Application[Any, Any, Any, Any, Any, Any]) -> AsyncIterator[None]:
    """Initialise and start as ``run_polling`` does (without polling): post_init, the
    persistence's flushes and the job queue; then stop and shut down."""
    await app.initialize()
    try:
        if app.post_init is not None:
            await app.post_init(app)
        if app.job_queue is not None:
            for job in app.job_queue.get_jobs_by_name(PERIODIC_JOB_NAME):
                job.schedule_removal()  # measured by bench/bench_tick.py, not here
            for job in app.job_queue.get_jobs_by_name(EVIDENCE_FETCH_JOB_NAME):
                job.schedule_removal()  # downloads are no part of a dialog's time
        await app.start()
        await warmed()  # jieba loaded, as in a long-running bot a second after its start (bot.warm_start)
        try:
            yield
        finally:
            await app.stop()
    finally:
        await app.shutdown()
        if app.post_shutdown is not None:
            await app.post_shutdown(app)


async def run_ours(
    name: str,
    url: str,
    plan: Plan,
    users: list[TgUser],
    dialogs: int,
    *,
    on: bool,
    seconds: float,
    log: LogCounter,
) -> Result:
    settings = make_test_settings(
        url, bot_token=TOKEN, throttle_messages=0, daily_case_limit=10 * len(users) * dialogs
    )
    deps = make_deps(settings, plan)
    request = OfflineRequest()
    with limiter(on):
        app = build_application(settings, deps, request=request, start_sender=True)
    labels = {
        key: deps.catalogue.t("zh", f"complaint.button.{key}")
        for key in ("confirm_area", "done", "skip_evidence", "anonymous", "submit")
    }
    drive = Drive(app, seconds)
    async with running(app):
        steps = ours_steps(request, make=UpdateFactory(app.bot), labels=labels)
        await warm_up(app, steps)
        before = await count_cases(url)
        request.counts.clear()
        log.reset()
        statements = STATEMENTS.count
        await drive.run(users, dialogs, steps)
        statements = STATEMENTS.count - statements
    filed = await count_cases(url) - before
    return Result(name, drive, request.counts, filed, log.errors, log.locked, list(log.first), statements)


# ---------------------------------------------------------------------------------------------
# Bare


def bare_application(
    request: OfflineRequest, *, on: bool, bound: int
) -> Application[Any, Any, Any, Any, Any, Any]:
    """/new, then eight texts: each step stores the text in user_data and replies once."""

    def step(i: int) -> Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, int]]:
        async def callback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
            assert update.message is not None and context.user_data is not None
            context.user_data[f"step{i}"] = update.message.text
            await update.message.reply_text(f"step {i} ok")
            if i == STEPS - 1:
                context.bot_data["finished"] += 1
                return ConversationHandler.END
            return i + 1

        return callback

    text = filters.TEXT & ~filters.COMMAND
    conversation = ConversationHandler(
        entry_points=[CommandHandler("new", step(0))],
        states={i: [MessageHandler(text, step(i))] for i in range(1, STEPS)},
        fallbacks=[],
    )
    # typed Any: the builder's type changes with the rate limiter's argument type
    builder: Any = ApplicationBuilder().token(TOKEN).request(request).get_updates_request(request)
    builder = builder.concurrent_updates(bound)  # the same bound as ours, max_concurrent_updates
    if on:
        builder = builder.rate_limiter(BudgetRateLimiter(SendBudget(), max_retries=REPLY_MAX_RETRIES))
    app: Application[Any, Any, Any, Any, Any, Any] = builder.build()
    app.add_handler(conversation)
    app.bot_data["finished"] = 0
    return app


def bare_steps(make: UpdateFactory) -> list[Step]:
    def say(words: str) -> Step:
        return lambda user: make.text(user, words)

    texts = [DESCRIPTION, "确认", UNIT_LABEL, PLACE_TEXT, WHEN_TEXT, "完成", "匿名", "提交"]
    return [lambda user: make.command(user, "new"), *(say(words) for words in texts)]


async def run_bare(
    name: str, users: list[TgUser], dialogs: int, *, on: bool, seconds: float, bound: int, log: LogCounter
) -> Result:
    request = OfflineRequest()
    app = bare_application(request, on=on, bound=bound)
    log.reset()
    drive = Drive(app, seconds)
    async with running(app):
        steps = bare_steps(UpdateFactory(app.bot))
        await warm_up(app, steps)
        app.bot_data["finished"] = 0
        request.counts.clear()
        await drive.run(users, dialogs, steps)
    return Result(
        name, drive, request.counts, app.bot_data["finished"], log.errors, log.locked, list(log.first)
    )


# ---------------------------------------------------------------------------------------------
# The run


def show(result: Result, bare: Result | None, detail: bool) -> None:
    drive = result.drive
    ratio = f"{result.rate / bare.rate:6.1%}" if bare is not None and bare.rate else "     -"
    cut = f"  (stopped at {drive.seconds:g} s)" if drive.cut else ""
    derailed = f"  derailed {len(drive.derailed)}" if drive.derailed else ""
    per_update = result.calls.total() / max(1, len(drive.latencies))
    sql = f"  {result.statements / max(1, len(drive.latencies)):4.1f} sql/upd" if result.statements else ""
    print(
        f"  {result.name:28} {result.rate:7.1f} upd/s  ours/bare {ratio}"
        f"  p50 {result.percentile(0.50):7.2f} ms  p99 {result.percentile(0.99):8.2f} ms"
        f"  {len(drive.latencies):>5} upd  {per_update:4.2f} calls/upd{sql}"
        f"  cpu {drive.cpu_share:4.0%}  dialogs done {result.dialogs_done}{derailed}"
        f"  errors {result.errors}  '{LOCKED}' {result.locked}{cut}"
    )
    for line in result.first_errors:
        print(f"      error: {line}")
    for line in drive.derailed[:3]:
        print(f"      derailed: {line}")
    if detail:
        steps = "  ".join(
            f"{STEP_NAMES[i]} {result.percentile(0.5, took):.2f}/{result.percentile(0.99, took):.2f}"
            for i, took in sorted(drive.by_step.items())
        )
        print(f"      per step p50/p99 ms: {steps}")
        print(f"      Bot API calls: {dict(result.calls.most_common())}")


@dataclass
class Scenario:
    label: str
    users: list[TgUser]
    dialogs: int


def modes(args: argparse.Namespace) -> list[tuple[bool, float]]:
    """(limiter on?, seconds to run): with the limiter on a run is bound by the send budget and
    stops after --seconds; without, it plays every dialog to the end."""
    return [(on, args.seconds if on else math.inf) for on in (True, False)]


async def bench_backend(
    backend: str,
    url: str,
    plan: Plan,
    scenarios: list[Scenario],
    bare: dict[tuple[str, bool], Result],
    args: argparse.Namespace,
    log: LogCounter,
) -> None:
    for scenario in scenarios:
        for on, seconds in modes(args):
            name = f"ours {scenario.label}, " + ("limiter on" if on else "limiter off")
            result = await run_ours(
                name, url, plan, scenario.users, scenario.dialogs, on=on, seconds=seconds, log=log
            )
            show(result, bare.get((scenario.label, on)), args.detail)


async def run(args: argparse.Namespace) -> None:
    pg = os.environ.get("TEST_DATABASE_URL")
    print(
        ("TEST_DATABASE_URL=... " if pg else "")
        + f".venv/bin/python bench/bench_dialog.py --chats {args.chats} --dialogs {args.dialogs}"
        f" --seconds {args.seconds:g}"
    )
    print(f"  {TARGETS}")
    print(
        "  (throttle off: throttle_messages=0; daily case limit lifted; periodic job removed;"
        " 'limiter off' for ours is the bench's patch, the Application always has BudgetRateLimiter)"
    )
    log = LogCounter()
    logging.getLogger().addHandler(log)
    plan = load_plan(REPO / "plans" / "zhuhui-2014.toml")
    scenarios = [
        Scenario(f"1 chat x {args.dialogs}", users_from(500_000_001, 1), args.dialogs),
        Scenario(f"{args.chats} chats x 1", users_from(510_000_001, args.chats), 1),
    ]
    bound = make_test_settings("sqlite://").max_concurrent_updates

    print("bare python-telegram-bot ConversationHandler, no database:")
    bare: dict[tuple[str, bool], Result] = {}
    for scenario in scenarios:
        for on, seconds in modes(args):
            name = f"bare {scenario.label}, " + ("limiter on" if on else "limiter off")
            result = await run_bare(
                name, scenario.users, scenario.dialogs, on=on, seconds=seconds, bound=bound, log=log
            )
            bare[(scenario.label, on)] = result
            show(result, None, args.detail)

    with tempfile.TemporaryDirectory(prefix="bench-dialog-") as tmp:
        sqlite_url = f"sqlite+aiosqlite:///{Path(tmp) / 'dialog.db'}"
        await upgrade(sqlite_url)
        print("ours on SQLite (a fresh migrated file):")
        await bench_backend("sqlite", sqlite_url, plan, scenarios, bare, args, log)
        if args.profile:
            await profile(sqlite_url, plan, scenarios[1], log)

    if not pg:
        print(
            "ours on PostgreSQL: skipped (set TEST_DATABASE_URL=postgresql+asyncpg://... to measure it too)"
        )
        return
    base = normalise_url(pg)
    name = f"bench_dialog_{uuid.uuid4().hex[:8]}"
    admin = make_engine(base, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.set(database=name).render_as_string(hide_password=False)
    try:
        await upgrade(url)
        print(f"ours on PostgreSQL (a fresh database {name}, dropped after):")
        await bench_backend("postgresql", url, plan, scenarios, bare, args, log)
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


async def profile(url: str, plan: Plan, scenario: Scenario, log: LogCounter) -> None:
    """cProfile of one ours run: the many-chats case on SQLite, limiter off. Only the event
    loop's thread is profiled (SQLite itself runs in aiosqlite's thread)."""
    users = users_from(520_000_001, len(scenario.users))
    profiler = cProfile.Profile()
    profiler.enable()
    result = await run_ours("ours (profiled)", url, plan, users, 1, on=False, seconds=math.inf, log=log)
    profiler.disable()
    show(result, None, True)
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(30)
    print(out.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=200, help="concurrent chats, one dialog each")
    parser.add_argument(
        "--dialogs",
        type=int,
        default=1000,
        help="dialogs played back to back in one chat (p99: the 11th slowest)",
    )
    parser.add_argument(
        "--seconds", type=float, default=8.0, help="runs with the rate limiter on stop after this long"
    )
    parser.add_argument("--detail", action="store_true", help="latency per dialog step, calls per method")
    parser.add_argument("--profile", action="store_true", help="cProfile one ours run (SQLite, limiter off)")
    warnings.filterwarnings("ignore", category=PTBUserWarning)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
