"""The audit trail as the office's viewer reads it: filtered, newest first, one seek page at a
time (``core.audit_view``).

Each page is ``WHERE <filters> AND (at, id) < cursor ORDER BY at DESC, id DESC LIMIT n+1``: with
an index that starts with the filtered column and ends with (at, id) the database reads exactly
the page's rows, on the first page or the thousandth alike. The one extra row only tells
whether a next page exists; nothing is ever counted.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.audit import AuditEntry
from core.audit_view import AUDIT_PAGE, MAX_AUDIT_PAGE, AuditCursor, AuditFilter, AuditPage
from storage.models import AuditRow

A: Any = AuditRow.__table__.c


class AuditReader:
    """Reads the audit trail on one (preferably read-only) session."""

    def __init__(self, session: AsyncSession, tz: tzinfo) -> None:
        self.session = session
        self.tz = tz

    def _where(self, flt: AuditFilter) -> list[ColumnElement[bool]]:
        where: list[ColumnElement[bool]] = []
        if flt.actor_id is not None:
            where.append(A.actor_id == flt.actor_id)
        if flt.action:
            where.append(A.action == flt.action)
        if flt.target:
            where.append(A.target == flt.target)
        if flt.period is not None:
            where += [A.at >= flt.period.start(self.tz), A.at < flt.period.end(self.tz)]
        return where

    async def page(
        self, flt: AuditFilter, *, after: AuditCursor | None = None, limit: int = AUDIT_PAGE
    ) -> AuditPage:
        """The ``limit`` newest entries matching ``flt`` older than ``after``."""
        limit = max(1, min(limit, MAX_AUDIT_PAGE))
        where = self._where(flt)
        if after is not None:
            # spelled out rather than a row-value comparison: SQLite and PostgreSQL both turn
            # this into one index range on (at, id)
            where.append(or_(A.at < after.at, and_(A.at == after.at, A.id < after.id)))
        stmt = (
            select(A.id, A.at, A.actor_id, A.action, A.target, A.details)
            .where(*where)
            .order_by(A.at.desc(), A.id.desc())
            .limit(limit + 1)
        )
        rows = (await self.session.execute(stmt)).all()
        entries = tuple(
            AuditEntry(
                actor_id=r.actor_id,
                at=r.at,
                action=r.action,
                target=r.target,
                details=dict(r.details or {}),
                id=r.id,
            )
            for r in rows[:limit]
        )
        more = len(rows) > limit
        last = entries[-1] if entries else None
        cursor = AuditCursor(last.at, last.id) if more and last is not None and last.id is not None else None
        return AuditPage(entries, cursor)

    async def actions(self) -> list[str]:
        """The action kinds on the trail, for the viewer's choice list (a GROUP BY the
        (action, at, id) index answers without touching the table)."""
        rows = await self.session.execute(select(A.action).group_by(A.action).order_by(A.action))
        return [str(a) for (a,) in rows]

    async def opened_phases(self, action: str) -> set[str]:
        """Targets of every ``action`` entry: the phases the office opened by hand."""
        rows = await self.session.execute(select(A.target).where(A.action == action).group_by(A.target))
        return {str(t) for (t,) in rows}
