"""Dialog state lives in the database and is read and written per update (SPEC §9, issue 11):
any instance serves any update of a chat, a crash mid-dialog resumes at the same step, and on
PostgreSQL one chat's updates run one at a time across instances.

Two real Applications (tests/support/harness.py) share ONE database, each with its own offline
recording request; updates go through ``application.update_processor`` as the running bot
sends them (the harness's ``send`` calls ``process_update`` directly and skips it).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any, cast

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import Update
from telegram.ext import ApplicationHandlerStop, ConversationHandler, MessageHandler, filters
from telegram.ext._utils.trackingdict import TrackingDict

from bot.concurrency import PerChatUpdateProcessor
from bot.context import BotContext
from bot.dialog_state import DialogTurns, PtbInternalsChanged, conversation_key
from bot.dialogs import complaint
from bot.dialogs.complaint import AREA, EVIDENCE, PLACE, TIME
from bot.i18n import Catalogue
from core.clock import FixedClock
from core.plan import Plan
from storage.dialog_store import encode_key
from storage.models import AttachmentRow, CaseRow, DialogConversationRow, DialogUserDataRow
from tests.bot.test_liaison import CITIZEN, LEAD_UNIT, LIAISON, OFFICE, OFFICE_CHAT, draft
from tests.support.harness import BotHarness, running_harness
from tests.support.recording_request import RecordedCall
from tests.support.updates import TgUser

pytestmark = pytest.mark.filterwarnings(
    "ignore:Ignoring `conversation_timeout`:telegram.warnings.PTBUserWarning"
)

ALONE = TgUser(100_701, "李四", "zh-hans")  # files through one instance only: the yardstick
TRAVELLER = TgUser(100_702, "王二", "zh-hans")  # files through both, in turn
DESCRIPTION = "区政务中心的工作人员上班时间玩手机，办事拖拉，让我跑了三趟"
PLACE_TEXT = "二楼3号窗口"
WHEN_TEXT = "11月20日上午"
CODE_MARK = "<code>"


@dataclass
class Cluster:
    """Instances over one database; ``send`` hands an update to one of them (by default the
    next in turn) through its update processor."""

    nodes: list[BotHarness]
    log: list[tuple[int, RecordedCall]] = field(default_factory=list)  # (node, call), in order
    turn: int = 0

    def pick(self, node: int | None) -> int:
        if node is None:
            node, self.turn = self.turn, (self.turn + 1) % len(self.nodes)
        return node

    async def send_to(self, node: int, make: Any) -> list[RecordedCall]:
        h = self.nodes[node]
        update: Update = make(h)
        mark = h.request.mark()
        processor = h.app.update_processor
        await processor.process_update(update, h.app.process_update(update))
        h.last_calls = h.request.since(mark)
        self.log.extend((node, c) for c in h.last_calls)
        return h.last_calls

    async def say(self, user: TgUser, text: str, node: int | None = None) -> list[RecordedCall]:
        return await self.send_to(self.pick(node), lambda h: h.make.text(user, text))

    async def command(
        self, user: TgUser, name: str, args: str = "", node: int | None = None
    ) -> list[RecordedCall]:
        return await self.send_to(self.pick(node), lambda h: h.make.command(user, name, args))

    async def photo(self, user: TgUser, node: int | None = None) -> list[RecordedCall]:
        return await self.send_to(self.pick(node), lambda h: h.make.photo(user))

    async def click(
        self, user: TgUser, *, label: str | None = None, data: str | None = None, node: int | None = None
    ) -> list[RecordedCall]:
        """Press the newest button with this label (or data) any instance sent to ``user``."""
        for _, call in reversed(self.log):
            if call.chat_id != user.id or call.reply_markup is None:
                continue
            for text, callback_data in call.buttons:
                if (label is not None and text == label) or (data is not None and callback_data == data):
                    assert callback_data is not None
                    return await self.send_to(self.pick(node), pressing(user, call, callback_data))
        raise AssertionError(f"no button {label or data!r} was sent to {user.id}")

    def last_text(self) -> str:
        texts = [c.text for _, c in self.log if c.text]
        assert texts
        return texts[-1]


def pressing(user: TgUser, call: RecordedCall, data: str) -> Any:
    """The press of ``data`` on the message ``call`` sent, as instance ``h`` receives it."""
    return lambda h: h.make.callback(
        user,
        data,
        message_id=call.message_id or 1,
        message_text=call.text or "",
        reply_markup=call.reply_markup,
    )


def share_counters(nodes: list[BotHarness]) -> None:
    """One Telegram: update, message, file and query ids never repeat across the instances."""
    first = nodes[0].make
    for h in nodes[1:]:
        for name in ("_update_ids", "_message_ids", "_file_ids", "_query_ids"):
            setattr(h.make, name, getattr(first, name))


@contextlib.asynccontextmanager
async def cluster(
    plan: Plan, clock: FixedClock, catalogue: Catalogue, url: str, n: int = 2, **settings: Any
) -> AsyncIterator[Cluster]:
    async with contextlib.AsyncExitStack() as stack:
        nodes = [
            await stack.enter_async_context(
                running_harness(plan=plan, clock=clock, catalogue=catalogue, database_url=url, **settings)
            )
            for _ in range(n)
        ]
        share_counters(nodes)
        yield Cluster(nodes)


def label(h: BotHarness, key: str) -> str:
    return h.t("zh", f"complaint.button.{key}")


async def file_a_complaint(c: Cluster, user: TgUser, node: int | None = None) -> None:
    """The happy way through the whole dialog (as tests/bot/test_complaint_dialog.py's
    Citizen goes), every update to ``node`` or, when None, to the next instance in turn."""
    h = c.nodes[0]
    await c.command(user, "new", node=node)
    await c.say(user, DESCRIPTION, node=node)
    await c.click(user, label=label(h, "confirm_area"), node=node)
    await c.click(user, label="区政务中心", node=node)
    await c.say(user, PLACE_TEXT, node=node)
    await c.say(user, WHEN_TEXT, node=node)
    await c.photo(user, node=node)
    await c.photo(user, node=node)
    await c.click(user, label=label(h, "done"), node=node)
    await c.say(user, label(h, "anonymous"), node=node)
    await c.click(user, label=label(h, "submit"), node=node)


def complaint_handler(h: BotHarness) -> ConversationHandler[Any]:
    return next(
        x for x in h.app.handlers[0] if isinstance(x, ConversationHandler) and x.name == complaint.NAME
    )


async def stored_state(h: BotHarness, user: TgUser) -> object | None:
    assert h.deps.session_factory is not None
    async with h.deps.session_factory() as session:
        stmt = select(DialogConversationRow.state).where(
            DialogConversationRow.name == complaint.NAME,
            DialogConversationRow.key == encode_key((user.id, user.id)),
        )
        return (await session.execute(stmt)).scalar_one_or_none()


async def stored_draft(h: BotHarness, user: TgUser) -> dict[str, Any]:
    assert h.deps.session_factory is not None
    async with h.deps.session_factory() as session:
        stmt = select(DialogUserDataRow.data).where(DialogUserDataRow.user_id == user.id)
        data = (await session.execute(stmt)).scalar_one_or_none() or {}
    return cast(dict[str, Any], data.get(complaint.DRAFT_KEY) or {})


async def cases(h: BotHarness) -> list[tuple[Any, ...]]:
    """What a filed complaint is made of, per case, without its ids."""
    assert h.deps.session_factory is not None
    async with h.deps.session_factory() as session:
        evidence = (
            select(func.count())
            .select_from(AttachmentRow)
            .where(AttachmentRow.case_id == CaseRow.id)
            .scalar_subquery()
        )
        rows = await session.execute(
            select(
                CaseRow.area_final,
                CaseRow.description,
                CaseRow.target_unit_id,
                CaseRow.place,
                CaseRow.occurred,
                CaseRow.anonymous,
                evidence,
            ).order_by(CaseRow.id)
        )
        return [tuple(r) for r in rows]


# ---------------------------------------------------------------------------------------------


async def test_a_complaint_dialog_alternating_between_two_instances_files_what_one_instance_files(
    plan: Plan, clock: FixedClock, catalogue: Catalogue, db_url: str
) -> None:
    async with cluster(plan, clock, catalogue, db_url) as c:
        await file_a_complaint(c, ALONE, node=0)
        assert len(await cases(c.nodes[0])) == 1

        await file_a_complaint(c, TRAVELLER)  # 11 updates: instance 0, 1, 0, 1, ...
        assert {n for n, _ in c.log[-30:]} == {0, 1}  # both answered some of its steps

        filed = await cases(c.nodes[1])
        assert len(filed) == 2  # exactly one case more, not zero, not two
        assert filed[1] == filed[0]  # area, description, unit, place, time, anonymity, evidence
        assert filed[1][1:5] == (DESCRIPTION, filed[0][2], PLACE_TEXT, WHEN_TEXT) and filed[1][6] == 2
        # the dialog is over: nothing stored, nothing in the memory of the instance that took
        # the last step (the other's copy is stale, and is replaced at its next turn)
        last = c.log[-1][0]
        assert complaint_handler(c.nodes[last])._conversations.get((TRAVELLER.id, TRAVELLER.id)) is None
        assert await stored_state(c.nodes[0], TRAVELLER) is None
        assert await stored_draft(c.nodes[0], TRAVELLER) == {}
        for h in c.nodes:  # and neither one's flush brings anything back
            await h.app.update_persistence()
        assert await stored_state(c.nodes[0], TRAVELLER) is None
        assert await stored_draft(c.nodes[0], TRAVELLER) == {}


async def test_a_liaison_question_asked_on_one_instance_is_answered_on_the_other(
    plan: Plan, clock: FixedClock, catalogue: Catalogue, db_url: str
) -> None:
    office = {"office_chat_id": OFFICE_CHAT, "office_admin_ids": str(OFFICE.id)}
    async with cluster(plan, clock, catalogue, db_url, **office) as c:
        a, b = c.nodes
        await c.command(OFFICE, "invite", LEAD_UNIT, node=0)
        code = c.last_text().split(CODE_MARK)[1].split("<")[0]
        await c.command(LIAISON, "join", code, node=1)
        filed = await a.deps.services.complaints.file(CITIZEN.id, draft())
        case_id = filed.case.id
        assert case_id is not None
        await c.command(LIAISON, "inbox", node=0)
        await c.click(LIAISON, data=f"lc:view:{case_id}", node=1)
        await c.click(LIAISON, data=f"lc:sign:{case_id}", node=0)

        await c.click(LIAISON, data=f"lc:ext:{case_id}", node=0)  # asked on instance A ...
        assert a.last_text() == a.t("zh", "extension.ask_days", limit=5)
        await c.say(LIAISON, "3", node=1)  # ... answered on instance B
        assert b.last_text() == b.t("zh", "extension.ask_reason")
        await c.say(LIAISON, "需要调取当日监控录像并约谈当事人。", node=0)  # and the next on A
        assert a.last_text().startswith("已提交延期申请（3 个工作日）")
        async with a.deps.uow() as uow:
            case = await uow.cases.get(case_id)
        assert case is not None and case.state.value == "extension_requested"


async def test_an_application_rebuilt_mid_dialog_resumes_at_the_same_step(
    plan: Plan, clock: FixedClock, catalogue: Catalogue, db_url: str
) -> None:
    settings = {"plan": plan, "clock": clock, "catalogue": catalogue, "database_url": db_url}
    dead = contextlib.AsyncExitStack()  # held until the end, or the harness's generator closes
    first = await dead.enter_async_context(running_harness(**settings))
    c = Cluster([first])
    h = first
    await c.command(TRAVELLER, "new")
    await c.say(TRAVELLER, DESCRIPTION)
    await c.click(TRAVELLER, label=label(h, "confirm_area"))
    await c.click(TRAVELLER, label="区政务中心")
    await c.say(TRAVELLER, PLACE_TEXT)
    # written by the update itself, not by a flush: this process never flushed
    assert await stored_state(h, TRAVELLER) == TIME
    assert (await stored_draft(h, TRAVELLER))["place"] == PLACE_TEXT
    # ... and now it dies: no shutdown, no last flush (its engine is simply dropped below)

    async with running_harness(**settings) as second:
        c2 = Cluster([second])
        share_counters([first, second])
        assert complaint_handler(second)._conversations.get((TRAVELLER.id, TRAVELLER.id)) == TIME
        await c2.say(TRAVELLER, WHEN_TEXT)
        assert any(
            second.t("zh", "complaint.ask_evidence").split("{")[0][:20] in t for t in second.texts()
        ), second.texts()
        assert await stored_state(second, TRAVELLER) == EVIDENCE
        draft_now = await stored_draft(second, TRAVELLER)
        assert (draft_now["place"], draft_now["occurred"]) == (PLACE_TEXT, WHEN_TEXT)
        # the dead process's copy is stale, and even its shutdown flush writes none of it
        await dead.aclose()
        assert await stored_state(second, TRAVELLER) == EVIDENCE


async def test_a_step_handled_elsewhere_is_not_undone_by_this_instances_flush(
    plan: Plan, clock: FixedClock, catalogue: Catalogue, db_url: str
) -> None:
    """The "only writer" rule is gone: instance A's stale copy of a chat another instance moved
    on is never written back by A's one-second flush."""
    async with cluster(plan, clock, catalogue, db_url) as c:
        a = c.nodes[0]
        await c.command(TRAVELLER, "new", node=0)
        await c.say(TRAVELLER, DESCRIPTION, node=0)  # A: now at AREA
        await c.click(TRAVELLER, label=label(a, "confirm_area"), node=1)
        await c.click(TRAVELLER, label="区政务中心", node=1)  # B: now at PLACE
        assert complaint_handler(a)._conversations.get((TRAVELLER.id, TRAVELLER.id)) == AREA  # stale
        await a.app.update_persistence()  # A's timer
        assert await stored_state(a, TRAVELLER) == PLACE
        assert (await stored_draft(a, TRAVELLER))["target_unit_id"]
        await c.say(TRAVELLER, PLACE_TEXT, node=0)  # A reads it fresh: the place is taken
        assert await stored_state(a, TRAVELLER) == TIME


