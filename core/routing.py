"""Routing a complaint to units (SPEC §3): the area decides the lead and assisting units; the
unit complained about never handles, nor is copied on, a complaint against itself."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from enum import StrEnum

from core.campaigns import DISTRICT, SubCampaign, campaign_by_id, lead_in, owner_of
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


# Triage reasons that come before any lead: the office (the sub-campaign's, and the district's,
# which sees every case) has to decide what the complaint is or whom it is about first.
_DECIDE_FIRST = frozenset({TriageReason.NOT_SURE, TriageReason.TARGET_UNCLEAR})


def route_in_campaign(
    sub_campaigns: Iterable[SubCampaign],
    target_unit_id: str | None,
    area_id: str | None,
    district: Routing,
    excluded: Collection[str] = (),
) -> tuple[str, Routing]:
    """The campaign a new complaint belongs to, and its routing there.

    ``district`` is how the district's plan would route it. A complaint about a unit of a
    sub-campaign is that campaign's: its lead for the area handles it alone (the district's
    assisting units are not copied on a local case); when the office must decide first, it waits
    in triage as the sub-campaign's; when recusal leaves none of its units to lead (the complaint
    is about the organiser itself), it goes up to the district and is routed as any other."""
    subs = tuple(sub_campaigns)
    sub = campaign_by_id(subs, owner_of(subs, [target_unit_id] if target_unit_id else []))
    if sub is None:
        return DISTRICT, district
    if area_id is None or district.triage in _DECIDE_FIRST:
        return sub.id, district
    lead = lead_in(sub, area_id, excluded)
    if lead is None:
        return DISTRICT, district
    return sub.id, Routing((lead,), ())
