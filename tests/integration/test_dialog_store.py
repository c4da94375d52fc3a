"""The tables behind python-telegram-bot's persistence keep dialogs across restarts."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clock import FixedClock
from storage.dialog_store import SqlDialogStore, decode_key, encode_key

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def test_conversation_keys_survive_encoding() -> None:
    for key in [(), (123,), (-1001234567890, 42), ("inline", 7)]:
        assert decode_key(encode_key(key)) == key


async def test_conversation_states_are_stored_per_key_and_ended_by_none(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    store = SqlDialogStore(session_factory, FixedClock(T0))
    await store.update_conversation("complaint", (10, 10), "DESCRIBE")
    await store.update_conversation("complaint", (11, 11), 3)
    await store.update_conversation("complaint", (10, 10), "EVIDENCE")
    await store.update_conversation("report", (10, 10), "COUNT")

    # a restart: a new store object reads what the old one wrote
    reopened = SqlDialogStore(session_factory, FixedClock(T0))
    assert await reopened.get_conversations("complaint") == {(10, 10): "EVIDENCE", (11, 11): 3}
    assert await reopened.get_conversation("report", (10, 10)) == "COUNT"
    assert await reopened.get_conversation("report", (99, 99)) is None

    await reopened.update_conversation("complaint", (10, 10), None)
    await reopened.update_conversation("complaint", (12, 12), None)  # ending an unknown one is fine
    assert await store.get_conversations("complaint") == {(11, 11): 3}


async def test_user_chat_bot_and_callback_data_round_trip(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    store = SqlDialogStore(session_factory, FixedClock(T0))
    draft = {"description": "窗口推诿<b>", "evidence": ["file-1", "file-2"], "area": None}
    await store.update_user_data(10, draft)
    await store.update_user_data(11, {"lang": "en"})
    await store.update_user_data(11, {"lang": "zh"})
    await store.update_chat_data(-100123, {"digest": True})
    await store.update_bot_data({"launched": "2026-11-23"})
    await store.update_callback_data([[["uuid", 1.5, {"a": "b"}]], {"k": "v"}])

    assert await store.get_user_data() == {10: draft, 11: {"lang": "zh"}}
    assert await store.get_chat_data() == {-100123: {"digest": True}}
    assert await store.get_bot_data() == {"launched": "2026-11-23"}
    assert await store.get_callback_data() == [[["uuid", 1.5, {"a": "b"}]], {"k": "v"}]

    await store.drop_user_data(10)
    await store.drop_chat_data(-100123)
    assert await store.get_user_data() == {11: {"lang": "zh"}}
    assert await store.get_chat_data() == {}


async def test_empty_store_reads_as_empty(session_factory: async_sessionmaker[AsyncSession]) -> None:
    store = SqlDialogStore(session_factory, FixedClock(T0))
    assert await store.get_conversations("complaint") == {}
    assert await store.get_user_data() == {}
    assert await store.get_bot_data() == {}
    assert await store.get_callback_data() is None
