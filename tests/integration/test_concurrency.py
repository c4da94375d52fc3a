"""What must hold when several tasks (or bot instances) hit the database at once: nothing is
handed out twice. Real databases only: SQLite serialises writers, PostgreSQL uses row locks."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from core.cases import Case, CaseEvent, Source, Visibility
from core.directory import UnitRecord, hash_invite_code
from core.errors import InvalidTransition
from core.outbox import OutboxMessage
from core.ports import UnitOfWorkFactory
from core.states import Action, Actor, CaseState
from storage.db import make_session_factory

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
LEASE = timedelta(minutes=1)
HOLD = 0.05  # seconds a transaction stays open, so that the others really overlap it


async def add_messages(uow_factory: UnitOfWorkFactory, count: int) -> set[int]:
    ids: set[int] = set()
    async with uow_factory() as uow:
        for n in range(count):
            msg = OutboxMessage(chat_id=n, method="sendMessage", payload={"text": str(n)}, created_at=T0)
            await uow.outbox.add(msg)
            assert msg.id is not None
            ids.add(msg.id)
        await uow.commit()
    return ids


async def test_two_senders_draining_together_never_get_the_same_message(sql_uow: UnitOfWorkFactory) -> None:
    all_ids = await add_messages(sql_uow, 60)

    async def drain(worker: str) -> list[int]:
        got: list[int] = []
        while True:
            async with sql_uow() as uow:
                batch = await uow.outbox.claim_batch(worker, now=T0, limit=7, lease=LEASE)
                await asyncio.sleep(HOLD)  # hold the claim open while the other claims
                await uow.commit()
            if not batch:
                return got
            got += [m.id for m in batch if m.id is not None]
            await asyncio.sleep(2 * HOLD)  # "sending", outside the transaction

    a, b = await asyncio.gather(drain("a"), drain("b"))
    assert set(a).isdisjoint(b)
    assert len(a) + len(b) == 60 and set(a) | set(b) == all_ids
    assert a and b  # both really took part


async def test_a_claim_held_open_is_invisible_to_a_concurrent_claimer(sql_uow: UnitOfWorkFactory) -> None:
    all_ids = await add_messages(sql_uow, 10)

    async with sql_uow() as first:
        held = await first.outbox.claim_batch("first", now=T0, limit=5, lease=LEASE)

        async def second_claim() -> list[int]:
            async with sql_uow() as uow:
                batch = await uow.outbox.claim_batch("second", now=T0, limit=10, lease=LEASE)
                await uow.commit()
            return [m.id for m in batch if m.id is not None]

        # PostgreSQL skips the locked rows at once; SQLite waits for the write lock.
        task = asyncio.create_task(second_claim())
        await asyncio.sleep(0.2)
        await first.commit()
    second = await task

    held_ids = {m.id for m in held}
    assert len(held_ids) == 5 and held_ids.isdisjoint(second)
    assert held_ids | set(second) == all_ids


async def test_an_invite_code_used_by_ten_people_at_once_binds_only_one(sql_uow: UnitOfWorkFactory) -> None:
    code = hash_invite_code("RACE-CODE")
    async with sql_uow() as uow:
        await uow.units.sync([UnitRecord("jiwei", "区纪委")])
        await uow.invites.add(code, "jiwei", created_by=None, now=T0, expires_at=T0 + timedelta(days=1))
        await uow.commit()

    async def join(user_id: int) -> bool:
        async with sql_uow() as uow:
            used = await uow.invites.consume(code, user_id, now=T0 + timedelta(minutes=1))
            await asyncio.sleep(HOLD)
            await uow.commit()
        return used is not None

    results = await asyncio.gather(*(join(100 + n) for n in range(10)))
    assert sorted(results) == [False] * 9 + [True]
    async with sql_uow() as uow:
        invite = await uow.invites.get(code)
    assert invite is not None and invite.used_by == 100 + results.index(True)


async def test_fifty_concurrent_tracking_numbers_are_all_different(sql_uow: UnitOfWorkFactory) -> None:
    async def allocate() -> int:
        async with sql_uow() as uow:
            value = await uow.counters.next("ZH", 2026)
            await uow.commit()
        return value

    values = await asyncio.gather(*(allocate() for _ in range(50)))
    assert sorted(values) == list(range(1, 51))


async def test_two_liaisons_signing_at_once_sign_once(sql_uow: UnitOfWorkFactory) -> None:
    async with sql_uow() as uow:
        await uow.units.sync([UnitRecord("jiwei", "区纪委")])
        case = await uow.cases.add(
            Case(
                tracking_no="ZH-2026-000001",
                state=CaseState.ASSIGNED,
                source=Source.CITIZEN,
                description="推诿",
                created_at=T0,
                lead_unit_ids=["jiwei"],
            )
        )
        await uow.commit()
    case_id = case.id
    assert case_id is not None

    async def sign(liaison: int) -> None:
        async with sql_uow() as uow:
            current = await uow.cases.get(case_id, for_update=True)
            assert current is not None
            await asyncio.sleep(HOLD)  # both have read the case before either writes
            current.apply(Action.SIGN, Actor.LIAISON)
            current.signed_at = T0
            await uow.cases.update(current)
            await uow.events.add(
                CaseEvent(case_id, T0, Actor.LIAISON, str(liaison), Action.SIGN.value, Visibility.PUBLIC)
            )
            await uow.commit()

    results = await asyncio.gather(sign(1), sign(2), return_exceptions=True)
    assert sorted(type(r).__name__ for r in results) == ["InvalidTransition", "NoneType"]
    assert any(isinstance(r, InvalidTransition) for r in results)
    async with sql_uow() as uow:
        events = await uow.events.list(case_id, include_internal=True)
        signed = await uow.cases.get(case_id)
    assert [e.kind for e in events] == ["sign"]
    assert signed is not None and signed.state is CaseState.SIGNED


async def test_the_same_reminder_enqueued_twice_at_once_is_stored_once(sql_uow: UnitOfWorkFactory) -> None:
    async def enqueue(worker: str) -> bool:
        async with sql_uow() as uow:
            stored = await uow.outbox.add(
                OutboxMessage(
                    chat_id=1,
                    method="sendMessage",
                    payload={"text": worker},
                    created_at=T0,
                    dedup_key="remind:ZH-2026-000001:answer:yellow",
                )
            )
            await asyncio.sleep(HOLD)
            await uow.commit()
        return stored

    assert sorted(await asyncio.gather(enqueue("a"), enqueue("b"))) == [False, True]


async def test_only_one_instance_gets_the_periodic_pass(sql_uow: UnitOfWorkFactory) -> None:
    async def try_tick(instance: str) -> bool:
        async with sql_uow() as uow:
            got = await uow.leases.try_acquire("tick", instance, now=T0, ttl=timedelta(minutes=5))
            await asyncio.sleep(HOLD)
            await uow.commit()
        return got

    assert sorted(await asyncio.gather(*(try_tick(f"i{n}") for n in range(5)))) == [False] * 4 + [True]


async def test_a_read_only_session_neither_waits_for_nor_holds_up_writers(engine: AsyncEngine) -> None:
    """Digests and statistics read through read-only sessions: a long report must not stall
    the handlers (on SQLite every other transaction takes the write lock up front)."""
    writer = make_session_factory(engine)
    reader = make_session_factory(engine, read_only=True)
    async with writer() as w:
        await w.execute(text("INSERT INTO tracking_counters VALUES ('ZH', 2026, 1)"))
        await w.commit()

    async with writer() as open_writer:  # a write transaction stays open throughout
        await open_writer.execute(text("UPDATE tracking_counters SET last_value = 2"))
        async with reader() as r:
            seen = await asyncio.wait_for(r.scalar(text("SELECT last_value FROM tracking_counters")), 2)
            # ...and while the reader's transaction is open, another writer can still commit
            await open_writer.commit()
            async with writer() as w2:
                await asyncio.wait_for(w2.execute(text("UPDATE tracking_counters SET last_value = 3")), 2)
                await w2.commit()
            with pytest.raises(DBAPIError):
                await r.execute(text("UPDATE tracking_counters SET last_value = 4"))
    assert seen == 1
