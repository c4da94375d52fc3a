"""Statistics from SQL on SQLite and PostgreSQL, checked to the case against the seeded mix of
``tests/support/stats_seed.py`` (each expected figure says which seeded cases make it)."""

from __future__ import annotations

import base64
import io
from collections import Counter
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.i18n import Catalogue
from bot.reports.build import ReportKind, Reports
from bot.reports.job import outbox_messages
from core.calendar import WorkingDays
from core.cases import Satisfaction
from core.deadlines import DeadlineRules
from core.plan import Plan
from core.ports import UnitOfWorkFactory
from core.reports import RecommendationStatus
from core.services.periodic import DigestKind, DigestRequest
from core.stats import (
    CaseMetrics,
    Count,
    DeliveryStatus,
    ExportFilter,
    Period,
    SelfReportStatus,
    WarningCounts,
    week_of,
)
from storage.db import make_session_factory
from storage.stats import StatsReader, read_only_factory
from tests.support.stats_seed import (
    CASES,
    CITIZEN_PHONE,
    CITIZEN_USER,
    SECRET_TEXT,
    TODAY,
    TZ,
    U1,
    U2A,
    U2B,
    Seeded,
    seed_mix,
)

WEEK = week_of(TODAY - timedelta(days=7))  # 2026-11-16..22
YESTERDAY = Period.day(date(2026, 11, 22))


@pytest.fixture
def rules() -> DeadlineRules:
    return DeadlineRules(WorkingDays(), "Asia/Shanghai")


@pytest.fixture
async def seeded(sql_uow: UnitOfWorkFactory, plan: Plan) -> Seeded:
    return await seed_mix(sql_uow, plan)


