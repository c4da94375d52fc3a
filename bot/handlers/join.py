"""Onboarding (SPEC §5): ``/join CODE`` for anyone with a code, and the office's
``/invite UNIT_ID [一把手|分管领导] [DAYS]``, ``/remove_liaison USER_ID``, ``/leaders`` and
``/remove_leader UNIT_ID 一把手|分管领导``. An invite of a leader's role binds the unit's 一把手 or
分管领导 (``core.directory.InviteRole``): they get no inbox, only the overdue cases that reach
the last rung of the ladder (``core.services.periodic``).

The rules (single use, expiry, guessing limits, who may invite) are ``InviteService``'s. Here
the office role is checked before anything else is looked at, and a liaison's command menu is
set for their chat (``BotCommandScopeChat``) when they join and dropped when they are removed.
The command line's ``invite`` (first set-up) is ``bot.cli.invite``.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from telegram import Bot, BotCommandScopeChat, Update
from telegram.error import TelegramError

from bot.case_view import CaseFormatter, unit_name
from bot.commands import CITIZEN_COMMANDS, Command, bot_commands
from bot.context import BotContext, Deps, roles_of
from bot.handlers.liaison import error_text, formatter
from bot.i18n import Catalogue, Html
from bot.language import remember_user, user_language
from bot.replies import reply
from core.directory import LEADER_ROLES, InviteRole, parse_invite_role
from core.errors import DomainError
from core.services.invites import DEFAULT_TTL, MAX_TTL, role_key
from core.text import strip_controls
from core.unit_lookup import find_unit

log = logging.getLogger(__name__)

# A liaison keeps the citizen commands (they may complain too) and gets the inbox.
LIAISON_EXTRA: tuple[Command, ...] = (
    Command("inbox"),
    Command("web"),
    Command("measures"),  # 长效机制 (issue 14): the unit's long-term measures
    Command("measure"),
    Command("my_review"),  # 复核检查 and 验收 (issue 14): the unit's findings and acceptance
)
MAX_ECHOED = 40


def liaison_commands() -> tuple[Command, ...]:
    """The liaison's menu: the citizen menu (read now, so commands added there show up here)
    with the liaison's commands after /start."""
    head, rest = CITIZEN_COMMANDS[:1], CITIZEN_COMMANDS[1:]
    return (*head, *LIAISON_EXTRA, *rest)


async def set_liaison_menu(bot: Bot, catalogue: Catalogue, chat_id: int, lang: str) -> None:
    """The liaison menu for this chat only; a missing menu is cosmetic, so errors are logged."""
    try:
        await bot.set_my_commands(
            bot_commands(catalogue, lang, liaison_commands()), scope=BotCommandScopeChat(chat_id)
        )
    except TelegramError:
        log.warning("could not set the liaison menu for chat %s", chat_id, exc_info=True)


async def drop_chat_menu(bot: Bot, chat_id: int) -> None:
    """Back to the default (citizen) menu for a removed liaison."""
    try:
        await bot.delete_my_commands(scope=BotCommandScopeChat(chat_id))
    except TelegramError:
        log.warning("could not reset the menu of chat %s", chat_id, exc_info=True)


def _short(text: str) -> str:
    return text if len(text) <= MAX_ECHOED else text[: MAX_ECHOED - 1] + "…"


# -- /join ----------------------------------------------------------------------------------------


async def join_command(update: Update, context: BotContext) -> None:
    """/join CODE: binds the user to the code's unit and gives them the liaison menu."""
    user = update.effective_user
    chat = update.effective_chat
    if user is None or chat is None:
        return
    deps = context.deps
    lang = await remember_user(context, user, chat.id)
    code = "".join(context.args or [])
    if not code:
        await reply(update, context, deps.catalogue.t(lang, "join.usage"))
        return
    try:
        joined = await deps.services.invites.join(user.id, code, display_name=strip_controls(user.full_name))
    except DomainError as error:
        await reply(update, context, error_text(deps, lang, error))
        return
    deps.wake_sender()
    unit = unit_name(deps.plan, lang, joined.unit_id)
    if joined.role.leader:
        role = deps.catalogue.t(lang, role_key(joined.role))
        await reply(update, context, deps.catalogue.t(lang, "join.joined_leader", unit=unit, role=role))
        return
    text = deps.catalogue.t(lang, "join.joined", unit=unit)
    if joined.previous_unit_id is not None:
        previous = unit_name(deps.plan, lang, joined.previous_unit_id)
        text += "\n" + deps.catalogue.t(lang, "join.joined_moved", previous=previous)
    await reply(update, context, text)
    await set_liaison_menu(context.bot, deps.catalogue, chat.id, lang)


# -- office: /invite and /remove_liaison ---------------------------------------------------------


async def _office_or_refuse(update: Update, context: BotContext, lang: str) -> bool:
    user = update.effective_user
    if user is None:
        return False
    if (await roles_of(context, user.id)).office:
        return True
    await reply(update, context, context.deps.catalogue.t(lang, "join.office_only"))
    return False


def _unit_list(deps: Deps, lang: str) -> Html:
    lines = [
        deps.catalogue.t(lang, "join.unit_line", unit_id=u.id, name=unit_name(deps.plan, lang, u.id))
        for u in deps.plan.units
    ]
    return Html("\n".join(lines))


