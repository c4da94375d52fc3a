"""What the domain wants said, to whom: turned into outbox rows (SPEC §7).

The domain never renders sentences. A notice names a catalogue key and its parameters; the
sender renders it at send time in the recipient's language (looked up by ``user_id``; group
chats such as the office chat use the default language). Outbox payload convention, which the
sender reads:

- ``method`` is the Bot API method (``sendMessage``, ``sendPhoto``, ``sendDocument``).
- ``payload["text_key"]`` and ``payload["text_params"]``: the catalogue key and its params
  (params are escaped by the catalogue). A plain ``payload["text"]`` is sent as is (already
  safe HTML), for texts rendered elsewhere (e.g. a digest).
- ``payload["buttons"]``: rows of ``{"label_key": ..., "label_params": {...}, "data": ...}``
  (callback buttons) — labels are catalogue keys too.
- ``payload["user_id"]``: whose language to use (absent: the default language).
- any other keys (``photo``, ``document``, ``caption_key``...) are passed to the method as is.

Values in ``text_params`` are plain JSON (str, int, float, bool, None); dates are ISO strings.
A param whose name ends in ``_key`` is itself a catalogue key, rendered in the same language
before substitution (e.g. ``state_key="state.assigned"``); one ending in ``_keys`` is a list
of catalogue keys rendered and joined with the catalogue's list separator. Plan references
are rendered from the plan in the recipient's language: a param ending in ``_units`` is a list
of unit ids (→ unit names joined), one ending in ``_area`` is an area id (→ the area's numeral
and short title), one ending in ``_date`` is an ISO date (→ a localised date).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from core.outbox import OutboxMessage

JsonScalar = str | int | float | bool | None


@dataclass(frozen=True, slots=True)
class Button:
    label_key: str
    data: str
    label_params: Mapping[str, JsonScalar] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Notice:
    chat_id: int
    text_key: str
    params: Mapping[str, JsonScalar | list[str]] = field(default_factory=dict)
    user_id: int | None = None  # whose language; None for group chats (default language)
    buttons: Sequence[Sequence[Button]] = ()
    dedup_key: str | None = None
    not_before: datetime | None = None

    def to_outbox(self, now: datetime) -> OutboxMessage:
        payload: dict[str, object] = {"text_key": self.text_key, "text_params": dict(self.params)}
        if self.user_id is not None:
            payload["user_id"] = self.user_id
        if self.buttons:
            payload["buttons"] = [
                [
                    {"label_key": b.label_key, "label_params": dict(b.label_params), "data": b.data}
                    for b in row
                ]
                for row in self.buttons
            ]
        return OutboxMessage(
            chat_id=self.chat_id,
            method="sendMessage",
            payload=payload,
            created_at=now,
            not_before=self.not_before,
            dedup_key=self.dedup_key,
        )
