"""Download headers for the exports: the Content-Type of the file and a Content-Disposition
whose file name survives every browser.

RFC 6266 with RFC 5987's ``filename*=UTF-8''…`` carries a Chinese name (导出-….xlsx); the plain
``filename=`` beside it is an ASCII fallback for old clients, with anything outside printable
ASCII, quotes and backslashes replaced, so no header can be split or forged by a name.
"""

from __future__ import annotations

import re
from urllib.parse import quote

_UNSAFE_ASCII = re.compile(r"[^A-Za-z0-9._()\-\[\] ]+")


def ascii_fallback(name: str, default: str = "export") -> str:
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    safe = _UNSAFE_ASCII.sub("_", stem).strip(" _-") or default
    ext = _UNSAFE_ASCII.sub("", ext)
    return f"{safe}.{ext}" if ext else safe


def content_disposition(name: str) -> str:
    """``attachment; filename="…"; filename*=UTF-8''…`` for ``name``."""
    return f"attachment; filename=\"{ascii_fallback(name)}\"; filename*=UTF-8''{quote(name, safe='')}"
