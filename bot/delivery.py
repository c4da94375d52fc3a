"""What became of one outbox message (``Outcome``, counted in a drain's ``DrainResult``), how
long a failed one waits (``RetryPolicy``), and the call into the Bot API itself. Shared by the
outbox sender (``bot.sender``) and whoever reads its results (``python -m bot tick``)."""

from __future__ import annotations

import inspect
import warnings
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any

from telegram import Bot
from telegram.error import RetryAfter
from telegram.warnings import PTBDeprecationWarning


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 10  # then dead: 2+4+...+512 s ≈ 17 minutes of trying
    cap: timedelta = timedelta(minutes=10)

    def delay(self, attempts: int) -> timedelta:
        """The wait after the ``attempts``-th failed try: 2, 4, 8... seconds, capped."""
        return min(timedelta(seconds=2 ** min(attempts, 30)), self.cap)


class Outcome(StrEnum):
    SENT = "sent"
    RETRIED = "retried"
    DEAD = "dead"
    BLOCKED = "blocked"


@dataclass(slots=True)
class DrainResult:
    """What a drain did. ``skipped``: another sender holds the lease and sends instead."""

    sent: int = 0
    retried: int = 0
    dead: int = 0
    blocked: int = 0
    skipped: bool = False

    def count(self, outcome: Outcome) -> None:
        setattr(self, outcome.value, getattr(self, outcome.value) + 1)

    @property
    def total(self) -> int:
        return self.sent + self.retried + self.dead + self.blocked

    def __str__(self) -> str:
        if self.skipped:
            return "skipped (another sender holds the outbox lease and sends)"
        return f"sent {self.sent}, retried {self.retried}, dead {self.dead}, blocked {self.blocked}"


# -- calling the Bot API ---------------------------------------------------------------------

_SIGNATURES: dict[str, frozenset[str]] = {}


async def invoke(bot: Bot, method: str, params: dict[str, Any]) -> None:
    """``bot.<method>(**params)``; parameters the method does not know (newer Bot API fields)
    go through ``api_kwargs``."""
    function = getattr(bot, method)
    known = _SIGNATURES.get(method)
    if known is None:
        known = _SIGNATURES[method] = frozenset(inspect.signature(function).parameters) - {"api_kwargs"}
    kwargs = {k: v for k, v in params.items() if k in known}
    extra = {k: v for k, v in params.items() if k not in known}
    await function(**kwargs, api_kwargs=extra or None)


def retry_after_seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():
        # the int-or-timedelta transition of python-telegram-bot 22 warns on access
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value: Any = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"
