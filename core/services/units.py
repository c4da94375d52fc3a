"""Keeping the units table in step with the plan (cases and liaisons refer to unit ids)."""

from __future__ import annotations

from core.directory import UnitRecord
from core.plan import Plan
from core.ports import UnitOfWorkFactory


async def sync_plan_units(plan: Plan, uow: UnitOfWorkFactory) -> None:
    """Insert or update every unit the plan names; units it no longer names become inactive
    (their cases stay)."""
    async with uow() as work:
        await work.units.sync([UnitRecord(id=u.id, name=u.name, kind=u.kind) for u in plan.units])
        await work.commit()
