"""Tracking numbers (受理编号) such as ``ZH-2026-000123``: plan prefix, year, 6-digit sequence.

Parsing is strict: tracking numbers arrive in callback data and typed commands, so anything
that is not exactly the canonical form is refused rather than guessed at.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from core.errors import ValidationFailed

MAX_SEQUENCE = 999_999
# [0-9] and re.ASCII, not \d: \d would accept other scripts' digits, which int() then reads.
_PREFIX = re.compile(r"[A-Z]{2,8}", re.ASCII)
_TRACKING = re.compile(r"([A-Z]{2,8})-([0-9]{4})-([0-9]{6})", re.ASCII)


@dataclass(frozen=True, slots=True, order=True)
class TrackingNumber:
    prefix: str
    year: int
    sequence: int

    def __post_init__(self) -> None:
        if not _PREFIX.fullmatch(self.prefix):
            raise ValueError(f"tracking prefix must be 2-8 capital letters A-Z, got {self.prefix!r}")
        if not 1000 <= self.year <= 9999:
            raise ValueError(f"tracking year must have four digits, got {self.year}")
        if not 1 <= self.sequence <= MAX_SEQUENCE:
            raise ValueError(f"tracking sequence must be 1..{MAX_SEQUENCE}, got {self.sequence}")

    def __str__(self) -> str:
        return f"{self.prefix}-{self.year:04d}-{self.sequence:06d}"


def format_tracking_no(prefix: str, year: int, sequence: int) -> str:
    """``format_tracking_no("ZH", 2026, 123) == "ZH-2026-000123"``; ValueError on bad parts."""
    return str(TrackingNumber(prefix, year, sequence))


def parse_tracking_no(text: str, *, prefix: str | None = None, lenient: bool = False) -> TrackingNumber:
    """The tracking number in ``text``, or ValidationFailed.

    Strict by default (callback data, stored values). ``lenient`` is for what a person typed:
    surrounding spaces, lower case and full-width characters from a Chinese input method
    (``ｚｈ－２０２６－０００１２３``) are normalised first. With ``prefix``, numbers of
    another campaign are refused too.
    """
    candidate = unicodedata.normalize("NFKC", text).strip().upper() if lenient else text
    m = _TRACKING.fullmatch(candidate)
    if m is None or (prefix is not None and m.group(1) != prefix):
        raise ValidationFailed(field="tracking_no")
    try:
        return TrackingNumber(m.group(1), int(m.group(2)), int(m.group(3)))
    except ValueError:
        raise ValidationFailed(field="tracking_no") from None
