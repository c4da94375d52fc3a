"""The classifier report as a service (issue 14): a period's decided cases, read through a port
(``DecidedCaseSource``; ``storage.classifier_report.SqlDecidedCases`` in the running bot), made
into ``core.classifier_report``'s confusion table plus the phrases most often in disagreement.

The bot's ``/classifier``, the web page and the CLI all call ``ClassifierReportService.report``
(through ``bot.reports.classifier``); each checks the office role itself before calling. The
rows carry tracking numbers, areas and cues only: nothing here can say who complained.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Protocol

from core.classifier_report import NONE_AREA, ClassifierReport, Confusion, DecidedCase, build_report
from core.plan import Plan
from core.stats import Period

TOP_CONFUSIONS = 5  # in the chat text and on the web page; the workbook has every confusion
TOP_PHRASES = 10
EXAMPLES = 3  # tracking numbers kept per confusion
ALL = 10_000  # "every confusion": more than the cells of any plan's matrix


class DecidedCaseSource(Protocol):
    async def decided_cases(self, start: datetime, end: datetime) -> Sequence[DecidedCase]:
        """Citizens' decided cases created in [start, end), oldest first."""
        ...


@dataclass(frozen=True, slots=True)
class ClassifierResult:
    period: Period
    report: ClassifierReport  # every confusion (top=ALL)
    phrases: tuple[tuple[str, int], ...]  # cue → disagreeing cases it fired on, most first

    def top_confusions(self, n: int = TOP_CONFUSIONS) -> tuple[Confusion, ...]:
        return self.report.confusions[:n]


def disagreeing_phrases(rows: Iterable[DecidedCase], top: int = TOP_PHRASES) -> tuple[tuple[str, int], ...]:
    """The cues that fired on cases whose area the office changed, counted once per case: the
    phrases that most often led the classifier astray (ties in the cue's order)."""
    counts: Counter[str] = Counter()
    for row in rows:
        if (row.area_auto or NONE_AREA) != row.area_final:
            counts.update(set(row.matched_cues))
    return tuple(sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:top])


def analyse(rows: Sequence[DecidedCase], area_order: Sequence[str], period: Period) -> ClassifierResult:
    report = build_report(rows, area_order, top=ALL, examples=EXAMPLES)
    return ClassifierResult(period, report, disagreeing_phrases(rows, ALL))


@dataclass(frozen=True, slots=True)
class ClassifierReportService:
    source: DecidedCaseSource
    plan: Plan
    tz: tzinfo

    async def report(self, period: Period) -> ClassifierResult:
        """The report over citizens' cases created in ``period`` (local days in ``tz``)."""
        rows = await self.source.decided_cases(period.start(self.tz), period.end(self.tz))
        return analyse(rows, [a.id for a in self.plan.areas], period)
