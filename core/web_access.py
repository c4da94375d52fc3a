"""Sign-in to the office's web dashboard without passwords to keep (SPEC §9, issue 13).

The bot's ``/web`` command gives an office member or a unit's liaison a one-time link. The link
carries 256 random bits, is stored only as its SHA-256 (as invite codes and API keys are), works
once and for ``LINK_TTL``; opening it starts a session whose own secret sits in a cookie and,
again, only as a hash in the database. A session ends when it has been idle for ``SESSION_IDLE``,
at ``SESSION_MAX`` after sign-in whatever happens, on "sign out", or when its holder ends all
sessions from the bot (``/web off``). The holder's roles are read afresh on every request, so
a liaison removed from a unit, or a member removed from the office, loses the dashboard at once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

LINK_TTL = timedelta(minutes=10)
SESSION_IDLE = timedelta(hours=2)  # a dashboard left open over lunch asks for a new link
SESSION_MAX = timedelta(hours=12)  # one working day, however busy
# ``last_seen_at`` says whether a session is idle, at minute precision: writing it at most once
# a minute keeps page views from costing an UPDATE each.
TOUCH_EVERY = timedelta(minutes=1)
_TOKEN_BYTES = 32
MAX_TOKEN_INPUT = 128  # ours are 43 characters; anything much longer is refused before hashing


def new_token() -> str:
    return secrets.token_urlsafe(_TOKEN_BYTES)


def hash_token(token: str) -> str:
    """The only form in which a link or a session secret is stored."""
    return hashlib.sha256(token.strip().encode()).hexdigest()


def usable_token(token: str | None) -> str | None:
    """``token`` stripped, or None when it cannot be one of ours (empty or far too long)."""
    cleaned = (token or "").strip()
    return cleaned if 0 < len(cleaned) <= MAX_TOKEN_INPUT else None


def csrf_token(session_secret: str, key: bytes) -> str:
    """The session's anti-forgery token: an HMAC of its secret under the app's key, so it needs
    no storage, differs per session, and a page on another site can neither read nor make it."""
    return hmac.new(key, b"csrf:" + session_secret.encode(), hashlib.sha256).hexdigest()


def csrf_matches(presented: str | None, session_secret: str, key: bytes) -> bool:
    if not presented:
        return False
    return hmac.compare_digest(presented.encode(), csrf_token(session_secret, key).encode())


@dataclass(slots=True)
class WebLink:
    """A sign-in link as stored: its hash, never the link."""

    id: int
    user_id: int
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None

    def usable(self, now: datetime) -> bool:
        return self.used_at is None and now < self.expires_at


@dataclass(slots=True)
class WebSession:
    id: int
    user_id: int
    created_at: datetime
    last_seen_at: datetime
    ended_at: datetime | None = None
    end_reason: str | None = None

    def expires_at(self) -> datetime:
        return min(self.last_seen_at + SESSION_IDLE, self.created_at + SESSION_MAX)

    def live(self, now: datetime) -> bool:
        return self.ended_at is None and now < self.expires_at()
