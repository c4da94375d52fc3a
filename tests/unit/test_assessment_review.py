"""The year-end assessment's review part (复核检查 findings, issue 14): 1 less a penalty per
finding by severity, at least 0, full marks with no finding; weighted like every other part,
and it moves the ranking."""

from __future__ import annotations

import pytest

from core.assessment import REVIEW_PENALTY, Part, assess, review_score
from core.plan import DEFAULT_WEIGHTS
from core.review import FindingSeverity
from core.stats import CaseMetrics, RectificationCounts, ScoreRow, SelfReportStatus

MINOR, SERIOUS, GRAVE = FindingSeverity.MINOR, FindingSeverity.SERIOUS, FindingSeverity.GRAVE


@pytest.mark.parametrize(
    ("findings", "score", "count"),
    [
        ((), 1.0, None),  # nothing found: full marks, nothing to rate
        ((MINOR,), 0.9, 1),
        ((SERIOUS,), 0.75, 1),
        ((GRAVE,), 0.5, 1),
        ((MINOR, SERIOUS), 0.65, 2),
        ((MINOR,) * 3 + (GRAVE,), 0.2, 4),
        ((SERIOUS,) * 4, 0.0, 4),  # four serious take the whole part
        ((GRAVE,) * 3, 0.0, 3),  # never below 0
        ((MINOR,) * 10, 0.0, 10),
    ],
)
def test_each_finding_takes_its_severitys_penalty(
    findings: tuple[FindingSeverity, ...], score: float, count: int | None
) -> None:
    got, basis = review_score(findings)
    assert got == pytest.approx(score)
    assert (basis.num if basis is not None else None) == count


def test_a_graver_finding_costs_more() -> None:
    assert REVIEW_PENALTY[MINOR] < REVIEW_PENALTY[SERIOUS] < REVIEW_PENALTY[GRAVE]


def _row(unit: str) -> ScoreRow:
    # every other part full marks: 4 of 4 on time, 4 of 4 satisfied, none reopened, report on time
    cases = CaseMetrics(unit, answer_due=4, answered_on_time=4, answered=4, satisfied=4)
    return ScoreRow(unit, cases, SelfReportStatus.ON_TIME, RectificationCounts())


def test_the_review_part_is_weighted_and_ranks_the_units() -> None:
    weights = dict(DEFAULT_WEIGHTS)
    assert sum(weights.values()) == 100 and weights[Part.REVIEW] > 0
    ranked = assess(
        [_row("a"), _row("b"), _row("c")], {}, DEFAULT_WEIGHTS, {"a": [GRAVE], "b": [MINOR, MINOR]}
    )
    by_unit = {r.unit: r for r in ranked}
    w = weights[Part.REVIEW]
    assert by_unit["c"].composite == 100.0
    assert by_unit["b"].composite == pytest.approx(100 - w * 0.2)
    assert by_unit["a"].composite == pytest.approx(100 - w * 0.5)
    assert [r.unit for r in ranked] == ["c", "b", "a"] and [r.rank for r in ranked] == [1, 2, 3]
    assert by_unit["a"].part(Part.REVIEW).points == pytest.approx(w * 0.5)


def test_without_findings_given_the_part_is_full_marks() -> None:
    [only] = assess([_row("a")], {}, DEFAULT_WEIGHTS)
    assert only.composite == 100.0 and only.part(Part.REVIEW).basis is None
