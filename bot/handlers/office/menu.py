"""The office's menu and ``/office``: the commands an office member has, set for their chat."""

from __future__ import annotations

import logging
from typing import Final

from telegram import Bot, BotCommand, BotCommandScopeChat, BotCommandScopeChatMember, Chat, Update
from telegram.constants import ChatType
from telegram.error import TelegramError

from bot.commands import CITIZEN_COMMANDS, bot_commands
from bot.context import BotContext, Deps, roles_of
from bot.handlers.join import LIAISON_EXTRA
from bot.handlers.office.access import office_only
from bot.handlers.staff_ui import plain
from bot.i18n import Html
from bot.language import user_language
from bot.replies import reply
from core.roles import Roles

log = logging.getLogger(__name__)


# The office's menu: the citizen's /start first, a liaison's /inbox if they are one too, the
# office's commands (descriptions: office.menu.<name>), then the rest of the citizen's.
OFFICE_COMMANDS: Final = (
    "office",
    "triage",
    "case_office",
    "finding",
    "supervise",
    "spotcheck",
    "broadcast",
    "notice",
    "accountability",
    "practice",  # 推介典型 (issue 14)
    "practices",
    "measures",  # 长效机制 (issue 14)
    "review",  # 复核检查 and 验收 (issue 14)
    "review_status",
    "accept",
    "accept_campaign",
    "members",
    "failed",
    "invite",
    "remove_liaison",
    "leaders",
    "remove_leader",
    "launch",
    "phase",
    "reports",
    "digest",
    "scoreboard",
    "export",
    "classifier",  # where the classifier and the office disagree (issue 14)
    "web",
)


def office_menu(deps: Deps, lang: str, roles: Roles) -> list[BotCommand]:
    catalogue = deps.catalogue
    head = bot_commands(catalogue, lang, CITIZEN_COMMANDS[:1])
    liaison = bot_commands(catalogue, lang, LIAISON_EXTRA) if roles.liaison else []
    office = [BotCommand(name, plain(catalogue.t(lang, f"office.menu.{name}"))) for name in OFFICE_COMMANDS]
    rest = bot_commands(catalogue, lang, CITIZEN_COMMANDS[1:])
    return [*head, *liaison, *office, *rest]


async def set_office_menu(bot: Bot, deps: Deps, chat: Chat, user_id: int, lang: str, roles: Roles) -> None:
    """The office menu for this member: their private chat, or (in the office chat) for them
    only there. A missing menu is cosmetic, so errors are logged."""
    scope: BotCommandScopeChat | BotCommandScopeChatMember = (
        BotCommandScopeChat(chat.id)
        if chat.type == ChatType.PRIVATE
        else BotCommandScopeChatMember(chat.id, user_id)
    )
    try:
        await bot.set_my_commands(office_menu(deps, lang, roles), scope=scope)
    except TelegramError:
        log.warning("could not set the office menu for chat %s", chat.id, exc_info=True)


async def office_start_menu(update: Update, context: BotContext) -> None:
    """/start (in a group of its own, after the greeting): an office member's chat gets the
    office menu. Says nothing: the greeting is /start's."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None or chat.type != ChatType.PRIVATE:
        return
    roles = await roles_of(context, user.id)
    if roles.office:
        lang = await user_language(update, context)
        await set_office_menu(context.bot, context.deps, chat, user.id, lang, roles)


@office_only
async def office_command(update: Update, context: BotContext, user_id: int, lang: str) -> None:
    """/office: the office's commands, and the office menu for this chat."""
    chat = update.effective_chat
    if chat is None:
        return
    deps = context.deps
    lines = [
        deps.catalogue.t(
            lang,
            "help.command_line",
            command=name,
            description=Html(deps.catalogue.t(lang, f"office.menu.{name}")),
        )
        for name in OFFICE_COMMANDS
    ]
    await reply(update, context, deps.catalogue.t(lang, "office.help", commands=Html("\n".join(lines))))
    await set_office_menu(context.bot, deps, chat, user_id, lang, await roles_of(context, user_id))
