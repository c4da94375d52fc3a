"""Evidence and report files: only Telegram's file ids are kept, never the bytes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class AttachmentKind(StrEnum):
    PHOTO = "photo"
    DOCUMENT = "document"
    VOICE = "voice"


@dataclass(slots=True)
class Attachment:
    file_id: str
    file_unique_id: str
    kind: AttachmentKind
    at: datetime
    case_id: int | None = None
    report_id: int | None = None
    mime: str | None = None
    size: int | None = None
    file_name: str | None = None
    added_by: int | None = None  # telegram user id
    id: int | None = None
    # the SHA-256 of the office's own copy in the evidence store (issue 15), once the bot has
    # fetched the file; None before that and after erasure
    sha256: str | None = None
