"""The send budget that replies and the outbox sender share (bot/send_budget.py), in virtual
time: Telegram's limits hold for everything together, a reply never waits behind notices, and
a count the shared ledger refuses is given back here."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from bot.send_budget import SLOTS_PER_SECOND, Priority, SendBudget, posts_message, slot_cap

PRIVATE, OTHER, GROUP = 1001, 1002, -100500


class VirtualTime:
    """monotonic() and sleep() for the budget: sleeping moves time on (and lets others run)."""

    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 1e-6)
        await asyncio.sleep(0)


def budget_in(vt: VirtualTime, **kwargs: object) -> SendBudget:
    return SendBudget(monotonic=vt.monotonic, sleep=vt.sleep, **kwargs)  # type: ignore[arg-type]


async def times_of(vt: VirtualTime, budget: SendBudget, chats: list[int], priority: Priority) -> list[float]:
    out = []
    for chat in chats:
        await budget.acquire(chat, priority)
        out.append(vt.now)
    return out


@pytest.mark.parametrize(
    ("endpoint", "counted"),
    [
        ("sendMessage", True),
        ("sendPhoto", True),
        ("sendDocument", True),
        ("editMessageText", True),
        ("editMessageReplyMarkup", True),
        ("copyMessage", True),
        ("forwardMessage", True),
        ("sendChatAction", False),  # "typing…" is not a message
        ("answerCallbackQuery", False),  # must go at once: the button spins until it does
        ("getMe", False),
        ("setMyCommands", False),
        ("getFile", False),
    ],
)
def test_only_calls_that_post_a_message_count(endpoint: str, counted: bool) -> None:
    assert posts_message(endpoint) is counted


@pytest.mark.parametrize(
    ("per_second", "slots", "cap"), [(30, 9, 3), (30, 5, 5), (30, 14, 2), (30, 29, 1), (1, 9, 1)]
)
def test_a_slot_holds_so_few_that_no_second_anywhere_spans_more_than_the_limit(
    per_second: int, slots: int, cap: int
) -> None:
    assert slot_cap(per_second, slots) == cap
    if per_second >= slots + 1:
        assert cap * (slots + 1) <= per_second  # a second overlaps at most slots + 1 slots


def test_the_shared_slots_give_most_of_telegrams_limit() -> None:
    assert slot_cap(30, SLOTS_PER_SECOND) * SLOTS_PER_SECOND >= 27


async def test_thirty_messages_a_second_overall_in_one_process() -> None:
    vt = VirtualTime()
    budget = budget_in(vt)
    chats = [PRIVATE + i for i in range(75)]  # each chat once: only the overall limit binds

    times = await times_of(vt, budget, chats, Priority.NOTICE)

    assert times[:30] == [0.0] * 30
    for i in range(30, 75):
        assert times[i] - times[i - 30] >= 1.0  # never 31 within a second
    assert times[-1] < 2.2  # and no slower than the limit needs


async def test_one_private_chat_gets_a_short_burst_then_one_a_second() -> None:
    vt = VirtualTime()
    budget = budget_in(vt, private_burst=3)

    times = await times_of(vt, budget, [PRIVATE] * 6, Priority.NOTICE)

    assert times[:3] == [0.0, 0.0, 0.0]
    assert [round(b - a, 3) for a, b in itertools.pairwise(times[2:])] == [1.0, 1.0, 1.0]
    assert await times_of(vt, budget, [OTHER], Priority.NOTICE) == [vt.now]  # another chat at once


async def test_replies_spend_the_chats_second_but_never_wait_for_it() -> None:
    vt = VirtualTime()
    budget = budget_in(vt, private_burst=1)

    assert await times_of(vt, budget, [PRIVATE] * 4, Priority.REPLY) == [0.0] * 4  # the person sets the pace
    await budget.acquire(PRIVATE, Priority.NOTICE)  # a notice waits until the chat is quiet again
    assert vt.now >= 3.0


async def test_an_edit_in_a_private_chat_does_not_spend_the_chats_second() -> None:
    vt = VirtualTime()
    budget = budget_in(vt, private_burst=1)

    await budget.acquire(PRIVATE, Priority.NOTICE)  # a message
    await budget.acquire(PRIVATE, Priority.NOTICE, new_message=False)  # an edit of it
    assert vt.now == 0.0
    await budget.acquire(PRIVATE, Priority.NOTICE)  # the next message waits for the chat's second
    assert vt.now >= 1.0


async def test_a_group_gets_twenty_a_minute() -> None:
    vt = VirtualTime()
    budget = budget_in(vt)

    times = await times_of(vt, budget, [GROUP] * 21, Priority.NOTICE)

    assert times[:20] == [0.0] * 20
    assert times[20] >= 60.0


class SharedTime:
    """For several waiters at once: sleeping only yields; the test moves time on itself, so no
    waiter's nap moves the clock for the others."""

    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(0)


async def test_a_reply_goes_before_notices_that_were_waiting_first() -> None:
    st = SharedTime()
    budget = SendBudget(monotonic=st.monotonic, sleep=st.sleep)
    for i in range(30):  # this second is full
        await budget.acquire(PRIVATE + i, Priority.NOTICE)
    order: list[str] = []

    async def send(name: str, chat: int, priority: Priority) -> None:
        await budget.acquire(chat, priority)
        order.append(name)

    notices = [asyncio.create_task(send(f"notice {i}", 5000 + i, Priority.NOTICE)) for i in range(5)]
    for _ in range(3):
        await asyncio.sleep(0)  # the notices are waiting now
    reply = asyncio.create_task(send("reply", 9000, Priority.REPLY))
    while len(order) < 6:
        st.now += 0.01
        await asyncio.sleep(0)
    await asyncio.gather(reply, *notices)

    assert order[0] == "reply"


async def test_retry_after_pauses_everything_in_this_process() -> None:
    vt = VirtualTime()
    budget = budget_in(vt)
    budget.pause(5.0)

    times = await times_of(vt, budget, [PRIVATE], Priority.REPLY)

    assert times[0] >= 5.0


class RefusingLedger:
    """A shared ledger that is full for the first ``refusals`` asks."""

    def __init__(self, refusals: int) -> None:
        self.refusals = refusals
        self.asked: list[tuple[str, int]] = []

    async def take(self, scope: str, *, slots_per_second: int, cap: int, reserve: int) -> bool:
        self.asked.append((scope, reserve))
        self.refusals -= 1
        return self.refusals < 0

    async def take_in_window(self, scope: str, *, cap: int, window: float) -> float:
        self.asked.append((scope, cap))
        return 0.0


async def test_with_a_shared_ledger_a_refused_message_gives_its_private_chat_token_back() -> None:
    vt = VirtualTime()
    ledger = RefusingLedger(refusals=4)
    budget = budget_in(vt, shared=ledger, private_burst=1)

    await budget.acquire(PRIVATE, Priority.NOTICE)

    assert len(ledger.asked) == 5  # refused four times, then taken
    assert vt.now < 1.0  # the chat's one token was given back each time, not spent
    assert {reserve for _, reserve in ledger.asked} == {1}  # notices leave replies their share


async def test_with_a_shared_ledger_notices_leave_a_reserve_and_groups_count_in_their_window() -> None:
    vt = VirtualTime()
    ledger = RefusingLedger(refusals=0)
    budget = budget_in(vt, shared=ledger)

    await budget.acquire(GROUP, Priority.NOTICE)

    assert ledger.asked == [("all", 1), (f"group:{GROUP}", 20)]
