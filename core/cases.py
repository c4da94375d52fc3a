"""The case (工单) and the things attached to it, as plain domain objects.

Storage maps these to tables; handlers receive them from services. Nothing here knows about
Telegram or SQLAlchemy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from core.recusal import Recusal, barred_from_lead, barred_from_sight
from core.states import Action, Actor, CaseState, transition


class Source(StrEnum):
    """Where a case came from: a citizen, or the office's own supervision (SPEC §3)."""

    CITIZEN = "citizen"
    INSPECTION = "inspection"  # 明察暗访
    SPOT_CHECK = "spot_check"  # 随机抽查
    SPECIAL_CHECK = "special_check"  # 专项检查


class Visibility(StrEnum):
    PUBLIC = "public"  # the citizen sees it in the case history
    INTERNAL = "internal"  # units and the office only


class Outcome(StrEnum):
    SUBSTANTIATED = "substantiated"
    PARTLY_SUBSTANTIATED = "partly_substantiated"
    NOT_SUBSTANTIATED = "not_substantiated"


class Measure(StrEnum):
    """The measure taken when a case is closed (有案必查、查处必严)."""

    NONE = "none"
    CRITICISM = "criticism"  # 批评教育
    ADMONITION = "admonition"  # 诫勉谈话
    PUBLIC_CRITICISM = "public_criticism"  # 通报批评
    ORGANISATIONAL = "organisational"  # 组织处理
    DISCIPLINARY = "disciplinary"  # 纪律处分
    JUDICIAL = "judicial"  # 移送司法机关


class Satisfaction(StrEnum):
    SATISFIED = "satisfied"  # 满意
    BASICALLY = "basically"  # 基本满意
    UNSATISFIED = "unsatisfied"  # 不满意
    NO_RESPONSE = "no_response"  # no answer within 3 days; never counted as satisfied


class WarningColour(StrEnum):
    """三色预警."""

    NONE = "none"
    BLUE = "blue"  # one working day left
    YELLOW = "yellow"  # due today
    RED = "red"  # overdue


# The case id of events built for a case not stored yet: the repository that stores the case
# with them (CaseRepository.add_within_limit) puts the real one in.
NEW_CASE = 0


@dataclass(slots=True)
class CaseEvent:
    """One entry of the append-only case history."""

    case_id: int
    at: datetime
    actor: Actor
    actor_ref: str | None  # telegram user id, unit id or "system"; never shown to units for citizens
    kind: str  # an Action value, or "note", "evidence", "deadline", "follow_up", ...
    visibility: Visibility
    text: str = ""
    data: dict[str, object] = field(default_factory=dict)
    id: int | None = None


@dataclass(slots=True)
class Case:
    tracking_no: str
    state: CaseState
    source: Source
    description: str
    created_at: datetime
    area_auto: str | None = None  # what the classifier said
    area_final: str | None = None  # after citizen or office correction
    confidence: float | None = None
    matched_cues: list[str] = field(default_factory=list)
    citizen_id: int | None = None  # internal citizen id; None for office findings
    anonymous: bool = True
    target_unit_id: str | None = None  # 被投诉单位, when it is one of the plan's units
    target_text: str = ""  # unit / window / person as the citizen wrote it
    place: str = ""
    occurred: str = ""  # free text: "yesterday morning", "2026-11-20"
    lead_unit_ids: list[str] = field(default_factory=list)
    assist_unit_ids: list[str] = field(default_factory=list)
    assigned_at: datetime | None = None
    sign_due: date | None = None
    signed_at: datetime | None = None
    answer_due: date | None = None
    answered_at: datetime | None = None
    extended: bool = False
    closed_at: datetime | None = None
    outcome: Outcome | None = None
    measure: Measure | None = None
    typical: bool = False  # 典型案例
    satisfaction: Satisfaction | None = None
    satisfaction_comment: str = ""
    # units kept out of the case (回避): the unit complained about, its offices, its heads
    recusals: list[Recusal] = field(default_factory=list)
    submission_key: str | None = None  # the citizen's confirm, so a double tap files one case
    # the sub-campaign (core.campaigns) the case belongs to; DISTRICT ("") for the district's
    campaign: str = ""
    id: int | None = None

    @property
    def area(self) -> str | None:
        return self.area_final or self.area_auto

    def may_not_lead(self) -> frozenset[str]:
        """Units that may never lead this case (a case from before recusals were recorded
        still keeps its unit complained about out)."""
        legacy = {self.target_unit_id} if self.target_unit_id else set()
        return barred_from_lead(self.recusals) | legacy

    def may_not_see(self) -> frozenset[str]:
        """Units that may not even be copied in."""
        legacy = {self.target_unit_id} if self.target_unit_id else set()
        return barred_from_sight(self.recusals) | legacy

    @property
    def target_pending(self) -> bool:
        """Candidates for the unit complained about wait for the office's decision."""
        return any(r.pending for r in self.recusals)

    def apply(self, action: Action, actor: Actor) -> tuple[CaseState, CaseState]:
        """Move the case by the transition table; returns (before, after)."""
        before = self.state
        self.state = transition(before, action, actor)
        return before, self.state
