"""``ApiKeyService`` (core/services/api_keys.py) on the fakes: who may issue and revoke, what
a key holder's presented key gets, and what the audit trail keeps of it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.clock import FixedClock
from core.errors import PermissionDenied
from core.services.api_keys import (
    AUDIT_ISSUE,
    AUDIT_REFUSED,
    AUDIT_REVOKE,
    ApiKeyService,
    KeyNameInvalid,
    KeyRefused,
    KeyRevokedAlready,
    KeyUnknown,
    RefusalReason,
)
from core.services.workflow import SYSTEM_AUDIT_ACTOR
from tests.fakes import FakeStore, fake_uow_factory

OFFICE = 900_001
STRANGER = 100_001


@pytest.fixture
def store() -> FakeStore:
    return FakeStore()


@pytest.fixture
def service(store: FakeStore, clock: FixedClock) -> ApiKeyService:
    return ApiKeyService(uow=fake_uow_factory(store), clock=clock, admin_ids=frozenset({OFFICE}))


async def test_an_issued_key_is_shown_once_and_kept_as_a_hash(
    service: ApiKeyService, store: FakeStore
) -> None:
    issued = await service.issue(OFFICE, "  12345 hotline\n")
    assert issued.key.name == "12345 hotline" and issued.key.created_by == OFFICE
    [(stored_hash, _)] = store.api_keys.values()
    assert issued.secret not in stored_hash
    assert (await service.authenticate(issued.secret)).id == issued.key.id
    assert [(e.actor_id, e.action, e.details) for e in store.audit] == [
        (OFFICE, AUDIT_ISSUE, {"name": "12345 hotline"})
    ]


async def test_the_command_line_is_audited_as_the_system(service: ApiKeyService, store: FakeStore) -> None:
    issued = await service.issue(None, "city portal")
    await service.revoke(None, issued.key.id)
    assert [(e.actor_id, e.action) for e in store.audit] == [
        (SYSTEM_AUDIT_ACTOR, AUDIT_ISSUE),
        (SYSTEM_AUDIT_ACTOR, AUDIT_REVOKE),
    ]


@pytest.mark.parametrize("name", ["", "   ", "\x00\u202e\u200b", "名" * 201])
async def test_a_key_needs_a_holders_name(service: ApiKeyService, store: FakeStore, name: str) -> None:
    with pytest.raises(KeyNameInvalid):
        await service.issue(OFFICE, name)
    assert store.api_keys == {} and store.audit == []


async def test_nobody_but_the_office_issues_lists_or_revokes(
    service: ApiKeyService, store: FakeStore
) -> None:
    issued = await service.issue(OFFICE, "12345 hotline")
    with pytest.raises(PermissionDenied):
        await service.issue(STRANGER, "mine")
    with pytest.raises(PermissionDenied):
        await service.list(STRANGER)
    with pytest.raises(PermissionDenied):
        await service.revoke(STRANGER, issued.key.id)
    assert [k.name for k in await service.list(OFFICE)] == ["12345 hotline"]
    assert (await service.authenticate(issued.secret)).active


async def test_revoking_twice_or_an_unknown_key_says_so(service: ApiKeyService) -> None:
    issued = await service.issue(OFFICE, "12345 hotline")
    revoked = await service.revoke(OFFICE, issued.key.id)
    assert revoked.revoked_by == OFFICE and not revoked.active
    with pytest.raises(KeyRevokedAlready):
        await service.revoke(OFFICE, issued.key.id)
    with pytest.raises(KeyUnknown):
        await service.revoke(OFFICE, 42)


@pytest.mark.parametrize(
    ("presented", "reason"),
    [
        (None, RefusalReason.MISSING),
        ("", RefusalReason.MISSING),
        ("   ", RefusalReason.MISSING),
        ("bsn_guess", RefusalReason.UNKNOWN),
        ("x" * 10_000, RefusalReason.UNKNOWN),  # refused without hashing ten kilobytes
    ],
)
async def test_a_refused_key_is_audited_with_the_client(
    service: ApiKeyService, store: FakeStore, presented: str | None, reason: RefusalReason
) -> None:
    with pytest.raises(KeyRefused) as refused:
        await service.authenticate(presented, client="10.0.0.7")
    assert refused.value.reason is reason
    [entry] = store.audit
    assert (entry.action, entry.details) == (AUDIT_REFUSED, {"reason": reason.value, "client": "10.0.0.7"})


async def test_a_revoked_key_is_refused_and_named(service: ApiKeyService, store: FakeStore) -> None:
    issued = await service.issue(OFFICE, "12345 hotline")
    await service.revoke(OFFICE, issued.key.id)
    with pytest.raises(KeyRefused) as refused:
        await service.authenticate(issued.secret)
    assert refused.value.reason is RefusalReason.REVOKED
    assert store.audit[-1].target == f"api_key:{issued.key.id}"


async def test_use_is_recorded_at_most_once_a_minute(
    service: ApiKeyService, store: FakeStore, clock: FixedClock
) -> None:
    issued = await service.issue(OFFICE, "12345 hotline")
    first = clock.now()
    await service.authenticate(issued.secret)
    clock.advance(timedelta(seconds=30))
    await service.authenticate(issued.secret)
    assert store.api_keys[issued.key.id][1].last_used_at == first
    clock.advance(timedelta(seconds=31))
    await service.authenticate(issued.secret)
    assert store.api_keys[issued.key.id][1].last_used_at == clock.now()
