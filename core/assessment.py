"""年终绩效评估 (保障措施 四: 整改情况纳入单位年终绩效评估): the campaign as a weighted part
of each unit's year-end assessment.

Each part scores 0..1 from the unit's figures for the year (the scoreboard's, so every figure
traces back to cases and reports); the composite is the weighted sum on a 100-point scale; units
are ranked by it (ties share a rank, listed in the plan's order). A part with nothing to rate (a
unit that had no answer due) scores full marks: no complaint is not a failing, and the part's
detail says "nothing to rate". The weights come from the plan (``[assessment]``), summing to 100.

| part | score |
| --- | --- |
| answered_on_time | answers given by their deadline / answers due (按时办结率) |
| satisfaction | 满意 + 基本满意 / ratings, "no response" counted as not satisfied (满意率) |
| reopen | 1 - reopened / answered (a case handled again was not handled well) |
| reports_on_time | the self-inspection report (on time 2 of 2, late 1 of 2, missing 0 of 2) |
|   | plus rectification plans and reports delivered on time, pooled |
| accountability | 1 - ¼ per accountability record against the unit in the year, at least 0 |
| review | 1 - a penalty per 复核检查 finding of the year by severity (``REVIEW_PENALTY``), at least 0 |
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from core.plan import AssessmentPart as Part
from core.review import FindingSeverity
from core.stats import Ratio, ScoreRow, SelfReportStatus

__all__ = [
    "ACCOUNTABILITY_PENALTY",
    "REVIEW_PENALTY",
    "Part",
    "PartScore",
    "UnitAssessment",
    "assess",
    "part_scores",
    "review_score",
]

ACCOUNTABILITY_PENALTY = 0.25  # per record; four records take the whole part
# per review finding, by severity: ten minor ones, four serious or two grave take the whole part
REVIEW_PENALTY: Mapping[FindingSeverity, float] = {
    FindingSeverity.MINOR: 0.1,
    FindingSeverity.SERIOUS: 0.25,
    FindingSeverity.GRAVE: 0.5,
}


_SELF_REPORT = {
    SelfReportStatus.ON_TIME: Ratio(2, 2),
    SelfReportStatus.LATE: Ratio(1, 2),
    SelfReportStatus.MISSING: Ratio(0, 2),
}


@dataclass(frozen=True, slots=True)
class PartScore:
    part: Part
    weight: int
    score: float  # 0..1
    basis: Ratio | None  # what it was computed from; None: nothing to rate (full marks)

    @property
    def points(self) -> float:
        return self.weight * self.score


@dataclass(frozen=True, slots=True)
class UnitAssessment:
    unit: str
    parts: tuple[PartScore, ...]
    rank: int = 0

    @property
    def composite(self) -> float:
        """0..100, rounded to one decimal as printed."""
        return round(sum(p.points for p in self.parts), 1)

    def part(self, part: Part) -> PartScore:
        return next(p for p in self.parts if p.part is part)


def _score(ratio: Ratio | None) -> tuple[float, Ratio | None]:
    if ratio is None or ratio.rate is None:
        return 1.0, None
    return ratio.rate, ratio


def review_score(findings: Sequence[FindingSeverity]) -> tuple[float, Ratio | None]:
    """1 less the findings' penalties, at least 0; the basis is the count of findings (num)."""
    if not findings:
        return 1.0, None
    penalty = sum(REVIEW_PENALTY[FindingSeverity(f)] for f in findings)
    return max(0.0, round(1 - penalty, 6)), Ratio(len(findings), 1)


def part_scores(
    row: ScoreRow, accountability_records: int, review_findings: Sequence[FindingSeverity] = ()
) -> dict[Part, tuple[float, Ratio | None]]:
    cases = row.cases
    reopen = cases.reopen_rate
    reports = row.rectification.on_time + _SELF_REPORT.get(row.self_report, Ratio(0, 0))
    penalty = min(1.0, ACCOUNTABILITY_PENALTY * accountability_records)
    # the accountability part's basis is the count of records (num), not a rate
    records = Ratio(accountability_records, 1) if accountability_records else None
    return {
        Part.ANSWERED_ON_TIME: _score(cases.answer_rate),
        Part.SATISFACTION: _score(cases.satisfaction_rate),
        Part.REOPEN: (1 - reopen.rate, reopen) if reopen.rate is not None else (1.0, None),
        Part.REPORTS_ON_TIME: _score(reports),
        Part.ACCOUNTABILITY: (1 - penalty, records),
        Part.REVIEW: review_score(review_findings),
    }


def assess(
    rows: Sequence[ScoreRow],
    accountability: Mapping[str, int],
    weights: Sequence[tuple[Part, int]],
    review: Mapping[str, Sequence[FindingSeverity]] | None = None,
) -> list[UnitAssessment]:
    """Every unit's assessment, ranked (1 is best); ``rows`` in the plan's order; ``review``:
    each unit's 复核检查 findings of the year, by severity."""
    assessed = []
    for row in rows:
        scores = part_scores(row, accountability.get(row.unit, 0), (review or {}).get(row.unit, ()))
        parts = tuple(PartScore(part, weight, *scores[part]) for part, weight in weights)
        assessed.append(UnitAssessment(row.unit, parts))
    ordered = sorted(range(len(assessed)), key=lambda i: (-assessed[i].composite, i))
    ranked: list[UnitAssessment] = [assessed[0]] * len(assessed) if assessed else []
    rank, previous = 0, None
    for position, i in enumerate(ordered, start=1):
        if assessed[i].composite != previous:
            rank, previous = position, assessed[i].composite
        ranked[position - 1] = UnitAssessment(assessed[i].unit, assessed[i].parts, rank)
    return ranked
