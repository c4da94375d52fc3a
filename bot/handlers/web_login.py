"""``/web`` (office members and liaisons, private chat only): a one-time link to the web
dashboard, valid for 10 minutes (core.services.web_access). ``/web off`` ends every dashboard
session of the sender, e.g. after using a shared computer.

The link is sent only in a private chat: in a group anyone who saw it within the ten minutes
could sign in as the sender. Link previews are off, so Telegram's preview fetcher never opens
it (opening it shows a sign-in button; only pressing that spends the link).
"""

from __future__ import annotations

from telegram import LinkPreviewOptions, Update
from telegram.constants import ChatType

from bot.context import BotContext
from bot.error_replies import error_text
from bot.language import user_language
from bot.replies import reply
from core.errors import DomainError

_OFF = ("off", "logout", "end", "退出")


async def web_command(update: Update, context: BotContext) -> None:
    deps = context.deps
    user = update.effective_user
    chat = update.effective_chat
    if user is None or chat is None:
        return
    lang = await user_language(update, context)
    words = (update.effective_message.text or "").split() if update.effective_message else []
    service = deps.services.web_access
    if len(words) > 1 and words[1].strip().lower() in _OFF:
        ended = await service.end_all(user.id)
        await reply(update, context, deps.catalogue.t(lang, "web_login.ended", count=ended))
        return
    if chat.type != ChatType.PRIVATE:
        await reply(update, context, deps.catalogue.t(lang, "web_login.private_only"))
        return
    try:
        issued = await service.issue_link(user.id)
    except DomainError as error:
        await reply(update, context, error_text(deps, lang, error))
        return
    url = f"{deps.settings.web_url}/login?token={issued.token}"
    key = "web_login.link_office" if issued.roles.office else "web_login.link_liaison"
    text = deps.catalogue.t(lang, key, url=url, minutes=issued.expires_minutes)
    await reply(update, context, text, link_preview_options=LinkPreviewOptions(is_disabled=True))
