"""The seed plan with one street running its own campaign on it, for tests of sub-campaigns.

The seed names no street or township, so this one exists only here: 苗圃街道 with three offices
below it, the enforcement area led by its law-enforcement squad instead of the street itself.
"""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any

from core.plan import Plan, parse_plan

PLAN_FILE = Path(__file__).parents[2] / "plans/zhuhui-2014.toml"

STREET = "miaopu"
STREET_UNITS: tuple[dict[str, Any], ...] = (
    {
        "id": "miaopu_street",
        "name": "苗圃街道办事处",
        "name_en": "Miaopu Street Office",
        "kind": "street",
        "aliases": ["苗圃街道"],
    },
    {
        "id": "miaopu_service_center",
        "name": "苗圃街道便民服务中心",
        "name_en": "Miaopu Citizen Service Centre",
        "kind": "center",
        "aliases": ["苗圃便民服务中心"],
        "parent": "miaopu_street",
    },
    {
        "id": "miaopu_enforcement_squad",
        "name": "苗圃街道综合执法中队",
        "name_en": "Miaopu Enforcement Squad",
        "kind": "office",
        "aliases": ["苗圃执法中队"],
        "parent": "miaopu_street",
    },
    {
        "id": "miaopu_social_office",
        "name": "苗圃街道社会事务办",
        "name_en": "Miaopu Social Affairs Office",
        "kind": "office",
        "parent": "miaopu_street",
    },
)
SUB_CAMPAIGN: dict[str, Any] = {
    "id": STREET,
    "name": "苗圃街道“群众办事难”专项整治",
    "name_en": "Miaopu Street campaign",
    "organiser": "miaopu_street",
    "leads": {"enforcement": "miaopu_enforcement_squad"},
}


def seed_raw() -> dict[str, Any]:
    with PLAN_FILE.open("rb") as fh:
        return tomllib.load(fh)


def street_raw(**changes: Any) -> dict[str, Any]:
    """The seed plan's TOML with the street's units and its ``[[sub_campaigns]]`` entry;
    ``changes`` replace keys of the sub-campaign entry (``None`` removes one)."""
    raw = copy.deepcopy(seed_raw())
    raw["units"] = [*raw["units"], *(dict(u) for u in STREET_UNITS)]
    entry = {**copy.deepcopy(SUB_CAMPAIGN), **changes}
    raw["sub_campaigns"] = [{k: v for k, v in entry.items() if v is not None}]
    return raw


def street_plan() -> Plan:
    return parse_plan(street_raw(), file="street-plan")
