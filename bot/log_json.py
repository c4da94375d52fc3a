"""``LOG_FORMAT=json`` (issue 15): one JSON object a line, with the context of the update being
handled (update id, case number) and the instance's name when known.

The context lives in contextvars, set where an update is processed (``bot.metrics.
MeteredApplication``) and wherever a case number becomes known (``set_case_number``); each
asyncio task sees its own. The privacy filters (``bot.log_privacy``) run on the handler before
this formatter, so the message it writes is already masked.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime

_update_id: contextvars.ContextVar[int | None] = contextvars.ContextVar("log_update_id", default=None)
_case_number: contextvars.ContextVar[str | None] = contextvars.ContextVar("log_case_number", default=None)


@contextlib.contextmanager
def log_context(*, update_id: int | None = None, case_number: str | None = None) -> Iterator[None]:
    update_token = _update_id.set(update_id)
    case_token = _case_number.set(case_number)
    try:
        yield
    finally:
        _case_number.reset(case_token)
        _update_id.reset(update_token)


def set_case_number(case_number: str | None) -> None:
    """The tracking number of the case this update (or task) is about, from here on."""
    _case_number.set(case_number)


class JsonFormatter(logging.Formatter):
    def __init__(self, instance: str | None = None) -> None:
        super().__init__()
        self.instance = instance

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        update_id = getattr(record, "update_id", None) or _update_id.get()
        if update_id is not None:
            entry["update_id"] = update_id
        case_number = getattr(record, "case_number", None) or _case_number.get()
        if case_number is not None:
            entry["case_number"] = case_number
        if self.instance:
            entry["instance"] = self.instance
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False, default=str)


def use_json(instance: str | None = None) -> None:
    """Every root handler writes JSON lines (idempotent)."""
    for handler in logging.getLogger().handlers:
        handler.setFormatter(JsonFormatter(instance))
