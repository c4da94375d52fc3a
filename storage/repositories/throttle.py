"""The flood counter several bot instances share (bot/throttle.py): how many of a user's
updates all instances together let through in the current fixed window.

One statement per call, an upsert that returns the new count, so the check costs one round
trip and stays correct under any number of concurrent instances (the row lock of
``ON CONFLICT DO UPDATE`` serialises the increments). On PostgreSQL it runs in autocommit: no
BEGIN/COMMIT round trips around it. It also works on SQLite (the storage tests run it there),
but the bot only uses it on PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, case
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.models import UpdateThrottleRow
from storage.repositories._sql import insert_on

_T = cast(Table, UpdateThrottleRow.__table__)


class SqlThrottleCounter:
    """``await counter.hit(user_id, window_start)`` → updates counted in that window so far,
    this one included."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._dialect = engine.dialect.name
        self._postgres = self._dialect == "postgresql"
        # SQLite keeps its own transactions (storage.db begins them IMMEDIATE by hand, which
        # autocommit would leave open)
        self._engine = engine.execution_options(isolation_level="AUTOCOMMIT") if self._postgres else engine

    async def hit(self, user_id: int, window_start: datetime) -> int:
        insert = insert_on(self._dialect)(_T)
        stmt: Any = insert.values(user_id=user_id, window_start=window_start, count=1)
        new = stmt.excluded
        # A row of an older window starts again at 1; an update stamped with an older window
        # than the row's (another instance's clock runs a little ahead) counts in the row's.
        same_or_older = _T.c.window_start >= new.window_start
        stmt = stmt.on_conflict_do_update(
            index_elements=[_T.c.user_id],
            set_={
                "count": case((same_or_older, _T.c.count + 1), else_=1),
                "window_start": case((same_or_older, _T.c.window_start), else_=new.window_start),
            },
        ).returning(_T.c.count)
        async with self._engine.begin() as conn:
            count: int = (await conn.execute(stmt)).scalar_one()
        return count
