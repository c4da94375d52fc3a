"""The office reviews every submitted report (rectification plans and reports, and the
self-inspection reports too) from the buttons under it in the office chat:
``rq:accept:<report_id>`` accepts at once; ``rq:back:<report_id>`` asks for the reason (a reply
to the bot's question, which reaches the bot in a group with privacy mode on) and sends it back.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

from telegram import ForceReply, Update
from telegram.error import BadRequest
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.context import BotContext, roles_of
from bot.dialogs.rectification.talk import (
    END,
    TIMEOUT,
    TIMEOUT_MINUTES,
    button_parts,
    drop_draft,
    load_draft,
    lost,
    open_turn,
    quiet_conversation,
    save_draft,
    timed_out_for,
)
from bot.dialogs.reporting import report_service
from bot.i18n import Html, escape
from core.errors import NotFound, PermissionDenied, ValidationFailed
from core.services.reports import CALLBACK_SEND_BACK, MAX_REVIEW_NOTE, AlreadyReviewed
from core.text import strip_controls

# -- the office's send-back reason ----------------------------------------------------------
REASON = 0
REVIEW_NAME: Final = "review"
REVIEW_KEY: Final = "review"


def _report_id(update: Update) -> int | None:
    _, arg = button_parts(update)
    return int(arg) if arg is not None and arg.isdigit() else None


async def _strip_buttons(context: BotContext, chat_id: int | None, message_id: int | None) -> None:
    """The review buttons have done their job: remove them so nobody presses them again."""
    if chat_id is None or message_id is None:
        return
    with contextlib.suppress(BadRequest):  # too old to edit, or already without buttons
        await context.bot.edit_message_reply_markup(chat_id, message_id, reply_markup=None)


async def review_accept(update: Update, context: BotContext) -> None:
    """rq:accept:<report_id> (office only)."""
    turn = await open_turn(update, context)
    query = update.callback_query
    report_id = _report_id(update)
    if query is None:
        return
    if report_id is None:  # the pattern let it through; the data is still not one we made
        await turn.alert(turn.t("stale_button"))
        return
    if not (await roles_of(context, turn.user_id)).office:
        await turn.alert(turn.t("review_office_only"))
        return
    try:
        reviewed = await report_service(context.deps).review(turn.user_id, report_id, accept=True)
    except (AlreadyReviewed, NotFound) as err:
        await turn.alert(turn.t("not_found") if isinstance(err, NotFound) else turn.error(err))
        return
    except PermissionDenied:
        await turn.alert(turn.t("review_office_only"))
        return
    await query.answer()
    context.deps.wake_sender()
    message = query.message
    await _strip_buttons(
        context, message.chat.id if message else None, message.message_id if message else None
    )
    report = reviewed.report
    await turn.send(
        turn.t(
            "review_accepted",
            report_id=report.id,
            kind=Html(turn.t(f"kind_{report.kind.value}")),
            unit=turn.unit(report.unit_id),
            by=_name(update),
        )
    )


def _name(update: Update) -> str:
    user = update.effective_user
    return strip_controls(user.full_name) if user is not None else ""  # no bidi tricks in names


@dataclass(slots=True)
class ReviewDraft:
    report_id: int
    chat_id: int | None = None
    message_id: int | None = None


async def send_back_start(update: Update, context: BotContext) -> int:
    """rq:back:<report_id> (office only): asks for the reason, as a reply to the question."""
    turn = await open_turn(update, context)
    query = update.callback_query
    report_id = _report_id(update)
    if query is None:
        return END
    if report_id is None:  # the pattern let it through; the data is still not one we made
        await turn.alert(turn.t("stale_button"))
        return END
    if not (await roles_of(context, turn.user_id)).office:
        await turn.alert(turn.t("review_office_only"))
        return END
    try:
        report = await report_service(context.deps).report_for_review(turn.user_id, report_id)
    except (AlreadyReviewed, NotFound) as err:
        await turn.alert(turn.t("not_found") if isinstance(err, NotFound) else turn.error(err))
        return END
    await query.answer()
    message = query.message
    draft = ReviewDraft(
        report_id=report_id,
        chat_id=message.chat.id if message else None,
        message_id=message.message_id if message else None,
    )
    save_draft(context, REVIEW_KEY, draft)
    user = update.effective_user
    assert user is not None
    mention = Html(f'<a href="tg://user?id={user.id}">{escape(user.first_name)}</a>')
    await turn.send(
        turn.t(
            "ask_send_back_reason",
            who=mention,
            report_id=report_id,
            kind=Html(turn.t(f"kind_{report.kind.value}")),
            unit=turn.unit(report.unit_id),
            max=MAX_REVIEW_NOTE,
        ),
        # in a group with privacy mode the bot only sees replies to its messages; selective:
        # only the mentioned office member gets the reply box
        ForceReply(selective=True, input_field_placeholder=turn.t("reason_placeholder")[:64]),
    )
    return REASON


async def send_back_reason(update: Update, context: BotContext) -> int:
    """The reason: the report goes back to the unit with it."""
    turn = await open_turn(update, context)
    draft: ReviewDraft | None = load_draft(ReviewDraft, context, REVIEW_KEY)
    message = update.effective_message
    if draft is None or message is None or message.text is None:
        return await lost(turn, REVIEW_KEY)
    try:
        reviewed = await report_service(context.deps).review(
            turn.user_id, draft.report_id, accept=False, reason=strip_controls(message.text)
        )
    except ValidationFailed as err:
        await turn.send(turn.error(err), ForceReply(selective=True))
        return REASON
    except (AlreadyReviewed, NotFound, PermissionDenied) as err:
        drop_draft(context, REVIEW_KEY)
        text = turn.t("review_office_only") if isinstance(err, PermissionDenied) else turn.error(err)
        await turn.send(turn.t("not_found") if isinstance(err, NotFound) else text)
        return END
    context.deps.wake_sender()
    drop_draft(context, REVIEW_KEY)
    await _strip_buttons(context, draft.chat_id, draft.message_id)
    report = reviewed.report
    await turn.send(
        turn.t(
            "review_sent_back",
            report_id=report.id,
            kind=Html(turn.t(f"kind_{report.kind.value}")),
            unit=turn.unit(report.unit_id),
            reason=report.review_note,
            by=_name(update),
        )
    )
    return END


async def send_back_cancel(update: Update, context: BotContext) -> int:
    turn = await open_turn(update, context)
    drop_draft(context, REVIEW_KEY)
    await turn.send(turn.t("review_cancelled"))
    return END


# ---------------------------------------------------------------------------------------------
# The handler


def send_back_conversation(*, persistent: bool) -> ConversationHandler[BotContext]:
    """The office's send-back reason: the office chat is a group, so the reason arrives there
    (as a reply), or in a private chat."""
    return quiet_conversation(
        entry_points=[CallbackQueryHandler(send_back_start, pattern=rf"^{CALLBACK_SEND_BACK}\d+\Z")],
        states={
            REASON: [
                MessageHandler(filters.TEXT & ~filters.COMMAND & filters.UpdateType.MESSAGE, send_back_reason)
            ],
            TIMEOUT: [TypeHandler(Update, timed_out_for(REVIEW_KEY))],
        },
        fallbacks=[CommandHandler("cancel", send_back_cancel)],
        name=REVIEW_NAME,
        persistent=persistent,
        conversation_timeout=timedelta(minutes=TIMEOUT_MINUTES),
        allow_reentry=True,
    )
