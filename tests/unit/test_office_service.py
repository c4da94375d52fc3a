"""The office (SPEC §3, §6, §10): the triage queue, routing that never hands a complaint to the
unit complained about, reclassifying, rejecting with a reason the citizen sees, outcomes,
supervision notices, spot checks of closed cases, broadcasts, office members, findings and
undelivered messages; every action in the audit trail, and nobody but the office doing any of
it. Over the in-memory fakes and a fixed clock.

The conduct area is led by 区直机关工委 alone (党风廉政室 and 行政效能监察室 assist); the
procedure area by 区纪委 and 区监察局."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.i18n import Catalogue
from core.calendar import ChineseCalendarSource, WorkingDays
from core.cases import Case, Measure, Outcome, Satisfaction, Source, Visibility
from core.clock import FixedClock
from core.deadlines import DeadlineRules
from core.directory import UnitRecord
from core.errors import DomainError, InvalidTransition, PermissionDenied, ValidationFailed
from core.outbox import OutboxMessage, OutboxState
from core.plan import Plan
from core.services.complaints import ComplaintDraft, ComplaintService
from core.services.extensions import ExtensionService
from core.services.follow_up import FollowUpService
from core.services.liaison import LiaisonService
from core.services.office import (
    AreaUnchanged,
    BadSource,
    ConfigAdmin,
    MeasureWithoutSubstance,
    NoLeadUnit,
    NotAMember,
    NotSupervisable,
    OfficeService,
    QueueKind,
    TargetCannotLead,
    UnknownArea,
    UnknownUnit,
)
from core.states import Actor, CaseState
from tests.fakes import FakeStore, FakeUnitOfWork, fake_uow_factory

SH = ZoneInfo("Asia/Shanghai")
MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=SH)  # a working day
OFFICE_CHAT = -100_777
OFFICE = 900_001  # an office admin from config
CITIZEN = 500_001
ANONYMOUS_CITIZEN = 500_002
PHONE = "+8613812345678"
LEAD = 800_001  # 区直机关工委 (conduct's lead)
ASSIST = 800_010  # 党风廉政室 (conduct assists)
DISCIPLINE = 800_030  # 区纪委 (procedure's lead)
SUPERVISION = 800_040  # 区监察局 (procedure's lead)
STRANGER = 800_020  # 区发改局
NOBODY = 800_099
LEAD_UNIT = "organs_work_committee"
ASSIST_UNIT = "conduct_integrity_office"
OTHER_UNIT = "development_reform"
DISCIPLINE_UNIT = "discipline_commission"
SUPERVISION_UNIT = "supervision_bureau"
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
        "anonymous": False,
        "phone": PHONE,
    }
    values.update(changes)
    return ComplaintDraft(**values)  # type: ignore[arg-type]


class World:
    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.store = FakeStore()
        self.clock = FixedClock(MONDAY, SH)
        uow = fake_uow_factory(self.store)
        self.rules = DeadlineRules(WorkingDays(ChineseCalendarSource()), SH)
        admins = frozenset({OFFICE})
        common = {"uow": uow, "plan": plan, "clock": self.clock, "deadlines": self.rules}
        self.complaints = ComplaintService(**common, daily_limit=50, office_chat_id=OFFICE_CHAT)  # type: ignore[arg-type]
        self.office = OfficeService(**common, admin_ids=admins, office_chat_id=OFFICE_CHAT)  # type: ignore[arg-type]
        self.extensions = ExtensionService(**common, office_chat_id=OFFICE_CHAT)  # type: ignore[arg-type]
        self.follow_up = FollowUpService(**common, admin_ids=admins, office_chat_id=OFFICE_CHAT)  # type: ignore[arg-type]
        self.liaison = LiaisonService(
            uow=uow, clock=self.clock, deadlines=self.rules, office_chat_id=OFFICE_CHAT, admin_ids=admins
        )

    async def setup(self) -> World:
        async with FakeUnitOfWork(self.store) as uow:
            await uow.units.sync([UnitRecord(u.id, u.name, u.kind) for u in self.plan.units])
            now = self.clock.now()
            for user_id, unit_id in (
                (LEAD, LEAD_UNIT),
                (ASSIST, ASSIST_UNIT),
                (DISCIPLINE, DISCIPLINE_UNIT),
                (SUPERVISION, SUPERVISION_UNIT),
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

    async def answered(self, **changes: object) -> int:
        """A conduct case signed for and answered by its lead unit."""
        case_id = await self.file(CITIZEN, **changes)
        await self.liaison.sign(LEAD, case_id)
        await self.liaison.reply(LEAD, case_id, REPLY)
        return case_id

    async def closed(self, **changes: object) -> int:
        case_id = await self.answered(**changes)
        await self.follow_up.rate(CITIZEN, case_id, Satisfaction.SATISFIED)
        return case_id

    def case(self, case_id: int) -> Case:
        return self.store.cases[case_id]

    def outbox(self) -> list[OutboxMessage]:
        return sorted(self.store.outbox.values(), key=lambda m: m.id or 0)

    def outbox_to(self, chat_id: int) -> list[OutboxMessage]:
        return [m for m in self.outbox() if m.chat_id == chat_id]

    def keys_to(self, chat_id: int) -> list[object]:
        return [m.payload["text_key"] for m in self.outbox_to(chat_id)]

    def audit(self, action: str) -> list[tuple[int, str, dict[str, object]]]:
        return [(e.actor_id, e.target, e.details) for e in self.store.audit if e.action == action]


@pytest.fixture
async def world(plan: Plan) -> World:
    return await World(plan).setup()


def params(message: OutboxMessage) -> dict[str, object]:
    value = message.payload["text_params"]
    assert isinstance(value, dict)
    return value


# --- the triage queue ----------------------------------------------------------------------------


async def test_the_queue_holds_not_sure_returned_extension_and_reopen_cases_oldest_first(
    world: World,
) -> None:
    not_sure = await world.file(area=None, area_auto="procedure", confidence=0.3)
    world.clock.advance(timedelta(minutes=5))
    returned = await world.file()
    await world.liaison.return_case(LEAD, returned, "该窗口不归本单位管理。")
    world.clock.advance(timedelta(minutes=5))
    extension = await world.file()
    await world.liaison.sign(LEAD, extension)
    await world.extensions.request(LEAD, extension, 3, "需要调取监控录像。")
    world.clock.advance(timedelta(minutes=5))
    reopen = await world.answered()
    await world.follow_up.rate(CITIZEN, reopen, Satisfaction.UNSATISFIED)
    await world.follow_up.request_reopen(CITIZEN, reopen)
    await world.closed()  # a closed case is nobody's work
    await world.file()  # nor is one its unit is handling

    queue = await world.office.triage_queue(OFFICE)

    assert [(i.kind, i.case.id) for i in queue.items] == [
        (QueueKind.TRIAGE, not_sure),
        (QueueKind.RETURNED, returned),
        (QueueKind.EXTENSION, extension),
        (QueueKind.REOPEN, reopen),
    ]
    triage, back, ext, _ = queue.items
    assert (triage.suggested_area, triage.reason_key) == ("procedure", "triage.reason.not_sure")
    assert (back.reason, back.units) == ("该窗口不归本单位管理。", (LEAD_UNIT,))
    assert (ext.days, ext.reason, ext.units) == (3, "需要调取监控录像。", (LEAD_UNIT,))


async def test_a_decided_reopen_request_leaves_the_queue(world: World) -> None:
    case_id = await world.answered()
    await world.follow_up.rate(CITIZEN, case_id, Satisfaction.UNSATISFIED)
    await world.follow_up.request_reopen(CITIZEN, case_id)
    await world.follow_up.reopen_decision(OFFICE, case_id, approve=False)

    assert (await world.office.triage_queue(OFFICE)).items == ()


# --- routing ---------------------------------------------------------------------------------------


async def test_routing_a_not_sure_case_sends_it_to_the_areas_leads_and_tells_the_citizen(
    world: World,
) -> None:
    case_id = await world.file(area=None, area_auto="conduct", confidence=0.3)
    assert world.case(case_id).state is CaseState.TRIAGE
    world.clock.advance(timedelta(hours=2))

    routed = await world.office.route(OFFICE, case_id)

    case = world.case(case_id)
    expected = world.rules.for_assignment(world.clock.now(), sign_for=1, answer=5)
    assert (routed.area_id, routed.lead_unit_ids) == ("conduct", (LEAD_UNIT,))
    assert case.state is CaseState.ASSIGNED
    assert (case.area_final, case.area_auto) == ("conduct", "conduct")
    assert (case.sign_due, case.answer_due) == (expected.sign_due, expected.answer_due)
    assert case.assigned_at == world.clock.now()
    assert world.keys_to(LEAD) == ["notify.unit.new_case"]
    assert world.keys_to(ASSIST) == ["notify.unit.copied"]
    [told] = world.outbox_to(CITIZEN)
    assert told.payload["text_key"] == "notify.citizen.routed"
    assert params(told)["lead_units"] == [LEAD_UNIT]
    assert params(told)["answer_due_date"] == expected.answer_due.isoformat()
    route = [e for e in world.store.events if e.case_id == case_id][-1]
    assert (route.kind, route.actor, route.actor_ref) == ("route", Actor.OFFICE, str(OFFICE))
    assert world.audit("case.route") == [
        (
            OFFICE,
            case.tracking_no,
            {
                "area": "conduct",
                "lead": [LEAD_UNIT],
                "assist": list(routed.assist_unit_ids),
                "previous_area": None,
            },
        )
    ]


async def test_a_case_against_the_only_lead_unit_needs_the_office_to_name_another(world: World) -> None:
    case_id = await world.file(target_unit_id=LEAD_UNIT)
    assert world.case(case_id).state is CaseState.TRIAGE

    with pytest.raises(NoLeadUnit):
        await world.office.route(OFFICE, case_id)
    with pytest.raises(TargetCannotLead):
        await world.office.route(OFFICE, case_id, lead_unit_ids=[LEAD_UNIT])
    assert world.case(case_id).state is CaseState.TRIAGE

    routed = await world.office.route(OFFICE, case_id, lead_unit_ids=[ASSIST_UNIT])

    assert routed.lead_unit_ids == (ASSIST_UNIT,)
    assert LEAD_UNIT not in routed.assist_unit_ids and ASSIST_UNIT not in routed.assist_unit_ids
    assert world.keys_to(LEAD) == []  # the unit complained about hears nothing of it


async def test_routing_to_an_area_leaves_out_the_unit_complained_about(world: World) -> None:
    case_id = await world.file(area=None, target_unit_id=DISCIPLINE_UNIT)

    routed = await world.office.route(OFFICE, case_id, "procedure")

    assert routed.lead_unit_ids == (SUPERVISION_UNIT,)
    assert DISCIPLINE_UNIT not in world.case(case_id).lead_unit_ids + world.case(case_id).assist_unit_ids
    assert world.keys_to(DISCIPLINE) == []
    assert world.case(case_id).area_final == "procedure"


async def test_a_returned_case_is_rerouted_with_fresh_deadlines_but_not_back_to_who_returned_it(
    world: World,
) -> None:
    case_id = await world.file(area="procedure")
    assert set(world.case(case_id).lead_unit_ids) == {DISCIPLINE_UNIT, SUPERVISION_UNIT}
    await world.liaison.return_case(DISCIPLINE, case_id, "应由监察局单独办理。")
    world.clock.advance(timedelta(days=3))

    routed = await world.office.route(OFFICE, case_id)

    case = world.case(case_id)
    expected = world.rules.for_assignment(world.clock.now(), sign_for=1, answer=5)
    assert routed.lead_unit_ids == (SUPERVISION_UNIT,)
    assert (case.state, case.answer_due) == (CaseState.ASSIGNED, expected.answer_due)
    # the lead unit gets the card again for the new routing (not swallowed as a duplicate)
    assert world.keys_to(SUPERVISION) == ["notify.unit.new_case", "notify.unit.new_case"]
    # the office may still send it back to them by name
    await world.liaison.return_case(SUPERVISION, case_id, "仍不属本单位。")
    again = await world.office.route(OFFICE, case_id, lead_unit_ids=[DISCIPLINE_UNIT])
    assert again.lead_unit_ids == (DISCIPLINE_UNIT,)


async def test_reassigning_a_case_a_unit_holds_moves_it_with_fresh_deadlines(world: World) -> None:
    case_id = await world.file()
    world.clock.advance(timedelta(days=2))

    routed = await world.office.route(OFFICE, case_id, "procedure")

    case = world.case(case_id)
    assert case.state is CaseState.ASSIGNED
    assert LEAD_UNIT not in case.lead_unit_ids and case.lead_unit_ids == list(routed.lead_unit_ids)
    assert case.assigned_at == world.clock.now()


async def test_routing_an_answered_case_or_unknown_things_is_refused(world: World) -> None:
    case_id = await world.file()
    world.store.cases[case_id].state = CaseState.ANSWERED

    with pytest.raises(InvalidTransition):
        await world.office.route(OFFICE, case_id, "procedure")
    with pytest.raises(UnknownArea):
        await world.office.route(OFFICE, await world.file(area=None, area_auto=None), None)
    with pytest.raises(UnknownUnit):
        await world.office.route(OFFICE, await world.file(area=None), "conduct", ["no_such_unit"])


async def test_reclassifying_keeps_the_classifiers_guess_and_records_it_internally(world: World) -> None:
    case_id = await world.file(area="conduct", area_auto="conduct")

    case = await world.office.reclassify(OFFICE, case_id, "procedure")

    assert (case.area_final, case.area_auto) == ("procedure", "conduct")
    assert world.case(case_id).lead_unit_ids == [LEAD_UNIT]  # the handling units stay
    event = [e for e in world.store.events if e.case_id == case_id][-1]
    assert (event.kind, event.visibility, event.data["from"], event.data["to"]) == (
        "reclassify",
        Visibility.INTERNAL,
        "conduct",
        "procedure",
    )
    assert world.audit("case.reclassify") == [
        (OFFICE, case.tracking_no, {"from": "conduct", "to": "procedure"})
    ]
    with pytest.raises(AreaUnchanged):
        await world.office.reclassify(OFFICE, case_id, "procedure")


# --- rejecting, closing, typical -----------------------------------------------------------------


async def test_a_rejection_ends_the_case_and_the_citizen_reads_the_reason(world: World) -> None:
    case_id = await world.file(area=None)

    case = await world.office.reject(OFFICE, case_id, "  属于民事纠纷，请向人民法院起诉。\x00 ")

    assert case.state is CaseState.REJECTED and world.case(case_id).state is CaseState.REJECTED
    [told] = world.outbox_to(CITIZEN)
    assert told.payload["text_key"] == "notify.citizen.rejected"
    assert params(told)["reason"] == "属于民事纠纷，请向人民法院起诉。"
    event = [e for e in world.store.events if e.case_id == case_id][-1]
    assert (event.kind, event.visibility, event.text) == (
        "reject",
        Visibility.PUBLIC,
        "属于民事纠纷，请向人民法院起诉。",
    )
    assert world.audit("case.reject") == [
        (OFFICE, case.tracking_no, {"reason": "属于民事纠纷，请向人民法院起诉。"})
    ]


async def test_a_rejection_needs_a_reason_and_a_case_not_yet_with_its_units(world: World) -> None:
    with pytest.raises(ValidationFailed):
        await world.office.reject(OFFICE, await world.file(area=None), " \n ")
    with pytest.raises(InvalidTransition):
        await world.office.reject(OFFICE, await world.file(), "不属于受理范围。")
    assert world.outbox_to(CITIZEN) == []


async def test_closing_an_answered_case_records_the_outcome_and_tells_the_citizen(world: World) -> None:
    case_id = await world.answered()

    case = await world.office.close_with_outcome(
        OFFICE, case_id, Outcome.SUBSTANTIATED, Measure.ADMONITION, typical=True
    )

    stored = world.case(case_id)
    assert (stored.state, stored.outcome, stored.measure, stored.typical) == (
        CaseState.CLOSED,
        Outcome.SUBSTANTIATED,
        Measure.ADMONITION,
        True,
    )
    assert stored.closed_at == world.clock.now()
    assert world.keys_to(CITIZEN)[-1] == "notify.citizen.closed"
    [(who, target, details)] = world.audit("case.outcome")
    assert (who, target, details["closed"], details["measure"]) == (
        OFFICE,
        case.tracking_no,
        True,
        "admonition",
    )


async def test_an_outcome_on_a_closed_case_is_recorded_without_closing_it_again(world: World) -> None:
    case_id = await world.closed()
    told = len(world.outbox_to(CITIZEN))

    await world.office.close_with_outcome(OFFICE, case_id, Outcome.NOT_SUBSTANTIATED, Measure.NONE)

    assert world.case(case_id).state is CaseState.CLOSED
    assert world.case(case_id).outcome is Outcome.NOT_SUBSTANTIATED
    assert len(world.outbox_to(CITIZEN)) == told
    assert [e.kind for e in world.store.events if e.case_id == case_id][-1] == "outcome"


async def test_outcomes_are_for_answered_cases_and_unsubstantiated_ones_take_no_measure(world: World) -> None:
    with pytest.raises(MeasureWithoutSubstance):
        await world.office.close_with_outcome(
            OFFICE, await world.answered(), Outcome.NOT_SUBSTANTIATED, Measure.DISCIPLINARY
        )
    with pytest.raises(InvalidTransition):
        await world.office.close_with_outcome(
            OFFICE, await world.file(), Outcome.SUBSTANTIATED, Measure.CRITICISM
        )


async def test_marking_a_typical_case_is_recorded_and_can_be_undone(world: World) -> None:
    case_id = await world.closed()

    await world.office.mark_typical(OFFICE, case_id)
    assert world.case(case_id).typical is True
    await world.office.mark_typical(OFFICE, case_id, False)

    assert world.case(case_id).typical is False
    assert [d["typical"] for _, _, d in world.audit("case.typical")] == [True, False]
    assert [e.kind for e in world.store.events if e.case_id == case_id][-2:] == ["typical", "typical"]


# --- supervision, reopening, spot checks -----------------------------------------------------------


async def test_a_supervision_notice_reaches_the_lead_units_and_the_office_gets_a_copy(world: World) -> None:
    case_id = await world.file()

    await world.office.supervise(OFFICE, case_id, "请于明天下班前签收并报告调查进展。")

    [notice] = world.outbox_to(LEAD)[1:]
    assert notice.payload["text_key"] == "office.supervision_notice"
    assert params(notice)["text"] == "请于明天下班前签收并报告调查进展。"
    assert world.keys_to(ASSIST)[1:] == []  # assisting units are not supervised
    assert world.keys_to(OFFICE_CHAT)[-1] == "office.supervision_copy"
    event = [e for e in world.store.events if e.case_id == case_id][-1]
    assert (event.kind, event.visibility, event.data["manual"]) == ("supervision", Visibility.INTERNAL, True)
    assert world.keys_to(CITIZEN) == []  # internal: the citizen is not told
    assert len(world.audit("case.supervise")) == 1


async def test_an_answered_case_cannot_be_supervised(world: World) -> None:
    with pytest.raises(NotSupervisable):
        await world.office.supervise(OFFICE, await world.answered(), "加快办理。")


async def test_a_spot_check_picks_only_closed_cases(world: World) -> None:
    closed = {await world.closed() for _ in range(3)}
    await world.answered()
    await world.file()
    await world.file(area=None)

    check = await world.office.spot_check(OFFICE, 10)

    assert {c.id for c in check.cases} == closed
    [(who, _, details)] = world.audit("spot_check")
    assert who == OFFICE
    sampled = details["cases"]
    assert isinstance(sampled, list) and set(sampled) == {world.case(i).tracking_no for i in closed}
    for case_id in closed:
        assert [e.kind for e in world.store.events if e.case_id == case_id][-1] == "spot_check"


async def test_a_spot_check_samples_n_cases_closed_in_the_period(world: World) -> None:
    early = {await world.closed() for _ in range(2)}
    world.clock.advance(timedelta(days=10))
    late = {await world.closed() for _ in range(4)}

    check = await world.office.spot_check(OFFICE, 2, closed_from=MONDAY + timedelta(days=5))

    assert len(check.cases) == 2
    assert {c.id for c in check.cases} <= late and not {c.id for c in check.cases} & early
    with pytest.raises(ValidationFailed):
        await world.office.spot_check(OFFICE, 0)
    with pytest.raises(ValidationFailed):
        await world.office.spot_check(OFFICE, 21)


async def test_a_spot_checked_case_is_reopened_to_its_lead_unit_with_new_deadlines(world: World) -> None:
    case_id = await world.closed()
    world.clock.advance(timedelta(days=7))

    await world.office.reopen(OFFICE, case_id, "答复未说明对工作人员的处理结果。")

    case = world.case(case_id)
    expected = world.rules.for_assignment(world.clock.now(), sign_for=1, answer=5)
    assert (case.state, case.lead_unit_ids, case.answer_due) == (
        CaseState.ASSIGNED,
        [LEAD_UNIT],
        expected.answer_due,
    )
    assert case.closed_at is None and case.signed_at is None
    assert world.keys_to(LEAD)[-2:] == ["notify.unit.new_case", "office.reopened_unit"]
    assert world.keys_to(CITIZEN)[-1] == "notify.citizen.reopened"
    assert [e.kind for e in world.store.events if e.case_id == case_id][-2:] == ["reopen", "route"]
    assert world.audit("case.reopen")[0][2] == {"reason": "答复未说明对工作人员的处理结果。"}


# --- people ------------------------------------------------------------------------------------------


async def test_a_broadcast_reaches_every_active_liaison(world: World) -> None:
    async with FakeUnitOfWork(world.store) as uow:
        await uow.liaisons.remove(STRANGER, now=world.clock.now())
        await uow.commit()

    sent = await world.office.broadcast(OFFICE, "本周五下午召开联络员会议。")

    reached = {m.chat_id for m in world.outbox() if m.payload["text_key"] == "office.broadcast_message"}
    assert sent.recipients == 4 and reached == {LEAD, ASSIST, DISCIPLINE, SUPERVISION}
    assert world.audit("broadcast") == [
        (OFFICE, "*", {"recipients": 4, "text": "本周五下午召开联络员会议。"})
    ]


async def test_a_broadcast_to_one_unit_reaches_only_its_liaisons(world: World) -> None:
    sent = await world.office.broadcast(OFFICE, "请补报自查报告。", DISCIPLINE_UNIT)

    assert sent.recipients == 1
    assert [m.chat_id for m in world.outbox()] == [DISCIPLINE]
    with pytest.raises(UnknownUnit):
        await world.office.broadcast(OFFICE, "x", "no_such_unit")
    with pytest.raises(ValidationFailed):
        await world.office.broadcast(OFFICE, "   ")


async def test_an_added_member_has_the_office_role_until_removed(world: World) -> None:
    with pytest.raises(PermissionDenied):
        await world.office.triage_queue(NOBODY)

    await world.office.add_member(OFFICE, NOBODY)
    assert (await world.office.triage_queue(NOBODY)).items == ()
    assert {m.user_id for m in (await world.office.members(OFFICE)).added} == {NOBODY}
    await world.office.remove_member(NOBODY, NOBODY)

    with pytest.raises(PermissionDenied):
        await world.office.triage_queue(NOBODY)
    assert world.keys_to(NOBODY) == ["office.notify_member_added", "office.notify_member_removed"]
    assert [(a, t) for a, t, _ in world.audit("office.add_member")] == [(OFFICE, str(NOBODY))]
    assert [(a, t) for a, t, _ in world.audit("office.remove_member")] == [(NOBODY, str(NOBODY))]


async def test_members_from_the_configuration_are_not_removed_here(world: World) -> None:
    with pytest.raises(ConfigAdmin):
        await world.office.remove_member(OFFICE, OFFICE)
    with pytest.raises(NotAMember):
        await world.office.remove_member(OFFICE, NOBODY)


# --- findings, the case card, undelivered messages ---------------------------------------------------


async def test_a_finding_becomes_a_case_without_a_citizen_routed_away_from_the_unit(world: World) -> None:
    finding = await world.office.office_finding(
        OFFICE,
        DISCIPLINE_UNIT,
        "procedure",
        "暗访发现窗口要求群众提供法规之外的证明材料。",
        Source.SPECIAL_CHECK,
    )

    case = world.case(finding.case.id or 0)
    assert finding.routed
    assert (case.source, case.citizen_id, case.target_unit_id) == (
        Source.SPECIAL_CHECK,
        None,
        DISCIPLINE_UNIT,
    )
    assert (case.state, case.lead_unit_ids) == (CaseState.ASSIGNED, [SUPERVISION_UNIT])
    assert world.keys_to(SUPERVISION) == ["notify.unit.new_case"] and world.keys_to(DISCIPLINE) == []
    assert world.audit("case.finding") == [
        (OFFICE, case.tracking_no, {"source": "special_check", "unit": DISCIPLINE_UNIT, "area": "procedure"})
    ]


async def test_a_finding_against_the_only_lead_waits_for_the_office_to_name_one(world: World) -> None:
    finding = await world.office.office_finding(
        OFFICE, LEAD_UNIT, "conduct", "明察暗访发现工作人员上班时间玩手机。"
    )

    assert not finding.routed and world.case(finding.case.id or 0).state is CaseState.TRIAGE
    assert [i.case.id for i in (await world.office.triage_queue(OFFICE)).items] == [finding.case.id]
    with pytest.raises(BadSource):
        await world.office.office_finding(OFFICE, LEAD_UNIT, "conduct", "明察暗访发现问题。", Source.CITIZEN)


async def test_the_office_card_names_the_complainant_unless_anonymous_and_is_audited(world: World) -> None:
    named = await world.file()
    anonymous = await world.file(ANONYMOUS_CITIZEN, anonymous=True, phone=None)

    view = await world.office.view(OFFICE, named)
    hidden = await world.office.view(OFFICE, anonymous)

    assert view.complainant is not None
    assert (view.complainant.user_id, view.complainant.phone) == (CITIZEN, PHONE)
    assert hidden.complainant is None
    assert [d for _, _, d in world.audit("case.view")] == [{"identity": True}, {"identity": False}]


async def test_undelivered_messages_are_listed_newest_first(world: World) -> None:
    await world.file()
    async with FakeUnitOfWork(world.store) as uow:
        ids = sorted(world.store.outbox)
        await uow.outbox.mark_dead(ids[0], error="Forbidden: bot was kicked")
        await uow.outbox.mark_blocked(ids[1], error="Forbidden: bot was blocked by the user")
        await uow.commit()

    letters = await world.office.dead_letters(OFFICE)

    assert [(m.id, m.state) for m in letters.messages] == [
        (ids[1], OutboxState.BLOCKED),
        (ids[0], OutboxState.DEAD),
    ]
    assert (letters.counts[OutboxState.DEAD], letters.counts[OutboxState.BLOCKED]) == (1, 1)


# --- nobody but the office -----------------------------------------------------------------------------

OfficeCall = Callable[[OfficeService, int, int], Awaitable[object]]
CALLS: dict[str, OfficeCall] = {
    "triage_queue": lambda s, u, c: s.triage_queue(u),
    "view": lambda s, u, c: s.view(u, c),
    "case": lambda s, u, c: s.case(u, c),
    "evidence": lambda s, u, c: s.evidence(u, c),
    "route": lambda s, u, c: s.route(u, c, "conduct", [ASSIST_UNIT]),
    "reclassify": lambda s, u, c: s.reclassify(u, c, "procedure"),
    "reject": lambda s, u, c: s.reject(u, c, "不属于受理范围。"),
    "close_with_outcome": lambda s, u, c: s.close_with_outcome(u, c, Outcome.SUBSTANTIATED, Measure.NONE),
    "mark_typical": lambda s, u, c: s.mark_typical(u, c),
    "supervise": lambda s, u, c: s.supervise(u, c, "加快办理。"),
    "reopen": lambda s, u, c: s.reopen(u, c, "重新办理。"),
    "spot_check": lambda s, u, c: s.spot_check(u, 3),
    "broadcast": lambda s, u, c: s.broadcast(u, "通知。"),
    "add_member": lambda s, u, c: s.add_member(u, NOBODY),
    "remove_member": lambda s, u, c: s.remove_member(u, NOBODY),
    "members": lambda s, u, c: s.members(u),
    "office_finding": lambda s, u, c: s.office_finding(u, OTHER_UNIT, "conduct", "明察暗访发现的问题描述。"),
    "dead_letters": lambda s, u, c: s.dead_letters(u),
}


@pytest.mark.parametrize("who", [CITIZEN, LEAD, NOBODY], ids=["citizen", "liaison", "nobody"])
@pytest.mark.parametrize("name", sorted(CALLS))
async def test_only_the_office_may_do_any_of_it(world: World, name: str, who: int) -> None:
    case_id = await world.file(area=None)
    before = (len(world.store.events), len(world.store.outbox), len(world.store.audit))

    with pytest.raises(PermissionDenied):
        await CALLS[name](world.office, who, case_id)

    assert (len(world.store.events), len(world.store.outbox), len(world.store.audit)) == before
    assert world.case(case_id).state is CaseState.TRIAGE


def test_every_error_of_the_office_has_its_own_text_in_both_languages(catalogue: Catalogue) -> None:
    errors: list[type[DomainError]] = [
        UnknownArea, UnknownUnit, NoLeadUnit, TargetCannotLead, AreaUnchanged, MeasureWithoutSubstance,
        NotSupervisable, ConfigAdmin, NotAMember, BadSource,
    ]  # fmt: skip
    keys = [e.key for e in errors]

    assert len(set(keys)) == len(keys)
    for lang in ("zh", "en"):
        assert [k for k in keys if not catalogue.has(k, lang)] == []


def test_deadlines_here_are_working_days(world: World) -> None:
    # the fixed Monday: sign-for is due Tuesday, a conduct answer the next Monday
    due = world.rules.for_assignment(MONDAY, sign_for=1, answer=5)
    assert (due.sign_due, due.answer_due) == (date(2026, 11, 24), date(2026, 11, 30))
