"""API keys for the Open311 API (``core.api_keys``): stored by hash, revoked, never deleted."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.api_keys import ApiKey
from storage.models import ApiKeyRow

_FRESH = {"populate_existing": True}  # reads after Core UPDATEs must not see stale ORM objects


def _key(row: Any) -> ApiKey:
    return ApiKey(
        id=row.id,
        name=row.name,
        created_at=row.created_at,
        created_by=row.created_by,
        revoked_at=row.revoked_at,
        revoked_by=row.revoked_by,
        last_used_at=row.last_used_at,
    )


class SqlApiKeyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, key_hash: str, name: str, *, created_by: int | None, now: datetime) -> ApiKey:
        row = ApiKeyRow(name=name, key_hash=key_hash, created_at=now, created_by=created_by)
        self._session.add(row)
        await self._session.flush()
        return _key(row)

    async def get(self, key_id: int) -> ApiKey | None:
        row = await self._session.get(ApiKeyRow, key_id, populate_existing=True)
        return _key(row) if row else None

    async def get_by_hash(self, key_hash: str) -> ApiKey | None:
        stmt = select(ApiKeyRow).where(ApiKeyRow.key_hash == key_hash)
        row = (await self._session.execute(stmt, execution_options=_FRESH)).scalar_one_or_none()
        return _key(row) if row else None

    async def list_all(self) -> list[ApiKey]:
        stmt = select(ApiKeyRow).order_by(ApiKeyRow.id.desc())
        rows = (await self._session.execute(stmt, execution_options=_FRESH)).scalars()
        return [_key(row) for row in rows]

    async def revoke(self, key_id: int, *, by: int | None, now: datetime) -> bool:
        # The condition on revoked_at makes a second revocation (or two at once) a no-op that
        # reports False, rather than moving the first one's time and author.
        result = await self._session.execute(
            update(ApiKeyRow)
            .where(ApiKeyRow.id == key_id, ApiKeyRow.revoked_at.is_(None))
            .values(revoked_at=now, revoked_by=by)
            .execution_options(synchronize_session=False)
        )
        return bool(cast(CursorResult[Any], result).rowcount)

    async def touch(self, key_id: int, *, now: datetime) -> None:
        await self._session.execute(
            update(ApiKeyRow)
            .where(ApiKeyRow.id == key_id)
            .values(last_used_at=now)
            .execution_options(synchronize_session=False)
        )
