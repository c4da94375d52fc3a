"""Who complained is shown in an office member's private chat only (SPEC §3, §10; issue 12):
the office card pressed or asked for in the office group shows the case without the
complainant's phone or user id and links to the private chat, where the link opens the whole
card; and the office's notice of an unexpected error names no chat, user or message."""

from __future__ import annotations

import itertools
import logging
import re
from typing import Any

import pytest
from telegram import Update
from telegram.ext import CommandHandler

from bot.context import BotContext
from core.cases import Case
from core.services.complaints import ComplaintDraft
from tests.bot.conftest import HarnessFactory
from tests.support.harness import BotHarness
from tests.support.recording_request import BOT_USERNAME, RecordedCall
from tests.support.updates import TgUser

OFFICE_CHAT = -100_778
OFFICE = TgUser(900_101, "办公室王五", "zh-hans")
CITIZEN = TgUser(7_318_460_259, "翠花", "zh-hans", last_name="欧阳")
PHONE = "+8613912345678"

pytestmark = pytest.mark.filterwarnings(
    "ignore:Ignoring `conversation_timeout`:telegram.warnings.PTBUserWarning"
)

_ids = itertools.count(60_000)


def _group() -> dict[str, Any]:
    return {"id": OFFICE_CHAT, "type": "supergroup", "title": "专项整治办公室"}


def group_command(h: BotHarness, user: TgUser, text: str) -> Update:
    message = {
        "message_id": next(_ids),
        "date": int(h.clock.now().timestamp()),
        "chat": _group(),
        "from": user.to_json(),
        "text": text,
        "entities": [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}],
    }
    return h.make.update(message=message)


def group_press(h: BotHarness, user: TgUser, data: str) -> Update:
    query = {
        "id": f"gi{next(_ids)}",
        "from": user.to_json(),
        "chat_instance": "office-chat",
        "data": data,
        "message": {
            "message_id": next(_ids),
            "date": int(h.clock.now().timestamp()),
            "chat": _group(),
            "from": h.app.bot.bot.to_dict(),
            "text": "📋 分流队列",
        },
    }
    return h.make.update(callback_query=query)


async def file_case(h: BotHarness) -> Case:
    draft = ComplaintDraft(
        description="区政务中心3号窗口工作人员态度恶劣，材料齐全还让我跑了三趟。",
        area="conduct",
        area_auto="conduct",
        confidence=0.9,
        target_text="3号窗口的工作人员",
        anonymous=False,
        phone=PHONE,
    )
    filed = await h.deps.services.complaints.file(CITIZEN.id, draft)
    assert filed.case.id is not None
    return filed.case


def identity_in(calls: list[RecordedCall]) -> list[str]:
    """Every trace of the complainant in what the bot sent."""
    found = []
    for call in calls:
        sent = str(call.params)
        for needle in (PHONE, PHONE.removeprefix("+86"), str(CITIZEN.id)):
            if needle in sent:
                found.append(f"{call.method}: {needle}")
    return found


async def test_the_office_card_in_the_office_group_shows_no_identity_and_links_to_the_private_chat(
    harness_factory: HarnessFactory,
) -> None:
    async with harness_factory(office_chat_id=OFFICE_CHAT, office_admin_ids=str(OFFICE.id)) as h:
        case = await file_case(h)

        pressed = await h.send(group_press(h, OFFICE, f"of:view:{case.id}"))
        asked = await h.send(group_command(h, OFFICE, f"/case_office {case.tracking_no}"))

        for calls in (pressed, asked):
            assert identity_in(calls) == []
            card = h.last_text(calls)
            assert case.tracking_no in card
            assert h.t("zh", "privacy.card_identity_elsewhere") in card
            link = f"https://t.me/{BOT_USERNAME}?start=oc{case.id}"
            markup = [c for c in calls if c.reply_markup is not None][-1].reply_markup
            assert markup is not None
            urls = [b.get("url") for row in markup["inline_keyboard"] for b in row]
            assert link in urls
            # the office's buttons are all still there
            data = [b.get("callback_data") for row in markup["inline_keyboard"] for b in row]
            assert f"of:areas:{case.id}" in data

        # the link opens the whole card in the member's private chat
        opened = await h.command(OFFICE, "start", f"oc{case.id}")
        [card] = [c for c in opened if c.chat_id == OFFICE.id and c.text and case.tracking_no in c.text]
        assert PHONE in (card.text or "") and str(CITIZEN.id) in (card.text or "")
        assert h.t("zh", "privacy.card_identity_elsewhere") not in (card.text or "")

        # and in the private chat the card's own button shows it too, with no link to itself
        viewed = await h.send(h.make.callback(OFFICE, f"of:view:{case.id}", message_id=1, message_text="x"))
        assert identity_in(viewed) != []


async def test_the_private_card_link_is_refused_to_anybody_but_the_office(
    harness_factory: HarnessFactory,
) -> None:
    async with harness_factory(office_chat_id=OFFICE_CHAT, office_admin_ids=str(OFFICE.id)) as h:
        case = await file_case(h)
        stranger = TgUser(100_777, "李四", "zh-hans")
        calls = await h.command(stranger, "start", f"oc{case.id}")
        assert identity_in(calls) == []
        assert h.t("zh", "office.only") in h.texts(calls)


async def test_the_office_notice_of_an_error_names_no_chat_user_or_message(
    harness_factory: HarnessFactory, caplog: pytest.LogCaptureFixture
) -> None:
    async def boom(update: Update, context: BotContext) -> None:
        raise RuntimeError(f"lookup failed for {PHONE}")

    async with harness_factory(office_chat_id=OFFICE_CHAT) as h:
        h.app.add_handler(CommandHandler("boom", boom), group=-1)
        with caplog.at_level(logging.ERROR, logger="bot.handlers.errors"):
            calls = await h.command(CITIZEN, "boom")

        [notice] = h.sent_to(OFFICE_CHAT, calls)
        text = notice.text or ""
        assert "RuntimeError" in text and "boom" in text and "message" in text
        assert identity_in([notice]) == []
        assert CITIZEN.first_name not in text and str(CITIZEN.id) not in text
        ref = re.search(r"E-[0-9a-f]{8}", text)
        assert ref, text
        [record] = [r for r in caplog.records if ref.group(0) in r.getMessage()]
        assert str(CITIZEN.id) not in record.getMessage()
        assert "private chat" in record.getMessage()
