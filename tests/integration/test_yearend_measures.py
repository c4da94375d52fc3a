"""The year-end report lists each unit's 长效机制 (done / total, dropped not counted) and its
特色做法 of the year, in the page and in two sheets of the workbook; other years' are left out."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from openpyxl import load_workbook
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.i18n import Catalogue
from bot.reports.labels import Labels
from bot.reports.yearend import build_yearend, write_yearend
from core.attachments import AttachmentKind
from core.calendar import WorkingDays
from core.deadlines import DeadlineRules
from core.measures import Evidence, GoodPractice, Measure, MeasureStatus
from core.plan import Plan
from core.ports import UnitOfWorkFactory
from core.services.units import sync_plan_units

TZ = ZoneInfo("Asia/Shanghai")
UNIT = "finance_bureau"
DOC = Evidence("doc1", "udoc1", AttachmentKind.DOCUMENT, "application/pdf", "制度.pdf", 1000)


def local(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, 10, tzinfo=TZ)


async def test_the_yearend_report_counts_each_units_measures_and_practices(
    uow_factory: UnitOfWorkFactory, session_factory: async_sessionmaker[AsyncSession], plan: Plan,
    catalogue: Catalogue, tmp_path: Path,
) -> None:  # fmt: skip
    await sync_plan_units(plan, uow_factory)
    async with uow_factory() as uow:
        for title, status, due in (
            ("首问负责制度", MeasureStatus.DONE, date(2014, 10, 31)),
            ("限时办结制度", MeasureStatus.IN_PROGRESS, date(2014, 12, 15)),
            ("群众评议制度", MeasureStatus.DROPPED, date(2014, 12, 31)),
        ):
            evidence = [DOC] if status is MeasureStatus.DONE else []
            await uow.practices.add_measure(
                Measure(UNIT, title, due, local(2014, 9, 1), status=status, evidence=evidence)
            )
        # another year's measure and practice are not this year's
        await uow.practices.add_measure(Measure(UNIT, "旧制度", date(2013, 6, 1), local(2013, 1, 5)))
        await uow.practices.add_practice(GoodPractice(UNIT, "一次告知", "清单公开", local(2014, 10, 8)))
        await uow.practices.add_practice(GoodPractice(UNIT, "旧做法", "……", local(2013, 5, 8)))
        await uow.commit()

    rules = DeadlineRules(WorkingDays(), TZ)
    report = await build_yearend(session_factory, plan, rules, 2014, date(2015, 1, 10))
    counted = report.measure_tally[UNIT]
    # 限时办结 was due 12-15: late by the year end; the dropped one is not counted
    assert (counted.done, counted.total, counted.overdue) == (1, 2, 1)
    assert [p.title for p in report.practices] == ["一次告知"]

    labels = Labels(catalogue, plan, "zh", TZ)
    write_yearend(report, labels, tmp_path)
    book = load_workbook(tmp_path / "yearend-2014.xlsx")
    measures = list(book["长效机制"].iter_rows(min_row=2, values_only=True))
    assert sorted((row[1], row[2], row[5]) for row in measures) == [
        ("群众评议制度", "不再实施", 0),
        ("限时办结制度", "推进中", 0),
        ("首问负责制度", "已完成", 1),
    ]
    [practice] = list(book["特色做法"].iter_rows(min_row=2, values_only=True))
    assert practice[:3] == ("区财政局", "一次告知", "清单公开")
    page = (tmp_path / "yearend-2014.html").read_text(encoding="utf-8")
    assert "长效机制 已完成 1/2" in page and "特色做法 1 项" in page
