"""Fetching the office's own copy of the evidence (issue 15): the rules, no I/O.

The bot is handed Telegram file ids; a periodic step downloads each file once into the evidence
store (``storage.evidence_store``) and records its SHA-256 on the attachment, so the evidence
outlives Telegram's copy and a backup carries it. A download can fail (Telegram or the network
is down, a file is too big for the Bot API): the step tries again later, waiting longer each
time, and gives up after a few tries, so one bad file does not cost a request every minute for
ever. A permanent refusal (Telegram says the file id is wrong) gives up at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

DEFAULT_FIRST_DELAY: Final = timedelta(minutes=5)
DEFAULT_MAX_DELAY: Final = timedelta(hours=12)
DEFAULT_MAX_ATTEMPTS: Final = 6  # 5 min, 20 min, 80 min, 5h20, 12 h: about a day of tries
# How long a claim keeps other fetchers off a row: longer than one download of the largest
# file the Bot API serves (20 MB), short enough that a crashed fetcher's rows come back soon.
DEFAULT_CLAIM_LEASE: Final = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class FetchBackoff:
    """How long to wait after a failed try: ``first`` after the first, ``factor`` times longer
    after each next one, never more than ``cap``; no try after the ``max_attempts``-th."""

    first: timedelta = DEFAULT_FIRST_DELAY
    factor: int = 4
    cap: timedelta = DEFAULT_MAX_DELAY
    max_attempts: int = DEFAULT_MAX_ATTEMPTS

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.factor < 1:
            raise ValueError("factor must be at least 1")
        if self.first <= timedelta(0) or self.cap < self.first:
            raise ValueError("delays must be positive, with cap >= first")

    def delay(self, attempts: int) -> timedelta:
        """The wait after the ``attempts``-th failed try (1 for the first)."""
        if attempts < 1:
            raise ValueError("attempts start at 1")
        # computed in steps, capped as it goes, so a large count never builds a huge number
        wait = self.first
        for _ in range(attempts - 1):
            if wait >= self.cap:
                break
            wait *= self.factor
        return min(wait, self.cap)

    def retry_at(self, attempts: int, now: datetime, *, permanent: bool = False) -> datetime | None:
        """When to try again after the ``attempts``-th try failed; None: give up."""
        if permanent or attempts >= self.max_attempts:
            return None
        return now + self.delay(attempts)


@dataclass(frozen=True, slots=True)
class FetchClaim:
    """An attachment a fetcher holds for now: what it needs to download it, nothing about who
    sent it. ``attempts`` counts this try."""

    attachment_id: int
    file_id: str
    attempts: int


@dataclass(slots=True)
class FetchSummary:
    """What one run did, for the log and tests (counts only)."""

    fetched: int = 0  # files now in the store with their SHA-256 recorded
    retry: int = 0  # failed, to be tried again later
    gave_up: int = 0  # failed for the last time
    dropped: int = 0  # erased while being fetched: the copy was not kept

    @property
    def claimed(self) -> int:
        return self.fetched + self.retry + self.gave_up + self.dropped
