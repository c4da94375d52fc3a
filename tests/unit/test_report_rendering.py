"""Reports rendered from plain statistics: periods, rates, digest text, XLSX, CSV and charts.

No database: the digests are built by hand. The chart tests need a CJK font on the machine
(Debian's fonts-noto-cjk, which ``make setup`` installs) and say so when it is missing.
"""

from __future__ import annotations

import io
import warnings
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from bot.i18n import Catalogue
from bot.reports import charts
from bot.reports.labels import Labels
from bot.reports.tables import CASES, SCOREBOARD, csv_bytes, xlsx_bytes
from bot.reports.text import daily_text, public_text, scoreboard_text, split_message, weekly_text
from core.calendar import WorkingDays
from core.deadlines import DeadlineRules
from core.plan import Plan
from core.reports import RecommendationStatus
from core.stats import (
    AreaUnitCount,
    CaseMetrics,
    CaseRecord,
    Count,
    DailyDigest,
    DeliveryStatus,
    Hotspot,
    NoticeEntry,
    NoticeKind,
    NoticeList,
    Period,
    PeriodKind,
    PeriodStats,
    PublicStats,
    Ratio,
    RectificationCounts,
    Scoreboard,
    ScoreRow,
    SelfReportCoverage,
    SelfReportStatus,
    Trend,
    UnitSelfReport,
    UnitWarnings,
    WarningCounts,
    WarningDates,
    WeeklyDigest,
    parse_period,
    self_report_status,
)

TZ = ZoneInfo("Asia/Shanghai")
TODAY = date(2026, 11, 23)  # a Monday
START = date(2014, 7, 21)
WEEK = Period(date(2026, 11, 16), date(2026, 11, 22), PeriodKind.WEEKLY)


@pytest.fixture
def zh(catalogue: Catalogue, plan: Plan) -> Labels:
    return Labels(catalogue, plan, "zh", TZ)


@pytest.fixture
def en(catalogue: Catalogue, plan: Plan) -> Labels:
    return Labels(catalogue, plan, "en", TZ)


# -- periods and rates ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "first", "last"),
    [
        ("daily", date(2026, 11, 22), date(2026, 11, 22)),
        ("weekly", date(2026, 11, 16), date(2026, 11, 22)),
        ("WEEKLY", date(2026, 11, 16), date(2026, 11, 22)),
        ("this_week", date(2026, 11, 23), date(2026, 11, 23)),
        ("this-week", date(2026, 11, 23), date(2026, 11, 23)),
        ("campaign", START, TODAY),
        ("2026-11-01", date(2026, 11, 1), date(2026, 11, 1)),
        ("2026-11-01..2026-11-22", date(2026, 11, 1), date(2026, 11, 22)),
    ],
)
def test_periods_are_read_as_local_dates(text: str, first: date, last: date) -> None:
    period = parse_period(text, TODAY, START)
    assert (period.first, period.last) == (first, last)


def test_weekly_on_a_wednesday_is_still_the_last_full_week() -> None:
    assert parse_period("weekly", date(2026, 11, 25), START) == WEEK


@pytest.mark.parametrize("text", ["yesterday", "2026-13-01", "2026-11-22..2026-11-01", "1..2", ""])
def test_a_bad_period_says_what_is_accepted(text: str) -> None:
    with pytest.raises(ValueError):
        parse_period(text, TODAY, START)


def test_period_bounds_are_local_midnights_and_previous_is_as_long() -> None:
    assert WEEK.start(TZ) == datetime(2026, 11, 16, tzinfo=TZ)
    assert WEEK.end(TZ) == datetime(2026, 11, 23, tzinfo=TZ)
    assert WEEK.previous() == Period(date(2026, 11, 9), date(2026, 11, 15), PeriodKind.WEEKLY)
    assert len(WEEK.dates()) == WEEK.days == 7


def test_nothing_to_rate_is_no_rate_not_zero_or_full() -> None:
    assert Ratio(0, 0).rate is None
    assert Ratio(1, 4).rate == 0.25
    assert Ratio(1, 4) + Ratio(1, 1) == Ratio(2, 5)


def test_no_response_is_rated_but_never_satisfied() -> None:
    m = CaseMetrics(answered=7, satisfied=2, basically=1, unsatisfied=2, no_response=1, pending=1)
    assert m.rated == 6  # pending is not a rating
    assert m.satisfaction_rate == Ratio(3, 6)


