"""Flood control (bot/throttle.py) through the real Application: one "slow down" per flood,
the rest dropped without touching the database, other users unaffected, served again once
the window has passed; and the in-process window's rules on their own."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.throttle import SlidingWindow, UpdateThrottle, Verdict
from core.clock import FixedClock
from tests.bot.conftest import HarnessFactory
from tests.support.harness import BotHarness
from tests.support.recording_request import RecordedCall
from tests.support.updates import EN_USER, ZH_USER, TgUser

LIMIT = 20
WINDOW = 10.0
FLOOD = 25
ADMIN = TgUser(100_900, "王主任", "zh-hans")


@contextlib.contextmanager
def counting_sql(h: BotHarness) -> Iterator[list[str]]:
    """Every SQL statement the application's engine runs while the block is open."""
    assert h.deps.session_factory is not None
    engine = h.deps.engine
    assert isinstance(engine, AsyncEngine)
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


def throttled(**overrides: Any) -> dict[str, Any]:
    return {"throttle_messages": LIMIT, "throttle_window_seconds": WINDOW, **overrides}


async def test_a_flood_gets_one_slow_down_and_the_rest_is_dropped_without_database_work(
    harness_factory: HarnessFactory,
) -> None:
    async with harness_factory(**throttled()) as h:
        help_zh = None
        for i in range(LIMIT):
            calls = await h.command(ZH_USER, "help")
            assert len(h.texts(calls)) == 1, f"update {i + 1} within the limit is answered"
            help_zh = help_zh or h.last_text()
            if i % 2:
                # another user in the same burst (half as fast) is served as usual
                other = await h.command(EN_USER, "help")
                assert len(h.texts(other)) == 1 and h.last_text(other) != h.t("en", "throttle.slow_down")

        dropped: list[list[RecordedCall]] = []
        with counting_sql(h) as statements:
            for _ in range(FLOOD - LIMIT):
                dropped.append(await h.command(ZH_USER, "help"))
        assert statements == [], "dropped updates must not touch the database"

        first, *rest = dropped
        assert [(c.method, c.chat_id, c.text) for c in first] == [
            ("sendMessage", ZH_USER.id, h.t("zh", "throttle.slow_down"))
        ]
        assert all(calls == [] for calls in rest), "one slow-down per flood, nothing else"

        # the other user, still in the same window, is not affected
        assert h.texts(await h.command(EN_USER, "help")) != [h.t("en", "throttle.slow_down")]

        # once the window has passed the user is served again
        h.clock.advance(timedelta(seconds=WINDOW))
        served = await h.command(ZH_USER, "help")
        assert h.texts(served) == [help_zh]


async def test_a_flood_of_button_presses_gets_the_slow_down_as_the_button_answer(
    harness_factory: HarnessFactory,
) -> None:
    async with harness_factory(**throttled(throttle_messages=3)) as h:
        for _ in range(3):
            assert await h.send(h.make.callback(EN_USER, "no:such:button")) != []
        with counting_sql(h) as statements:
            first = await h.send(h.make.callback(EN_USER, "no:such:button"))
            second = await h.send(h.make.callback(EN_USER, "no:such:button"))
        assert statements == []
        assert [(c.method, c.params.get("text")) for c in first] == [
            ("answerCallbackQuery", h.t("en", "throttle.slow_down"))
        ]
        # later presses are answered without a text (the spinner stops), nothing else
        assert [(c.method, c.params.get("text")) for c in second] == [("answerCallbackQuery", None)]


async def test_office_admins_have_the_higher_limit(harness_factory: HarnessFactory) -> None:
    overrides = throttled(throttle_office_messages=LIMIT * 2, office_admin_ids=str(ADMIN.id))
    async with harness_factory(**overrides) as h:
        for _ in range(FLOOD):
            assert h.texts(await h.command(ADMIN, "help")) != [h.t("zh", "throttle.slow_down")]
        for _ in range(LIMIT * 2 - FLOOD):
            await h.command(ADMIN, "help")
        assert h.texts(await h.command(ADMIN, "help")) == [h.t("zh", "throttle.slow_down")]


