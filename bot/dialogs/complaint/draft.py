"""The complaint draft: what the citizen told us so far, kept as plain JSON in ``user_data``,
and what it turns into (``ComplaintDraft`` for the service); what makes a description usable;
the plan's units named in free text."""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timedelta
from typing import Any

from bot.dialogs.complaint.states import DESCRIBE, MAX_SUGGESTIONS, TIMEOUT_MINUTES
from core import recusal
from core.attachments import AttachmentKind
from core.plan import Plan, Unit
from core.rules import Classification
from core.services.complaints import MAX_DESCRIPTION, MIN_DESCRIPTION, ComplaintDraft, Evidence


@dataclass(slots=True)
class Draft:
    id: str  # in every button of this dialog: buttons of another dialog are stale
    touched: str  # ISO time of the last answer, for the timeout after a restart
    trail: list[int] = field(default_factory=lambda: [DESCRIBE])  # visited steps, current last
    description: str = ""
    # what the classifier made of the description
    area_auto: str | None = None
    confidence: float | None = None
    margin: float | None = None  # over the runner-up: the office checks an unclear pick
    cues: list[str] = field(default_factory=list)
    runner_up: str | None = None
    unsure_auto: bool = True  # the classifier wants the citizen to pick
    out_of_scope: bool = False
    # the citizen's answers
    area: str | None = None
    area_chosen: bool = False  # False until confirmed, picked or "not sure"
    target_text: str = ""
    target_unit_id: str | None = None
    suggestions: list[str] = field(default_factory=list)  # unit ids behind the pick:<i> buttons
    suggested_for_typed: bool = False
    place: str = ""
    occurred: str = ""
    evidence: list[dict[str, Any]] = field(default_factory=list)
    anonymous: bool | None = None  # None: not asked yet
    phone: str | None = None
    editing: bool = False  # came from the summary's edit: go back there after the step
    keyboard: bool = False  # the identity reply keyboard is showing and must be removed
    # the filing's submission key: a retried confirm of this draft files the same case. Not
    # the id, which is short to fit in the buttons (24 bits: one citizen's thousand drafts
    # shared an id about once in thirty); "" for a draft stored before it existed
    key: str = ""

    @classmethod
    def new(cls, now: datetime) -> Draft:
        return cls(id=secrets.token_hex(3), touched=now.isoformat(), key=secrets.token_hex(12))

    @classmethod
    def from_json(cls, data: object) -> Draft | None:
        """The stored draft, or None when there is none or it no longer fits this code."""
        if not isinstance(data, dict):
            return None
        known = {f.name for f in fields(cls)}
        try:
            draft = cls(**{k: v for k, v in data.items() if k in known})
        except TypeError:
            return None
        return draft if draft.trail else None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def expired(self, now: datetime) -> bool:
        try:
            touched = datetime.fromisoformat(self.touched)
        except ValueError:
            return True
        return now - touched > timedelta(minutes=TIMEOUT_MINUTES)

    def classified(self, result: Classification) -> None:
        self.area_auto = result.area
        self.confidence = round(result.confidence, 4)
        self.margin = round(result.margin, 4)
        self.cues = list(result.cues)
        self.runner_up = result.runner_up
        self.unsure_auto = result.needs_choice
        self.out_of_scope = is_out_of_scope(result)
        self.area, self.area_chosen = None, False

    def evidence_items(self) -> tuple[Evidence, ...]:
        return tuple(
            Evidence(
                file_id=str(item["file_id"]),
                file_unique_id=str(item["file_unique_id"]),
                kind=AttachmentKind(item["kind"]),
                mime=item.get("mime"),
                size=item.get("size"),
                file_name=item.get("file_name"),
            )
            for item in self.evidence
        )

    def to_complaint(self) -> ComplaintDraft:
        shared = self.anonymous is False and self.phone is not None
        return ComplaintDraft(
            description=self.description,
            area=self.area,
            area_auto=self.area_auto,
            confidence=self.confidence,
            margin=self.margin,
            cues=tuple(self.cues),
            target_text=self.target_text,
            target_unit_id=self.target_unit_id,
            place=self.place,
            occurred=self.occurred,
            evidence=self.evidence_items(),
            anonymous=not shared,
            phone=self.phone if shared else None,
            submission_key=self.key or self.id,
        )


def is_out_of_scope(result: Classification) -> bool:
    """Confidently not about government service (a private dispute, a greeting, thanks). An
    unsure "no area" is not out of scope: the citizen picks the area instead."""
    return result.area is None and not result.needs_choice


def description_problem(text: str) -> tuple[str, dict[str, int]] | None:
    """The catalogue key and parameters telling why ``text`` cannot be the description."""
    if len(text) < MIN_DESCRIPTION:
        return "too_short", {"min": MIN_DESCRIPTION}
    if len(text) > MAX_DESCRIPTION:
        return "too_long", {"max": MAX_DESCRIPTION, "length": len(text)}
    return None


# ---------------------------------------------------------------------------------------------
# Units named in free text: core.recusal reads them (the same reading keeps the unit complained
# about out of its own case), here they become the unit step's suggestions


def suggest_units(plan: Plan, text: str, limit: int = MAX_SUGGESTIONS) -> list[Unit]:
    """Units whose name or alias the text mentions, the most specific match first."""
    return recusal.suggest_units(plan, text, limit)


def unit_named(plan: Plan, text: str) -> Unit | None:
    """The unit whose name (or alias) is exactly ``text``."""
    return recusal.unit_named(plan, text)