@pytest.mark.parametrize(
    ("filed", "on_time", "due", "expected"),
    [
        (True, True, date(2026, 11, 20), SelfReportStatus.ON_TIME),
        (True, False, date(2026, 11, 20), SelfReportStatus.LATE),
        (False, False, date(2026, 11, 20), SelfReportStatus.MISSING),
        (False, False, date(2026, 11, 23), SelfReportStatus.PENDING),
        (False, False, None, SelfReportStatus.NOT_SET),
    ],
)
def test_self_report_status(filed: bool, on_time: bool, due: date | None, expected: SelfReportStatus) -> None:
    assert self_report_status(filed, on_time, due, TODAY) is expected


def test_rectification_on_time_counts_what_is_delivered_or_overdue() -> None:
    counts = RectificationCounts(
        plans={DeliveryStatus.ON_TIME: 2, DeliveryStatus.OVERDUE: 1},
        reports={DeliveryStatus.LATE: 1, DeliveryStatus.PENDING: 5},
    )
    assert counts.on_time == Ratio(2, 4)  # pending reports are not due yet


def test_warning_dates_give_the_same_colours_as_the_deadline_rules() -> None:
    """The SQL compares due dates with ``WarningDates``; that must agree with
    ``DeadlineRules.colour`` for every day, weekends and the National Day week included."""
    rules = DeadlineRules(WorkingDays(), "Asia/Shanghai")
    for today in (date(2026, 9, 25) + timedelta(days=i) for i in range(30)):
        d = WarningDates.on(rules, today)
        for due in (today + timedelta(days=k) for k in range(-12, 12)):
            if due < d.today:
                sql = "red"
            elif due == d.today:
                sql = "yellow"
            elif due == d.blue:
                sql = "blue"
            else:
                sql = "none"
            assert sql == rules.colour(due, today).value, (today, due)
            assert (due <= d.supervision_cutoff) == (today >= rules.supervision_day(due)), (today, due)
            assert (due <= d.escalation_cutoff) == (today >= rules.escalation_day(due)), (today, due)


def test_long_texts_are_split_at_line_breaks() -> None:
    text = "\n".join(f"第{i}行 " + "字" * 50 for i in range(200))
    parts = split_message(text, limit=1000)
    assert all(len(p) <= 1000 for p in parts)
    assert "\n".join(parts) == text


# -- digest text ----------------------------------------------------------------------------------


def _metrics(key: str | None = None, **counts: int) -> CaseMetrics:
    return CaseMetrics(key=key, **counts)


def _daily() -> DailyDigest:
    return DailyDigest(
        today=TODAY,
        period=Period.day(date(2026, 11, 22), PeriodKind.DAILY),
        new_by_area=(Count("conduct", 2), Count(None, 1)),
        new_by_unit=(Count("organs_work_committee", 2), Count(None, 1)),
        new_by_area_unit=(AreaUnitCount("conduct", "organs_work_committee", 2), AreaUnitCount(None, None, 1)),
        warnings=WarningCounts(blue=2, yellow=1, red=4, supervised=3, escalated=1),
        warnings_by_unit=(UnitWarnings("organs_work_committee", WarningCounts(blue=2, yellow=1, red=4)),),
    )


def _board(period: Period = WEEK) -> Scoreboard:
    rect = RectificationCounts(
        by_status={RecommendationStatus.ISSUED: 1},
        plans={DeliveryStatus.ON_TIME: 1, DeliveryStatus.OVERDUE: 1},
        reports={DeliveryStatus.PENDING: 1},
    )
    return Scoreboard(
        period=period,
        today=TODAY,
        rows=(
            ScoreRow(
                "organs_work_committee",
                _metrics(
                    "organs_work_committee",
                    received=5,
                    sign_due=4,
                    signed_on_time=1,
                    answer_due=4,
                    answered_on_time=2,
                    answered=5,
                    satisfied=1,
                    basically=1,
                    unsatisfied=1,
                    no_response=1,
                    pending=1,
                    reopened=1,
                ),
                SelfReportStatus.ON_TIME,
                rect,
            ),
            ScoreRow(
                "audit_bureau",
                CaseMetrics(key="audit_bureau"),
                SelfReportStatus.MISSING,
                RectificationCounts(),
            ),
        ),
    )


