"""The office's keys for the Open311 API (web/open311): issue, list, revoke, and check a key a
partner system presents.

Keys are shown once and stored as a hash only (``core.api_keys``). Every issue and revocation
is on the audit trail under the office member who did it (``SYSTEM_AUDIT_ACTOR`` for the
command line: whoever runs the server), and so is every refused key, so the office can see a
partner with a stale key or somebody trying keys. A refused key costs one audit row; the web
layer throttles clients that keep failing before they reach this service.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from core.api_keys import MAX_KEY_INPUT, ApiKey, hash_api_key, new_api_key
from core.audit import AuditEntry
from core.clock import Clock
from core.errors import ActionNotAllowed, NotFound, ValidationFailed
from core.ports import UnitOfWork, UnitOfWorkFactory
from core.roles import resolve_roles
from core.services.workflow import SYSTEM_AUDIT_ACTOR
from core.text import clean_text

AUDIT_ISSUE = "api_key.issue"
AUDIT_REVOKE = "api_key.revoke"
AUDIT_REFUSED = "api_key.refused"
MAX_NAME = 200
# ``last_used_at`` is for "is this partner still using its key?", not a request log: writing it
# at most once a minute keeps a busy hotline from costing an UPDATE per request.
_TOUCH_EVERY = timedelta(minutes=1)


class KeyNameInvalid(ValidationFailed):
    key = "open311.key_error_name"


class KeyUnknown(NotFound):
    key = "open311.key_error_unknown"


class KeyRevokedAlready(ValidationFailed):
    key = "open311.key_error_revoked"


class RefusalReason(StrEnum):
    MISSING = "missing"
    UNKNOWN = "unknown"
    REVOKED = "revoked"


class KeyRefused(ActionNotAllowed):
    """The API's 403: no key, a key we never issued, or a revoked one."""

    key = "open311.key_refused"

    def __init__(self, reason: RefusalReason) -> None:
        super().__init__(reason=reason.value)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class IssuedKey:
    key: ApiKey
    secret: str  # the key itself, to show once; never stored


@dataclass(slots=True)
class ApiKeyService:
    uow: UnitOfWorkFactory
    clock: Clock
    admin_ids: frozenset[int] = frozenset()

    async def issue(self, office_user_id: int | None, name: str) -> IssuedKey:
        """A new key for the holder ``name`` (e.g. "12345 hotline"). ``office_user_id`` None is
        the command line; otherwise the user must be in the office."""
        try:
            holder = clean_text(name, limit=MAX_NAME)
        except ValidationFailed:
            holder = ""
        if not holder:
            raise KeyNameInvalid(limit=MAX_NAME)
        now = self.clock.now()
        secret = new_api_key()
        async with self.uow() as uow:
            await self._require_office(uow, office_user_id)
            key = await uow.api_keys.add(hash_api_key(secret), holder, created_by=office_user_id, now=now)
            await uow.audit.add(
                AuditEntry(_actor(office_user_id), now, AUDIT_ISSUE, _target(key.id), {"name": holder})
            )
            await uow.commit()
        return IssuedKey(key, secret)

    async def list(self, office_user_id: int | None) -> list[ApiKey]:
        async with self.uow() as uow:
            await self._require_office(uow, office_user_id)
            return await uow.api_keys.list_all()

    async def revoke(self, office_user_id: int | None, key_id: int) -> ApiKey:
        """Revoke at once: the next request with the key is refused. Raises ``KeyUnknown`` or
        ``KeyRevokedAlready``."""
        now = self.clock.now()
        async with self.uow() as uow:
            await self._require_office(uow, office_user_id)
            if not await uow.api_keys.revoke(key_id, by=office_user_id, now=now):
                existing = await uow.api_keys.get(key_id)
                if existing is None:
                    raise KeyUnknown(key_id=key_id)
                raise KeyRevokedAlready(key_id=key_id, name=existing.name)
            key = await uow.api_keys.get(key_id)
            assert key is not None
            await uow.audit.add(
                AuditEntry(_actor(office_user_id), now, AUDIT_REVOKE, _target(key_id), {"name": key.name})
            )
            await uow.commit()
        return key

    async def authenticate(self, presented: str | None, *, client: str = "") -> ApiKey:
        """The active key ``presented`` is, or ``KeyRefused`` (recorded on the audit trail with
        the client's address, committed before the error is raised). ``client`` is the
        partner's network address: a system's, never a citizen's identity."""
        now = self.clock.now()
        cleaned = (presented or "").strip()
        async with self.uow() as uow:
            key = None
            if 0 < len(cleaned) <= MAX_KEY_INPUT:
                key = await uow.api_keys.get_by_hash(hash_api_key(cleaned))
            if key is not None and key.active:
                if key.last_used_at is None or now - key.last_used_at >= _TOUCH_EVERY:
                    await uow.api_keys.touch(key.id, now=now)
                    await uow.commit()
                return key
            if key is not None:
                reason, target = RefusalReason.REVOKED, _target(key.id)
            else:
                reason, target = (RefusalReason.UNKNOWN if cleaned else RefusalReason.MISSING), ""
            details: dict[str, object] = {"reason": reason.value, "client": client[:64]}
            await uow.audit.add(AuditEntry(SYSTEM_AUDIT_ACTOR, now, AUDIT_REFUSED, target, details))
            await uow.commit()
        raise KeyRefused(reason)

    async def _require_office(self, uow: UnitOfWork, office_user_id: int | None) -> None:
        if office_user_id is not None:
            roles = await resolve_roles(uow, office_user_id, self.admin_ids)
            roles.require_office()


def _actor(office_user_id: int | None) -> int:
    return SYSTEM_AUDIT_ACTOR if office_user_id is None else office_user_id


def _target(key_id: int) -> str:
    return f"api_key:{key_id}"
