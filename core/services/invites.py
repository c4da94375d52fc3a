"""Onboarding liaisons (SPEC §5): single-use, expiring invite codes, ``/join CODE``, removal.
The same codes bind a unit's 一把手 and 分管领导 (``core.directory.InviteRole``) to their accounts:
one holder per unit and role, a new binding ending the old one, the office told of each.

Codes are shown once and stored only as a hash (``core.directory.hash_invite_code``). A code
binds whoever presents it first to the code's unit; the repository's ``consume`` makes that
atomic, so two people racing with one code cannot both join.

Guessing is made useless twice over: a code carries ~59 random bits, and failed attempts are
counted per user in the audit trail (so the count survives restarts and is shared by every
instance): after ``MAX_FAILED_JOINS`` failures within ``FAILED_JOIN_WINDOW`` the user is refused
until the oldest failure ages out, before the code is even looked at.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from core.audit import AuditEntry
from core.clock import Clock
from core.directory import InviteRole, UnitLeader, hash_invite_code, new_invite_code
from core.errors import DomainError, NotFound, RateLimited, ValidationFailed
from core.notices import Notice
from core.plan import Plan
from core.ports import UnitOfWork, UnitOfWorkFactory
from core.roles import resolve_roles
from core.services.workflow import tell_office

DEFAULT_TTL = timedelta(days=7)
MAX_TTL = timedelta(days=90)
MIN_TTL = timedelta(hours=1)
MAX_FAILED_JOINS = 5
FAILED_JOIN_WINDOW = timedelta(hours=1)
# Longer input is no code of ours; it is refused (and counted) without hashing megabytes.
MAX_CODE_INPUT = 64
CODE_GROUP = 4  # shown as XXXX-XXXX-XXXX; the hash ignores the dashes

# Audit actions. A failed join is recorded under the user who tried, which is what the rate
# limit counts; the others are the trail SPEC §10 asks for.
AUDIT_CREATE = "invite.create"
AUDIT_JOIN = "invite.join"
AUDIT_JOIN_FAILED = "invite.join_failed"
AUDIT_REMOVE = "liaison.remove"
AUDIT_LEADER_BIND = "leader.bind"
AUDIT_LEADER_END = "leader.end"
# An upper bound on the audit rows read to count recent failures: more than enough for the
# limit, and a user with a long office history still only costs one small indexed query.
_AUDIT_SCAN = 200


class InviteUnknown(NotFound):
    """No such code (mistyped, or made up)."""

    key = "join.error_unknown"


class InviteUsed(ValidationFailed):
    key = "join.error_used"


class InviteExpired(ValidationFailed):
    key = "join.error_expired"


class JoinRateLimited(RateLimited):
    """Too many failed codes lately; ``params["minutes"]`` says how long to wait."""

    key = "join.error_rate_limited"


class UnknownUnit(NotFound):
    key = "join.error_unit"


class BadTtl(ValidationFailed):
    key = "join.error_ttl"


class NotALiaison(NotFound):
    key = "join.error_not_liaison"


class NotALeader(NotFound):
    """The unit has nobody bound in that role."""

    key = "join.error_not_leader"


@dataclass(frozen=True, slots=True)
class CreatedInvite:
    code: str  # plaintext, shown once; never stored
    unit_id: str
    expires_at: datetime
    role: InviteRole = InviteRole.LIAISON


@dataclass(frozen=True, slots=True)
class Joined:
    unit_id: str
    previous_unit_id: str | None  # the unit the user left by joining this one, if another
    role: InviteRole = InviteRole.LIAISON


def format_code(code: str) -> str:
    """``ABCDEFGHJKMN`` → ``ABCD-EFGH-JKMN``: easier to read out and retype."""
    return "-".join(code[i : i + CODE_GROUP] for i in range(0, len(code), CODE_GROUP))


@dataclass(slots=True)
class InviteService:
    uow: UnitOfWorkFactory
    plan: Plan
    clock: Clock
    admin_ids: frozenset[int] = frozenset()
    office_chat_id: int | None = None

    async def create(
        self,
        office_user_id: int | None,
        unit_id: str,
        ttl: timedelta = DEFAULT_TTL,
        *,
        role: InviteRole = InviteRole.LIAISON,
    ) -> CreatedInvite:
        """A fresh code for ``unit_id`` binding its holder as ``role``. ``office_user_id`` None
        is the command line (first set-up, by whoever runs the server); otherwise the user must
        be in the office, and the creation is audited."""
        if not MIN_TTL <= ttl <= MAX_TTL:
            raise BadTtl(max_days=MAX_TTL.days)
        now = self.clock.now()
        async with self.uow() as uow:
            if office_user_id is not None:
                roles = await resolve_roles(uow, office_user_id, self.admin_ids)
                roles.require_office()
            unit = await uow.units.get(unit_id)
            if unit is None or not unit.active:
                raise UnknownUnit(unit_id=unit_id)
            code = new_invite_code()
            expires_at = now + ttl
            await uow.invites.add(
                hash_invite_code(code),
                unit_id,
                created_by=office_user_id,
                now=now,
                expires_at=expires_at,
                role=role,
            )
            if office_user_id is not None:
                details: dict[str, object] = {"expires_at": expires_at.isoformat(), "role": role.value}
                await uow.audit.add(AuditEntry(office_user_id, now, AUDIT_CREATE, unit_id, details))
            await uow.commit()
        return CreatedInvite(format_code(code), unit_id, expires_at, role)

    async def join(self, user_id: int, code: str, *, display_name: str = "") -> Joined:
        """Bind ``user_id`` to the code's unit in the code's role (liaison, 一把手 or 分管领导).
        A leader's binding leaves any liaison binding of the user as it is. Raises ``JoinRateLimited``,
        ``InviteUnknown``, ``InviteUsed`` or ``InviteExpired``; each failure is counted (and
        committed) before the error is raised."""
        now = self.clock.now()
        async with self.uow() as uow:
            await self._check_rate(uow, user_id, now)
            cleaned = code.strip()
            code_hash = hash_invite_code(cleaned) if 0 < len(cleaned) <= MAX_CODE_INPUT else None
            await uow.users.upsert(user_id, now=now, chat_id=user_id)
            invite = await uow.invites.consume(code_hash, user_id, now=now) if code_hash else None
            if invite is None:
                error = await self._why_not(uow, code_hash, now)
                details: dict[str, object] = {"reason": error.key}
                await uow.audit.add(AuditEntry(user_id, now, AUDIT_JOIN_FAILED, "", details))
                await uow.commit()
                raise error
            if invite.role.leader:
                await self._bind_leader(
                    uow, user_id, invite.unit_id, invite.role, display_name, invite.id, now
                )
                await uow.commit()
                return Joined(invite.unit_id, None, invite.role)
            previous = await uow.liaisons.get_active(user_id)
            await uow.liaisons.add(user_id, invite.unit_id, now=now)
            await uow.audit.add(
                AuditEntry(user_id, now, AUDIT_JOIN, invite.unit_id, {"invite_id": invite.id})
            )
            await tell_office(
                uow,
                self.office_chat_id,
                "join.office_joined",
                now,
                params={"joined_units": [invite.unit_id], "user_id": user_id, "name": display_name},
            )
            await uow.commit()
        before = previous.unit_id if previous is not None and previous.unit_id != invite.unit_id else None
        return Joined(invite.unit_id, before)

    async def _bind_leader(
        self,
        uow: UnitOfWork,
        user_id: int,
        unit_id: str,
        role: InviteRole,
        name: str,
        invite_id: int | None,
        now: datetime,
    ) -> None:
        previous = await uow.leaders.bind(unit_id, role, user_id, name=name, now=now)
        details: dict[str, object] = {"role": role.value, "invite_id": invite_id}
        if previous is not None:
            details["replaced"] = previous.user_id
        await uow.audit.add(AuditEntry(user_id, now, AUDIT_LEADER_BIND, unit_id, details))
        await tell_office(
            uow,
            self.office_chat_id,
            "join.office_leader_bound",
            now,
            params={"leader_units": [unit_id], "role_key": role_key(role), "user_id": user_id, "name": name},
        )
        if previous is not None:
            notice = Notice(
                chat_id=previous.user_id,
                user_id=previous.user_id,
                text_key="join.leader_replaced",
                params={"leader_units": [unit_id], "role_key": role_key(role)},
            )
            await uow.outbox.add(notice.to_outbox(now))

    async def end_leader(self, office_user_id: int, unit_id: str, role: InviteRole) -> UnitLeader:
        """End the unit's binding in ``role`` (office only); the holder is told."""
        if not role.leader:
            raise ValueError("end_leader is for 一把手 and 分管领导; liaisons: remove_liaison")
        now = self.clock.now()
        async with self.uow() as uow:
            roles = await resolve_roles(uow, office_user_id, self.admin_ids)
            roles.require_office()
            ended = await uow.leaders.end(unit_id, role, now=now)
            if ended is None:
                raise NotALeader(unit_id=unit_id)
            details: dict[str, object] = {"role": role.value, "user_id": ended.user_id}
            await uow.audit.add(AuditEntry(office_user_id, now, AUDIT_LEADER_END, unit_id, details))
            notice = Notice(
                chat_id=ended.user_id,
                user_id=ended.user_id,
                text_key="join.leader_ended",
                params={"leader_units": [unit_id], "role_key": role_key(role)},
            )
            await uow.outbox.add(notice.to_outbox(now))
            await uow.commit()
        return ended

    async def leaders(self, office_user_id: int) -> list[UnitLeader]:
        """Every unit's current 一把手 and 分管领导 (office only)."""
        async with self.uow() as uow:
            roles = await resolve_roles(uow, office_user_id, self.admin_ids)
            roles.require_office()
            return await uow.leaders.list_active()

    async def _check_rate(self, uow: UnitOfWork, user_id: int, now: datetime) -> None:
        since = now - FAILED_JOIN_WINDOW
        recent = await uow.audit.list_recent(limit=_AUDIT_SCAN, actor_id=user_id)
        failures = sorted(e.at for e in recent if e.action == AUDIT_JOIN_FAILED and e.at > since)
        if len(failures) >= MAX_FAILED_JOINS:
            # free again when enough of the failures have left the window
            free_at = failures[len(failures) - MAX_FAILED_JOINS] + FAILED_JOIN_WINDOW
            minutes = max(1, -(-int((free_at - now).total_seconds()) // 60))
            raise JoinRateLimited(minutes=minutes)

    async def _why_not(self, uow: UnitOfWork, code_hash: str | None, now: datetime) -> DomainError:
        existing = await uow.invites.get(code_hash) if code_hash else None
        if existing is None:
            return InviteUnknown()
        if existing.used_at is not None:
            return InviteUsed()
        if now >= existing.expires_at:
            return InviteExpired()
        # usable, yet consume refused it: someone else took it a moment ago
        return InviteUsed()

    async def remove_liaison(self, office_user_id: int, liaison_user_id: int) -> str:
        """End a liaison's binding (office only); returns the unit they were removed from.
        The removed user is told; their role ends at once (roles are read per update)."""
        now = self.clock.now()
        async with self.uow() as uow:
            roles = await resolve_roles(uow, office_user_id, self.admin_ids)
            roles.require_office()
            liaison = await uow.liaisons.get_active(liaison_user_id)
            if liaison is None:
                raise NotALiaison(user_id=liaison_user_id)
            await uow.liaisons.remove(liaison_user_id, now=now)
            await uow.audit.add(
                AuditEntry(office_user_id, now, AUDIT_REMOVE, liaison.unit_id, {"user_id": liaison_user_id})
            )
            notice = Notice(
                chat_id=liaison_user_id,
                user_id=liaison_user_id,
                text_key="join.removed",
                params={"removed_units": [liaison.unit_id]},
            )
            await uow.outbox.add(notice.to_outbox(now))
            await uow.commit()
        return liaison.unit_id


def role_key(role: InviteRole) -> str:
    """The catalogue key naming ``role`` (``[role]`` block of the locales)."""
    return f"role.{role.value}"
