"""Who is who: units, Telegram users, citizens, liaisons, unit leaders, office members, invite
codes.

Plain records that the repositories take and return (never ORM rows). Identity rules from
SPEC §1/§5: a citizen's phone is visible to the office only; a liaison belongs to one unit at
a time; invite codes are stored as a hash only.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class UnitRole(StrEnum):
    """How a unit takes part in a case: it handles it (牵头) or is copied in (配合)."""

    LEAD = "lead"
    ASSIST = "assist"


@dataclass(slots=True)
class UnitRecord:
    """A unit as stored: synced from the plan at start. Units the plan no longer names stay
    (cases still point at them) but become inactive."""

    id: str
    name: str
    kind: str = ""  # e.g. "office", "department", "street", "township"
    active: bool = True


@dataclass(slots=True)
class UserRecord:
    """A Telegram user the bot has seen (any role)."""

    user_id: int
    first_seen: datetime
    language: str = "zh"
    chat_id: int | None = None
    blocked_bot: bool = False  # the user blocked the bot: stop sending until they come back


@dataclass(slots=True)
class Citizen:
    """The complainant identity behind cases. Only the office ever sees it."""

    id: int | None
    user_id: int | None  # None: an account of an API key holder's system (``core.api_keys``)
    created_at: datetime
    phone: str | None = None
    # An API complainant (migration 0005): the key it came through, its id in that system, and
    # the contact details the API may send besides a phone.
    api_key_id: int | None = None
    external_id: str | None = None
    email: str | None = None
    name: str | None = None


@dataclass(slots=True)
class Liaison:
    """联络员: a Telegram user bound to a unit by an invite code."""

    user_id: int
    unit_id: str
    joined_at: datetime
    removed_at: datetime | None = None
    id: int | None = None

    @property
    def active(self) -> bool:
        return self.removed_at is None


@dataclass(slots=True)
class OfficeMember:
    """An office member added at run time (the admins from config need no row)."""

    user_id: int
    added_at: datetime
    added_by: int | None = None
    active: bool = True
    campaign: str = ""  # the campaign whose office this is (core.campaigns; "" the district's)


class InviteRole(StrEnum):
    """What an invite code binds its holder to in the unit: its liaison (联络员, the default),
    or one of the two leaders the plan holds answerable (保障措施 一): the 一把手 as first
    responsible (plan field ``first_responsible``) and the leader in charge of the campaign
    (分管领导, ``campaign_leader``). A leader is told when a case of the unit is overdue past
    the office's step, and the year-end report is under their names."""

    LIAISON = "liaison"
    FIRST_RESPONSIBLE = "first_responsible"
    CAMPAIGN_LEADER = "campaign_leader"

    @property
    def leader(self) -> bool:
        return self is not InviteRole.LIAISON


LEADER_ROLES = (InviteRole.FIRST_RESPONSIBLE, InviteRole.CAMPAIGN_LEADER)

# What an office member may type after /invite UNIT (either language); the role's own value too.
_ROLE_WORDS = {
    "一把手": InviteRole.FIRST_RESPONSIBLE,
    "第一责任人": InviteRole.FIRST_RESPONSIBLE,
    "主要负责人": InviteRole.FIRST_RESPONSIBLE,
    "head": InviteRole.FIRST_RESPONSIBLE,
    "分管领导": InviteRole.CAMPAIGN_LEADER,
    "分管": InviteRole.CAMPAIGN_LEADER,
    "leader": InviteRole.CAMPAIGN_LEADER,
    "联络员": InviteRole.LIAISON,
}


def parse_invite_role(word: str) -> InviteRole | None:
    """``"一把手"``, ``"head"``, ``"first_responsible"``... → the role; None for anything else."""
    w = word.strip().lower()
    if w in _ROLE_WORDS:
        return _ROLE_WORDS[w]
    try:
        return InviteRole(w)
    except ValueError:
        return None


@dataclass(slots=True)
class UnitLeader:
    """A unit's 一把手 or 分管领导 bound to a Telegram account (by an invite of that role). One
    holder per unit and role at a time; a new binding ends the old one (kept, for history)."""

    unit_id: str
    role: InviteRole
    user_id: int
    bound_at: datetime
    name: str = ""  # as Telegram showed it at the binding, for the year-end report
    ended_at: datetime | None = None
    id: int | None = None

    @property
    def active(self) -> bool:
        return self.ended_at is None


def leaders_by_unit(leaders: list[UnitLeader]) -> dict[str, dict[InviteRole, UnitLeader]]:
    """Active leaders as unit → role → holder."""
    out: dict[str, dict[InviteRole, UnitLeader]] = {}
    for leader in leaders:
        if leader.active:
            out.setdefault(leader.unit_id, {})[leader.role] = leader
    return out


def leader_names(
    bindings: list[UnitLeader], start: datetime, end: datetime
) -> dict[str, dict[InviteRole, str]]:
    """Unit → role → the name of who held it in [start, end): the holder at ``end`` or, if the
    role was vacant then, the last one during the period (the year-end report's signatures)."""
    out: dict[str, dict[InviteRole, str]] = {}
    for b in sorted(bindings, key=lambda x: (x.bound_at, x.id or 0)):
        if b.bound_at < end and (b.ended_at is None or b.ended_at > start):
            out.setdefault(b.unit_id, {})[b.role] = b.name or str(b.user_id)
    return out


@dataclass(slots=True)
class InviteCode:
    code_hash: str
    unit_id: str
    created_at: datetime
    expires_at: datetime
    created_by: int | None = None
    used_at: datetime | None = None
    used_by: int | None = None
    id: int | None = None
    role: InviteRole = InviteRole.LIAISON

    def usable(self, now: datetime) -> bool:
        return self.used_at is None and now < self.expires_at


# Crockford-like alphabet: no 0/O, 1/I/L, so codes read aloud or retyped survive.
_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def new_invite_code(length: int = 12) -> str:
    """A fresh random code (~59 bits for 12 characters): not guessable, easy to type."""
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(length))


def hash_invite_code(code: str) -> str:
    """The only form in which a code is stored. Normalised so case and spaces don't matter."""
    normalised = "".join(code.split()).replace("-", "").upper()
    return hashlib.sha256(normalised.encode()).hexdigest()
