"""The classifier report's port on the database (SQLite and PostgreSQL): the service reads a
period's local days through ``SqlDecidedCases`` and counts what the seed says."""

from __future__ import annotations

from datetime import date

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.plan import Plan
from core.ports import UnitOfWorkFactory
from core.services.classifier_report import ClassifierReportService
from core.stats import Period, PeriodKind
from storage.classifier_report import SqlDecidedCases
from storage.models import CaseRow
from tests.support.classifier_seed import TZ, seed_classifier_cases


async def test_the_service_reads_the_period_through_the_sql_port(
    uow_factory: UnitOfWorkFactory, session_factory: async_sessionmaker[AsyncSession], plan: Plan
) -> None:
    await seed_classifier_cases(uow_factory, plan)
    service = ClassifierReportService(SqlDecidedCases(session_factory), plan, TZ)
    week = await service.report(Period(date(2026, 11, 16), date(2026, 11, 22), PeriodKind.RANGE))
    assert (week.report.total, week.report.agreed) == (5, 2)  # the office finding is not counted
    assert week.phrases == (("拖拉", 2), ("窗口", 1))
    month = await service.report(Period(date(2026, 11, 1), date(2026, 11, 30), PeriodKind.RANGE))
    assert month.report.total == 6 and month.report.cell("extortion", "conduct") == 1
    empty = await service.report(Period(date(2026, 11, 21), date(2026, 11, 22), PeriodKind.RANGE))
    assert empty.report.total == 0 and empty.phrases == ()


async def test_a_sub_campaigns_office_reads_its_own_cases_only(
    uow_factory: UnitOfWorkFactory, session_factory: async_sessionmaker[AsyncSession], plan: Plan
) -> None:
    await seed_classifier_cases(uow_factory, plan)
    async with session_factory() as session:
        await session.execute(
            update(CaseRow).where(CaseRow.tracking_no == "ZH-2026-000001").values(campaign="xiangzhou")
        )
        await session.commit()
    period = Period(date(2026, 11, 1), date(2026, 11, 30), PeriodKind.RANGE)
    street = ClassifierReportService(SqlDecidedCases(session_factory, campaign="xiangzhou"), plan, TZ)
    district = ClassifierReportService(SqlDecidedCases(session_factory, campaign=""), plan, TZ)
    everything = ClassifierReportService(SqlDecidedCases(session_factory), plan, TZ)
    mine = await street.report(period)
    assert [c.examples for c in mine.report.confusions] == [("ZH-2026-000001",)]
    assert (await district.report(period)).report.total == 5
    assert (await everything.report(period)).report.total == 6
