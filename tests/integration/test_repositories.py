"""The repository contract. Every test runs on the in-memory fake, SQLite and PostgreSQL: what
services are tested against (the fake) behaves like what they run on."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.exc import IntegrityError, StatementError

from core.attachments import Attachment, AttachmentKind
from core.audit import AuditEntry
from core.cases import Case, CaseEvent, Measure, Outcome, Satisfaction, Source, Visibility
from core.directory import UnitRecord, UnitRole, hash_invite_code
from core.errors import NotFound
from core.outbox import OutboxMessage, OutboxState
from core.ports import UnitOfWork, UnitOfWorkFactory
from core.reports import (
    Recommendation,
    RecommendationStatus,
    ReportKind,
    ReportStatus,
    UnitReport,
)
from core.states import Action, Actor, CaseState
from tests.fakes import FakeUnitOfWork
from tests.integration.conftest import ALL_BACKENDS

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 23, 10, 0, tzinfo=SHANGHAI)
CITIZEN_USER = 1001
LIAISON_USER = 2001
OFFICE_USER = 3001
UNITS = [
    UnitRecord("jgwg", "区直机关工委", "department"),
    UnitRecord("jiwei", "区纪委", "department"),
    UnitRecord("jianchaju", "区监察局", "department"),
    UnitRecord("xiaoneng", "行政效能监察室", "office"),
    UnitRecord("zwzx", "区政务中心", "department"),
]


@pytest.fixture(params=ALL_BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def seed(uow_factory: UnitOfWorkFactory) -> int:
    """Units, three users and a citizen; returns the citizen id."""
    async with uow_factory() as uow:
        await uow.units.sync(UNITS)
        for user_id in (CITIZEN_USER, LIAISON_USER, OFFICE_USER):
            await uow.users.upsert(user_id, now=T0, chat_id=user_id)
        citizen = await uow.citizens.get_or_create(CITIZEN_USER, now=T0)
        await uow.commit()
    assert citizen.id is not None
    return citizen.id


def make_case(n: int, citizen_id: int | None, **changes: object) -> Case:
    case = Case(
        tracking_no=f"ZH-2026-{n:06d}",
        state=CaseState.SUBMITTED,
        source=Source.CITIZEN,
        description=f"窗口工作人员推诿 #{n}",
        created_at=T0 + timedelta(minutes=n),
        citizen_id=citizen_id,
    )
    for name, value in changes.items():
        setattr(case, name, value)
    return case


def test_fake_unit_of_work_satisfies_the_port() -> None:
    uow: UnitOfWork = FakeUnitOfWork()  # mypy checks this line against core.ports
    assert uow is not None


# cases -----------------------------------------------------------------------------------------


async def test_case_round_trips_with_every_field_and_its_units(uow_factory: UnitOfWorkFactory) -> None:
    citizen_id = await seed(uow_factory)
    case = make_case(
        1,
        citizen_id,
        state=CaseState.ASSIGNED,
        area_auto="procedure",
        area_final="conduct",
        confidence=0.72,
        matched_cues=["推诿", "来回跑"],
        anonymous=False,
        target_unit_id="zwzx",
        target_text="政务中心3号窗口",
        place="政务中心",
        occurred="昨天上午",
        lead_unit_ids=["jiwei", "jianchaju"],
        assist_unit_ids=["jgwg", "jiwei", "zwzx"],  # jiwei leads, so it is not also an assistant
        assigned_at=T0,
        sign_due=date(2026, 11, 24),
        signed_at=T0 + timedelta(hours=1),
        answer_due=date(2026, 11, 30),
        answered_at=T0 + timedelta(days=2),
        extended=True,
        closed_at=T0 + timedelta(days=3),
        outcome=Outcome.PARTLY_SUBSTANTIATED,
        measure=Measure.ADMONITION,
        typical=True,
        satisfaction=Satisfaction.BASICALLY,
        satisfaction_comment="还行",
    )
    async with uow_factory() as uow:
        added = await uow.cases.add(case)
        await uow.commit()
    assert added.id is not None

    async with uow_factory() as uow:
        loaded = await uow.cases.get(added.id)
        by_no = await uow.cases.get_by_tracking_no("ZH-2026-000001")
        missing = await uow.cases.get_by_tracking_no("ZH-2026-999999")

    expected = make_case(1, citizen_id)
    for name in Case.__slots__:
        setattr(expected, name, getattr(case, name))
    expected.assist_unit_ids = ["jgwg", "zwzx"]
    assert loaded == expected
    assert by_no == expected
    assert missing is None
    assert loaded is not None and loaded.created_at.tzinfo is not None


async def test_update_writes_state_fields_and_units(uow_factory: UnitOfWorkFactory) -> None:
    citizen_id = await seed(uow_factory)
    async with uow_factory() as uow:
        case = await uow.cases.add(make_case(1, citizen_id, lead_unit_ids=["jgwg"], assist_unit_ids=["zwzx"]))
        await uow.commit()
    assert case.id is not None

    async with uow_factory() as uow:
        loaded = await uow.cases.get(case.id, for_update=True)
        assert loaded is not None
        loaded.apply(Action.ROUTE, Actor.OFFICE)
        loaded.lead_unit_ids = ["jiwei"]
        loaded.assist_unit_ids = ["jgwg", "xiaoneng"]
        loaded.sign_due = date(2026, 11, 24)
        await uow.cases.update(loaded)
        await uow.commit()

    async with uow_factory() as uow:
        again = await uow.cases.get(case.id)
        assert again is not None
        assert again.state is CaseState.ASSIGNED
        assert (again.lead_unit_ids, again.assist_unit_ids) == (["jiwei"], ["jgwg", "xiaoneng"])
        assert again.sign_due == date(2026, 11, 24)

        await uow.cases.set_units(case.id, ["zwzx"], [])
        await uow.commit()

    async with uow_factory() as uow:
        final = await uow.cases.get(case.id)
        assert final is not None and (final.lead_unit_ids, final.assist_unit_ids) == (["zwzx"], [])
        with pytest.raises(NotFound):
            await uow.cases.update(make_case(9, citizen_id, id=424242))


async def test_returned_case_is_a_copy_until_updated(uow_factory: UnitOfWorkFactory) -> None:
    citizen_id = await seed(uow_factory)
    async with uow_factory() as uow:
        case = await uow.cases.add(make_case(1, citizen_id))
        assert case.id is not None
        loaded = await uow.cases.get(case.id)
        assert loaded is not None
        loaded.description = "changed but not saved"
        again = await uow.cases.get(case.id)
        assert again is not None and again.description == "窗口工作人员推诿 #1"


async def test_cases_of_a_unit_by_role_and_state(uow_factory: UnitOfWorkFactory) -> None:
    citizen_id = await seed(uow_factory)
    async with uow_factory() as uow:
        await uow.cases.add(make_case(1, citizen_id, state=CaseState.ASSIGNED, lead_unit_ids=["jiwei"]))
        await uow.cases.add(
            make_case(
                2, citizen_id, state=CaseState.SIGNED, lead_unit_ids=["jgwg"], assist_unit_ids=["jiwei"]
            )
        )
        await uow.cases.add(make_case(3, citizen_id, state=CaseState.CLOSED, lead_unit_ids=["jiwei"]))
        await uow.cases.add(make_case(4, None, state=CaseState.ASSIGNED, lead_unit_ids=["zwzx"]))
        await uow.commit()

    async with uow_factory() as uow:
        every = await uow.cases.list_for_unit("jiwei")
        leading = await uow.cases.list_for_unit("jiwei", role=UnitRole.LEAD)
        assisting = await uow.cases.list_for_unit("jiwei", role=UnitRole.ASSIST)
        open_lead = await uow.cases.list_for_unit(
            "jiwei", role=UnitRole.LEAD, states=[CaseState.ASSIGNED, CaseState.SIGNED]
        )
        paged = await uow.cases.list_for_unit("jiwei", limit=1, offset=1)

    def numbers(cases: list[Case]) -> list[str]:
        return [c.tracking_no[-1] for c in cases]

    assert numbers(every) == ["3", "2", "1"]  # newest first
    assert numbers(leading) == ["3", "1"]
    assert numbers(assisting) == ["2"]
    assert numbers(open_lead) == ["1"]
    assert numbers(paged) == ["2"]


async def test_citizen_sees_only_own_cases_newest_first(uow_factory: UnitOfWorkFactory) -> None:
    citizen_id = await seed(uow_factory)
    async with uow_factory() as uow:
        await uow.users.upsert(4004, now=T0)
        other = await uow.citizens.get_or_create(4004, now=T0)
        assert other.id is not None
        await uow.cases.add(make_case(1, citizen_id))
        await uow.cases.add(make_case(2, other.id))
        await uow.cases.add(make_case(3, citizen_id))
        await uow.commit()

    async with uow_factory() as uow:
        mine = await uow.cases.list_for_citizen(citizen_id)
        theirs = await uow.cases.list_for_citizen(other.id)
    assert [c.tracking_no for c in mine] == ["ZH-2026-000003", "ZH-2026-000001"]
    assert [c.tracking_no for c in theirs] == ["ZH-2026-000002"]


async def test_queues_deadlines_and_follow_ups(uow_factory: UnitOfWorkFactory) -> None:
    citizen_id = await seed(uow_factory)
    S = CaseState
    async with uow_factory() as uow:
        await uow.cases.add(make_case(1, citizen_id, state=S.TRIAGE))
        await uow.cases.add(make_case(2, citizen_id, state=S.RETURNED))
        await uow.cases.add(make_case(3, citizen_id, state=S.ASSIGNED, sign_due=date(2026, 11, 24)))
        await uow.cases.add(make_case(4, citizen_id, state=S.ASSIGNED, sign_due=date(2026, 11, 27)))
        await uow.cases.add(
            make_case(
                5, citizen_id, state=S.SIGNED, sign_due=date(2026, 11, 1), answer_due=date(2026, 11, 20)
            )
        )
        await uow.cases.add(
            make_case(6, citizen_id, state=S.EXTENSION_REQUESTED, answer_due=date(2026, 11, 25))
        )
        await uow.cases.add(make_case(7, citizen_id, state=S.ANSWERED, answer_due=date(2026, 11, 2)))
        await uow.cases.add(make_case(8, citizen_id, state=S.ANSWERED, answered_at=T0 - timedelta(days=4)))
        await uow.cases.add(make_case(9, citizen_id, state=S.ANSWERED, answered_at=T0 - timedelta(days=1)))
        await uow.cases.add(
            make_case(
                10,
                citizen_id,
                state=S.ANSWERED,
                answered_at=T0 - timedelta(days=5),
                satisfaction=Satisfaction.SATISFIED,
            )
        )
        await uow.commit()

    async with uow_factory() as uow:
        queue = await uow.cases.list_in_states([S.TRIAGE, S.RETURNED])
        due = await uow.cases.list_due(date(2026, 11, 25))
        follow_up = await uow.cases.list_awaiting_follow_up(T0 - timedelta(days=3))

    assert [c.tracking_no[-2:] for c in queue] == ["01", "02"]
    # the running deadline only: 5's old sign_due and 7's answer_due no longer count
    assert [c.tracking_no[-2:] for c in due] == ["05", "03", "06"]
    assert [c.tracking_no[-2:] for c in follow_up] == ["08"]


async def test_a_spot_check_sample_holds_only_closed_cases_closed_in_the_period(
    uow_factory: UnitOfWorkFactory,
) -> None:
    citizen_id = await seed(uow_factory)
    S = CaseState
    async with uow_factory() as uow:
        for n in range(1, 9):  # closed on days 1..8
            await uow.cases.add(make_case(n, citizen_id, state=S.CLOSED, closed_at=T0 + timedelta(days=n)))
        await uow.cases.add(make_case(9, citizen_id, state=S.ANSWERED, answered_at=T0))
        await uow.cases.add(make_case(10, citizen_id, state=S.REJECTED))
        await uow.commit()

    async with uow_factory() as uow:
        everything = await uow.cases.sample_closed(50)
        some = await uow.cases.sample_closed(3)
        period = await uow.cases.sample_closed(
            50, closed_from=T0 + timedelta(days=3), closed_until=T0 + timedelta(days=6)
        )
        none = await uow.cases.sample_closed(0)

    assert sorted(int(c.tracking_no[-2:]) for c in everything) == list(range(1, 9))
    assert len(some) == len({c.id for c in some}) == 3 and all(c.state is S.CLOSED for c in some)
    assert sorted(int(c.tracking_no[-2:]) for c in period) == [3, 4, 5]
    assert none == []


async def test_references_to_unknown_units_users_or_cases_are_refused(uow_factory: UnitOfWorkFactory) -> None:
    citizen_id = await seed(uow_factory)
    refused = (ValueError, IntegrityError)  # the fake's ValueError, the database's IntegrityError
    attempts = [
        lambda uow: uow.cases.add(make_case(1, citizen_id, lead_unit_ids=["no-such-unit"])),
        lambda uow: uow.citizens.get_or_create(999_999, now=T0),
        lambda uow: uow.liaisons.add(LIAISON_USER, "no-such-unit", now=T0),
        lambda uow: uow.events.add(CaseEvent(424242, T0, Actor.SYSTEM, None, "note", Visibility.INTERNAL)),
    ]
    for attempt in attempts:
        with pytest.raises(refused):
            async with uow_factory() as uow:
                await attempt(uow)


# events ----------------------------------------------------------------------------------------


async def test_history_is_in_order_and_internal_notes_stay_internal(uow_factory: UnitOfWorkFactory) -> None:
    citizen_id = await seed(uow_factory)
    async with uow_factory() as uow:
        case = await uow.cases.add(make_case(1, citizen_id))
        assert case.id is not None
        case_id = case.id
        for minutes, visibility, kind in [
            (0, Visibility.PUBLIC, "submit"),
            (5, Visibility.INTERNAL, "note"),
            (10, Visibility.PUBLIC, "route"),
        ]:
            event = await uow.events.add(
                CaseEvent(
                    case_id=case_id,
                    at=T0 + timedelta(minutes=minutes),
                    actor=Actor.OFFICE,
                    actor_ref=str(OFFICE_USER),
                    kind=kind,
                    visibility=visibility,
                    text=f"{kind} 文本",
                    data={"units": ["jiwei"], "n": minutes},
                )
            )
            assert event.id is not None
        await uow.commit()

    async with uow_factory() as uow:
        office_view = await uow.events.list(case_id, include_internal=True)
        citizen_view = await uow.events.list(case_id, include_internal=False)

    assert [e.kind for e in office_view] == ["submit", "note", "route"]
    assert [e.kind for e in citizen_view] == ["submit", "route"]
    note = office_view[1]
    assert note.visibility is Visibility.INTERNAL and note.actor is Actor.OFFICE
    assert note.data == {"units": ["jiwei"], "n": 5} and note.text == "note 文本"
    assert note.at == T0 + timedelta(minutes=5)


# directory -------------------------------------------------------------------------------------


async def test_unit_sync_updates_and_deactivates_units_the_plan_dropped(
    uow_factory: UnitOfWorkFactory,
) -> None:
    await seed(uow_factory)
    async with uow_factory() as uow:
        await uow.units.sync(
            [UnitRecord("jiwei", "区纪委（新名）", "department"), UnitRecord("new", "新单位")]
        )
        await uow.commit()
    async with uow_factory() as uow:
        active = await uow.units.list()
        everything = await uow.units.list(include_inactive=True)
        dropped = await uow.units.get("zwzx")
    assert [(u.id, u.name) for u in active] == [("jiwei", "区纪委（新名）"), ("new", "新单位")]
    assert len(everything) == 6
    assert dropped == UnitRecord("zwzx", "区政务中心", "department", active=False)


async def test_user_upsert_creates_once_and_changes_only_given_fields(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        created = await uow.users.upsert(7, now=T0, language="en")
        again = await uow.users.upsert(7, now=T0 + timedelta(days=1), chat_id=70)
        await uow.users.set_blocked(7, True)
        await uow.commit()
    assert created.language == "en" and created.chat_id is None and created.first_seen == T0
    assert again.language == "en" and again.chat_id == 70 and again.first_seen == T0

    async with uow_factory() as uow:
        await uow.users.set_language(7, "zh")
        await uow.commit()
        user = await uow.users.get(7)
        default = await uow.users.upsert(8, now=T0)
    assert user is not None and (user.language, user.blocked_bot, user.chat_id) == ("zh", True, 70)
    assert default.language == "zh" and not default.blocked_bot
    async with uow_factory() as uow:
        assert await uow.users.get(8) is None  # that unit of work did not commit


async def test_citizen_identity_is_created_once_and_holds_the_phone(uow_factory: UnitOfWorkFactory) -> None:
    citizen_id = await seed(uow_factory)
    async with uow_factory() as uow:
        same = await uow.citizens.get_or_create(CITIZEN_USER, now=T0 + timedelta(days=1))
        await uow.citizens.set_phone(citizen_id, "+8613800000000")
        await uow.commit()
    assert same.id == citizen_id and same.created_at == T0
    async with uow_factory() as uow:
        citizen = await uow.citizens.get(citizen_id)
        by_user = await uow.citizens.get_by_user(CITIZEN_USER)
        nobody = await uow.citizens.get_by_user(LIAISON_USER)
    assert citizen is not None and citizen.phone == "+8613800000000"
    assert by_user == citizen
    assert nobody is None


async def test_a_liaison_belongs_to_one_unit_at_a_time(uow_factory: UnitOfWorkFactory) -> None:
    await seed(uow_factory)
    async with uow_factory() as uow:
        await uow.users.upsert(2002, now=T0)
        await uow.liaisons.add(LIAISON_USER, "jiwei", now=T0)
        await uow.liaisons.add(2002, "jiwei", now=T0 + timedelta(minutes=1))
        moved = await uow.liaisons.add(LIAISON_USER, "zwzx", now=T0 + timedelta(days=1))
        await uow.commit()
    assert moved.unit_id == "zwzx" and moved.active

    async with uow_factory() as uow:
        current = await uow.liaisons.get_active(LIAISON_USER)
        jiwei = await uow.liaisons.list_for_unit("jiwei")
        zwzx = await uow.liaisons.list_for_unit("zwzx")
        assert await uow.liaisons.remove(2002, now=T0 + timedelta(days=2))
        assert not await uow.liaisons.remove(2002, now=T0 + timedelta(days=2))
        everyone = await uow.liaisons.list_active()
    assert current is not None and current.unit_id == "zwzx"
    assert [x.user_id for x in jiwei] == [2002]
    assert [x.user_id for x in zwzx] == [LIAISON_USER]
    assert [(x.user_id, x.unit_id) for x in everyone] == [(LIAISON_USER, "zwzx")]


async def test_office_members_are_added_removed_and_readded(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        added = await uow.office.add(OFFICE_USER, added_by=1, now=T0)
        assert added.active and await uow.office.is_member(OFFICE_USER)
        assert await uow.office.remove(OFFICE_USER)
        assert not await uow.office.remove(OFFICE_USER)
        assert not await uow.office.is_member(OFFICE_USER)
        assert not await uow.office.is_member(999)
        await uow.office.add(OFFICE_USER, added_by=2, now=T0 + timedelta(days=1))
        await uow.office.add(3002, added_by=2, now=T0)
        await uow.commit()
    async with uow_factory() as uow:
        members = await uow.office.list_active()
        member = await uow.office.get(OFFICE_USER)
    assert [m.user_id for m in members] == [OFFICE_USER, 3002]
    assert member is not None and member.added_by == 2 and member.added_at == T0 + timedelta(days=1)


async def test_invite_code_is_single_use_and_expires(uow_factory: UnitOfWorkFactory) -> None:
    await seed(uow_factory)
    good, stale = hash_invite_code("ABCD-EFGH-JKMN"), hash_invite_code("ZZZZ")
    async with uow_factory() as uow:
        await uow.invites.add(
            good, "jiwei", created_by=OFFICE_USER, now=T0, expires_at=T0 + timedelta(days=7)
        )
        await uow.invites.add(
            stale, "zwzx", created_by=OFFICE_USER, now=T0, expires_at=T0 + timedelta(hours=1)
        )
        await uow.commit()

    later = T0 + timedelta(hours=2)
    async with uow_factory() as uow:
        assert [i.unit_id for i in await uow.invites.list_open(now=later)] == ["jiwei"]
        used = await uow.invites.consume(hash_invite_code("abcd efgh jkmn"), LIAISON_USER, now=later)
        assert used is not None and used.unit_id == "jiwei" and used.used_by == LIAISON_USER
        assert await uow.invites.consume(good, 2002, now=later) is None
        assert await uow.invites.consume(stale, 2002, now=later) is None
        assert await uow.invites.consume(hash_invite_code("nope"), 2002, now=later) is None
        await uow.commit()

    async with uow_factory() as uow:
        record = await uow.invites.get(good)
        expired = await uow.invites.get(stale)
        assert await uow.invites.list_open(now=T0, unit_id="jiwei") == []
    assert record is not None and record.used_at == later and not record.usable(later)
    assert expired is not None and expired.used_at is None and not expired.usable(later)


# outbox ----------------------------------------------------------------------------------------


def message(n: int, **changes: object) -> OutboxMessage:
    msg = OutboxMessage(
        chat_id=CITIZEN_USER,
        method="sendMessage",
        payload={"text": f"消息 {n}", "parse_mode": "HTML"},
        created_at=T0 + timedelta(seconds=n),
    )
    for name, value in changes.items():
        setattr(msg, name, value)
    return msg


async def test_outbox_drops_a_second_message_with_the_same_dedup_key(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        first = message(1, dedup_key="remind:ZH-2026-000001:sign:blue")
        assert await uow.outbox.add(first)
        assert first.id is not None
        assert not await uow.outbox.add(message(2, dedup_key="remind:ZH-2026-000001:sign:blue"))
        assert await uow.outbox.add(message(3))  # no key: never deduplicated
        assert await uow.outbox.add(message(4))
        await uow.commit()
    async with uow_factory() as uow:
        batch = await uow.outbox.claim_batch(
            "w", now=T0 + timedelta(minutes=1), limit=10, lease=timedelta(seconds=30)
        )
    assert [m.payload["text"] for m in batch] == ["消息 1", "消息 3", "消息 4"]


async def test_outbox_claims_due_messages_once_per_lease_and_records_outcomes(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        for n in range(1, 5):
            await uow.outbox.add(message(n))
        await uow.outbox.add(message(5, not_before=T0 + timedelta(hours=10)))  # quiet hours: morning
        await uow.commit()

    now, lease = T0 + timedelta(minutes=1), timedelta(seconds=30)
    async with uow_factory() as uow:
        first = await uow.outbox.claim_batch("a", now=now, limit=3, lease=lease)
        second = await uow.outbox.claim_batch("b", now=now, limit=3, lease=lease)
        await uow.commit()
    assert [m.payload["text"] for m in first] == ["消息 1", "消息 2", "消息 3"]
    assert [m.payload["text"] for m in second] == ["消息 4"]
    assert all(m.attempts == 1 and m.claimed_by == "a" and m.claimed_until == now + lease for m in first)

    ids = [m.id for m in first + second]
    assert None not in ids
    m1, m2, m3, m4 = (i for i in ids if i is not None)
    async with uow_factory() as uow:
        await uow.outbox.mark_sent(m1, now=now)
        await uow.outbox.mark_failed(m2, error="RetryAfter 5", retry_at=now + timedelta(seconds=5))
        await uow.outbox.mark_dead(m3, error="Bad Request: chat not found")
        await uow.outbox.mark_blocked(m4, error="Forbidden: bot was blocked by the user")
        await uow.commit()

    async with uow_factory() as uow:
        sent, failed, dead, blocked = [await uow.outbox.get(i) for i in (m1, m2, m3, m4)]
        assert await uow.outbox.claim_batch("c", now=now, limit=10, lease=lease) == []
        retried = await uow.outbox.claim_batch("c", now=now + timedelta(seconds=5), limit=10, lease=lease)
        next_due = await uow.outbox.next_due()
        await uow.commit()
    assert (
        sent is not None
        and sent.state is OutboxState.SENT
        and sent.sent_at == now
        and sent.claimed_by is None
    )
    assert failed is not None and failed.state is OutboxState.PENDING and failed.last_error == "RetryAfter 5"
    assert dead is not None and dead.state is OutboxState.DEAD
    assert blocked is not None and blocked.state is OutboxState.BLOCKED
    assert [(m.id, m.attempts) for m in retried] == [(m2, 2)]
    # m2 is leased until now+5s+30s; the quiet-hours message is due in the morning
    assert next_due == now + timedelta(seconds=35)


async def test_an_expired_lease_lets_another_sender_take_over(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        await uow.outbox.add(message(1))
        await uow.commit()
    now, lease = T0 + timedelta(minutes=1), timedelta(seconds=30)
    async with uow_factory() as uow:
        crashed = await uow.outbox.claim_batch("crashed", now=now, limit=5, lease=lease)
        await uow.commit()
    async with uow_factory() as uow:
        during = await uow.outbox.claim_batch("other", now=now + timedelta(seconds=29), limit=5, lease=lease)
        after = await uow.outbox.claim_batch("other", now=now + timedelta(seconds=31), limit=5, lease=lease)
        await uow.commit()
    assert len(crashed) == 1 and during == []
    assert [(m.id, m.claimed_by, m.attempts) for m in after] == [(crashed[0].id, "other", 2)]


async def test_outbox_next_due_is_none_when_nothing_is_pending(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        assert await uow.outbox.next_due() is None
        await uow.outbox.add(message(1, not_before=T0 + timedelta(hours=1)))
        assert await uow.outbox.next_due() == T0 + timedelta(hours=1)


# reports, attachments, audit, counters, leases ------------------------------------------------


async def test_reports_and_recommendations_round_trip(uow_factory: UnitOfWorkFactory) -> None:
    await seed(uow_factory)
    async with uow_factory() as uow:
        rec = await uow.reports.add_recommendation(
            Recommendation(
                unit_id="zwzx",
                problems="窗口告知不一次性",
                issued_at=T0,
                plan_due=date(2026, 12, 1),
                report_due=date(2026, 12, 15),
                issued_by=OFFICE_USER,
            )
        )
        assert rec.id is not None
        inspection = await uow.reports.add(
            UnitReport(
                unit_id="zwzx",
                kind=ReportKind.SELF_INSPECTION,
                phase_id="self_inspection",
                submitted_at=T0,
                submitted_by=LIAISON_USER,
                due=date(2026, 11, 20),
                late=True,
                inspected=9,
                total=10,
                problems="三处",
                measures="整改",
                reason_below_target="一个站所撤并",
            )
        )
        plan = await uow.reports.add(
            UnitReport(
                unit_id="zwzx",
                kind=ReportKind.RECTIFICATION_PLAN,
                phase_id="rectification",
                submitted_at=T0 + timedelta(days=1),
                recommendation_id=rec.id,
            )
        )
        await uow.commit()
    assert inspection.id is not None and plan.id is not None

    async with uow_factory() as uow:
        loaded = await uow.reports.get(inspection.id)
        assert loaded is not None and loaded.coverage == 0.9
        loaded.status, loaded.review_note = ReportStatus.RETURNED, "补充材料"
        loaded.reviewed_at, loaded.reviewed_by = T0 + timedelta(days=2), OFFICE_USER
        await uow.reports.update(loaded)
        rec.status = RecommendationStatus.PLAN_SUBMITTED
        await uow.reports.update_recommendation(rec)
        await uow.commit()

    async with uow_factory() as uow:
        assert await uow.reports.get(inspection.id) == loaded
        assert [r.id for r in await uow.reports.list(unit_id="zwzx")] == [inspection.id, plan.id]
        assert [r.id for r in await uow.reports.list(kind=ReportKind.RECTIFICATION_PLAN)] == [plan.id]
        assert [r.id for r in await uow.reports.list(recommendation_id=rec.id)] == [plan.id]
        assert await uow.reports.list(phase_id="nope") == []
        assert await uow.reports.get_recommendation(rec.id) == rec
        assert await uow.reports.list_recommendations(statuses=[RecommendationStatus.ISSUED]) == []
        assert await uow.reports.list_recommendations(unit_id="zwzx") == [rec]
        with pytest.raises(NotFound):
            await uow.reports.update(UnitReport("zwzx", ReportKind.SELF_INSPECTION, "x", T0, id=99999))


async def test_attachments_belong_to_a_case_or_a_report(uow_factory: UnitOfWorkFactory) -> None:
    citizen_id = await seed(uow_factory)
    async with uow_factory() as uow:
        case = await uow.cases.add(make_case(1, citizen_id))
        report = await uow.reports.add(UnitReport("zwzx", ReportKind.SELF_INSPECTION, "self", T0))
        assert case.id is not None and report.id is not None
        photo = await uow.attachments.add(
            Attachment(
                "AgAD-photo", "uniq1", AttachmentKind.PHOTO, T0, case_id=case.id, size=2048, added_by=1001
            )
        )
        doc = await uow.attachments.add(
            Attachment(
                "BQAD-doc",
                "uniq2",
                AttachmentKind.DOCUMENT,
                T0,
                report_id=report.id,
                mime="application/pdf",
                file_name="自查报告.pdf",
            )
        )
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.attachments.list_for_case(case.id) == [photo]
        assert await uow.attachments.list_for_report(report.id) == [doc]


async def test_audit_trail_lists_newest_first(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        for n in range(3):
            await uow.audit.add(
                AuditEntry(
                    actor_id=OFFICE_USER + n % 2,
                    at=T0 + timedelta(minutes=n),
                    action="case.reassign",
                    target=f"ZH-2026-00000{n}",
                    details={"to": ["jiwei"]},
                )
            )
        await uow.commit()
    async with uow_factory() as uow:
        recent = await uow.audit.list_recent(limit=2)
        mine = await uow.audit.list_recent(actor_id=OFFICE_USER)
    assert [e.target for e in recent] == ["ZH-2026-000002", "ZH-2026-000001"]
    assert [e.target for e in mine] == ["ZH-2026-000002", "ZH-2026-000000"]
    assert recent[0].details == {"to": ["jiwei"]}


async def test_counters_count_per_prefix_and_year(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        values = [await uow.counters.next("ZH", 2026) for _ in range(3)]
        other = [await uow.counters.next("ZH", 2027), await uow.counters.next("XX", 2026)]
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.counters.next("ZH", 2026) == 4
        # not committed: the number is given again
    async with uow_factory() as uow:
        assert await uow.counters.next("ZH", 2026) == 4
    assert values == [1, 2, 3] and other == [1, 1]


async def test_a_lease_is_held_until_it_runs_out_or_is_released(uow_factory: UnitOfWorkFactory) -> None:
    ttl = timedelta(minutes=5)
    async with uow_factory() as uow:
        assert await uow.leases.try_acquire("tick", "a", now=T0, ttl=ttl)
        assert not await uow.leases.try_acquire("tick", "b", now=T0 + timedelta(minutes=1), ttl=ttl)
        assert await uow.leases.try_acquire("tick", "a", now=T0 + timedelta(minutes=1), ttl=ttl)  # renew
        assert not await uow.leases.try_acquire("tick", "b", now=T0 + timedelta(minutes=5), ttl=ttl)
        assert await uow.leases.try_acquire("tick", "b", now=T0 + timedelta(minutes=6), ttl=ttl)
        await uow.leases.release("tick", "a")  # not a's any more: no effect
        assert not await uow.leases.try_acquire("tick", "a", now=T0 + timedelta(minutes=7), ttl=ttl)
        await uow.leases.release("tick", "b")
        assert await uow.leases.try_acquire("tick", "a", now=T0 + timedelta(minutes=7), ttl=ttl)
        assert await uow.leases.try_acquire("digest", "b", now=T0, ttl=ttl)


async def test_who_holds_a_lease_and_until_when_is_read_as_committed(uow_factory: UnitOfWorkFactory) -> None:
    ttl = timedelta(seconds=30)
    async with uow_factory() as uow:
        assert await uow.leases.holder("outbox-sender") is None
        assert await uow.leases.try_acquire("outbox-sender", "web-1", now=T0, ttl=ttl)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.leases.holder("outbox-sender") == ("web-1", T0 + ttl)
        assert await uow.leases.holder("tick") is None
        await uow.leases.release("outbox-sender", "web-1")
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.leases.holder("outbox-sender") is None


# unit of work ----------------------------------------------------------------------------------


async def test_leaving_without_commit_rolls_back(uow_factory: UnitOfWorkFactory) -> None:
    citizen_id = await seed(uow_factory)
    async with uow_factory() as uow:
        await uow.cases.add(make_case(1, citizen_id))
        await uow.outbox.add(message(1, dedup_key="k"))
    async with uow_factory() as uow:
        assert await uow.cases.get_by_tracking_no("ZH-2026-000001") is None
        assert await uow.outbox.add(message(2, dedup_key="k"))  # the key is free again


async def test_an_exception_rolls_back_and_propagates(uow_factory: UnitOfWorkFactory) -> None:
    citizen_id = await seed(uow_factory)
    with pytest.raises(RuntimeError, match="boom"):
        async with uow_factory() as uow:
            await uow.cases.add(make_case(1, citizen_id))
            raise RuntimeError("boom")
    async with uow_factory() as uow:
        assert await uow.cases.list_for_citizen(citizen_id) == []


async def test_explicit_rollback_then_commit_keeps_only_later_work(uow_factory: UnitOfWorkFactory) -> None:
    citizen_id = await seed(uow_factory)
    async with uow_factory() as uow:
        await uow.cases.add(make_case(1, citizen_id))
        await uow.rollback()
        await uow.cases.add(make_case(2, citizen_id))
        await uow.commit()
    async with uow_factory() as uow:
        assert [c.tracking_no for c in await uow.cases.list_for_citizen(citizen_id)] == ["ZH-2026-000002"]


async def test_naive_datetimes_are_refused(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        # SQLAlchemy wraps the ValueError from the column type in a StatementError
        with pytest.raises((ValueError, StatementError), match="naive datetime"):
            await uow.outbox.add(message(1, created_at=datetime(2026, 11, 23, 10, 0)))


async def test_datetimes_come_back_as_the_same_instant_in_utc(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        await uow.users.upsert(5, now=T0)
        await uow.commit()
    async with uow_factory() as uow:
        user = await uow.users.get(5)
    assert user is not None and user.first_seen == T0
    assert user.first_seen.astimezone(UTC) == datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


# -- recusals and submission keys (issue 12) ---------------------------------------------------------


async def test_recusals_round_trip_change_in_place_and_are_lifted(uow_factory: UnitOfWorkFactory) -> None:
    from core.recusal import Recusal, RecusalReason, RecusalScope

    citizen_id = await seed(uow_factory)
    full = Recusal("xiaoneng", RecusalScope.FULL, RecusalReason.NAMED, "行政效能监察室", pending=True)
    head = Recusal("jiwei", RecusalScope.LEAD, RecusalReason.PARENT, via="xiaoneng", pending=True)
    async with uow_factory() as uow:
        case = make_case(1, citizen_id, recusals=[full, head], submission_key=f"{CITIZEN_USER}:abc123")
        await uow.cases.add(case)
        await uow.commit()
    assert case.id is not None
    async with uow_factory() as uow:
        stored = await uow.cases.get(case.id)
        assert stored is not None
        assert [(r.unit_id, r.scope, r.reason, r.matched, r.via, r.pending) for r in stored.recusals] == [
            ("jiwei", RecusalScope.LEAD, RecusalReason.PARENT, "", "xiaoneng", True),
            ("xiaoneng", RecusalScope.FULL, RecusalReason.NAMED, "行政效能监察室", None, True),
        ]
        assert all(r.at == T0 + timedelta(minutes=1) for r in stored.recusals)  # stamped when stored
        assert stored.may_not_see() == {"xiaoneng", "jiwei"}  # pending: kept out of sight meanwhile
        found = await uow.cases.get_by_submission_key(f"{CITIZEN_USER}:abc123")
        assert found is not None and found.id == case.id
        assert await uow.cases.get_by_submission_key("nope") is None
        # the office decides: the head is released, the office stays out for good
        later = T0 + timedelta(hours=1)
        stored.recusals = [
            Recusal("xiaoneng", RecusalScope.FULL, RecusalReason.OFFICE, at=later, by=str(OFFICE_USER))
        ]
        await uow.cases.update(stored)
        await uow.commit()
    async with uow_factory() as uow:
        again = await uow.cases.get(case.id)
    assert again is not None
    assert [(r.unit_id, r.reason, r.pending, r.at, r.by) for r in again.recusals] == [
        ("xiaoneng", RecusalReason.OFFICE, False, later, str(OFFICE_USER))
    ]
    assert again.may_not_lead() == {"xiaoneng"}


async def test_a_submission_key_files_one_case_only(uow_factory: UnitOfWorkFactory) -> None:
    citizen_id = await seed(uow_factory)
    async with uow_factory() as uow:
        await uow.cases.add(make_case(1, citizen_id, submission_key="k1"))
        await uow.commit()
    with pytest.raises((IntegrityError, ValueError)):
        async with uow_factory() as uow:
            await uow.cases.add(make_case(2, citizen_id, submission_key="k1"))
            await uow.commit()


async def test_pending_notices_about_a_case_are_withdrawn_for_the_given_chats(
    uow_factory: UnitOfWorkFactory,
) -> None:
    def about(chat_id: int, tracking_no: str, state: OutboxState = OutboxState.PENDING) -> OutboxMessage:
        return OutboxMessage(
            chat_id=chat_id,
            method="sendMessage",
            payload={"text_key": "notify.unit.copied", "text_params": {"tracking_no": tracking_no}},
            created_at=T0,
            state=state,
        )

    async with uow_factory() as uow:
        mine = about(LIAISON_USER, "ZH-2026-000001")
        other_case = about(LIAISON_USER, "ZH-2026-000002")
        other_chat = about(OFFICE_USER, "ZH-2026-000001")
        sent = about(LIAISON_USER, "ZH-2026-000001", OutboxState.SENT)
        for m in (mine, other_case, other_chat, sent):
            await uow.outbox.add(m)
        assert await uow.outbox.withdraw_pending([LIAISON_USER], "ZH-2026-000001") == 1
        assert await uow.outbox.withdraw_pending([], "ZH-2026-000001") == 0
        await uow.commit()
    async with uow_factory() as uow:
        states = [(await uow.outbox.get(m.id or 0)) for m in (mine, other_case, other_chat, sent)]
    assert [s.state if s else None for s in states] == [
        OutboxState.WITHDRAWN,
        OutboxState.PENDING,
        OutboxState.PENDING,
        OutboxState.SENT,
    ]


async def test_add_many_stores_each_new_key_once_and_says_which(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        assert await uow.outbox.add(message(1, dedup_key="rem:1:blue:a"))
        stored = await uow.outbox.add_many(
            [
                message(2, dedup_key="rem:1:blue:a"),  # used before the call
                message(3, dedup_key="rem:2:blue:a"),
                message(4, dedup_key="rem:2:blue:a"),  # twice within the call
                message(5),  # no key: always stored
            ]
        )
        assert sorted(stored, key=str) == sorted(["rem:2:blue:a", None], key=str)
        assert await uow.outbox.add_many([]) == []
        await uow.commit()
    async with uow_factory() as uow:
        batch = await uow.outbox.claim_batch(
            "w", now=T0 + timedelta(minutes=1), limit=10, lease=timedelta(seconds=30)
        )
    assert sorted(m.payload["text"] for m in batch) == ["消息 1", "消息 3", "消息 5"]


async def test_events_are_added_and_listed_by_kind_for_a_batch_of_cases(
    uow_factory: UnitOfWorkFactory,
) -> None:
    citizen_id = await seed(uow_factory)
    SYSTEM, INTERNAL = Actor.SYSTEM, Visibility.INTERNAL
    async with uow_factory() as uow:
        cases = [make_case(n, citizen_id) for n in (1, 2, 3)]
        for case in cases:
            await uow.cases.add(case)
        ids = [c.id for c in cases if c.id is not None]
        await uow.events.add_many(
            [
                CaseEvent(ids[0], T0, SYSTEM, "system", "supervision", INTERNAL, data={"key": "a"}),
                CaseEvent(ids[1], T0, SYSTEM, "system", "escalated", INTERNAL, data={"key": "b"}),
                CaseEvent(ids[2], T0, SYSTEM, "system", "note", INTERNAL),
            ]
        )
        await uow.commit()
    async with uow_factory() as uow:
        found = await uow.events.list_kinds(ids, ("supervision", "escalated"))
        got = await uow.cases.get_many([ids[2], ids[0], 999_999], for_update=True)
        assert await uow.events.list_kinds([], ("supervision",)) == []
    assert sorted((e.case_id, e.kind, e.data["key"]) for e in found) == [
        (ids[0], "supervision", "a"),
        (ids[1], "escalated", "b"),
    ]
    assert [c.id for c in got] == [ids[0], ids[2]]


async def test_a_senders_claims_are_released_by_its_name_only(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        for n in (1, 2):
            await uow.outbox.add(message(n))
        await uow.commit()
    now = T0 + timedelta(minutes=1)
    async with uow_factory() as uow:
        [first] = await uow.outbox.claim_batch("web-1:sender", now=now, limit=1, lease=timedelta(minutes=2))
        [second] = await uow.outbox.claim_batch("web-2:sender", now=now, limit=1, lease=timedelta(minutes=2))
        assert await uow.outbox.release_claims("web-1:sender") == 1
        assert await uow.outbox.release_claims("nobody") == 0
        await uow.commit()
    async with uow_factory() as uow:
        again = await uow.outbox.claim_batch("web-3:sender", now=now, limit=10, lease=timedelta(minutes=2))
    assert [m.id for m in again] == [first.id]  # web-2's claim still holds
    assert second.id != first.id
