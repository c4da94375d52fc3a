"""The outbox sender: rendering in the recipient's language, order per chat, Telegram's limits,
RetryAfter, back-off, the dead-letter and blocked states, and the application's wiring.

The sender talks to a real ``telegram.Bot`` over the offline ``RecordingRequest``; the outbox is
the in-memory fake; pacing runs on virtual time (``VirtualTime``), so "one second per chat" is
checked to the millisecond without waiting for it.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from base64 import b64encode
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from telegram import Bot
from telegram.error import TimedOut

from bot.app import build_application
from bot.i18n import Catalogue
from bot.rendering import render
from bot.sender import SENDER_LEASE, OutboxSender, RetryPolicy, SendLimits, drain_once
from bot.wiring import make_deps
from core.clock import FixedClock
from core.notices import Button, Notice
from core.outbox import OutboxMessage, OutboxState
from core.plan import Plan
from tests.fakes import FakeStore, fake_uow_factory
from tests.support.harness import TEST_TOKEN, make_test_settings
from tests.support.recording_request import ApiError, RecordedCall, RecordingRequest

ZH_USER, EN_USER, OTHER_USER = 100_001, 100_002, 100_003
GROUP = -1_001_234_567_890

TEXTS = {
    "zh": {
        "t.case": "{name}：您的投诉 <code>{tracking_no}</code> {state_key}。涉及：{units}",
        "t.plain": "通知",
        "s.assigned": "已交办",
        "u.a": "区政务中心",
        "u.b": "区纪委",
        "b.rate": "评价 {tracking_no}",
        "b.unit": "{unit}",
        "list.separator": "、",
    },
    "en": {
        "t.case": "{name}: your complaint <code>{tracking_no}</code> is {state_key}. Units: {units}",
        "t.plain": "Notice",
        "s.assigned": "assigned",
        "u.a": "Government Service Centre",
        "u.b": "Discipline Commission",
        "b.rate": "Rate {tracking_no}",
        "b.unit": "{unit}",
        "list.separator": ", ",
    },
}


class VirtualTime:
    """Monotonic time for the pacer that moves only when the sender sleeps."""

    def __init__(self) -> None:
        self.t = 1000.0

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.t += max(0.0, seconds)
        await asyncio.sleep(0)


class Rig:
    """A sender over a fake outbox and a recording request, with helpers to fill and read."""

    def __init__(self, clock: FixedClock, catalogue: Catalogue) -> None:
        self.clock = clock
        self.catalogue = catalogue
        self.store = FakeStore()
        self.uow = fake_uow_factory(self.store)
        self.request = RecordingRequest()
        self.bot = Bot(TEST_TOKEN, request=self.request, get_updates_request=self.request)
        self.time = VirtualTime()
        self.sent_at: list[tuple[int, float]] = []  # (chat, virtual time) of each delivery
        self._failures: list[list[Any]] = []  # [text or None, error, times left or None]

        def respond(request: RecordingRequest, params: dict[str, Any]) -> Any:
            for failure in self._failures:
                text, error, left = failure
                if (text is None or params.get("text") == text) and (left is None or left > 0):
                    if left is not None:
                        failure[2] = left - 1
                    raise error
            self.sent_at.append((int(params["chat_id"]), self.time.now()))
            return request._default_result("sendMessage", params)

        self.request.respond("sendMessage", respond)

    def fail(self, error: Exception, *, text: str | None = None, times: int | None = None) -> None:
        """sendMessage fails with ``error`` (for the message ``text`` only, if given), ``times``
        times or always; everything else is delivered."""
        self._failures.append([text, error, times])

    def sender(self, **options: Any) -> OutboxSender:
        options.setdefault("worker_id", "test-sender")
        return OutboxSender(
            self.bot,
            self.uow,
            self.clock,
            self.catalogue,
            monotonic=self.time.now,
            sleep=self.time.sleep,
            **options,
        )

    async def users(self, **languages: str) -> None:
        ids = {"zh": ZH_USER, "en": EN_USER}
        async with self.uow() as uow:
            for name, lang in languages.items():
                await uow.users.upsert(ids[name], now=self.clock.now(), chat_id=ids[name], language=lang)
            await uow.commit()

    async def enqueue(self, *messages: Notice | OutboxMessage) -> list[bool]:
        added = []
        async with self.uow() as uow:
            for m in messages:
                message = m.to_outbox(self.clock.now()) if isinstance(m, Notice) else m
                added.append(await uow.outbox.add(message))
            await uow.commit()
        return added

    def delivered(self) -> list[RecordedCall]:
        """Calls Telegram accepted, in order."""
        return [c for c in self.request.calls if c.method.startswith("send") and isinstance(c.result, dict)]

    def texts_to(self, chat_id: int) -> list[str]:
        return [c.text or "" for c in self.delivered() if c.chat_id == chat_id]

    def outbox(self) -> list[OutboxMessage]:
        return [self.store.outbox[k] for k in sorted(self.store.outbox)]

    def states(self) -> list[OutboxState]:
        return [m.state for m in self.outbox()]


def plain(chat_id: int, text: str, **fields: Any) -> OutboxMessage:
    created_at = fields.pop("created_at")
    return OutboxMessage(chat_id, "sendMessage", {"text": text}, created_at, **fields)


@pytest.fixture
def small_catalogue() -> Catalogue:
    return Catalogue(TEXTS)


@pytest.fixture
def rig(clock: FixedClock, small_catalogue: Catalogue) -> Rig:
    return Rig(clock, small_catalogue)


def case_notice(chat_id: int, user_id: int | None, **changes: Any) -> Notice:
    fields: dict[str, Any] = {
        "chat_id": chat_id,
        "user_id": user_id,
        "text_key": "t.case",
        "params": {
            "name": "张三 <Zhang> & Co",
            "tracking_no": "ZH-2026-000001",
            "state_key": "s.assigned",
            "units_keys": ["u.a", "u.b"],
        },
        "buttons": [
            [Button("b.rate", "rate:1", {"tracking_no": "ZH-2026-000001"})],
            [Button("b.unit", "unit:a&b", {"unit": "A&B <x>"})],
        ],
    }
    fields.update(changes)
    return Notice(**fields)


# -- rendering -----------------------------------------------------------------------------------


async def test_a_notice_is_rendered_in_each_recipients_language_with_its_buttons(rig: Rig) -> None:
    await rig.users(zh="zh", en="en")
    await rig.enqueue(case_notice(ZH_USER, ZH_USER), case_notice(EN_USER, EN_USER))

    result = await rig.sender().drain_once()

    assert (result.sent, result.retried, result.dead, result.blocked) == (2, 0, 0, 0)
    zh, en = (next(c for c in rig.delivered() if c.chat_id == user) for user in (ZH_USER, EN_USER))
    # user text escaped, the state and unit keys rendered in the same language
    assert zh.text == (
        "张三 &lt;Zhang&gt; &amp; Co：您的投诉 <code>ZH-2026-000001</code> 已交办。涉及：区政务中心、区纪委"
    )
    assert en.text == (
        "张三 &lt;Zhang&gt; &amp; Co: your complaint <code>ZH-2026-000001</code> is assigned. "
        "Units: Government Service Centre, Discipline Commission"
    )
    # button labels are plain text: what the user typed, not its HTML escape
    assert zh.buttons == [("评价 ZH-2026-000001", "rate:1"), ("A&B <x>", "unit:a&b")]
    assert en.buttons == [("Rate ZH-2026-000001", "rate:1"), ("A&B <x>", "unit:a&b")]
    assert zh.params["parse_mode"] == "HTML" and zh.params["link_preview_options"] == {"is_disabled": True}
    assert rig.states() == [OutboxState.SENT, OutboxState.SENT]
    assert all(m.sent_at == rig.clock.now() for m in rig.outbox())


async def test_a_language_switched_after_enqueueing_is_the_one_used(rig: Rig) -> None:
    await rig.users(zh="zh")
    await rig.enqueue(case_notice(ZH_USER, ZH_USER))
    async with rig.uow() as uow:
        await uow.users.set_language(ZH_USER, "en")
        await uow.commit()

    await rig.sender().drain_once()

    assert rig.texts_to(ZH_USER)[0].startswith("张三 &lt;Zhang&gt; &amp; Co: your complaint")


async def test_group_chats_and_unknown_users_get_the_default_language(rig: Rig) -> None:
    await rig.enqueue(case_notice(GROUP, None), case_notice(OTHER_USER, OTHER_USER))

    await rig.sender().drain_once()

    assert "已交办" in rig.texts_to(GROUP)[0]
    assert "已交办" in rig.texts_to(OTHER_USER)[0]


async def test_plain_text_goes_as_is_and_other_payload_keys_pass_through(rig: Rig) -> None:
    digest = OutboxMessage(
        chat_id=GROUP,
        method="sendMessage",
        payload={"text": "<b>周报</b> 3 件", "disable_notification": True, "protect_content": True},
        created_at=rig.clock.now(),
    )
    await rig.enqueue(digest)

    await rig.sender().drain_once()

    (call,) = rig.delivered()
    assert call.text == "<b>周报</b> 3 件"
    assert call.params["disable_notification"] is True and call.params["protect_content"] is True
    assert call.params["parse_mode"] == "HTML"


async def test_a_file_made_by_the_bot_is_uploaded_from_the_row(rig: Rig) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"chart" * 10
    chart = OutboxMessage(
        chat_id=GROUP,
        method="sendPhoto",
        payload={
            "caption": "周报",
            "files": {
                "photo": {"filename": "weekly.png", "mime": "image/png", "base64": b64encode(png).decode()}
            },
        },
        created_at=rig.clock.now(),
    )
    broken = OutboxMessage(
        chat_id=GROUP + 1,
        method="sendDocument",
        payload={"files": {"document": {"filename": "x.xlsx", "base64": "not base64!"}}},
        created_at=rig.clock.now(),
    )
    await rig.enqueue(chart, broken)

    await rig.sender().drain_once()

    (call,) = [c for c in rig.request.calls if c.method == "sendPhoto"]
    (upload,) = call.files.values()
    assert (upload.filename, upload.content) == ("weekly.png", png)
    assert OutboxState.DEAD in rig.states()  # a malformed file is dead at once, never retried


def test_a_text_key_on_a_photo_becomes_its_caption(small_catalogue: Catalogue, clock: FixedClock) -> None:
    message = OutboxMessage(
        chat_id=ZH_USER,
        method="sendPhoto",
        payload={"photo": "AgADBAAD", "text_key": "t.plain", "user_id": ZH_USER},
        created_at=clock.now(),
    )
    call = render(message, small_catalogue, "en")
    assert call.method == "sendPhoto"
    assert call.params == {"chat_id": ZH_USER, "photo": "AgADBAAD", "caption": "Notice", "parse_mode": "HTML"}


async def test_the_real_catalogue_renders_a_services_notice(clock: FixedClock, catalogue: Catalogue) -> None:
    rig = Rig(clock, catalogue)
    await rig.users(en="en")
    await rig.enqueue(Notice(EN_USER, "start.greeting", {"name": "Alice & Bob"}, user_id=EN_USER))
    await rig.sender().drain_once()
    assert rig.texts_to(EN_USER) == [catalogue.t("en", "start.greeting", name="Alice & Bob")]
    assert "Alice &amp; Bob" in rig.texts_to(EN_USER)[0]


# -- order and pacing ----------------------------------------------------------------------------


async def test_each_chat_gets_its_messages_in_order_one_second_apart(rig: Rig) -> None:
    now = rig.clock.now()
    await rig.enqueue(
        plain(ZH_USER, "A1", created_at=now),
        plain(EN_USER, "B1", created_at=now),
        plain(ZH_USER, "A2", created_at=now),
        plain(ZH_USER, "A3", created_at=now),
        plain(EN_USER, "B2", created_at=now),
    )

    result = await rig.sender().drain_once()

    assert result.sent == 5
    assert rig.texts_to(ZH_USER) == ["A1", "A2", "A3"]
    assert rig.texts_to(EN_USER) == ["B1", "B2"]
    a_times = [t for chat, t in rig.sent_at if chat == ZH_USER]
    assert all(later - earlier >= 1.0 for earlier, later in itertools.pairwise(a_times))
    # the other chat does not wait for the first one's second
    b_times = [t for chat, t in rig.sent_at if chat == EN_USER]
    assert b_times[0] - a_times[0] < 0.1


async def test_no_more_than_thirty_messages_go_out_in_any_second(rig: Rig) -> None:
    now = rig.clock.now()
    await rig.enqueue(*(plain(200_000 + n, f"fan-out {n}", created_at=now) for n in range(64)))

    result = await rig.sender().drain_once()

    assert result.sent == 64
    times = sorted(t for _, t in rig.sent_at)
    assert all(times[i + 30] - times[i] >= 1.0 for i in range(len(times) - 30))
    # and not much slower than that: about 29 a second
    assert 63 / (times[-1] - times[0]) > 28.5


async def test_a_group_gets_twenty_messages_a_minute_and_the_rest_waits(rig: Rig) -> None:
    now = rig.clock.now()
    await rig.enqueue(*(plain(GROUP, f"g{n}", created_at=now) for n in range(25)))
    sender = rig.sender()

    first = await sender.drain_once()
    assert first.sent == 20
    assert rig.states().count(OutboxState.PENDING) == 5

    rig.time.t += 61  # a minute later the group's window has room again
    second = await sender.drain_once()
    assert second.sent == 5
    assert rig.texts_to(GROUP) == [f"g{n}" for n in range(25)]
    times = [t for _, t in rig.sent_at]
    assert all(times[i + 20] - times[i] >= 60.0 for i in range(len(times) - 20))


async def test_a_message_not_yet_due_is_not_sent(rig: Rig) -> None:
    morning = rig.clock.now() + timedelta(hours=14)  # quiet hours: tomorrow morning
    await rig.enqueue(plain(ZH_USER, "tomorrow", created_at=rig.clock.now(), not_before=morning))
    sender = rig.sender()

    result = await sender.drain_once()

    assert result.total == 0 and rig.request.calls == []
    rig.clock.set(morning)
    assert (await sender.drain_once()).sent == 1
    assert rig.texts_to(ZH_USER) == ["tomorrow"]


async def test_a_message_scheduled_for_later_does_not_hold_back_its_chat(rig: Rig) -> None:
    now = rig.clock.now()
    await rig.enqueue(
        plain(ZH_USER, "reminder tomorrow", created_at=now, not_before=now + timedelta(days=1)),
        plain(ZH_USER, "now", created_at=now),
    )
    await rig.sender().drain_once()
    assert rig.texts_to(ZH_USER) == ["now"]


async def test_the_same_dedup_key_twice_sends_one_message(rig: Rig) -> None:
    notice = case_notice(ZH_USER, ZH_USER, dedup_key="remind:ZH-2026-000001:sign:blue")
    assert await rig.enqueue(notice) == [True]
    assert await rig.enqueue(notice) == [False]

    result = await rig.sender().drain_once()

    assert result.sent == 1 and len(rig.delivered()) == 1


# -- failures ------------------------------------------------------------------------------------


# python-telegram-bot's own RetryAfter constructor warns about its int-or-timedelta transition
@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_retry_after_is_honoured_for_the_message_and_pauses_sending(rig: Rig) -> None:
    now, started = rig.clock.now(), rig.time.now()
    await rig.enqueue(plain(ZH_USER, "A1", created_at=now), plain(EN_USER, "B1", created_at=now))
    rig.fail(ApiError(429, "Too Many Requests: retry after 7", retry_after=7), times=1)
    sender = rig.sender()

    result = await sender.drain_once()

    assert (result.sent, result.retried) == (1, 1)
    first, second = rig.outbox()
    assert first.state is OutboxState.PENDING and first.not_before == now + timedelta(seconds=7)
    assert first.last_error == "RetryAfter: Flood control exceeded. Retry in 7 seconds"
    assert first.attempts == 1
    # everybody waited: a 429 in a private chat is about the bot's overall budget
    assert second.state is OutboxState.SENT
    (b_time,) = [t for chat, t in rig.sent_at if chat == EN_USER]
    assert b_time - started >= 7.0
    assert (await sender.drain_once()).total == 0  # not before retry_after has passed

    rig.clock.advance(timedelta(seconds=7))
    assert (await sender.drain_once()).sent == 1
    assert rig.texts_to(ZH_USER) == ["A1"]


async def test_a_user_who_blocked_the_bot_is_marked_and_not_retried(rig: Rig) -> None:
    await rig.users(zh="zh")
    await rig.enqueue(case_notice(ZH_USER, ZH_USER))
    rig.fail(ApiError(403, "Forbidden: bot was blocked by the user"))
    sender = rig.sender()

    result = await sender.drain_once()

    assert result.blocked == 1
    (message,) = rig.outbox()
    assert message.state is OutboxState.BLOCKED and "blocked by the user" in (message.last_error or "")
    assert rig.store.users[ZH_USER].blocked_bot is True
    calls = len(rig.request.calls)
    rig.clock.advance(timedelta(days=3))
    assert (await sender.drain_once()).total == 0
    assert len(rig.request.calls) == calls


async def test_a_deactivated_user_is_blocked_too(rig: Rig) -> None:
    await rig.enqueue(plain(OTHER_USER, "hello", created_at=rig.clock.now()))
    rig.fail(ApiError(403, "Forbidden: user is deactivated"))
    assert (await rig.sender().drain_once()).blocked == 1
    assert rig.states() == [OutboxState.BLOCKED]


async def test_a_chat_that_does_not_exist_is_dead_at_once(rig: Rig) -> None:
    await rig.enqueue(plain(GROUP, "to nowhere", created_at=rig.clock.now()))
    rig.fail(ApiError(400, "Bad Request: chat not found"))

    result = await rig.sender().drain_once()

    assert result.dead == 1
    (message,) = rig.outbox()
    assert message.state is OutboxState.DEAD and message.attempts == 1


async def test_network_failures_back_off_then_the_message_is_dead_and_the_office_sees_it(rig: Rig) -> None:
    start = rig.clock.now()
    await rig.enqueue(plain(ZH_USER, "A1", created_at=start), plain(ZH_USER, "A2", created_at=start))
    rig.fail(ApiError(502, "Bad Gateway"), text="A1")
    sender = rig.sender(retry=RetryPolicy(max_attempts=4))

    waits = []
    for _ in range(3):
        result = await sender.drain_once()
        head, follower = rig.outbox()
        assert result.retried == 1 and head.state is OutboxState.PENDING and head.not_before is not None
        waits.append(head.not_before - rig.clock.now())
        rig.clock.set(head.not_before)
        # the failing message holds back the chat's next one
        assert follower.attempts == 0 and rig.texts_to(ZH_USER) == []
    assert waits == [timedelta(seconds=2), timedelta(seconds=4), timedelta(seconds=8)]

    last = await sender.drain_once()

    # the fourth failure is the last: dead, and the chat's next message goes
    assert (last.dead, last.sent) == (1, 1)
    head, follower = rig.outbox()
    assert head.state is OutboxState.DEAD and head.attempts == 4
    assert head.last_error == "gave up after 4 attempts: NetworkError: Bad Gateway"
    assert follower.state is OutboxState.SENT and rig.texts_to(ZH_USER) == ["A2"]
    async with rig.uow() as uow:
        failed = await uow.outbox.list_failed()
        counts = await uow.outbox.count_by_state()
    assert [m.id for m in failed] == [head.id]
    assert counts == {
        OutboxState.PENDING: 0,
        OutboxState.SENT: 1,
        OutboxState.DEAD: 1,
        OutboxState.BLOCKED: 0,
        OutboxState.WITHDRAWN: 0,
    }


async def test_a_failed_message_holds_back_its_chat_but_not_the_others(rig: Rig) -> None:
    now = rig.clock.now()
    await rig.enqueue(
        plain(ZH_USER, "A1", created_at=now),
        plain(ZH_USER, "A2", created_at=now),
        plain(EN_USER, "B1", created_at=now),
    )
    rig.fail(TimedOut(), text="A1", times=1)
    sender = rig.sender()

    first = await sender.drain_once()
    assert (first.sent, first.retried) == (1, 1)
    assert rig.texts_to(EN_USER) == ["B1"] and rig.texts_to(ZH_USER) == []

    rig.clock.advance(timedelta(seconds=2))
    second = await sender.drain_once()
    assert second.sent == 2
    assert rig.texts_to(ZH_USER) == ["A1", "A2"]


async def test_a_group_that_became_a_supergroup_gets_the_message_at_its_new_id(rig: Rig) -> None:
    new_id = -1_009_999_999_999

    def migrate(request: RecordingRequest, params: dict[str, Any]) -> Any:
        if params["chat_id"] == GROUP:
            raise _MigratedError(new_id)
        return request._default_result("sendMessage", params)

    rig.request.respond("sendMessage", migrate)
    await rig.enqueue(plain(GROUP, "office copy", created_at=rig.clock.now()))

    assert (await rig.sender().drain_once()).sent == 1
    assert rig.texts_to(new_id) == ["office copy"]


class _MigratedError(ApiError):
    def __init__(self, new_chat_id: int) -> None:
        super().__init__(400, "Bad Request: group chat was upgraded to a supergroup chat")
        self.new_chat_id = new_chat_id

    def payload(self) -> bytes:
        return json.dumps(
            {
                "ok": False,
                "error_code": 400,
                "description": self.description,
                "parameters": {"migrate_to_chat_id": self.new_chat_id},
            }
        ).encode()


async def test_a_payload_the_bot_cannot_send_is_dead_without_a_call(rig: Rig) -> None:
    await rig.enqueue(
        OutboxMessage(chat_id=ZH_USER, method="logOut", payload={}, created_at=rig.clock.now()),
        OutboxMessage(
            chat_id=EN_USER, method="sendMessage", payload={"text_key": 42}, created_at=rig.clock.now()
        ),
    )
    result = await rig.sender().drain_once()
    assert result.dead == 2 and rig.request.calls == []
    assert [m.last_error for m in rig.outbox()] == [
        "unsupported method 'logOut'",
        "cannot render: the text key must be a string, not 42",
    ]


# -- one sender at a time, and running in the background ----------------------------------------


async def test_while_another_sender_holds_the_lease_nothing_is_sent(rig: Rig) -> None:
    await rig.enqueue(plain(ZH_USER, "A1", created_at=rig.clock.now()))
    async with rig.uow() as uow:
        minute = timedelta(minutes=1)
        assert await uow.leases.try_acquire(SENDER_LEASE, "other", now=rig.clock.now(), ttl=minute)
        await uow.commit()

    result = await rig.sender().drain_once()

    assert result.skipped and result.total == 0 and rig.request.calls == []
    rig.clock.advance(timedelta(minutes=1))  # the other one went silent: its lease ran out
    assert (await rig.sender().drain_once()).sent == 1


async def test_the_background_sender_sends_when_woken_and_stops(rig: Rig) -> None:
    sender = OutboxSender(rig.bot, rig.uow, rig.clock, rig.catalogue, poll_interval=30)
    sender.start()
    try:
        await asyncio.sleep(0.05)  # its first drain: nothing to send
        await rig.enqueue(plain(ZH_USER, "now please", created_at=rig.clock.now()))
        sender.wake()
        await _eventually(lambda: rig.texts_to(ZH_USER) == ["now please"])
    finally:
        await sender.aclose()
    assert rig.states() == [OutboxState.SENT]
    assert rig.store.leases == {}  # released on the way out


def recording_uow(rig: Rig, seen: list[str], calls: dict[str, tuple[str, str]]) -> Callable[[], Any]:
    """A unit-of-work factory over the rig's fake in which each ``calls`` entry (a label: the
    repository and method) appends its label to ``seen`` when called."""

    def wrapped(label: str, method: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        async def call(*args: Any, **kwargs: Any) -> Any:
            seen.append(label)
            return await method(*args, **kwargs)

        return call

    def factory() -> Any:
        uow = rig.uow()
        for label, (repository, name) in calls.items():
            target = getattr(uow, repository)
            setattr(target, name, wrapped(label, getattr(target, name)))
        return uow

    return factory


async def test_an_idle_sender_looks_before_it_claims_and_renews_its_lease_a_third_of_the_way(
    rig: Rig,
) -> None:
    """A poll of an idle holder is one read (when is the next message due?), not a write
    transaction a second; the lease is renewed, by a claim, once a third of it has passed, and
    a message another instance committed (no wake-up here) goes out at the next poll."""
    seen: list[str] = []
    counting = recording_uow(
        rig, seen, {"renew and claim": ("leases", "try_acquire"), "look": ("outbox", "next_due")}
    )
    sender = OutboxSender(
        rig.bot, counting, rig.clock, rig.catalogue, poll_interval=0.01, sender_lease=timedelta(seconds=30)
    )
    stop = asyncio.Event()
    task = asyncio.create_task(sender.run_forever(stop))
    try:
        await _eventually(lambda: len(seen) >= 6)
        assert seen[0] == "renew and claim"  # the first drain claims at once (a restart's leftovers)
        assert set(seen[1:6]) == {"look"}
        rig.clock.advance(timedelta(seconds=10))  # a third of the lease: renewed, by a claim
        await _eventually(lambda: seen.count("renew and claim") == 2)
        await _eventually(lambda: seen[-1] == "look")
        # another instance's notice, committed without waking this sender
        await rig.enqueue(plain(ZH_USER, "from elsewhere", created_at=rig.clock.now()))
        await _eventually(lambda: rig.texts_to(ZH_USER) == ["from elsewhere"])
        # looked, found it due, claimed (and claimed again after the send, for what follows it)
        assert seen.count("renew and claim") >= 3
        sent_at = len(seen)
        await _eventually(lambda: len(seen) >= sent_at + 8)
        assert set(seen[-5:]) == {"look"}  # idle again: its polls only look
    finally:
        stop.set()
        await task
    assert rig.store.leases == {}  # released on the way out


async def test_a_sender_without_the_lease_reads_who_holds_it_and_takes_it_once_it_is_free(
    rig: Rig,
) -> None:
    """The second instance's sender reads the lease every poll instead of trying to take it (a
    row lock and a commit); the holder's clean stop frees it, and the next poll takes it."""
    seen: list[str] = []
    counting = recording_uow(rig, seen, {"try": ("leases", "try_acquire"), "read": ("leases", "holder")})
    async with rig.uow() as uow:
        assert await uow.leases.try_acquire(
            SENDER_LEASE, "web-1", now=rig.clock.now(), ttl=timedelta(seconds=30)
        )
        await uow.commit()
    await rig.enqueue(plain(ZH_USER, "after the handover", created_at=rig.clock.now()))
    sender = OutboxSender(rig.bot, counting, rig.clock, rig.catalogue, worker_id="web-2", poll_interval=0.01)
    stop = asyncio.Event()
    task = asyncio.create_task(sender.run_forever(stop))
    try:
        await _eventually(lambda: len(seen) >= 6)
        assert seen[0] == "try"  # at start it tries at once
        assert set(seen[1:6]) == {"read"}  # then it only reads while web-1 holds it
        assert rig.request.calls == []
        async with rig.uow() as uow:  # web-1 stops cleanly
            await uow.leases.release(SENDER_LEASE, "web-1")
            await uow.commit()
        await _eventually(lambda: rig.texts_to(ZH_USER) == ["after the handover"])
        assert rig.store.leases[SENDER_LEASE][0] == "web-2"
    finally:
        stop.set()
        await task


