"""The command menus (SPEC §8): which commands each role sees, described from the catalogue.

This table drives both Telegram's command menu (``setMyCommands``) and ``/help``, so a command
added here shows up in both. Liaison and office commands get per-chat scopes when those roles
are bound (later issues add ``LIAISON_COMMANDS`` and ``OFFICE_COMMANDS`` next to these).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from telegram import Bot, BotCommand, BotCommandScopeDefault
from telegram.error import TelegramError

from bot.i18n import DEFAULT_LANG, LANGUAGES, Catalogue, Html

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Command:
    name: str  # lower case, as Telegram requires

    @property
    def description_key(self) -> str:
        return f"command.{self.name}"


# In menu order.
CITIZEN_COMMANDS: tuple[Command, ...] = (
    Command("start"),
    Command("new"),
    Command("my"),
    Command("case"),
    Command("stats"),
    Command("help"),
    Command("lang"),
    Command("forget"),  # issue 15: a citizen's right to erasure, where they look for commands
    Command("cancel"),
)


def bot_commands(catalogue: Catalogue, lang: str, commands: Sequence[Command]) -> list[BotCommand]:
    return [BotCommand(c.name, catalogue.t(lang, c.description_key)) for c in commands]


def help_lines(catalogue: Catalogue, lang: str, commands: Sequence[Command]) -> str:
    lines = []
    for c in commands:
        description = Html(catalogue.t(lang, c.description_key))
        lines.append(catalogue.t(lang, "help.command_line", command=c.name, description=description))
    return "\n".join(lines)


async def set_default_menus(bot: Bot, catalogue: Catalogue) -> None:
    """The citizen menu for everybody: without a language code (users whose Telegram speaks
    neither language get the default) and once per catalogue language."""
    targets: list[tuple[str | None, str]] = [(None, DEFAULT_LANG)] + [(lang, lang) for lang in LANGUAGES]
    for language_code, lang in targets:
        try:
            await bot.set_my_commands(
                bot_commands(catalogue, lang, CITIZEN_COMMANDS),
                scope=BotCommandScopeDefault(),
                language_code=language_code,
            )
        except TelegramError:
            # a missing menu is cosmetic; the bot still works, so don't refuse to start
            log.warning("setMyCommands failed for language %s", language_code or "default", exc_info=True)
