"""What the three rectification dialogs share: a turn (the update, the reader's language,
the section's texts and the navigation buttons), drafts as JSON in ``user_data``, the answer to
a stale button, to a timeout and to a draft that is gone, and the ConversationHandler's setup.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, fields
from datetime import date
from typing import Any, Final

from telegram import ForceReply, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import ConversationHandler
from telegram.warnings import PTBUserWarning

from bot.context import BotContext
from bot.dialogs.reporting import error_text, format_date, unit_label
from bot.language import user_language
from core.errors import DomainError

END: Final = ConversationHandler.END
TIMEOUT: Final = ConversationHandler.TIMEOUT
TIMEOUT_MINUTES: Final = 120
MAX_SHOWN: Final = 600
SECTION: Final = "rectification"


class Turn:
    """The update being handled and the reader's language: the section's texts, dates and unit
    names in that language, and the navigation buttons every step shows."""

    def __init__(self, update: Update, context: BotContext, lang: str) -> None:
        self.update, self.context, self.lang = update, context, lang
        self.catalogue = context.deps.catalogue

    def t(self, key: str, /, **params: Any) -> str:
        return self.catalogue.t(self.lang, f"{SECTION}.{key}", **params)

    def date(self, day: date) -> str:
        return format_date(self.catalogue, self.lang, day)

    def unit(self, unit_id: str) -> str:
        return unit_label(self.context.deps.plan, self.lang, unit_id)

    def error(self, err: DomainError) -> str:
        return error_text(self.catalogue, self.lang, err, SECTION)

    @property
    def user_id(self) -> int:
        user = self.update.effective_user
        assert user is not None
        return user.id

    async def send(self, text: str, markup: InlineKeyboardMarkup | ForceReply | None = None) -> None:
        chat = self.update.effective_chat
        if chat is not None:
            await self.context.bot.send_message(chat.id, text, reply_markup=markup)

    async def alert(self, text: str) -> None:
        """On a button: a pop-up; otherwise a message."""
        query = self.update.callback_query
        if query is not None:
            await query.answer(text, show_alert=True)
        else:
            await self.send(text)

    def nav(
        self, prefix: str, step: int, *, first: bool, keep: bool, confirm: bool = False
    ) -> list[list[Any]]:
        rows: list[list[InlineKeyboardButton]] = []
        if confirm:
            rows.append([InlineKeyboardButton(self.t("button_confirm"), callback_data=f"{prefix}:confirm")])
        elif keep:
            rows.append([InlineKeyboardButton(self.t("button_keep"), callback_data=f"{prefix}:keep:{step}")])
        last = (
            []
            if first
            else [InlineKeyboardButton(self.t("button_back"), callback_data=f"{prefix}:back:{step}")]
        )
        last.append(InlineKeyboardButton(self.t("button_cancel"), callback_data=f"{prefix}:cancel"))
        rows.append(last)
        return rows


async def open_turn(update: Update, context: BotContext) -> Turn:
    return Turn(update, context, await user_language(update, context))


def short(text: str) -> str:
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 1] + "…"


def with_note(note: str, text: str) -> str:
    return f"{note}\n\n{text}" if note else text


def button_parts(update: Update) -> tuple[str, str | None]:
    """(action, argument) of ``prefix:action[:argument...]``."""
    data = (update.callback_query.data if update.callback_query else None) or ""
    parts = data.split(":", 2)
    return (parts[1] if len(parts) > 1 else ""), (parts[2] if len(parts) > 2 else None)


def load_draft(cls: type[Any], context: BotContext, key: str) -> Any:
    data = (context.user_data or {}).get(key)
    if not isinstance(data, dict):
        return None
    known = {f.name for f in fields(cls)}
    try:
        return cls(**{k: v for k, v in data.items() if k in known})
    except TypeError:
        return None


def drop_draft(context: BotContext, key: str) -> None:
    if context.user_data is not None:
        context.user_data.pop(key, None)


def save_draft(context: BotContext, key: str, draft: Any) -> None:
    if context.user_data is not None:
        context.user_data[key] = asdict(draft)


async def stale_button(update: Update, context: BotContext) -> None:
    turn = await open_turn(update, context)
    await turn.alert(turn.t("stale_button"))


def timed_out_for(key: str) -> Any:
    async def timed_out(update: Update, context: BotContext) -> None:
        """No answer in time: the draft is dropped and its author told."""
        had = (context.user_data or {}).get(key) is not None
        drop_draft(context, key)
        user = update.effective_user
        if user is not None:
            context.application.mark_data_for_update_persistence(user_ids=user.id)
        if had:
            turn = await open_turn(update, context)
            await turn.send(turn.t("timeout", minutes=TIMEOUT_MINUTES))

    return timed_out


async def lost(turn: Turn, key: str) -> int:
    drop_draft(turn.context, key)
    await turn.send(turn.t("lost"))
    return END


def quiet_conversation(**kwargs: Any) -> ConversationHandler[BotContext]:
    """A ``ConversationHandler`` built without python-telegram-bot's per_message warning."""
    with warnings.catch_warnings():
        # per_message=False on purpose: text and buttons share one conversation per user; the
        # step in each button's data ties it to the question it was shown with
        warnings.filterwarnings("ignore", message=".*per_message=False.*", category=PTBUserWarning)
        return ConversationHandler(**kwargs)
