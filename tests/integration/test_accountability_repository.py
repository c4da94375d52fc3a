"""Accountability records (案件查办) on SQLite and PostgreSQL: stored and read back whole,
listed oldest first and by unit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.plan import Plan
from core.ports import UnitOfWorkFactory
from core.reports import AccountabilityOutcome, AccountabilityRecord, Person
from core.services.units import sync_plan_units

AT = datetime(2014, 11, 3, 2, 0, tzinfo=UTC)


async def test_records_round_trip_and_list_by_unit(uow_factory: UnitOfWorkFactory, plan: Plan) -> None:
    await sync_plan_units(plan, uow_factory)
    first = AccountabilityRecord(
        "finance_bureau", "隐瞒问题", AccountabilityOutcome.SANCTION, AT + timedelta(days=1),
        people=[Person("一把手", "张某")], case_numbers=["ZH-2014-000001"], recorded_by=900_001,
    )  # fmt: skip
    second = AccountabilityRecord("audit_bureau", "不配合检查", AccountabilityOutcome.CRITICISM, AT)
    async with uow_factory() as uow:
        stored = await uow.reports.add_accountability(first)
        await uow.reports.add_accountability(second)
        await uow.commit()
    assert stored.id is not None
    async with uow_factory() as uow:
        everything = await uow.reports.list_accountability()
        finance = await uow.reports.list_accountability(unit_id="finance_bureau")
    assert [r.unit_id for r in everything] == ["audit_bureau", "finance_bureau"]
    [back] = finance
    assert back == AccountabilityRecord(
        "finance_bureau", "隐瞒问题", AccountabilityOutcome.SANCTION, AT + timedelta(days=1),
        people=[Person("一把手", "张某")], case_numbers=["ZH-2014-000001"], recorded_by=900_001, id=stored.id,
    )  # fmt: skip
