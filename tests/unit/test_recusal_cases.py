"""Recusal on real cases (SPEC §3, issue 12): complaints that name the unit complained about only
in free text, only in the description, by an alias, by a child office, or name two candidate
units. None of them routes a task to the unit complained about, tells it, or lets it read the
case; none lets its parent lead; ambiguous ones wait in triage with the candidates shown. The
office can mark the unit by hand after filing: it loses sight at once, and the record says who
had seen what. Over the in-memory fakes, every plan unit with one liaison.

Seed routing: procedure (二) is led by 区纪委 and 区监察局, with 区直机关工委 and 区政务中心
copied; conduct (一) by 区直机关工委 alone, with 党风廉政室 and 行政效能监察室 copied."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from core.calendar import ChineseCalendarSource, WorkingDays
from core.cases import Case, Visibility
from core.clock import FixedClock
from core.deadlines import DeadlineRules
from core.directory import UnitRecord
from core.errors import NotFound
from core.outbox import OutboxState
from core.plan import Plan
from core.services.complaints import ComplaintDraft, ComplaintService
from core.services.liaison import LiaisonService
from core.services.office import AlreadyRecused, NoCandidates, OfficeService, QueueKind, TargetCannotLead
from core.states import CaseState
from tests.fakes import FakeStore, FakeUnitOfWork, fake_uow_factory

SH = ZoneInfo("Asia/Shanghai")
MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=SH)
OFFICE_CHAT = -100_777
OFFICE = 900_001
CITIZEN = 500_001
CENTER = "government_services_center"
DISCIPLINE = "discipline_commission"
SUPERVISION = "supervision_bureau"
EFFICIENCY = "efficiency_supervision_office"
INTEGRITY = "conduct_integrity_office"
ORGANS = "organs_work_committee"


def draft(**changes: object) -> ComplaintDraft:
    values: dict[str, object] = {
        "description": "窗口让我来回跑了五趟，每次都说材料不全",
        "area": "procedure",
        "area_auto": "procedure",
        "confidence": 0.9,
        "target_text": "",
        "place": "一楼大厅",
        "occurred": "上周",
    }
    values.update(changes)
    return ComplaintDraft(**values)  # type: ignore[arg-type]


class World:
    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.store = FakeStore()
        self.clock = FixedClock(MONDAY, SH)
        uow = fake_uow_factory(self.store)
        rules = DeadlineRules(WorkingDays(ChineseCalendarSource()), SH)
        common = {"uow": uow, "plan": plan, "clock": self.clock, "deadlines": rules}
        self.complaints = ComplaintService(**common, daily_limit=50, office_chat_id=OFFICE_CHAT)  # type: ignore[arg-type]
        self.office = OfficeService(**common, admin_ids=frozenset({OFFICE}), office_chat_id=OFFICE_CHAT)  # type: ignore[arg-type]
        self.liaison = LiaisonService(
            uow=uow,
            clock=self.clock,
            deadlines=rules,
            office_chat_id=OFFICE_CHAT,
            admin_ids=frozenset({OFFICE}),
        )
        # one liaison per unit, user id by the unit's place in the plan
        self.liaisons = {unit.id: 800_000 + i for i, unit in enumerate(plan.units)}

    async def setup(self) -> World:
        async with FakeUnitOfWork(self.store) as uow:
            await uow.units.sync([UnitRecord(u.id, u.name, u.kind) for u in self.plan.units])
            for unit_id, user_id in self.liaisons.items():
                await uow.users.upsert(user_id, now=MONDAY, chat_id=user_id)
                await uow.liaisons.add(user_id, unit_id, now=MONDAY)
            await uow.commit()
        return self

    async def file(self, **changes: object) -> Case:
        filed = await self.complaints.file(CITIZEN, draft(**changes))
        assert filed.case.id is not None
        return self.store.cases[filed.case.id]

    def told(self, unit_id: str, case: Case) -> list[str]:
        """What the unit's liaison was sent (or is queued) about the case."""
        chat = self.liaisons[unit_id]
        return [
            str(m.payload["text_key"])
            for m in self.store.outbox.values()
            if m.chat_id == chat
            and m.state is not OutboxState.WITHDRAWN
            and isinstance(p := m.payload.get("text_params"), dict)
            and p.get("tracking_no") == case.tracking_no
        ]

    async def can_read(self, unit_id: str, case: Case) -> bool:
        assert case.id is not None
        try:
            await self.liaison.view(self.liaisons[unit_id], case.id)
        except NotFound:
            return False
        return True

    async def in_inbox(self, unit_id: str, case: Case) -> bool:
        inbox = await self.liaison.inbox(self.liaisons[unit_id])
        return any(e.case.id == case.id for e in (*inbox.lead, *inbox.assist))

    def audit(self, action: str) -> list[dict[str, object]]:
        return [e.details for e in self.store.audit if e.action == action]


@pytest.fixture
async def world(plan: Plan) -> World:
    return await World(plan).setup()


