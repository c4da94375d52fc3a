"""Reading the audit trail (SPEC §10: "an audit trail for every office action"): the filters the
office's viewer offers and the seek cursor that pages through it.

Pages are cut by a cursor, the (time, id) of the last entry shown, never by an OFFSET: the
database then starts each page with an index seek wherever the page lies, instead of counting
past every newer entry first (a deep page would cost as much as reading the whole table).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from core.audit import AuditEntry
from core.stats import Period

AUDIT_PAGE = 50  # entries per page of the viewer
MAX_AUDIT_PAGE = 200
_CURSOR = re.compile(
    r"([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+(?:[+-][0-9]{2}:[0-9]{2}|Z)?)_([0-9]{1,19})", re.ASCII
)


@dataclass(frozen=True, slots=True)
class AuditCursor:
    """Where the previous page ended: entries strictly older than (at, id) come next."""

    at: datetime
    id: int

    def encode(self) -> str:
        return f"{self.at.isoformat()}_{self.id}"

    @classmethod
    def decode(cls, text: str) -> AuditCursor:
        """The cursor of a ``next`` link; raises ValueError for anything a link never holds."""
        m = _CURSOR.fullmatch(text.strip())
        if m is None:
            raise ValueError(f"not an audit cursor: {text[:40]!r}")
        at = datetime.fromisoformat(m.group(1))
        if at.tzinfo is None:
            raise ValueError("an audit cursor carries its time zone")
        return cls(at, int(m.group(2)))


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """What the viewer narrows the trail to; None or empty means "any"."""

    actor_id: int | None = None
    action: str | None = None  # exact, e.g. "case.reassign"
    target: str | None = None  # exact: a tracking number, a unit id, a phase id
    period: Period | None = None  # local dates of ``at``


@dataclass(frozen=True, slots=True)
class AuditPage:
    """One page, newest first, and the cursor of the page after it (None on the last page)."""

    entries: tuple[AuditEntry, ...]
    next: AuditCursor | None
