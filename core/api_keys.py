"""API keys for partner systems (the 12345 hotline, a city portal) and the complainants they
file for, through the Open311 API (web/open311).

A key is 256 random bits, shown once when it is issued and stored only as its SHA-256: a
plain, unsalted hash is enough for a secret this long (nobody can enumerate 2**256 inputs),
and it lets the API find the key by an indexed equality instead of trying every row.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

# Recognisable in a leaked log or config file (secret scanners can match it), not part of the
# secret: the 43 characters after it carry the 256 random bits.
KEY_PREFIX = "bsn_"
_KEY_BYTES = 32
# A key is 47 characters; anything much longer is no key of ours and is refused before hashing.
MAX_KEY_INPUT = 128


def new_api_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(_KEY_BYTES)


def hash_api_key(key: str) -> str:
    """The only form in which a key is stored (surrounding blanks ignored: copy and paste)."""
    return hashlib.sha256(key.strip().encode()).hexdigest()


@dataclass(slots=True)
class ApiKey:
    """An issued key, as stored: never the key itself."""

    id: int
    name: str  # the holder, e.g. "12345 hotline"
    created_at: datetime
    created_by: int | None = None  # office member; None: issued on the command line
    revoked_at: datetime | None = None
    revoked_by: int | None = None
    last_used_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True, slots=True)
class ApiAccount:
    """A complainant known to a key holder's system, not to Telegram: a hotline caller, a
    portal user. (``api_key_id``, ``external_id``) is the account the daily filing limit counts,
    as a Telegram user id is for the bot; the contact details are, like a Telegram citizen's
    phone, for the office's eyes only."""

    api_key_id: int
    external_id: str
    phone: str | None = None
    email: str | None = None
    name: str | None = None

    @property
    def anonymous(self) -> bool:
        """No way to reach the person was given: the case is filed as the bot files a citizen
        who chose not to share a phone."""
        return self.phone is None and self.email is None and self.name is None
