"""长效机制 and 推介典型: the pure rules (which status moves are allowed, when a measure is
overdue, the year-end tally) table by table, and the service's policy over the in-memory fakes
(a liaison proposes and moves its own unit's measures only; done needs evidence, dropped a
reason; the office records and shares practices; every action audited)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from core.attachments import AttachmentKind
from core.calendar import StaticHolidaySource, WorkingDays
from core.clock import FixedClock
from core.directory import UnitRecord
from core.errors import NotFound, PermissionDenied, ValidationFailed
from core.measures import (
    Evidence,
    Measure,
    MeasureClosed,
    MeasureStatus,
    check_move,
    is_overdue,
    may_move,
    tally,
)
from core.plan import Plan
from core.services.practices import PracticeService, remind_measures
from tests.fakes import FakeStore, FakeUnitOfWork, fake_uow_factory

SH = ZoneInfo("Asia/Shanghai")
MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=SH)
P, IP, D, X = MeasureStatus.PLANNED, MeasureStatus.IN_PROGRESS, MeasureStatus.DONE, MeasureStatus.DROPPED
# 2026-10-01..07 National Day holidays; Sunday 2026-10-11 a make-up working day
WD = WorkingDays(
    StaticHolidaySource(
        holidays=[date(2026, 10, d) for d in range(1, 8)], workdays=[date(2026, 10, 11)], years=[2026]
    )
)
OFFICE = 900_001
LIAISON = 800_030  # 区财政局
OTHER = 800_011  # 行政效能监察室
CITIZEN = 500_001
UNIT = "finance_bureau"
OTHER_UNIT = "efficiency_supervision_office"
DOC = Evidence("doc1", "udoc1", AttachmentKind.DOCUMENT, "application/pdf", "制度.pdf", 1000)


@pytest.mark.parametrize(
    ("current", "target", "allowed"),
    [
        (P, IP, True),
        (P, D, True),  # a 制度 adopted at once
        (P, X, True),
        (P, P, False),
        (IP, D, True),
        (IP, X, True),
        (IP, P, False),
        (IP, IP, False),
        (D, IP, False),
        (D, X, False),
        (D, D, False),
        (X, P, False),
        (X, IP, False),
        (X, D, False),
    ],
)
def test_only_forward_moves_are_allowed_and_final_statuses_stay(
    current: MeasureStatus, target: MeasureStatus, allowed: bool
) -> None:
    assert may_move(current, target) is allowed
    if allowed:
        check_move(current, target)
    else:
        with pytest.raises(MeasureClosed):
            check_move(current, target)


def _measure(due: date, status: MeasureStatus = P, unit: str = UNIT) -> Measure:
    return Measure(unit, "制度", due, MONDAY, status=status)


@pytest.mark.parametrize(
    ("due", "status", "today", "overdue"),
    [
        (date(2026, 11, 20), P, date(2026, 11, 23), True),
        (date(2026, 11, 20), IP, date(2026, 11, 23), True),
        (date(2026, 11, 23), P, date(2026, 11, 23), False),  # the due day itself is in time
        (date(2026, 11, 20), D, date(2026, 11, 23), False),  # done is never overdue
        (date(2026, 11, 20), X, date(2026, 11, 23), False),  # nor dropped
        # due on Saturday: counts from Monday, so Monday is still in time, Tuesday is late
        (date(2026, 11, 21), P, date(2026, 11, 23), False),
        (date(2026, 11, 21), P, date(2026, 11, 24), True),
        # due in the National Day holidays: counts from Thursday 8 October
        (date(2026, 10, 3), P, date(2026, 10, 8), False),
        (date(2026, 10, 3), P, date(2026, 10, 9), True),
    ],
)
def test_a_measure_is_overdue_once_its_working_due_date_has_passed(
    due: date, status: MeasureStatus, today: date, overdue: bool
) -> None:
    assert is_overdue(_measure(due, status), today, WD) is overdue


def test_the_tally_counts_done_over_total_without_dropped() -> None:
    today = date(2026, 11, 23)
    measures = [
        _measure(date(2026, 12, 1), D),
        _measure(date(2026, 11, 2), IP),  # overdue
        _measure(date(2026, 12, 1), X),
        _measure(date(2026, 12, 1), P, OTHER_UNIT),
    ]
    counts = tally(measures, today, WD)
    assert (counts[UNIT].done, counts[UNIT].total, counts[UNIT].overdue) == (1, 2, 1)
    assert (counts[OTHER_UNIT].done, counts[OTHER_UNIT].total) == (0, 1)


# -- the service over the fakes ----------------------------------------------------------------


class World:
    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.store = FakeStore()
        self.clock = FixedClock(MONDAY, SH)
        self.service = PracticeService(
            uow=fake_uow_factory(self.store),
            plan=plan,
            clock=self.clock,
            working_days=WD,
            office_admin_ids=frozenset({OFFICE}),
        )

    async def setup(self) -> World:
        uow = FakeUnitOfWork(self.store)
        async with uow:
            await uow.units.sync([UnitRecord(u.id, u.name, u.kind) for u in self.plan.units])
            for user_id, unit_id in ((LIAISON, UNIT), (OTHER, OTHER_UNIT)):
                await uow.users.upsert(user_id, now=MONDAY, chat_id=user_id)
                await uow.liaisons.add(user_id, unit_id, now=MONDAY)
            await uow.commit()
        return self

    def audit(self) -> list[str]:
        return [e.action for e in self.store.audit]


@pytest.fixture
async def world(plan: Plan) -> World:
    return await World(plan).setup()


async def test_a_liaison_moves_its_measure_to_done_with_evidence_and_history(world: World) -> None:
    measure = await world.service.add_measure(LIAISON, "首问负责制", date(2026, 12, 31))
    assert measure.id is not None and measure.unit_id == UNIT
    with pytest.raises(ValidationFailed):
        await world.service.move_measure(LIAISON, measure.id, D)  # no evidence
    world.clock.advance(timedelta(hours=1))
    done = await world.service.move_measure(LIAISON, measure.id, D, evidence=[DOC])
    assert done.status is D and done.evidence == [DOC]
    stored = world.store.measures[measure.id]
    assert [(c.from_status, c.to_status) for c in stored.history] == [(None, P), (P, D)]
    assert stored.history[-1].at == MONDAY + timedelta(hours=1) and stored.history[-1].by == LIAISON
    with pytest.raises(MeasureClosed):
        await world.service.move_measure(LIAISON, measure.id, X, note="不做了")
    assert world.audit() == ["measure.add", "measure.move"]


async def test_another_units_liaison_and_the_office_may_not_move_a_measure(world: World) -> None:
    measure = await world.service.add_measure(LIAISON, "首问负责制", date(2026, 12, 31))
    assert measure.id is not None
    with pytest.raises(NotFound):
        await world.service.move_measure(OTHER, measure.id, IP)
    with pytest.raises(PermissionDenied):
        await world.service.move_measure(OFFICE, measure.id, IP)
    with pytest.raises(NotFound):
        await world.service.measures(OTHER, UNIT)
    assert (await world.service.measures(OTHER)).measures == []
    assert [m.id for m in (await world.service.measures(OFFICE)).measures] == [measure.id]
    assert world.store.measures[measure.id].status is P


async def test_a_measure_cannot_be_due_in_the_past_and_dropping_needs_a_reason(world: World) -> None:
    with pytest.raises(ValidationFailed):
        await world.service.add_measure(LIAISON, "首问负责制", date(2026, 11, 22))
    with pytest.raises(PermissionDenied):
        await world.service.add_measure(CITIZEN, "首问负责制", date(2026, 12, 31))
    measure = await world.service.add_measure(LIAISON, "首问负责制", date(2026, 12, 31))
    assert measure.id is not None
    with pytest.raises(ValidationFailed):
        await world.service.move_measure(LIAISON, measure.id, X, note="  ")
    dropped = await world.service.move_measure(LIAISON, measure.id, X, note="与区制度重复")
    assert dropped.history[-1].note == "与区制度重复"


async def test_the_office_records_and_shares_a_practice_to_every_liaison(world: World) -> None:
    practice = await world.service.record_practice(OFFICE, UNIT, "首问负责制", "第一个接待的人负责到底")
    with pytest.raises(PermissionDenied):
        await world.service.record_practice(LIAISON, UNIT, "首问负责制", "第一个接待的人负责到底")
    assert practice.id is not None
    shared = await world.service.share_practice(OFFICE, practice.id)
    assert shared.recipients == 2
    messages = list(world.store.outbox.values())
    assert sorted(m.chat_id for m in messages) == sorted([LIAISON, OTHER])
    for message in messages:
        params = message.payload["text_params"]
        assert isinstance(params, dict)
        assert params["title"] == "首问负责制" and str(OFFICE) not in str(message.payload)
    again = await world.service.share_practice(OFFICE, practice.id)
    assert again.recipients == 0  # the dedup keys: nobody gets it twice
    assert world.store.practices[practice.id].shared_to == "all"
    assert world.audit() == ["practice.record", "practice.share", "practice.share"]


async def test_reminders_fall_on_the_reminder_days_and_go_once(world: World) -> None:
    measure = await world.service.add_measure(LIAISON, "首问负责制", date(2026, 11, 26))
    done: set[str] = set()

    def days(due: date) -> dict[date, int]:
        return {due - timedelta(days=3): 3, due: 0}

    async def run(today: date) -> tuple[int, int]:
        async with FakeUnitOfWork(world.store) as uow:
            result = await remind_measures(uow, WD, days, today, MONDAY, None, done)
            await uow.commit()
        return result

    assert await run(date(2026, 11, 23)) == (1, 1)
    assert await run(date(2026, 11, 23)) == (0, 0)
    done.clear()  # another process: the outbox's dedup key still refuses it
    assert await run(date(2026, 11, 23)) == (0, 0)
    assert await run(date(2026, 11, 24)) == (0, 0)
    [message] = world.store.outbox.values()
    params = message.payload["text_params"]
    assert isinstance(params, dict)
    assert message.chat_id == LIAISON and params["measure_id"] == measure.id and params["days_left"] == 3