async def invite_command(update: Update, context: BotContext) -> None:
    """/invite UNIT_ID [一把手|分管领导] [DAYS] (office): a fresh single-use code for the unit's
    liaison (or, with a role word, its 一把手 or 分管领导), shown once."""
    user = update.effective_user
    if user is None:
        return
    deps = context.deps
    lang = await user_language(update, context)
    if not await _office_or_refuse(update, context, lang):
        return
    args = list(context.args or [])
    days_text = args.pop() if len(args) > 1 and args[-1].isdigit() else None
    role = InviteRole.LIAISON
    if len(args) > 1 and (parsed := parse_invite_role(args[-1])) is not None:
        role = parsed
        args.pop()
    typed = " ".join(args).strip()
    if not typed:
        usage = deps.catalogue.t(
            lang,
            "join.invite_usage",
            units=_unit_list(deps, lang),
            days=DEFAULT_TTL.days,
            max_days=MAX_TTL.days,
        )
        await reply(update, context, usage)
        return
    unit_id = find_unit(deps.plan, typed)
    if unit_id is None:
        text = deps.catalogue.t(lang, "join.error_unit", unit_id=_short(typed))
        await reply(update, context, text + "\n\n" + _unit_list(deps, lang))
        return
    ttl = timedelta(days=int(days_text)) if days_text is not None and len(days_text) <= 4 else DEFAULT_TTL
    try:
        invite = await deps.services.invites.create(user.id, unit_id, ttl, role=role)
    except DomainError as error:
        await reply(update, context, error_text(deps, lang, error))
        return
    fmt: CaseFormatter = formatter(deps, lang)
    text = deps.catalogue.t(
        lang,
        "join.invite_created" if not role.leader else "join.invite_created_leader",
        unit=unit_name(deps.plan, lang, unit_id),
        code=invite.code,
        expires=Html(fmt.format_datetime(invite.expires_at)),
        bot=context.bot.username or "",
        role=deps.catalogue.t(lang, role_key(role)),
    )
    await reply(update, context, text)


async def remove_liaison_command(update: Update, context: BotContext) -> None:
    """/remove_liaison USER_ID (office): ends the binding; the user is told and loses the menu."""
    user = update.effective_user
    if user is None:
        return
    deps = context.deps
    lang = await user_language(update, context)
    if not await _office_or_refuse(update, context, lang):
        return
    typed = " ".join(context.args or []).strip()
    if not typed.isdigit() or len(typed) > 15:
        await reply(update, context, deps.catalogue.t(lang, "join.remove_usage"))
        return
    liaison_id = int(typed)
    try:
        unit_id = await deps.services.invites.remove_liaison(user.id, liaison_id)
    except DomainError as error:
        await reply(update, context, error_text(deps, lang, error))
        return
    deps.wake_sender()
    await drop_chat_menu(context.bot, liaison_id)
    text = deps.catalogue.t(
        lang, "join.removed_done", user_id=liaison_id, unit=unit_name(deps.plan, lang, unit_id)
    )
    await reply(update, context, text)


# -- office: /leaders and /remove_leader ---------------------------------------------------------


async def leaders_command(update: Update, context: BotContext) -> None:
    """/leaders (office): each unit's bound 一把手 and 分管领导, and who is still to be invited."""
    user = update.effective_user
    if user is None:
        return
    deps = context.deps
    lang = await user_language(update, context)
    if not await _office_or_refuse(update, context, lang):
        return
    try:
        leaders = await deps.services.invites.leaders(user.id)
    except DomainError as error:
        await reply(update, context, error_text(deps, lang, error))
        return
    bound = {(x.unit_id, x.role): x for x in leaders}
    t = deps.catalogue.t
    lines = [t(lang, "join.leaders_title")]
    missing = 0
    for unit in deps.plan.units:
        cells = []
        for role in LEADER_ROLES:
            holder = bound.get((unit.id, role))
            if holder is None:
                missing += 1
                cells.append(t(lang, "join.leaders_cell_missing", role=t(lang, role_key(role))))
            else:
                cells.append(
                    t(
                        lang,
                        "join.leaders_cell",
                        role=t(lang, role_key(role)),
                        name=holder.name or str(holder.user_id),
                        user_id=holder.user_id,
                    )
                )
        lines.append(
            t(
                lang,
                "join.leaders_line",
                name=unit_name(deps.plan, lang, unit.id),
                cells=Html("；".join(cells) if lang == "zh" else "; ".join(cells)),
            )
        )
    lines.append(t(lang, "join.leaders_footer", missing=missing))
    await reply(update, context, Html("\n".join(lines)))


async def remove_leader_command(update: Update, context: BotContext) -> None:
    """/remove_leader UNIT_ID 一把手|分管领导 (office): ends that binding; the holder is told."""
    user = update.effective_user
    if user is None:
        return
    deps = context.deps
    lang = await user_language(update, context)
    if not await _office_or_refuse(update, context, lang):
        return
    args = list(context.args or [])
    role = parse_invite_role(args[-1]) if len(args) > 1 else None
    unit_id = find_unit(deps.plan, " ".join(args[:-1]).strip()) if role is not None else None
    if role is None or not role.leader or unit_id is None:
        await reply(update, context, deps.catalogue.t(lang, "join.remove_leader_usage"))
        return
    try:
        ended = await deps.services.invites.end_leader(user.id, unit_id, role)
    except DomainError as error:
        await reply(update, context, error_text(deps, lang, error))
        return
    deps.wake_sender()
    text = deps.catalogue.t(
        lang,
        "join.leader_removed_done",
        user_id=ended.user_id,
        unit=unit_name(deps.plan, lang, unit_id),
        role=deps.catalogue.t(lang, role_key(role)),
    )
    await reply(update, context, text)
