"""The retention service over the in-memory fakes: the pass erases by date and leaves open
cases alone; /forget erases closed cases at once and puts open ones before the office; only
the office decides, once."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from core.cases import Case, Source
from core.clock import FixedClock
from core.errors import PermissionDenied
from core.retention import AUDIT_RETENTION_ERASE, ForgetDecision, RetentionPolicy
from core.services.retention import CALLBACK_FORGET_ERASE, RetentionService
from core.states import CaseState
from tests.fakes import FakeStore, fake_uow_factory

TZ = ZoneInfo("Asia/Shanghai")
USER = 100_001
OFFICE = 900_001
CLOSED_ON = datetime(2014, 9, 10, 10, tzinfo=TZ)
POLICY = RetentionPolicy(assessment=date(2014, 12, 31), days=30)  # erased from 2015-01-31


async def seed(store: FakeStore, *states: CaseState) -> list[Case]:
    uow = fake_uow_factory(store)()
    cases = []
    async with uow:
        await uow.users.upsert(USER, now=CLOSED_ON, chat_id=USER)
        citizen = await uow.citizens.get_or_create(USER, now=CLOSED_ON, phone="+8613812345678")
        for n, state in enumerate(states, start=1):
            case = Case(
                tracking_no=f"ZH-2014-{n:06d}",
                state=state,
                source=Source.CITIZEN,
                description="请回电 13812345678",
                created_at=CLOSED_ON - timedelta(days=5),
                citizen_id=citizen.id,
                anonymous=False,
                closed_at=CLOSED_ON if state.is_final else None,
            )
            await uow.cases.add(case)
            cases.append(case)
        await uow.commit()
    return cases


def service(store: FakeStore, now: datetime) -> RetentionService:
    return RetentionService(
        uow=fake_uow_factory(store), clock=FixedClock(now, TZ), policy=POLICY, admin_ids=frozenset({OFFICE})
    )


@pytest.mark.parametrize(
    ("now", "erased"),
    [
        (datetime(2015, 1, 30, 12, tzinfo=TZ), 0),  # the last day kept
        (datetime(2015, 1, 31, 0, 30, tzinfo=TZ), 1),  # the day after: the closed one only
    ],
)
async def test_the_pass_erases_closed_cases_past_their_date_only(now: datetime, erased: int) -> None:
    store = FakeStore()
    closed, still_open = await seed(store, CaseState.CLOSED, CaseState.ASSIGNED)
    done = await service(store, now).run_pass()
    assert len(done.cases) == erased
    assert store.cases[still_open.id or 0].citizen_id is not None
    if erased:
        kept = store.cases[closed.id or 0]
        assert kept.citizen_id is None and "13812345678" not in kept.description
        assert [e.target for e in store.audit if e.action == AUDIT_RETENTION_ERASE] == [closed.tracking_no]
        assert all(e.actor_id == 0 for e in store.audit)
        assert len(store.citizens) == 1  # still the open case's complainant


async def test_the_citizen_row_goes_with_their_last_case() -> None:
    store = FakeStore()
    await seed(store, CaseState.CLOSED, CaseState.REJECTED)
    await service(store, datetime(2015, 3, 1, tzinfo=TZ)).run_pass()
    assert store.citizens == {}


async def test_forget_with_an_open_case_tells_every_office_member_without_an_office_chat() -> None:
    store = FakeStore()
    closed, still_open = await seed(store, CaseState.CLOSED, CaseState.SIGNED)
    svc = service(store, datetime(2014, 9, 20, tzinfo=TZ))
    done = await svc.forget(USER)
    assert done.erased == (closed.tracking_no,) and done.pending == (still_open.tracking_no,)
    [citizen] = store.citizens.values()
    assert citizen.phone is None  # gone at once, the row kept as the open case's link
    [notice] = [m for m in store.outbox.values() if m.chat_id == OFFICE]
    assert notice.payload["text_params"] == {"request_id": done.request_id, "cases": still_open.tracking_no}
    assert f"{CALLBACK_FORGET_ERASE}{done.request_id}" in str(notice.payload["buttons"])

    assert done.request_id is not None
    with pytest.raises(PermissionDenied):
        await svc.decide(USER, done.request_id, ForgetDecision.ERASE_NOW)
    decided = await svc.decide(OFFICE, done.request_id, ForgetDecision.ERASE_NOW)
    assert decided is not None and decided.erased == (still_open.tracking_no,)
    assert store.citizens == {}
    assert await svc.decide(OFFICE, done.request_id, ForgetDecision.KEEP_UNTIL_CLOSED) is None


async def test_forget_for_a_stranger_does_nothing() -> None:
    store = FakeStore()
    done = await service(store, datetime(2014, 9, 20, tzinfo=TZ)).forget(USER)
    assert not done.known and store.audit == []
