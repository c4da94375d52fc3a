"""Liaisons (SPEC §3, §5): invite codes, the inbox and the case card, signing for, answering,
returning, notes, and the citizen's follow-up. Over the in-memory fakes and a fixed clock.

The conduct area routes to 区直机关工委 (lead) with 党风廉政室 and 行政效能监察室 assisting;
区发改局 is a unit with nothing to do with the case."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.i18n import Catalogue
from core.attachments import AttachmentKind
from core.calendar import ChineseCalendarSource, WorkingDays
from core.cases import Case, Satisfaction, Visibility, WarningColour
from core.clock import FixedClock
from core.deadlines import DeadlineRules
from core.directory import UnitRecord, UnitRole, hash_invite_code
from core.errors import DomainError, InvalidTransition, NotFound, PermissionDenied, ValidationFailed
from core.outbox import OutboxMessage
from core.plan import Plan
from core.services.complaints import ComplaintDraft, ComplaintService, Evidence
from core.services.follow_up import FollowUpDone, FollowUpService, NoReopenRequest, ReopenNotPossible
from core.services.invites import (
    FAILED_JOIN_WINDOW,
    MAX_FAILED_JOINS,
    BadTtl,
    InviteExpired,
    InviteService,
    InviteUnknown,
    InviteUsed,
    JoinRateLimited,
    NotALiaison,
    UnknownUnit,
)
from core.services.liaison import LeadUnitOnly, LiaisonAction, LiaisonService, ReplyReviewPending
from core.services.liaison import NotALiaison as LiaisonNotALiaison
from core.states import Actor, CaseState
from tests.fakes import FakeStore, FakeUnitOfWork, fake_uow_factory

SH = ZoneInfo("Asia/Shanghai")
MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=SH)  # a working day
OFFICE_CHAT = -100_777
OFFICE = 900_001  # an office admin from config
CITIZEN = 500_001
OTHER_CITIZEN = 500_002
PHONE = "+8613812345678"
LEAD = 800_001  # 区直机关工委
LEAD_2 = 800_002  # 区直机关工委, a second liaison
ASSIST = 800_010  # 党风廉政室
STRANGER = 800_020  # 区发改局: not on the case
NOBODY = 800_099  # no role at all
LEAD_UNIT = "organs_work_committee"
ASSIST_UNIT = "conduct_integrity_office"
OTHER_UNIT = "development_reform"
REPLY = "经调查核实，窗口工作人员态度生硬的情况属实，已对其批评教育并调整岗位。"


def draft(**changes: object) -> ComplaintDraft:
    values: dict[str, object] = {
        "description": "三号窗口工作人员态度恶劣，材料齐全却让我跑了三趟。",
        "area": "conduct",
        "area_auto": "conduct",
        "confidence": 0.9,
        "target_text": "3 号窗口的工作人员",
        "place": "区政务中心一楼",
        "occurred": "昨天上午",
    }
    values.update(changes)
    return ComplaintDraft(**values)  # type: ignore[arg-type]


class World:
    def __init__(self, plan: Plan, *, reply_review: bool = False) -> None:
        self.plan = plan
        self.store = FakeStore()
        self.clock = FixedClock(MONDAY, SH)
        uow = fake_uow_factory(self.store)
        rules = DeadlineRules(WorkingDays(ChineseCalendarSource()), SH)
        admins = frozenset({OFFICE})
        self.complaints = ComplaintService(
            uow=uow, plan=plan, clock=self.clock, deadlines=rules, daily_limit=50
        )
        self.liaison = LiaisonService(
            uow=uow,
            clock=self.clock,
            deadlines=rules,
            office_chat_id=OFFICE_CHAT,
            reply_review=reply_review,
            admin_ids=admins,
        )
        self.invites = InviteService(
            uow=uow, plan=plan, clock=self.clock, admin_ids=admins, office_chat_id=OFFICE_CHAT
        )
        self.follow_up = FollowUpService(
            uow=uow,
            plan=plan,
            clock=self.clock,
            deadlines=rules,
            admin_ids=admins,
            office_chat_id=OFFICE_CHAT,
        )

    async def setup(self) -> World:
        uow = FakeUnitOfWork(self.store)
        async with uow:
            await uow.units.sync([UnitRecord(u.id, u.name, u.kind) for u in self.plan.units])
            now = self.clock.now()
            for user_id, unit_id in (
                (LEAD, LEAD_UNIT),
                (LEAD_2, LEAD_UNIT),
                (ASSIST, ASSIST_UNIT),
                (STRANGER, OTHER_UNIT),
            ):
                await uow.users.upsert(user_id, now=now, chat_id=user_id)
                await uow.liaisons.add(user_id, unit_id, now=now)
            await uow.commit()
        return self

    async def file(self, citizen: int = CITIZEN, **changes: object) -> int:
        filed = await self.complaints.file(citizen, draft(**changes))
        assert filed.case.id is not None
        return filed.case.id

    def case(self, case_id: int) -> Case:
        return self.store.cases[case_id]

    def outbox(self) -> list[OutboxMessage]:
        return sorted(self.store.outbox.values(), key=lambda m: m.id or 0)

    def outbox_to(self, chat_id: int) -> list[OutboxMessage]:
        return [m for m in self.outbox() if m.chat_id == chat_id]

    def kinds(self, case_id: int) -> list[str]:
        return [e.kind for e in self.store.events if e.case_id == case_id]


@pytest.fixture
async def world(plan: Plan) -> World:
    return await World(plan).setup()


def text_key(message: OutboxMessage) -> object:
    return message.payload["text_key"]


def button_data(message: OutboxMessage) -> list[str]:
    rows = message.payload.get("buttons", [])
    assert isinstance(rows, list)
    return [b["data"] for row in rows for b in row]


# --- invite codes ----------------------------------------------------------------------------


async def test_an_invite_code_binds_its_first_user_as_the_units_liaison_and_only_once(world: World) -> None:
    invite = await world.invites.create(OFFICE, OTHER_UNIT)

    joined = await world.invites.join(NOBODY, invite.code, display_name="李四")

    assert joined.unit_id == OTHER_UNIT
    async with FakeUnitOfWork(world.store) as uow:
        liaison = await uow.liaisons.get_active(NOBODY)
    assert liaison is not None and liaison.unit_id == OTHER_UNIT
    with pytest.raises(InviteUsed):
        await world.invites.join(NOBODY + 1, invite.code)
    # the office chat hears who joined which unit
    office = world.outbox_to(OFFICE_CHAT)
    assert [text_key(m) for m in office] == ["join.office_joined"]
    assert office[0].payload["text_params"] == {
        "joined_units": [OTHER_UNIT],
        "user_id": NOBODY,
        "name": "李四",
    }


async def test_only_the_hash_of_a_code_is_stored_and_it_expires_in_seven_days(world: World) -> None:
    invite = await world.invites.create(OFFICE, OTHER_UNIT)

    (stored,) = world.store.invites.values()
    assert stored.code_hash == hash_invite_code(invite.code)
    assert invite.code.replace("-", "") not in repr(world.store)
    assert stored.expires_at == MONDAY + timedelta(days=7)
    assert invite.expires_at == MONDAY + timedelta(days=7)


async def test_a_code_may_be_typed_in_lower_case_without_dashes_or_with_spaces(world: World) -> None:
    invite = await world.invites.create(OFFICE, OTHER_UNIT)

    joined = await world.invites.join(NOBODY, " " + invite.code.replace("-", " ").lower() + " ")

    assert joined.unit_id == OTHER_UNIT


async def test_an_expired_code_is_refused(world: World) -> None:
    invite = await world.invites.create(OFFICE, OTHER_UNIT, ttl=timedelta(days=1))
    world.clock.advance(timedelta(days=1, seconds=1))

    with pytest.raises(InviteExpired):
        await world.invites.join(NOBODY, invite.code)


@pytest.mark.parametrize("code", ["NOPE-NOPE-NOPE", "", "x" * 10_000])
async def test_an_unknown_code_is_refused(world: World, code: str) -> None:
    await world.invites.create(OFFICE, OTHER_UNIT)

    with pytest.raises(InviteUnknown):
        await world.invites.join(NOBODY, code)


def test_every_error_of_these_services_has_its_own_text_in_both_languages(catalogue: Catalogue) -> None:
    errors: list[type[DomainError]] = [
        InviteUnknown, InviteUsed, InviteExpired, JoinRateLimited, UnknownUnit, BadTtl, NotALiaison,
        FollowUpDone, ReopenNotPossible, NoReopenRequest, ReplyReviewPending,
        LeadUnitOnly, LiaisonNotALiaison,
    ]  # fmt: skip
    keys = [e.key for e in errors]

    assert len(set(keys)) == len(keys)
    for lang in ("zh", "en"):
        assert [k for k in keys if not catalogue.has(k, lang)] == []


async def test_after_five_failed_codes_in_an_hour_even_a_good_code_waits(world: World) -> None:
    good = await world.invites.create(OFFICE, OTHER_UNIT)
    for n in range(MAX_FAILED_JOINS):
        with pytest.raises(InviteUnknown):
            await world.invites.join(NOBODY, f"WRONG-{n}")
        world.clock.advance(timedelta(minutes=1))

    with pytest.raises(JoinRateLimited) as refused:
        await world.invites.join(NOBODY, good.code)

    # the first failure leaves the window 60 minutes after it was made, 55 from now
    assert refused.value.params == {"minutes": 55}
    # the limit is per user: somebody else is not held up by it
    assert (await world.invites.join(NOBODY + 1, good.code)).unit_id == OTHER_UNIT


async def test_the_failure_count_is_kept_in_the_store_and_ages_out(world: World) -> None:
    good = await world.invites.create(OFFICE, OTHER_UNIT)
    for _ in range(MAX_FAILED_JOINS):
        with pytest.raises(InviteUnknown):
            await world.invites.join(NOBODY, "WRONG")
    # a new service over the same store (a restart, another instance) still counts them
    restarted = InviteService(uow=fake_uow_factory(world.store), plan=world.plan, clock=world.clock)
    with pytest.raises(JoinRateLimited):
        await restarted.join(NOBODY, good.code)
    assert sum(e.action == "invite.join_failed" for e in world.store.audit) == MAX_FAILED_JOINS

    world.clock.advance(FAILED_JOIN_WINDOW)

    assert (await restarted.join(NOBODY, good.code)).unit_id == OTHER_UNIT


async def test_used_and_expired_codes_count_as_failures_too(world: World) -> None:
    used = await world.invites.create(OFFICE, OTHER_UNIT)
    await world.invites.join(NOBODY + 1, used.code)
    for _ in range(MAX_FAILED_JOINS):
        with pytest.raises(InviteUsed):
            await world.invites.join(NOBODY, used.code)

    with pytest.raises(JoinRateLimited):
        await world.invites.join(NOBODY, "ANY")


async def test_only_the_office_makes_codes_and_each_one_is_audited(world: World) -> None:
    with pytest.raises(PermissionDenied):
        await world.invites.create(LEAD, OTHER_UNIT)
    await world.invites.create(OFFICE, OTHER_UNIT)
    await world.invites.create(None, LEAD_UNIT)  # the command line, for the first set-up

    assert [(e.actor_id, e.action, e.target) for e in world.store.audit] == [
        (OFFICE, "invite.create", OTHER_UNIT)
    ]
    assert len(world.store.invites) == 2


async def test_a_code_for_an_unknown_unit_or_with_an_odd_lifetime_is_refused(world: World) -> None:
    with pytest.raises(UnknownUnit):
        await world.invites.create(OFFICE, "no_such_unit")
    with pytest.raises(BadTtl):
        await world.invites.create(OFFICE, OTHER_UNIT, ttl=timedelta(0))
    with pytest.raises(BadTtl):
        await world.invites.create(OFFICE, OTHER_UNIT, ttl=timedelta(days=365))
    assert world.store.invites == {}


async def test_joining_another_unit_ends_the_old_binding(world: World) -> None:
    invite = await world.invites.create(OFFICE, OTHER_UNIT)

    joined = await world.invites.join(LEAD_2, invite.code)

    assert (joined.unit_id, joined.previous_unit_id) == (OTHER_UNIT, LEAD_UNIT)
    async with FakeUnitOfWork(world.store) as uow:
        assert [x.user_id for x in await uow.liaisons.list_for_unit(LEAD_UNIT)] == [LEAD]


async def test_the_office_removes_a_liaison_who_is_told_and_loses_the_role_at_once(world: World) -> None:
    case_id = await world.file()

    assert await world.invites.remove_liaison(OFFICE, LEAD_2) == LEAD_UNIT

    with pytest.raises(PermissionDenied):
        await world.liaison.view(LEAD_2, case_id)
    assert [text_key(m) for m in world.outbox_to(LEAD_2)][-1] == "join.removed"
    assert [(e.action, e.target, e.details) for e in world.store.audit] == [
        ("liaison.remove", LEAD_UNIT, {"user_id": LEAD_2})
    ]
    with pytest.raises(NotALiaison):
        await world.invites.remove_liaison(OFFICE, LEAD_2)
    with pytest.raises(PermissionDenied):
        await world.invites.remove_liaison(LEAD, ASSIST)


# --- who sees what -------------------------------------------------------------------------


@pytest.mark.parametrize("act", ["view", "sign", "reply", "return", "note", "evidence"])
async def test_a_liaison_of_another_unit_gets_the_same_not_found_as_for_a_missing_case(
    world: World, act: str
) -> None:
    case_id = await world.file()

    async def attempt(user_id: int, target: int) -> None:
        s = world.liaison
        calls = {
            "view": lambda: s.view(user_id, target),
            "sign": lambda: s.sign(user_id, target),
            "reply": lambda: s.reply(user_id, target, REPLY),
            "return": lambda: s.return_case(user_id, target, "不是我们的"),
            "note": lambda: s.add_note(user_id, target, "看看"),
            "evidence": lambda: s.evidence(user_id, target),
        }
        await calls[act]()

    with pytest.raises(NotFound) as other_unit:
        await attempt(STRANGER, case_id)
    with pytest.raises(NotFound) as missing:
        await attempt(LEAD, 999_999)

    assert type(other_unit.value) is type(missing.value)
    assert other_unit.value.params == missing.value.params
    assert world.case(case_id).state is CaseState.ASSIGNED
    assert world.kinds(case_id) == ["submit", "route"]


async def test_someone_who_is_no_liaison_is_refused(world: World) -> None:
    case_id = await world.file()

    with pytest.raises(PermissionDenied):
        await world.liaison.inbox(NOBODY)
    with pytest.raises(PermissionDenied):
        await world.liaison.view(CITIZEN, case_id)
    with pytest.raises(PermissionDenied):
        await world.liaison.sign(OFFICE, case_id)


async def test_an_assisting_unit_sees_the_card_and_may_only_add_notes(world: World) -> None:
    case_id = await world.file()

    view = await world.liaison.view(ASSIST, case_id)
    assert view.role is UnitRole.ASSIST
    assert view.actions == (LiaisonAction.NOTE,)
    for act in (
        world.liaison.sign(ASSIST, case_id),
        world.liaison.reply(ASSIST, case_id, REPLY),
        world.liaison.return_case(ASSIST, case_id, "不归我们"),
    ):
        with pytest.raises(PermissionDenied):
            await act
    note = await world.liaison.add_note(ASSIST, case_id, "我室已掌握该窗口此前的类似投诉。")

    assert note.visibility is Visibility.INTERNAL
    assert note.data == {"unit": ASSIST_UNIT, "role": "assist"}
    assert world.case(case_id).state is CaseState.ASSIGNED


async def test_the_card_never_carries_who_complained(world: World) -> None:
    evidence = Evidence("photo-file-1", "uphoto1", AttachmentKind.PHOTO, size=1000)
    case_id = await world.file(anonymous=False, phone=PHONE, evidence=(evidence,))
    await world.liaison.sign(LEAD, case_id)
    await world.liaison.reply(LEAD, case_id, REPLY)
    await world.follow_up.rate(CITIZEN, case_id, Satisfaction.UNSATISFIED)
    await world.follow_up.comment(CITIZEN, case_id, "还是不满意")
    citizen_id = world.case(case_id).citizen_id

    for user_id in (LEAD, ASSIST):
        view = await world.liaison.view(user_id, case_id)
        assert view.case.citizen_id is None
        assert view.case.anonymous
        assert all(e.actor_ref is None for e in view.history if e.actor is Actor.CITIZEN)
        assert [a.added_by for a in view.evidence] == [None]
        assert [a.file_id for a in view.evidence] == ["photo-file-1"]
        everything = repr(view)
        assert str(CITIZEN) not in everything
        assert PHONE not in everything
        assert f"citizen_id={citizen_id}" not in everything
        inbox = await world.liaison.inbox(user_id)
        assert str(CITIZEN) not in repr(inbox)
    # and no notice to a unit names the citizen either
    for message in world.outbox():
        if message.chat_id in (LEAD, LEAD_2, ASSIST):
            assert str(CITIZEN) not in repr(message.payload)
            assert PHONE not in repr(message.payload)


# --- the inbox -----------------------------------------------------------------------------


async def test_the_inbox_puts_overdue_cases_first_and_copied_cases_apart(world: World) -> None:
    older = await world.file()  # Monday: to be signed for by Tuesday
    world.clock.set(datetime(2026, 11, 25, 10, 0, tzinfo=SH))  # Wednesday
    newer = await world.file()  # to be signed for by Thursday
    world.clock.set(datetime(2026, 11, 26, 9, 0, tzinfo=SH))  # Thursday

    inbox = await world.liaison.inbox(LEAD)

    assert inbox.unit_id == LEAD_UNIT
    assert [(e.case.id, e.colour, e.due) for e in inbox.lead] == [
        (older, WarningColour.RED, date(2026, 11, 24)),
        (newer, WarningColour.YELLOW, date(2026, 11, 26)),
    ]
    assert inbox.assist == ()
    copied = await world.liaison.inbox(ASSIST)
    assert copied.lead == ()
    assert [e.case.id for e in copied.assist] == [newer, older]
    assert {e.role for e in copied.assist} == {UnitRole.ASSIST}
    assert (await world.liaison.inbox(STRANGER)).lead == ()


async def test_the_inbox_pages_and_leaves_out_what_the_unit_no_longer_has_to_do(world: World) -> None:
    ids = [await world.file() for _ in range(5)]
    await world.liaison.sign(LEAD, ids[0])
    await world.liaison.reply(LEAD, ids[0], REPLY)  # answered: off the to-do list

    first = await world.liaison.inbox(LEAD, size=3)
    second = await world.liaison.inbox(LEAD, page=1, size=3)

    assert (len(first.lead), first.more_lead) == (3, True)
    assert (len(second.lead), second.more_lead) == (1, False)
    assert {e.case.id for e in first.lead + second.lead} == set(ids[1:])


# --- acting on a case ----------------------------------------------------------------------


async def test_the_card_offers_what_the_state_allows(world: World) -> None:
    case_id = await world.file()
    A = LiaisonAction

    assert (await world.liaison.view(LEAD, case_id)).actions == (A.SIGN, A.RETURN, A.NOTE)
    await world.liaison.sign(LEAD, case_id)
    assert (await world.liaison.view(LEAD, case_id)).actions == (A.REPLY, A.EXTENSION, A.RETURN, A.NOTE)
    await world.liaison.reply(LEAD, case_id, REPLY)
    assert (await world.liaison.view(LEAD, case_id)).actions == (A.NOTE,)


async def test_signing_for_a_case_tells_the_citizen_who_handles_it_and_by_when(world: World) -> None:
    case_id = await world.file()

    await world.liaison.sign(LEAD, case_id)

    case = world.case(case_id)
    assert case.state is CaseState.SIGNED
    assert case.signed_at == MONDAY
    (event,) = [e for e in world.store.events if e.kind == "sign"]
    assert (event.actor, event.actor_ref, event.data["unit"]) == (Actor.LIAISON, str(LEAD), LEAD_UNIT)
    (told,) = world.outbox_to(CITIZEN)
    assert text_key(told) == "notify.citizen.signed"
    assert told.payload["text_params"] == {
        "tracking_no": case.tracking_no,
        "lead_units": [LEAD_UNIT],
        "answer_due_date": "2026-11-30",
    }


async def test_a_second_liaison_cannot_sign_a_signed_case_again(world: World) -> None:
    case_id = await world.file()
    await world.liaison.sign(LEAD, case_id)

    with pytest.raises(InvalidTransition):
        await world.liaison.sign(LEAD_2, case_id)


async def test_the_answer_reaches_the_citizen_with_the_follow_up_question(world: World) -> None:
    case_id = await world.file()
    await world.liaison.sign(LEAD, case_id)
    world.clock.advance(timedelta(hours=3))

    replied = await world.liaison.reply(LEAD, case_id, REPLY)

    assert not replied.pending_review
    case = world.case(case_id)
    assert (case.state, case.answered_at) == (CaseState.ANSWERED, world.clock.now())
    (answer,) = [e for e in world.store.events if e.kind == "answer"]
    assert (answer.visibility, answer.text) == (Visibility.PUBLIC, REPLY)
    told = world.outbox_to(CITIZEN)[-1]
    assert text_key(told) == "follow_up.answered"
    assert told.payload["text_params"] == {
        "tracking_no": case.tracking_no,
        "answer": REPLY,
        "lead_units": [LEAD_UNIT],
    }
    assert button_data(told) == [
        f"fu:{case_id}:satisfied",
        f"fu:{case_id}:basically",
        f"fu:{case_id}:unsatisfied",
    ]


async def test_a_case_must_be_signed_for_before_it_is_answered(world: World) -> None:
    case_id = await world.file()

    with pytest.raises(InvalidTransition):
        await world.liaison.reply(LEAD, case_id, REPLY)
    assert world.case(case_id).state is CaseState.ASSIGNED


@pytest.mark.parametrize("text", ["", "好", "   \x00\x01  ", "x" * 3001])
async def test_an_empty_or_oversized_answer_is_refused(world: World, text: str) -> None:
    case_id = await world.file()
    await world.liaison.sign(LEAD, case_id)

    with pytest.raises(ValidationFailed):
        await world.liaison.reply(LEAD, case_id, text)
    assert world.case(case_id).state is CaseState.SIGNED


async def test_with_reply_review_the_answer_waits_for_the_office(plan: Plan) -> None:
    w = await World(plan, reply_review=True).setup()
    case_id = await w.file()
    await w.liaison.sign(LEAD, case_id)

    replied = await w.liaison.reply(LEAD, case_id, REPLY)

    assert replied.pending_review
    assert w.case(case_id).state is CaseState.SIGNED
    (pending,) = [e for e in w.store.events if e.kind == "reply_pending"]
    assert (pending.visibility, pending.text) == (Visibility.INTERNAL, REPLY)
    assert [text_key(m) for m in w.outbox_to(CITIZEN)] == ["notify.citizen.signed"]
    (office,) = w.outbox_to(OFFICE_CHAT)
    assert text_key(office) == "liaison.office_reply_pending"
    assert button_data(office) == [f"rv:approve:{case_id}", f"rv:refuse:{case_id}"]
    assert (await w.liaison.view(LEAD, case_id)).reply_pending

    with pytest.raises(PermissionDenied):
        await w.liaison.review_reply(LEAD, case_id, approve=True)
    await w.liaison.review_reply(OFFICE, case_id, approve=True)

    assert w.case(case_id).state is CaseState.ANSWERED
    (answer,) = [e for e in w.store.events if e.kind == "answer"]
    assert (answer.actor, answer.actor_ref, answer.text) == (Actor.LIAISON, str(LEAD), REPLY)
    assert text_key(w.outbox_to(CITIZEN)[-1]) == "follow_up.answered"
    with pytest.raises(ReplyReviewPending):  # a second press of the button
        await w.liaison.review_reply(OFFICE, case_id, approve=True)


async def test_a_reply_sent_back_by_the_office_goes_back_to_the_unit(plan: Plan) -> None:
    w = await World(plan, reply_review=True).setup()
    case_id = await w.file()
    await w.liaison.sign(LEAD, case_id)
    await w.liaison.reply(LEAD, case_id, REPLY)

    await w.liaison.review_reply(OFFICE, case_id, approve=False)

    assert w.case(case_id).state is CaseState.SIGNED
    assert not (await w.liaison.view(LEAD, case_id)).reply_pending
    assert [text_key(m) for m in w.outbox_to(LEAD)][-1] == "liaison.reply_sent_back"
    assert [text_key(m) for m in w.outbox_to(CITIZEN)] == ["notify.citizen.signed"]


async def test_a_returned_case_goes_to_the_office_with_the_reason_and_the_citizen_hears_nothing(
    world: World,
) -> None:
    case_id = await world.file()

    await world.liaison.return_case(LEAD, case_id, "该窗口属区政务中心管理，不属本单位职责。")

    case = world.case(case_id)
    assert case.state is CaseState.RETURNED
    (returned,) = [e for e in world.store.events if e.kind == "return"]
    assert returned.visibility is Visibility.INTERNAL
    assert returned.text == "该窗口属区政务中心管理，不属本单位职责。"
    (office,) = world.outbox_to(OFFICE_CHAT)
    assert text_key(office) == "liaison.office_returned"
    assert office.payload["text_params"] == {
        "tracking_no": case.tracking_no,
        "case_area": "conduct",
        "returning_units": [LEAD_UNIT],
        "reason": "该窗口属区政务中心管理，不属本单位职责。",
    }
    assert world.outbox_to(CITIZEN) == []


async def test_a_return_needs_a_reason(world: World) -> None:
    case_id = await world.file()

    with pytest.raises(ValidationFailed):
        await world.liaison.return_case(LEAD, case_id, "  ")
    assert world.case(case_id).state is CaseState.ASSIGNED


async def test_notes_stay_internal_and_are_shown_to_the_units(world: World) -> None:
    case_id = await world.file()

    await world.liaison.add_note(LEAD, case_id, "已调取当日监控。")

    view = await world.liaison.view(ASSIST, case_id)
    (note,) = [e for e in view.history if e.kind == "note"]
    assert (note.visibility, note.text) == (Visibility.INTERNAL, "已调取当日监控。")
    async with FakeUnitOfWork(world.store) as uow:
        public = await uow.events.list(case_id, include_internal=False)
    assert "note" not in [e.kind for e in public]
    assert world.outbox_to(CITIZEN) == []


# --- follow-up (回访) ------------------------------------------------------------------------


async def answered_case(w: World, citizen: int = CITIZEN) -> int:
    case_id = await w.file(citizen)
    await w.liaison.sign(LEAD, case_id)
    await w.liaison.reply(LEAD, case_id, REPLY)
    return case_id


@pytest.mark.parametrize("rating", [Satisfaction.SATISFIED, Satisfaction.BASICALLY])
async def test_a_satisfied_citizen_closes_the_case(world: World, rating: Satisfaction) -> None:
    case_id = await answered_case(world)

    rated = await world.follow_up.rate(CITIZEN, case_id, rating)

    assert rated.closed
    case = world.case(case_id)
    assert (case.state, case.satisfaction, case.closed_at) == (CaseState.CLOSED, rating, MONDAY)
    close = [e for e in world.store.events if e.kind == "close"][-1]
    assert (close.actor, close.data["satisfaction"]) == (Actor.CITIZEN, rating.value)
    assert [text_key(m) for m in world.outbox_to(LEAD)][-1] == "follow_up.unit_rated"


async def test_an_unsatisfied_citizen_may_comment_and_ask_for_a_reopen(world: World) -> None:
    case_id = await answered_case(world)

    rated = await world.follow_up.rate(CITIZEN, case_id, Satisfaction.UNSATISFIED)
    await world.follow_up.comment(CITIZEN, case_id, "只是调岗，问题没有解决。")
    await world.follow_up.request_reopen(CITIZEN, case_id)

    assert not rated.closed
    case = world.case(case_id)
    assert (case.state, case.satisfaction) == (CaseState.ANSWERED, Satisfaction.UNSATISFIED)
    assert case.satisfaction_comment == "只是调岗，问题没有解决。"
    assert world.kinds(case_id)[-3:] == ["follow_up", "follow_up_comment", "reopen_requested"]
    (office,) = world.outbox_to(OFFICE_CHAT)
    assert text_key(office) == "follow_up.office_reopen_request"
    assert button_data(office) == [f"ro:approve:{case_id}", f"ro:refuse:{case_id}"]
    assert office.payload["text_params"]["comment"] == "只是调岗，问题没有解决。"  # type: ignore[index]
    with pytest.raises(ReopenNotPossible):
        await world.follow_up.request_reopen(CITIZEN, case_id)


async def test_only_the_cases_own_citizen_can_rate_it(world: World) -> None:
    case_id = await answered_case(world)
    await world.file(OTHER_CITIZEN)  # the other citizen exists, with a case of their own

    for user_id in (OTHER_CITIZEN, LEAD, OFFICE):
        with pytest.raises(NotFound):
            await world.follow_up.rate(user_id, case_id, Satisfaction.SATISFIED)
    with pytest.raises(NotFound):
        await world.follow_up.rate(CITIZEN, 999_999, Satisfaction.SATISFIED)
    assert world.case(case_id).state is CaseState.ANSWERED


async def test_a_case_is_rated_once_and_only_when_answered(world: World) -> None:
    case_id = await world.file()
    with pytest.raises(FollowUpDone):
        await world.follow_up.rate(CITIZEN, case_id, Satisfaction.SATISFIED)
    await world.liaison.sign(LEAD, case_id)
    await world.liaison.reply(LEAD, case_id, REPLY)
    await world.follow_up.rate(CITIZEN, case_id, Satisfaction.UNSATISFIED)

    with pytest.raises(FollowUpDone):
        await world.follow_up.rate(CITIZEN, case_id, Satisfaction.SATISFIED)
    with pytest.raises(ValidationFailed):
        await world.follow_up.rate(CITIZEN, case_id, Satisfaction.NO_RESPONSE)


async def test_a_reopen_needs_an_unsatisfied_rating(world: World) -> None:
    case_id = await answered_case(world)

    with pytest.raises(ReopenNotPossible):
        await world.follow_up.request_reopen(CITIZEN, case_id)
    await world.follow_up.rate(CITIZEN, case_id, Satisfaction.SATISFIED)
    with pytest.raises(ReopenNotPossible):
        await world.follow_up.request_reopen(CITIZEN, case_id)


async def test_an_approved_reopen_routes_the_case_again_and_the_next_answer_asks_again(world: World) -> None:
    case_id = await answered_case(world)
    await world.follow_up.rate(CITIZEN, case_id, Satisfaction.UNSATISFIED)
    await world.follow_up.request_reopen(CITIZEN, case_id)
    world.clock.set(datetime(2026, 11, 25, 10, 0, tzinfo=SH))  # Wednesday

    with pytest.raises(PermissionDenied):
        await world.follow_up.reopen_decision(LEAD, case_id, approve=True)
    await world.follow_up.reopen_decision(OFFICE, case_id, approve=True)

    case = world.case(case_id)
    assert case.state is CaseState.ASSIGNED
    assert (case.sign_due, case.answer_due) == (date(2026, 11, 26), date(2026, 12, 2))
    assert world.kinds(case_id)[-2:] == ["reopen", "route"]
    assert [text_key(m) for m in world.outbox_to(CITIZEN)][-1] == "notify.citizen.reopened"
    assert [text_key(m) for m in world.outbox_to(LEAD)][-1] == "follow_up.unit_reopened"
    assert [e.action for e in world.store.audit] == ["reopen.approve"]
    with pytest.raises(NoReopenRequest):  # the button pressed a second time
        await world.follow_up.reopen_decision(OFFICE, case_id, approve=True)

    await world.liaison.sign(LEAD, case_id)
    await world.liaison.reply(LEAD, case_id, "已重新调查，并向您当面致歉。")
    assert world.case(case_id).satisfaction is None
    rated = await world.follow_up.rate(CITIZEN, case_id, Satisfaction.BASICALLY)
    assert rated.closed


async def test_a_refused_reopen_closes_the_case(world: World) -> None:
    case_id = await answered_case(world)
    await world.follow_up.rate(CITIZEN, case_id, Satisfaction.UNSATISFIED)
    await world.follow_up.request_reopen(CITIZEN, case_id)

    await world.follow_up.reopen_decision(OFFICE, case_id, approve=False)

    case = world.case(case_id)
    assert (case.state, case.satisfaction) == (CaseState.CLOSED, Satisfaction.UNSATISFIED)
    assert world.kinds(case_id)[-2:] == ["reopen_refused", "close"]
    assert [text_key(m) for m in world.outbox_to(CITIZEN)][-1] == "follow_up.reopen_refused"
    with pytest.raises(NoReopenRequest):
        await world.follow_up.reopen_decision(OFFICE, case_id, approve=True)


async def test_every_notice_these_services_queue_has_its_texts_and_params_in_both_languages(
    plan: Plan, catalogue: Catalogue
) -> None:
    w = await World(plan, reply_review=True).setup()
    invite = await w.invites.create(OFFICE, OTHER_UNIT)
    await w.invites.join(NOBODY, invite.code, display_name="李四")
    await w.invites.remove_liaison(OFFICE, NOBODY)
    returned = await w.file()
    await w.liaison.return_case(LEAD, returned, "不属本单位")
    case_id = await w.file()
    await w.liaison.sign(LEAD, case_id)
    await w.liaison.reply(LEAD, case_id, REPLY)
    await w.liaison.review_reply(OFFICE, case_id, approve=False)
    await w.liaison.reply(LEAD, case_id, REPLY)
    await w.liaison.review_reply(OFFICE, case_id, approve=True)
    await w.follow_up.rate(CITIZEN, case_id, Satisfaction.UNSATISFIED)
    await w.follow_up.request_reopen(CITIZEN, case_id)
    await w.follow_up.reopen_decision(OFFICE, case_id, approve=True)
    await w.liaison.sign(LEAD, case_id)
    await w.liaison.reply(LEAD, case_id, REPLY)
    await w.liaison.review_reply(OFFICE, case_id, approve=True)
    await w.follow_up.rate(CITIZEN, case_id, Satisfaction.UNSATISFIED)
    await w.follow_up.request_reopen(CITIZEN, case_id)
    await w.follow_up.reopen_decision(OFFICE, case_id, approve=False)

    keys_seen = set()
    for message in w.outbox():
        key = str(message.payload["text_key"])
        params = message.payload["text_params"]
        assert isinstance(params, dict)
        # a param "x_key" or "x_keys" is also available as "x" (bot.rendering)
        given = set(params) | {p.rsplit("_key", 1)[0] for p in params if p.endswith(("_key", "_keys"))}
        keys_seen.add(key)
        for lang in ("zh", "en"):
            assert catalogue.has(key, lang), (key, lang)
            assert catalogue.placeholders(lang, key) <= given, (key, lang, params)
            for label in (b["label_key"] for row in message.payload.get("buttons", []) for b in row):  # type: ignore[attr-defined]
                assert catalogue.has(label, lang), label
    assert {
        "join.office_joined", "join.removed", "liaison.office_returned", "liaison.office_reply_pending",
        "liaison.reply_sent_back", "follow_up.answered", "follow_up.unit_rated",
        "follow_up.office_reopen_request", "follow_up.unit_reopened", "follow_up.reopen_refused",
    } <= keys_seen  # fmt: skip