@pytest.fixture
def read_only(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return make_session_factory(engine, read_only=True)


@pytest.fixture
async def reader(
    seeded: Seeded, read_only: async_sessionmaker[AsyncSession], rules: DeadlineRules, plan: Plan
) -> AsyncIterator[StatsReader]:
    async with read_only() as session:
        yield StatsReader(session, rules, plan)


# -- the daily digest -------------------------------------------------------------------------


async def test_new_cases_count_by_local_day_area_and_lead_unit(reader: StatsReader) -> None:
    """A1, A2 (23:30 local) and A3 (00:30 local, still the 21st in UTC) are the 22nd's; A4
    (the 21st), A5 (the 23rd) and the draft A6 are not."""
    by_area, by_unit, matrix = await reader.new_cases(YESTERDAY)
    assert by_area == (Count("conduct", 2), Count("enforcement", 1))
    # A3 has two lead units and counts for both; A2 waits in triage
    assert by_unit == (Count(U1, 1), Count(U2A, 1), Count(U2B, 1), Count(None, 1))
    assert sum(m.count for m in matrix if m.area == "enforcement") == 2


async def test_warnings_by_colour_compare_due_dates_with_the_working_day_cutoffs(reader: StatsReader) -> None:
    total, per_unit = await reader.warnings(TODAY)
    # red: W1 (sign-for 11-20), W4 (answer 11-16), W5 (answer on Sunday 11-22), X1 (answer 11-09),
    #      R1 (routed again, sign-for 11-21); yellow: W2, W7 (sign-for today); blue: W3, A1.
    #      W6 (answered), S5 (returned) and W8 (due 11-25) have no colour.
    # 督办 (due on or before 11-22): all five reds; 通报 (answer due on or before 11-16): W4, X1
    assert total == WarningCounts(blue=2, yellow=2, red=5, supervised=5, escalated=2)
    units = {u.unit: u.warnings for u in per_unit}
    assert units[U1] == WarningCounts(blue=1, yellow=2, red=3, supervised=3, escalated=2)
    assert units[U2A] == units[U2B] == WarningCounts(blue=1, yellow=0, red=2, supervised=2, escalated=0)
    assert per_unit[0].unit == U1  # the most red first


async def test_no_blue_on_a_day_off(reader: StatsReader) -> None:
    """On Sunday 11-22 nothing is blue (nobody is at work to act on it); W5 is due that day."""
    total, _ = await reader.warnings(date(2026, 11, 22))
    assert total.blue == 0
    assert total.yellow == 1  # W5


# -- the weekly digest and the scoreboard -------------------------------------------------------


async def test_trend_counts_each_local_day_of_the_week_and_the_week_before(reader: StatsReader) -> None:
    trend = await reader.trend(WEEK)
    counted = Counter(
        c.created.astimezone(TZ).date() for c in CASES if c.state.value != "draft"
    )  # what was seeded, day by day
    assert trend.per_day == tuple(counted.get(d, 0) for d in WEEK.dates()) == (2, 2, 3, 3, 2, 1, 3)
    assert trend.previous_per_day == (4, 0, 0, 0, 0, 0, 0)  # T1, T2, T3, R1 on Monday 11-09
    assert trend.change == 3.0


async def test_totals_count_on_time_rates_and_satisfaction_without_no_response(reader: StatsReader) -> None:
    totals = await reader.totals(WEEK, TODAY)
    assert totals == CaseMetrics(
        received=16,
        # sign-for deadlines in the week: S1 (on time), S2, S3, W1 and R1; S5 was returned
        sign_due=5,
        signed_on_time=1,
        # answer deadlines: S1, S2 (on time), S3 (late), W4, W5 and R1 (its old answer does
        # not meet the deadline set when it was routed again)
        answer_due=6,
        answered_on_time=2,
        # answered in the week: S1 S2 S3 T1 T2 T3 R1 (T4 the week before)
        answered=7,
        satisfied=2,
        basically=1,
        unsatisfied=2,
        no_response=1,
        pending=1,
        reopened=2,  # T2 and R1
    )
    # "no response" counts as a rating, never as satisfied: 3 of 6, not 3 of 5
    assert (totals.satisfaction_rate.num, totals.satisfaction_rate.den) == (3, 6)
    assert totals.satisfaction_shares()[Satisfaction.NO_RESPONSE].rate == pytest.approx(1 / 6)


async def test_scoreboard_rates_per_lead_unit(reader: StatsReader) -> None:
    board = await reader.scoreboard(WEEK, TODAY)
    assert [r.unit for r in board.rows][:3] == [U1, U2A, U2B]  # every active unit, plan order
    assert len(board.rows) == 16
    u1 = board.row(U1)
    assert (u1.cases.received, u1.cases.sign_rate.num, u1.cases.sign_rate.den) == (5, 1, 4)
    assert (u1.cases.answer_rate.num, u1.cases.answer_rate.den) == (2, 4)
    assert (u1.cases.satisfaction_rate.num, u1.cases.satisfaction_rate.den) == (2, 4)  # S1 T1 of S1 S3 T1 T2
    assert (u1.cases.reopen_rate.num, u1.cases.reopen_rate.den) == (1, 5)  # T2
    assert u1.self_report is SelfReportStatus.ON_TIME
    # Rec1: plan on time, report late; Rec2: plan overdue, report not due → 1 on time of 3
    assert (u1.rectification.on_time.num, u1.rectification.on_time.den) == (1, 3)
    assert u1.rectification.plans == {
        DeliveryStatus.ON_TIME: 1,
        DeliveryStatus.LATE: 0,
        DeliveryStatus.OVERDUE: 1,
        DeliveryStatus.PENDING: 0,
    }
    u2 = board.row(U2A)
    # A3; R1 missed signing; W5 and R1 missed answering; T3 satisfied, R1 unsatisfied, reopened
    assert u2.cases == CaseMetrics(
        key=U2A, received=1, sign_due=1, answer_due=2, answered=2, satisfied=1, unsatisfied=1, reopened=1
    )
    assert board.row(U2B).cases.answer_due == 2  # the same cases: both lead them
    assert u2.self_report is SelfReportStatus.LATE
    assert board.row(U2B).self_report is SelfReportStatus.MISSING
    assert (
        board.row("finance_bureau").self_report is SelfReportStatus.MISSING
    )  # its only report was sent back
    # Rec3: the returned late version does not count; the version in is on time
    assert (u2.rectification.on_time.num, u2.rectification.on_time.den) == (1, 1)


async def test_scoreboard_for_one_unit_and_area(reader: StatsReader) -> None:
    board = await reader.scoreboard(WEEK, TODAY, area="procedure", unit=U2B)
    assert [r.unit for r in board.rows] == [U2B]
    # W5 and R1 are procedure; A3 (enforcement) is filtered out
    assert board.rows[0].cases.received == 0 and board.rows[0].cases.answer_due == 2


async def test_self_report_coverage_and_rectification_progress(reader: StatsReader) -> None:
    coverage = await reader.self_reports(TODAY)
    assert coverage.due == date(2014, 8, 10)
    assert (coverage.coverage.num, coverage.coverage.den) == (2, 16)
    assert [u.unit for u in coverage.with_status(SelfReportStatus.LATE)] == [U2A]
    assert len(coverage.with_status(SelfReportStatus.MISSING)) == 14
    assert (coverage.inspected_share.num, coverage.inspected_share.den) == (18, 20)

    per_unit = await reader.rectification(TODAY)
    assert set(per_unit) == {U1, U2A}
    total = per_unit[U1] + per_unit[U2A]
    assert total.by_status == {
        RecommendationStatus.ACCEPTED: 1,
        RecommendationStatus.ISSUED: 1,
        RecommendationStatus.PLAN_SUBMITTED: 1,
    }
    assert total.reports[DeliveryStatus.PENDING] == 2 and total.reports[DeliveryStatus.LATE] == 1


async def test_notice_list_holds_the_weeks_escalations_and_typical_cases(
    reader: StatsReader, seeded: Seeded
) -> None:
    notices = await reader.notices(WEEK)
    assert notices.escalated_total == 1 and notices.typical_total == 1
    (escalated,) = notices.escalated
    assert escalated.tracking_no == seeded.tracking["X1"]  # X2 was escalated the week before
    assert (escalated.due, escalated.overdue_days, escalated.lead_units) == (date(2026, 11, 9), 5, (U1,))
    (typical,) = notices.typical
    assert typical.tracking_no == seeded.tracking["Y1"]  # Y2's last event was in September
    assert typical.lead_units == (U2A, U2B)


async def test_hotspots_are_three_or_more_about_one_target_in_one_area(reader: StatsReader) -> None:
    hotspots = await reader.hotspots(WEEK)
    # price_bureau × extortion (H1-H3) and the same window as written (H6-H8, spaces trimmed);
    # finance_bureau has only two (H4, H5)
    assert [(h.target_unit, h.target_text, h.area, h.count) for h in hotspots] == [
        ("price_bureau", "", "extortion", 3),
        (None, "东风路派出所户籍窗口", "conduct", 3),
    ]


async def test_public_stats_this_week_and_campaign(reader: StatsReader) -> None:
    stats = await reader.public_stats(TODAY)
    assert stats.week.period == Period(date(2026, 11, 23), TODAY, stats.week.period.kind)
    assert stats.week.total.received == 1  # A5, this Monday
    assert stats.campaign.total.received == len(CASES) - 1  # every case but the draft
    areas = {m.key: m.received for m in stats.campaign.by_area}
    assert areas["extortion"] == 7 and sum(areas.values()) == len(CASES) - 1


# -- exports ------------------------------------------------------------------------------------


async def test_exports_page_through_cases_and_events_without_identity(
    reader: StatsReader, seeded: Seeded
) -> None:
    flt = ExportFilter(Period(date(2026, 1, 1), TODAY))
    cases = [c async for c in reader.iter_cases(flt, page=5)]  # several pages
    assert len(cases) == len(CASES) - 1 == await reader.count_cases(flt)
    assert len({c.tracking_no for c in cases}) == len(cases)
    assert [c.created_at for c in cases] == sorted(c.created_at for c in cases)
    events = [e async for e in reader.iter_events(flt, page=4)]
    assert len(events) == await reader.count_events(flt) == (len(CASES) - 1) + 6
    dumped = repr(cases) + repr(events)
    assert CITIZEN_PHONE not in dumped and str(CITIZEN_USER) not in dumped

    by_unit = [c async for c in reader.iter_cases(ExportFilter(WEEK, area="conduct", unit=U1))]
    assert {c.tracking_no for c in by_unit} == {seeded.tracking[n] for n in ("A1", "S1", "S2", "S3", "S5")}


async def test_export_workbook_has_one_sheet_each_and_no_identity(
    seeded: Seeded,
    read_only: async_sessionmaker[AsyncSession],
    rules: DeadlineRules,
    plan: Plan,
    catalogue: Catalogue,
    tmp_path: Path,
) -> None:
    reports = Reports(read_only, plan, rules, catalogue)
    report = await reports.export(ExportFilter(WEEK), TODAY, tmp_path, with_csv=True)
    names = sorted(f.name for f in report.files)
    assert names == sorted(
        [f"export-{WEEK.first}_{WEEK.last}.xlsx"]
        + [f"export-{WEEK.first}_{WEEK.last}-{t}.csv" for t in ("cases", "events", "scoreboard")]
    )
    workbook = load_workbook(tmp_path / names[-1])
    # the last two: 推介典型 and 长效机制 (issue 14)
    assert workbook.sheetnames == ["案件", "办理记录", "单位评分", "特色做法", "长效机制"]
    cases = workbook["案件"]
    assert cases.max_row == 1 + 16 and cases.freeze_panes == "A2"
    assert cases.auto_filter.ref == f"A1:Z{cases.max_row}"
    everything = "".join(
        str(v) for ws in workbook.worksheets for row in ws.iter_rows(values_only=True) for v in row
    )
    assert SECRET_TEXT in everything  # the office's own record of what happened ...
    assert CITIZEN_PHONE not in everything and str(CITIZEN_USER) not in everything  # ... not who
    csv_text = (tmp_path / f"export-{WEEK.first}_{WEEK.last}-events.csv").read_bytes()
    assert csv_text.startswith(b"\xef\xbb\xbf")


# -- digests: the same numbers in the report, queued for the office ------------------------------


async def test_scheduled_digest_is_queued_as_text_chart_and_workbook(
    seeded: Seeded,
    engine: AsyncEngine,
    sql_uow: UnitOfWorkFactory,
    rules: DeadlineRules,
    plan: Plan,
    catalogue: Catalogue,
) -> None:
    reports = Reports(read_only_factory(make_session_factory(engine)), plan, rules, catalogue)
    report = await reports.digest(ReportKind.WEEKLY, TODAY)
    request = DigestRequest(DigestKind.WEEKLY, TODAY, datetime(2026, 11, 23, 8, tzinfo=TZ), None, "digest:w")
    messages = outbox_messages(report, request, chat_id=-100)
    assert [m.method for m in messages] == ["sendMessage", "sendPhoto", "sendDocument"]
    assert "2026年11月16日至2026年11月22日" in str(messages[0].payload["text"])
    photo = messages[1].payload["files"]["photo"]  # type: ignore[index]
    assert base64.b64decode(photo["base64"]).startswith(b"\x89PNG")
    document = messages[2].payload["files"]["document"]  # type: ignore[index]
    workbook = load_workbook(io.BytesIO(base64.b64decode(document["base64"])))
    assert "单位评分" in workbook.sheetnames
    async with sql_uow() as uow:
        first = [await uow.outbox.add(m) for m in messages]
        again = [await uow.outbox.add(m) for m in outbox_messages(report, request, chat_id=-100)]
        await uow.commit()
    assert all(first) and not any(again)  # the dedup keys keep it to one digest
