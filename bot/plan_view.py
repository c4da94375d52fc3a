"""The campaign plan as the bot shows it, in one language.

The only module of ``bot`` that reads the plan's fields for display, so a change in the plan's
shape is fixed here and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.plan import Plan


@dataclass(frozen=True, slots=True)
class AreaView:
    id: str
    number: int
    numeral: str
    title: str
    plain: str


@dataclass(frozen=True, slots=True)
class CampaignView:
    title: str
    intro: str
    office_location: str
    phone: str
    areas: tuple[AreaView, ...]


def campaign_view(plan: Plan, lang: str) -> CampaignView:
    campaign = plan.campaign
    english = lang == "en"
    return CampaignView(
        title=(campaign.title_en or campaign.title) if english else campaign.title,
        intro=campaign.intro_en if english else campaign.intro_zh,
        # the plan writes the office's location in Chinese; in English the housing unit's name
        office_location=_office_location_en(plan) if english else campaign.office.location,
        phone=campaign.office.phone,
        areas=tuple(
            AreaView(
                id=area.id,
                number=area.number,
                numeral=area.numeral,
                title=(area.title_en or area.title) if english else area.title,
                plain=area.plain_en if english else area.plain_zh,
            )
            for area in plan.areas
        ),
    )


def _office_location_en(plan: Plan) -> str:
    office = plan.campaign.office
    try:
        return plan.unit(office.unit_id).name_en or office.location
    except KeyError:
        return office.location
