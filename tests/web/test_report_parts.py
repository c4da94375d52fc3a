"""The report pages' pure parts: filters from a query string, the audit cursor, the download
header, the weekly series and the shared cache. No database, no app."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, date, datetime, timedelta, timezone
from urllib.parse import unquote

import pytest

from core.audit_view import AuditCursor
from core.campaign_view import MAX_WEEKS, DayCount, WeeklySeries, weeks_of
from core.plan import Plan
from core.stats import Period, PeriodKind
from web.reports.cache import TtlCache
from web.reports.downloads import ascii_fallback, content_disposition
from web.reports.filters import parse_filter

TODAY = date(2026, 11, 23)  # a Monday


def d(month: int, day: int) -> date:
    return date(2026, month, day)


@pytest.mark.parametrize(
    ("params", "first", "last", "word"),
    [
        ({}, None, TODAY, "campaign"),  # the chat's /scoreboard default
        ({"period": "this_week"}, date(2026, 11, 23), TODAY, "this_week"),
        ({"period": "weekly"}, date(2026, 11, 16), date(2026, 11, 22), "weekly"),
        ({"period": "daily"}, date(2026, 11, 22), date(2026, 11, 22), "daily"),
        ({"period": "range", "from": "2026-11-01", "to": "2026-11-10"}, d(11, 1), d(11, 10), "range"),
        ({"period": "range", "from": "2026-11-10", "to": "2026-11-01"}, d(11, 1), d(11, 10), "range"),
        ({"period": "range", "from": "2026-11-05"}, date(2026, 11, 5), date(2026, 11, 5), "range"),
        ({"period": "2026-10-01..2026-10-31"}, date(2026, 10, 1), date(2026, 10, 31), "range"),
        ({"from": "2026-11-02", "to": "2026-11-03"}, date(2026, 11, 2), date(2026, 11, 3), "range"),
    ],
)  # fmt: skip
def test_a_period_reads_like_the_chats_arguments(
    plan: Plan, params: dict[str, str], first: date | None, last: date, word: str
) -> None:
    flt = parse_filter(params, plan=plan, today=TODAY)
    assert flt.period.first == (first or plan.start)
    assert flt.period.last == last
    assert flt.period_word == word
    assert flt.ignored == ()


@pytest.mark.parametrize(
    "params",
    [
        {"period": "lastyear"},
        {"period": "range"},
        {"period": "2026-13-01"},
        {"area": "<b>x</b>"},
        {"unit": "nobody"},
    ],
)
def test_what_the_form_never_sends_is_ignored_and_said_not_an_error(
    plan: Plan, params: dict[str, str]
) -> None:
    flt = parse_filter(params, plan=plan, today=TODAY)
    assert flt.period.kind is PeriodKind.CAMPAIGN and flt.area is None and flt.unit is None
    assert len(flt.ignored) == 1


def test_a_unit_filter_is_dropped_where_the_viewer_may_not_choose_one(plan: Plan) -> None:
    assert parse_filter({"unit": "finance_bureau"}, plan=plan, today=TODAY).unit == "finance_bureau"
    assert parse_filter({"unit": "finance_bureau"}, plan=plan, today=TODAY, unit_allowed=False).unit is None


def test_a_filter_reproduces_itself_as_a_query_string(plan: Plan) -> None:
    flt = parse_filter({"from": "2026-11-01", "to": "2026-11-10", "area": "conduct"}, plan=plan, today=TODAY)
    again = parse_filter(dict(_pairs(flt.query())), plan=plan, today=TODAY)
    assert again == flt


def _pairs(query: str) -> list[tuple[str, str]]:
    return [tuple(unquote(x) for x in part.split("=", 1)) for part in query.split("&")]  # type: ignore[misc]


def test_an_audit_cursor_survives_its_link_and_forgeries_are_refused() -> None:
    cursor = AuditCursor(datetime(2026, 11, 23, 2, 0, 0, 123456, tzinfo=UTC), 42)
    assert AuditCursor.decode(cursor.encode()) == cursor
    east = AuditCursor(datetime(2026, 11, 23, 10, 0, tzinfo=timezone(timedelta(hours=8))), 7)
    assert AuditCursor.decode(east.encode()) == east
    for bad in (
        "",
        "42",
        "2026-11-23T02:00:00_abc",
        "2026-11-23T02:00:00_1",
        "x_1; DROP TABLE",
        "2026-11-23_1",
    ):
        with pytest.raises(ValueError):
            AuditCursor.decode(bad)


@pytest.mark.parametrize(
    ("name", "fallback"),
    [
        ("办事难专项整治导出-2026-11-16_2026-11-22.xlsx", "2026-11-16_2026-11-22.xlsx"),
        ("campaign-export-2026.xlsx", "campaign-export-2026.xlsx"),
        ('a"b\\c\r\nX-Evil: 1.csv', "a_b_c_X-Evil_ 1.csv"),
        ("导出.csv", "export.csv"),
    ],
)
def test_a_download_keeps_its_chinese_name_and_a_safe_ascii_fallback(name: str, fallback: str) -> None:
    header = content_disposition(name)
    assert "\r" not in header and "\n" not in header
    assert ascii_fallback(name) == fallback
    encoded = re.search(r"filename\*=UTF-8''([^;\s]+)", header)
    assert encoded is not None and unquote(encoded.group(1)) == name
    assert header.startswith("attachment; filename=")


def test_weekly_series_fold_days_into_mondays_and_drop_days_outside() -> None:
    period = Period(date(2026, 11, 4), date(2026, 11, 18))  # Wed .. Wed
    counts = [
        DayCount(date(2026, 11, 3), "closed", 50),  # before the period
        DayCount(date(2026, 11, 4), "closed", 1),
        DayCount(date(2026, 11, 8), "closed", 2),  # Sunday: same week as the 4th
        DayCount(date(2026, 11, 9), "signed", 3),
        DayCount(date(2026, 11, 18), "weird", 4),  # a key not asked for still shows
    ]
    series = WeeklySeries.fold(period, counts, ("signed", "closed"))
    assert series.weeks == (date(2026, 11, 2), date(2026, 11, 9), date(2026, 11, 16))
    assert series.keys == ("signed", "closed", "weird")
    assert series.values["closed"] == (3, 0, 0)
    assert series.values["signed"] == (0, 3, 0)
    assert series.values["weird"] == (0, 0, 4)
    assert series.total("closed") == 3 and not series.empty


def test_a_long_campaign_keeps_its_latest_weeks() -> None:
    weeks = weeks_of(Period(date(2014, 7, 21), TODAY))
    assert len(weeks) == MAX_WEEKS and weeks[-1] == date(2026, 11, 23)


async def test_the_cache_computes_once_for_concurrent_callers_and_again_after_its_time() -> None:
    now = [0.0]
    cache: TtlCache[int] = TtlCache(10.0, clock=lambda: now[0])
    calls = 0

    async def compute() -> int:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        return calls

    assert await asyncio.gather(*(cache.get("k", compute) for _ in range(5))) == [1] * 5
    now[0] = 9.9
    assert await cache.get("k", compute) == 1
    now[0] = 10.0
    assert await cache.get("k", compute) == 2
    assert await cache.get("other", compute) == 3
