"""Routing a complaint to units (SPEC §3): the area decides the lead and assisting units; the
unit complained about never handles, nor is copied on, a complaint against itself."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum

from core.plan import Area


class TriageReason(StrEnum):
    NOT_SURE = "not_sure"  # the citizen did not pick an area
    TARGET_IS_LEAD = "target_is_lead"  # every lead unit is recused (complained about, or its head)
    TARGET_UNCLEAR = "target_unclear"  # several units, or an unclear one, may be complained about
    LOW_CONFIDENCE = "low_confidence"  # the classifier was unsure and the pick does not settle it


@dataclass(frozen=True, slots=True)
class Routing:
    lead_unit_ids: tuple[str, ...]
    assist_unit_ids: tuple[str, ...]
    triage: TriageReason | None = None

    @property
    def needs_triage(self) -> bool:
        return self.triage is not None


def route(
    area: Area | None,
    no_lead: Collection[str] = (),
    no_sight: Collection[str] = (),
    *,
    target_unclear: bool = False,
) -> Routing:
    """Lead and assisting units for a case in ``area``, keeping recused units out: ``no_lead``
    may not lead, ``no_sight`` may not even be copied in (see ``core.recusal``).

    With no area (the citizen was not sure), or while the office has to decide who the case is
    about, the office triages and nobody is copied. When every lead unit is recused, nobody
    independent is left to handle it, so the office decides too.
    """
    if area is None:
        return Routing((), (), TriageReason.NOT_SURE)
    if target_unclear:
        return Routing((), (), TriageReason.TARGET_UNCLEAR)
    barred = set(no_lead) | set(no_sight)
    lead = tuple(u for u in area.lead_unit_ids if u not in barred)
    assist = tuple(u for u in area.assist_unit_ids if u not in no_sight and u not in lead)
    if not lead:
        return Routing((), assist, TriageReason.TARGET_IS_LEAD)
    return Routing(lead, assist)
