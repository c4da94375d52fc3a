"""Updates run concurrently across chats and strictly in order within one chat."""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict

from telegram import Update
from telegram.ext import MessageHandler, filters

from bot.concurrency import PerChatUpdateProcessor
from bot.context import BotContext
from tests.support.harness import BotHarness
from tests.support.updates import TgUser, UpdateFactory


class Trace:
    """Records when each update starts and ends, and how many run at once."""

    def __init__(self) -> None:
        self.events: list[tuple[str, int, str]] = []  # (event, chat, text)
        self.running = 0
        self.peak = 0

    async def handle(self, chat: int, text: str, delay: float) -> None:
        self.events.append(("start", chat, text))
        self.running += 1
        self.peak = max(self.peak, self.running)
        await asyncio.sleep(delay)
        self.running -= 1
        self.events.append(("end", chat, text))

    def order(self, chat: int, event: str = "start") -> list[str]:
        return [text for e, c, text in self.events if e == event and c == chat]

    def overlapping_within_a_chat(self) -> list[int]:
        open_: dict[int, int] = defaultdict(int)
        bad = []
        for event, chat, _ in self.events:
            open_[chat] += 1 if event == "start" else -1
            if open_[chat] > 1:
                bad.append(chat)
        return bad


def users(n: int) -> list[TgUser]:
    return [TgUser(200_000 + i, f"u{i}", "zh") for i in range(n)]


async def feed(processor: PerChatUpdateProcessor, trace: Trace, updates: list[tuple[Update, float]]) -> None:
    """Hand updates to the processor the way Application does: one task per update, in order."""
    tasks = []
    for update, delay in updates:
        assert update.effective_chat is not None and update.effective_message is not None
        coroutine = trace.handle(update.effective_chat.id, update.effective_message.text or "", delay)
        tasks.append(asyncio.create_task(processor.process_update(update, coroutine)))
    await asyncio.gather(*tasks)


async def test_one_chat_runs_in_arrival_order_while_chats_run_side_by_side() -> None:
    make = UpdateFactory()
    a, b, c = users(3)
    rng = random.Random(7)
    updates = []
    for i in range(12):
        for user in (a, b, c):
            # later messages are faster: without ordering they would overtake earlier ones
            updates.append((make.text(user, f"{user.id}:{i}"), rng.uniform(0.001, 0.01) * (12 - i) / 12))
    processor = PerChatUpdateProcessor(8)
    trace = Trace()
    async with processor:
        await feed(processor, trace, updates)

    for user in (a, b, c):
        expected = [f"{user.id}:{i}" for i in range(12)]
        assert trace.order(user.id, "start") == expected
        assert trace.order(user.id, "end") == expected
    assert trace.overlapping_within_a_chat() == []
    assert trace.peak == 3  # the three chats did run at the same time
    assert processor.active_chats == 0  # no lock is kept for idle chats


async def test_overall_concurrency_is_bounded() -> None:
    make = UpdateFactory()
    updates = [(make.text(user, "x"), 0.01) for user in users(20)]
    processor = PerChatUpdateProcessor(4)
    trace = Trace()
    async with processor:
        await feed(processor, trace, updates)

    assert trace.peak == 4
    assert processor.running_limit == 4
    assert processor.current_concurrent_updates == 0


async def test_a_flood_in_one_chat_does_not_starve_the_others() -> None:
    make = UpdateFactory()
    spammer, citizen = users(2)
    flood = [(make.text(spammer, f"spam {i}"), 0.005) for i in range(100)]
    processor = PerChatUpdateProcessor(2)
    trace = Trace()
    async with processor:
        await feed(processor, trace, [*flood, (make.text(citizen, "help"), 0.0)])

    # the citizen's single update, queued behind 100 from the spammer, finished long before them
    ends = [(chat, text) for event, chat, text in trace.events if event == "end"]
    assert ends.index((citizen.id, "help")) < 5
    assert trace.order(spammer.id) == [f"spam {i}" for i in range(100)]


async def test_updates_without_a_chat_or_user_are_not_serialised() -> None:
    processor = PerChatUpdateProcessor(4)
    running = 0
    peak = 0

    async def work() -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.01)
        running -= 1

    async with processor:
        await asyncio.gather(*(processor.process_update(object(), work()) for _ in range(3)))
    assert peak == 3


async def test_the_real_application_keeps_one_chats_order(harness: BotHarness) -> None:
    """Through Application's own update queue and fetcher, not just the processor."""
    seen: dict[int, list[str]] = defaultdict(list)
    delays = {"1": 0.03, "2": 0.0, "3": 0.01}

    async def slow_echo(update: Update, context: BotContext) -> None:
        assert update.effective_chat is not None and update.effective_message is not None
        text = update.effective_message.text or ""
        await asyncio.sleep(delays[text])
        seen[update.effective_chat.id].append(text)

    harness.app.add_handler(MessageHandler(filters.TEXT, slow_echo), group=-1)
    a, b = users(2)
    await harness.app.start()
    for text in ("1", "2", "3"):
        for user in (a, b):
            await harness.app.update_queue.put(harness.make.text(user, text))
    await asyncio.wait_for(harness.app.update_queue.join(), timeout=5)
    assert seen[a.id] == ["1", "2", "3"]
    assert seen[b.id] == ["1", "2", "3"]
