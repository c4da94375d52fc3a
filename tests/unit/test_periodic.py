"""The periodic pass and extensions, over the in-memory fakes with an injected clock.

The main scenario is the issue's: a 程序 (procedure) complaint filed on Friday 2014-09-26, the
last working day but one before National Day (10-01..10-07 off; Sunday 09-28 and Saturday
10-11 are 调休 make-up working days), walked day by day until it is on the notice list.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from core.calendar import WorkingDays
from core.cases import Case, CaseEvent, Satisfaction, Visibility
from core.clock import FixedClock
from core.deadlines import DeadlineRules, QuietHours
from core.directory import UnitRecord
from core.errors import InvalidTransition, NotFound
from core.outbox import OutboxMessage
from core.plan import Plan
from core.ports import UnitOfWorkFactory
from core.reports import Recommendation, RecommendationStatus, ReportKind, ReportStatus, UnitReport
from core.services.complaints import ComplaintDraft, ComplaintService
from core.services.extensions import (
    ExtensionAlreadyUsed,
    ExtensionDays,
    ExtensionService,
    ExtensionTooLate,
)
from core.services.periodic import (
    ESCALATED_EVENT,
    LEASE_NAME,
    SUPERVISION_EVENT,
    DigestKind,
    DigestRequest,
    PassSummary,
    PeriodicPass,
)
from core.services.workflow import Who, apply_action
from core.states import Action, Actor, CaseState
from tests.fakes import FakeCaseRepository, FakeStore, fake_uow_factory

TZ = ZoneInfo("Asia/Shanghai")
OFFICE_CHAT = -1001
CITIZEN = 1001
LEAD_A = 2001  # liaison of discipline_commission (lead of "procedure")
LEAD_B = 2002  # liaison of supervision_bureau (lead of "procedure")
ASSIST = 2003  # liaison of organs_work_committee (assists on "procedure")
OFFICER = 3001


def at(day: date, hour: int = 10, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=TZ)


def d(month: int, day: int, year: int = 2014) -> date:
    return date(year, month, day)


@dataclass
class World:
    plan: Plan
    store: FakeStore
    uow: UnitOfWorkFactory
    clock: FixedClock
    rules: DeadlineRules
    periodic: PeriodicPass
    extensions: ExtensionService
    complaints: ComplaintService
    digests: list[DigestRequest] = field(default_factory=list)

    def outbox(self) -> list[OutboxMessage]:
        return sorted(self.store.outbox.values(), key=lambda m: m.id or 0)

    def keys_since(self, mark: int) -> list[tuple[str, int]]:
        """(text_key, chat_id) of the outbox rows added after row ``mark``."""
        return [(m.payload["text_key"], m.chat_id) for m in self.outbox()[mark:]]  # type: ignore[misc]

    def case(self, case_id: int) -> Case:
        return self.store.cases[case_id]

    def events(self, case_id: int, kind: str) -> list[CaseEvent]:
        return [e for e in self.store.events if e.case_id == case_id and e.kind == kind]

    def new_pass(self, holder: str) -> PeriodicPass:
        return PeriodicPass(
            uow=self.uow,
            plan=self.plan,
            clock=self.clock,
            deadlines=self.rules,
            quiet_hours=self.periodic.quiet_hours,
            office_chat_id=OFFICE_CHAT,
            holder=holder,
        )

    async def file(self, when: datetime, area: str = "procedure") -> int:
        self.clock.set(when)
        filed = await self.complaints.file(
            CITIZEN,
            ComplaintDraft(
                description="窗口让我补了三次材料，每次都说还差一样，程序一变再变。",
                area=area,
                area_auto=area,
                confidence=0.9,
                anonymous=False,
            ),
        )
        assert filed.case.id is not None
        return filed.case.id

    async def act(self, case_id: int, action: Action, who: Who, when: datetime, **fields: object) -> None:
        async with self.uow() as uow:
            case = await uow.cases.get(case_id)
            assert case is not None
            for name, value in fields.items():
                setattr(case, name, value)
            await apply_action(uow, case, action, who, when)
            await uow.commit()


@pytest.fixture
async def world(plan: Plan) -> World:
    store = FakeStore()
    uow = fake_uow_factory(store)
    clock = FixedClock(at(d(9, 26)), TZ)
    rules = DeadlineRules(WorkingDays(), TZ)
    quiet = QuietHours(time(21, 0), time(8, 0), TZ)
    async with uow() as w:
        await w.units.sync([UnitRecord(id=u.id, name=u.name, kind=u.kind) for u in plan.units])
        for user_id, unit_id in (
            (LEAD_A, "discipline_commission"),
            (LEAD_B, "supervision_bureau"),
            (ASSIST, "organs_work_committee"),
        ):
            await w.users.upsert(user_id, now=clock.now(), chat_id=user_id)
            await w.liaisons.add(user_id, unit_id, now=clock.now())
        await w.commit()
    recorded: list[DigestRequest] = []

    async def digest_job(request: DigestRequest) -> bool:
        recorded.append(request)
        return True

    periodic = PeriodicPass(
        uow=uow,
        plan=plan,
        clock=clock,
        deadlines=rules,
        quiet_hours=quiet,
        office_chat_id=OFFICE_CHAT,
        holder="instance-a",
        digest_job=digest_job,
    )
    return World(
        plan=plan,
        store=store,
        uow=uow,
        clock=clock,
        rules=rules,
        periodic=periodic,
        extensions=ExtensionService(uow, plan, clock, rules, office_chat_id=OFFICE_CHAT),
        complaints=ComplaintService(uow, plan, clock, rules, office_chat_id=OFFICE_CHAT),
        digests=recorded,
    )


async def walk(world: World, first: date, last: date, *, hour: int = 10) -> dict[date, list[tuple[str, int]]]:
    """Run the pass twice on every day from ``first`` to ``last``; returns the notices queued
    per day, after checking that the second run of each day queued nothing."""
    queued: dict[date, list[tuple[str, int]]] = {}
    day = first
    while day <= last:
        world.clock.set(at(day, hour))
        mark = len(world.store.outbox)
        summary = await world.periodic.run()
        assert summary.ran and summary.errors == 0, (day, summary)
        after_first = len(world.store.outbox)
        again = await world.periodic.run()
        assert again.ran and again.total == 0 and again.notices == 0, (day, again)
        assert len(world.store.outbox) == after_first, f"the second pass on {day} queued something"
        reminders = [k for k in world.keys_since(mark) if not k[0].startswith("notify.")]
        if reminders:
            queued[day] = reminders
        day += timedelta(days=1)
    return queued


def kinds(queued: list[tuple[str, int]]) -> set[tuple[str, int]]:
    return set(queued)


# -- the scenario ----------------------------------------------------------------------


async def test_case_filed_before_national_day_is_warned_supervised_and_escalated_on_working_days(
    world: World,
) -> None:
    case_id = await world.file(at(d(9, 26)))
    case = world.case(case_id)
    # sign-for: the next working day is the make-up Sunday; answer: 5 working days, the
    # holiday week not counted
    assert (case.sign_due, case.answer_due) == (d(9, 28), d(10, 9))
    assert case.lead_unit_ids == ["discipline_commission", "supervision_bureau"]

    before_signing = await walk(world, d(9, 26), d(9, 29))
    # the unit signs on Monday 09-29, after the morning's supervision notice
    await world.act(
        case_id, Action.SIGN, Who.user(Actor.LIAISON, LEAD_A), at(d(9, 29), 11), signed_at=at(d(9, 29), 11)
    )
    after_signing = await walk(world, d(9, 30), d(10, 20))
    queued = {**before_signing, **after_signing}

    leads = {LEAD_A, LEAD_B}
    assert set(queued) == {d(9, 28), d(9, 29), d(10, 8), d(10, 9), d(10, 10), d(10, 15)}
    # yellow on the make-up Sunday, the sign-for due day (no blue: it would repeat the
    # assignment notice of the day before)
    assert kinds(queued[d(9, 28)]) == {("reminder.yellow", u) for u in leads}
    # 督办 the next working day, with the office's copy
    assert kinds(queued[d(9, 29)]) == {("supervision.notice", u) for u in leads} | {
        ("supervision.office_copy", OFFICE_CHAT)
    }
    # nothing on 09-30 (the next working day is 10-08, not the due day) nor in the holiday;
    # blue on the first working day after it, yellow on the due day
    assert kinds(queued[d(10, 8)]) == {("reminder.blue", u) for u in leads}
    assert kinds(queued[d(10, 9)]) == {("reminder.yellow", u) for u in leads}
    assert kinds(queued[d(10, 10)]) == {("supervision.notice", u) for u in leads} | {
        ("supervision.office_copy", OFFICE_CHAT)
    }
    # overdue by 5 working days (10-10, the make-up Saturday 10-11, 10-13, 10-14, 10-15)
    assert kinds(queued[d(10, 15)]) == {("supervision.escalated_unit", u) for u in leads} | {
        ("supervision.escalated_office", OFFICE_CHAT)
    }
    # the assisting unit is copied on the case, never warned
    assert all(chat != ASSIST for day in queued.values() for _, chat in day)

    supervision = world.events(case_id, SUPERVISION_EVENT)
    escalated = world.events(case_id, ESCALATED_EVENT)
    assert [(e.data["deadline"], e.data["due"]) for e in supervision] == [
        ("sign", "2014-09-28"),
        ("answer", "2014-10-09"),
    ]
    assert [(e.data["due"], e.data["overdue_days"]) for e in escalated] == [("2014-10-09", 5)]
    assert all(e.visibility is Visibility.INTERNAL for e in [*supervision, *escalated])
    assert world.case(case_id).state is CaseState.SIGNED  # escalation does not close anything


async def test_reminder_notices_carry_the_case_and_deadline_but_never_the_complainant(world: World) -> None:
    case_id = await world.file(at(d(9, 26)))
    await world.act(case_id, Action.SIGN, Who.user(Actor.LIAISON, LEAD_A), at(d(9, 26), 11))
    await world.periodic.run(at(d(10, 10)))
    copy = next(m for m in world.outbox() if m.payload["text_key"] == "supervision.office_copy")
    assert copy.payload["text_params"] == {
        "tracking_no": world.case(case_id).tracking_no,
        "case_area": "procedure",
        "deadline_key": "reminder.deadline_answer",
        "due_date": "2014-10-09",
        "overdue_days": 1,
        "lead_units": ["discipline_commission", "supervision_bureau"],
    }
    assert copy.dedup_key == f"rem:{case_id}:answer:supervision:2014-10-09:office"
    for message in world.outbox():
        assert str(CITIZEN) not in str(message.payload["text_params"]) or message.chat_id == CITIZEN


async def test_a_pass_that_missed_the_supervision_day_catches_up_once(world: World) -> None:
    case_id = await world.file(at(d(9, 26)))
    await world.act(case_id, Action.SIGN, Who.user(Actor.LIAISON, LEAD_A), at(d(9, 26), 11))
    # nothing ran between 09-26 and 10-16: supervision and escalation both go out now, once
    summary = await world.periodic.run(at(d(10, 16)))
    assert (summary.supervision, summary.escalated, summary.blue, summary.yellow) == (1, 1, 0, 0)
    again = await world.new_pass("instance-b").run(at(d(10, 17)))  # another instance, next day
    assert again.total == 0 and again.notices == 0
    assert len(world.events(case_id, SUPERVISION_EVENT)) == len(world.events(case_id, ESCALATED_EVENT)) == 1


# -- two instances -----------------------------------------------------------------------------


async def test_a_second_instance_does_nothing_while_the_first_holds_the_lease(world: World) -> None:
    case_id = await world.file(at(d(9, 26)))
    await world.act(case_id, Action.SIGN, Who.user(Actor.LIAISON, LEAD_A), at(d(9, 26), 11))
    now = at(d(10, 10))
    async with world.uow() as uow:  # instance A is in the middle of its pass
        assert await uow.leases.try_acquire(LEASE_NAME, "instance-a", now=now, ttl=timedelta(minutes=5))
        await uow.commit()
    mark = len(world.store.outbox)

    second = await world.new_pass("instance-b").run(now)
    assert not second.ran and str(second).startswith("skipped")
    assert len(world.store.outbox) == mark and not world.events(case_id, SUPERVISION_EVENT)

    first = await world.periodic.run(now)  # instance A renews its own lease and works
    assert first.ran and first.supervision == 1
    assert world.store.leases == {}, "the lease is released at the end of a pass"
    # B, after A has finished: runs, finds everything done
    late = await world.new_pass("instance-b").run(now + timedelta(minutes=1))
    assert late.ran and late.total == 0 and late.notices == 0


async def test_an_instance_starting_during_a_pass_is_turned_away(world: World) -> None:
    other = world.new_pass("instance-b")
    seen: list[PassSummary] = []

    async def digest_job(request: DigestRequest) -> bool:
        seen.append(await other.run(request.now))  # while instance A is mid-pass
        return True

    world.periodic.digest_job = digest_job
    monday = at(d(10, 13), 9)
    summary = await world.periodic.run(monday)
    assert summary.digests == 2
    assert seen and all(not s.ran for s in seen)


async def test_expired_lease_of_a_crashed_instance_is_taken_over(world: World) -> None:
    now = at(d(10, 10))
    async with world.uow() as uow:
        ten_minutes_ago = now - timedelta(minutes=10)
        await uow.leases.try_acquire(LEASE_NAME, "crashed", now=ten_minutes_ago, ttl=timedelta(minutes=5))
        await uow.commit()
    assert (await world.periodic.run(now)).ran


# -- follow-up, quiet hours, digests -------------------------------------------------------------


async def test_unrated_answer_is_closed_as_no_response_after_three_days(world: World) -> None:
    case_id = await world.file(at(d(9, 26)))
    rated_id = await world.file(at(d(9, 26), 11))
    answered = at(d(9, 29), 15)
    for cid in (case_id, rated_id):
        await world.act(cid, Action.SIGN, Who.user(Actor.LIAISON, LEAD_A), answered - timedelta(hours=1))
        await world.act(cid, Action.ANSWER, Who.user(Actor.LIAISON, LEAD_A), answered, answered_at=answered)
    async with world.uow() as uow:
        rated = await uow.cases.get(rated_id)
        assert rated is not None
        rated.satisfaction = Satisfaction.BASICALLY
        await uow.cases.update(rated)
        await uow.commit()

    early = await world.periodic.run(answered + timedelta(days=3) - timedelta(minutes=1))
    assert early.follow_up_closed == 0 and world.case(case_id).state is CaseState.ANSWERED

    mark = len(world.store.outbox)
    summary = await world.periodic.run(answered + timedelta(days=3, minutes=1))
    assert summary.follow_up_closed == 1
    case = world.case(case_id)
    assert case.state is CaseState.CLOSED and case.satisfaction is Satisfaction.NO_RESPONSE
    assert case.closed_at == answered + timedelta(days=3, minutes=1)
    (close,) = world.events(case_id, Action.CLOSE.value)
    assert close.actor is Actor.SYSTEM and close.visibility is Visibility.PUBLIC
    assert close.data["satisfaction"] == "no_response"
    assert world.keys_since(mark) == [("reminder.follow_up_closed", CITIZEN)]
    assert world.case(rated_id).state is CaseState.ANSWERED  # rated: the citizen's call, not ours

    again = await world.periodic.run(answered + timedelta(days=3, minutes=2))
    assert again.follow_up_closed == 0 and len(world.store.outbox) == mark + 1


async def test_a_reopened_case_answered_again_can_time_out_again(world: World) -> None:
    case_id = await world.file(at(d(9, 26)))
    liaison, office = Who.user(Actor.LIAISON, LEAD_A), Who.user(Actor.OFFICE, OFFICER)
    first_answer = at(d(9, 29), 15)
    await world.act(case_id, Action.SIGN, liaison, first_answer - timedelta(hours=1))
    await world.act(case_id, Action.ANSWER, liaison, first_answer, answered_at=first_answer)
    assert (await world.periodic.run(first_answer + timedelta(days=3, minutes=1))).follow_up_closed == 1

    second_answer = at(d(10, 9), 15)
    await world.act(case_id, Action.REOPEN, office, second_answer - timedelta(hours=3), satisfaction=None)
    await world.act(case_id, Action.ROUTE, office, second_answer - timedelta(hours=2))
    await world.act(case_id, Action.SIGN, liaison, second_answer - timedelta(hours=1))
    await world.act(case_id, Action.ANSWER, liaison, second_answer, answered_at=second_answer)
    assert (await world.periodic.run(second_answer + timedelta(days=3, minutes=1))).follow_up_closed == 1
    told = [m for m in world.outbox() if m.payload["text_key"] == "reminder.follow_up_closed"]
    assert len(told) == 2  # one per answer left unrated


async def test_reminders_created_at_night_wait_for_the_morning(world: World) -> None:
    case_id = await world.file(at(d(9, 26)))
    await world.act(case_id, Action.SIGN, Who.user(Actor.LIAISON, LEAD_A), at(d(9, 26), 11))
    # 10-09 00:30, the due day: the yellow warning is queued now but held until 08:00
    mark = len(world.store.outbox)
    await world.periodic.run(at(d(10, 9), 0, 30))
    yellow = world.outbox()[mark:]
    assert {m.payload["text_key"] for m in yellow} == {"reminder.yellow"}
    assert all(m.not_before == at(d(10, 9), 8) for m in yellow)
    # 10-10 02:00: the supervision notice and the office copy wait as well
    mark = len(world.store.outbox)
    await world.periodic.run(at(d(10, 10), 2))
    supervision = world.outbox()[mark:]
    assert {m.chat_id for m in supervision} == {LEAD_A, LEAD_B, OFFICE_CHAT}
    assert all(m.not_before == at(d(10, 10), 8) for m in supervision)
    # daytime notices go at once
    mark = len(world.store.outbox)
    await world.periodic.run(at(d(10, 15), 10))
    assert all(m.not_before == m.created_at for m in world.outbox()[mark:])


async def test_a_warning_that_could_only_arrive_the_next_day_is_not_sent(world: World) -> None:
    case_id = await world.file(at(d(9, 26)))
    await world.act(case_id, Action.SIGN, Who.user(Actor.LIAISON, LEAD_A), at(d(9, 26), 11))
    # the first pass of the blue day runs at 21:30: the blue warning would land on the due
    # day, where it is wrong; the yellow one goes out that morning instead
    summary = await world.periodic.run(at(d(10, 8), 21, 30))
    assert summary.blue == 0 and summary.notices == 0
    assert (await world.periodic.run(at(d(10, 9), 0, 1))).yellow == 1


async def test_digests_are_asked_for_daily_from_the_hour_and_weekly_on_monday(world: World) -> None:
    monday = d(10, 13)
    await world.periodic.run(at(monday, 7, 59))
    assert world.digests == []
    await world.periodic.run(at(monday, 8, 0))
    await world.periodic.run(at(monday, 8, 1))  # once a day
    await world.periodic.run(at(monday + timedelta(days=1), 9))
    assert [(r.kind, r.day, r.dedup_key) for r in world.digests] == [
        (DigestKind.DAILY, monday, "digest:daily:2014-10-13"),
        (DigestKind.WEEKLY, monday, "digest:weekly:2014-10-13"),
        (DigestKind.DAILY, monday + timedelta(days=1), "digest:daily:2014-10-14"),
    ]
    assert all(r.not_before is None for r in world.digests)


async def test_a_digest_hour_inside_quiet_hours_holds_the_digest_until_morning(world: World) -> None:
    world.periodic.digest_hour = 6
    await world.periodic.run(at(d(10, 14), 6, 5))
    (request,) = world.digests
    assert request.not_before == at(d(10, 14), 8)


# -- extensions ------------------------------------------------------------------------------


async def test_approved_extension_moves_the_deadline_over_the_makeup_saturday_and_reminders_follow(
    world: World,
) -> None:
    case_id = await world.file(at(d(9, 26)))
    await world.act(case_id, Action.SIGN, Who.user(Actor.LIAISON, LEAD_A), at(d(9, 26), 11))
    world.clock.set(at(d(9, 30), 9))
    requested = await world.extensions.request(LEAD_B, case_id, 2, "需要调取窗口监控录像")
    assert requested.proposed_due == d(10, 11)  # 10-10, then the make-up Saturday
    assert world.case(case_id).state is CaseState.EXTENSION_REQUESTED
    office = world.outbox()[-1]
    assert office.chat_id == OFFICE_CHAT and office.payload["text_key"] == "extension.office_request"
    assert office.payload["buttons"] == [
        [
            {"label_key": "extension.button_approve", "label_params": {}, "data": f"ext:approve:{case_id}"},
            {"label_key": "extension.button_refuse", "label_params": {}, "data": f"ext:refuse:{case_id}"},
        ]
    ]
    (request_event,) = world.events(case_id, Action.REQUEST_EXTENSION.value)
    assert request_event.visibility is Visibility.INTERNAL

    world.clock.set(at(d(9, 30), 10))
    mark = len(world.store.outbox)
    decided = await world.extensions.approve(OFFICER, case_id)
    assert (decided.old_due, decided.new_due) == (d(10, 9), d(10, 11))
    case = world.case(case_id)
    assert (case.state, case.answer_due, case.extended) == (CaseState.SIGNED, d(10, 11), True)
    told = {(m.payload["text_key"], m.chat_id): m.payload["text_params"] for m in world.outbox()[mark:]}
    assert told[("notify.citizen.extended", CITIZEN)]["answer_due_date"] == "2014-10-11"  # type: ignore[index]
    assert ("extension.unit_approved", LEAD_A) in told and ("extension.unit_approved", LEAD_B) in told
    (approval,) = world.events(case_id, Action.APPROVE_EXTENSION.value)
    assert approval.visibility is Visibility.PUBLIC
    assert [a.action for a in world.store.audit] == ["extension.approve"]

    queued = await walk(world, d(10, 1), d(10, 14))
    leads = {LEAD_A, LEAD_B}
    # nothing on the old dates (10-08, 10-09); blue on Friday, yellow on the make-up Saturday
    assert set(queued) == {d(10, 10), d(10, 11), d(10, 13)}
    assert kinds(queued[d(10, 10)]) == {("reminder.blue", u) for u in leads}
    assert kinds(queued[d(10, 11)]) == {("reminder.yellow", u) for u in leads}
    assert ("supervision.office_copy", OFFICE_CHAT) in kinds(queued[d(10, 13)])


async def test_refused_extension_keeps_the_deadline_and_uses_up_the_one_request(world: World) -> None:
    case_id = await world.file(at(d(9, 26)))
    await world.act(case_id, Action.SIGN, Who.user(Actor.LIAISON, LEAD_A), at(d(9, 26), 11))
    world.clock.set(at(d(9, 30), 9))
    await world.extensions.request(LEAD_A, case_id, 3, "材料复杂")
    mark = len(world.store.outbox)
    decided = await world.extensions.refuse(OFFICER, case_id, "案情简单，按期答复")
    assert decided.new_due == decided.old_due == d(10, 9)
    case = world.case(case_id)
    assert (case.state, case.answer_due, case.extended) == (CaseState.SIGNED, d(10, 9), False)
    told = world.keys_since(mark)
    assert set(told) == {("extension.unit_refused", LEAD_A), ("extension.unit_refused", LEAD_B)}
    assert all(chat != CITIZEN for _, chat in told)  # the deliberation stays internal
    (refusal,) = world.events(case_id, Action.REFUSE_EXTENSION.value)
    assert refusal.visibility is Visibility.INTERNAL and refusal.text == "案情简单，按期答复"

    with pytest.raises(ExtensionAlreadyUsed):
        await world.extensions.request(LEAD_A, case_id, 1, "再申请一次")


async def test_extension_requests_are_checked(world: World) -> None:
    case_id = await world.file(at(d(9, 26)))
    world.clock.set(at(d(9, 26), 12))
    with pytest.raises(InvalidTransition):  # not signed for yet
        await world.extensions.request(LEAD_A, case_id, 2, "理由")
    await world.act(case_id, Action.SIGN, Who.user(Actor.LIAISON, LEAD_A), at(d(9, 26), 13))
    with pytest.raises(NotFound):  # an assisting unit's liaison
        await world.extensions.request(ASSIST, case_id, 2, "理由")
    with pytest.raises(NotFound):  # not a liaison at all
        await world.extensions.request(CITIZEN, case_id, 2, "理由")
    with pytest.raises(NotFound):  # no such case
        await world.extensions.request(LEAD_A, case_id + 99, 2, "理由")
    for days in (0, 6):  # procedure allows up to 5 working days
        with pytest.raises(ExtensionDays) as err:
            await world.extensions.request(LEAD_A, case_id, days, "理由")
        assert err.value.params["limit"] == 5
    world.clock.set(at(d(10, 10), 9))  # the due day (10-09) is over
    with pytest.raises(ExtensionTooLate):
        await world.extensions.request(LEAD_A, case_id, 2, "理由")
    world.clock.set(at(d(10, 9), 17))  # on the due day itself it is still in time
    await world.extensions.request(LEAD_A, case_id, 2, "理由")
    await world.extensions.approve(OFFICER, case_id)
    with pytest.raises(InvalidTransition):  # a stale approve button
        await world.extensions.approve(OFFICER, case_id)
    assert world.case(case_id).state is CaseState.SIGNED


# -- phase reminders -------------------------------------------------------------------------


async def test_units_that_have_not_filed_the_self_inspection_report_are_reminded(world: World) -> None:
    async with world.uow() as uow:
        # supervision_bureau has filed; discipline_commission has not; organs_work_committee's
        # liaison reads English
        await uow.reports.add(
            UnitReport(
                unit_id="supervision_bureau",
                kind=ReportKind.SELF_INSPECTION,
                phase_id="self_inspection",
                submitted_at=at(d(8, 5)),
                status=ReportStatus.SUBMITTED,
            )
        )
        await uow.users.set_language(ASSIST, "en")
        await uow.commit()

    queued = await walk(world, d(8, 1), d(8, 12))
    # due Sunday 08-10, so in effect Monday 08-11 (the report service counts it so too):
    # 3 working days before is Wednesday 08-06, 1 is Friday 08-08; the due day is after the
    # phase's last day and still reminded
    assert set(queued) == {d(8, 6), d(8, 8), d(8, 11)}
    for day, key in (
        (d(8, 6), "reminder.report_due"),
        (d(8, 8), "reminder.report_due"),
        (d(8, 11), "reminder.report_due_today"),
    ):
        assert kinds(queued[day]) == {(key, LEAD_A), (key, ASSIST)}
    params = {
        m.chat_id: m.payload["text_params"]
        for m in world.outbox()
        if m.payload["text_key"] == "reminder.report_due" and m.created_at.date() == d(8, 6)
    }
    assert params[LEAD_A] == {
        "deliverable": "自查自纠总结报告",
        "phase": "自查自纠",
        "due_date": "2014-08-11",
        "days_left": 3,
    }
    assert params[ASSIST]["deliverable"] == "Self-inspection summary report"  # type: ignore[index]


async def test_a_report_sent_back_by_the_office_does_not_count_as_filed(world: World) -> None:
    async with world.uow() as uow:
        await uow.reports.add(
            UnitReport(
                unit_id="discipline_commission",
                kind=ReportKind.SELF_INSPECTION,
                phase_id="self_inspection",
                submitted_at=at(d(8, 5)),
                status=ReportStatus.RETURNED,
            )
        )
        await uow.commit()
    summary = await world.periodic.run(at(d(8, 8)))
    reminded = {m.chat_id for m in world.outbox() if m.payload["text_key"] == "reminder.report_due"}
    assert LEAD_A in reminded and summary.phase_reminders == 3  # every unit with a liaison


async def test_the_phase_job_is_called_with_the_quiet_hours_hold(world: World) -> None:
    calls: list[tuple[datetime, datetime | None]] = []

    async def phase_job(now: datetime, not_before: datetime | None) -> int:
        calls.append((now, not_before))
        return 4

    world.periodic.phase_job = phase_job
    summary = await world.periodic.run(at(d(8, 1), 6))
    assert calls == [(at(d(8, 1), 6), at(d(8, 1), 8))]
    assert (summary.phases_announced, summary.notices) == (4, 4)


# -- the summary ------------------------------------------------------------------------------


def test_summary_prints_every_count() -> None:
    summary = PassSummary(blue=2, supervision=1, notices=5)
    assert str(summary) == (
        "blue=2 yellow=0 supervision=1 escalated=0 leaders_told=0 follow_up_closed=0 phases_announced=0 "
        "phase_reminders=0 rectification_reminders=0 measure_reminders=0 digests=0 notices=5 errors=0"
    )
    assert summary.total == 3
    assert str(PassSummary(ran=False)).startswith("skipped")


async def test_one_failing_case_does_not_stop_the_others(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = await world.file(at(d(9, 26)))
    second = await world.file(at(d(9, 26), 11))
    for cid in (first, second):
        await world.act(cid, Action.SIGN, Who.user(Actor.LIAISON, LEAD_A), at(d(9, 26), 12))
    original = FakeCaseRepository.get_many

    async def broken_for_first(
        self: FakeCaseRepository, case_ids: Sequence[int], *, for_update: bool = False
    ) -> list[Case]:
        # the pass reads due cases in batches: the batch with the bad row fails, and the pass
        # goes case by case through that batch
        if first in case_ids and for_update:
            raise RuntimeError("database hiccup on one row")
        return await original(self, case_ids, for_update=for_update)

    monkeypatch.setattr(FakeCaseRepository, "get_many", broken_for_first)
    summary = await world.periodic.run(at(d(10, 10)))
    assert summary.errors == 1 and summary.supervision == 1
    assert world.events(second, SUPERVISION_EVENT) and not world.events(first, SUPERVISION_EVENT)

    monkeypatch.undo()  # the row is fine again: the next pass catches up on it
    retry = await world.periodic.run(at(d(10, 10), 10, 1))
    assert (retry.errors, retry.supervision) == (0, 1)


async def test_due_cases_are_handled_in_batches_and_every_one_is_reminded(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 25 cases signed on Friday 09-26, all overdue on 10-10: each owes a supervision notice
    world.complaints.daily_limit = 100
    ids = [await world.file(at(d(9, 26), 9, minute)) for minute in range(25)]
    for cid in ids:
        await world.act(cid, Action.SIGN, Who.user(Actor.LIAISON, LEAD_A), at(d(9, 26), 12))
    world.periodic.batch_size = 10
    batches: list[int] = []
    original = FakeCaseRepository.get_many

    async def counting(
        self: FakeCaseRepository, case_ids: Sequence[int], *, for_update: bool = False
    ) -> list[Case]:
        batches.append(len(case_ids))
        return await original(self, case_ids, for_update=for_update)

    monkeypatch.setattr(FakeCaseRepository, "get_many", counting)
    summary = await world.periodic.run(at(d(10, 10)))

    assert batches == [10, 10, 5]  # three transactions, not 25
    assert (summary.supervision, summary.errors) == (25, 0)
    assert all(world.events(cid, SUPERVISION_EVENT) for cid in ids)
    # a second pass the same day finds everything done
    again = await world.periodic.run(at(d(10, 10), 10, 30))
    assert again.supervision == 0


async def test_rectification_deadlines_are_reminded_on_working_days_until_each_step_is_in(
    world: World,
) -> None:
    async with world.uow() as uow:
        open_rec = await uow.reports.add_recommendation(
            Recommendation("discipline_commission", "窗口态度差", at(d(10, 8)), d(10, 14), d(10, 31))
        )
        await uow.reports.add_recommendation(
            Recommendation("supervision_bureau", "已验收", at(d(10, 8)), d(10, 14), d(10, 31),
                           status=RecommendationStatus.ACCEPTED)
        )  # fmt: skip
        await uow.commit()
    # plan due Tuesday 10-14: three working days before is Friday 10-10, because Saturday 10-11
    # was a make-up working day after the National Day holiday; one before is Monday 10-13
    queued = await walk(world, d(10, 8), d(10, 14))
    assert queued == {
        d(10, 10): [("reminder.rectification_plan_due", LEAD_A)],
        d(10, 13): [("reminder.rectification_plan_due", LEAD_A)],
        d(10, 14): [("reminder.rectification_plan_due_today", LEAD_A)],
    }
    reminder = next(m for m in world.outbox() if m.payload["text_key"] == "reminder.rectification_plan_due")
    assert reminder.payload["text_params"] == {"recommendation_id": open_rec.id, "due_date": "2014-10-14",
                                               "days_left": 3}  # fmt: skip
    assert reminder.payload["buttons"][0][0]["data"] == f"rc:open:{open_rec.id}"  # type: ignore[index]
    # the plan is in: from now on the report's deadline (Friday 10-31) is reminded
    async with world.uow() as uow:
        rec = await uow.reports.get_recommendation(open_rec.id or 0)
        assert rec is not None
        rec.status = RecommendationStatus.PLAN_SUBMITTED
        await uow.reports.update_recommendation(rec)
        await uow.commit()
    queued = await walk(world, d(10, 15), d(11, 3))
    assert queued == {
        d(10, 28): [("reminder.rectification_report_due", LEAD_A)],
        d(10, 30): [("reminder.rectification_report_due", LEAD_A)],
        d(10, 31): [("reminder.rectification_report_due_today", LEAD_A)],
    }
