"""Units, users, citizens, liaisons, office members and invite codes."""

from __future__ import annotations

import builtins
import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Table, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.api_keys import ApiAccount
from core.directory import (
    Citizen,
    InviteCode,
    InviteRole,
    Liaison,
    OfficeMember,
    UnitLeader,
    UnitRecord,
    UserRecord,
)
from storage.models import (
    CitizenRow,
    InviteCodeRow,
    LiaisonRow,
    OfficeMemberRow,
    UnitLeaderRow,
    UnitRow,
    UserRow,
)
from storage.repositories._sql import bound, dialect_name, insert_for, insert_on, params

_FRESH = {"populate_existing": True}  # reads after Core UPDATEs must not see stale ORM objects
_USERS = cast(Table, UserRow.__table__)
_CITIZENS = cast(Table, CitizenRow.__table__)
_LIAISONS = cast(Table, LiaisonRow.__table__)


# -- statements built once per shape (the submit step's; storage.repositories._sql.bound) ------


# the liaisons a new case's card goes to (rows, not ORM objects: nothing here is changed)
_ACTIVE_LIAISONS_OF = (
    select(*_LIAISONS.c)
    .where(_LIAISONS.c.unit_id.in_(bindparam("p_units", expanding=True)), _LIAISONS.c.removed_at.is_(None))
    .order_by(_LIAISONS.c.unit_id, _LIAISONS.c.joined_at, _LIAISONS.c.id)
)


@functools.cache
def _user_upsert(dialect: str, set_chat: bool, set_language: bool) -> Any:
    t = _USERS
    insert = insert_on(dialect)(t).values(
        bound(t, "p_", "user_id", "language", "chat_id", "first_seen", "blocked_bot")
    )
    changes: dict[str, Any] = {}
    if set_chat:
        changes["chat_id"] = insert.excluded.chat_id
    if set_language:
        changes["language"] = insert.excluded.language
    if changes:
        stmt = insert.on_conflict_do_update(index_elements=[t.c.user_id], set_=changes)
    else:
        # nothing to change: no write to a known user's row (upsert reads it instead)
        stmt = insert.on_conflict_do_nothing(index_elements=[t.c.user_id])
    return stmt.returning(*t.c)


@functools.cache
def citizen_upsert(dialect: str, set_phone: bool) -> Any:
    """``get_or_create``'s statement (also a CTE of a filing's, storage.repositories.cases),
    its parameters from ``citizen_params``."""
    t = _CITIZENS
    insert = insert_on(dialect)(t).values(bound(t, "p_", "user_id", "created_at", "phone"))
    keep = {"phone": insert.excluded.phone if set_phone else t.c.phone}
    return insert.on_conflict_do_update(index_elements=[t.c.user_id], set_=keep).returning(*t.c)


def citizen_params(user_id: int, now: datetime, phone: str | None) -> dict[str, Any]:
    return params("p_", user_id=user_id, created_at=now, phone=phone)


def _unit(row: Any) -> UnitRecord:
    return UnitRecord(id=row.id, name=row.name, kind=row.kind, active=row.active)


class SqlUnitRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def sync(self, units: Sequence[UnitRecord]) -> None:
        for unit in units:
            stmt = insert_for(self._session, UnitRow).values(
                id=unit.id, name=unit.name, kind=unit.kind, active=unit.active
            )
            stmt = stmt.on_conflict_do_update(
                index_elements=[UnitRow.id],
                set_={"name": unit.name, "kind": unit.kind, "active": unit.active},
            )
            await self._session.execute(stmt)
        # Units the plan dropped stay for the cases that point at them, but inactive.
        await self._session.execute(
            update(UnitRow)
            .where(UnitRow.id.not_in([u.id for u in units]))
            .values(active=False)
            .execution_options(synchronize_session=False)
        )

    async def get(self, unit_id: str) -> UnitRecord | None:
        row = await self._session.get(UnitRow, unit_id, populate_existing=True)
        return _unit(row) if row else None

    async def list(self, *, include_inactive: bool = False) -> builtins.list[UnitRecord]:
        stmt = select(UnitRow).order_by(UnitRow.id)
        if not include_inactive:
            stmt = stmt.where(UnitRow.active.is_(True))
        result = await self._session.execute(stmt, execution_options=_FRESH)
        return [_unit(r) for r in result.scalars()]