async def test_zero_disables_the_limit(harness_factory: HarnessFactory) -> None:
    async with harness_factory(**throttled(throttle_messages=0)) as h:
        for _ in range(FLOOD):
            calls = await h.command(ZH_USER, "help")
            assert h.texts(calls) and h.last_text(calls) != h.t("zh", "throttle.slow_down")


async def test_updates_without_a_user_pass(harness_factory: HarnessFactory) -> None:
    async with harness_factory(**throttled(throttle_messages=1)) as h:
        channel = {"id": -100_777, "type": "channel", "title": "公告"}
        post = {"message_id": 1, "date": 0, "chat": channel, "text": "公告"}
        for _ in range(3):
            # nothing handles channel posts; the point is that the gate neither answers nor fails
            assert await h.send(h.make.update(channel_post=post)) == []


# -- the in-process window on its own ------------------------------------------------------


@pytest.mark.parametrize(
    ("times", "expected"),
    [
        # the limit (3) within the window passes, the next is told, then silence
        ([0, 1, 2, 3, 4], [Verdict.PASS] * 3 + [Verdict.WARN, Verdict.DROP]),
        # spread out, nothing is ever over
        ([0, 4, 8, 12, 16, 20], [Verdict.PASS] * 6),
        # sliding: at 10 the update of 0 has left the window, so a slot is free again
        ([0, 1, 2, 10], [Verdict.PASS] * 4),
        # blocked until the oldest leaves the window (at 10); told only once in that window
        ([0, 0, 0, 5, 9.9, 10, 10, 10, 10.5], [Verdict.PASS] * 3 + [Verdict.WARN, Verdict.DROP]
         + [Verdict.PASS] * 3 + [Verdict.DROP]),
    ],
)
def test_sliding_window(times: list[float], expected: list[Verdict]) -> None:
    window = SlidingWindow(10.0)
    assert [window.hit(1, t, 3) for t in times] == expected


def test_the_window_forgets_idle_users() -> None:
    window = SlidingWindow(10.0)
    for user_id in range(100):
        window.hit(user_id, 0.0, 3)
    assert len(window) == 100
    window.hit(1000, 25.0, 3)
    assert len(window) == 1


class _Counter:
    """A shared counter as several instances see it: one count per (user, window)."""

    def __init__(self) -> None:
        self.counts: dict[tuple[int, datetime], int] = {}
        self.calls = 0

    async def hit(self, user_id: int, window_start: datetime) -> int:
        self.calls += 1
        key = (user_id, window_start)
        self.counts[key] = self.counts.get(key, 0) + 1
        return self.counts[key]


async def test_instances_sharing_a_counter_hold_a_user_to_the_limit_together() -> None:
    clock = FixedClock(datetime(2026, 11, 23, 2, 0, 0, tzinfo=UTC))
    shared = _Counter()
    instances = [UpdateThrottle(WINDOW, clock, shared) for _ in range(3)]

    verdicts = [await instances[i % 3].check(7, LIMIT) for i in range(30)]

    assert verdicts[:LIMIT] == [Verdict.PASS] * LIMIT  # each instance alone saw only ~7
    assert verdicts[LIMIT:].count(Verdict.WARN) == 1  # one instance tells the user
    assert set(verdicts[LIMIT:]) <= {Verdict.WARN, Verdict.DROP}
    calls = shared.calls
    # once an instance has seen "over", it drops without asking the shared counter again
    for i in range(30):
        await instances[i % 3].check(7, LIMIT)
    assert shared.calls == calls

    clock.advance(timedelta(seconds=WINDOW))
    assert await instances[0].check(7, LIMIT) is Verdict.PASS
