"""What the staff's handlers (liaison, office, follow-up) share on screen: the case formatter
(the citizens' own), who acted and what an event says on a history line, catalogue texts made
plain for buttons and alerts, and the few ways a button's message changes."""

from __future__ import annotations

import contextlib
import html
import logging
import re
from collections.abc import Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest

from bot.case_view import CaseFormatter, unit_name
from bot.context import BotContext, Deps
from bot.handlers.cases import formatter as formatter  # one formatter for citizens and staff
from bot.replies import reply, resend_files
from core.attachments import Attachment
from core.cases import CaseEvent
from core.states import Actor

log = logging.getLogger(__name__)


def actor_name(fmt: CaseFormatter, deps: Deps, lang: str, event: CaseEvent, section: str) -> str:
    """Who acted on a history line, by unit (a liaison) or by role (``<section>.actor_<role>``)."""
    unit = event.data.get("unit")
    if event.actor is Actor.LIAISON and isinstance(unit, str) and unit:
        return unit_name(deps.plan, lang, unit)
    return fmt.t(f"{section}.actor_{event.actor.value}")


def event_text(fmt: CaseFormatter, event: CaseEvent, limit: int) -> str:
    """An event's own text on a history line (an extension request says its days), cut to
    ``limit`` characters (the whole text is kept)."""
    days = event.data.get("days")
    text = event.text.strip()
    if event.kind == "request_extension" and isinstance(days, int):
        text = plain(fmt.t("liaison.extension_detail", days=days, reason=text))
    if len(text) > limit:
        text = text[:limit].rstrip() + fmt.t("cases.card.truncated")
    return text


def plain(text: str) -> str:
    """A catalogue text for a button or a callback alert, which are not HTML."""
    return html.unescape(re.sub(r"<[^>]+>", "", text))


def button(deps: Deps, lang: str, key: str, data: str, **params: object) -> InlineKeyboardButton:
    return InlineKeyboardButton(plain(deps.catalogue.t(lang, key, **params)), callback_data=data)


async def alert(update: Update, text: str) -> None:
    """The button's answer as an alert (plain, at most the 200 characters Telegram takes)."""
    query = update.callback_query
    if query is not None:
        await query.answer(plain(text)[:200], show_alert=True)


async def replace_or_send(
    update: Update, context: BotContext, text: str, markup: InlineKeyboardMarkup | None
) -> None:
    """Edit the message the button is on; one we cannot edit gets a new message."""
    query = update.callback_query
    if query is not None and isinstance(query.message, Message) and query.message.text is not None:
        try:
            await query.edit_message_text(text, reply_markup=markup)
            return
        except BadRequest as exc:
            if "not modified" in exc.message.lower():
                return
            log.info("could not edit the message (%s); sending a new one", exc.message)
    await reply(update, context, text, reply_markup=markup)


async def drop_buttons(message: object) -> None:
    """Take the buttons off a decided or answered message, so nobody presses them again; the
    text stays readable."""
    if isinstance(message, Message):
        with contextlib.suppress(BadRequest):
            await message.edit_reply_markup(reply_markup=None)


async def send_evidence(
    update: Update, context: BotContext, lang: str, files: Sequence[Attachment], section: str
) -> None:
    """The evidence, sent again by Telegram file id (no download: the bytes never pass here),
    after the button's answer; ``section`` names the texts (``<section>.files_none``, ...)."""
    query, chat = update.callback_query, update.effective_chat
    assert query is not None and chat is not None
    catalogue = context.deps.catalogue
    await query.answer()
    if not files:
        await reply(update, context, catalogue.t(lang, f"{section}.files_none"))
        return
    failed = await resend_files(context, chat.id, files)
    if failed:
        await reply(update, context, catalogue.t(lang, f"{section}.files_failed", count=failed))
