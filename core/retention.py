"""How long a complainant's identity and evidence are kept (issue 15; 个人信息保护法 §19: personal
information is kept no longer than its purpose needs). Pure rules, no I/O.

The purpose of the identity is the case (the office may call the complainant back) and the
campaign's year-end assessment (a unit may contest a case until then). So a closed case keeps
its complainant until the assessment plus a period the office sets (``RETENTION_DAYS``), or,
for a case closed after the assessment, until its own close date plus the same period. An open
case is never erased by the periodic pass: its complainant may still be asked, told, or rate
the answer. What is erased then is the identity (who complained, their phone, the evidence
files); the anonymised case stays, with its area, units, dates, states and rating, so the
campaign's figures are the same before and after.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Final

from core.plan import Plan
from core.states import CaseState

DEFAULT_RETENTION_DAYS: Final = 180

# Audit actions of erasure (core.audit); their details never carry identity, only case
# numbers and counts.
AUDIT_RETENTION_ERASE: Final = "retention.erase"  # the periodic pass, past the date
AUDIT_FORGET_REQUEST: Final = "forget.request"  # a citizen's /forget
AUDIT_FORGET_ERASE: Final = "forget.erase"  # their closed cases erased at once
AUDIT_FORGET_DECIDE: Final = "forget.decide"  # the office's decision on their open cases
# Who the audit names when nobody pressed a button: the pass itself (audit_log.actor_id is not
# nullable, and 0 is no Telegram user).
SYSTEM_ACTOR: Final = 0

# A Chinese mobile (1[3-9] and nine more digits, spaced or dashed, optionally after +86 / 0086
# / 86), a landline with its area code (0 and 2-3 digits, then 7-8), or anything dialled with
# +86. Digits right before or after mean a longer number (a timestamp, an id) that is not a
# phone; a tracking number (ZH-2026-000123) matches none of these.
PHONE_LIKE: Final = re.compile(
    r"(?<![\d+])(?:(?:\+|00)?86[\s-]?)?1[3-9]\d(?:[\s-]?\d{4}){2}(?!\d)"
    r"|(?<![\d+])0\d{2,3}[\s-]?\d{7,8}(?!\d)"
    r"|\+\s?86[\d\s()-]{5,}\d"
)
PHONE_MASK: Final = "[phone]"
ERASED_MASK: Final = "[erased]"
# A name shorter than this is not looked for in free text: one character would blank out
# ordinary words.
_MIN_NAME = 2


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """``assessment``: the day of the year-end assessment; ``days``: the period after it (or
    after a later close) for which identity and evidence are kept."""

    assessment: date
    days: int = DEFAULT_RETENTION_DAYS

    def __post_init__(self) -> None:
        if self.days < 0:
            raise ValueError("retention days cannot be negative")

    @classmethod
    def for_plan(cls, plan: Plan, days: int, assessment: date | None = None) -> RetentionPolicy:
        """The plan holds no date of its own for the assessment: the office may give one
        (``RETENTION_ASSESSMENT_DATE``); otherwise the campaign's last day (its last phase's
        end, when the 复核验收 is done) stands for it."""
        return cls(assessment=assessment or plan.end, days=days)

    @property
    def period(self) -> timedelta:
        return timedelta(days=self.days)

    def erase_after(self, state: CaseState, closed_on: date | None) -> date | None:
        """The last day a case's identity is kept; None while the case is open (never erased
        by the pass). ``closed_on``: the local day it was closed or rejected."""
        if not state.is_final or closed_on is None:
            return None
        return max(self.assessment, closed_on) + self.period

    def is_due(self, state: CaseState, closed_on: date | None, today: date) -> bool:
        after = self.erase_after(state, closed_on)
        return after is not None and today > after

    def closed_before(self, today: date) -> date | None:
        """The pass's cut: final cases closed before this local day are due today (the same
        rule as ``is_due``, as one indexed range). None while even the assessment's period
        runs."""
        if today <= self.assessment + self.period:
            return None
        return today - self.period


def scrub_text(text: str, known: Iterable[str | None] = ()) -> str:
    """``text`` with phone-like numbers masked, and the complainant's own details (their
    phone as stored, email, name) wherever they occur. The complaint's words stay: they are the
    case the statistics and the year-end report rest on; the person is what goes."""
    values = {v.strip() for v in known if v and len(v.strip()) >= _MIN_NAME}
    for value in sorted(values, key=len, reverse=True):  # "+8613..." before "13..."
        text = text.replace(value, ERASED_MASK)
    return PHONE_LIKE.sub(PHONE_MASK, text)


def scrub_json(value: object, known: Iterable[str | None] = ()) -> object:
    """``scrub_text`` applied to every string inside a JSON value (keys stay)."""
    known = tuple(known)
    if isinstance(value, str):
        return scrub_text(value, known)
    if isinstance(value, list):
        return [scrub_json(v, known) for v in value]
    if isinstance(value, dict):
        return {k: scrub_json(v, known) for k, v in value.items()}
    return value


@dataclass(frozen=True, slots=True)
class ErasableCase:
    """What the erasure needs to know of a case (no text, no identity)."""

    case_id: int
    tracking_no: str
    state: CaseState
    citizen_id: int | None
    closed_at: datetime | None  # when it was closed (or rejected); None while open


@dataclass(slots=True)
class Erased:
    """What one erasure did: counts for the audit and the reply, never identity."""

    cases: list[str]  # tracking numbers whose identity is gone
    evidence: int = 0  # attachment rows whose file ids were cleared
    files: int = 0  # local evidence files deleted
    citizens: int = 0  # citizen rows deleted
    scrubbed: int = 0  # other rows (dialogs, outbox, audit, events) where a phone was masked

    def merge(self, other: Erased) -> None:
        self.cases += other.cases
        self.evidence += other.evidence
        self.files += other.files
        self.citizens += other.citizens
        self.scrubbed += other.scrubbed

    def details(self) -> dict[str, object]:
        return {
            "cases": list(self.cases),
            "evidence": self.evidence,
            "files": self.files,
            "citizens": self.citizens,
            "scrubbed": self.scrubbed,
        }


class ForgetDecision(StrEnum):
    """The office's answer to a /forget that found open cases."""

    ERASE_NOW = "erase"  # the open cases go on without their complainant
    KEEP_UNTIL_CLOSED = "keep"  # erased by the pass as soon as each one is closed


@dataclass(frozen=True, slots=True)
class ErasureRequest:
    """A citizen's /forget while some of their cases were open: what the office decides on.
    ``citizen_id`` becomes None once the citizen row is gone."""

    id: int
    citizen_id: int | None
    requested_at: datetime
    cases: tuple[str, ...]  # the open cases' tracking numbers at the time
    decision: ForgetDecision | None = None
    decided_at: datetime | None = None
    decided_by: int | None = None
