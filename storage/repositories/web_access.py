"""The dashboard's sign-in links and sessions (``core.web_access``): hashes only; links are
spent, sessions ended, neither deleted (the audit trail names them)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Table, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.web_access import WebLink, WebSession
from storage.models import WebLinkRow, WebSessionRow

_FRESH = {"populate_existing": True}  # reads after Core UPDATEs must not see stale ORM objects
_LINKS = cast(Table, WebLinkRow.__table__)
_SESSIONS = cast(Table, WebSessionRow.__table__)


def _link(row: Any) -> WebLink:
    return WebLink(
        id=row.id,
        user_id=row.user_id,
        created_at=row.created_at,
        expires_at=row.expires_at,
        used_at=row.used_at,
    )


def _session(row: Any) -> WebSession:
    return WebSession(
        id=row.id,
        user_id=row.user_id,
        created_at=row.created_at,
        last_seen_at=row.last_seen_at,
        ended_at=row.ended_at,
        end_reason=row.end_reason,
    )


class SqlWebAccessRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add_link(
        self, token_hash: str, user_id: int, *, now: datetime, expires_at: datetime
    ) -> WebLink:
        row = WebLinkRow(token_hash=token_hash, user_id=user_id, created_at=now, expires_at=expires_at)
        self._session.add(row)
        await self._session.flush()
        return _link(row)

    async def get_link(self, token_hash: str) -> WebLink | None:
        stmt = select(_LINKS).where(_LINKS.c.token_hash == token_hash)
        row = (await self._session.execute(stmt)).one_or_none()
        return _link(row) if row else None

    async def consume_link(self, token_hash: str, *, now: datetime) -> WebLink | None:
        # One conditional UPDATE, as for invite codes: the database decides who wins when a
        # link is opened twice at once.
        stmt = (
            update(_LINKS)
            .where(_LINKS.c.token_hash == token_hash, _LINKS.c.used_at.is_(None), _LINKS.c.expires_at > now)
            .values(used_at=now)
            .returning(*_LINKS.c)
        )
        row = (await self._session.execute(stmt)).one_or_none()
        return _link(row) if row else None

    async def add_session(self, token_hash: str, user_id: int, *, now: datetime) -> WebSession:
        row = WebSessionRow(token_hash=token_hash, user_id=user_id, created_at=now, last_seen_at=now)
        self._session.add(row)
        await self._session.flush()
        return _session(row)

    async def get_session(self, token_hash: str) -> WebSession | None:
        stmt = select(_SESSIONS).where(_SESSIONS.c.token_hash == token_hash)
        row = (await self._session.execute(stmt, execution_options=_FRESH)).one_or_none()
        return _session(row) if row else None

    async def touch_session(self, session_id: int, *, now: datetime) -> None:
        await self._session.execute(
            update(_SESSIONS).where(_SESSIONS.c.id == session_id).values(last_seen_at=now)
        )

    async def end_session(self, session_id: int, *, now: datetime, reason: str) -> bool:
        result = await self._session.execute(
            update(_SESSIONS)
            .where(_SESSIONS.c.id == session_id, _SESSIONS.c.ended_at.is_(None))
            .values(ended_at=now, end_reason=reason)
        )
        return bool(cast(CursorResult[Any], result).rowcount)

    async def end_sessions_of(self, user_id: int, *, now: datetime, reason: str) -> int:
        result = await self._session.execute(
            update(_SESSIONS)
            .where(_SESSIONS.c.user_id == user_id, _SESSIONS.c.ended_at.is_(None))
            .values(ended_at=now, end_reason=reason)
        )
        return int(cast(CursorResult[Any], result).rowcount)
