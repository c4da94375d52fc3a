"""Signing in to the dashboard (``core.web_access``): links from the bot's ``/web``, sessions,
and who the holder of a session is on each request.

Every link issued, every sign-in, every refused link and every end of sessions is on the audit
trail under the person concerned (a refused link that names nobody under ``SYSTEM_AUDIT_ACTOR``).
Only staff has a dashboard: an office member sees the campaign, a liaison its unit; a citizen
gets no link.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from core.audit import AuditEntry
from core.clock import Clock
from core.errors import PermissionDenied
from core.ports import UnitOfWork, UnitOfWorkFactory
from core.roles import Roles, resolve_roles
from core.services.workflow import SYSTEM_AUDIT_ACTOR
from core.web_access import (
    LINK_TTL,
    TOUCH_EVERY,
    WebSession,
    hash_token,
    new_token,
    usable_token,
)

AUDIT_LINK = "web.link"
AUDIT_LOGIN = "web.login"
AUDIT_REFUSED = "web.login_refused"
AUDIT_LOGOUT = "web.logout"
AUDIT_END_ALL = "web.end_sessions"


class LinkRefusal(StrEnum):
    UNKNOWN = "unknown"  # never issued (or forged)
    USED = "used"
    EXPIRED = "expired"
    NOT_STAFF = "not_staff"  # no longer in the office nor a liaison


class NotStaff(PermissionDenied):
    key = "web_login.not_staff"


class LinkRefused(PermissionDenied):
    key = "web_login.refused"

    def __init__(self, reason: LinkRefusal) -> None:
        super().__init__(reason=reason.value)
        self.reason = reason


class SessionInvalid(PermissionDenied):
    """No session, an ended or expired one, or one whose holder is no longer staff."""

    key = "web_login.session_invalid"


@dataclass(frozen=True, slots=True)
class IssuedLink:
    token: str  # goes into the link; never stored
    roles: Roles
    expires_minutes: int


@dataclass(frozen=True, slots=True)
class SignedIn:
    secret: str  # the session cookie's value; never stored
    session: WebSession
    roles: Roles


@dataclass(frozen=True, slots=True)
class WebViewer:
    """Who is looking, read afresh on every request."""

    session: WebSession
    roles: Roles

    @property
    def user_id(self) -> int:
        return self.roles.user_id

    @property
    def office(self) -> bool:
        return self.roles.office

    @property
    def unit_id(self) -> str | None:
        """The liaison's unit when the viewer is a liaison and not in the office."""
        return None if self.roles.office else self.roles.unit_id


def _staff(roles: Roles) -> bool:
    return roles.office or roles.liaison


@dataclass(slots=True)
class WebAccessService:
    uow: UnitOfWorkFactory
    clock: Clock
    admin_ids: frozenset[int] = frozenset()

    async def _roles(self, uow: UnitOfWork, user_id: int) -> Roles:
        return await resolve_roles(uow, user_id, self.admin_ids)

    async def issue_link(self, user_id: int) -> IssuedLink:
        """A one-time link for an office member or a liaison; ``NotStaff`` for anyone else."""
        now = self.clock.now()
        token = new_token()
        async with self.uow() as uow:
            roles = await self._roles(uow, user_id)
            if not _staff(roles):
                raise NotStaff()
            link = await uow.web.add_link(hash_token(token), user_id, now=now, expires_at=now + LINK_TTL)
            await uow.audit.add(AuditEntry(user_id, now, AUDIT_LINK, f"web_link:{link.id}", {}))
            await uow.commit()
        return IssuedLink(token, roles, int(LINK_TTL.total_seconds() // 60))

    async def sign_in(self, token: str | None, *, client: str = "") -> SignedIn:
        """Spend the link and open a session, or ``LinkRefused`` (audited, committed before the
        error is raised). ``client`` is the browser's address, kept on the trail."""
        now = self.clock.now()
        cleaned = usable_token(token)
        async with self.uow() as uow:
            digest = hash_token(cleaned) if cleaned else None
            link = await uow.web.consume_link(digest, now=now) if digest else None
            refusal: LinkRefusal | None = None
            actor = SYSTEM_AUDIT_ACTOR
            roles: Roles | None = None
            if link is None:
                known = await uow.web.get_link(digest) if digest else None
                if known is None:
                    refusal = LinkRefusal.UNKNOWN
                else:
                    actor = known.user_id
                    refusal = LinkRefusal.USED if known.used_at is not None else LinkRefusal.EXPIRED
            else:
                actor = link.user_id
                roles = await self._roles(uow, link.user_id)
                if not _staff(roles):
                    refusal = LinkRefusal.NOT_STAFF
            if refusal is not None or roles is None or link is None:
                reason = refusal or LinkRefusal.UNKNOWN
                details: dict[str, object] = {"reason": reason.value, "client": client[:64]}
                await uow.audit.add(AuditEntry(actor, now, AUDIT_REFUSED, "", details))
                await uow.commit()
                raise LinkRefused(reason)
            secret = new_token()
            session = await uow.web.add_session(hash_token(secret), link.user_id, now=now)
            details = {"link": link.id, "client": client[:64], "office": roles.office, "unit": roles.unit_id}
            await uow.audit.add(
                AuditEntry(link.user_id, now, AUDIT_LOGIN, f"web_session:{session.id}", details)
            )
            await uow.commit()
        return SignedIn(secret, session, roles)

    async def viewer(self, secret: str | None) -> WebViewer:
        """The live session's holder with their roles of now, or ``SessionInvalid``. A holder
        who is no longer staff has the session ended on the spot."""
        now = self.clock.now()
        cleaned = usable_token(secret)
        if cleaned is None:
            raise SessionInvalid()
        async with self.uow() as uow:
            session = await uow.web.get_session(hash_token(cleaned))
            if session is None or not session.live(now):
                raise SessionInvalid()
            roles = await self._roles(uow, session.user_id)
            if not _staff(roles):
                await uow.web.end_session(session.id, now=now, reason="role")
                await uow.commit()
                raise SessionInvalid()
            if now - session.last_seen_at >= TOUCH_EVERY:
                await uow.web.touch_session(session.id, now=now)
                session.last_seen_at = now
                await uow.commit()
        return WebViewer(session, roles)

    async def sign_out(self, viewer: WebViewer) -> None:
        now = self.clock.now()
        async with self.uow() as uow:
            if await uow.web.end_session(viewer.session.id, now=now, reason="logout"):
                target = f"web_session:{viewer.session.id}"
                await uow.audit.add(AuditEntry(viewer.user_id, now, AUDIT_LOGOUT, target, {}))
            await uow.commit()

    async def end_all(self, user_id: int) -> int:
        """End every open session of ``user_id`` (the bot's ``/web off``): how many were."""
        now = self.clock.now()
        async with self.uow() as uow:
            ended = await uow.web.end_sessions_of(user_id, now=now, reason="bot")
            await uow.audit.add(AuditEntry(user_id, now, AUDIT_END_ALL, "", {"ended": ended}))
            await uow.commit()
        return ended
