"""Unit reports (自查自纠 self-inspection, 整改方案 plans, 整改情况 reports) and the office's
rectification recommendations (整改建议书), SPEC §5."""

from __future__ import annotations

from dataclasses import dataclass, field
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


class AccountabilityOutcome(StrEnum):
    """How a unit or its people were held to account (保障措施 三, 案件查办), mildest first."""

    CRITICISM = "criticism"  # 批评教育
    ADMONITION = "admonition"  # 诫勉谈话
    CIRCULATED = "circulated"  # 通报批评
    ORGANISATIONAL = "organisational"  # 组织处理（调整岗位、停职检查等）
    SANCTION = "sanction"  # 党纪政务处分
    REFERRAL = "referral"  # 移送司法机关


@dataclass(frozen=True, slots=True)
class Person:
    """Someone held to account, by role in the unit (一把手, 分管领导, 窗口工作人员) and name:
    a public servant, never a complainant."""

    role: str
    name: str = ""


@dataclass(slots=True)
class AccountabilityRecord:
    """案件查办: a unit that did not cooperate, hid problems, faked reports or failed its tasks,
    the people concerned, the facts, the cases it rests on and what came of it."""

    unit_id: str
    facts: str
    outcome: AccountabilityOutcome
    recorded_at: datetime
    people: list[Person] = field(default_factory=list)
    case_numbers: list[str] = field(default_factory=list)
    recorded_by: int | None = None
    id: int | None = None
