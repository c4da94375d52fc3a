"""The reasons and texts the office gives after a button or a command (SPEC §6): a reject
reason, a supervision notice, a reopen reason, an extension refused; and the ``ext:`` buttons.

The question is ``bot.pending_input``'s (kinds ``of.<what>``): in the office group the prompt
forces a reply, so the answer reaches the bot even with privacy mode on, and only a reply to
the prompt is taken there."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from telegram import ForceReply, Update
from telegram.constants import ChatType

from bot import pending_input
from bot.context import BotContext, roles_of
from bot.error_replies import error_text
from bot.handlers.office.access import ID, command_text, office_only
from bot.handlers.staff_ui import alert, drop_buttons, formatter, plain
from bot.i18n import Html
from bot.pending_input import Pending, Question
from bot.replies import reply
from core.errors import DomainError, NotFound
from core.services.office import (
    MAX_REASON,
    MAX_SUPERVISION,
    REJECTABLE_STATES,
    REOPENABLE_STATES,
    SUPERVISABLE_STATES,
)
from core.states import CaseState
from core.text import strip_controls
from core.tracking import parse_tracking_no

_EXTENSION = re.compile(rf"ext:(approve|refuse):({ID})", re.ASCII)

# What a prompt asks for, and the longest answer.
_INPUT_LIMITS: Final = {
    "reject": MAX_REASON,
    "supervise": MAX_SUPERVISION,
    "reopen": MAX_REASON,
    "ext_refuse": MAX_REASON,
}
KINDS: Final = {kind: f"of.{kind}" for kind in _INPUT_LIMITS}


async def ask_reason(
    update: Update, context: BotContext, user_id: int, lang: str, kind: str, case_id: int
) -> None:
    """Checks the case can take it now, remembers the question, and asks. In a group the
    prompt forces a reply, so the answer reaches the bot even with privacy mode on."""
    query = update.callback_query
    chat = update.effective_chat
    user = update.effective_user
    deps = context.deps
    if context.user_data is None or chat is None or user is None:
        await alert(update, deps.catalogue.t(lang, "fallback.stale_button"))
        return
    case = await deps.services.office.case(user_id, case_id)
    allowed = {
        "reject": REJECTABLE_STATES,
        "supervise": SUPERVISABLE_STATES,
        "reopen": REOPENABLE_STATES,
        "ext_refuse": frozenset({CaseState.EXTENSION_REQUESTED}),
    }[kind]
    if case.state not in allowed:
        await alert(update, deps.catalogue.t(lang, "error.invalid_transition"))
        return
    prompt_key = "extension.ask_refuse_reason" if kind == "ext_refuse" else f"office.ask_{kind}"
    text = deps.catalogue.t(lang, prompt_key, tracking_no=case.tracking_no, limit=_INPUT_LIMITS[kind])
    text += "\n" + deps.catalogue.t(lang, "office.ask_cancel_hint")
    if chat.type != ChatType.PRIVATE:
        text = (
            deps.catalogue.t(lang, "office.ask_mention", user_id=user.id, name=user.first_name) + " " + text
        )
    if query is not None:
        await query.answer()
    sent = await context.bot.send_message(chat.id, text, reply_markup=ForceReply(selective=True))
    pending_input.ask(
        context,
        KINDS[kind],
        chat.id,
        case_id=case_id,
        prompt_id=sent.message_id,
        tracking_no=case.tracking_no,
    )


async def reason_given(
    update: Update, context: BotContext, pending: Pending, text: str, lang: str
) -> Mapping[str, Any] | None:
    """The answer to the question (see the module's docstring): the office role again, then
    the service; a ``ValidationFailed`` keeps the question (``bot.pending_input``)."""
    user = update.effective_user
    deps = context.deps
    assert user is not None and pending.case_id is not None
    if not (await roles_of(context, user.id)).office:
        await reply(update, context, deps.catalogue.t(lang, "office.only"))
        return None
    case_id, tracking_no = pending.case_id, str(pending.get("tracking_no", ""))
    text = strip_controls(text)
    if pending.kind == KINDS["reject"]:
        await deps.services.office.reject(user.id, case_id, text)
        done = deps.catalogue.t(lang, "office.rejected_done", tracking_no=tracking_no)
    elif pending.kind == KINDS["supervise"]:
        await deps.services.office.supervise(user.id, case_id, text)
        done = deps.catalogue.t(lang, "office.supervised_done", tracking_no=tracking_no)
    elif pending.kind == KINDS["reopen"]:
        await deps.services.office.reopen(user.id, case_id, text)
        done = deps.catalogue.t(lang, "office.reopened_done", tracking_no=tracking_no)
    else:
        await deps.services.extensions.refuse(user.id, case_id, text)
        done = deps.catalogue.t(lang, "extension.refused_done", tracking_no=tracking_no)
    deps.wake_sender()
    await reply(update, context, done)
    return None


QUESTIONS: Final = tuple(Question(kind, reason_given, "office.cancelled") for kind in KINDS.values())


@office_only
async def extension_button(update: Update, context: BotContext, user_id: int, lang: str) -> None:
    """``ext:approve:<id>`` grants the request at once; ``ext:refuse:<id>`` asks why (the lead
    units are told the reason)."""
    query = update.callback_query
    if query is None:
        return
    deps = context.deps
    m = _EXTENSION.fullmatch(query.data or "")
    if m is None:
        await alert(update, deps.catalogue.t(lang, "fallback.stale_button"))
        return
    case_id = int(m.group(2))
    try:
        if m.group(1) == "refuse":
            await ask_reason(update, context, user_id, lang, "ext_refuse", case_id)
            return
        decided = await deps.services.extensions.approve(user_id, case_id)
    except DomainError as error:
        await alert(update, error_text(deps, lang, error))
        return
    deps.wake_sender()
    fmt = formatter(deps, lang)
    done = fmt.t(
        "extension.approved_done",
        tracking_no=decided.case.tracking_no,
        answer_due_date=Html(fmt.format_date(decided.new_due)),
    )
    await query.answer(plain(done)[:200])
    await drop_buttons(query.message)
    await reply(update, context, done)


@office_only
async def supervise_command(update: Update, context: BotContext, user_id: int, lang: str) -> None:
    """/supervise TRACKING_NO TEXT: a supervision notice to the case's lead units (without the
    text: asks for it)."""
    deps = context.deps
    typed = command_text(update)
    parts = typed.split(maxsplit=1)
    if not parts:
        await reply(update, context, deps.catalogue.t(lang, "office.supervise_usage"))
        return
    try:
        tracking_no = str(parse_tracking_no(parts[0][:40], lenient=True))
        found = await deps.services.office.case_by_number(user_id, tracking_no)
        assert found.id is not None
        if len(parts) == 1:
            await ask_reason(update, context, user_id, lang, "supervise", found.id)
            return
        case = await deps.services.office.supervise(user_id, found.id, parts[1])
    except NotFound:
        await reply(update, context, deps.catalogue.t(lang, "office.case_not_found"))
        return
    except DomainError as error:
        await reply(update, context, error_text(deps, lang, error))
        return
    deps.wake_sender()
    await reply(
        update, context, deps.catalogue.t(lang, "office.supervised_done", tracking_no=case.tracking_no)
    )
