"""Working days on the Chinese statutory calendar, with 调休 and the weekends-only fallback."""

from __future__ import annotations

import logging
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.calendar import ChineseCalendarSource, StaticHolidaySource, WorkingDays

D = date
WD = WorkingDays(ChineseCalendarSource())


@pytest.mark.parametrize(
    ("day", "workday"),
    [
        # 2014 National Day: Oct 1-7 off; Sun Sep 28 and Sat Oct 11 were make-up workdays
        (D(2014, 9, 26), True),  # Friday
        (D(2014, 9, 27), False),  # Saturday
        (D(2014, 9, 28), True),  # Sunday, 调休
        (D(2014, 9, 30), True),
        *[(D(2014, 10, d), False) for d in range(1, 8)],
        (D(2014, 10, 8), True),
        (D(2014, 10, 11), True),  # Saturday, 调休
        (D(2014, 10, 12), False),  # Sunday
        # 2015 Spring Festival: Feb 18-24 off; Sun Feb 15 and Sat Feb 28 make-up workdays
        (D(2015, 2, 14), False),
        (D(2015, 2, 15), True),  # Sunday, 调休
        (D(2015, 2, 17), True),
        *[(D(2015, 2, d), False) for d in range(18, 25)],
        (D(2015, 2, 25), True),
        (D(2015, 2, 28), True),  # Saturday, 调休
        (D(2015, 3, 1), False),
        # 2026 as chinesecalendar 1.11 has it: Mid-Autumn Fri Sep 25 - Sun Sep 27 off,
        # National Day Oct 1-7 off, make-up workdays Sun Sep 20 and Sat Oct 10
        (D(2026, 9, 19), False),
        (D(2026, 9, 20), True),  # Sunday, 调休
        (D(2026, 9, 24), True),
        (D(2026, 9, 25), False),  # Friday, Mid-Autumn
        (D(2026, 9, 26), False),
        (D(2026, 9, 27), False),
        (D(2026, 9, 28), True),
        (D(2026, 9, 30), True),
        *[(D(2026, 10, d), False) for d in range(1, 8)],
        (D(2026, 10, 8), True),
        (D(2026, 10, 9), True),
        (D(2026, 10, 10), True),  # Saturday, 调休
        (D(2026, 10, 11), False),
        # an ordinary week
        (D(2014, 11, 3), True),
        (D(2014, 11, 8), False),
        (D(2014, 11, 9), False),
    ],
)
def test_statutory_calendar(day: date, workday: bool) -> None:
    assert WD.is_workday(day) is workday


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        (D(2014, 9, 26), 0, D(2014, 9, 26)),
        (D(2014, 9, 27), 0, D(2014, 9, 28)),  # n=0 on a day off: the next working day
        (D(2014, 9, 26), 1, D(2014, 9, 28)),  # the 调休 Sunday counts
        (D(2014, 9, 30), 1, D(2014, 10, 8)),  # over the whole holiday week
        (D(2014, 10, 10), 1, D(2014, 10, 11)),  # the 调休 Saturday counts
        (D(2014, 10, 10), 2, D(2014, 10, 13)),
        (D(2014, 10, 3), 1, D(2014, 10, 8)),
        (D(2015, 2, 13), 1, D(2015, 2, 15)),
        (D(2015, 2, 17), 1, D(2015, 2, 25)),
        (D(2015, 2, 27), 1, D(2015, 2, 28)),
        (D(2015, 2, 27), 2, D(2015, 3, 2)),
        (D(2026, 9, 24), 1, D(2026, 9, 28)),
        (D(2026, 9, 30), 1, D(2026, 10, 8)),
        (D(2026, 9, 30), 3, D(2026, 10, 10)),
        (D(2026, 9, 30), 4, D(2026, 10, 12)),
    ],
)
def test_add_working_days(start: date, n: int, expected: date) -> None:
    assert WD.add_working_days(start, n) == expected


@pytest.mark.parametrize(
    ("day", "nxt", "prev"),
    [
        (D(2014, 9, 30), D(2014, 10, 8), D(2014, 9, 29)),
        (D(2014, 10, 4), D(2014, 10, 8), D(2014, 9, 30)),
        (D(2014, 10, 8), D(2014, 10, 9), D(2014, 9, 30)),
        (D(2014, 9, 29), D(2014, 9, 30), D(2014, 9, 28)),  # previous is the 调休 Sunday
        (D(2014, 10, 13), D(2014, 10, 14), D(2014, 10, 11)),  # previous is the 调休 Saturday
        (D(2015, 2, 25), D(2015, 2, 26), D(2015, 2, 17)),
    ],
)
def test_next_and_previous_workday(day: date, nxt: date, prev: date) -> None:
    assert WD.next_workday(day) == nxt
    assert WD.previous_workday(day) == prev


@pytest.mark.parametrize(
    ("a", "b", "count"),
    [
        (D(2014, 9, 26), D(2014, 9, 26), 0),
        (D(2014, 9, 26), D(2014, 9, 28), 1),  # (a, b]: the start day is not counted
        (D(2014, 9, 30), D(2014, 10, 7), 0),
        (D(2014, 9, 30), D(2014, 10, 8), 1),
        (D(2014, 10, 10), D(2014, 10, 13), 2),  # Sat 10-11 is a make-up workday
        (D(2014, 9, 26), D(2014, 10, 31), 22),
        (D(2014, 10, 8), D(2014, 9, 30), -1),
    ],
)
def test_working_days_between(a: date, b: date, count: int) -> None:
    assert WD.working_days_between(a, b) == count


