"""Which practices and measures a period's report shows (core.measures.practices_in and
measures_in, the /export sheets of issue 14): practices recorded in the period; measures
proposed before its end and not made final before its start; of the given units only."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from core.measures import GoodPractice, Measure, MeasureStatus, measures_in, practices_in

START = datetime(2026, 11, 16, tzinfo=UTC)
END = datetime(2026, 11, 23, tzinfo=UTC)
DUE = date(2026, 12, 31)


def _measure(created: datetime, status: MeasureStatus, updated: datetime | None, unit: str = "u1") -> Measure:
    return Measure(unit, "m", DUE, created, 1, status=status, updated_at=updated)


@pytest.mark.parametrize(
    ("created", "status", "updated", "shown"),
    [
        (START - timedelta(days=90), MeasureStatus.PLANNED, None, True),  # still owed: shown
        (START - timedelta(days=90), MeasureStatus.IN_PROGRESS, START - timedelta(days=50), True),
        (START - timedelta(days=9), MeasureStatus.DONE, START - timedelta(seconds=1), False),  # done before
        (START - timedelta(days=9), MeasureStatus.DONE, START, True),  # done at the first instant
        (START - timedelta(days=9), MeasureStatus.DROPPED, END - timedelta(hours=1), True),
        (START + timedelta(days=1), MeasureStatus.DONE, None, True),  # final, no update: created then
        (END - timedelta(seconds=1), MeasureStatus.PLANNED, None, True),
        (END, MeasureStatus.PLANNED, None, False),  # proposed after the period
    ],
)
def test_a_measure_is_shown_while_it_is_alive_in_the_period(
    created: datetime, status: MeasureStatus, updated: datetime | None, shown: bool
) -> None:
    m = _measure(created, status, updated)
    assert measures_in([m], START, END) == ([m] if shown else [])


def test_measures_and_practices_of_the_given_units_only_in_order() -> None:
    a, b, c = (_measure(START - timedelta(days=d), MeasureStatus.PLANNED, None, u)
               for d, u in ((3, "u1"), (2, "u2"), (1, "u1")))  # fmt: skip
    assert measures_in([a, b, c], START, END, {"u1"}) == [a, c]
    assert measures_in([a, b, c], START, END, set()) == []
    assert measures_in([a, b, c], START, END) == [a, b, c]
    second = timedelta(seconds=1)
    times = (("u1", START - second), ("u2", START), ("u1", END - second), ("u1", END))
    p = [GoodPractice(u, "t", "d", at, 9) for u, at in times]
    assert practices_in(p, START, END) == [p[1], p[2]]
    assert practices_in(p, START, END, {"u1"}) == [p[2]]
