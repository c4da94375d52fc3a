"""Messages the bot must send, written in the same transaction as the change that causes them
(SPEC §7). A sender drains them; nothing here knows about Telegram's client."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class OutboxState(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    DEAD = "dead"  # gave up: too many attempts or a permanent error
    BLOCKED = "blocked"  # the chat blocked the bot
    WITHDRAWN = "withdrawn"  # taken back before it went: its reader may no longer see the case


@dataclass(slots=True)
class OutboxMessage:
    """One Bot API call to make: ``method`` (e.g. ``sendMessage``) with ``payload`` as its
    JSON parameters. ``dedup_key`` makes an enqueue idempotent: a second message with the same
    key is dropped, which is how reminders and digests are sent once across restarts and
    instances."""

    chat_id: int
    method: str
    payload: dict[str, object]
    created_at: datetime
    not_before: datetime | None = None  # None: as soon as possible (stored as created_at)
    dedup_key: str | None = None
    state: OutboxState = OutboxState.PENDING
    attempts: int = 0  # counted when claimed, so a message that crashes the sender still counts
    last_error: str | None = None
    sent_at: datetime | None = None
    claimed_by: str | None = None
    claimed_until: datetime | None = None
    id: int | None = None
