"""Unit reports (自查自纠 self-inspection, 整改方案 plans, 整改情况 reports) and the office's
rectification recommendations (整改建议书), SPEC §5."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum


class ReportKind(StrEnum):
    SELF_INSPECTION = "self_inspection"
    RECTIFICATION_PLAN = "rectification_plan"
    RECTIFICATION_REPORT = "rectification_report"


class ReportStatus(StrEnum):
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    RETURNED = "returned"  # sent back by the office; the unit submits again


# The liaison's button that opens a 整改建议书 (the notice when it is issued, the reminders
# before its deadlines; bot/dialogs/rectification answers it).
CALLBACK_OPEN_RECOMMENDATION = "rc:open:"


class RecommendationStatus(StrEnum):
    ISSUED = "issued"
    PLAN_SUBMITTED = "plan_submitted"
    REPORT_SUBMITTED = "report_submitted"
    ACCEPTED = "accepted"  # 复核验收 passed


@dataclass(slots=True)
class UnitReport:
    unit_id: str
    kind: ReportKind
    phase_id: str
    submitted_at: datetime
    submitted_by: int | None = None
    recommendation_id: int | None = None
    due: date | None = None
    late: bool = False
    inspected: int | None = None  # subordinate units/posts inspected ...
    total: int | None = None  # ... out of this many (the plan asks for 100%)
    problems: str = ""
    measures: str = ""
    reason_below_target: str = ""
    status: ReportStatus = ReportStatus.SUBMITTED
    review_note: str = ""
    reviewed_at: datetime | None = None
    reviewed_by: int | None = None
    id: int | None = None

    @property
    def coverage(self) -> float | None:
        if self.inspected is None or not self.total:
            return None
        return self.inspected / self.total


@dataclass(slots=True)
class Recommendation:
    """整改建议书 issued by the office to one unit."""

    unit_id: str
    problems: str
    issued_at: datetime
    plan_due: date
    report_due: date
    issued_by: int | None = None
    status: RecommendationStatus = RecommendationStatus.ISSUED
    id: int | None = None
