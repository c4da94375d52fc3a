"""复核检查 and 验收 (plan, 工作步骤 四, item 3): the pure rules for when a unit, and then the
campaign as a whole, may be accepted. No I/O: the service hands in what it read."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
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


# ---------------------------------------------------------------------------------------------
# The records (storage/repositories/review.py keeps them; core/services/review.py writes them)


@dataclass(slots=True)
class ReviewInspection:
    """复核检查: who inspected (the bodies and people as the office writes them, 纪委、监察局、
    效能办、优化办 and related units), on which day, which units; ``recorded_by`` is the office
    member who recorded it."""

    bodies: str
    inspected_on: date
    unit_ids: list[str]
    recorded_at: datetime
    recorded_by: int | None = None
    note: str = ""
    id: int | None = None


@dataclass(slots=True)
class ReviewFinding:
    """One finding of an inspection about one unit: its severity, the facts, the cases they
    rest on (tracking numbers, optional) and the 整改建议书 it became (None: not yet)."""

    inspection_id: int
    unit_id: str
    severity: FindingSeverity
    facts: str
    recorded_at: datetime
    case_numbers: list[str] = field(default_factory=list)
    recommendation_id: int | None = None
    id: int | None = None


@dataclass(slots=True)
class UnitAcceptance:
    """验收 of one unit: accepted, or 不予验收 (``accepted`` False, with a note). The newest
    record of a unit is the one that counts; older ones stay as history."""

    unit_id: str
    accepted: bool
    decided_at: datetime
    decided_by: int | None = None
    note: str = ""
    id: int | None = None


@dataclass(slots=True)
class CampaignAcceptance:
    """The campaign accepted as a whole, with the units the office explicitly excepted."""

    decided_at: datetime
    decided_by: int | None = None
    exceptions: list[str] = field(default_factory=list)
    note: str = ""
    id: int | None = None


def latest_acceptance(records: Iterable[UnitAcceptance]) -> dict[str, UnitAcceptance]:
    """Per unit, the record that counts: the newest (by time, then id)."""
    out: dict[str, UnitAcceptance] = {}
    for rec in sorted(records, key=lambda r: (r.decided_at, r.id or 0)):
        out[rec.unit_id] = rec
    return out
