"""Working days on a holiday calendar (SPEC §3), FixMyStreet style.

``WorkingDays`` is a small pure object handed a ``HolidaySource``; it knows nothing about
cases. The source answers "is this a working day?" or says it has no data for that year
(``None``); then ``WorkingDays`` falls back to weekends-only and logs one warning per year, so
a campaign run past the calendar's last year keeps working instead of crashing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Protocol

import chinese_calendar

log = logging.getLogger("core.calendar")

_DAY = timedelta(days=1)
# A source that never yields a working day would make every search loop forever; no real
# calendar has a whole year off, so a gap this long means the source is broken.
_MAX_GAP_DAYS = 366
_UNSET: object = object()


class HolidaySource(Protocol):
    def is_workday(self, d: date) -> bool | None:
        """True/False for a working day or a day off; None when the source has no data for d's year."""
        ...


def _weekday_rule(d: date) -> bool:
    return d.weekday() < 5


class ChineseCalendarSource:
    """Statutory holidays and 调休 make-up workdays from the ``chinese_calendar`` package.

    The package only ships the State Council's published schedules (2004–2026 for 1.11) and
    raises ``NotImplementedError`` for other years; that becomes ``None`` here.
    """

    def is_workday(self, d: date) -> bool | None:
        try:
            return bool(chinese_calendar.is_workday(d))
        except NotImplementedError:
            return None


class StaticHolidaySource:
    """Explicit sets of holidays and make-up workdays on top of the Monday–Friday week.

    For tests, and for plans that bring their own calendar. ``years`` limits what the source
    claims to know (other years answer ``None`` and fall back with a warning); ``None`` means
    it speaks for every year.
    """

    def __init__(
        self,
        holidays: Iterable[date] = (),
        workdays: Iterable[date] = (),
        years: Iterable[int] | None = None,
    ) -> None:
        self.holidays = frozenset(holidays)
        self.workdays = frozenset(workdays)
        clash = self.holidays & self.workdays
        if clash:
            raise ValueError(f"dates both holiday and workday: {sorted(clash)}")
        self.years = frozenset(years) if years is not None else None

    def is_workday(self, d: date) -> bool | None:
        if self.years is not None and d.year not in self.years:
            return None
        if d in self.holidays:
            return False
        if d in self.workdays:
            return True
        return _weekday_rule(d)


class WorkingDays:
    """Working-day arithmetic over a holiday source.

    All ``n``-th-day searches start strictly after the given date, matching the rule that the
    day something happens is not counted in a period (期间开始之日不计算在内).
    """

    def __init__(self, source: HolidaySource | None = None) -> None:
        self.source: HolidaySource = source if source is not None else ChineseCalendarSource()
        # per instance, so the application's one WorkingDays warns once per year per process
        self._warned_years: set[int] = set()
        # the source's answer per day: a calendar is fixed once published, and the periodic
        # pass asks about the same few weeks for every due case (chinese_calendar validates
        # its argument on every call, which dominated a pass over thousands of cases)
        self._known: dict[date, bool | None] = {}

    def is_workday(self, d: date) -> bool:
        known = self._known.get(d, _UNSET)
        if known is _UNSET:
            known = self._known[d] = self.source.is_workday(d)
        if known is not None:
            return bool(known)
        if d.year not in self._warned_years:
            self._warned_years.add(d.year)
            log.warning(
                "no holiday calendar for %d; counting Monday-Friday as working days", d.year
            )
        return _weekday_rule(d)

    def next_workday(self, d: date) -> date:
        """The first working day strictly after ``d``."""
        cur = d
        for _ in range(_MAX_GAP_DAYS):
            cur += _DAY
            if self.is_workday(cur):
                return cur
        raise ValueError(f"no working day within {_MAX_GAP_DAYS} days after {d}")

    def previous_workday(self, d: date) -> date:
        """The last working day strictly before ``d``."""
        cur = d
        for _ in range(_MAX_GAP_DAYS):
            cur -= _DAY
            if self.is_workday(cur):
                return cur
        raise ValueError(f"no working day within {_MAX_GAP_DAYS} days before {d}")

    def add_working_days(self, d: date, n: int) -> date:
        """The ``n``-th working day strictly after ``d``; for n=0, ``d`` itself if it is a
        working day, else the next one."""
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        if n == 0:
            return d if self.is_workday(d) else self.next_workday(d)
        cur = d
        for _ in range(n):
            cur = self.next_workday(cur)
        return cur

    def working_days_between(self, a: date, b: date) -> int:
        """Working days in (a, b]; negative (minus those in (b, a]) when b < a.

        ``working_days_between(d, add_working_days(d, n)) == n`` for every n >= 1.
        """
        if b < a:
            return -self.working_days_between(b, a)
        count = 0
        cur = a
        while cur < b:
            cur += _DAY
            if self.is_workday(cur):
                count += 1
        return count
