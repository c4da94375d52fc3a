"""Low-confidence cases reach the office's triage queue on their own (SPEC §4.2, §6; issue 14):
the rule on the plan's threshold (0.5) and min_margin (0.1), then the service that applies it."""

from __future__ import annotations

import pytest

from core.confidence_triage import low_confidence_needs_triage
from core.plan import Plan
from core.states import CaseState
from tests.unit.test_complaint_service import CITIZEN, OFFICE_CHAT, World, draft

THRESHOLD, MIN_MARGIN = 0.5, 0.1

RULE = [
    # picked, classifier's area, confidence, margin, to triage, why
    ("conduct", "conduct", 0.9, 0.5, False, "sure, and the citizen agrees"),
    ("procedure", "conduct", 0.9, 0.5, False, "sure: the citizen's own pick stands"),
    ("conduct", "conduct", 0.5, 0.1, False, "exactly at threshold and margin counts as sure"),
    ("conduct", "conduct", 0.45, 0.2, False, "unsure, but the pick agrees with a clear guess"),
    ("conduct", "conduct", 0.4, 0.1, False, "the edges of min_margin still agree"),
    ("conduct", "conduct", 0.39, 0.2, True, "agrees with a guess too far under the threshold"),
    ("conduct", "conduct", 0.45, 0.05, True, "agrees, but the guess was torn with the runner-up"),
    ("conduct", "conduct", 0.8, 0.05, True, "confident but torn: unsure, and agreeing is not enough"),
    ("procedure", "conduct", 0.8, 0.05, True, "confident but torn, and the citizen took another"),
    ("procedure", "conduct", 0.45, 0.2, True, "unsure and the citizen disagrees"),
    ("conduct", None, 0.2, 0.0, True, "no guess at all: nothing to agree with"),
    ("conduct", "conduct", 0.45, None, False, "no margin recorded: the confidence alone decides"),
    ("conduct", "conduct", 0.3, None, True, "no margin recorded and far too unsure"),
    (None, "conduct", 0.2, 0.0, False, "not sure: already triaged as not_sure"),
    ("conduct", None, None, None, False, "no classifier result (an office finding)"),
]


@pytest.mark.parametrize(
    ("picked", "auto", "confidence", "margin", "expected", "why"), RULE, ids=[r[5] for r in RULE]
)
def test_low_confidence_rule(
    picked: str | None,
    auto: str | None,
    confidence: float | None,
    margin: float | None,
    expected: bool,
    why: str,
) -> None:
    got = low_confidence_needs_triage(
        picked=picked,
        area_auto=auto,
        confidence=confidence,
        margin=margin,
        threshold=THRESHOLD,
        min_margin=MIN_MARGIN,
    )
    assert got is expected, why


def test_the_seed_plan_sets_the_threshold_and_margin_the_table_assumes(plan: Plan) -> None:
    assert (plan.classifier.threshold, plan.classifier.min_margin) == (THRESHOLD, MIN_MARGIN)


async def test_an_unsure_case_with_a_different_pick_goes_to_triage_with_its_reason(plan: Plan) -> None:
    w = await World(plan).setup()

    filed = await w.service.file(
        CITIZEN, draft(area="procedure", area_auto="conduct", confidence=0.3, margin=0.02)
    )

    case = w.store.cases[filed.case.id or 0]
    assert case.state is CaseState.TRIAGE
    assert (case.lead_unit_ids, case.assist_unit_ids) == ([], [])
    assert (case.area_final, case.area_auto) == ("procedure", "conduct")  # the pick is kept
    assert [(e.kind, e.data.get("reason")) for e in w.events(case.id or 0)] == [
        ("submit", None),
        ("send_to_triage", "low_confidence"),
    ]
    [notice] = w.outbox()  # the office only; no unit saw it
    assert notice.chat_id == OFFICE_CHAT
    assert notice.payload["text_params"]["reason_key"] == "triage.reason.low_confidence"  # type: ignore[index]


async def test_an_unsure_case_whose_pick_agrees_closely_routes_to_the_units(plan: Plan) -> None:
    w = await World(plan).setup()

    filed = await w.service.file(
        CITIZEN, draft(area="conduct", area_auto="conduct", confidence=0.45, margin=0.2)
    )

    case = w.store.cases[filed.case.id or 0]
    assert case.state is CaseState.ASSIGNED
    assert case.lead_unit_ids == ["organs_work_committee"]
