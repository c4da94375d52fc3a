"""Routing over the real plan (SPEC §3): the area decides the lead and assisting units, and the
unit complained about never handles, nor is copied on, a complaint against itself."""

from __future__ import annotations

from dataclasses import replace

import pytest

from core.plan import Plan
from core.routing import Routing, TriageReason, route

# The seed's 职责分工, written out by hand so a change to the plan file that moves a duty shows
# up here as a deliberate decision, not as a silent re-routing.
SEED_DUTIES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "conduct": (
        ("organs_work_committee",),
        ("conduct_integrity_office", "efficiency_supervision_office"),
    ),
    "procedure": (
        ("discipline_commission", "supervision_bureau"),
        ("organs_work_committee", "government_services_center"),
    ),
    "enforcement": (("discipline_commission", "supervision_bureau"), ()),
    "extortion": (
        ("discipline_commission", "supervision_bureau"),
        (
            "organs_work_committee",
            "development_reform",
            "finance_bureau",
            "audit_bureau",
            "price_bureau",
            "government_services_center",
        ),
    ),
    "rent_seeking": (
        ("discipline_commission", "supervision_bureau"),
        ("development_reform", "finance_bureau", "audit_bureau"),
    ),
}


@pytest.mark.parametrize("area_id", sorted(SEED_DUTIES))
def test_each_area_goes_to_its_lead_units_with_its_assisting_units_copied(plan: Plan, area_id: str) -> None:
    lead, assist = SEED_DUTIES[area_id]

    assert route(plan.area(area_id)) == Routing(lead, assist)


def test_the_table_covers_every_area_of_the_plan(plan: Plan) -> None:
    assert {a.id for a in plan.areas} == set(SEED_DUTIES)


@pytest.mark.parametrize("area_id", sorted(SEED_DUTIES))
def test_a_unit_never_handles_nor_sees_a_complaint_against_itself(plan: Plan, area_id: str) -> None:
    area = plan.area(area_id)
    for unit in plan.units:
        routing = route(area, {unit.id}, {unit.id})

        assert unit.id not in routing.lead_unit_ids, unit.id
        assert unit.id not in routing.assist_unit_ids, unit.id
        # everybody else keeps their part
        assert routing.lead_unit_ids == tuple(u for u in area.lead_unit_ids if u != unit.id)
        assert set(routing.assist_unit_ids) == set(area.assist_unit_ids) - {unit.id}


@pytest.mark.parametrize(
    ("area_id", "target", "lead", "assist"),
    [
        # one of two leads complained about: the other one handles it alone
        ("procedure", "discipline_commission", ("supervision_bureau",),
         ("organs_work_committee", "government_services_center")),
        ("enforcement", "supervision_bureau", ("discipline_commission",), ()),
        # an assisting unit complained about is simply not copied
        ("extortion", "finance_bureau", ("discipline_commission", "supervision_bureau"),
         ("organs_work_committee", "development_reform", "audit_bureau", "price_bureau",
          "government_services_center")),
        # a unit with no part in the area changes nothing
        ("rent_seeking", "district_court", ("discipline_commission", "supervision_bureau"),
         ("development_reform", "finance_bureau", "audit_bureau")),
    ],
)
def test_complaint_against_one_unit_is_routed_around_it(
    plan: Plan, area_id: str, target: str, lead: tuple[str, ...], assist: tuple[str, ...]
) -> None:
    routing = route(plan.area(area_id), {target}, {target})

    assert routing == Routing(lead, assist)
    assert not routing.needs_triage


def test_case_against_the_only_lead_unit_goes_to_office_triage(plan: Plan) -> None:
    # 作风 complaints are led by the 区直机关工委 alone: nobody independent is left to lead
    routing = route(plan.area("conduct"), {"organs_work_committee"}, {"organs_work_committee"})

    assert routing.triage is TriageReason.TARGET_IS_LEAD
    assert routing.needs_triage
    assert routing.lead_unit_ids == ()
    # the assisting units stay known so the office can pick one of them
    assert routing.assist_unit_ids == ("conduct_integrity_office", "efficiency_supervision_office")


@pytest.mark.parametrize("target", [None, "organs_work_committee", "district_court"])
def test_without_an_area_the_office_triages(target: str | None) -> None:
    routing = route(None, {target} if target else (), {target} if target else ())

    assert routing == Routing((), (), TriageReason.NOT_SURE)
    assert routing.needs_triage


def test_a_unit_that_both_leads_and_assists_is_only_lead(plan: Plan) -> None:
    area = replace(plan.area("conduct"), lead_unit_ids=("a",), assist_unit_ids=("a", "b"))

    assert route(area) == Routing(("a",), ("b",))
