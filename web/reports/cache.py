"""A small time-limited cache with one computation per key at a time, for the report pages.

The scoreboard page and its chart image are two requests for the same figures; a campaign-long
scoreboard aggregates every case (seconds at a million), so both requests, and every office
member opening the page within the minute, share one computation. Minutes-old figures are fine
for a year-end evaluation; a filter change is a different key and computes at once. Per
process: nothing here is state another instance needs (a miss only costs a query).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

V = TypeVar("V")

MAX_ENTRIES = 256  # distinct filter combinations kept; the oldest go first


@dataclass
class TtlCache(Generic[V]):
    ttl: float  # seconds
    clock: Callable[[], float] = time.monotonic
    _values: dict[Hashable, tuple[float, V]] = field(default_factory=dict)
    _locks: dict[Hashable, asyncio.Lock] = field(default_factory=dict)

    async def get(self, key: Hashable, compute: Callable[[], Awaitable[V]]) -> V:
        hit = self._values.get(key)
        if hit is not None and self.clock() - hit[0] < self.ttl:
            return hit[1]
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            hit = self._values.get(key)  # computed while this request waited
            if hit is not None and self.clock() - hit[0] < self.ttl:
                return hit[1]
            value = await compute()
            self._values[key] = (self.clock(), value)
            self._trim()
            return value

    def clear(self) -> None:
        self._values.clear()
        self._locks.clear()

    def _trim(self) -> None:
        now = self.clock()
        for key in [k for k, (at, _) in self._values.items() if now - at >= self.ttl]:
            self._values.pop(key, None)
            lock = self._locks.get(key)
            if lock is not None and not lock.locked():
                self._locks.pop(key, None)
        while len(self._values) > MAX_ENTRIES:
            oldest = min(self._values, key=lambda k: self._values[k][0])
            self._values.pop(oldest)
            self._locks.pop(oldest, None)
