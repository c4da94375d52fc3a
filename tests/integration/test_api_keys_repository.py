"""The Open311 API's storage on SQLite and PostgreSQL (TEST_DATABASE_URL): API keys by hash,
API complainants (a key holder's account instead of a Telegram user) and the public reads."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.api_keys import ApiAccount, hash_api_key
from core.calendar import WorkingDays
from core.clock import FixedClock
from core.deadlines import DeadlineRules
from core.open311 import RequestQuery, RequestStatus
from core.plan import Plan
from core.ports import UnitOfWorkFactory
from core.services.complaints import ComplaintDraft, ComplaintService
from core.services.units import sync_plan_units
from storage.models import CitizenRow
from storage.open311_view import Open311Reader
from tests.integration.conftest import ALL_BACKENDS


@pytest.fixture(params=ALL_BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The contract tests also hold the fakes (tests/fakes.py) to what the databases do; the
    tests that need SQL skip on "fake"."""
    return str(request.param)


async def test_keys_round_trip_and_revoke_once(uow_factory: UnitOfWorkFactory, clock: FixedClock) -> None:
    sql_uow = uow_factory
    now = clock.now()
    async with sql_uow() as uow:
        first = await uow.api_keys.add(hash_api_key("bsn_one"), "12345 hotline", created_by=None, now=now)
        second = await uow.api_keys.add(hash_api_key("bsn_two"), "city portal", created_by=900_001, now=now)
        await uow.commit()
    async with sql_uow() as uow:
        found = await uow.api_keys.get_by_hash(hash_api_key(" bsn_one\n"))  # pasted with blanks
        assert found is not None and found.id == first.id and found.name == "12345 hotline" and found.active
        assert await uow.api_keys.get_by_hash(hash_api_key("bsn_three")) is None
        assert [k.id for k in await uow.api_keys.list_all()] == [second.id, first.id]
        assert await uow.api_keys.revoke(first.id, by=900_001, now=now + timedelta(hours=1))
        assert not await uow.api_keys.revoke(first.id, by=None, now=now + timedelta(hours=2))
        assert not await uow.api_keys.revoke(999, by=None, now=now)
        await uow.api_keys.touch(second.id, now=now + timedelta(minutes=5))
        await uow.commit()
    async with sql_uow() as uow:
        revoked, used = await uow.api_keys.get(first.id), await uow.api_keys.get(second.id)
    assert (
        revoked is not None
        and revoked.revoked_at == now + timedelta(hours=1)
        and revoked.revoked_by == 900_001
    )
    assert not revoked.active
    assert used is not None and used.last_used_at == now + timedelta(minutes=5) and used.created_by == 900_001


async def test_an_api_account_is_one_citizen_whose_details_given_replace_the_stored(
    uow_factory: UnitOfWorkFactory, clock: FixedClock
) -> None:
    sql_uow = uow_factory
    now = clock.now()
    async with sql_uow() as uow:
        key = await uow.api_keys.add(hash_api_key("bsn_k"), "12345 hotline", created_by=None, now=now)
        other = await uow.api_keys.add(hash_api_key("bsn_o"), "city portal", created_by=None, now=now)
        first = await uow.citizens.get_or_create_account(
            ApiAccount(key.id, "device:7", phone="13800138000", name="张三"), now=now
        )
        again = await uow.citizens.get_or_create_account(
            ApiAccount(key.id, "device:7", email="z@example.cn"), now=now + timedelta(days=1)
        )
        elsewhere = await uow.citizens.get_or_create_account(ApiAccount(other.id, "device:7"), now=now)
        await uow.commit()
    assert again.id == first.id and elsewhere.id != first.id
    assert (again.user_id, again.api_key_id, again.external_id) == (None, key.id, "device:7")
    # the phone and name stay on file, the email sent this time is added
    assert (again.phone, again.name, again.email) == ("13800138000", "张三", "z@example.cn")
    assert again.created_at == now
    async with sql_uow() as uow:
        stored = await uow.citizens.get(first.id or 0)
    assert stored == again


async def test_a_citizen_is_a_telegram_user_or_an_api_account(
    session_factory: async_sessionmaker[AsyncSession], clock: FixedClock
) -> None:
    async with session_factory() as session:
        with pytest.raises(IntegrityError):
            await session.execute(insert(CitizenRow).values(created_at=clock.now()))


async def test_the_public_reads_on_every_backend(
    sql_uow: UnitOfWorkFactory, plan: Plan, clock: FixedClock
) -> None:
    await sync_plan_units(plan, sql_uow)
    rules = DeadlineRules(WorkingDays(), clock.tz)
    service = ComplaintService(uow=sql_uow, plan=plan, clock=clock, deadlines=rules)
    async with sql_uow() as uow:
        key = await uow.api_keys.add(hash_api_key("bsn_k"), "12345 hotline", created_by=None, now=clock.now())
        await uow.commit()
    text = "区政务中心的工作人员上班时间玩手机，办事拖拉，让我跑了三趟"
    filed = await service.file(None, ComplaintDraft(text, "conduct"), account=ApiAccount(key.id, "device:1"))
    clock.advance(timedelta(hours=1))
    await service.file(None, ComplaintDraft(text, "procedure"), account=ApiAccount(key.id, "device:2"))

    async with sql_uow() as uow:
        reader = Open311Reader(uow.session)
        everything = await reader.page(RequestQuery())
        conduct = await reader.page(RequestQuery(area="conduct", status=RequestStatus.OPEN))
        closed = await reader.page(RequestQuery(status=RequestStatus.CLOSED))
        paged = await reader.page(RequestQuery(page=2, page_size=1))
        own = await reader.get(filed.case.tracking_no, reader_key=key.id)
        public = await reader.get(filed.case.tracking_no)
    assert [r.tracking_no for r in everything] == ["ZH-2026-000002", "ZH-2026-000001"]
    assert [r.tracking_no for r in conduct] == ["ZH-2026-000001"] and closed == []
    assert [r.tracking_no for r in paged] == ["ZH-2026-000001"]
    assert own is not None and own.description == text and own.lead_unit_ids == ("organs_work_committee",)
    assert public is not None and public.description is None and public.area == "conduct"
