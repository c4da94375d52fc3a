"""The citizen's use cases (SPEC §3, §4): filing, routing, deadlines, history, notices, limits,
and nobody reaching a case that is not theirs. Over the in-memory fakes and a fixed clock."""

from __future__ import annotations

import json
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from core.attachments import AttachmentKind
from core.calendar import ChineseCalendarSource, WorkingDays
from core.cases import CaseEvent, Source, Visibility
from core.clock import FixedClock
from core.deadlines import DeadlineRules
from core.directory import UnitRecord
from core.errors import NotFound, RateLimited, ValidationFailed
from core.outbox import OutboxMessage
from core.plan import Plan
from core.services.complaints import (
    MAX_DESCRIPTION,
    MAX_EVIDENCE,
    MAX_FIELD,
    MAX_FILE_BYTES,
    ComplaintDraft,
    ComplaintService,
    Evidence,
)
from core.states import Actor, CaseState
from tests.fakes import FakeStore, FakeUnitOfWork, fake_uow_factory

SH = ZoneInfo("Asia/Shanghai")
CITIZEN = 500_001
OTHER_CITIZEN = 500_002
PHONE = "+8613812345678"
OFFICE_CHAT = -100_777
DESCRIPTION = "三号窗口工作人员态度恶劣，材料齐全却让我跑了三趟。"

# liaisons: two for the conduct lead unit (one of them has left), one per assisting unit
LEAD_LIAISONS = (800_001, 800_002)
LEFT_LIAISON = 800_003
ASSIST_LIAISONS = {"conduct_integrity_office": 800_010, "efficiency_supervision_office": 800_011}


def at(y: int, m: int, d: int, hh: int = 10, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=SH)


MONDAY = at(2026, 11, 23)  # a working day, mid-morning


def draft(**changes: object) -> ComplaintDraft:
    values: dict[str, object] = {
        "description": DESCRIPTION,
        "area": "conduct",
        "area_auto": "conduct",
        "confidence": 0.9,
        "cues": ("态度恶劣",),
        "target_text": "3 号窗口的工作人员",
        "place": "区政务中心一楼",
        "occurred": "昨天上午",
    }
    values.update(changes)
    return ComplaintDraft(**values)  # type: ignore[arg-type]


class World:
    """The service over a fake store that already holds the plan's units and some liaisons."""

    def __init__(
        self,
        plan: Plan,
        *,
        now: datetime | None = None,
        daily_limit: int = 5,
        office_chat_id: int | None = OFFICE_CHAT,
    ) -> None:
        self.store = FakeStore()
        self.clock = FixedClock(now or MONDAY, SH)
        self.service = ComplaintService(
            uow=fake_uow_factory(self.store),
            plan=plan,
            clock=self.clock,
            deadlines=DeadlineRules(WorkingDays(ChineseCalendarSource()), SH),
            daily_limit=daily_limit,
            office_chat_id=office_chat_id,
        )
        self.plan = plan

    async def setup(self) -> World:
        uow = FakeUnitOfWork(self.store)
        async with uow:
            await uow.units.sync([UnitRecord(u.id, u.name, u.kind) for u in self.plan.units])
            now = self.clock.now()
            for user_id in (*LEAD_LIAISONS, LEFT_LIAISON, *ASSIST_LIAISONS.values()):
                await uow.users.upsert(user_id, now=now, chat_id=user_id)
            for user_id in (*LEAD_LIAISONS, LEFT_LIAISON):
                await uow.liaisons.add(user_id, "organs_work_committee", now=now)
            await uow.liaisons.remove(LEFT_LIAISON, now=now)
            for unit_id, user_id in ASSIST_LIAISONS.items():
                await uow.liaisons.add(user_id, unit_id, now=now)
            await uow.commit()
        return self

    def outbox(self) -> list[OutboxMessage]:
        return sorted(self.store.outbox.values(), key=lambda m: m.id or 0)

    def events(self, case_id: int) -> list[CaseEvent]:
        return [e for e in self.store.events if e.case_id == case_id]


@pytest.fixture
async def world(plan: Plan) -> World:
    return await World(plan).setup()


# --- tracking numbers ----------------------------------------------------------------------


