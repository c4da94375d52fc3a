"""Who may do what: resolving a Telegram user to the roles they hold (SPEC §1, §10).

A person can hold several roles at once (an office member can also file complaints). Every
handler and every callback asks here; menus only mirror the answer.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.campaigns import DISTRICT
from core.errors import PermissionDenied
from core.ports import UnitOfWork


@dataclass(frozen=True, slots=True)
class Roles:
    user_id: int
    office: bool = False
    unit_id: str | None = None  # the unit this user is a liaison of, if any
    # whose office: DISTRICT ("") sees every case, a sub-campaign's id its own (core.campaigns)
    office_scope: str = DISTRICT

    @property
    def liaison(self) -> bool:
        return self.unit_id is not None

    def require_office(self) -> None:
        if not self.office:
            raise PermissionDenied(role="office")

    def require_liaison(self) -> str:
        """The liaison's unit id; raises for anyone who is not a liaison."""
        if self.unit_id is None:
            raise PermissionDenied(role="liaison")
        return self.unit_id


async def resolve_roles(uow: UnitOfWork, user_id: int, admin_ids: frozenset[int]) -> Roles:
    """Office: listed in config (``OFFICE_ADMIN_IDS``, the district's office) or added by an
    office member at run time (the district's, or a sub-campaign's office)."""
    scope = DISTRICT
    office = user_id in admin_ids
    if not office:
        member = await uow.office.get(user_id)
        office = member is not None and member.active
        scope = member.campaign if member is not None and office else DISTRICT
    liaison = await uow.liaisons.get_active(user_id)
    return Roles(
        user_id=user_id, office=office, unit_id=liaison.unit_id if liaison else None, office_scope=scope
    )
