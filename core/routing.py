"""Routing a complaint to units (SPEC §3): the area decides the lead and assisting units; the
unit complained about never handles, nor is copied on, a complaint against itself."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from core.plan import Area


class TriageReason(StrEnum):
    NOT_SURE = "not_sure"  # the citizen did not pick an area
    TARGET_IS_LEAD = "target_is_lead"  # every lead unit is the unit complained about


@dataclass(frozen=True, slots=True)
class Routing:
    lead_unit_ids: tuple[str, ...]
    assist_unit_ids: tuple[str, ...]
    triage: TriageReason | None = None

    @property
    def needs_triage(self) -> bool:
        return self.triage is not None


def route(area: Area | None, target_unit_id: str | None) -> Routing:
    """Lead and assisting units for a case in ``area`` against ``target_unit_id``.

    With no area (the citizen was not sure) the office triages. When the unit complained about
    is the only lead, nobody independent is left to handle it, so the office decides too.
    """
    if area is None:
        return Routing((), (), TriageReason.NOT_SURE)
    lead = tuple(u for u in area.lead_unit_ids if u != target_unit_id)
    assist = tuple(u for u in area.assist_unit_ids if u != target_unit_id and u not in lead)
    if not lead:
        return Routing((), assist, TriageReason.TARGET_IS_LEAD)
    return Routing(lead, assist)
