"""Driving the demo chat page as a person would: pick a persona, type, press buttons.

Every action waits for the bot's answer to the one before: a button is pressed only on a
message (or keyboard) the page showed after the last action, as a person reads before pressing
(an old message's button with the same label would otherwise be pressed again)."""

from __future__ import annotations

from typing import Any

from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

STEP = 30.0  # seconds for any one answer of the bot
SHOWN = "#messages .msg.bot, #keyboard"


class ChatPage:
    def __init__(self, driver: Any, base: str) -> None:
        self.driver, self.base = driver, base
        self.mark = 0  # the newest log entry on the page at the last action

    def _wait(self, condition: Any, message: str) -> Any:
        return WebDriverWait(self.driver, STEP, ignored_exceptions=(StaleElementReferenceException,)).until(
            condition, message
        )

    def open(self, persona: str) -> None:
        self.driver.get(f"{self.base}/chat/#{persona}")
        self._wait(
            lambda d: d.find_element(By.ID, "chat").get_attribute("data-persona") == persona,
            f"persona {persona} not shown",
        )
        self.mark = 0  # nothing done here yet: all the page shows is new to the person

    def _mark(self) -> None:
        seqs = [
            int(e.get_attribute("data-seq") or 0) for e in self.driver.find_elements(By.CSS_SELECTOR, SHOWN)
        ]
        self.mark = max(seqs, default=0)

    def say(self, text: str) -> None:
        self._mark()
        self.driver.find_element(By.ID, "text").send_keys(text)
        self.driver.find_element(By.ID, "send").click()

    def wait_text(self, needle: str) -> WebElement:
        """The newest bot message since the last action that contains ``needle``."""

        def found(d: Any) -> WebElement | bool:
            for element in reversed(d.find_elements(By.CSS_SELECTOR, "#messages .msg.bot")):
                if int(element.get_attribute("data-seq") or 0) > self.mark and needle in element.text:
                    return element
            return False

        return self._wait(found, f"no bot message containing {needle!r}")

    def press(self, label: str) -> None:
        """Press the button labelled ``label`` on what the bot showed since the last action."""

        def button(d: Any) -> WebElement | bool:
            for holder in reversed(d.find_elements(By.CSS_SELECTOR, SHOWN)):
                if int(holder.get_attribute("data-seq") or 0) <= self.mark:
                    continue
                for b in holder.find_elements(By.CSS_SELECTOR, "button"):
                    if b.text.strip() == label:
                        return b
            return False

        found = self._wait(button, f"no new button {label!r}")
        self._mark()
        found.click()
