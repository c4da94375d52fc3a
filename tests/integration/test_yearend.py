"""The year-end assessment (python -m bot report yearend) on a real database: one unit's
composite recomputed by hand from its cases, its reports, its accountability record and its
review findings (复核检查: only the year's count); its acceptance on its line; the ranking, the
workbook and the printable page."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from openpyxl import load_workbook
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.i18n import Catalogue
from bot.reports.labels import Labels
from bot.reports.yearend import build_yearend, write_yearend
from core.assessment import Part
from core.calendar import WorkingDays
from core.cases import Case, Satisfaction, Source
from core.deadlines import DeadlineRules
from core.directory import InviteRole
from core.plan import Plan
from core.ports import UnitOfWorkFactory
from core.reports import AccountabilityOutcome, AccountabilityRecord
from core.review import FindingSeverity, ReviewFinding, ReviewInspection, UnitAcceptance
from core.services.units import sync_plan_units
from core.states import CaseState

TZ = ZoneInfo("Asia/Shanghai")
UNIT = "finance_bureau"


def local(month: int, day: int, hour: int = 10) -> datetime:
    return datetime(2014, month, day, hour, tzinfo=TZ)


def answered_case(n: int, answered: datetime, satisfaction: Satisfaction | None) -> Case:
    """Filed and assigned on 9-1, answer due 9-15, answered at ``answered``, closed."""
    return Case(
        tracking_no=f"ZH-2014-{n:06d}", state=CaseState.CLOSED, source=Source.CITIZEN,
        description="窗口推诿", created_at=local(9, 1), area_final="conduct", lead_unit_ids=[UNIT],
        assigned_at=local(9, 1), sign_due=date(2014, 9, 2), signed_at=local(9, 1, 15),
        answer_due=date(2014, 9, 15), answered_at=answered, closed_at=answered, satisfaction=satisfaction,
    )  # fmt: skip


async def test_one_units_composite_is_the_weighted_sum_of_its_figures(
    uow_factory: UnitOfWorkFactory, session_factory: async_sessionmaker[AsyncSession], plan: Plan,
    catalogue: Catalogue, tmp_path: Path,
) -> None:  # fmt: skip
    await sync_plan_units(plan, uow_factory)
    cases = [
        answered_case(1, local(9, 10), Satisfaction.SATISFIED),  # on time, satisfied
        answered_case(2, local(9, 12), Satisfaction.BASICALLY),  # on time, basically satisfied
        answered_case(3, local(9, 15, 17), Satisfaction.UNSATISFIED),  # on time (the due day)
        answered_case(4, local(9, 19), Satisfaction.NO_RESPONSE),  # late; no rating counts as not satisfied
    ]
    async with uow_factory() as uow:
        for case in cases:
            stored = await uow.cases.add(case)
            assert stored.id is not None
            await uow.cases.set_units(stored.id, [UNIT], [])
        await uow.reports.add_accountability(
            AccountabilityRecord(
                UNIT, "隐瞒问题", AccountabilityOutcome.ADMONITION, local(11, 3).astimezone(UTC)
            )
        )
        # 复核检查: one serious finding in 2014 counts; the one of a 2013 inspection does not
        for day, severity in (
            (date(2014, 10, 20), FindingSeverity.SERIOUS),
            (date(2013, 12, 2), FindingSeverity.GRAVE),
        ):
            inspection = await uow.review.add_inspection(
                ReviewInspection("区纪委", day, [UNIT], local(11, 1))
            )
            assert inspection.id is not None
            await uow.review.add_finding(
                ReviewFinding(inspection.id, UNIT, severity, "台账缺失", local(11, 1))
            )
        await uow.review.add_unit_acceptance(UnitAcceptance(UNIT, True, local(12, 20)))
        # decided only after the year: the year-end report says not decided
        await uow.review.add_unit_acceptance(
            UnitAcceptance("audit_bureau", True, datetime(2015, 1, 5, tzinfo=TZ))
        )
        await uow.commit()

    rules = DeadlineRules(WorkingDays(), TZ)
    report = await build_yearend(session_factory, plan, rules, 2014, date(2015, 1, 10))
    mine = next(a for a in report.ranking if a.unit == UNIT)
    weights = dict(plan.assessment)
    # by hand: 3 of 4 answers on time; 2 of 4 ratings satisfied or basically; none reopened;
    # the self-inspection report (due 2014-08-10) never came: 0 of 2; one accountability record;
    # one serious review finding of 2014 (a quarter off)
    by_hand = (
        weights[Part.ANSWERED_ON_TIME] * 3 / 4
        + weights[Part.SATISFACTION] * 2 / 4
        + weights[Part.REOPEN] * (1 - 0 / 4)
        + weights[Part.REPORTS_ON_TIME] * 0 / 2
        + weights[Part.ACCOUNTABILITY] * (1 - 0.25)
        + weights[Part.REVIEW] * (1 - 0.25)
    )
    assert sum(weights.values()) == 100 and weights[Part.REVIEW] == 10
    assert mine.composite == round(by_hand, 1) == 58.8  # 18.75 + 15 + 10 + 0 + 7.5 + 7.5
    assert mine.part(Part.REVIEW).basis is not None and mine.part(Part.REVIEW).basis.num == 1  # type: ignore[union-attr]
    assert report.acceptance == {UNIT: True}
    assert (mine.part(Part.ANSWERED_ON_TIME).basis.num, mine.part(Part.ANSWERED_ON_TIME).basis.den) == (3, 4)  # type: ignore[union-attr]
    assert [a.rank for a in report.ranking] == sorted(a.rank for a in report.ranking)
    assert report.ranking[0].composite >= report.ranking[-1].composite

    labels = Labels(catalogue, plan, "zh", TZ)
    out = tmp_path
    paths = write_yearend(report, labels, out)
    assert sorted(p.suffix for p in paths) == [".html", ".png", ".xlsx"]
    sheet = load_workbook(out / "yearend-2014.xlsx")["排名"]
    rows = {row[1]: row for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert rows["区财政局"][2] == 58.8 and rows["区财政局"][0] == mine.rank
    assert rows["区财政局"][-1] == "验收通过" and rows[labels.unit("audit_bureau")][-1] == "未验收"
    page = (out / "yearend-2014.html").read_text(encoding="utf-8")
    assert "2014 年度整治“办事难”工作年终绩效评估" in page and "区财政局" in page and "58.8" in page
    assert "复核问题 1 个" in page and "验收通过" in page
    assert "窗口推诿" not in page  # the citizens' words never reach the report


async def test_the_report_carries_the_leaders_who_held_each_role_that_year(
    uow_factory: UnitOfWorkFactory, session_factory: async_sessionmaker[AsyncSession], plan: Plan,
    catalogue: Catalogue, tmp_path: Path,
) -> None:  # fmt: skip
    await sync_plan_units(plan, uow_factory)
    async with uow_factory() as uow:
        for user_id in (71, 72, 73, 74):
            await uow.users.upsert(user_id, now=local(3, 1), chat_id=user_id)
        # the head changed in the summer: the one at the year's end signs; the campaign leader
        # bound in 2013 and never replaced; another unit's head bound only in 2015 does not appear
        await uow.leaders.bind(UNIT, InviteRole.FIRST_RESPONSIBLE, 71, name="钱一", now=local(3, 1))
        await uow.leaders.bind(UNIT, InviteRole.FIRST_RESPONSIBLE, 72, name="孙二", now=local(7, 1))
        await uow.leaders.bind(
            UNIT, InviteRole.CAMPAIGN_LEADER, 73, name="李三", now=datetime(2013, 12, 1, tzinfo=TZ)
        )
        await uow.leaders.bind(
            "development_reform",
            InviteRole.FIRST_RESPONSIBLE,
            74,
            name="周四",
            now=datetime(2015, 1, 5, tzinfo=TZ),
        )
        await uow.commit()

    rules = DeadlineRules(WorkingDays(), TZ)
    report = await build_yearend(session_factory, plan, rules, 2014, date(2015, 1, 10))
    assert report.leaders == {
        UNIT: {InviteRole.FIRST_RESPONSIBLE: "孙二", InviteRole.CAMPAIGN_LEADER: "李三"}
    }

    labels = Labels(catalogue, plan, "zh", TZ)
    write_yearend(report, labels, tmp_path)
    sheet = load_workbook(tmp_path / "yearend-2014.xlsx")["排名"]
    head = next(sheet.iter_rows(max_row=1, values_only=True))
    rows = {
        row[1]: dict(zip(head, row, strict=True)) for row in sheet.iter_rows(min_row=2, values_only=True)
    }
    assert rows["区财政局"]["一把手（第一责任人）"] == "孙二"
    assert rows["区财政局"]["分管领导"] == "李三"
    assert rows[labels.unit("development_reform")]["一把手（第一责任人）"] in ("", None)
    page = (tmp_path / "yearend-2014.html").read_text(encoding="utf-8")
    assert "孙二" in page and "李三" in page and "钱一" not in page and "周四" not in page
