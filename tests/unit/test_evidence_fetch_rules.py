"""The evidence fetch's backoff (core.evidence_fetch): how long a failed download waits before
its next try, and when the fetch gives up on a file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.evidence_fetch import FetchBackoff, FetchSummary

NOW = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)


@pytest.mark.parametrize(
    ("attempts", "wait"),
    [
        (1, 5 * MIN),
        (2, 20 * MIN),
        (3, 80 * MIN),
        (4, 320 * MIN),
        (5, 12 * 60 * MIN),  # 1280 minutes, capped at 12 hours
        (40, 12 * 60 * MIN),  # a huge count stays at the cap
    ],
)
def test_each_failure_waits_four_times_longer_up_to_the_cap(attempts: int, wait: timedelta) -> None:
    assert FetchBackoff(max_attempts=100).delay(attempts) == wait


@pytest.mark.parametrize(
    ("attempts", "permanent", "retry_at"),
    [
        (1, False, NOW + 5 * MIN),
        (5, False, NOW + 12 * 60 * MIN),
        (6, False, None),  # the sixth try was the last
        (7, False, None),  # a count above the limit (it was lowered) gives up as well
        (1, True, None),  # Telegram refused the file for good: no second try
    ],
)
def test_the_default_gives_up_after_six_tries_or_at_once_when_refused(
    attempts: int, permanent: bool, retry_at: datetime | None
) -> None:
    assert FetchBackoff().retry_at(attempts, NOW, permanent=permanent) == retry_at


def test_a_single_try_gives_up_on_its_first_failure() -> None:
    assert FetchBackoff(max_attempts=1).retry_at(1, NOW) is None


def test_the_waits_of_the_default_add_up_to_less_than_a_day() -> None:
    backoff = FetchBackoff()
    total = sum((backoff.delay(n) for n in range(1, backoff.max_attempts)), timedelta())
    assert timedelta(hours=12) < total < timedelta(days=1)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_attempts": 0},
        {"factor": 0},
        {"first": timedelta(0)},
        {"first": timedelta(hours=2), "cap": timedelta(hours=1)},
    ],
)
def test_a_backoff_that_makes_no_sense_is_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        FetchBackoff(**kwargs)  # type: ignore[arg-type]


def test_attempts_start_at_one() -> None:
    with pytest.raises(ValueError):
        FetchBackoff().delay(0)


def test_a_summary_counts_every_claimed_row_once() -> None:
    summary = FetchSummary(fetched=3, retry=2, gave_up=1, dropped=1)
    assert summary.claimed == 7
