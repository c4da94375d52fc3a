"""Telegram's limits on sending, and the ``Pacer`` that keeps the outbox sender
(``bot.sender``) under them: how many messages may go, to whom, and when. Pure bookkeeping in
monotonic seconds, no I/O, so the sender's tests drive it with virtual time."""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class SendLimits:
    """Telegram's limits. ``margin`` stretches the second of the even schedule (30 sends every
    1.02 s), so that the windows below rarely have to hold a send back; ``slack`` is added to
    every window counted from Telegram's answers (see ``Pacer``), which are what keeps us under
    the limits, for clocks that do not tick quite alike."""

    overall_per_second: float = 30.0
    private_interval: float = 1.0  # seconds between two messages to one private chat
    group_per_minute: int = 20
    margin: float = 0.02
    slack: float = 0.005

    @property
    def spacing(self) -> float:
        """Seconds between two sends on average: 30 of them span a second and a margin."""
        return (1.0 + self.margin) / self.overall_per_second


@dataclass(slots=True)
class Slot:
    """One send as the pacer sees it: when it went, and when Telegram answered (or it failed)."""

    chat_id: int
    sent: float
    answered: float | None = None


class Pacer:
    """When the next message may go, in monotonic seconds: ~``overall_per_second`` overall, one
    per ``private_interval`` per private chat, ``group_per_minute`` in any minute per group
    (chat ids below zero), and nothing to a chat (or to anybody) that Telegram told to wait.

    Windows are counted from Telegram's answers, not from our sends: we cannot know when
    Telegram counted a request, only that it was before it answered. So the 31st message waits
    until a second after the answer to one of the 30 before it (and a chat's next message a
    second after the answer to its last one), and network jitter can never squeeze 31 into
    Telegram's second. Within that, sends follow an even schedule one ``spacing`` apart, so they
    do not come in bursts."""

    # how far ahead of the schedule a send may go, in spacings: the scheduler wakes a little
    # early, so the lag of its wake-ups does not add up; below 1, so sends never bunch up
    CATCH_UP: Final = 0.5

    def __init__(self, limits: SendLimits, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self._now = monotonic
        self._capacity = max(1, math.floor(limits.overall_per_second))
        self._scheduled = -math.inf  # when the next send is due on the even schedule
        self._paused_until = -math.inf  # RetryAfter for everybody
        self._window: list[Slot] = []  # sends Telegram may still count in its current second
        self._chat_next: dict[int, float] = {}
        self._group_log: dict[int, deque[Slot]] = {}

    def ready_at(self, chat_id: int) -> float:
        return max(self.overall_ready_at(), self.chat_ready_at(chat_id))

    def overall_ready_at(self) -> float:
        now, second = self._now(), 1.0 + self.limits.slack
        self._window = [s for s in self._window if s.answered is None or s.answered + second > now]
        ready = max(self._scheduled - self.CATCH_UP * self.limits.spacing, self._paused_until)
        excess = len(self._window) - (self._capacity - 1)
        if excess > 0:
            answered = sorted(s.answered for s in self._window if s.answered is not None)
            # not enough answers yet: wait for sends in flight to come back
            ready = max(ready, answered[excess - 1] + second if len(answered) >= excess else math.inf)
        return ready

    def chat_ready_at(self, chat_id: int) -> float:
        ready = self._chat_next.get(chat_id, -math.inf)
        sent = self._group_log.get(chat_id)
        if sent is not None and len(sent) >= self.limits.group_per_minute:
            first = sent[0].answered
            ready = max(ready, first + 60.0 + self.limits.slack if first is not None else math.inf)
        return ready

    def record(self, chat_id: int) -> Slot:
        """A message to ``chat_id`` goes now; call ``answered`` with the slot when it is back."""
        now = self._now()
        slot = Slot(chat_id, now)
        self._scheduled = max(self._scheduled, now) + self.limits.spacing
        self._window.append(slot)
        if chat_id < 0:
            self._group_log.setdefault(chat_id, deque(maxlen=self.limits.group_per_minute)).append(slot)
        else:
            self._chat_next[chat_id] = math.inf  # until the answer
        return slot

    def answered(self, slot: Slot) -> None:
        """Telegram answered (or the request failed): it counted the message by now."""
        now = slot.answered = self._now()
        if slot.chat_id > 0:
            ready = now + self.limits.private_interval + self.limits.slack
            previous = self._chat_next.get(slot.chat_id, -math.inf)
            self._chat_next[slot.chat_id] = ready if previous == math.inf else max(previous, ready)

    def pause(self, chat_id: int, seconds: float, *, everyone: bool) -> None:
        until = self._now() + seconds
        self._chat_next[chat_id] = max(self._chat_next.get(chat_id, -math.inf), until)
        if everyone:
            self._paused_until = max(self._paused_until, until)

    def busy_chats(self, horizon: float) -> list[int]:
        """Chats that cannot be sent to within ``horizon`` seconds. Forgets what no longer
        matters, so the pacer's memory stays the size of the last minute's chats."""
        now = self._now()
        for chat_id in [c for c, t in self._chat_next.items() if t <= now]:
            del self._chat_next[chat_id]
        minute = 60.0 + self.limits.slack
        for chat_id, sent in list(self._group_log.items()):
            last = sent[-1].answered if sent else now - minute
            if last is not None and last + minute <= now:
                del self._group_log[chat_id]
        chats = set(self._chat_next) | set(self._group_log)
        return sorted(c for c in chats if self.chat_ready_at(c) > now + horizon)
