"""What "ready" means (issue 15, SPEC §9): pure rules over readings taken from the database.

``storage.health.take_readings`` takes the readings (one cheap query each); ``assess`` turns
them into named checks, each with a reason an operator can act on. ``/readyz`` (web app and
the bot's health listener) and ``python -m bot check`` show the same checks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

DATABASE = "database"
SCHEMA = "schema"
OUTBOX = "outbox"
PERIODIC = "periodic_pass"


@dataclass(frozen=True, slots=True)
class Limits:
    outbox_max_age: timedelta = timedelta(minutes=15)
    pass_max_age: timedelta = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class Readings:
    """What was read. ``database_error`` set: nothing else could be read."""

    now: datetime
    database_error: str | None = None
    schema_current: str | None = None
    schema_head: str | None = None
    oldest_pending_outbox: datetime | None = None  # None: no pending row
    last_pass_at: datetime | None = None  # None: no pass recorded yet


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    reason: str


@dataclass(frozen=True, slots=True)
class Readiness:
    checks: tuple[Check, ...]

    @property
    def ready(self) -> bool:
        return all(c.ok for c in self.checks)

    def as_dict(self) -> dict[str, object]:
        return {
            "ready": self.ready,
            "checks": [{"name": c.name, "ok": c.ok, "reason": c.reason} for c in self.checks],
        }

    def lines(self) -> list[str]:
        return [f"{'ok  ' if c.ok else 'FAIL'} {c.name}: {c.reason}" for c in self.checks]


def _age(now: datetime, then: datetime) -> timedelta:
    return max(timedelta(0), now - then)


def _seconds(delta: timedelta) -> str:
    return f"{int(delta.total_seconds())} s"


def assess(readings: Readings, limits: Limits) -> Readiness:
    """Every check, in a fixed order; the database down fails them all (nothing was read)."""
    if readings.database_error is not None:
        unread = "not checked: the database is unreachable"
        return Readiness(
            (
                Check(DATABASE, False, f"unreachable: {readings.database_error}"),
                Check(SCHEMA, False, unread),
                Check(OUTBOX, False, unread),
                Check(PERIODIC, False, unread),
            )
        )
    checks = [Check(DATABASE, True, "reachable"), _schema(readings)]
    checks.append(_outbox(readings, limits.outbox_max_age))
    checks.append(_periodic(readings, limits.pass_max_age))
    return Readiness(tuple(checks))


def _schema(r: Readings) -> Check:
    if r.schema_current is None:
        return Check(SCHEMA, False, f"never migrated (head {r.schema_head}): run python -m bot migrate")
    if r.schema_current != r.schema_head:
        return Check(
            SCHEMA, False, f"at {r.schema_current}, head is {r.schema_head}: run python -m bot migrate"
        )
    return Check(SCHEMA, True, f"at head {r.schema_head}")


def _outbox(r: Readings, limit: timedelta) -> Check:
    if r.oldest_pending_outbox is None:
        return Check(OUTBOX, True, "nothing pending")
    age = _age(r.now, r.oldest_pending_outbox)
    if age > limit:
        return Check(
            OUTBOX,
            False,
            f"oldest pending message waits {_seconds(age)} (limit {_seconds(limit)}): is a sender running?",
        )
    return Check(OUTBOX, True, f"oldest pending message waits {_seconds(age)}")


def _periodic(r: Readings, limit: timedelta) -> Check:
    if r.last_pass_at is None:
        return Check(PERIODIC, False, "no periodic pass recorded yet")
    age = _age(r.now, r.last_pass_at)
    if age > limit:
        return Check(
            PERIODIC,
            False,
            f"last pass finished {_seconds(age)} ago (limit {_seconds(limit)}): is the bot or tick running?",
        )
    return Check(PERIODIC, True, f"last pass finished {_seconds(age)} ago")


def failing(readiness: Readiness) -> Sequence[Check]:
    return [c for c in readiness.checks if not c.ok]
