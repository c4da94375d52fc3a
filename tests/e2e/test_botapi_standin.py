"""The Bot API stand-in speaks the API the way python-telegram-bot expects (a real ``Bot`` over
real HTTP on 127.0.0.1), so end-to-end tests built on it mean something."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import InvalidToken, RetryAfter

from tests.support.botapi_standin import BotApiStandin
from tests.support.updates import ZH_USER, UpdateFactory

TOKEN = "123456:TEST"

pytestmark = pytest.mark.e2e


@pytest.fixture
async def standin() -> AsyncIterator[BotApiStandin]:
    async with BotApiStandin(TOKEN) as api:
        yield api


def bot_for(api: BotApiStandin, token: str = TOKEN) -> Bot:
    return Bot(token, base_url=api.api_url, base_file_url=api.file_url)


async def test_get_me_and_messages_are_recorded_per_chat(standin: BotApiStandin) -> None:
    async with bot_for(standin) as bot:
        assert bot.username == "banshinan_test_bot"
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("是", callback_data="yes")]])
        sent = await bot.send_message(ZH_USER.id, "<b>你好</b> 123", parse_mode="HTML", reply_markup=keyboard)
        edited = await bot.edit_message_text("改过了", chat_id=ZH_USER.id, message_id=sent.message_id)

    assert sent.chat.id == ZH_USER.id
    assert isinstance(edited, object)
    first, edit = standin.sent_to(ZH_USER.id)
    assert first.text == "<b>你好</b> 123"  # text stays text, even when it looks like a number
    assert first.params["parse_mode"] == "HTML"
    assert first.buttons == [("是", "yes")]
    assert (edit.method, edit.message_id, edit.text) == ("editMessageText", sent.message_id, "改过了")


async def test_uploads_are_decoded_and_files_can_be_downloaded(standin: BotApiStandin) -> None:
    content = b"%PDF-1.4\r\n\x00\xffbinary\r\n--not-a-boundary\r\n"
    standin.add_file("doc1", b"citizen evidence", "documents/doc1.pdf")
    async with bot_for(standin) as bot:
        await bot.send_document(ZH_USER.id, content, filename="report.pdf", caption="自查报告")
        file = await bot.get_file("doc1")
        downloaded = await file.download_as_bytearray()

    (message,) = standin.sent_to(ZH_USER.id)
    assert message.method == "sendDocument"
    assert message.text == "自查报告"
    (upload,) = message.files.values()
    assert upload.content == content
    assert upload.filename == "report.pdf"
    assert bytes(downloaded) == b"citizen evidence"


async def test_get_updates_long_polls_and_honours_the_offset(standin: BotApiStandin) -> None:
    make = UpdateFactory()
    async with bot_for(standin) as bot:
        waiting = asyncio.create_task(bot.get_updates(timeout=5))
        await asyncio.sleep(0.1)
        assert not waiting.done()  # long polling: nothing yet
        standin.push_update(make.command(ZH_USER, "start"))
        (update,) = await asyncio.wait_for(waiting, 2)
        assert update.message is not None and update.message.text == "/start"

        # not confirmed yet: delivered again; confirmed by the next offset: gone
        again = await bot.get_updates(timeout=0)
        assert [u.update_id for u in again] == [update.update_id]
        assert await bot.get_updates(offset=update.update_id + 1, timeout=0) == ()
        assert standin.pending_updates == 0


async def test_a_wrong_token_is_unauthorised(standin: BotApiStandin) -> None:
    with pytest.raises(InvalidToken):
        async with bot_for(standin, "999:WRONG"):
            pass


async def test_wait_for_message_times_out_with_what_was_sent(standin: BotApiStandin) -> None:
    async with bot_for(standin) as bot:
        await bot.send_message(ZH_USER.id, "something else")
    with pytest.raises(TimeoutError, match="something else"):
        await standin.wait_for_message(ZH_USER.id, lambda m: "2540084" in m.text, timeout=0.2)


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")  # RetryAfter's own
async def test_rate_limits_answer_429_with_retry_after() -> None:
    async with BotApiStandin(TOKEN, rate_limits=True) as api, bot_for(api) as bot:
        await bot.send_message(ZH_USER.id, "one")
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(ZH_USER.id, "two, too soon for a private chat")
        assert "Retry in 1 second" in str(caught.value)
        for n in range(29):  # other chats are fine until the overall limit (30 a second)
            await bot.send_message(300_000 + n, "hi")
        with pytest.raises(RetryAfter):
            await bot.send_message(400_000, "one too many this second")
    assert api.too_many_requests == 2
    assert [c.status for c in api.calls_of("sendMessage")].count(429) == 2
