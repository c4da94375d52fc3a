"""The weekly digest's account of the campaign's own work beside the cases (issue 14): review
inspections (复核检查) and their findings, good practices (推介典型) and long-term measures
(长效机制). Pure: the records in, the figures out.

A week's digest says what happened that week (inspections held, findings made, practices
recorded and shared, measures finished) and what is owed now, whatever week it began in
(findings not yet turned into a 整改建议书, measures past their due date): the office reads it
on Monday to know what to chase.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo

from core.calendar import WorkingDays
from core.measures import GoodPractice, Measure, MeasureStatus, is_overdue
from core.review import FindingSeverity, ReviewFinding, ReviewInspection
from core.stats import Period


@dataclass(frozen=True, slots=True)
class OverdueMeasure:
    unit_id: str
    title: str
    due: date
    id: int | None = None


@dataclass(frozen=True, slots=True)
class CampaignWork:
    inspections: int = 0  # held in the period
    units_inspected: int = 0
    findings: int = 0  # made by those inspections
    by_severity: Mapping[FindingSeverity, int] = field(default_factory=dict)
    findings_unrectified: int = 0  # of every inspection so far: no 整改建议书 yet
    practices_recorded: int = 0
    practices_shared: int = 0
    measures_done: int = 0  # finished in the period
    measures_open: int = 0  # planned or in progress now
    overdue: tuple[OverdueMeasure, ...] = ()  # now, oldest due first

    @property
    def empty(self) -> bool:
        """Nothing to say: no review, practice or measure in the campaign at all yet."""
        return not (
            self.inspections or self.findings_unrectified or self.practices_recorded
            or self.practices_shared or self.measures_done or self.measures_open or self.overdue
        )  # fmt: skip


def campaign_work(
    period: Period,
    today: date,
    tz: tzinfo,
    wd: WorkingDays,
    *,
    inspections: Iterable[ReviewInspection],
    findings: Iterable[ReviewFinding],
    practices: Iterable[GoodPractice],
    measures: Iterable[Measure],
    units: Collection[str] | None = None,
) -> CampaignWork:
    """The figures of ``period`` (local dates in ``tz``) for ``units`` (None: every unit; a
    street's office passes its own campaign's)."""

    def mine(unit_id: str) -> bool:
        return units is None or unit_id in units

    def in_period(at: datetime | None) -> bool:
        return at is not None and period.contains(at.astimezone(tz).date())

    held = {
        i.id: i for i in inspections if period.contains(i.inspected_on) and any(mine(u) for u in i.unit_ids)
    }
    all_findings = [f for f in findings if mine(f.unit_id)]
    made = [f for f in all_findings if f.inspection_id in held]
    practices = [p for p in practices if mine(p.unit_id)]
    measures = [m for m in measures if mine(m.unit_id)]
    late = sorted(
        (m for m in measures if is_overdue(m, today, wd)), key=lambda m: (m.due, m.unit_id, m.id or 0)
    )
    return CampaignWork(
        inspections=len(held),
        units_inspected=len({u for i in held.values() for u in i.unit_ids if mine(u)}),
        findings=len(made),
        by_severity=dict(Counter(f.severity for f in made)),
        findings_unrectified=sum(1 for f in all_findings if f.recommendation_id is None),
        practices_recorded=sum(1 for p in practices if in_period(p.recorded_at)),
        practices_shared=sum(1 for p in practices if in_period(p.shared_at)),
        measures_done=sum(
            1 for m in measures if m.status is MeasureStatus.DONE and in_period(m.updated_at or m.created_at)
        ),
        measures_open=sum(1 for m in measures if not m.final),
        overdue=tuple(OverdueMeasure(m.unit_id, m.title, m.due, m.id) for m in late),
    )