async def test_tracking_numbers_count_up_from_one_per_campaign_prefix_and_year(plan: Plan) -> None:
    w = await World(plan, now=at(2026, 12, 31, 23, 30)).setup()

    first = await w.service.file(CITIZEN, draft())
    second = await w.service.file(OTHER_CITIZEN, draft())
    # half an hour later it is 2027 in the district, though still 2026 in UTC
    w.clock.set(at(2027, 1, 1, 0, 0))
    third = await w.service.file(CITIZEN, draft())

    assert [first.case.tracking_no, second.case.tracking_no, third.case.tracking_no] == [
        "ZH-2026-000001",
        "ZH-2026-000002",
        "ZH-2027-000001",
    ]


async def test_a_refused_complaint_uses_up_no_tracking_number(world: World) -> None:
    with pytest.raises(ValidationFailed):
        await world.service.file(CITIZEN, draft(place="x" * (MAX_FIELD + 1)))

    filed = await world.service.file(CITIZEN, draft())

    assert filed.case.tracking_no == "ZH-2026-000001"


# --- routing and deadlines -----------------------------------------------------------------


async def test_case_goes_to_the_areas_lead_unit_with_working_day_deadlines(world: World) -> None:
    # Monday 2026-11-23: sign for by Tuesday, answer within 5 working days, i.e. next Monday
    filed = await world.service.file(CITIZEN, draft())
    case = world.store.cases[filed.case.id or 0]

    assert case.state is CaseState.ASSIGNED
    assert case.source is Source.CITIZEN
    assert case.lead_unit_ids == ["organs_work_committee"]
    assert case.assist_unit_ids == ["conduct_integrity_office", "efficiency_supervision_office"]
    assert (case.sign_due, case.answer_due) == (date(2026, 11, 24), date(2026, 11, 30))
    assert case.assigned_at == world.clock.now()
    assert (case.area_auto, case.area_final, case.matched_cues) == ("conduct", "conduct", ["态度恶劣"])


async def test_the_citizens_area_is_stored_beside_the_classifiers(world: World) -> None:
    filed = await world.service.file(CITIZEN, draft(area="procedure", area_auto="conduct"))
    case = world.store.cases[filed.case.id or 0]

    assert (case.area_auto, case.area_final, case.area) == ("conduct", "procedure", "procedure")
    assert case.lead_unit_ids == ["discipline_commission", "supervision_bureau"]


@pytest.mark.parametrize(
    ("area", "sign_due", "answer_due"),
    [
        # Wednesday 2026-09-30, the last working day before National Day (10-01..10-07);
        # Saturday 10-10 is a make-up working day and counts
        ("conduct", date(2026, 10, 8), date(2026, 10, 13)),
        ("procedure", date(2026, 10, 8), date(2026, 10, 13)),
        ("enforcement", date(2026, 10, 8), date(2026, 10, 20)),
        ("extortion", date(2026, 10, 8), date(2026, 10, 27)),
        ("rent_seeking", date(2026, 10, 8), date(2026, 10, 27)),
    ],
)
async def test_deadlines_filed_before_national_day_fall_after_the_holiday(
    plan: Plan, area: str, sign_due: date, answer_due: date
) -> None:
    w = await World(plan, now=at(2026, 9, 30, 16)).setup()

    filed = await w.service.file(CITIZEN, draft(area=area))

    assert (filed.case.sign_due, filed.case.answer_due) == (sign_due, answer_due)


async def test_case_against_lead_unit_goes_to_office(world: World) -> None:
    # (the unit typed matches the one picked: otherwise two candidates would be named)
    filed = await world.service.file(
        CITIZEN, draft(target_unit_id="organs_work_committee", target_text="区直机关工委")
    )
    case = world.store.cases[filed.case.id or 0]

    assert filed.routing.needs_triage
    assert case.state is CaseState.TRIAGE
    assert case.lead_unit_ids == []
    assert (case.sign_due, case.answer_due) == (None, None)
    [notice] = world.outbox()
    assert notice.chat_id == OFFICE_CHAT
    assert notice.payload["text_key"] == "notify.office.triage"
    assert notice.payload["text_params"] == {
        "tracking_no": case.tracking_no,
        "reason_key": "triage.reason.target_is_lead",
    }
    # the unit complained about hears nothing about it
    assert all(m.chat_id not in LEAD_LIAISONS for m in world.outbox())


async def test_a_citizen_who_is_not_sure_of_the_area_goes_to_office_triage(world: World) -> None:
    filed = await world.service.file(CITIZEN, draft(area=None))

    assert world.store.cases[filed.case.id or 0].state is CaseState.TRIAGE
    [notice] = world.outbox()
    assert (notice.chat_id, notice.payload["text_key"]) == (OFFICE_CHAT, "notify.office.triage")
    assert notice.payload["text_params"]["reason_key"] == "triage.reason.not_sure"  # type: ignore[index]


