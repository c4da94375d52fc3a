"""The character policy for text people type (SPEC §10: control characters are bad input).

One policy for every free-text input of every dialog, applied before the text reaches a draft,
a service or the database:

- kept: printable characters, line breaks and tabs;
- a space of any kind (no-break, ideographic) becomes a plain space: it still separates words;
- dropped: every other non-printable character. That is the C0/C1 controls (U+0000 NUL, which
  PostgreSQL refuses in TEXT and JSONB alike, and U+0007 BEL), the format characters (Cf) among
  them the bidirectional overrides and isolates (U+202A..U+202E, U+2066..U+2069: they make a
  name or a tracking number read differently from what it is, a spoofing vector) and the
  zero-width characters, lone surrogates, private-use and unassigned code points, and the line
  and paragraph separators U+2028/U+2029.

``strip_nul`` is the storage layers' last guard: whatever a handler forgot, no string with a
NUL reaches a TEXT or JSON column (it would fail that write, and with it every later flush of
that user's dialog, for good).
"""

from __future__ import annotations

import unicodedata
from typing import Any

from core.errors import ValidationFailed

NUL = "\x00"


def _kept(ch: str) -> str:
    if ch in "\n\t" or ch.isprintable():
        return ch
    # isprintable() is False for every space but the ASCII one; a no-break or full-width
    # (ideographic) space still separates words, so it becomes a plain space, not nothing
    return " " if unicodedata.category(ch) == "Zs" else ""


def strip_controls(text: str) -> str:
    """``text`` under the policy above, nothing else changed (no trimming, no length check)."""
    if text.isprintable():  # the common case, checked in C
        return text
    return "".join(_kept(ch) for ch in text)


def clean_text(text: str, *, limit: int) -> str:
    """``strip_controls`` and surrounding blanks stripped; ``ValidationFailed`` (field
    ``length``) when what is left is longer than ``limit``."""
    cleaned = strip_controls(text).strip()
    if len(cleaned) > limit:
        raise ValidationFailed(field="length", limit=limit, length=len(cleaned))
    return cleaned


def strip_nul(value: Any) -> Any:
    """``value`` with NUL removed from every string in it, dictionary keys included, through
    lists, tuples and dicts (JSON-shaped data); anything else is returned as it is. Returns the
    same object when there was nothing to remove, so the common case allocates nothing."""
    if isinstance(value, str):
        return value.replace(NUL, "") if NUL in value else value
    if isinstance(value, dict):
        items = [(strip_nul(k), strip_nul(v)) for k, v in value.items()]
        if all(k is k0 and v is v0 for (k, v), (k0, v0) in zip(items, value.items(), strict=True)):
            return value
        return dict(items)
    if isinstance(value, list | tuple):
        stripped = [strip_nul(v) for v in value]
        if all(a is b for a, b in zip(stripped, value, strict=True)):
            return value
        return tuple(stripped) if isinstance(value, tuple) else stripped
    return value
