"""Readings for readiness and metrics (issue 15): one cheap query each, on a raw session.

The periodic pass's last finish is kept beside its lease, in ``job_leases`` (no migration): a
row named ``PASS_FINISHED`` whose ``until`` is when the last pass ended and whose ``holder``
is who ran it. It is not a lock: nobody waits on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import cast

from sqlalchemy import Table, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.health import Readings
from core.outbox import OutboxState
from storage.migrate import head_revision
from storage.models import CaseRow, JobLeaseRow, OutboxRow
from storage.repositories._sql import insert_for

PASS_FINISHED = "periodic:finished"
# cases whose deadlines still run (core.deadlines.pending_deadlines)
RUNNING_STATES = ("assigned", "signed", "extension_requested")


async def record_pass_finished(factory: async_sessionmaker[AsyncSession], holder: str, at: datetime) -> None:
    """Upsert the last-pass row (its own short transaction)."""
    t = cast(Table, JobLeaseRow.__table__)
    async with factory() as session:
        stmt = (
            insert_for(session, t)
            .values(name=PASS_FINISHED, holder=holder[:128], until=at)
            .on_conflict_do_update(index_elements=[t.c.name], set_={"holder": holder[:128], "until": at})
        )
        await session.execute(stmt)
        await session.commit()


async def last_pass_finished(session: AsyncSession) -> datetime | None:
    stmt = select(JobLeaseRow.until).where(JobLeaseRow.name == PASS_FINISHED)
    return (await session.execute(stmt)).scalar_one_or_none()


async def oldest_pending_outbox(session: AsyncSession) -> datetime | None:
    """The oldest pending row's creation time (ix_outbox_state_not_before narrows to pending)."""
    stmt = select(func.min(OutboxRow.created_at)).where(OutboxRow.state == OutboxState.PENDING.value)
    value = (await session.execute(stmt)).scalar_one_or_none()
    return _aware(value)


async def outbox_depth(session: AsyncSession) -> int:
    stmt = select(func.count()).select_from(OutboxRow).where(OutboxRow.state == OutboxState.PENDING.value)
    return int((await session.execute(stmt)).scalar_one())


async def schema_revision(session: AsyncSession) -> str | None:
    """The database's revision; None when it was never migrated (no alembic_version table).
    Call on a session that just reached the database: any error here is the missing table."""
    try:
        async with session.begin_nested():
            return (
                await session.execute(text("SELECT version_num FROM alembic_version"))
            ).scalar_one_or_none()
    except DBAPIError:
        return None


async def cases_by_state(session: AsyncSession) -> dict[str, int]:
    stmt = select(CaseRow.state, func.count()).group_by(CaseRow.state)
    return {str(state): int(n) for state, n in (await session.execute(stmt)).all()}


async def running_deadlines(session: AsyncSession) -> Mapping[tuple[str, date | None, date | None], int]:
    """Cases whose deadlines run, counted per (state, sign_due, answer_due): few distinct
    groups, so the colours are worked out per group, never per case."""
    stmt = (
        select(CaseRow.state, CaseRow.sign_due, CaseRow.answer_due, func.count())
        .where(CaseRow.state.in_(RUNNING_STATES))
        .group_by(CaseRow.state, CaseRow.sign_due, CaseRow.answer_due)
    )
    return {(str(s), sd, ad): int(n) for s, sd, ad, n in (await session.execute(stmt)).all()}


async def take_readings(factory: async_sessionmaker[AsyncSession], now: datetime) -> Readings:
    """Every reading for ``core.health.assess``; an unreachable database is a reading too."""
    head = head_revision()
    try:
        async with factory() as session:
            await session.execute(text("SELECT 1"))  # reachable: any error from here is that
            current = await schema_revision(session)
            if current != head:  # the other tables may not be there yet
                return Readings(now=now, schema_current=current, schema_head=head)
            oldest = await oldest_pending_outbox(session)
            last = await last_pass_finished(session)
    except Exception as exc:
        return Readings(now=now, database_error=_describe(exc), schema_head=head)
    return Readings(
        now=now,
        schema_current=current,
        schema_head=head,
        oldest_pending_outbox=oldest,
        last_pass_at=_aware(last),
    )


def _aware(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def _describe(exc: BaseException) -> str:
    # the class and first line only: a driver's message may carry the URL (never the password
    # here: SQLAlchemy masks it) but never anything a citizen wrote
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {first}"[:200]
