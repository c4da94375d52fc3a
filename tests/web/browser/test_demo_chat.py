"""The demo's web chat page in real Chromium: a citizen files a complaint through the bot's
dialog by typing and pressing buttons, and gets a tracking number."""

from __future__ import annotations

import re
from typing import Any

from bot.i18n import Catalogue
from tests.web.browser.chat_page import ChatPage
from tests.web.browser.conftest import Demo

CATALOGUE = Catalogue.load()
TRACKING = re.compile(r"ZH-\d{4}-\d{6}")
CITIZEN_ZHANG = 100_101


def t(key: str) -> str:
    return CATALOGUE.t("zh", key)


def test_citizen_files_a_complaint_in_the_web_chat_and_gets_a_tracking_number(
    demo: Demo, browser: Any
) -> None:
    page = ChatPage(browser, demo.chat_base)
    page.open("citizen-li")
    page.say("区政务中心窗口的工作人员上班时间玩手机，材料要了一遍又一遍，让我跑了三趟还没办成")
    page.press(t("complaint.button.confirm_area"))
    page.press(t("complaint.button.skip"))  # the unit: not named
    page.press(t("complaint.button.skip"))  # the place
    page.press(t("complaint.button.skip"))  # the time
    page.press(t("complaint.button.skip_evidence"))
    page.press(t("complaint.button.anonymous"))  # a reply keyboard button
    page.press(t("complaint.button.submit"))
    receipt = page.wait_text("ZH-")
    number = TRACKING.search(receipt.text)
    assert number is not None, receipt.text
    # what the page shows is what the bot sent to that chat through the stand-in
    sent = demo.wait_for(100_102, lambda e: number.group() in e["text"])
    assert "已受理" in sent["text"]
    # conduct is led by 区直机关工委: its liaison, on the same page, gets the case card with
    # the description but not who filed it
    liaison = ChatPage(browser, demo.chat_base)
    liaison.open("liaison-organs_work_committee")
    card = liaison.wait_text(number.group())
    assert "玩手机" in card.text and "李四" not in card.text