async def assert_kept_out(w: World, unit_id: str, case: Case) -> None:
    assert unit_id not in case.lead_unit_ids
    assert unit_id not in case.assist_unit_ids
    assert w.told(unit_id, case) == []
    assert not await w.can_read(unit_id, case)
    assert not await w.in_inbox(unit_id, case)


# -- found without the citizen's pick ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "label"),
    [
        ({"description": "区政务中心窗口让我来回跑了五趟"}, "only in the description"),
        ({"target_text": "区政务中心"}, "typed, not picked"),
        ({"target_text": "政务中心3号窗口"}, "by an alias"),
        ({"target_text": "政务服务中心的一个女同志"}, "by another alias"),
    ],
)
async def test_the_services_center_never_sees_a_complaint_against_it(
    world: World, changes: dict[str, object], label: str
) -> None:
    case = await world.file(**changes)

    assert case.state is CaseState.ASSIGNED, label
    assert case.lead_unit_ids == [DISCIPLINE, SUPERVISION]
    assert case.assist_unit_ids == [ORGANS]  # 区政务中心 would be copied on procedure cases
    assert case.target_unit_id == CENTER
    await assert_kept_out(world, CENTER, case)
    # the independent units got their cards as usual
    assert world.told(DISCIPLINE, case) == ["notify.unit.new_case"]
    assert world.told(ORGANS, case) == ["notify.unit.copied"]


async def test_a_child_office_is_kept_out_and_its_parent_does_not_lead(world: World) -> None:
    case = await world.file(target_text="区纪委行政效能监察室")

    assert case.lead_unit_ids == [SUPERVISION]  # 区纪委 answers for its office: not the lead
    assert DISCIPLINE not in case.lead_unit_ids
    await assert_kept_out(world, EFFICIENCY, case)
    assert world.told(DISCIPLINE, case) == []


async def test_a_child_office_on_an_area_where_it_assists_is_not_copied(world: World) -> None:
    case = await world.file(area="conduct", description="行政效能室的人上班玩手机，办事拖拉")

    assert case.lead_unit_ids == [ORGANS]
    assert case.assist_unit_ids == [INTEGRITY]
    await assert_kept_out(world, EFFICIENCY, case)


async def test_a_parent_complained_about_keeps_its_offices_out_too(world: World) -> None:
    case = await world.file(area="conduct", target_text="区纪委")

    assert case.lead_unit_ids == [ORGANS]
    assert case.assist_unit_ids == []
    for unit_id in (DISCIPLINE, INTEGRITY, EFFICIENCY):
        await assert_kept_out(world, unit_id, case)


async def test_when_every_lead_is_recused_the_office_decides(world: World) -> None:
    # 作风: 区直机关工委 leads alone; a complaint about it, by its short name in the description
    case = await world.file(area="conduct", description="机关工委的人态度很差，材料齐全还推诿")

    assert case.state is CaseState.TRIAGE
    assert case.lead_unit_ids == case.assist_unit_ids == []
    await assert_kept_out(world, ORGANS, case)
    [item] = (await world.office.triage_queue(OFFICE)).items
    assert item.reason_key == "triage.reason.target_is_lead"


async def test_every_recusal_and_its_reason_is_on_the_history_and_the_audit_trail(world: World) -> None:
    case = await world.file(target_text="区纪委行政效能监察室")
    assert case.id is not None

    recusals = [e for e in world.store.events if e.case_id == case.id and e.kind == "recusal"]
    assert {(e.data["unit"], e.data["scope"], e.data["reason"]) for e in recusals} == {
        (EFFICIENCY, "full", "named"),
        (DISCIPLINE, "lead", "parent"),
    }
    assert all(e.visibility is Visibility.INTERNAL for e in recusals)  # the citizen is not told
    assert {(d["unit"], d["reason"]) for d in world.audit("case.recusal")} == {
        (EFFICIENCY, "named"),
        (DISCIPLINE, "parent"),
    }


# -- several candidates: the office decides ---------------------------------------------------------


async def test_two_candidate_units_wait_in_triage_and_neither_sees_the_case(world: World) -> None:
    case = await world.file(description="区政务中心让我去区财政局，区财政局又让我回区政务中心")

    assert case.state is CaseState.TRIAGE
    assert case.lead_unit_ids == case.assist_unit_ids == []
    for unit_id in (CENTER, "finance_bureau", DISCIPLINE, SUPERVISION):
        await assert_kept_out(world, unit_id, case)
    [item] = (await world.office.triage_queue(OFFICE)).items
    assert item.kind is QueueKind.TRIAGE
    assert item.reason_key == "triage.reason.target_unclear"
    assert set(item.candidates) == {CENTER, "finance_bureau"}
    assert case.id is not None
    assert set((await world.office.view(OFFICE, case.id)).candidates) == {CENTER, "finance_bureau"}


async def test_an_unclear_fragment_waits_for_the_office_too(world: World) -> None:
    case = await world.file(target_text="财政")

    assert case.state is CaseState.TRIAGE
    assert case.target_unit_id is None
    await assert_kept_out(world, "finance_bureau", case)