def test_negative_n_is_refused() -> None:
    with pytest.raises(ValueError):
        WD.add_working_days(D(2014, 9, 26), -1)


@pytest.mark.parametrize(("year"), [2003, 2027, 2030])
def test_chinese_source_has_no_data_outside_its_years(year: int) -> None:
    assert ChineseCalendarSource().is_workday(D(year, 3, 3)) is None


@pytest.mark.parametrize(
    ("day", "workday"),
    [
        (D(2027, 1, 1), True),  # really New Year's Day; the fallback cannot know
        (D(2027, 1, 2), False),
        (D(2027, 1, 3), False),
        (D(2027, 1, 4), True),
        (D(2030, 10, 1), True),  # a Tuesday; National Day unknown to the fallback
        (D(2030, 10, 5), False),
    ],
)
def test_fallback_counts_weekends_only(day: date, workday: bool) -> None:
    assert WorkingDays(ChineseCalendarSource()).is_workday(day) is workday


def test_fallback_warns_once_per_year(caplog: pytest.LogCaptureFixture) -> None:
    wd = WorkingDays(ChineseCalendarSource())
    with caplog.at_level(logging.WARNING, logger="core.calendar"):
        assert wd.add_working_days(D(2026, 12, 30), 3) == D(2027, 1, 4)  # 12-31, 01-01, 01-04
        wd.add_working_days(D(2027, 3, 1), 40)
        wd.working_days_between(D(2030, 1, 1), D(2030, 12, 31))
        wd.is_workday(D(2030, 6, 1))
        wd.is_workday(D(2026, 6, 1))  # known year: no warning
    warnings = [r for r in caplog.records if r.name == "core.calendar"]
    assert [r.levelno for r in warnings] == [logging.WARNING, logging.WARNING]
    assert "2027" in warnings[0].getMessage()
    assert "2030" in warnings[1].getMessage()


def test_static_source_holidays_and_make_up_days() -> None:
    src = StaticHolidaySource(
        holidays=[D(2031, 10, 1), D(2031, 10, 2), D(2031, 10, 3)],  # Wed-Fri
        workdays=[D(2031, 10, 4)],  # Saturday
        years=[2031],
    )
    wd = WorkingDays(src)
    assert wd.add_working_days(D(2031, 9, 30), 1) == D(2031, 10, 4)
    assert wd.add_working_days(D(2031, 9, 30), 2) == D(2031, 10, 6)
    assert src.is_workday(D(2031, 10, 5)) is False
    assert src.is_workday(D(2032, 1, 5)) is None


def test_static_source_without_years_speaks_for_every_year(caplog: pytest.LogCaptureFixture) -> None:
    wd = WorkingDays(StaticHolidaySource())
    with caplog.at_level(logging.WARNING, logger="core.calendar"):
        assert wd.next_workday(D(2099, 1, 2)) == D(2099, 1, 5)
    assert caplog.records == []


def test_static_source_refuses_a_day_that_is_both() -> None:
    with pytest.raises(ValueError):
        StaticHolidaySource(holidays=[D(2031, 1, 1)], workdays=[D(2031, 1, 1)])


def test_a_source_without_working_days_fails_instead_of_looping() -> None:
    year = [D(2031, 1, 1) + timedelta(days=i) for i in range(800)]
    wd = WorkingDays(StaticHolidaySource(holidays=year))
    with pytest.raises(ValueError):
        wd.next_workday(D(2031, 1, 1))
    with pytest.raises(ValueError):
        wd.previous_workday(D(2033, 1, 1))


# Properties over the calendar's years and some fallback years on either side of its end.
dates = st.dates(min_value=D(2004, 1, 1), max_value=D(2029, 12, 31))
counts = st.integers(min_value=0, max_value=40)


@given(dates, counts)
def test_add_working_days_lands_on_a_workday(d: date, n: int) -> None:
    assert WD.is_workday(WD.add_working_days(d, n))


@given(dates, counts)
def test_add_working_days_is_monotone_in_n(d: date, n: int) -> None:
    assert WD.add_working_days(d, n) <= WD.add_working_days(d, n + 1)
    if n >= 1 or WD.is_workday(d):
        # strictly: each further working day is the next one after the last
        assert WD.add_working_days(d, n + 1) == WD.next_workday(WD.add_working_days(d, n))
    else:
        # n=0 on a day off already is the first working day after it
        assert WD.add_working_days(d, 0) == WD.add_working_days(d, 1)


@given(dates, st.integers(min_value=1, max_value=40))
def test_working_days_between_inverts_add(d: date, n: int) -> None:
    later = WD.add_working_days(d, n)
    assert WD.working_days_between(d, later) == n
    # and no earlier day already holds n working days
    assert WD.working_days_between(d, later - timedelta(days=1)) == n - 1


@given(dates, st.integers(min_value=0, max_value=60), st.integers(min_value=0, max_value=60))
def test_working_days_between_is_additive(a: date, x: int, y: int) -> None:
    b = a + timedelta(days=x)
    c = b + timedelta(days=y)
    assert WD.working_days_between(a, b) + WD.working_days_between(b, c) == WD.working_days_between(a, c)
    assert WD.working_days_between(c, a) == -WD.working_days_between(a, c)


@given(dates)
def test_next_and_previous_are_inverse_on_workdays(d: date) -> None:
    nxt = WD.next_workday(d)
    assert nxt > d and WD.is_workday(nxt)
    assert WD.working_days_between(d, nxt) == 1
    assert WD.previous_workday(nxt) <= d
    if WD.is_workday(d):
        assert WD.previous_workday(nxt) == d