async def test_the_application_runs_the_sender_from_post_init_to_shutdown(
    plan: Plan, clock: FixedClock, catalogue: Catalogue, migrated_sqlite_url: str
) -> None:
    settings = make_test_settings(migrated_sqlite_url)
    deps = make_deps(settings, plan, clock=clock, catalogue=catalogue)
    request = RecordingRequest()
    app = build_application(settings, deps, request=request, start_sender=True)
    await app.initialize()
    assert app.post_init is not None and app.post_shutdown is not None
    await app.post_init(app)
    try:
        assert deps.sender is not None
        async with deps.uow() as uow:
            await uow.outbox.add(Notice(OTHER_USER, "state.closed").to_outbox(clock.now()))
            await uow.commit()
        deps.wake_sender()
        await _eventually(lambda: any(c.method == "sendMessage" for c in request.calls))
    finally:
        await app.shutdown()
        await app.post_shutdown(app)
    async with deps.uow() as uow:
        counts = await uow.outbox.count_by_state()
    assert counts[OutboxState.SENT] == 1
    assert deps.closers == []


async def test_an_application_built_for_tests_leaves_sending_to_the_test(
    plan: Plan, clock: FixedClock, catalogue: Catalogue, migrated_sqlite_url: str
) -> None:
    settings = make_test_settings(migrated_sqlite_url)
    deps = make_deps(settings, plan, clock=clock, catalogue=catalogue)
    request = RecordingRequest()
    app = build_application(settings, deps, request=request)
    await app.initialize()
    assert app.post_init is not None and app.post_shutdown is not None
    await app.post_init(app)
    try:
        async with deps.uow() as uow:
            await uow.outbox.add(Notice(OTHER_USER, "state.closed").to_outbox(clock.now()))
            await uow.commit()
        deps.wake_sender()
        await asyncio.sleep(0.1)
        assert not any(c.method == "sendMessage" for c in request.calls)
        result = await drain_once(deps)  # what `python -m bot tick` calls
        assert result.sent == 1
        (call,) = [c for c in request.calls if c.method == "sendMessage"]
        assert call.text == catalogue.t("zh", "state.closed")
    finally:
        await app.shutdown()
        await app.post_shutdown(app)


