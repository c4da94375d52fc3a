"""Sub-campaigns: a street or township running the district's plan for its own units.

The plan asks every 街道 and 乡镇场 to organise the campaign locally on the district's plan
(保障措施 一: "各街道、乡镇场按照本方案要求,组织好本地专项整治工作"). A sub-campaign is declared in the
plan file (``[[sub_campaigns]]``): its organiser is a unit of kind street, township or farm, and
its units are the organiser and every unit below it (``parent``). It runs on the same task areas,
deadlines and phases; what differs is who handles a case and who oversees it:

- a complaint about one of its units is the sub-campaign's case; the organiser leads it unless
  the plan names another of its units for the area (``[sub_campaigns.leads]``);
- when recusal keeps every candidate of the sub-campaign out (the complaint is about the
  organiser itself), the case goes up to the district, which then routes it as any other;
- its own office members see and act on its cases only; the district's office sees every case.

Pure rules, no I/O: the services ask these functions and store the answer (a case's campaign).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

# Unit kinds that may organise a local campaign (core.plan.UNIT_KINDS).
ORGANISER_KINDS = frozenset({"street", "township", "farm"})

DISTRICT = ""  # the scope of the district's office, and the campaign of a district case


@dataclass(frozen=True, slots=True)
class SubCampaign:
    id: str
    name: str
    name_en: str
    organiser_id: str  # the street's or township's unit
    leads: tuple[tuple[str, str], ...]  # (area id, the unit of the sub-campaign that leads it)
    unit_ids: frozenset[str]  # the organiser and every unit below it


def descendants(parents: Mapping[str, str | None], root: str) -> frozenset[str]:
    """``root`` and every unit whose chain of parents reaches it. ``parents``: unit id → its
    parent's id (None at the top). A cycle (refused by the plan's validation) ends the walk."""
    found = {root}
    for unit_id in parents:
        seen: set[str] = set()
        current: str | None = unit_id
        chain: list[str] = []
        while current is not None and current not in seen:
            if current in found:
                found.update(chain)
                break
            seen.add(current)
            chain.append(current)
            current = parents.get(current)
    return frozenset(found)


def owner_of(sub_campaigns: Iterable[SubCampaign], unit_ids: Collection[str]) -> str:
    """The campaign a complaint about ``unit_ids`` belongs to: the one sub-campaign holding every
    one of them, else the district (none named, or units of different campaigns)."""
    if not unit_ids:
        return DISTRICT
    owners = {next((s.id for s in sub_campaigns if unit in s.unit_ids), DISTRICT) for unit in unit_ids}
    return owners.pop() if len(owners) == 1 else DISTRICT


def lead_in(sub: SubCampaign, area_id: str, excluded: Collection[str] = ()) -> str | None:
    """The sub-campaign's lead unit for ``area_id``: the plan's choice for the area, else the
    organiser; None when recusal keeps it out (the case then goes up to the district)."""
    lead = dict(sub.leads).get(area_id, sub.organiser_id)
    if lead not in excluded:
        return lead
    if sub.organiser_id not in excluded:
        return sub.organiser_id
    return None


def may_see(scope: str, case_campaign: str) -> bool:
    """An office whose scope is ``scope`` may see a case of ``case_campaign``: the district's
    office sees every case, a sub-campaign's office its own only."""
    return scope in (DISTRICT, case_campaign)


def campaign_by_id(sub_campaigns: Iterable[SubCampaign], campaign_id: str) -> SubCampaign | None:
    return next((s for s in sub_campaigns if s.id == campaign_id), None)

