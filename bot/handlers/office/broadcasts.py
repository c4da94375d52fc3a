"""The office speaking to the liaisons, and who is in the office (SPEC §6): ``/broadcast``
(shown back first, sent on the button) and ``/members`` with its remove buttons."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Final

from telegram import BotCommandScopeChatMember, InlineKeyboardMarkup, Update
from telegram.error import TelegramError

from bot import pending_input
from bot.case_view import unit_name
from bot.context import BotContext, Deps, roles_of
from bot.error_replies import error_text
from bot.handlers.join import drop_chat_menu, find_unit, set_liaison_menu
from bot.handlers.office.access import command_text, office_only
from bot.handlers.staff_ui import alert, button, drop_buttons, formatter, plain, replace_or_send
from bot.i18n import Html, language_for
from bot.language import stored_language
from bot.pending_input import Question
from bot.replies import reply
from core.campaigns import campaign_by_id
from core.directory import OfficeMember
from core.errors import DomainError, NotFound
from core.services.office import MAX_BROADCAST
from core.tracking import parse_tracking_no

log = logging.getLogger(__name__)

MEMBER: Final = re.compile(r"of:member:remove:([1-9][0-9]{0,14})", re.ASCII)
_USER_ID = re.compile(r"[1-9][0-9]{0,14}", re.ASCII)
BROADCAST: Final = "of.broadcast"  # the pending_input question: a preview waiting for its button


@office_only
async def broadcast_command(update: Update, context: BotContext, user_id: int, lang: str) -> None:
    """/broadcast [UNIT] TEXT: shown back with a send button (to every liaison, or the unit's)."""
    chat = update.effective_chat
    if chat is None:
        return
    deps = context.deps
    typed = command_text(update)
    head = typed.split(maxsplit=1)
    unit_id = find_unit(deps.plan, head[0]) if head else None
    text = (head[1] if len(head) > 1 else "") if unit_id is not None else typed
    if not text.strip() or context.user_data is None:
        await reply(update, context, deps.catalogue.t(lang, "office.broadcast_usage", limit=MAX_BROADCAST))
        return
    if len(text) > MAX_BROADCAST:
        await reply(
            update,
            context,
            deps.catalogue.t(lang, "office.broadcast_too_long", limit=MAX_BROADCAST, length=len(text)),
        )
        return
    pending_input.ask(context, BROADCAST, chat.id, text=text, unit_id=unit_id)
    to = (
        unit_name(deps.plan, lang, unit_id)
        if unit_id
        else deps.catalogue.t(lang, "office.broadcast_everyone")
    )
    preview = deps.catalogue.t(lang, "office.broadcast_preview", to=to, text=text)
    markup = InlineKeyboardMarkup(
        [
            [
                button(deps, lang, "office.button_send", "of:broadcast:send"),
                button(deps, lang, "office.button_cancel", "of:cancel"),
            ]
        ]
    )
    await reply(update, context, preview, reply_markup=markup)


async def send_broadcast(update: Update, context: BotContext, user_id: int, lang: str) -> None:
    """``of:broadcast:send``: the broadcast shown for confirmation in this chat, unless it
    lapsed."""
    query = update.callback_query
    chat = update.effective_chat
    assert query is not None
    deps = context.deps
    shown = pending_input.current(context, (BROADCAST,))
    text, unit_id = (shown.get("text"), shown.get("unit_id")) if shown is not None else (None, None)
    same_chat = shown is not None and chat is not None and shown.chat_id == chat.id
    if not (same_chat and isinstance(text, str) and (unit_id is None or isinstance(unit_id, str))):
        await alert(update, deps.catalogue.t(lang, "fallback.stale_button"))
        return
    pending_input.drop(context, "answered")
    sent = await deps.services.office.broadcast(user_id, text, unit_id)
    deps.wake_sender()
    await query.answer()
    await drop_buttons(query.message)
    await reply(update, context, deps.catalogue.t(lang, "office.broadcast_done", count=sent.recipients))


async def cancel_broadcast(update: Update, context: BotContext, lang: str) -> None:
    """``of:cancel``: the broadcast shown (or the question asked) is dropped."""
    query = update.callback_query
    assert query is not None
    pending_input.drop(context, "cancelled")
    await query.answer(plain(context.deps.catalogue.t(lang, "office.cancelled")))
    await drop_buttons(query.message)


def campaign_label(deps: Deps, lang: str, campaign: str) -> str:
    """A sub-campaign's name in ``lang`` (its id when the plan no longer has it)."""
    sub = campaign_by_id(deps.plan.sub_campaigns, campaign)
    if sub is None:
        return campaign
    return sub.name_en if lang == "en" and sub.name_en else sub.name


def _member_lines(members: Sequence[OfficeMember]) -> list[tuple[int, datetime, str]]:
    return [(m.user_id, m.added_at, m.campaign) for m in members]


def render_members(
    deps: Deps, lang: str, admins: Sequence[int], added: Sequence[tuple[int, datetime, str]]
) -> tuple[str, InlineKeyboardMarkup | None]:
    fmt = formatter(deps, lang)
    lines = [fmt.t("office.members_title")]
    lines.extend(fmt.t("office.member_admin", user_id=user_id) for user_id in admins)
    for user_id, at, campaign in added:
        line = fmt.t("office.member_added", user_id=user_id, since=Html(fmt.format_datetime(at)))
        if campaign:
            line += fmt.t("office.member_campaign", campaign=campaign_label(deps, lang, campaign))
        lines.append(line)
    lines.append(fmt.t("office.members_usage"))
    rows = [
        [button(deps, lang, "office.button_remove_member", f"of:member:remove:{user_id}", user_id=user_id)]
        for user_id, _, _ in added
    ]
    return "\n".join(lines), InlineKeyboardMarkup(rows) if rows else None


@office_only
async def members_command(update: Update, context: BotContext, user_id: int, lang: str) -> None:
    """/members, /members add USER_ID [CAMPAIGN], /members remove USER_ID. CAMPAIGN: the id of a
    street's or township's campaign (the plan's [[sub_campaigns]]) whose office the new member
    joins; without it, the adding member's own office."""
    deps = context.deps
    args = list(context.args or [])
    service = deps.services.office
    try:
        if args:
            verb = args[0].lower()
            well_formed = (len(args) == 2 or (len(args) == 3 and verb == "add")) and verb in ("add", "remove")
            if not well_formed or not _USER_ID.fullmatch(args[1]):
                await reply(update, context, deps.catalogue.t(lang, "office.members_usage"))
                return
            member_id = int(args[1])
            if verb == "add":
                await service.add_member(user_id, member_id, args[2] if len(args) == 3 else None)
                deps.wake_sender()
                await reply(
                    update, context, deps.catalogue.t(lang, "office.member_added_done", user_id=member_id)
                )
            else:
                await service.remove_member(user_id, member_id)
                deps.wake_sender()
                await _reset_menu(context, member_id)
                await reply(
                    update, context, deps.catalogue.t(lang, "office.member_removed_done", user_id=member_id)
                )
            return
        members = await service.members(user_id)
    except DomainError as error:
        await reply(update, context, error_text(deps, lang, error))
        return
    text, markup = render_members(deps, lang, members.admins, _member_lines(members.added))
    await reply(update, context, text, reply_markup=markup)


async def remove_member(update: Update, context: BotContext, user_id: int, lang: str, member_id: int) -> None:
    query = update.callback_query
    assert query is not None
    deps = context.deps
    await deps.services.office.remove_member(user_id, member_id)
    deps.wake_sender()
    await _reset_menu(context, member_id)
    members = await deps.services.office.members(user_id)
    # answered after the last read that can fail: a query takes one answer
    await query.answer(plain(deps.catalogue.t(lang, "office.member_removed_done", user_id=member_id)))
    text, markup = render_members(deps, lang, members.admins, _member_lines(members.added))
    await replace_or_send(update, context, text, markup)


async def _reset_menu(context: BotContext, user_id: int) -> None:
    """A removed member loses the office menu: their private chat goes back to the liaison's
    or the citizen's, and their own menu in the office chat goes."""
    roles = await roles_of(context, user_id)
    if roles.liaison:
        lang = language_for(await stored_language(context, user_id), None)
        await set_liaison_menu(context.bot, context.deps.catalogue, user_id, lang)
    else:
        await drop_chat_menu(context.bot, user_id)
    office_chat = context.deps.settings.office_chat_id
    if office_chat is not None:
        try:
            await context.bot.delete_my_commands(scope=BotCommandScopeChatMember(office_chat, user_id))
        except TelegramError:
            log.info("could not reset the office-chat menu of %s", user_id, exc_info=True)


QUESTIONS: Final = (Question(BROADCAST, None, "office.cancelled"),)


_POSITIVE = frozenset({"正面", "表扬", "positive", "good", "+"})
_NEGATIVE = frozenset({"反面", "批评", "negative", "bad", "-"})


@office_only
async def notice_command(update: Update, context: BotContext, user_id: int, lang: str) -> None:
    """/notice NUMBER 反面|正面 [UNIT] TEXT: 典型案件通报 to every liaison (or one unit's). The
    notice names the case, its area and handling units and carries the office's words, never
    the complainant nor the citizen's text."""
    deps = context.deps
    parts = command_text(update).split(maxsplit=3)
    usage = deps.catalogue.t(lang, "office.case_notice_usage", limit=MAX_BROADCAST)
    if len(parts) < 3 or parts[1].casefold() not in _POSITIVE | _NEGATIVE:
        await reply(update, context, usage)
        return
    positive = parts[1].casefold() in _POSITIVE
    unit_id = find_unit(deps.plan, parts[2])
    text = parts[3] if unit_id is not None and len(parts) > 3 else " ".join(parts[2:])
    if unit_id is not None and len(parts) == 3:
        await reply(update, context, usage)
        return
    try:
        tracking_no = str(parse_tracking_no(parts[0][:40], lenient=True))
        found = await deps.services.office.case_by_number(user_id, tracking_no)
        assert found.id is not None
        sent = await deps.services.office.notice_case(
            user_id, found.id, positive=positive, text=text, unit_id=unit_id
        )
    except NotFound:
        await reply(update, context, deps.catalogue.t(lang, "office.case_not_found"))
        return
    except DomainError as error:
        await reply(update, context, error_text(deps, lang, error))
        return
    deps.wake_sender()
    to = unit_name(deps.plan, lang, unit_id) if unit_id else deps.catalogue.t(lang, "office.case_notice_all")
    await reply(
        update,
        context,
        deps.catalogue.t(
            lang, "office.case_notice_sent", tracking_no=tracking_no, to=to, count=sent.recipients
        ),
    )
