"""复核检查 and 验收 (plan, 工作步骤 四, item 3): the pure rules for when a unit, and then the
campaign as a whole, may be accepted. No I/O: the service hands in what it read."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum


class FindingSeverity(StrEnum):
    """How serious a review finding is, mildest first."""

    MINOR = "minor"  # 一般
    SERIOUS = "serious"  # 较重
    GRAVE = "grave"  # 严重


class AcceptanceRefusal(StrEnum):
    """Why a unit cannot be accepted yet; each value is the tail of a catalogue key
    (``review.refusal.<value>``) so the bot says the reason without knowing these rules."""

    SELF_INSPECTION_MISSING = "self_inspection_missing"
    RECTIFICATION_NOT_REPORTED = "rectification_not_reported"


@dataclass(frozen=True, slots=True)
class UnitReadiness:
    """What the service read about one unit before an acceptance is recorded."""

    unit_id: str
    self_inspection_in: bool
    # 整改建议书 that came from this unit's review findings and have no 整改情况 report yet.
    unreported_rectifications: int = 0


def refusals(readiness: UnitReadiness) -> list[AcceptanceRefusal]:
    """Every reason the unit may not be accepted now (empty: it may be). All reasons, not the
    first one, so the office sees in one answer what the unit still owes."""
    reasons: list[AcceptanceRefusal] = []
    if not readiness.self_inspection_in:
        reasons.append(AcceptanceRefusal.SELF_INSPECTION_MISSING)
    if readiness.unreported_rectifications > 0:
        reasons.append(AcceptanceRefusal.RECTIFICATION_NOT_REPORTED)
    return reasons


def campaign_blockers(
    units: Iterable[str],
    accepted: Mapping[str, bool],
    exceptions: Iterable[str] = (),
) -> list[str]:
    """Units, in plan order, that keep the campaign from being accepted as a whole: not
    accepted (no record, or a record saying 不予验收) and not on the office's explicit list of
    exceptions. An exception naming a unit outside the campaign is ignored, not an error of
    this rule: the service validates unit ids before it gets here."""
    excused = set(exceptions)
    return [u for u in units if not accepted.get(u, False) and u not in excused]