async def test_ptb_keeps_conversation_states_and_user_data_where_dialog_state_loads_them(
    plan: Plan, clock: FixedClock, catalogue: Catalogue, migrated_sqlite_url: str
) -> None:
    """The guard for python-telegram-bot's internals bot/dialog_state.py relies on: if a release
    moves them, this fails loudly (and so does the first turn) instead of serving stale state."""
    async with running_harness(
        plan=plan, clock=clock, catalogue=catalogue, database_url=migrated_sqlite_url
    ) as h:
        processor = h.app.update_processor
        assert isinstance(processor, PerChatUpdateProcessor)
        turns = processor._dialogs
        assert isinstance(turns, DialogTurns)
        turns.check_internals()
        persistent = [
            x
            for g in h.app.handlers.values()
            for x in g
            if isinstance(x, ConversationHandler) and x.persistent
        ]
        assert len(persistent) >= 2  # the complaint dialog and the campaign's dialogs
        for handler in persistent:
            states = handler._conversations
            assert isinstance(states, TrackingDict)
            assert h.app._conversation_handler_conversations[str(handler.name)] is states
            states.update_no_track({(1, 1): "probe"})
            assert states.pop_accessed_keys() == set()  # loading is not a change to flush
            states.data.pop((1, 1))
        message, button = h.make.text(TRAVELLER, "x"), h.make.callback(TRAVELLER, "c:x", message_id=7)
        for handler in persistent:
            for update in (message, button):
                assert conversation_key(handler, update) == handler._get_key(update)
        # the state a turn loads decides the handler check_update picks
        handler = complaint_handler(h)
        handler._conversations.update_no_track({(TRAVELLER.id, TRAVELLER.id): PLACE})
        check = handler.check_update(h.make.text(TRAVELLER, PLACE_TEXT))
        assert check is not None and check[0] == PLACE
        # Application.user_data hands out the live dict, creating it
        live = h.app.user_data[TRAVELLER.id]
        live["k"] = 1
        assert h.app._user_data[TRAVELLER.id] is live

        handler._conversations = {}  # what a release that changed the storage would look like
        with pytest.raises(PtbInternalsChanged):
            turns.check_internals()


