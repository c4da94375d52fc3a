"""Where the classifier and the office disagree (issue 14): a pure report over decided cases.

Each case keeps the classifier's pick (``Case.area_auto``) beside the area it ended with
(``Case.area_final``, after the citizen's or the office's correction), and the cues that fired.
This module turns such rows into a confusion table, agreement per area and the most frequent
confusions with example case numbers and the cues behind them, so the office can see which
rule to change. It never sees who complained: the rows carry the tracking number only.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# The classifier gave no area (it could not decide, or the citizen chose "not sure"): a row
# and a column of its own, so those cases are counted rather than dropped.
NONE_AREA = "none"


@dataclass(frozen=True, slots=True)
class DecidedCase:
    tracking_no: str
    area_auto: str | None  # what the classifier said
    area_final: str  # what the case ended with
    confidence: float | None = None
    matched_cues: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Confusion:
    classifier: str
    office: str
    count: int
    examples: tuple[str, ...]  # tracking numbers, oldest rows first as given
    cues: tuple[tuple[str, int], ...]  # cue → how many of these cases it fired on, most first


@dataclass(frozen=True, slots=True)
class AreaAgreement:
    area: str
    total: int  # cases the classifier put in this area
    agreed: int  # of them, kept in this area

    @property
    def rate(self) -> float | None:
        # None, not 0: an area the classifier never picked has no agreement rate at all.
        return self.agreed / self.total if self.total else None


@dataclass(frozen=True, slots=True)
class ClassifierReport:
    areas: tuple[str, ...]  # row and column order of the table
    table: dict[tuple[str, str], int]  # (classifier, office) → count; zero cells left out
    per_area: tuple[AreaAgreement, ...]
    confusions: tuple[Confusion, ...]
    total: int
    agreed: int

    @property
    def rate(self) -> float | None:
        return self.agreed / self.total if self.total else None

    def cell(self, classifier: str, office: str) -> int:
        return self.table.get((classifier, office), 0)


def build_report(
    rows: Iterable[DecidedCase],
    area_order: Sequence[str],
    *,
    top: int = 5,
    examples: int = 3,
) -> ClassifierReport:
    """The report over ``rows``; ``area_order`` is the plan's order of areas (areas seen in the
    rows but not in the plan, such as out_of_scope, follow it in order of first appearance)."""
    if top < 0 or examples < 0:
        raise ValueError("top and examples must not be negative")
    table: Counter[tuple[str, str]] = Counter()
    sample: dict[tuple[str, str], list[str]] = {}
    cues: dict[tuple[str, str], Counter[str]] = {}
    order = list(area_order)
    seen = set(order)
    total = agreed = 0
    for row in rows:
        auto = row.area_auto or NONE_AREA
        key = (auto, row.area_final)
        for area in key:
            if area not in seen:
                seen.add(area)
                order.append(area)
        table[key] += 1
        total += 1
        if auto == row.area_final:
            agreed += 1
            continue
        sample.setdefault(key, [])
        if len(sample[key]) < examples:
            sample[key].append(row.tracking_no)
        cues.setdefault(key, Counter()).update(dict.fromkeys(row.matched_cues, 1))
    per_area = tuple(
        AreaAgreement(
            area,
            sum(n for (a, _), n in table.items() if a == area),
            table.get((area, area), 0),
        )
        for area in order
    )
    rank = {area: i for i, area in enumerate(order)}
    misses = sorted(
        (key for key in table if key[0] != key[1]),
        key=lambda k: (-table[k], rank[k[0]], rank[k[1]]),
    )
    confusions = tuple(
        Confusion(
            key[0],
            key[1],
            table[key],
            tuple(sample.get(key, ())),
            tuple(sorted(cues[key].items(), key=lambda item: (-item[1], item[0]))),
        )
        for key in misses[:top]
    )
    return ClassifierReport(tuple(order), dict(table), per_area, confusions, total, agreed)
