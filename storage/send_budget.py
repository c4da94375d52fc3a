"""The send budget's counts in PostgreSQL, shared by every instance (bot/send_budget.py says what
they mean). Time is the database's (``clock_timestamp()``), so instances whose clocks drift
apart still count in the same slots.

``take`` is one autocommit statement: an upsert whose conflict branch only increments while the
slot has room, so concurrent instances never overfill a slot (the row lock of ``ON CONFLICT DO
UPDATE`` serialises them). ``take_in_window`` (a group's sliding minute) sums rows, which an
upsert cannot guard, so it runs under a transaction-level advisory lock on the scope; groups
are few and post rarely, so that lock is never contended for long.

PostgreSQL only: on SQLite one process is the supported shape and the budget stays in memory.
"""

from __future__ import annotations

import zlib
from typing import Final

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

# one slot: ninths of a second (:n slots a second) on the database's clock; in the slot's first
# half :reserve of its :cap are kept for replies (bot/send_budget.py)
_TAKE: Final = text(
    """/* send_budget take */ WITH t AS (SELECT extract(epoch FROM clock_timestamp()) * :n AS x)
    INSERT INTO send_budget (scope, slot, used)
    SELECT :scope, floor(x)::bigint, 1 FROM t
     WHERE :cap - CASE WHEN x - floor(x) < 0.5 THEN :reserve ELSE 0 END >= 1
    ON CONFLICT (scope, slot) DO UPDATE SET used = send_budget.used + 1
     WHERE send_budget.used < :cap - (SELECT CASE WHEN x - floor(x) < 0.5 THEN :reserve ELSE 0 END FROM t)
    RETURNING used
    """
)
_SWEEP: Final = text(
    "DELETE FROM send_budget WHERE scope = :scope "
    "AND slot < floor(extract(epoch FROM clock_timestamp()) * :n)::bigint - :keep"
)
_LOCK: Final = text("SELECT pg_advisory_xact_lock(:key)")
# a group's sends of the sliding window, slots in milliseconds
_WINDOW: Final = text(
    """/* send_budget window */
    WITH t AS (SELECT floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint AS ms)
    SELECT t.ms, coalesce(sum(b.used), 0) AS used, min(b.slot) AS oldest
      FROM t LEFT JOIN send_budget b ON b.scope = :scope AND b.slot > t.ms - :window_ms
     GROUP BY t.ms
    """
)
_ADD: Final = text(
    "INSERT INTO send_budget (scope, slot, used) VALUES (:scope, :ms, 1) "
    "ON CONFLICT (scope, slot) DO UPDATE SET used = send_budget.used + 1"
)
_FORGET: Final = text("DELETE FROM send_budget WHERE scope = :scope AND slot <= :before")

SWEEP_EVERY: Final = 256  # takes between two deletions of old "all" slots
KEEP_SLOTS: Final = 90  # ten seconds of slots: enough for any clock's view of "now"
_LOCK_SPACE: Final = 0x5EB0  # advisory keys of the budget: (space << 32) | crc32(scope)


def _lock_key(scope: str) -> int:
    key = (_LOCK_SPACE << 32) | zlib.crc32(scope.encode())
    return key - (1 << 63) if key >= 1 << 63 else key  # PostgreSQL's bigint is signed


class SqlSendLedger:
    """``bot.send_budget.SharedLedger`` over the ``send_budget`` table."""

    def __init__(self, engine: AsyncEngine) -> None:
        if engine.dialect.name != "postgresql":
            raise ValueError("the shared send budget needs PostgreSQL (one process on SQLite)")
        self._engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._locking = engine  # transactions: the advisory lock lasts until the commit
        self._takes = 0

    async def take(self, scope: str, *, slots_per_second: int, cap: int, reserve: int) -> bool:
        params = {"scope": scope, "n": slots_per_second, "cap": cap, "reserve": reserve}
        async with self._engine.connect() as conn:
            taken = (await conn.execute(_TAKE, params)).first() is not None
            self._takes += 1
            if self._takes % SWEEP_EVERY == 0:
                await conn.execute(_SWEEP, {"scope": scope, "n": slots_per_second, "keep": KEEP_SLOTS})
        return taken

    async def take_in_window(self, scope: str, *, cap: int, window: float) -> float:
        window_ms = int(window * 1000)
        async with self._locking.begin() as conn:
            await conn.execute(_LOCK, {"key": _lock_key(scope)})
            row = (await conn.execute(_WINDOW, {"scope": scope, "window_ms": window_ms})).one()
            ms, used = int(row.ms), int(row.used)
            await conn.execute(_FORGET, {"scope": scope, "before": ms - window_ms})
            if used >= cap:
                return max(0.001, (int(row.oldest) + window_ms - ms) / 1000)
            await conn.execute(_ADD, {"scope": scope, "ms": ms})
        return 0.0
