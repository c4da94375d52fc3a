"""Sub-campaigns (core.campaigns and the plan's [[sub_campaigns]]): which campaign a complaint
belongs to, who leads it there, and which office may see it."""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

import pytest

from core.campaigns import DISTRICT, SubCampaign, descendants, lead_in, may_see, owner_of
from core.plan import Plan, PlanError, parse_plan
from tests.support.street_plan import STREET, street_raw


@cache
def plan() -> Plan:
    return parse_plan(street_raw(), file="street-plan")


def street() -> SubCampaign:
    (sub,) = plan().sub_campaigns
    return sub


def test_the_street_runs_the_plan_for_itself_and_the_units_below_it() -> None:
    sub = street()
    assert sub.id == STREET and sub.organiser_id == "miaopu_street"
    assert sub.unit_ids == {
        "miaopu_street",
        "miaopu_service_center",
        "miaopu_enforcement_squad",
        "miaopu_social_office",
    }
    assert sub.leads == (("enforcement", "miaopu_enforcement_squad"),)
    hash(plan())  # a plan with sub-campaigns stays hashable (cached lookups key on it)


def test_the_seed_plan_declares_none() -> None:
    raw = street_raw()
    del raw["sub_campaigns"]
    assert parse_plan(raw).sub_campaigns == ()


@pytest.mark.parametrize(
    ("units", "owner"),
    [
        (["miaopu_service_center"], STREET),
        (["miaopu_street"], STREET),
        (["miaopu_service_center", "miaopu_social_office"], STREET),
        (["finance_bureau"], DISTRICT),
        ([], DISTRICT),
        # a complaint naming a street office and a district bureau is the district's to sort out
        (["miaopu_service_center", "finance_bureau"], DISTRICT),
    ],
)
def test_a_complaint_belongs_to_the_campaign_of_the_units_it_is_about(units: list[str], owner: str) -> None:
    assert owner_of(plan().sub_campaigns, units) == owner


@pytest.mark.parametrize(
    ("area", "excluded", "lead"),
    [
        ("conduct", (), "miaopu_street"),  # no lead named for the area: the organiser
        ("enforcement", (), "miaopu_enforcement_squad"),  # the plan's choice for the area
        ("enforcement", ("miaopu_enforcement_squad",), "miaopu_street"),  # recused: the organiser
        ("conduct", ("miaopu_street",), None),  # about the organiser itself: up to the district
        ("enforcement", ("miaopu_enforcement_squad", "miaopu_street"), None),
    ],
)
def test_lead_within_the_sub_campaign_with_recusal(
    area: str, excluded: tuple[str, ...], lead: str | None
) -> None:
    assert lead_in(street(), area, excluded) == lead


@pytest.mark.parametrize(
    ("scope", "case_campaign", "seen"),
    [
        (DISTRICT, DISTRICT, True),
        (DISTRICT, STREET, True),  # the district sees both
        (STREET, STREET, True),
        (STREET, DISTRICT, False),  # the street never sees the district's cases
        (STREET, "dongfeng", False),  # nor another street's
    ],
)
def test_which_office_sees_which_case(scope: str, case_campaign: str, seen: bool) -> None:
    assert may_see(scope, case_campaign) is seen


@pytest.mark.parametrize(
    ("parents", "root", "expected"),
    [
        ({"s": None, "a": "s", "b": "a", "c": None}, "s", {"s", "a", "b"}),
        ({"s": None, "b": "a", "a": "s"}, "s", {"s", "a", "b"}),  # a child listed before its parent
        ({"s": None, "x": "y", "y": "x"}, "s", {"s"}),  # a cycle elsewhere ends the walk
        ({"s": None}, "s", {"s"}),
    ],
)
def test_descendants(parents: dict[str, str | None], root: str, expected: set[str]) -> None:
    assert descendants(parents, root) == expected


def _problems(raw: dict[str, Any]) -> str:
    with pytest.raises(PlanError) as caught:
        parse_plan(raw, file="p")
    return str(caught.value)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"organiser": "finance_bureau"}, "a sub-campaign is organised by a farm, street, township"),
        ({"organiser": "no_such_unit"}, "no_such_unit"),
        ({"leads": {"enforcement": "finance_bureau"}}, "is not one of this sub-campaign's units"),
        ({"leads": {"no_area": "miaopu_street"}}, "no area 'no_area'"),
        ({"leads": "miaopu_street"}, "expected a table of area = unit"),
        ({"name": None}, "sub_campaigns[0].name"),
        ({"typo": 1}, "typo"),
    ],
)
def test_validation_names_the_problem(changes: dict[str, Any], message: str) -> None:
    assert message in _problems(street_raw(**changes))


def test_a_unit_belongs_to_one_sub_campaign_and_ids_are_unique() -> None:
    raw = street_raw()
    raw["sub_campaigns"].append(copy.deepcopy(raw["sub_campaigns"][0]))
    problems = _problems(raw)
    assert "already in sub-campaign 'miaopu'" in problems
    assert "duplicate sub-campaign id 'miaopu'" in problems


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        (
            "zh",
            [
                "街道、乡镇场专项整治: 1",
                "[miaopu] 苗圃街道“群众办事难”专项整治",
                "牵头: 苗圃街道办事处; 三 → 苗圃街道综合执法中队",
            ],
        ),
        (
            "en",
            [
                "Street and township campaigns: 1",
                "[miaopu] Miaopu Street campaign",
                "lead: Miaopu Street Office; 3 → Miaopu Enforcement Squad",
            ],
        ),
    ],
)
def test_check_plan_shows_each_sub_campaign(lang: str, expected: list[str]) -> None:
    from core.plan import plan_summary

    summary = plan_summary(plan(), lang=lang)
    for line in expected:
        assert line in summary