def test_the_default_limits_stay_under_telegrams() -> None:
    limits = SendLimits()
    assert limits.overall_per_second * limits.spacing >= 1.0
    assert RetryPolicy().delay(1) == timedelta(seconds=2)
    assert RetryPolicy().delay(20) == timedelta(minutes=10)


async def _eventually(condition: Callable[[], bool], timeout: float = 5.0) -> None:  # noqa: ASYNC109
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


# -- restarts (issue 11: "after a restart the first due notification goes out within 2 s") ---------


async def _crashed_run(rig: Rig, worker_id: str) -> None:
    """A previous run under ``worker_id`` took the sender lease, claimed what was due, and died."""
    now = rig.clock.now()
    async with rig.uow() as uow:
        assert await uow.leases.try_acquire(SENDER_LEASE, worker_id, now=now, ttl=timedelta(seconds=30))
        claimed = await uow.outbox.claim_batch(worker_id, now=now, limit=10, lease=timedelta(minutes=2))
        await uow.commit()
    assert len(claimed) == 1


async def _run_until_sent(sender: OutboxSender, rig: Rig, *, seconds: float = 2.0) -> float:
    """Run the sender as the bot does until something is delivered; returns how long it took."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    started = loop.time()
    task = asyncio.create_task(sender.run_forever(stop))
    try:
        for _ in range(int(seconds / 0.01)):  # polling the recorder: it has no event to wait on
            if rig.delivered():
                break
            await asyncio.sleep(0.01)
        return loop.time() - started
    finally:
        stop.set()
        await task


async def test_a_named_instance_restarted_after_a_crash_sends_at_once(rig: Rig) -> None:
    await rig.enqueue(plain(ZH_USER, "after the restart", created_at=rig.clock.now()))
    await _crashed_run(rig, "web-1:sender")

    # any other sender must wait the dead run's leases out
    assert (await rig.sender(worker_id="web-2:sender").drain_once()).skipped
    # the same instance, restarted under its INSTANCE_NAME, takes them back and sends
    took = await _run_until_sent(rig.sender(worker_id="web-1:sender", stable_identity=True), rig)

    assert rig.texts_to(ZH_USER) == ["after the restart"]
    assert took < 2.0
    [message] = rig.outbox()
    assert message.state is OutboxState.SENT


async def test_without_a_name_a_restart_waits_for_the_dead_runs_lease(rig: Rig) -> None:
    await rig.enqueue(plain(ZH_USER, "later", created_at=rig.clock.now()))
    await _crashed_run(rig, "host:123:abcd")

    await _run_until_sent(rig.sender(worker_id="host:456:ef01"), rig, seconds=0.3)

    assert rig.delivered() == []  # safe: it cannot know the other run is dead
    rig.clock.advance(timedelta(minutes=3))  # both leases ran out
    await rig.sender(worker_id="host:456:ef01").drain_once()
    assert rig.texts_to(ZH_USER) == ["later"]


async def test_claims_released_at_a_stop_are_taken_by_the_next_sender_at_once(rig: Rig) -> None:
    await rig.enqueue(plain(ZH_USER, "one", created_at=rig.clock.now()))
    await _run_until_sent(rig.sender(worker_id="a"), rig)
    await rig.enqueue(plain(ZH_USER, "two", created_at=rig.clock.now()))
    async with rig.uow() as uow:  # as if "a" had claimed "two" just before it was stopped
        await uow.outbox.claim_batch("a", now=rig.clock.now(), limit=10, lease=timedelta(minutes=2))
        await uow.commit()
    async with rig.uow() as uow:
        assert await uow.outbox.release_claims("a") == 1
        await uow.commit()

    await rig.sender(worker_id="b").drain_once()
    assert rig.texts_to(ZH_USER) == ["one", "two"]
