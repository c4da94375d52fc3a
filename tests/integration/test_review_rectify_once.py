"""A review finding becomes exactly one 整改建议书 on SQLite and PostgreSQL, however many times
its button is pressed at once (issue 14): the finding is locked, the recommendation issued and
linked in one transaction, so the second press finds the first's and is told so."""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.calendar import WorkingDays
from core.clock import FixedClock
from core.plan import Plan
from core.ports import UnitOfWorkFactory
from core.review import FindingSeverity
from core.services.reports import ReportService
from core.services.review import AlreadyRectified, FindingDraft, ReviewService
from core.services.units import sync_plan_units
from storage.models import OutboxRow, RecommendationRow

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2014, 11, 3, 10, tzinfo=TZ)
OFFICE = 900_001
FIN = "finance_bureau"


async def test_two_presses_at_once_make_one_recommendation(
    sql_uow: UnitOfWorkFactory, session_factory: async_sessionmaker[AsyncSession], plan: Plan
) -> None:
    await sync_plan_units(plan, sql_uow)
    clock, wd, admins = FixedClock(NOW, TZ), WorkingDays(), frozenset({OFFICE})
    reports = ReportService(uow=sql_uow, plan=plan, clock=clock, working_days=wd, office_admin_ids=admins)
    svc = ReviewService(sql_uow, plan, clock, wd, reports=reports, office_admin_ids=admins)
    done = await svc.record_inspection(
        OFFICE, [FIN], "区纪委", date(2014, 11, 1), [FindingDraft(FIN, FindingSeverity.SERIOUS, "台账缺失")]
    )
    [finding] = done.findings
    assert finding.id is not None

    results = await asyncio.gather(
        *(svc.rectify_finding(OFFICE, finding.id) for _ in range(3)), return_exceptions=True
    )

    made = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, AlreadyRectified)]
    assert len(made) == 1 and len(refused) == 2, results
    async with session_factory() as session:
        recommendations = (
            await session.execute(select(func.count()).select_from(RecommendationRow))
        ).scalar_one()
        notices = (
            await session.execute(
                select(func.count()).select_from(OutboxRow).where(OutboxRow.dedup_key.like("rec-issued:%"))
            )
        ).scalar_one()
    assert recommendations == 1
    assert notices == made[0].told  # the notices of the one recommendation, none of a second