class StatementCounter:
    def __init__(self, *engines: AsyncEngine) -> None:
        self.statements: list[str] = []
        self._engines = [e.sync_engine for e in engines]

    def _count(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.statements.append(statement.split()[0].upper() + " " + " ".join(statement.split()[1:4]))

    @contextlib.contextmanager
    def counting(self) -> Iterator[list[str]]:
        self.statements = []
        for e in self._engines:
            event.listen(e, "before_cursor_execute", self._count)
        try:
            yield self.statements
        finally:
            for e in self._engines:
                event.remove(e, "before_cursor_execute", self._count)


async def test_a_dialog_step_adds_one_read_and_one_write_of_dialog_rows(
    plan: Plan, clock: FixedClock, catalogue: Catalogue, db_url: str
) -> None:
    """Per update on SQLite: one SELECT of the user's rows, one transaction writing what
    changed. On PostgreSQL two statements in all: one taking the chat's and user's locks and
    then reading the rows (``dialog_turn_open``), one writing what changed, committing and
    releasing the locks (``CALL dialog_turn_close``), on the lock connection."""
    async with cluster(plan, clock, catalogue, db_url, n=1) as c:
        h = c.nodes[0]
        await c.command(TRAVELLER, "new")
        await c.say(TRAVELLER, DESCRIPTION)
        await c.click(TRAVELLER, label=label(h, "confirm_area"))
        await c.click(TRAVELLER, label="区政务中心")
        assert h.deps.session_factory is not None
        engines = [cast(AsyncEngine, h.deps.engine)]
        store = turns_of(h)._store
        if store._locks is not None:
            engines.append(store._locks)
        counter = StatementCounter(*engines)
        with counter.counting() as statements:
            await c.say(TRAVELLER, PLACE_TEXT)  # the place step: a text, no service call
        # the send budget's count of the step's reply (bot/send_budget.py, in the database on
        # PostgreSQL; tests/integration/test_send_budget_shared.py) is not dialog state
        statements = [s for s in statements if "send_budget" not in s]
        dialog = [s for s in statements if "dialog_" in s or "pg_advisory" in s or "UNION" in s]
        pg = store._locks is not None
        if pg:
            assert len(statements) == 2, statements
            assert statements[0].startswith("SELECT * FROM dialog_turn_open("), statements
            assert statements[1].startswith("CALL dialog_turn_close("), statements
        else:
            reads = [s for s in statements if s.startswith("SELECT")]
            writes = [s for s in statements if s.startswith(("INSERT", "DELETE", "UPDATE"))]
            assert len(reads) == 1, statements  # user_data and conversation state in one statement
            assert len(writes) == 2, statements  # the draft and the state, in one transaction
            # and nothing else but the transaction's BEGIN (IMMEDIATE, SQLite's hooks)
            assert len([s for s in statements if not s.startswith("BEGIN")]) == 3, (statements, dialog)
        print(
            f"\nper-step statements ({'postgresql' if pg else 'sqlite'}):",
            json.dumps(statements, ensure_ascii=False),
        )


def turns_of(h: BotHarness) -> DialogTurns:
    processor = h.app.update_processor
    assert isinstance(processor, PerChatUpdateProcessor) and isinstance(processor._dialogs, DialogTurns)
    return processor._dialogs


@pytest.mark.postgres
async def test_two_updates_of_one_chat_sent_to_both_instances_at_once_run_one_after_the_other(
    plan: Plan, clock: FixedClock, catalogue: Catalogue, migrated_pg_url: str
) -> None:
    """The advisory lock: the update given to instance B waits until A's is done, and sees
    what A's wrote (its user_data), though the two instances share no memory."""
    events: list[tuple[str, int, int]] = []

    def probe(node: int) -> MessageHandler[BotContext, None]:
        async def slow(update: Update, context: BotContext) -> None:
            assert context.user_data is not None
            seen = int(context.user_data.get("probe", 0))
            events.append(("start", node, seen))
            await asyncio.sleep(0.3)
            context.user_data["probe"] = seen + 1
            events.append(("end", node, seen))
            raise ApplicationHandlerStop

        return MessageHandler(filters.Regex("^probe$"), slow)

    async with cluster(plan, clock, catalogue, migrated_pg_url) as c:
        for node, h in enumerate(c.nodes):
            h.app.add_handler(probe(node), group=-10)
        await asyncio.gather(c.say(TRAVELLER, "probe", node=0), c.say(TRAVELLER, "probe", node=1))
        assert [e for e, _, _ in events] == ["start", "end", "start", "end"], events  # never overlapping
        assert sorted(seen for e, _, seen in events if e == "start") == [0, 1]  # the second saw the first
        assert {n for _, n, _ in events} == {0, 1}
        async with c.nodes[0].deps.session_factory() as session:  # type: ignore[misc]
            stored = (
                await session.execute(
                    select(DialogUserDataRow.data).where(DialogUserDataRow.user_id == TRAVELLER.id)
                )
            ).scalar_one()
        assert stored["probe"] == 2

        # the control: without the advisory lock the same two updates overlap, and the second
        # reads what the first had not written yet (so the order above was the lock's doing)
        events.clear()
        for h in c.nodes:
            turns_of(h)._store._locks = None  # as on SQLite: in-process locks only
        await asyncio.gather(c.say(TRAVELLER, "probe", node=0), c.say(TRAVELLER, "probe", node=1))
        assert [e for e, _, _ in events] == ["start", "start", "end", "end"], events
        assert [seen for e, _, seen in events if e == "start"] == [2, 2]


@contextlib.asynccontextmanager
async def running_job_queues(c: Cluster) -> AsyncIterator[None]:
    """The dialogs' timers only (no periodic pass), as the running bot has them."""
    queues = [h.app.job_queue for h in c.nodes]
    for q in queues:
        assert q is not None
        for job in q.jobs():
            job.schedule_removal()
        await q.start()
    try:
        yield
    finally:
        for q in queues:
            assert q is not None
            await q.stop()


async def test_a_timeout_left_behind_on_one_instance_does_not_end_a_dialog_that_went_on_elsewhere(
    plan: Plan, clock: FixedClock, catalogue: Catalogue, db_url: str
) -> None:
    key = (TRAVELLER.id, TRAVELLER.id)
    async with cluster(plan, clock, catalogue, db_url) as c, running_job_queues(c):
        a, b = c.nodes
        await c.command(TRAVELLER, "new", node=0)
        await c.say(TRAVELLER, DESCRIPTION, node=0)  # A's timer starts
        await c.click(TRAVELLER, label=label(a, "confirm_area"), node=1)  # B's starts; A's stays
        stale = complaint_handler(a).timeout_jobs[key]
        mark = a.request.mark()
        await stale.run(a.app)  # as if 30 minutes had passed since A's step
        assert a.request.since(mark) == []  # no "your dialog lapsed" from A
        assert key not in complaint_handler(a).timeout_jobs
        assert await stored_state(b, TRAVELLER) == complaint.UNIT  # the dialog goes on
        assert (await stored_draft(b, TRAVELLER))["description"] == DESCRIPTION

        await complaint_handler(b).timeout_jobs[key].run(b.app)  # B's own timer is the real one
        timeout = b.t("zh", "complaint.timeout", minutes=complaint.TIMEOUT_MINUTES)
        assert b.sent_to(TRAVELLER.id)[-1].text == timeout
        assert await stored_state(b, TRAVELLER) is None  # written at once, not by a flush
        assert await stored_draft(b, TRAVELLER) == {}
        await c.say(TRAVELLER, DESCRIPTION, node=0)  # on A, a text is a new complaint again
        assert await stored_state(a, TRAVELLER) == AREA
