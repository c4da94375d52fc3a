"""One update inside the complaint dialog: the update, the user's language and their draft,
with the texts, the button data and the sending the steps and prompts use."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from telegram import InlineKeyboardMarkup, Message, ReplyKeyboardMarkup, ReplyKeyboardRemove, Update

from bot.context import BotContext, Deps
from bot.dialogs.complaint.draft import Draft
from bot.dialogs.complaint.states import CALLBACK_PREFIX, DRAFT_KEY, END, MAX_TRAIL
from core.plan import Plan

Callback = Callable[[Update, BotContext], Coroutine[Any, Any, object]]


def button_data(draft_id: str, step: int, action: str) -> str:
    return f"{CALLBACK_PREFIX}:{draft_id}:{step}:{action}"


def button_pattern(step: int, action: str) -> str:
    return rf"^{CALLBACK_PREFIX}:[0-9a-f]+:{step}:{action}(:[\w.-]+)?$"


@dataclass(slots=True)
class Turn:
    """The update being handled, the user's language and their draft."""

    update: Update
    context: BotContext
    lang: str
    draft: Draft
    arg: str | None = None  # the argument of the pressed button (pick:<arg>)
    finished: bool = False

    @property
    def deps(self) -> Deps:
        return self.context.deps

    @property
    def plan(self) -> Plan:
        return self.deps.plan

    @property
    def message(self) -> Message | None:
        return self.update.effective_message if self.update.callback_query is None else None

    @property
    def user_id(self) -> int:
        user = self.update.effective_user
        assert user is not None  # private chats only: there is always a sender
        return user.id

    def t(self, key: str, /, **params: Any) -> str:
        return self.deps.catalogue.t(self.lang, f"complaint.{key}", **params)

    def label(self, key: str) -> str:
        return self.t(f"button.{key}")

    def press(self, step: int) -> Callable[[str], str]:
        return functools.partial(button_data, self.draft.id, step)

    async def send(self, text: str, markup: InlineKeyboardMarkup | ReplyKeyboardMarkup | None = None) -> None:
        chat = self.update.effective_chat
        if chat is None:
            return
        reply_markup: InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None = markup
        if markup is None and self.draft.keyboard:
            # the identity keyboard would otherwise stay under every later message
            reply_markup = ReplyKeyboardRemove()
            self.draft.keyboard = False
        await self.context.bot.send_message(chat.id, text, reply_markup=reply_markup)

    def save(self) -> None:
        if self.finished or self.context.user_data is None:
            return
        self.draft.touched = self.deps.clock.now().isoformat()
        del self.draft.trail[:-MAX_TRAIL]
        self.context.user_data[DRAFT_KEY] = self.draft.to_json()

    def finish(self) -> int:
        """End the dialog and forget the draft."""
        self.finished = True
        if self.context.user_data is not None:
            self.context.user_data.pop(DRAFT_KEY, None)
        return END


Step = Callable[[Turn], Awaitable[object]]
