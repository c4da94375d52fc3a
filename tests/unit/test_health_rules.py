"""What "ready" means (core/health.py): each check named, with a reason, from readings alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.health import DATABASE, OUTBOX, PERIODIC, SCHEMA, Limits, Readings, assess, failing

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
LIMITS = Limits(outbox_max_age=timedelta(minutes=15), pass_max_age=timedelta(minutes=10))
HEAD = "0015"


def readings(**changes: object) -> Readings:
    values: dict[str, object] = {
        "now": NOW,
        "schema_current": HEAD,
        "schema_head": HEAD,
        "oldest_pending_outbox": None,
        "last_pass_at": NOW - timedelta(minutes=1),
    }
    values.update(changes)
    return Readings(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "failed", "reason_part"),
    [
        ({}, set(), ""),
        ({"oldest_pending_outbox": NOW - timedelta(minutes=14)}, set(), ""),
        ({"oldest_pending_outbox": NOW - timedelta(minutes=16)}, {OUTBOX}, "960 s (limit 900 s)"),
        ({"oldest_pending_outbox": NOW + timedelta(seconds=5)}, set(), ""),  # clocks a little apart
        ({"last_pass_at": NOW - timedelta(minutes=9)}, set(), ""),
        ({"last_pass_at": NOW - timedelta(minutes=11)}, {PERIODIC}, "660 s ago (limit 600 s)"),
        ({"last_pass_at": None}, {PERIODIC}, "no periodic pass recorded"),
        ({"schema_current": "0014"}, {SCHEMA}, "at 0014, head is 0015: run python -m bot migrate"),
        ({"schema_current": None}, {SCHEMA}, "never migrated"),
        (
            {"last_pass_at": None, "oldest_pending_outbox": NOW - timedelta(hours=1)},
            {PERIODIC, OUTBOX},
            "",
        ),
    ],
)
def test_each_check_fails_alone_with_its_reason(
    changes: dict[str, object], failed: set[str], reason_part: str
) -> None:
    result = assess(readings(**changes), LIMITS)
    assert [c.name for c in result.checks] == [DATABASE, SCHEMA, OUTBOX, PERIODIC]
    assert {c.name for c in failing(result)} == failed
    assert result.ready is (not failed)
    assert all(c.reason for c in result.checks)
    if reason_part:
        assert any(reason_part in c.reason for c in failing(result)), result.lines()


def test_an_unreachable_database_fails_every_check_and_says_why() -> None:
    result = assess(Readings(now=NOW, database_error="OSError: connection refused", schema_head=HEAD), LIMITS)
    assert not result.ready
    assert [c.ok for c in result.checks] == [False, False, False, False]
    assert "connection refused" in result.checks[0].reason
    assert all("unreachable" in c.reason for c in result.checks)


def test_the_json_body_and_the_lines_list_every_check() -> None:
    result = assess(readings(last_pass_at=None), LIMITS)
    body = result.as_dict()
    assert body["ready"] is False
    assert body["checks"] == [{"name": c.name, "ok": c.ok, "reason": c.reason} for c in result.checks]
    lines = result.lines()
    assert lines[0].startswith("ok   database")
    assert lines[3].startswith("FAIL periodic_pass")
