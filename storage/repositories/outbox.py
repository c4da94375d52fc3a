"""The outbox: notifications written with the change that causes them, drained by a sender."""

from __future__ import annotations

import functools
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, case, func, or_, select, type_coerce, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.outbox import OutboxMessage, OutboxState
from storage.models import OutboxRow, UtcDateTime
from storage.repositories._sql import dialect_name, insert_for, insert_on

_T = cast(Table, OutboxRow.__table__)


@functools.cache
def _add_messages(dialect: str) -> Any:
    """``add_many``'s INSERT, built once per back end (a filing's notices are on the submit
    step's path; storage.repositories._sql.bound)."""
    insert = insert_on(dialect)(_T).on_conflict_do_nothing(index_elements=[_T.c.dedup_key])
    return insert.returning(_T.c.dedup_key)


def _message(row: Any) -> OutboxMessage:
    return OutboxMessage(
        chat_id=row.chat_id,
        method=row.method,
        payload=dict(row.payload or {}),
        created_at=row.created_at,
        not_before=row.not_before,
        dedup_key=row.dedup_key,
        state=OutboxState(row.state),
        attempts=row.attempts,
        last_error=row.last_error,
        sent_at=row.sent_at,
        claimed_by=row.claimed_by,
        claimed_until=row.claimed_until,
        id=row.id,
    )


def _row(message: OutboxMessage) -> dict[str, Any]:
    return {
        "chat_id": message.chat_id,
        "method": message.method,
        "payload": dict(message.payload),
        "dedup_key": message.dedup_key,
        "created_at": message.created_at,
        "not_before": message.not_before or message.created_at,
        "state": message.state.value,
        "attempts": message.attempts,
        "last_error": message.last_error,
        "sent_at": message.sent_at,
    }


def _about(payload: object, tracking_no: str) -> bool:
    params = payload.get("text_params") if isinstance(payload, dict) else None
    return isinstance(params, dict) and params.get("tracking_no") == tracking_no


class SqlOutboxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, message: OutboxMessage) -> bool:
        stmt = (
            insert_for(self._session, _T)
            .values(**_row(message))
            .on_conflict_do_nothing(index_elements=[_T.c.dedup_key])
            .returning(_T.c.id)
        )
        new_id = (await self._session.execute(stmt)).scalar_one_or_none()
        if new_id is None:
            return False
        message.id = new_id
        return True

    async def add_many(self, messages: Sequence[OutboxMessage]) -> list[str | None]:
        # one executemany: SQLAlchemy sends it as multi-row INSERTs ("insertmanyvalues") from
        # one cached statement; a periodic pass queues thousands of reminders, and a statement
        # each was most of its time
        if not messages:
            return []
        stmt = _add_messages(dialect_name(self._session))
        result = await self._session.execute(stmt, [_row(m) for m in messages])
        return [row[0] for row in result.all()]

    async def claim_batch(
        self, worker_id: str, *, now: datetime, limit: int, lease: timedelta
    ) -> list[OutboxMessage]:
        claimable = (
            select(_T.c.id)
            .where(
                _T.c.state == OutboxState.PENDING.value,
                _T.c.not_before <= now,
                or_(_T.c.claimed_until.is_(None), _T.c.claimed_until <= now),
            )
            .order_by(_T.c.not_before, _T.c.id)
            .limit(limit)
        )
        if dialect_name(self._session) == "postgresql":
            # Lock the chosen rows and skip those another claimer holds: claimers never wait
            # on each other and never get the same row. The UPDATE below runs on our locks.
            locked = await self._session.execute(claimable.with_for_update(skip_locked=True))
            ids: list[int] = list(locked.scalars())
            if not ids:
                return []
            target = _T.c.id.in_(ids)
        else:
            # SQLite: our transactions start with BEGIN IMMEDIATE (storage.db), so this one
            # UPDATE runs while no other connection can write: choosing and claiming is atomic.
            target = _T.c.id.in_(claimable.scalar_subquery())
        stmt = (
            update(_T)
            .where(target)
            .values(claimed_by=worker_id, claimed_until=now + lease, attempts=_T.c.attempts + 1)
            .returning(*_T.c)
        )
        rows = (await self._session.execute(stmt)).all()
        return sorted((_message(r) for r in rows), key=lambda m: (m.not_before or m.created_at, m.id or 0))

    async def _set(self, message_id: int, **values: Any) -> None:
        stmt = update(_T).where(_T.c.id == message_id).values(claimed_by=None, claimed_until=None, **values)
        await self._session.execute(stmt)

    async def mark_sent(self, message_id: int, *, now: datetime) -> None:
        await self._set(message_id, state=OutboxState.SENT.value, sent_at=now, last_error=None)

    async def mark_failed(self, message_id: int, *, error: str, retry_at: datetime) -> None:
        await self._set(message_id, state=OutboxState.PENDING.value, last_error=error, not_before=retry_at)

    async def mark_dead(self, message_id: int, *, error: str) -> None:
        await self._set(message_id, state=OutboxState.DEAD.value, last_error=error)

    async def mark_blocked(self, message_id: int, *, error: str) -> None:
        await self._set(message_id, state=OutboxState.BLOCKED.value, last_error=error)

    async def release_claims(self, worker_id: str) -> int:
        stmt = (
            update(_T)
            .where(_T.c.claimed_by == worker_id, _T.c.state == OutboxState.PENDING.value)
            .values(claimed_by=None, claimed_until=None)
        )
        result = await self._session.execute(stmt)
        return int(getattr(result, "rowcount", 0) or 0)

    async def withdraw_pending(self, chat_ids: Collection[int], tracking_no: str) -> int:
        # The few pending rows of a unit's liaisons are read and filtered here rather than by a
        # JSON path in SQL, which SQLite and PostgreSQL spell differently. One a sender holds
        # right now may still go: its mark_sent then records that it did.
        if not chat_ids:
            return 0
        stmt = select(_T.c.id, _T.c.payload).where(
            _T.c.state == OutboxState.PENDING.value, _T.c.chat_id.in_(list(chat_ids))
        )
        ids = [
            row.id
            for row in (await self._session.execute(stmt)).all()
            if _about(row.payload, tracking_no)
        ]
        if ids:
            await self._session.execute(
                update(_T).where(_T.c.id.in_(ids)).values(state=OutboxState.WITHDRAWN.value)
            )
        return len(ids)

    async def get(self, message_id: int) -> OutboxMessage | None:
        row = (await self._session.execute(select(_T).where(_T.c.id == message_id))).one_or_none()
        return _message(row) if row else None

    async def next_due(self) -> datetime | None:
        # A leased message is not due before its lease runs out.
        due = case((_T.c.claimed_until > _T.c.not_before, _T.c.claimed_until), else_=_T.c.not_before)
        stmt = select(type_coerce(func.min(due), UtcDateTime())).where(
            _T.c.state == OutboxState.PENDING.value
        )
        value: datetime | None = (await self._session.execute(stmt)).scalar_one_or_none()
        return value

    async def claim_chat_heads(
        self,
        worker_id: str,
        *,
        now: datetime,
        limit: int,
        lease: timedelta,
        exclude_chats: Collection[int] = (),
    ) -> list[OutboxMessage]:
        # Each chat's head: the lowest id among its pending messages that are due or were tried
        # (a message waiting for its retry keeps its place). One pass over the pending rows,
        # rather than a correlated "no earlier pending message" check per candidate.
        heads = (
            select(func.min(_T.c.id))
            .where(
                _T.c.state == OutboxState.PENDING.value,
                or_(_T.c.attempts > 0, _T.c.not_before <= now),
            )
            .group_by(_T.c.chat_id)
        )
        conditions = [
            _T.c.id.in_(heads.scalar_subquery()),
            # repeated outside the subquery: PostgreSQL re-checks these on the row it locks,
            # so a head another sender claimed or finished meanwhile is passed over
            _T.c.state == OutboxState.PENDING.value,
            _T.c.not_before <= now,
            or_(_T.c.claimed_until.is_(None), _T.c.claimed_until <= now),
        ]
        if exclude_chats:
            conditions.append(_T.c.chat_id.not_in(list(exclude_chats)))
        claimable = select(_T.c.id).where(*conditions).order_by(_T.c.not_before, _T.c.id).limit(limit)
        if dialect_name(self._session) == "postgresql":
            locked = await self._session.execute(claimable.with_for_update(skip_locked=True, of=_T))
            ids: list[int] = list(locked.scalars())
            if not ids:
                return []
            target = _T.c.id.in_(ids)
        else:
            # one UPDATE under SQLite's write lock (BEGIN IMMEDIATE): choosing is claiming
            target = _T.c.id.in_(claimable.scalar_subquery())
        stmt = (
            update(_T)
            .where(target)
            .values(claimed_by=worker_id, claimed_until=now + lease, attempts=_T.c.attempts + 1)
            .returning(*_T.c)
        )
        rows = (await self._session.execute(stmt)).all()
        return sorted((_message(r) for r in rows), key=lambda m: (m.not_before or m.created_at, m.id or 0))

    async def list_failed(self, *, limit: int = 50) -> list[OutboxMessage]:
        stmt = (
            select(_T)
            .where(_T.c.state.in_([OutboxState.DEAD.value, OutboxState.BLOCKED.value]))
            .order_by(_T.c.id.desc())
            .limit(limit)
        )
        return [_message(row) for row in (await self._session.execute(stmt)).all()]

    async def count_by_state(self) -> dict[OutboxState, int]:
        counts = dict.fromkeys(OutboxState, 0)
        stmt = select(_T.c.state, func.count()).group_by(_T.c.state)
        for row in (await self._session.execute(stmt)).all():
            state: str = row[0]
            count: int = row[1]
            counts[OutboxState(state)] = count
        return counts
