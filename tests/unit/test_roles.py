"""Roles are resolved from config and the directory on every request."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.directory import UnitRecord
from core.errors import PermissionDenied
from core.roles import resolve_roles
from tests.fakes import FakeStore, FakeUnitOfWork

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


async def _store_with(liaison_of: dict[int, str], office_members: tuple[int, ...] = ()) -> FakeStore:
    store = FakeStore()
    async with FakeUnitOfWork(store) as uow:
        await uow.units.sync(
            [UnitRecord("finance_bureau", "区财政局"), UnitRecord("audit_bureau", "区审计局")]
        )
        for user_id, unit_id in liaison_of.items():
            await uow.users.upsert(user_id, now=NOW)
            await uow.liaisons.add(user_id, unit_id, now=NOW)
        for user_id in office_members:
            await uow.users.upsert(user_id, now=NOW)
            await uow.office.add(user_id, added_by=None, now=NOW)
        await uow.commit()
    return store


@pytest.mark.parametrize(
    ("user_id", "office", "unit_id"),
    [
        (1, True, None),  # admin from config
        (2, True, None),  # office member added at run time
        (3, False, "finance_bureau"),  # liaison
        (4, True, "audit_bureau"),  # both: an admin who is also a liaison
        (5, False, None),  # anybody else is a citizen only
    ],
)
async def test_roles_come_from_config_and_directory(user_id: int, office: bool, unit_id: str | None) -> None:
    store = await _store_with({3: "finance_bureau", 4: "audit_bureau"}, office_members=(2,))
    async with FakeUnitOfWork(store) as uow:
        roles = await resolve_roles(uow, user_id, frozenset({1, 4}))
    assert (roles.office, roles.unit_id) == (office, unit_id)


async def test_a_removed_liaison_loses_the_role_at_once() -> None:
    store = await _store_with({3: "finance_bureau"})
    async with FakeUnitOfWork(store) as uow:
        await uow.liaisons.remove(3, now=NOW)
        await uow.commit()
    async with FakeUnitOfWork(store) as uow:
        roles = await resolve_roles(uow, 3, frozenset())
    assert not roles.liaison
    with pytest.raises(PermissionDenied):
        roles.require_liaison()
    with pytest.raises(PermissionDenied):
        roles.require_office()