async def test_triage_without_an_office_chat_still_files_the_case(plan: Plan) -> None:
    w = await World(plan, office_chat_id=None).setup()

    filed = await w.service.file(CITIZEN, draft(area=None))

    assert w.store.cases[filed.case.id or 0].state is CaseState.TRIAGE
    assert w.outbox() == []


async def test_complaint_against_an_assisting_unit_is_not_copied_to_it(world: World) -> None:
    filed = await world.service.file(CITIZEN, draft(target_unit_id="efficiency_supervision_office"))

    assert filed.case.assist_unit_ids == ["conduct_integrity_office"]
    assert ASSIST_LIAISONS["efficiency_supervision_office"] not in {m.chat_id for m in world.outbox()}


# --- history -------------------------------------------------------------------------------


async def test_filing_records_a_public_submit_and_route_in_the_history(world: World) -> None:
    filed = await world.service.file(CITIZEN, draft(evidence=(Evidence("f1", "u1", AttachmentKind.PHOTO),)))
    events = world.events(filed.case.id or 0)

    assert [(e.kind, e.visibility, e.actor) for e in events] == [
        ("submit", Visibility.PUBLIC, Actor.CITIZEN),
        ("route", Visibility.PUBLIC, Actor.SYSTEM),
    ]
    submit, routed = events
    assert submit.actor_ref == str(CITIZEN)
    assert submit.data == {"from": "draft", "to": "submitted", "evidence": 1}
    assert routed.data == {
        "from": "submitted",
        "to": "assigned",
        "lead": ["organs_work_committee"],
        "assist": ["conduct_integrity_office", "efficiency_supervision_office"],
    }


async def test_a_triaged_case_records_why_it_went_to_the_office(world: World) -> None:
    filed = await world.service.file(CITIZEN, draft(area=None))

    assert [(e.kind, e.data.get("reason")) for e in world.events(filed.case.id or 0)] == [
        ("submit", None),
        ("send_to_triage", "not_sure"),
    ]


# --- notices to units ----------------------------------------------------------------------


async def test_every_active_liaison_of_lead_and_assisting_units_gets_the_case(world: World) -> None:
    filed = await world.service.file(CITIZEN, draft())

    sent = {(m.chat_id, m.payload["text_key"]) for m in world.outbox()}
    assert sent == {
        (LEAD_LIAISONS[0], "notify.unit.new_case"),
        (LEAD_LIAISONS[1], "notify.unit.new_case"),
        (ASSIST_LIAISONS["conduct_integrity_office"], "notify.unit.copied"),
        (ASSIST_LIAISONS["efficiency_supervision_office"], "notify.unit.copied"),
    }
    # each in the liaison's own language, once per case and liaison
    for message in world.outbox():
        assert message.payload["user_id"] == message.chat_id
        assert message.dedup_key is not None and str(filed.case.id) in message.dedup_key
    card = world.outbox()[0].payload["text_params"]
    assert card == {
        "tracking_no": filed.case.tracking_no,
        "case_area": "conduct",
        "lead_units": ["organs_work_committee"],
        "description": DESCRIPTION,
        "target": "3 号窗口的工作人员",
        "place": "区政务中心一楼",
        "occurred": "昨天上午",
        "sign_due_date": "2026-11-24",
        "answer_due_date": "2026-11-30",
    }


async def test_units_never_learn_who_complained(world: World) -> None:
    await world.service.file(CITIZEN, draft(anonymous=False, phone=PHONE))

    unit_messages = [m for m in world.outbox() if m.chat_id != OFFICE_CHAT]
    assert len(unit_messages) == 4
    for message in unit_messages:
        dumped = json.dumps(message.payload, ensure_ascii=False) + (message.dedup_key or "")
        assert str(CITIZEN) not in dumped
        assert PHONE not in dumped and PHONE[1:] not in dumped
        assert "citizen" not in dumped


async def test_the_phone_is_kept_only_when_the_citizen_chooses_to_share_it(world: World) -> None:
    await world.service.file(CITIZEN, draft(anonymous=True, phone=PHONE))
    await world.service.file(OTHER_CITIZEN, draft(anonymous=False, phone=PHONE))

    phones = {c.user_id: c.phone for c in world.store.citizens.values()}
    assert phones == {CITIZEN: None, OTHER_CITIZEN: PHONE}


