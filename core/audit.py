"""The audit trail of office actions (SPEC §10)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(slots=True)
class AuditEntry:
    actor_id: int  # telegram user id of the office member
    at: datetime
    action: str  # e.g. "case.reassign", "invite.create", "broadcast"
    target: str = ""  # e.g. a tracking number or unit id
    details: dict[str, object] = field(default_factory=dict)
    id: int | None = None