async def test_the_office_picks_the_candidate_and_the_other_may_handle_it_again(world: World) -> None:
    case = await world.file(description="区政务中心和区监察局互相推诿")
    assert case.id is not None

    marked = await world.office.mark_target(OFFICE, case.id, CENTER)
    assert marked.to_triage is False
    routed = await world.office.route(OFFICE, case.id)

    assert routed.lead_unit_ids == (DISCIPLINE, SUPERVISION)  # 区监察局 was released
    assert CENTER not in routed.assist_unit_ids
    case = world.store.cases[case.id]
    await assert_kept_out(world, CENTER, case)
    assert await world.can_read(SUPERVISION, case)
    lifted = [
        e.data["unit"] for e in world.store.events if e.case_id == case.id and e.kind == "recusal_lifted"
    ]
    assert lifted == [SUPERVISION]


async def test_none_of_the_candidates_releases_them_all(world: World) -> None:
    case = await world.file(target_text="财政")
    assert case.id is not None

    await world.office.clear_candidates(OFFICE, case.id)
    routed = await world.office.route(OFFICE, case.id)

    assert routed.lead_unit_ids == (DISCIPLINE, SUPERVISION)
    assert world.store.cases[case.id].recusals == []
    with pytest.raises(NoCandidates):
        await world.office.clear_candidates(OFFICE, case.id)


async def test_routing_while_candidates_wait_keeps_them_all_out(world: World) -> None:
    case = await world.file(description="区政务中心和区财政局互相推诿")
    assert case.id is not None

    routed = await world.office.route(OFFICE, case.id)

    case = world.store.cases[case.id]
    assert CENTER not in routed.assist_unit_ids
    assert not case.target_pending  # the office's routing decided: both stay out for good
    await assert_kept_out(world, CENTER, case)
    await assert_kept_out(world, "finance_bureau", case)


# -- marked by hand after filing --------------------------------------------------------------------


async def test_a_unit_marked_after_filing_loses_sight_at_once_and_the_record_says_it_had_seen(
    world: World,
) -> None:
    case = await world.file()  # names no unit: 区政务中心 is copied as usual
    assert case.id is not None
    assert CENTER in case.assist_unit_ids
    assert world.told(CENTER, case) == ["notify.unit.copied"]  # queued, not sent yet
    assert await world.can_read(CENTER, case)

    marked = await world.office.mark_target(OFFICE, case.id, CENTER)

    case = world.store.cases[case.id]
    assert marked.removed == (CENTER,)
    assert marked.withdrawn == 1  # the queued copy never goes out
    await assert_kept_out(world, CENTER, case)
    assert case.lead_unit_ids == [DISCIPLINE, SUPERVISION]
    assert case.state is CaseState.ASSIGNED
    [event] = [e for e in world.store.events if e.case_id == case.id and e.kind == "recusal"]
    assert event.data == {"unit": CENTER, "scope": "full", "reason": "office", "had_seen": True}
    assert event.actor_ref == str(OFFICE)
    [audit] = world.audit("case.mark_target")
    assert audit == {"unit": CENTER, "removed": [CENTER], "withdrawn": 1}
    with pytest.raises(AlreadyRecused):
        await world.office.mark_target(OFFICE, case.id, CENTER)


async def test_marking_a_lead_hands_the_case_to_the_other_lead_and_then_to_triage(world: World) -> None:
    case = await world.file()
    assert case.id is not None
    await world.liaison.sign(world.liaisons[SUPERVISION], case.id)

    first = await world.office.mark_target(OFFICE, case.id, SUPERVISION)
    assert (first.removed, first.to_triage) == ((SUPERVISION,), False)
    assert world.store.cases[case.id].lead_unit_ids == [DISCIPLINE]

    # 区纪委行政效能监察室 marked: its head 区纪委 may not lead any more; nobody is left
    second = await world.office.mark_target(OFFICE, case.id, EFFICIENCY)
    case = world.store.cases[case.id]
    assert second.to_triage is True
    assert case.state is CaseState.TRIAGE
    assert case.lead_unit_ids == []
    with pytest.raises(TargetCannotLead):
        await world.office.route(OFFICE, case.id, lead_unit_ids=[DISCIPLINE])
    routed = await world.office.route(OFFICE, case.id, lead_unit_ids=["audit_bureau"])
    assert routed.lead_unit_ids == ("audit_bureau",)
    assert SUPERVISION not in routed.assist_unit_ids and EFFICIENCY not in routed.assist_unit_ids


# -- one case per confirm ---------------------------------------------------------------------------


async def test_a_double_tapped_submit_files_one_case(world: World) -> None:
    first = await world.complaints.file(CITIZEN, draft(submission_key="a1b2c3"))
    again = await world.complaints.file(CITIZEN, draft(submission_key="a1b2c3"))
    other = await world.complaints.file(CITIZEN, draft(submission_key="d4e5f6"))

    assert again.again and not first.again
    assert again.case.tracking_no == first.case.tracking_no
    assert again.routing.lead_unit_ids == first.routing.lead_unit_ids
    assert other.case.tracking_no != first.case.tracking_no
    assert len(world.store.cases) == 2
