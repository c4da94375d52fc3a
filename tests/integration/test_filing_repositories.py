"""The repository contract of what a citizen's filing uses in few round trips (issue 11): the
guarded case insert, the citizen upsert that keeps a phone, the liaisons of several units in
one query, the audit trail in one batch, a new case's history and audit entries stored with
it. On the in-memory fake, SQLite and PostgreSQL, so the
service tests over the fake hold for real."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from core.audit import AuditEntry
from core.cases import NEW_CASE, Case, CaseEvent, Visibility
from core.ports import UnitOfWorkFactory
from core.recusal import Recusal, RecusalReason, RecusalScope
from core.states import Actor, CaseState
from tests.integration.conftest import ALL_BACKENDS
from tests.integration.test_repositories import CITIZEN_USER, LIAISON_USER, OFFICE_USER, T0, make_case, seed

DAY_START = T0 - timedelta(hours=10)  # midnight in the district, the daily limit's "today"


@pytest.fixture(params=ALL_BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def routed_case(n: int, citizen_id: int, **changes: object) -> Case:
    return make_case(
        n,
        citizen_id,
        state=CaseState.ASSIGNED,
        lead_unit_ids=["jiwei", "jianchaju"],
        assist_unit_ids=["jgwg", "jiwei", "zwzx"],  # jiwei leads, so it is not also an assistant
        assigned_at=T0,
        sign_due=date(2026, 11, 24),
        answer_due=date(2026, 11, 30),
        matched_cues=["推诿"],
        recusals=[
            Recusal("xiaoneng", RecusalScope.FULL, RecusalReason.NAMED, "行政效能监察室"),
            Recusal("jiwei", RecusalScope.LEAD, RecusalReason.PARENT, via="xiaoneng"),
        ],
        **changes,
    )


async def test_a_case_added_within_the_limit_is_stored_like_any_other(uow_factory: UnitOfWorkFactory) -> None:
    citizen_id = await seed(uow_factory)
    guarded, plain = routed_case(1, citizen_id, submission_key="k1"), routed_case(2, citizen_id)
    async with uow_factory() as uow:
        assert await uow.cases.add_within_limit(guarded, since=DAY_START, limit=5)
        await uow.cases.add(plain)
        await uow.commit()
    assert guarded.id is not None and plain.id is not None and guarded.id != plain.id

    async with uow_factory() as uow:
        stored = await uow.cases.get(guarded.id)
        reference = await uow.cases.get(plain.id)
    assert stored is not None and reference is not None
    assert stored.lead_unit_ids == ["jiwei", "jianchaju"]
    assert stored.assist_unit_ids == ["jgwg", "zwzx"]
    at = stored.created_at  # a recusal without its own time is stamped when the case is stored
    assert [(r.unit_id, r.at) for r in stored.recusals] == [("jiwei", at), ("xiaoneng", at)]
    assert [(r.unit_id, r.via) for r in reference.recusals] == [(r.unit_id, r.via) for r in stored.recusals]
    # everything but what tells the two apart is the same as the ORM's insert stores
    differ = {"id", "tracking_no", "description", "created_at", "submission_key", "recusals"}
    for name in Case.__dataclass_fields__:
        if name not in differ:
            assert getattr(stored, name) == getattr(reference, name), name
    assert stored.submission_key == "k1"


def first_history(at: datetime) -> list[CaseEvent]:
    """A new case's events, all at one instant (as a filing makes them): only their ids order
    them in the history."""
    made = [
        ("submit", Visibility.PUBLIC, "", {"from": "draft", "to": "submitted", "evidence": 0}),
        ("recusal", Visibility.INTERNAL, "", {"unit": "xiaoneng", "scope": "full"}),
        ("recusal", Visibility.INTERNAL, "", {"unit": "jiwei", "scope": "lead", "via": "xiaoneng"}),
        ("route", Visibility.PUBLIC, "转办", {"from": "submitted", "to": "assigned", "units": ["jiwei"]}),
    ]
    return [
        CaseEvent(NEW_CASE, at, Actor.SYSTEM, "system", kind, visibility, text, data)
        for kind, visibility, text, data in made
    ]


async def test_a_new_case_is_stored_with_its_history_in_order_and_its_audit_entries(
    uow_factory: UnitOfWorkFactory,
) -> None:
    citizen_id = await seed(uow_factory)
    case = routed_case(1, citizen_id, submission_key="k1")
    history = first_history(case.created_at)
    audit = [
        AuditEntry(0, case.created_at, "case.recusal", case.tracking_no, {"unit": u, "by": "system"})
        for u in ("xiaoneng", "jiwei")
    ]
    async with uow_factory() as uow:
        assert await uow.cases.add_within_limit(case, since=DAY_START, limit=5, history=history, audit=audit)
        await uow.commit()
    assert case.id is not None and all(e.case_id == case.id for e in history)

    async with uow_factory() as uow:
        events = await uow.events.list(case.id, include_internal=True)
        public = await uow.events.list(case.id, include_internal=False)
        entries = await uow.audit.list_recent()
    assert [(e.kind, e.data.get("unit")) for e in events] == [
        ("submit", None),
        ("recusal", "xiaoneng"),
        ("recusal", "jiwei"),
        ("route", None),
    ]
    assert [e.kind for e in public] == ["submit", "route"]
    route = events[-1]
    assert (route.case_id, route.at, route.actor, route.actor_ref) == (
        case.id,
        case.created_at,
        Actor.SYSTEM,
        "system",
    )
    assert route.text == "转办" and route.data == {"from": "submitted", "to": "assigned", "units": ["jiwei"]}
    # newest first: the later of the two first
    assert [(e.target, e.at, e.details) for e in entries] == [
        (case.tracking_no, case.created_at, {"unit": "jiwei", "by": "system"}),
        (case.tracking_no, case.created_at, {"unit": "xiaoneng", "by": "system"}),
    ]


async def test_a_refused_case_stores_neither_history_nor_audit(uow_factory: UnitOfWorkFactory) -> None:
    citizen_id = await seed(uow_factory)
    async with uow_factory() as uow:
        assert await uow.cases.add_within_limit(
            make_case(1, citizen_id, submission_key="k1"), since=T0, limit=5
        )
        await uow.commit()
    again = make_case(2, citizen_id, submission_key="k1")
    over = make_case(3, citizen_id)
    async with uow_factory() as uow:
        note = [AuditEntry(0, T0, "case.recusal", "ZH-2026-000002", {})]
        assert not await uow.cases.add_within_limit(
            again, since=T0, limit=5, history=first_history(T0), audit=note
        )
        assert not await uow.cases.add_within_limit(
            over, since=T0, limit=1, history=first_history(T0), audit=note
        )
        await uow.commit()
    async with uow_factory() as uow:
        first = await uow.cases.get_by_tracking_no("ZH-2026-000001")
        assert first is not None and first.id is not None
        assert await uow.events.list(first.id, include_internal=True) == []
        assert await uow.events.list(NEW_CASE, include_internal=True) == []
        assert await uow.audit.list_recent() == []


async def test_a_case_filed_for_a_telegram_user_finds_or_makes_its_citizen_as_get_or_create_does(
    uow_factory: UnitOfWorkFactory,
) -> None:
    known = await seed(uow_factory)  # CITIZEN_USER, no phone
    new_user, phone = 3003, "+8613700000000"
    first, second = make_case(1, None), make_case(2, None, submission_key="k2")
    again = make_case(3, None, submission_key="k2")
    async with uow_factory() as uow:
        await uow.users.upsert(new_user, now=T0)
        assert await uow.cases.add_within_limit(first, since=T0, limit=5, citizen=(new_user, phone))
        assert await uow.cases.add_within_limit(second, since=T0, limit=5, citizen=(CITIZEN_USER, phone))
        # refused (the key is used): the citizen is still told
        assert not await uow.cases.add_within_limit(again, since=T0, limit=5, citizen=(CITIZEN_USER, None))
        await uow.commit()
    assert second.citizen_id == again.citizen_id == known
    assert first.citizen_id is not None and first.citizen_id != known
    async with uow_factory() as uow:
        made = await uow.citizens.get_by_user(new_user)
        found = await uow.citizens.get(known)
        stored = await uow.cases.get_by_tracking_no("ZH-2026-000002")
        count = await uow.cases.count_for_citizen_since(first.citizen_id, T0)
    assert made is not None and (made.id, made.phone, made.created_at) == (
        first.citizen_id,
        phone,
        first.created_at,
    )
    assert found is not None and found.phone == phone  # given once, kept when the next one had none
    assert stored is not None and stored.citizen_id == known and count == 1


async def test_the_daily_limit_counts_the_cases_of_the_citizen_found_in_the_same_statement(
    uow_factory: UnitOfWorkFactory,
) -> None:
    known = await seed(uow_factory)
    async with uow_factory() as uow:
        await uow.users.upsert(4004, now=T0)
        assert await uow.cases.add_within_limit(make_case(1, known), since=DAY_START, limit=2)
        assert await uow.cases.add_within_limit(
            make_case(2, None), since=DAY_START, limit=2, citizen=(CITIZEN_USER, None)
        )
        over = make_case(3, None)
        assert not await uow.cases.add_within_limit(
            over, since=DAY_START, limit=2, citizen=(CITIZEN_USER, None)
        )
        assert over.id is None and over.citizen_id == known
        # another user's first case is not held back by this one's
        assert await uow.cases.add_within_limit(
            make_case(4, None), since=DAY_START, limit=2, citizen=(4004, None)
        )
        await uow.commit()


async def test_a_used_submission_key_stores_nothing(uow_factory: UnitOfWorkFactory) -> None:
    citizen_id = await seed(uow_factory)
    async with uow_factory() as uow:
        first = make_case(1, citizen_id, submission_key="k1")
        assert await uow.cases.add_within_limit(first, since=T0, limit=5)
        await uow.commit()

    second = make_case(2, citizen_id, submission_key="k1")
    async with uow_factory() as uow:
        assert not await uow.cases.add_within_limit(second, since=T0, limit=5)
        assert second.id is None
        # a case without a key is never taken for another's
        assert await uow.cases.add_within_limit(make_case(3, citizen_id), since=T0, limit=5)
        assert await uow.cases.add_within_limit(make_case(4, citizen_id), since=T0, limit=5)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.cases.get_by_tracking_no("ZH-2026-000002") is None
        assert await uow.cases.count_for_citizen_since(citizen_id, T0) == 3


async def test_the_limit_counts_the_citizens_cases_since_the_given_time(
    uow_factory: UnitOfWorkFactory,
) -> None:
    citizen_id = await seed(uow_factory)
    async with uow_factory() as uow:
        other = await uow.citizens.get_or_create(LIAISON_USER, now=T0)
        assert other.id is not None
        yesterday = make_case(1, citizen_id, created_at=DAY_START - timedelta(minutes=1))
        assert await uow.cases.add_within_limit(yesterday, since=DAY_START - timedelta(days=1), limit=2)
        assert await uow.cases.add_within_limit(make_case(2, citizen_id), since=DAY_START, limit=2)
        assert await uow.cases.add_within_limit(make_case(3, other.id), since=DAY_START, limit=1)
        # today: one of the citizen's (yesterday's does not count, nor the other citizen's)
        assert await uow.cases.add_within_limit(make_case(4, citizen_id), since=DAY_START, limit=2)
        refused = make_case(5, citizen_id)
        assert not await uow.cases.add_within_limit(refused, since=DAY_START, limit=2)
        assert refused.id is None
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.cases.count_for_citizen_since(citizen_id, DAY_START) == 2
        assert await uow.cases.get_by_tracking_no("ZH-2026-000005") is None


async def test_a_citizen_created_or_found_with_a_phone_keeps_it(uow_factory: UnitOfWorkFactory) -> None:
    citizen_id = await seed(uow_factory)
    async with uow_factory() as uow:
        later = T0 + timedelta(days=1)
        shared = await uow.citizens.get_or_create(CITIZEN_USER, now=later, phone="+8613800000000")
        kept = await uow.citizens.get_or_create(CITIZEN_USER, now=T0 + timedelta(days=2))
        new = await uow.citizens.get_or_create(OFFICE_USER, now=T0, phone="+8613900000000")
        await uow.commit()
    assert (shared.id, shared.created_at, shared.phone) == (citizen_id, T0, "+8613800000000")
    assert (kept.id, kept.phone) == (citizen_id, "+8613800000000")  # no phone given: left as it is
    assert new.id != citizen_id and new.phone == "+8613900000000" and new.user_id == OFFICE_USER
    async with uow_factory() as uow:
        assert await uow.citizens.get(citizen_id) == kept
        assert await uow.citizens.get_by_user(OFFICE_USER) == new


async def test_liaisons_of_several_units_come_in_one_list_by_unit_then_joining(
    uow_factory: UnitOfWorkFactory,
) -> None:
    await seed(uow_factory)
    async with uow_factory() as uow:
        for user_id in (2002, 2003, 2004):
            await uow.users.upsert(user_id, now=T0)
        await uow.liaisons.add(2002, "zwzx", now=T0)
        await uow.liaisons.add(LIAISON_USER, "jiwei", now=T0 + timedelta(minutes=1))
        await uow.liaisons.add(2003, "zwzx", now=T0 + timedelta(minutes=2))
        await uow.liaisons.add(2004, "jgwg", now=T0)  # a unit not asked for
        await uow.liaisons.add(OFFICE_USER, "zwzx", now=T0 + timedelta(minutes=3))
        await uow.liaisons.remove(OFFICE_USER, now=T0 + timedelta(minutes=4))  # left: not listed
        await uow.commit()

    async with uow_factory() as uow:
        found = await uow.liaisons.list_for_units(["zwzx", "jiwei", "xiaoneng", "zwzx"])
        each = [*await uow.liaisons.list_for_unit("jiwei"), *await uow.liaisons.list_for_unit("zwzx")]
        none = await uow.liaisons.list_for_units([])
    assert [(x.unit_id, x.user_id) for x in found] == [
        ("jiwei", LIAISON_USER),
        ("zwzx", 2002),
        ("zwzx", 2003),
    ]
    assert found == each
    assert none == []


async def test_audit_entries_added_in_one_batch_are_listed_like_single_ones(
    uow_factory: UnitOfWorkFactory,
) -> None:
    entries = [
        AuditEntry(0, T0, "case.recusal", "ZH-2026-000001", {"unit": "zwzx", "scope": "full"}),
        AuditEntry(OFFICE_USER, T0, "case.recusal", "ZH-2026-000001", {"unit": "jiwei", "scope": "lead"}),
    ]
    async with uow_factory() as uow:
        await uow.audit.add_many(entries)
        await uow.audit.add_many([])
        await uow.commit()
    async with uow_factory() as uow:
        recent = await uow.audit.list_recent()
        mine = await uow.audit.list_recent(actor_id=OFFICE_USER)
    # the same instant: newest first is the later of the batch first
    assert [(e.actor_id, e.details["unit"]) for e in recent] == [(OFFICE_USER, "jiwei"), (0, "zwzx")]
    assert [(e.action, e.target, e.at, e.details) for e in mine] == [
        ("case.recusal", "ZH-2026-000001", T0, {"unit": "jiwei", "scope": "lead"})
    ]