def _weekly() -> WeeklyDigest:
    return WeeklyDigest(
        today=TODAY,
        period=WEEK,
        trend=Trend(WEEK, (2, 2, 3, 3, 2, 1, 3), (4, 0, 0, 0, 0, 0, 0)),
        totals=_metrics(
            received=16,
            sign_due=5,
            signed_on_time=1,
            answer_due=6,
            answered_on_time=2,
            answered=7,
            satisfied=2,
            basically=1,
            unsatisfied=2,
            no_response=1,
            pending=1,
            reopened=2,
        ),
        scoreboard=_board(),
        self_reports=SelfReportCoverage(
            date(2014, 8, 10),
            (
                UnitSelfReport("organs_work_committee", SelfReportStatus.ON_TIME, 9, 10),
                UnitSelfReport("audit_bureau", SelfReportStatus.MISSING),
            ),
        ),
        rectification=_board().rows[0].rectification,
        notices=NoticeList(
            escalated=(
                NoticeEntry(
                    NoticeKind.ESCALATED,
                    "ZH-2026-000032",
                    "conduct",
                    ("organs_work_committee",),
                    due=date(2026, 11, 9),
                    overdue_days=5,
                ),
            ),
            escalated_total=1,
            typical=(
                NoticeEntry(
                    NoticeKind.TYPICAL,
                    "ZH-2026-000034",
                    "extortion",
                    ("discipline_commission",),
                    outcome="substantiated",
                    measure="admonition",
                ),
            ),
            typical_total=1,
        ),
        hotspots=(Hotspot("price_bureau", "", "extortion", 3), Hotspot(None, "<东风路>窗口", "conduct", 3)),
    )


def test_daily_digest_text_has_the_counts_and_the_colours(zh: Labels) -> None:
    text = daily_text(_daily(), zh, escalate_after=5)
    assert "📊 日报 · 2026年11月23日" in text
    assert "<b>新受理</b>（2026年11月22日）：<b>3</b> 件" in text
    assert "类别未定 1" in text and "待分办 1" in text
    assert "🔴 超期 <b>4</b> 件（已发督办通知 3 件；答复超期 5 个工作日以上、列入通报 1 件）" in text
    assert "🔵 还剩 1 个工作日 <b>2</b> 件" in text


def test_weekly_digest_text_covers_every_part_and_escapes_what_citizens_wrote(zh: Labels, en: Labels) -> None:
    text = weekly_text(_weekly(), zh, escalate_after=5)
    for expected in (
        "本期 <b>16</b> 件，上期 4 件（增加 300%）",
        "签收 20%（1/5），答复 33%（2/6）",
        "满意 2、基本满意 1、不满意 2、未回复 1，待评价 1；满意率 50%（3/6）",
        "已报 50%（1/2）",
        "未报：区审计局",
        "整改建议书 1 份（已下达 1）",
        "<code>ZH-2026-000032</code>",
        "属实、诫勉谈话",
        "区物价局 · 四、吃拿卡要报：3 件",
        "“&lt;东风路&gt;窗口”",
        "区直机关工委</b>：受理 5 · 签收 25% · 答复 50% · 满意 50% · 重办 20% · 自查 按时 · 整改 50%",
    ):
        assert expected in text, expected
    assert "Weekly digest · 2026-11-16 to 2026-11-22" in weekly_text(_weekly(), en, escalate_after=5)


def test_scoreboard_text_lists_active_units_and_names_the_quiet_ones(zh: Labels) -> None:
    text = scoreboard_text(_board(), zh)
    assert "区直机关工委" in text and "本期没有案件的单位（1 个）：区审计局" in text


def test_public_text_holds_aggregates_only(zh: Labels) -> None:
    row = _metrics("conduct", received=3, answer_due=2, answered_on_time=1, satisfied=1, no_response=1)
    unit = _metrics("organs_work_committee", received=3)
    stats = PublicStats(
        TODAY,
        PeriodStats(Period(TODAY, TODAY), _metrics(received=1), (), ()),
        PeriodStats(Period(START, TODAY), row, (row,), (unit,)),
    )
    text = public_text(stats, zh)
    assert "受理 <b>3</b> 件 · 按时答复 50%（1/2） · 满意率 50%（1/2）" in text
    assert "• 一、拖拉推诿、态度差、纪律松弛：受理 3" in text
    assert "• 区直机关工委：受理 3" in text
    assert "ZH-" not in text


