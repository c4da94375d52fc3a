"""The outbox's per-chat queue (``claim_chat_heads``) and what the office sees of it
(``list_failed``, ``count_by_state``): the contract, on the fake, SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from core.outbox import OutboxMessage, OutboxState
from core.ports import UnitOfWorkFactory
from tests.integration.conftest import ALL_BACKENDS

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
NOW = T0 + timedelta(minutes=1)
LEASE = timedelta(seconds=30)
A, B, C = 1001, 1002, -1003


@pytest.fixture(params=ALL_BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def message(chat_id: int, text: str, **changes: object) -> OutboxMessage:
    msg = OutboxMessage(chat_id=chat_id, method="sendMessage", payload={"text": text}, created_at=T0)
    for name, value in changes.items():
        setattr(msg, name, value)
    return msg


async def enqueue(uow_factory: UnitOfWorkFactory, *messages: OutboxMessage) -> list[int]:
    async with uow_factory() as uow:
        for m in messages:
            assert await uow.outbox.add(m)
        await uow.commit()
    return [m.id for m in messages if m.id is not None]


async def claim(
    uow_factory: UnitOfWorkFactory,
    worker: str = "w",
    *,
    now: datetime = NOW,
    limit: int = 10,
    exclude_chats: Collection[int] = (),
) -> list[str]:
    async with uow_factory() as uow:
        batch = await uow.outbox.claim_chat_heads(
            worker, now=now, limit=limit, lease=LEASE, exclude_chats=exclude_chats
        )
        await uow.commit()
    return [str(m.payload["text"]) for m in batch]


async def mark_sent(uow_factory: UnitOfWorkFactory, *ids: int) -> None:
    async with uow_factory() as uow:
        for message_id in ids:
            await uow.outbox.mark_sent(message_id, now=NOW)
        await uow.commit()


async def test_a_claim_hands_out_the_head_of_each_chat_oldest_first(uow_factory: UnitOfWorkFactory) -> None:
    a1, a2, b1, a3 = await enqueue(
        uow_factory, message(A, "A1"), message(A, "A2"), message(B, "B1"), message(A, "A3")
    )

    assert await claim(uow_factory) == ["A1", "B1"]
    assert await claim(uow_factory, "other") == []  # A1 is leased: A2 waits behind it
    await mark_sent(uow_factory, a1, b1)
    assert await claim(uow_factory) == ["A2"]
    await mark_sent(uow_factory, a2)
    assert await claim(uow_factory) == ["A3"]
    assert a3 > a2


async def test_a_message_waiting_for_its_retry_holds_back_its_chat(uow_factory: UnitOfWorkFactory) -> None:
    a1, _a2, _b1 = await enqueue(uow_factory, message(A, "A1"), message(A, "A2"), message(B, "B1"))
    assert await claim(uow_factory) == ["A1", "B1"]
    async with uow_factory() as uow:
        await uow.outbox.mark_failed(a1, error="NetworkError", retry_at=NOW + timedelta(seconds=4))
        await uow.commit()

    assert await claim(uow_factory, now=NOW + timedelta(seconds=3)) == []
    assert await claim(uow_factory, now=NOW + timedelta(seconds=4)) == ["A1"]


async def test_dead_and_blocked_messages_let_their_chat_move_on(uow_factory: UnitOfWorkFactory) -> None:
    a1, _a2, b1, _b2 = await enqueue(
        uow_factory, message(A, "A1"), message(A, "A2"), message(B, "B1"), message(B, "B2")
    )
    assert await claim(uow_factory) == ["A1", "B1"]
    async with uow_factory() as uow:
        await uow.outbox.mark_dead(a1, error="Bad Request: chat not found")
        await uow.outbox.mark_blocked(b1, error="Forbidden: bot was blocked by the user")
        await uow.commit()
    assert await claim(uow_factory) == ["A2", "B2"]


async def test_a_message_scheduled_for_later_does_not_hold_its_chat(uow_factory: UnitOfWorkFactory) -> None:
    later = NOW + timedelta(hours=12)
    await enqueue(uow_factory, message(A, "A1 tomorrow", not_before=later), message(A, "A2 now"))

    assert await claim(uow_factory) == ["A2 now"]
    assert await claim(uow_factory, now=later) == ["A1 tomorrow"]


async def test_chats_the_sender_is_pacing_are_left_unclaimed(uow_factory: UnitOfWorkFactory) -> None:
    await enqueue(uow_factory, message(A, "A1"), message(C, "C1"), message(B, "B1"))

    assert await claim(uow_factory, exclude_chats=[C]) == ["A1", "B1"]
    assert await claim(uow_factory, exclude_chats=[]) == ["C1"]


async def test_the_limit_counts_chats_not_messages(uow_factory: UnitOfWorkFactory) -> None:
    await enqueue(uow_factory, *(message(A, f"A{n}") for n in range(5)), message(B, "B1"), message(C, "C1"))
    assert await claim(uow_factory, limit=2) == ["A0", "B1"]


async def test_concurrent_claimers_never_share_a_chat(uow_factory: UnitOfWorkFactory) -> None:
    chats = [2000 + n for n in range(10)]
    await enqueue(uow_factory, *(message(chat, f"{chat}:{k}") for k in range(3) for chat in chats))

    batches = await asyncio.gather(*(claim(uow_factory, f"w{n}", limit=4) for n in range(4)))

    claimed = [text for batch in batches for text in batch]
    assert sorted(claimed) == sorted(f"{chat}:0" for chat in chats)


async def test_the_office_sees_undelivered_messages_and_counts(uow_factory: UnitOfWorkFactory) -> None:
    a1, b1, c1, _a2 = await enqueue(
        uow_factory, message(A, "A1"), message(B, "B1"), message(C, "C1"), message(A, "A2")
    )
    async with uow_factory() as uow:
        assert await uow.outbox.list_failed() == []
        assert await uow.outbox.count_by_state() == dict.fromkeys(OutboxState, 0) | {OutboxState.PENDING: 4}
        await uow.outbox.mark_dead(a1, error="gave up after 10 attempts: NetworkError: Bad Gateway")
        await uow.outbox.mark_blocked(b1, error="Forbidden: bot was blocked by the user")
        await uow.outbox.mark_sent(c1, now=NOW)
        await uow.commit()

    async with uow_factory() as uow:
        failed = await uow.outbox.list_failed()
        one = await uow.outbox.list_failed(limit=1)
        counts = await uow.outbox.count_by_state()
    assert [(m.id, m.state) for m in failed] == [(b1, OutboxState.BLOCKED), (a1, OutboxState.DEAD)]
    assert failed[1].last_error == "gave up after 10 attempts: NetworkError: Bad Gateway"
    assert [m.id for m in one] == [b1]
    assert counts == {
        OutboxState.PENDING: 1,
        OutboxState.SENT: 1,
        OutboxState.DEAD: 1,
        OutboxState.BLOCKED: 1,
        OutboxState.WITHDRAWN: 0,
    }
