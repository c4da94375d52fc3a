"""A small per-process cache of users' stored languages (issue 11: "the language lookup
cached").

Every update is answered in its user's language, and reading it from the database was a third
of the CPU of a dialog step. The stored choice changes only through ``/lang`` (and the first
time a user is seen): this process updates its cache then, at once. Another instance learns of
the change when its entry expires (``ttl``), so for at most that long it may answer in the
previous language; nothing else depends on it.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable


class LanguageCache:
    """user id → the language stored for them (None: nothing stored yet), for ``ttl`` seconds;
    at most ``size`` users, the least recently used forgotten first."""

    def __init__(
        self, *, ttl: float = 30.0, size: int = 50_000, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl, self.size = ttl, size
        self._now = monotonic
        self._entries: OrderedDict[int, tuple[float, str | None]] = OrderedDict()

    def get(self, user_id: int) -> tuple[bool, str | None]:
        """(True, the language) for a fresh entry; (False, None) when it must be read."""
        entry = self._entries.get(user_id)
        if entry is None or entry[0] <= self._now():
            self._entries.pop(user_id, None)
            return False, None
        self._entries.move_to_end(user_id)
        return True, entry[1]

    def put(self, user_id: int, language: str | None) -> None:
        self._entries[user_id] = (self._now() + self.ttl, language)
        self._entries.move_to_end(user_id)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)

    def forget(self, user_id: int) -> None:
        self._entries.pop(user_id, None)
