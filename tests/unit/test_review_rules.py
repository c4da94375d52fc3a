"""Policy of 复核验收: when a unit, and the campaign as a whole, may be accepted."""

from __future__ import annotations

import pytest

from core.review import AcceptanceRefusal, UnitReadiness, campaign_blockers, refusals


@pytest.mark.parametrize(
    ("readiness", "expected"),
    [
        (UnitReadiness("u1", self_inspection_in=True), []),
        (
            UnitReadiness("u1", self_inspection_in=False),
            [AcceptanceRefusal.SELF_INSPECTION_MISSING],
        ),
        (
            UnitReadiness("u1", self_inspection_in=True, unreported_rectifications=2),
            [AcceptanceRefusal.RECTIFICATION_NOT_REPORTED],
        ),
        (
            UnitReadiness("u1", self_inspection_in=False, unreported_rectifications=1),
            [
                AcceptanceRefusal.SELF_INSPECTION_MISSING,
                AcceptanceRefusal.RECTIFICATION_NOT_REPORTED,
            ],
        ),
    ],
)
def test_unit_is_accepted_only_with_reports_in_and_rectifications_reported(
    readiness: UnitReadiness, expected: list[AcceptanceRefusal]
) -> None:
    assert refusals(readiness) == expected


@pytest.mark.parametrize(
    ("accepted", "exceptions", "expected"),
    [
        ({"a": True, "b": True, "c": True}, (), []),
        ({"a": True, "b": False, "c": True}, (), ["b"]),
        ({"a": True}, (), ["b", "c"]),  # no record is not an acceptance
        ({"a": True}, ("c",), ["b"]),
        ({"a": True, "b": False}, ("b", "c"), []),
        ({}, ("zz",), ["a", "b", "c"]),  # an unknown exception excuses nobody
    ],
)
def test_campaign_is_accepted_only_when_every_unit_is_accepted_or_excepted(
    accepted: dict[str, bool], exceptions: tuple[str, ...], expected: list[str]
) -> None:
    assert campaign_blockers(["a", "b", "c"], accepted, exceptions) == expected
