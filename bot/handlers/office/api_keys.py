"""``/apikey new NAME | list | revoke ID`` (office): the keys partner systems (the 12345
hotline, a city portal) present to the Open311 API (web/open311, core.services.api_keys).

A new key is shown once and only in a private chat: a key posted in the office group would
stay in every member's history. Listing and revoking work wherever the office works.
"""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatType

from bot.context import BotContext
from bot.error_replies import error_text
from bot.handlers.office.access import command_text, office_only
from bot.handlers.staff_ui import formatter
from bot.i18n import Html
from bot.replies import reply
from core.api_keys import ApiKey
from core.errors import DomainError

_NEW = ("new", "issue")
_LIST = ("list", "ls")
_REVOKE = ("revoke",)


@office_only
async def apikey_command(update: Update, context: BotContext, user_id: int, lang: str) -> None:
    """/apikey: issue (private chat only), list or revoke the Open311 API's keys."""
    deps = context.deps
    action, _, rest = command_text(update).partition(" ")
    action, rest = action.strip().lower(), rest.strip()
    service = deps.services.api_keys
    try:
        if action in _NEW:
            chat = update.effective_chat
            if chat is None or chat.type != ChatType.PRIVATE:
                await reply(update, context, deps.catalogue.t(lang, "open311.apikey_private_only"))
                return
            issued = await service.issue(user_id, rest)
            text = deps.catalogue.t(
                lang,
                "open311.apikey_issued",
                name=issued.key.name,
                key_id=issued.key.id,
                secret=issued.secret,
            )
        elif action in _LIST:
            text = _listing(context, lang, await service.list(user_id))
        elif action in _REVOKE:
            if not (rest.isascii() and rest.isdigit() and len(rest) <= 12):
                await reply(update, context, deps.catalogue.t(lang, "open311.apikey_bad_id"))
                return
            key = await service.revoke(user_id, int(rest))
            text = deps.catalogue.t(lang, "open311.apikey_revoked", key_id=key.id, name=key.name)
        else:
            text = deps.catalogue.t(lang, "open311.apikey_usage")
    except DomainError as error:
        text = error_text(deps, lang, error)
    await reply(update, context, text)


def _listing(context: BotContext, lang: str, keys: list[ApiKey]) -> str:
    fmt = formatter(context.deps, lang)
    if not keys:
        return fmt.t("open311.apikey_list_empty")
    lines = [fmt.t("open311.apikey_list_header", count=len(keys))]
    for key in keys:
        if key.revoked_at is None:
            status = fmt.t("open311.apikey_active")
        else:
            status = fmt.t("open311.apikey_revoked_at", at=Html(fmt.format_datetime(key.revoked_at)))
        used = fmt.format_datetime(key.last_used_at) if key.last_used_at else fmt.t("open311.apikey_never")
        lines.append(
            fmt.t(
                "open311.apikey_list_item",
                key_id=key.id,
                name=key.name,
                status=Html(status),
                created=Html(fmt.format_datetime(key.created_at)),
                last_used=Html(used),
            )
        )
    return "\n".join(lines)
