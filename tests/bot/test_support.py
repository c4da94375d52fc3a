"""The test support itself: updates look like Telegram's, the recording request decodes what
the real Bot sends. Later suites rely on both."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, MessageEntity

from tests.support.harness import BotHarness
from tests.support.recording_request import ApiError
from tests.support.updates import EN_USER, ZH_USER, UpdateFactory, payload


def test_a_command_carries_the_bot_command_entity() -> None:
    update = UpdateFactory().command(ZH_USER, "start", "deep-link")
    message = update.message
    assert message is not None and message.text == "/start deep-link"
    assert message.parse_entities([MessageEntity.BOT_COMMAND]) == {message.entities[0]: "/start"}
    assert message.chat.type == "private" and message.chat.id == ZH_USER.id
    assert message.from_user is not None and message.from_user.language_code == "zh-hans"


def test_ids_increase_like_telegrams() -> None:
    make = UpdateFactory(first_update_id=500)
    first, second = make.text(ZH_USER, "a"), make.text(ZH_USER, "b")
    assert (first.update_id, second.update_id) == (500, 501)
    assert first.message is not None and second.message is not None
    assert second.message.message_id == first.message.message_id + 1


def test_media_and_contact_builders() -> None:
    make = UpdateFactory()
    photo = make.photo(ZH_USER, caption="证据").message
    assert photo is not None and len(photo.photo) == 2 and photo.caption == "证据"
    document = make.document(EN_USER, file_name="a.docx", mime_type="application/msword").message
    assert document is not None and document.document is not None
    assert document.document.file_name == "a.docx"
    voice = make.voice(ZH_USER, duration=12).message
    assert voice is not None and voice.voice is not None
    assert voice.voice.to_dict()["duration"] == 12  # the attribute itself warns until PTB 23
    contact = make.contact(ZH_USER, "+8613912345678").message
    assert contact is not None and contact.contact is not None
    assert contact.contact.user_id == ZH_USER.id and contact.contact.phone_number == "+8613912345678"
    foreign = make.contact(ZH_USER, own=False).message
    assert foreign is not None and foreign.contact is not None and foreign.contact.user_id is None


def test_payload_round_trips_for_the_standin() -> None:
    update = UpdateFactory().callback(ZH_USER, "lang:en", message_id=77, message_text="选择")
    data = payload(update)
    assert data["callback_query"]["data"] == "lang:en"
    assert data["callback_query"]["message"]["message_id"] == 77


async def test_the_recording_request_decodes_uploads_and_serves_files(harness: BotHarness) -> None:
    bot = harness.app.bot
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("确认", callback_data="ok")]])
    sent = await bot.send_document(ZH_USER.id, b"\x00binary\r\n", filename="r.pdf", caption="报告",
                                   reply_markup=keyboard)
    harness.request.files["doc-x"] = b"evidence bytes"
    file = await bot.get_file("doc-x")
    content = await file.download_as_bytearray()

    document_call = harness.request.of("sendDocument")[-1]
    (upload,) = document_call.files.values()
    assert upload.content == b"\x00binary\r\n" and upload.filename == "r.pdf"
    assert document_call.text == "报告"
    assert document_call.buttons == [("确认", "ok")]
    assert sent.chat.id == ZH_USER.id and sent.document is not None
    assert bytes(content) == b"evidence bytes"


async def test_the_recording_request_can_fail_a_method(harness: BotHarness) -> None:
    harness.request.fail("sendMessage", ApiError(403, "Forbidden: bot was blocked by the user"), times=1)
    calls = await harness.command(ZH_USER, "help")  # the reply fails; nothing crashes

    assert [c.method for c in calls] == ["sendMessage"]
    assert isinstance(calls[0].result, ApiError)
    await harness.command(ZH_USER, "help")  # only once
    assert harness.last_text().startswith("<b>使用帮助</b>")
