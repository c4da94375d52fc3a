"""The dashboard's case list (storage/case_list.py) on SQLite and PostgreSQL: every filter
narrows every page, seek pages follow each other newest first with no gap and no repeat (rows
filed in the same instant included), and a liaison's unit sees exactly its cases."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.case_list import CaseFilter, Cursor, parse_filter
from core.cases import Case, Source
from core.plan import Plan
from core.ports import UnitOfWorkFactory
from core.services.units import sync_plan_units
from core.states import CaseState
from storage.case_list import CaseListReader

TZ = ZoneInfo("Asia/Shanghai")
TODAY = date(2026, 11, 25)
START = datetime(2026, 11, 1, 1, 0, tzinfo=UTC)
STATES = [CaseState.ASSIGNED, CaseState.SIGNED, CaseState.CLOSED, CaseState.TRIAGE, CaseState.ANSWERED]
WORDS = ["窗口", "态度", "拖拉", "100%_满意"]


def make_case(i: int, plan: Plan) -> Case:
    area = plan.areas[i % len(plan.areas)]
    state = STATES[i % len(STATES)]
    lead = [plan.units[i % 7].id] if state is not CaseState.TRIAGE else []
    assist = [plan.units[7 + i % 3].id] if i % 4 == 0 and lead else []
    created = START + timedelta(hours=(i // 3) * 5)  # three cases share each instant
    return Case(
        tracking_no=f"ZH-2026-{i + 1:06d}",
        state=state,
        source=Source.CITIZEN,
        description=f"第{i}号 {WORDS[i % len(WORDS)]} 的问题",
        created_at=created,
        area_final=area.id,
        lead_unit_ids=lead,
        assist_unit_ids=assist,
        sign_due=(created + timedelta(days=2)).date() if lead else None,
        answer_due=(created + timedelta(days=10)).date() if lead else None,
    )


@pytest.fixture
async def cases(uow_factory: UnitOfWorkFactory, plan: Plan) -> list[Case]:
    await sync_plan_units(plan, uow_factory)
    made = [make_case(i, plan) for i in range(97)]
    async with uow_factory() as uow:
        for case in made:
            stored = await uow.cases.add(case)
            assert stored.id is not None
            await uow.cases.set_units(stored.id, case.lead_unit_ids, case.assist_unit_ids)
            case.id = stored.id
        draft = replace(make_case(200, plan), tracking_no="ZH-2026-000999", state=CaseState.DRAFT)
        await uow.cases.add(draft)
        await uow.commit()
    return made


def overdue(case: Case) -> bool:
    if case.state is CaseState.ASSIGNED and case.sign_due and case.sign_due < TODAY:
        return True
    running = case.state in (CaseState.ASSIGNED, CaseState.SIGNED, CaseState.EXTENSION_REQUESTED)
    return bool(running and case.answer_due and case.answer_due < TODAY)


def filters(plan: Plan) -> list[tuple[str, CaseFilter, Callable[[Case], bool]]]:
    unit = plan.units[2].id
    copied = plan.units[8].id
    return [
        ("all", CaseFilter(), lambda c: True),
        ("state", CaseFilter(state=CaseState.SIGNED), lambda c: c.state is CaseState.SIGNED),
        ("area", CaseFilter(area=plan.areas[1].id), lambda c: c.area_final == plan.areas[1].id),
        ("lead unit", CaseFilter(unit=unit), lambda c: unit in c.lead_unit_ids),
        ("copied unit", CaseFilter(unit=copied), lambda c: copied in c.assist_unit_ids),
        ("overdue", CaseFilter(overdue=True), overdue),
        ("words", CaseFilter(query="态度"), lambda c: "态度" in c.description),
        ("a literal % and _", CaseFilter(query="100%_"), lambda c: "100%_" in c.description),
        ("number", CaseFilter(query="zh-2026-000042"), lambda c: c.tracking_no == "ZH-2026-000042"),
        (
            "local days",
            CaseFilter(date_from=date(2026, 11, 3), date_to=date(2026, 11, 4)),
            lambda c: date(2026, 11, 3) <= c.created_at.astimezone(TZ).date() <= date(2026, 11, 4),
        ),
        (
            "state and unit",
            CaseFilter(state=CaseState.ASSIGNED, unit=unit),
            lambda c: c.state is CaseState.ASSIGNED and unit in c.lead_unit_ids,
        ),
    ]


@pytest.mark.parametrize("size", [7, 50])
async def test_every_filter_pages_through_exactly_its_cases_newest_first(
    cases: list[Case], session_factory: async_sessionmaker[AsyncSession], plan: Plan, size: int
) -> None:
    for name, flt, keep in filters(plan):
        expected = [
            c.tracking_no
            for c in sorted(cases, key=lambda c: (c.created_at, c.id or 0), reverse=True)
            if keep(c)
        ]
        seen: list[str] = []
        after: Cursor | None = None
        for _ in range(100):
            async with session_factory() as session:
                page = await CaseListReader(session).page(
                    replace(flt, after=after), today=TODAY, tz=TZ, size=size
                )
            assert len(page.items) <= size
            seen += [item.tracking_no for item in page.items]
            if page.next is None:
                break
            after = Cursor.decode(page.next.encode())  # as the link carries it
        assert seen == expected, name
        assert expected or name == "none", name


async def test_a_row_shows_its_units_in_the_plans_order_and_no_draft(
    cases: list[Case], session_factory: async_sessionmaker[AsyncSession]
) -> None:
    async with session_factory() as session:
        page = await CaseListReader(session).page(CaseFilter(), today=TODAY, tz=TZ, size=200)
    by_number = {item.tracking_no: item for item in page.items}
    assert "ZH-2026-000999" not in by_number and len(by_number) == len(cases)
    for case in cases:
        item = by_number[case.tracking_no]
        assert list(item.lead_unit_ids) == case.lead_unit_ids
        assert list(item.assist_unit_ids) == case.assist_unit_ids
        assert item.description == case.description and item.area == case.area_final


def test_a_query_string_becomes_a_filter_and_junk_is_ignored(plan: Plan) -> None:
    areas = frozenset(a.id for a in plan.areas)
    units = frozenset(u.id for u in plan.units)
    flt = parse_filter(
        {"area": plan.areas[0].id, "unit": "nope", "state": "draft", "overdue": "1",
         "from": "2026-11-02", "to": "bad", "q": "  态度   差 ", "after": "!!"},
        area_ids=areas, unit_ids=units,
    )  # fmt: skip
    assert flt == CaseFilter(
        area=plan.areas[0].id, overdue=True, date_from=date(2026, 11, 2), query="态度 差"
    )
    cursor = Cursor(datetime(2026, 11, 5, 3, 0, tzinfo=UTC), 42)
    assert Cursor.decode(cursor.encode()) == cursor
    assert flt.query_params() == {
        "area": plan.areas[0].id,
        "overdue": "1",
        "from": "2026-11-02",
        "q": "态度 差",
    }
