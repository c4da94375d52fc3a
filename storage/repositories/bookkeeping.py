"""Audit trail, tracking-number counters and job leases."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, delete, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.audit import AuditEntry
from storage.models import AuditRow, JobLeaseRow, TrackingCounterRow
from storage.repositories._sql import bound, dialect_name, insert_for, insert_on, params


def _entry(row: Any) -> AuditEntry:
    return AuditEntry(
        actor_id=row.actor_id,
        at=row.at,
        action=row.action,
        target=row.target,
        details=dict(row.details or {}),
        id=row.id,
    )


def audit_row(entry: AuditEntry) -> dict[str, Any]:
    """An entry as an ``audit_log`` row's values (a Core insert's)."""
    return {
        "actor_id": entry.actor_id,
        "at": entry.at,
        "action": entry.action,
        "target": entry.target,
        "details": entry.details,
    }


_COUNTERS = cast(Table, TrackingCounterRow.__table__)
_AUDIT = cast(Table, AuditRow.__table__)
_ADD_AUDIT = insert(_AUDIT)  # built once: a Core executemany (the submit step's recusal notes)


@functools.cache
def _counter_next(dialect: str) -> Any:
    t = _COUNTERS
    return (
        insert_on(dialect)(t)
        .values(**bound(t, "p_", "prefix", "year"), last_value=1)
        .on_conflict_do_update(index_elements=[t.c.prefix, t.c.year], set_={"last_value": t.c.last_value + 1})
        .returning(t.c.last_value)
    )


class SqlAuditRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, entry: AuditEntry) -> AuditEntry:
        row = AuditRow(
            actor_id=entry.actor_id,
            at=entry.at,
            action=entry.action,
            target=entry.target,
            details=dict(entry.details),
        )
        self._session.add(row)
        await self._session.flush()
        entry.id = row.id
        return entry

    async def add_many(self, entries: Sequence[AuditEntry]) -> None:
        if not entries:
            return
        await self._session.execute(_ADD_AUDIT, [audit_row(e) for e in entries])

    async def list_recent(self, *, limit: int = 50, actor_id: int | None = None) -> list[AuditEntry]:
        stmt = select(AuditRow)
        if actor_id is not None:
            stmt = stmt.where(AuditRow.actor_id == actor_id)
        stmt = stmt.order_by(AuditRow.at.desc(), AuditRow.id.desc()).limit(limit)
        return [_entry(r) for r in (await self._session.execute(stmt)).scalars()]


class SqlCounterRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def next(self, prefix: str, year: int) -> int:
        # One statement, insert-if-missing or increment, so it is atomic on both backends. On
        # PostgreSQL the row stays locked until commit: concurrent callers queue and each gets
        # the next value; on SQLite the write lock does the same.
        stmt = _counter_next(dialect_name(self._session))
        return int((await self._session.execute(stmt, params("p_", prefix=prefix, year=year))).scalar_one())


class SqlLeaseRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def try_acquire(self, name: str, holder: str, *, now: datetime, ttl: timedelta) -> bool:
        t = cast(Table, JobLeaseRow.__table__)
        stmt = (
            insert_for(self._session, t)
            .values(name=name, holder=holder, until=now + ttl)
            .on_conflict_do_update(
                index_elements=[t.c.name],
                set_={"holder": holder, "until": now + ttl},
                # Take it over only when it has run out, or renew our own.
                where=or_(t.c.until <= now, t.c.holder == holder),
            )
            .returning(t.c.name)
        )
        return (await self._session.execute(stmt)).scalar_one_or_none() is not None

    async def release(self, name: str, holder: str) -> None:
        t = cast(Table, JobLeaseRow.__table__)
        await self._session.execute(delete(t).where(t.c.name == name, t.c.holder == holder))

    async def holder(self, name: str) -> tuple[str, datetime] | None:
        t = cast(Table, JobLeaseRow.__table__)
        stmt = select(t.c.holder, t.c.until).where(t.c.name == name)
        row = (await self._session.execute(stmt)).one_or_none()
        return (str(row.holder), row.until) if row is not None else None