def _user(row: Any) -> UserRecord:
    return UserRecord(
        user_id=row.user_id,
        first_seen=row.first_seen,
        language=row.language,
        chat_id=row.chat_id,
        blocked_bot=row.blocked_bot,
    )


class SqlUserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, user_id: int) -> UserRecord | None:
        row = await self._session.get(UserRow, user_id, populate_existing=True)
        return _user(row) if row else None

    async def upsert(
        self,
        user_id: int,
        *,
        now: datetime,
        chat_id: int | None = None,
        language: str | None = None,
        first_language: str | None = None,
    ) -> UserRecord:
        # One statement: INSERT ... ON CONFLICT, so two updates of a new user arriving together
        # don't collide, changing the given fields of a known user and returning the row.
        stmt = _user_upsert(dialect_name(self._session), chat_id is not None, language is not None)
        values = params(
            "p_",
            user_id=user_id,
            language=language or first_language or "zh",
            chat_id=chat_id,
            first_seen=now,
            blocked_bot=False,
        )
        row = (await self._session.execute(stmt, values)).one_or_none()
        record = _user(row) if row is not None else await self.get(user_id)
        assert record is not None
        return record

    async def set_language(self, user_id: int, language: str) -> None:
        await self._session.execute(
            update(UserRow)
            .where(UserRow.user_id == user_id)
            .values(language=language)
            .execution_options(synchronize_session=False)
        )

    async def set_blocked(self, user_id: int, blocked: bool) -> None:
        await self._session.execute(
            update(UserRow)
            .where(UserRow.user_id == user_id)
            .values(blocked_bot=blocked)
            .execution_options(synchronize_session=False)
        )


def _citizen(row: Any) -> Citizen:
    return Citizen(
        id=row.id,
        user_id=row.user_id,
        created_at=row.created_at,
        phone=row.phone,
        api_key_id=row.api_key_id,
        external_id=row.external_id,
        email=row.email,
        name=row.name,
    )


class SqlCitizenRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, citizen_id: int) -> Citizen | None:
        row = await self._session.get(CitizenRow, citizen_id, populate_existing=True)
        return _citizen(row) if row else None

    async def get_by_user(self, user_id: int) -> Citizen | None:
        stmt = select(CitizenRow).where(CitizenRow.user_id == user_id)
        row = (await self._session.execute(stmt, execution_options=_FRESH)).scalar_one_or_none()
        return _citizen(row) if row else None

    async def get_or_create(self, user_id: int, *, now: datetime, phone: str | None = None) -> Citizen:
        # One statement either way: a known citizen's row is "updated" (to the phone given, or
        # to its own phone), which is what lets RETURNING hand it back, where DO NOTHING would
        # return nothing and cost a second query.
        stmt = citizen_upsert(dialect_name(self._session), phone is not None)
        return _citizen((await self._session.execute(stmt, citizen_params(user_id, now, phone))).one())

    async def get_or_create_account(self, account: ApiAccount, *, now: datetime) -> Citizen:
        # One statement, as for a Telegram user: the contact details the key holder sent this
        # time replace the stored ones, those it left out stay (a caller who gave a phone once
        # keeps it on file when the next call only has an email).
        t = _CITIZENS
        values = {"phone": account.phone, "email": account.email, "name": account.name}
        insert = insert_for(self._session, t).values(
            api_key_id=account.api_key_id, external_id=account.external_id, created_at=now, **values
        )
        keep = {
            column: insert.excluded[column] if value is not None else t.c[column]
            for column, value in values.items()
        }
        stmt = insert.on_conflict_do_update(
            index_elements=[t.c.api_key_id, t.c.external_id], set_=keep
        ).returning(*t.c)
        return _citizen((await self._session.execute(stmt)).one())

    async def set_phone(self, citizen_id: int, phone: str | None) -> None:
        await self._session.execute(
            update(CitizenRow)
            .where(CitizenRow.id == citizen_id)
            .values(phone=phone)
            .execution_options(synchronize_session=False)
        )


def _liaison(row: Any) -> Liaison:
    return Liaison(
        user_id=row.user_id,
        unit_id=row.unit_id,
        joined_at=row.joined_at,
        removed_at=row.removed_at,
        id=row.id,
    )


class SqlLiaisonRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get_active(self, user_id: int) -> Liaison | None:
        stmt = select(LiaisonRow).where(LiaisonRow.user_id == user_id, LiaisonRow.removed_at.is_(None))
        row = (await self._session.execute(stmt, execution_options=_FRESH)).scalar_one_or_none()
        return _liaison(row) if row else None

    async def add(self, user_id: int, unit_id: str, *, now: datetime) -> Liaison:
        await self.remove(user_id, now=now)
        row = LiaisonRow(user_id=user_id, unit_id=unit_id, joined_at=now)
        self._session.add(row)
        await self._session.flush()
        return _liaison(row)

    async def remove(self, user_id: int, *, now: datetime) -> bool:
        result = await self._session.execute(
            update(LiaisonRow)
            .where(LiaisonRow.user_id == user_id, LiaisonRow.removed_at.is_(None))
            .values(removed_at=now)
            .execution_options(synchronize_session=False)
        )
        return bool(cast(CursorResult[Any], result).rowcount)

    async def list_for_unit(self, unit_id: str) -> list[Liaison]:
        stmt = (
            select(LiaisonRow)
            .where(LiaisonRow.unit_id == unit_id, LiaisonRow.removed_at.is_(None))
            .order_by(LiaisonRow.joined_at, LiaisonRow.id)
        )
        return [_liaison(r) for r in (await self._session.execute(stmt, execution_options=_FRESH)).scalars()]

    async def list_for_units(self, unit_ids: Sequence[str]) -> list[Liaison]:
        if not unit_ids:
            return []
        wanted = {"p_units": list(dict.fromkeys(unit_ids))}
        return [_liaison(r) for r in await self._session.execute(_ACTIVE_LIAISONS_OF, wanted)]

    async def list_active(self) -> list[Liaison]:
        stmt = (
            select(LiaisonRow)
            .where(LiaisonRow.removed_at.is_(None))
            .order_by(LiaisonRow.unit_id, LiaisonRow.joined_at, LiaisonRow.id)
        )
        return [_liaison(r) for r in (await self._session.execute(stmt, execution_options=_FRESH)).scalars()]


def _member(row: Any) -> OfficeMember:
    return OfficeMember(
        user_id=row.user_id,
        added_at=row.added_at,
        added_by=row.added_by,
        active=row.active,
        campaign=row.campaign,
    )


class SqlOfficeRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, user_id: int) -> OfficeMember | None:
        row = await self._session.get(OfficeMemberRow, user_id, populate_existing=True)
        return _member(row) if row else None

    async def is_member(self, user_id: int) -> bool:
        member = await self.get(user_id)
        return member is not None and member.active

    async def add(
        self, user_id: int, *, added_by: int | None, now: datetime, campaign: str = ""
    ) -> OfficeMember:
        values = {"added_by": added_by, "added_at": now, "active": True, "campaign": campaign}
        stmt = insert_for(self._session, OfficeMemberRow).values(user_id=user_id, **values)
        stmt = stmt.on_conflict_do_update(index_elements=[OfficeMemberRow.user_id], set_=values)
        await self._session.execute(stmt)
        member = await self.get(user_id)
        assert member is not None
        return member

    async def remove(self, user_id: int) -> bool:
        result = await self._session.execute(
            update(OfficeMemberRow)
            .where(OfficeMemberRow.user_id == user_id, OfficeMemberRow.active.is_(True))
            .values(active=False)
            .execution_options(synchronize_session=False)
        )
        return bool(cast(CursorResult[Any], result).rowcount)

    async def list_active(self) -> list[OfficeMember]:
        stmt = (
            select(OfficeMemberRow).where(OfficeMemberRow.active.is_(True)).order_by(OfficeMemberRow.user_id)
        )
        return [_member(r) for r in (await self._session.execute(stmt, execution_options=_FRESH)).scalars()]


def _invite(row: Any) -> InviteCode:
    return InviteCode(
        code_hash=row.code_hash,
        unit_id=row.unit_id,
        created_at=row.created_at,
        expires_at=row.expires_at,
        created_by=row.created_by,
        used_at=row.used_at,
        used_by=row.used_by,
        id=row.id,
        role=InviteRole(row.role),
    )


class SqlInviteRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(
        self,
        code_hash: str,
        unit_id: str,
        *,
        created_by: int | None,
        now: datetime,
        expires_at: datetime,
        role: InviteRole = InviteRole.LIAISON,
    ) -> InviteCode:
        row = InviteCodeRow(
            code_hash=code_hash,
            unit_id=unit_id,
            created_by=created_by,
            created_at=now,
            expires_at=expires_at,
            role=role.value,
        )
        self._session.add(row)
        await self._session.flush()
        return _invite(row)

    async def get(self, code_hash: str) -> InviteCode | None:
        stmt = select(InviteCodeRow).where(InviteCodeRow.code_hash == code_hash)
        row = (await self._session.execute(stmt, execution_options=_FRESH)).scalar_one_or_none()
        return _invite(row) if row else None

    async def consume(self, code_hash: str, user_id: int, *, now: datetime) -> InviteCode | None:
        # One conditional UPDATE: the database decides who wins. On PostgreSQL a concurrent
        # consumer waits for our row lock, re-checks used_at IS NULL and matches nothing.
        table = cast(Table, InviteCodeRow.__table__)
        stmt = (
            update(table)
            .where(
                table.c.code_hash == code_hash,
                table.c.used_at.is_(None),
                table.c.expires_at > now,
            )
            .values(used_at=now, used_by=user_id)
            .returning(*table.c)
        )
        row = (await self._session.execute(stmt)).one_or_none()
        return _invite(row) if row else None

    async def list_open(self, *, now: datetime, unit_id: str | None = None) -> list[InviteCode]:
        stmt = select(InviteCodeRow).where(InviteCodeRow.used_at.is_(None), InviteCodeRow.expires_at > now)
        if unit_id is not None:
            stmt = stmt.where(InviteCodeRow.unit_id == unit_id)
        stmt = stmt.order_by(InviteCodeRow.created_at, InviteCodeRow.id)
        return [_invite(r) for r in (await self._session.execute(stmt, execution_options=_FRESH)).scalars()]


def _leader(row: Any) -> UnitLeader:
    return UnitLeader(
        unit_id=row.unit_id,
        role=InviteRole(row.role),
        user_id=row.user_id,
        bound_at=row.bound_at,
        name=row.name,
        ended_at=row.ended_at,
        id=row.id,
    )


class SqlLeaderRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def _current(self, unit_id: str, role: InviteRole) -> UnitLeaderRow | None:
        stmt = (
            select(UnitLeaderRow)
            .where(
                UnitLeaderRow.unit_id == unit_id,
                UnitLeaderRow.role == role.value,
                UnitLeaderRow.ended_at.is_(None),
            )
            .with_for_update()
        )
        return (await self._session.execute(stmt, execution_options=_FRESH)).scalar_one_or_none()

    async def bind(
        self, unit_id: str, role: InviteRole, user_id: int, *, name: str, now: datetime
    ) -> UnitLeader | None:
        current = await self._current(unit_id, role)
        if current is not None and current.user_id == user_id:
            current.name = name or current.name
            await self._session.flush()
            return None
        previous = None
        if current is not None:
            current.ended_at = now
            await self._session.flush()  # the partial unique index: the old row ends first
            previous = _leader(current)
        row = UnitLeaderRow(unit_id=unit_id, role=role.value, user_id=user_id, name=name, bound_at=now)
        self._session.add(row)
        await self._session.flush()
        return previous

    async def end(self, unit_id: str, role: InviteRole, *, now: datetime) -> UnitLeader | None:
        current = await self._current(unit_id, role)
        if current is None:
            return None
        current.ended_at = now
        await self._session.flush()
        return _leader(current)

    async def list_active(self, unit_ids: Sequence[str] | None = None) -> builtins.list[UnitLeader]:
        stmt = select(UnitLeaderRow).where(UnitLeaderRow.ended_at.is_(None))
        if unit_ids is not None:
            if not unit_ids:
                return []
            stmt = stmt.where(UnitLeaderRow.unit_id.in_(list(unit_ids)))
        stmt = stmt.order_by(UnitLeaderRow.unit_id, UnitLeaderRow.role)
        rows = (await self._session.execute(stmt, execution_options=_FRESH)).scalars()
        return [_leader(r) for r in rows]

    async def list_all(self) -> builtins.list[UnitLeader]:
        stmt = select(UnitLeaderRow).order_by(UnitLeaderRow.bound_at, UnitLeaderRow.id)
        rows = (await self._session.execute(stmt, execution_options=_FRESH)).scalars()
        return [_leader(r) for r in rows]
