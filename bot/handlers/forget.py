"""/forget (issue 15; 个人信息保护法 §47): a citizen asks the bot to erase what it keeps about
them as a complainant.

Callback data:
    fgt:yes | fgt:no        the citizen confirms or keeps things as they are
    fgt:e:<request id>      the office: erase the open cases' link now
    fgt:k:<request id>      the office: keep it until each case is closed

Their closed cases lose their identity at once (phone, the link to them, the evidence files);
open ones are the office's to decide, and the office is told the case numbers only. A liaison
or an office member is refused: their accounts are the campaign's staff, not complainants'
data. The office's buttons check the office role on every press.
"""

from __future__ import annotations

import re
from typing import Final

from telegram import InlineKeyboardMarkup, Update

from bot.context import BotContext, roles_of
from bot.error_replies import error_text
from bot.handlers.staff_ui import alert, button, drop_buttons, plain, replace_or_send
from bot.language import user_language
from bot.replies import reply
from core.errors import DomainError
from core.retention import ForgetDecision
from core.services.retention import CALLBACK_FORGET_ERASE, CALLBACK_FORGET_KEEP

CONFIRM: Final = "fgt:yes"
DECLINE: Final = "fgt:no"
CITIZEN_PATTERN: Final = r"^fgt:(yes|no)\Z"
OFFICE_PATTERN: Final = r"^fgt:[ek]:"  # malformed ids included: they get the stale answer here
_DECISION = re.compile(r"fgt:([ek]):([1-9][0-9]{0,11})", re.ASCII)
_DECISIONS: Final = {
    CALLBACK_FORGET_ERASE[4]: ForgetDecision.ERASE_NOW,
    CALLBACK_FORGET_KEEP[4]: ForgetDecision.KEEP_UNTIL_CLOSED,
}


async def forget_command(update: Update, context: BotContext) -> None:
    """Says what would be erased and asks to confirm; staff and strangers are told why not."""
    user = update.effective_user
    if user is None:
        return
    deps = context.deps
    lang = await user_language(update, context)
    roles = await roles_of(context, user.id)
    if roles.office or roles.liaison:
        await reply(update, context, deps.catalogue.t(lang, "forget.staff"))
        return
    kept = await deps.services.retention.kept_for(user.id)
    if kept is None:
        await reply(update, context, deps.catalogue.t(lang, "forget.nothing_kept"))
        return
    closed, still_open = kept
    markup = InlineKeyboardMarkup(
        [
            [button(deps, lang, "forget.button_confirm", CONFIRM)],
            [button(deps, lang, "forget.button_decline", DECLINE)],
        ]
    )
    text = deps.catalogue.t(lang, "forget.confirm", closed=closed, open=still_open)
    await reply(update, context, text, reply_markup=markup)


async def forget_button(update: Update, context: BotContext) -> None:
    """``fgt:yes`` erases (closed cases now; open ones go to the office); ``fgt:no`` leaves
    everything as it was. Either way the buttons go."""
    query = update.callback_query
    user = update.effective_user
    if query is None or user is None:
        return
    deps = context.deps
    lang = await user_language(update, context)
    if query.data == DECLINE:
        await query.answer()
        await replace_or_send(update, context, deps.catalogue.t(lang, "forget.declined"), None)
        return
    roles = await roles_of(context, user.id)
    if roles.office or roles.liaison:
        await alert(update, deps.catalogue.t(lang, "forget.staff"))
        return
    done = await deps.services.retention.forget(user.id)
    deps.wake_sender()
    # a complaint being filed holds the shared phone in this user's draft: it goes too
    if context.user_data is not None:
        context.user_data.clear()
    await query.answer()
    if not done.known:
        await replace_or_send(update, context, deps.catalogue.t(lang, "forget.nothing_kept"), None)
        return
    lines = [deps.catalogue.t(lang, "forget.done")]
    if done.erased:
        lines.append(
            deps.catalogue.t(lang, "forget.done_closed", cases=", ".join(done.erased), evidence=done.evidence)
        )
    if done.pending:
        lines.append(deps.catalogue.t(lang, "forget.done_open", cases=", ".join(done.pending)))
    await replace_or_send(update, context, "\n\n".join(lines), None)


async def office_decision_button(update: Update, context: BotContext) -> None:
    """``fgt:e|k:<request>``: the office decides on a /forget's open cases (office role checked
    here and again in the service; a second press finds it decided)."""
    query = update.callback_query
    user = update.effective_user
    if query is None or user is None:
        return
    deps = context.deps
    lang = await user_language(update, context)
    m = _DECISION.fullmatch(query.data or "")
    if m is None:
        await alert(update, deps.catalogue.t(lang, "fallback.stale_button"))
        return
    if not (await roles_of(context, user.id)).office:
        await alert(update, deps.catalogue.t(lang, "forget.office_only"))
        return
    decision = _DECISIONS[m.group(1)]
    try:
        decided = await deps.services.retention.decide(user.id, int(m.group(2)), decision)
    except DomainError as error:
        await alert(update, error_text(deps, lang, error))
        return
    deps.wake_sender()
    if decided is None:
        await alert(update, deps.catalogue.t(lang, "forget.office_already"))
    else:
        key = f"forget.office_done_{decision.value}"
        cases = ", ".join(decided.request.cases)
        await query.answer(plain(deps.catalogue.t(lang, key, cases=cases))[:200])
    await drop_buttons(query.message)