# --- limits and bad input ------------------------------------------------------------------


async def test_the_daily_limit_raises_rate_limited_and_resets_the_next_day(plan: Plan) -> None:
    w = await World(plan, now=at(2026, 11, 23, 9), daily_limit=2).setup()
    await w.service.file(CITIZEN, draft())
    await w.service.file(CITIZEN, draft())
    assert await w.service.remaining_today(CITIZEN) == 0

    with pytest.raises(RateLimited) as refused:
        await w.service.file(CITIZEN, draft())

    assert refused.value.params == {"limit": 2}
    assert len(w.store.cases) == 2
    # another citizen is not held back by this one
    await w.service.file(OTHER_CITIZEN, draft())
    # the day turns at midnight in the district, not in UTC
    w.clock.set(at(2026, 11, 24, 0, 1))
    assert await w.service.remaining_today(CITIZEN) == 2
    await w.service.file(CITIZEN, draft())
    assert len(w.store.cases) == 4


async def test_control_characters_are_stripped_and_line_breaks_kept(world: World) -> None:
    text = "  窗口\x00工作人员\u202e态度\x07很差\x1b[31m\r\n第二行\t还有\u2028  "

    filed = await world.service.file(CITIZEN, draft(description=text, place="一楼\x0b大厅"))

    assert filed.case.description == "窗口工作人员态度很差[31m\n第二行\t还有"
    assert filed.case.place == "一楼大厅"


async def test_unusual_spaces_become_plain_spaces_instead_of_gluing_words(world: World) -> None:
    filed = await world.service.file(
        CITIZEN, draft(description="The\u00a0clerk\u3000refused\u2009my papers", area="procedure")
    )

    assert filed.case.description == "The clerk refused my papers"


async def test_over_long_text_is_refused_and_the_limit_itself_accepted(world: World) -> None:
    with pytest.raises(ValidationFailed) as refused:
        await world.service.file(CITIZEN, draft(description="长" * (MAX_DESCRIPTION + 1)))
    assert refused.value.params == {
        "field": "length",
        "limit": MAX_DESCRIPTION,
        "length": MAX_DESCRIPTION + 1,
    }

    with pytest.raises(ValidationFailed):
        await world.service.file(CITIZEN, draft(target_text="窗" * (MAX_FIELD + 1)))

    filed = await world.service.file(CITIZEN, draft(description="长" * MAX_DESCRIPTION))
    assert len(filed.case.description) == MAX_DESCRIPTION
    assert len(world.store.cases) == 1