# -- spreadsheets ---------------------------------------------------------------------------------


def _case(description: str) -> CaseRecord:
    at = datetime(2026, 11, 22, 23, 30, tzinfo=TZ)
    return CaseRecord(
        tracking_no="ZH-2026-000001", state="assigned", source="citizen", area="conduct", area_auto="conduct",
        confidence=0.8, lead_units=("organs_work_committee",), assist_units=(), target_unit=None,
        target_text="窗口", place="", occurred="", description=description, created_at=at, assigned_at=at,
        sign_due=date(2026, 11, 24), signed_at=None, answer_due=date(2026, 11, 30), answered_at=None,
        extended=False, closed_at=None, outcome=None, measure=None, typical=False, satisfaction=None,
        satisfaction_comment="",
    )  # fmt: skip


def test_xlsx_has_chinese_headers_a_filter_a_frozen_header_and_widths(zh: Labels) -> None:
    from bot.reports.tables import case_row, scoreboard_rows

    rows = [case_row(_case('=HYPERLINK("http://x")'), zh), case_row(_case("态度差\x07"), zh)]
    data = xlsx_bytes([(CASES, rows), (SCOREBOARD, scoreboard_rows(_board(), zh))], zh)
    workbook = load_workbook(io.BytesIO(data))
    assert workbook.sheetnames == ["案件", "单位评分"]
    ws = workbook["案件"]
    header = [c.value for c in ws[1]]
    assert header[:4] == ["受理编号", "状态", "来源", "问题类别"]
    assert "投诉人" not in "".join(str(h) for h in header)
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == "A1:Z3"
    assert ws.column_dimensions["M"].width == 60  # the description
    description = ws["M2"]
    assert (
        description.value == '=HYPERLINK("http://x")' and description.data_type == "s"
    )  # text, not a formula
    assert ws["M3"].value == "态度差"  # a control character Excel refuses is dropped
    assert ws["N2"].value == datetime(2026, 11, 22, 23, 30)  # local time
    assert ws["B2"].value == "已交办"
    board = workbook["单位评分"]
    assert board["A2"].value == "区直机关工委" and board["E2"].value == 0.25
    assert board["E2"].number_format == "0.0%"


def test_csv_starts_with_a_bom_and_defuses_formulas(zh: Labels) -> None:
    from bot.reports.tables import case_row

    data = csv_bytes(CASES, [case_row(_case("=1+1"), zh)], zh)
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    header, row = text.splitlines()
    assert header.startswith("受理编号,状态,来源,问题类别")
    assert ",'=1+1," in row
    assert "2026-11-22 23:30" in row


# -- charts ---------------------------------------------------------------------------------------

CJK_FILES = [
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
]


@pytest.fixture
def cjk_installed() -> None:
    from matplotlib import font_manager

    installed = any(p.exists() for p in CJK_FILES) or any(
        hint in name for name in font_manager.findSystemFonts() for hint in charts.CJK_FILE_HINTS
    )
    if not installed:
        pytest.skip("no CJK font installed: apt-get install fonts-noto-cjk (make setup does it as root)")


def test_a_cjk_font_is_found(cjk_installed: None) -> None:
    family = charts.cjk_font()
    assert family is not None
    assert family in charts.CJK_FAMILIES or "CJK" in family or "Hei" in family


@pytest.mark.parametrize("which", ["daily", "weekly", "scoreboard"])
def test_charts_are_pngs_with_chinese_glyphs(which: str, zh: Labels, cjk_installed: None) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if which == "daily":
            png = charts.daily_chart(_daily(), zh)
        elif which == "weekly":
            png = charts.weekly_chart(_weekly(), zh)
        else:
            png = charts.scoreboard_chart(_board(), zh)
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000
    missing = [str(w.message) for w in caught if "missing from font" in str(w.message)]
    assert missing == []  # matplotlib warns for every glyph it has to draw as a box


def test_empty_charts_still_render(zh: Labels) -> None:
    empty = DailyDigest(TODAY, Period.day(TODAY), (), (), (), WarningCounts(), ())
    assert charts.daily_chart(empty, zh).startswith(b"\x89PNG")
