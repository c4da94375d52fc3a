"""The unit leaders' repository (一把手 and 分管领导) on the fake, SQLite and PostgreSQL: one
holder per unit and role, a new binding ending the old one (kept as history), the invite's role
stored with the code, and the user-count query the daily limit uses."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.directory import InviteRole
from core.ports import UnitOfWorkFactory
from tests.integration.conftest import ALL_BACKENDS
from tests.integration.test_repositories import CITIZEN_USER, LIAISON_USER, OFFICE_USER, T0, make_case, seed

UNIT = "jiwei"
OTHER = "zwzx"


@pytest.fixture(params=ALL_BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def test_binding_a_role_again_ends_the_holder_and_keeps_the_history(
    uow_factory: UnitOfWorkFactory,
) -> None:
    await seed(uow_factory)
    async with uow_factory() as uow:
        assert (
            await uow.leaders.bind(UNIT, InviteRole.FIRST_RESPONSIBLE, LIAISON_USER, name="周一", now=T0)
            is None
        )
        assert (
            await uow.leaders.bind(UNIT, InviteRole.CAMPAIGN_LEADER, OFFICE_USER, name="吴二", now=T0) is None
        )
        await uow.commit()
    later = T0 + timedelta(days=30)
    async with uow_factory() as uow:
        previous = await uow.leaders.bind(
            UNIT, InviteRole.FIRST_RESPONSIBLE, CITIZEN_USER, name="郑三", now=later
        )
        # the same person again: nothing ends, nothing is returned
        same = await uow.leaders.bind(UNIT, InviteRole.CAMPAIGN_LEADER, OFFICE_USER, name="吴二", now=later)
        await uow.commit()
    assert previous is not None and previous.user_id == LIAISON_USER and previous.ended_at is not None
    assert same is None

    async with uow_factory() as uow:
        active = await uow.leaders.list_active()
        of_other = await uow.leaders.list_active([OTHER])
        history = await uow.leaders.list_all()
    assert [(x.unit_id, x.role, x.user_id, x.name) for x in active] == [
        (UNIT, InviteRole.CAMPAIGN_LEADER, OFFICE_USER, "吴二"),
        (UNIT, InviteRole.FIRST_RESPONSIBLE, CITIZEN_USER, "郑三"),
    ]
    assert of_other == []
    assert [(x.user_id, x.active) for x in history] == [
        (LIAISON_USER, False),
        (OFFICE_USER, True),
        (CITIZEN_USER, True),
    ]

    async with uow_factory() as uow:
        ended = await uow.leaders.end(UNIT, InviteRole.FIRST_RESPONSIBLE, now=later)
        nothing = await uow.leaders.end(OTHER, InviteRole.FIRST_RESPONSIBLE, now=later)
        await uow.commit()
    assert ended is not None and ended.user_id == CITIZEN_USER and nothing is None
    async with uow_factory() as uow:
        assert [x.role for x in await uow.leaders.list_active([UNIT])] == [InviteRole.CAMPAIGN_LEADER]


async def test_an_invite_keeps_its_role(uow_factory: UnitOfWorkFactory) -> None:
    await seed(uow_factory)
    until = T0 + timedelta(days=7)
    async with uow_factory() as uow:
        await uow.invites.add("h1", UNIT, created_by=OFFICE_USER, now=T0, expires_at=until)
        await uow.invites.add(
            "h2", UNIT, created_by=OFFICE_USER, now=T0, expires_at=until, role=InviteRole.CAMPAIGN_LEADER
        )
        await uow.commit()
    async with uow_factory() as uow:
        plain, leader = await uow.invites.get("h1"), await uow.invites.get("h2")
        consumed = await uow.invites.consume("h2", LIAISON_USER, now=T0)
    assert plain is not None and plain.role is InviteRole.LIAISON
    assert leader is not None and leader.role is InviteRole.CAMPAIGN_LEADER
    assert consumed is not None and consumed.role is InviteRole.CAMPAIGN_LEADER


async def test_the_cases_a_user_filed_are_counted_through_their_citizen(
    uow_factory: UnitOfWorkFactory,
) -> None:
    citizen_id = await seed(uow_factory)
    async with uow_factory() as uow:
        for n in range(3):
            await uow.cases.add(make_case(n + 1, citizen_id))
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.cases.count_for_user_since(CITIZEN_USER, T0) == 3
        assert await uow.cases.count_for_user_since(CITIZEN_USER, T0 + timedelta(minutes=2)) == 2
        assert await uow.cases.count_for_user_since(LIAISON_USER, T0) == 0  # no citizen row at all


async def test_a_users_first_language_is_only_for_a_new_user(uow_factory: UnitOfWorkFactory) -> None:
    await seed(uow_factory)
    async with uow_factory() as uow:
        known = await uow.users.upsert(CITIZEN_USER, now=T0, chat_id=CITIZEN_USER, first_language="en")
        new = await uow.users.upsert(424242, now=T0, chat_id=424242, first_language="en")
        await uow.commit()
    assert known.language == "zh"  # seeded in zh: a later first_language never overrides it
    assert new.language == "en" and new.chat_id == 424242
