"""The log filter that keeps phone numbers and Telegram objects out of every record
(bot/log_privacy.py)."""

from __future__ import annotations

import logging
import sys

import pytest
from telegram import Update

from bot.log_privacy import PhoneMaskFilter, cap_loggers, mask_phones, person_ref


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("phone 13912345678 given", "phone [phone] given"),
        ("+8613912345678", "[phone]"),
        ("+86 139 1234 5678.", "[phone]."),
        ("0086-139-1234-5678", "[phone]"),
        ("8613912345678", "[phone]"),
        ("landline +86 756 2540084", "landline [phone]"),
        # not phones: longer numbers (timestamps, ids), short ones, the office's local number
        ("at 1701234567890 ms", "at 1701234567890 ms"),
        ("update 139123456789", "update 139123456789"),
        ("case ZH-2026-000001, call 2540084", "case ZH-2026-000001, call 2540084"),
        ("12345678901", "12345678901"),  # 12… is not a mobile prefix
    ],
)
def test_phones_are_masked(text: str, expected: str) -> None:
    assert mask_phones(text) == expected


def test_people_get_a_stable_pseudonym_and_groups_keep_their_id() -> None:
    assert person_ref(7318460259) == person_ref(7318460259) != person_ref(7318460258)
    assert "7318460259" not in person_ref(7318460259)
    assert person_ref(-100123) == "-100123"
    assert person_ref(None) == "-"


def _record(msg: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord("telegram.ext.Application", logging.DEBUG, __file__, 1, msg, args, None)


def test_the_filter_masks_messages_tracebacks_and_summarises_updates() -> None:
    f = PhoneMaskFilter()
    record = _record("contact %s shared", "+8613912345678")
    assert f.filter(record) and record.getMessage() == "contact [phone] shared"

    update = Update.de_json(
        {"update_id": 5, "message": {"message_id": 1, "date": 0, "text": "hi",
         "chat": {"id": 7318460259, "type": "private", "first_name": "Cuihua"},
         "from": {"id": 7318460259, "is_bot": False, "first_name": "Cuihua"}}},
        None,
    )
    record = _record("Processing update %s", update)
    f.filter(record)
    assert record.getMessage() == "Processing update <Update 5>"

    try:
        raise ValueError("no citizen with phone 13912345678")
    except ValueError:
        record = logging.LogRecord("bot", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())
    f.filter(record)
    assert record.exc_text and "13912345678" not in record.exc_text and "[phone]" in record.exc_text


def test_chatty_loggers_are_capped_even_at_debug() -> None:
    root = logging.getLogger()
    saved = root.level, logging.getLogger("telegram").level, logging.getLogger("aiosqlite").level
    try:
        root.setLevel(logging.DEBUG)
        logging.getLogger("telegram").setLevel(logging.NOTSET)
        logging.getLogger("aiosqlite").setLevel(logging.NOTSET)
        cap_loggers()
        assert not logging.getLogger("telegram.ext.ExtBot").isEnabledFor(logging.DEBUG)
        assert not logging.getLogger("aiosqlite").isEnabledFor(logging.DEBUG)
        assert not logging.getLogger("sqlalchemy.engine.Engine").isEnabledFor(logging.INFO)
        assert logging.getLogger("bot").isEnabledFor(logging.DEBUG)
    finally:
        root.setLevel(saved[0])
        logging.getLogger("telegram").setLevel(saved[1])
        logging.getLogger("aiosqlite").setLevel(saved[2])