@pytest.mark.parametrize("description", ["", "   ", "太慢", "\x00\x01\x02\x03\x04\x05"])
async def test_an_empty_or_too_short_description_is_refused(world: World, description: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        await world.service.file(CITIZEN, draft(description=description))

    assert refused.value.params == {"field": "description", "reason": "too_short"}
    assert world.store.cases == {} and world.outbox() == []


@pytest.mark.parametrize(
    ("evidence", "reason"),
    [
        (Evidence("f", "u", AttachmentKind.PHOTO, size=MAX_FILE_BYTES + 1), "too_big"),
        (Evidence("f", "u", AttachmentKind.VOICE, "audio/ogg", MAX_FILE_BYTES + 1), "too_big"),
        (Evidence("f", "u", AttachmentKind.DOCUMENT, "application/x-msdownload", 1000, "a.exe"), "type"),
        (Evidence("f", "u", AttachmentKind.DOCUMENT, None, 1000, "mystery"), "type"),
        (Evidence("f", "u", AttachmentKind.DOCUMENT, "text/html", 1000, "page.html"), "type"),
    ],
)
async def test_evidence_too_big_or_of_the_wrong_type_is_refused(
    world: World, evidence: Evidence, reason: str
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        await world.service.file(CITIZEN, draft(evidence=(evidence,)))

    assert refused.value.params["reason"] == reason
    assert world.store.cases == {} and world.store.attachments == {}


async def test_too_many_pieces_of_evidence_are_refused(world: World) -> None:
    items = tuple(Evidence(f"f{i}", f"u{i}", AttachmentKind.PHOTO) for i in range(MAX_EVIDENCE + 1))

    with pytest.raises(ValidationFailed) as refused:
        await world.service.file(CITIZEN, draft(evidence=items))

    assert refused.value.params == {"field": "evidence", "reason": "too_many", "limit": MAX_EVIDENCE}


async def test_evidence_within_the_limits_is_kept_with_the_case(world: World) -> None:
    items = (
        Evidence("p1", "up1", AttachmentKind.PHOTO, size=MAX_FILE_BYTES),
        Evidence("d1", "ud1", AttachmentKind.DOCUMENT, "application/pdf", 2048, "收据.pdf"),
        Evidence("v1", "uv1", AttachmentKind.VOICE, "audio/ogg", 4096),
    )

    filed = await world.service.file(CITIZEN, draft(evidence=items))

    stored = sorted(world.store.attachments.values(), key=lambda a: a.id or 0)
    assert [(a.file_id, a.kind, a.case_id, a.added_by) for a in stored] == [
        ("p1", AttachmentKind.PHOTO, filed.case.id, CITIZEN),
        ("d1", AttachmentKind.DOCUMENT, filed.case.id, CITIZEN),
        ("v1", AttachmentKind.VOICE, filed.case.id, CITIZEN),
    ]
    assert (await world.service.view(CITIZEN, filed.case.id or 0)).evidence_count == 3


@pytest.mark.parametrize("changes", [{"area": "weather"}, {"target_unit_id": "no_such_unit"}])
async def test_an_area_or_unit_the_plan_does_not_know_is_refused(
    world: World, changes: dict[str, str]
) -> None:
    with pytest.raises((ValidationFailed, NotFound)):
        await world.service.file(CITIZEN, draft(**changes))

    assert world.store.cases == {}


# --- following one's own cases, and nobody else's ------------------------------------------


async def test_my_cases_lists_only_the_citizens_own_newest_first(world: World) -> None:
    first = await world.service.file(CITIZEN, draft())
    await world.service.file(OTHER_CITIZEN, draft())
    world.clock.set(at(2026, 11, 23, 11))
    second = await world.service.file(CITIZEN, draft(area="procedure"))

    mine = await world.service.my_cases(CITIZEN)

    assert [c.tracking_no for c in mine] == [second.case.tracking_no, first.case.tracking_no]
    assert [c.tracking_no for c in await world.service.my_cases(CITIZEN, limit=1, offset=1)] == [
        first.case.tracking_no
    ]
    assert await world.service.my_cases(999_999) == []


async def test_the_citizen_sees_the_public_history_only(world: World) -> None:
    filed = await world.service.file(CITIZEN, draft())
    case_id = filed.case.id or 0
    uow = FakeUnitOfWork(world.store)
    async with uow:
        await uow.events.add(
            CaseEvent(case_id, world.clock.now(), Actor.LIAISON, "800001", "note", Visibility.INTERNAL,
                      text="内部意见：先核实窗口监控")
        )
        await uow.commit()

    view = await world.service.view(CITIZEN, case_id)

    assert view.case.tracking_no == filed.case.tracking_no
    assert [e.kind for e in view.history] == ["submit", "route"]
    assert all(e.visibility is Visibility.PUBLIC for e in view.history)


async def test_view_and_find_own_refuse_another_citizens_case_as_not_found(world: World) -> None:
    theirs = await world.service.file(OTHER_CITIZEN, draft())
    await world.service.file(CITIZEN, draft())
    case_id = theirs.case.id or 0

    for attempt in (
        world.service.view(CITIZEN, case_id),
        world.service.find_own(CITIZEN, theirs.case.tracking_no),
        world.service.view(123_456, case_id),  # somebody who never filed anything
        world.service.find_own(123_456, theirs.case.tracking_no),
    ):
        with pytest.raises(NotFound) as refused:
            await attempt
        assert refused.value.params == {"kind": "case"}


async def test_a_case_that_does_not_exist_is_refused_exactly_like_someone_elses(world: World) -> None:
    theirs = await world.service.file(OTHER_CITIZEN, draft())

    refusals = []
    for case_id in (theirs.case.id or 0, 9_999):
        with pytest.raises(NotFound) as refused:
            await world.service.view(CITIZEN, case_id)
        refusals.append((type(refused.value), refused.value.params, str(refused.value)))
    with pytest.raises(NotFound) as missing:
        await world.service.find_own(CITIZEN, "ZH-2026-999999")
    refusals.append((type(missing.value), missing.value.params, str(missing.value)))

    assert len(set(map(repr, refusals))) == 1


async def test_find_own_finds_the_citizens_case_by_tracking_number(world: World) -> None:
    filed = await world.service.file(CITIZEN, draft())

    view = await world.service.find_own(CITIZEN, filed.case.tracking_no)

    assert view.case.id == filed.case.id
    assert view.evidence_count == 0
