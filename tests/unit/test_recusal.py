"""Who a complaint is about, whoever the citizen picked (SPEC §3, issue 12): the unit named in
the unit step's free text or in the description, by name, alias or short name, and its family
(offices kept out, heads barred from leading). Table-driven over the seed plan, no I/O."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.plan import Plan
from core.recusal import (
    CLEAR_MATCH,
    Recusal,
    RecusalReason,
    RecusalScope,
    ancestors,
    barred_from_lead,
    barred_from_sight,
    descendants,
    find_targets,
    mentions_in,
    merge,
)
from core.routing import TriageReason, route

FULL, LEAD = RecusalScope.FULL, RecusalScope.LEAD


def scopes(
    plan: Plan, *, chosen: str | None = None, typed: str = "", description: str = ""
) -> dict[str, str]:
    finding = find_targets(plan, chosen_unit_id=chosen, target_text=typed, description=description)
    return {r.unit_id: r.scope.value for r in finding.recusals}


# (chosen, typed, description) → the unit complained about, and every unit kept out with its scope
CLEAR_CASES = [
    # the example: named only in the description, the unit step skipped
    (
        None,
        "",
        "区政务中心窗口让我来回跑了五趟",
        "government_services_center",
        {"government_services_center": "full"},
    ),
    # the unit typed as free text, and not picked from the suggestions
    (
        None,
        "区政务中心",
        "窗口让我来回跑了五趟",
        "government_services_center",
        {"government_services_center": "full"},
    ),
    # by an alias (the short name people use)
    (
        None,
        "政务中心二楼窗口",
        "让我来回跑了五趟",
        "government_services_center",
        {"government_services_center": "full"},
    ),
    (None, "", "财政局的人说材料不全，又让我补了三次", "finance_bureau", {"finance_bureau": "full"}),
    (None, "发改委", "项目审批一拖再拖", "development_reform", {"development_reform": "full"}),
    # by the name without its administrative prefix (区物价局 → 物价局 is an alias; 审计局 too)
    (None, "", "审计局的工作人员态度很差", "audit_bureau", {"audit_bureau": "full"}),
    # English
    (
        None,
        "District Finance Bureau",
        "they sent me away three times",
        "finance_bureau",
        {"finance_bureau": "full"},
    ),
    # a child office: it is kept out, and its parent may not lead (含本系统二级机构)
    (
        None,
        "区纪委行政效能监察室",
        "办事拖拉",
        "efficiency_supervision_office",
        {"efficiency_supervision_office": "full", "discipline_commission": "lead"},
    ),
    (
        None,
        "",
        "党风廉政室的人推诿扯皮",
        "conduct_integrity_office",
        {"conduct_integrity_office": "full", "discipline_commission": "lead"},
    ),
    # a parent: its own offices are kept out with it
    (
        None,
        "区纪委",
        "来回推诿",
        "discipline_commission",
        {
            "discipline_commission": "full",
            "conduct_integrity_office": "full",
            "efficiency_supervision_office": "full",
        },
    ),
    # a unit and its own office named together are one family: the office is the target
    (
        None,
        "",
        "区纪委的行政效能监察室工作人员拖拉",
        "efficiency_supervision_office",
        {"efficiency_supervision_office": "full", "discipline_commission": "lead"},
    ),
    # picked from the list, and the description agrees
    ("finance_bureau", "", "区财政局窗口态度差", "finance_bureau", {"finance_bureau": "full"}),
    # the body the citizen asks for help is not the one complained about
    (None, "", "我要向区纪委反映，区财政局的人态度很差", "finance_bureau", {"finance_bureau": "full"}),
    (
        None,
        "",
        "希望纪委管管，政务中心窗口天天没人",
        "government_services_center",
        {"government_services_center": "full"},
    ),
]


@pytest.mark.parametrize(("chosen", "typed", "description", "target", "kept_out"), CLEAR_CASES)
def test_the_unit_complained_about_is_found_whoever_named_it(
    plan: Plan, chosen: str | None, typed: str, description: str, target: str, kept_out: dict[str, str]
) -> None:
    finding = find_targets(plan, chosen_unit_id=chosen, target_text=typed, description=description)

    assert not finding.ambiguous
    assert finding.target_unit_id == target
    assert {r.unit_id: r.scope.value for r in finding.recusals} == kept_out
    assert not any(r.pending for r in finding.recusals)


AMBIGUOUS_CASES = [
    # two units of different families
    (None, "", "区财政局和区审计局互相推诿，谁都不管", {"finance_bureau", "audit_bureau"}),
    # picked one unit, described another
    (
        "finance_bureau",
        "",
        "政务中心窗口让我去财政局，财政局又让我回去",
        {"finance_bureau", "government_services_center"},
    ),
    # a fragment typed alone ("财政") and then not confirmed: below the clear threshold
    (None, "财政", "态度很差，让我跑了三趟", {"finance_bureau"}),
    # typed one unit, the description names another
    (None, "物价局", "区政务中心的收费窗口多收钱", {"price_bureau", "government_services_center"}),
]


@pytest.mark.parametrize(("chosen", "typed", "description", "candidates"), AMBIGUOUS_CASES)
def test_several_candidates_or_an_unclear_one_wait_for_the_office(
    plan: Plan, chosen: str | None, typed: str, description: str, candidates: set[str]
) -> None:
    finding = find_targets(plan, chosen_unit_id=chosen, target_text=typed, description=description)

    assert finding.ambiguous
    assert finding.target_unit_id is None
    assert set(finding.candidates) == candidates
    # while the office decides, every candidate is kept out of sight
    assert candidates <= barred_from_sight(finding.recusals)
    assert all(r.pending for r in finding.recusals)
    # and the case is not routed
    area = plan.area("procedure")
    routing = route(
        area, barred_from_lead(finding.recusals), barred_from_sight(finding.recusals), target_unclear=True
    )
    assert routing.triage is TriageReason.TARGET_UNCLEAR
    assert routing.lead_unit_ids == routing.assist_unit_ids == ()


@pytest.mark.parametrize(
    "description",
    ["窗口工作人员上班玩手机，让我跑了三趟", "办事大厅排队三个小时没人管", "", "  "],
)
def test_a_complaint_naming_no_unit_keeps_nobody_out(plan: Plan, description: str) -> None:
    finding = find_targets(plan, chosen_unit_id=None, target_text="3号窗口的女同志", description=description)

    assert finding.recusals == ()
    assert finding.target_unit_id is None
    assert not finding.ambiguous


def test_a_fragment_as_short_as_one_character_names_nobody(plan: Plan) -> None:
    assert scopes(plan, typed="局") == {}
    assert scopes(plan, typed="区") == {}


def test_overlapping_names_count_the_longest_only(plan: Plan) -> None:
    found = mentions_in(plan, "区纪委行政效能监察室", RecusalReason.DESCRIPTION)

    assert [m.unit_id for m in found] == ["efficiency_supervision_office"]
    assert found[0].matched == "区纪委行政效能监察室"
    assert found[0].strength >= CLEAR_MATCH


def test_the_seed_plan_gives_every_unit_its_common_short_name(plan: Plan) -> None:
    by_name = plan.units_by_name()
    for short, unit_id in {
        "政务中心": "government_services_center",
        "纪委": "discipline_commission",
        "财政局": "finance_bureau",
        "审计局": "audit_bureau",
        "物价局": "price_bureau",
        "发改局": "development_reform",
        "作风办": "work_style_office",
        "效能办": "efficiency_office",
        "优化办": "optimisation_office",
        "机关工委": "organs_work_committee",
    }.items():
        assert by_name[short].id == unit_id


def test_families_follow_the_plan_parents(plan: Plan) -> None:
    assert ancestors(plan, "efficiency_supervision_office") == ["discipline_commission"]
    assert ancestors(plan, "discipline_commission") == []
    assert set(descendants(plan, "discipline_commission")) == {
        "conduct_integrity_office",
        "efficiency_supervision_office",
    }


@pytest.mark.parametrize(
    ("recusals", "expected"),
    [
        # the wider scope wins
        (
            [Recusal("a", LEAD, RecusalReason.PARENT, via="b"), Recusal("a", FULL, RecusalReason.NAMED)],
            [("a", FULL, RecusalReason.NAMED, False)],
        ),
        (
            [Recusal("a", FULL, RecusalReason.NAMED), Recusal("a", LEAD, RecusalReason.PARENT, via="b")],
            [("a", FULL, RecusalReason.NAMED, False)],
        ),
        # a decided one beats a pending one
        (
            [
                Recusal("a", FULL, RecusalReason.DESCRIPTION, pending=True),
                Recusal("a", FULL, RecusalReason.OFFICE),
            ],
            [("a", FULL, RecusalReason.OFFICE, False)],
        ),
        (
            [
                Recusal("a", FULL, RecusalReason.OFFICE),
                Recusal("a", FULL, RecusalReason.DESCRIPTION, pending=True),
            ],
            [("a", FULL, RecusalReason.OFFICE, False)],
        ),
    ],
)
def test_merge_keeps_one_recusal_per_unit(
    recusals: list[Recusal], expected: list[tuple[str, RecusalScope, RecusalReason, bool]]
) -> None:
    assert [(r.unit_id, r.scope, r.reason, r.pending) for r in merge(recusals)] == expected


@given(
    st.text(
        alphabet=st.sampled_from(list("区政务中心财政局审计纪委行政效能监察室窗口让我跑了三趟向反映的和 ")),
        max_size=40,
    ),
    st.text(alphabet=st.sampled_from(list("区政务中心财政局纪委监察室窗口 ")), max_size=12),
)
def test_no_unit_named_anywhere_ever_leads_or_sees_its_case(description: str, typed: str) -> None:
    from core.plan import load_plan
    from tests.conftest import PLAN_FILE

    plan = _PLAN.get("plan") or _PLAN.setdefault("plan", load_plan(PLAN_FILE))
    finding = find_targets(plan, chosen_unit_id=None, target_text=typed, description=description)
    hidden = barred_from_sight(finding.recusals)
    barred = barred_from_lead(finding.recusals)
    named = {m.unit_id for m in finding.mentions}
    # a head named only to say whose office it is ("区纪委的效能监察室") may be copied, not lead
    heads = {head for unit_id in named for head in ancestors(plan, unit_id)}
    for area in plan.areas:
        routing = route(area, barred, hidden, target_unclear=finding.ambiguous)
        for unit_id in named | heads:
            assert unit_id not in routing.lead_unit_ids
        for unit_id in named - heads:
            assert unit_id not in routing.assist_unit_ids
            for child in descendants(plan, unit_id):
                assert child not in routing.lead_unit_ids
                assert child not in routing.assist_unit_ids


_PLAN: dict[str, Plan] = {}
