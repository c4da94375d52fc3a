"""A brake on clients that keep presenting bad API keys.

Guessing a 256-bit key is hopeless anyway; what this protects is the database and the audit
trail (every refused key is an audit row): after ``limit`` refusals within ``window`` a client
address is turned away with a 429 before its request is read, until the oldest refusal ages
out. In memory, per process: each instance brakes on its own, which only makes the brake
stricter per client, never looser than ``limit`` per instance. Behind a reverse proxy every
client shares the proxy's address; the brake then applies to all of them together, which is
the safe side for an API that a few known partners use.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from core.clock import Clock

# Enough clients to remember: beyond it the quietest are forgotten, so a flood of addresses
# costs bounded memory (each of them still gets at most ``limit`` refusals).
MAX_CLIENTS = 10_000


@dataclass(slots=True)
class FailureThrottle:
    clock: Clock
    limit: int = 10
    window: timedelta = timedelta(minutes=10)
    _failures: dict[str, deque[datetime]] = field(default_factory=dict)

    def blocked_for(self, client: str) -> int | None:
        """Seconds until ``client`` may try again, or None when it may now."""
        failures = self._recent(client)
        if failures is None or len(failures) < self.limit:
            return None
        free_at = failures[-self.limit] + self.window
        return max(1, int((free_at - self.clock.now()).total_seconds() + 0.999))

    def failed(self, client: str) -> None:
        failures = self._recent(client)
        if failures is None:
            if len(self._failures) >= MAX_CLIENTS:
                self._forget_quietest()
            failures = self._failures[client] = deque(maxlen=self.limit)
        failures.append(self.clock.now())

    def _recent(self, client: str) -> deque[datetime] | None:
        failures = self._failures.get(client)
        if failures is None:
            return None
        since = self.clock.now() - self.window
        while failures and failures[0] <= since:
            failures.popleft()
        if not failures:
            del self._failures[client]
            return None
        return failures

    def _forget_quietest(self) -> None:
        oldest = min(self._failures, key=lambda c: self._failures[c][-1])
        del self._failures[oldest]
