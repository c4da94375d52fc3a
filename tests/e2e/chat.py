"""One user's private chat with the running bot, seen through the Bot API stand-in: what the
end-to-end tests play citizens, liaisons and the office with."""

from __future__ import annotations

import re
from collections.abc import Callable

from telegram import Update

from tests.support.botapi_standin import BotApiStandin, SentMessage
from tests.support.updates import TgUser, UpdateFactory

STEP = 30.0  # seconds to wait for any one answer of the bot
TRACKING = re.compile(r"ZH-\d{4}-\d{6}")


class Chat:
    """One user's private chat with the bot, seen through the stand-in."""

    def __init__(self, api: BotApiStandin, user: TgUser, make: UpdateFactory) -> None:
        self.api, self.user, self.make = api, user, make
        self.seen = 0  # messages to this chat already looked at

    async def expect(self, predicate: Callable[[SentMessage], bool], what: str) -> SentMessage:
        """The next message (or edit) to this chat that satisfies ``predicate``."""
        try:
            message = await self.api.wait_for_message(self.user.id, predicate, STEP, after=self.seen)
        except TimeoutError as exc:
            raise AssertionError(f"{self.user.first_name} never got {what}: {exc}") from None
        self.seen = self.api.sent_to(self.user.id).index(message) + 1
        return message

    async def expect_text(self, needle: str) -> SentMessage:
        return await self.expect(lambda m: needle in m.text, repr(needle))

    async def expect_button(self, *, label: str | None = None, data: str | None = None) -> SentMessage:
        def has(m: SentMessage) -> bool:
            return any((label is None or t == label) and (data is None or d == data) for t, d in m.buttons)

        return await self.expect(has, f"a button {label or data!r}")

    def say(self, text: str) -> None:
        self.api.push_update(self.make.text(self.user, text))

    def photo(self) -> None:
        self.api.push_update(self.make.photo(self.user))

    def command(self, name: str, args: str = "") -> None:
        self.api.push_update(self.make.command(self.user, name, args))

    def press(self, message: SentMessage, *, label: str | None = None, data: str | None = None) -> str:
        """Press a button of ``message``; returns its callback data."""
        for text, callback_data in message.buttons:
            if callback_data and (label is None or text == label) and (data is None or callback_data == data):
                self.api.push_update(
                    self.make.callback(
                        self.user, callback_data, message_id=message.message_id, message_text=message.text
                    )
                )
                return callback_data
        raise AssertionError(f"no button {label or data!r} in {message.buttons}")


async def file_complaint(
    citizen: Chat, label: Callable[[str], str], description: str, *, photo: Update | None = None
) -> str:
    """The citizen files ``description`` through the whole dialog (area confirmed, no unit,
    a place and a time, ``photo`` as evidence or none, anonymous); returns the tracking number."""
    citizen.say(description)
    citizen.press(await citizen.expect_button(label=label("confirm_area")), label=label("confirm_area"))
    citizen.press(await citizen.expect_button(label=label("skip")), label=label("skip"))  # which unit
    await citizen.expect_text("什么地点")
    citizen.say("二楼3号窗口")
    await citizen.expect_text("什么时间")
    citizen.say("11月20日上午")
    skip = await citizen.expect_button(label=label("skip_evidence"))
    if photo is None:
        citizen.press(skip, label=label("skip_evidence"))
    else:
        citizen.api.push_update(photo)
        citizen.press(await citizen.expect_button(label=label("done")), label=label("done"))
    await citizen.expect_text("联系方式")
    citizen.say(label("anonymous"))
    citizen.press(await citizen.expect_button(label=label("submit")), label=label("submit"))
    receipt = await citizen.expect(lambda m: TRACKING.search(m.text) is not None, "a receipt")
    found = TRACKING.search(receipt.text)
    assert found is not None
    return found.group(0)
