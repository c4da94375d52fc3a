"""The unit answers a recommendation with its plan or report, ``/rectification`` or the button
under the recommendation (``rc:open:<id>``)::

    PICK (its open recommendations) → TEXT → FILE → CONFIRM
                                                    buttons rc:pick:<id>, rc:back:<step>,
                                                    rc:keep:<step>, rc:cancel, rc:confirm
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any, Final

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
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
    Turn,
    button_parts,
    drop_draft,
    load_draft,
    lost,
    open_turn,
    quiet_conversation,
    save_draft,
    short,
    stale_button,
    timed_out_for,
    with_note,
)
from bot.dialogs.reporting import error_text, file_limits, report_file, report_service
from bot.i18n import Html
from core.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from core.reports import ReportKind
from core.services.reports import (
    CALLBACK_OPEN_RECOMMENDATION,
    MAX_REPORT_TEXT,
    RecommendationView,
    ReportFile,
    ReportNotOpen,
    Step,
    check_report_file,
)
from core.text import clean_text

# -- the unit's answer dialog ---------------------------------------------------------------
PICK, TEXT, FILE, ANSWER_CONFIRM = range(4)
ANSWER_NAME: Final = "rectification"
ANSWER_KEY: Final = "rectification"
ANSWER_PREFIX: Final = "rc"
MAX_LISTED: Final = 10  # open recommendations listed at once (a unit rarely has more)


@dataclass(slots=True)
class AnswerDraft:
    step: int = PICK
    rec_id: int | None = None
    kind: str | None = None  # ReportKind value
    due: str | None = None
    text: str = ""
    file: dict[str, Any] | None = None

    def answer(self) -> str | None:
        if self.step == TEXT:
            return self.text or None
        if self.step == FILE and self.file:
            return str(self.file.get("file_name") or "")
        return None


async def answer_start(update: Update, context: BotContext) -> int:
    """/rectification: the unit's open recommendations, with a button for each one that waits
    for the unit. ``rc:open:<id>`` (the button under a recommendation): straight to it."""
    turn = await open_turn(update, context)
    query = update.callback_query
    if not (await roles_of(context, turn.user_id)).liaison:
        drop_draft(context, ANSWER_KEY)
        await turn.alert(turn.t("not_liaison"))
        return END
    if query is not None:
        action, arg = button_parts(update)
        if action == "open" and arg is not None and arg.isdigit():
            await query.answer()
            return await _pick(turn, int(arg))
        await turn.alert(turn.t("stale_button"))
        return END
    return await _list(turn)


async def _list(turn: Turn, note: str = "") -> int:
    try:
        views = await report_service(turn.context.deps).open_recommendations(turn.user_id)
    except PermissionDenied:
        await turn.send(turn.t("not_liaison"))
        return END
    if not views:
        drop_draft(turn.context, ANSWER_KEY)
        await turn.send(with_note(note, turn.t("none_open")))
        return END
    lines = [turn.t("list_header")]
    buttons: list[list[InlineKeyboardButton]] = []
    for view in views[:MAX_LISTED]:
        lines.append(_rec_line(turn, view))
        if view.may_submit is not None:
            label = turn.t(f"button_submit_{view.may_submit.value}", recommendation_id=view.recommendation.id)
            buttons.append(
                [InlineKeyboardButton(label, callback_data=f"{ANSWER_PREFIX}:pick:{view.recommendation.id}")]
            )
    if not buttons:
        drop_draft(turn.context, ANSWER_KEY)
        lines.append(turn.t("nothing_to_submit"))
        await turn.send(with_note(note, "\n\n".join(lines)))
        return END
    buttons.append([InlineKeyboardButton(turn.t("button_cancel"), callback_data=f"{ANSWER_PREFIX}:cancel")])
    save_draft(turn.context, ANSWER_KEY, AnswerDraft())
    await turn.send(with_note(note, "\n\n".join(lines)), InlineKeyboardMarkup(buttons))
    return PICK


def _rec_line(turn: Turn, view: RecommendationView) -> str:
    rec = view.recommendation
    return turn.t(
        "list_item",
        recommendation_id=rec.id,
        problems=short(rec.problems)[:200],
        plan_due=turn.date(rec.plan_due),
        report_due=turn.date(rec.report_due),
        step=Html(turn.t(f"step_{view.step.value}")),
    )


async def answer_pick(update: Update, context: BotContext) -> int | None:
    """rc:pick:<id>: the recommendation chosen from the list (ownership checked again)."""
    turn = await open_turn(update, context)
    query = update.callback_query
    _, arg = button_parts(update)
    if query is None:
        return None
    if arg is None or not arg.isdigit():
        await turn.alert(turn.t("stale_button"))
        return None
    await query.answer()
    return await _pick(turn, int(arg))


async def _pick(turn: Turn, rec_id: int) -> int:
    try:
        view = await report_service(turn.context.deps).recommendation(turn.user_id, rec_id)
    except PermissionDenied:
        drop_draft(turn.context, ANSWER_KEY)
        await turn.send(turn.t("not_liaison"))
        return END
    except NotFound:
        # another unit's recommendation, or none: the same answer, so ids learn nothing
        drop_draft(turn.context, ANSWER_KEY)
        await turn.send(turn.t("not_found"))
        return END
    if view.may_submit is None:
        drop_draft(turn.context, ANSWER_KEY)
        await turn.send(_rec_line(turn, view) + "\n\n" + turn.t(f"nothing_now_{view.step.value}"))
        return END
    assert view.due is not None and view.recommendation.id is not None
    draft = AnswerDraft(
        step=TEXT, rec_id=view.recommendation.id, kind=view.may_submit.value, due=view.due.isoformat()
    )
    intro = turn.t(
        f"answer_intro_{view.may_submit.value}",
        recommendation_id=view.recommendation.id,
        problems=short(view.recommendation.problems),
        due=turn.date(view.due),
    )
    if view.step in (Step.PLAN_REVIEW, Step.REPORT_REVIEW):
        intro += "\n\n" + turn.t("correcting")
    if report_service(turn.context.deps).today() > view.due:
        intro += "\n\n" + turn.t("late_warning", due=turn.date(view.due))
    await turn.send(intro)
    return await _ask_answer(turn, draft)


async def _ask_answer(turn: Turn, draft: AnswerDraft, note: str = "") -> int:
    save_draft(turn.context, ANSWER_KEY, draft)
    kind = draft.kind or ReportKind.RECTIFICATION_PLAN.value
    if draft.step == ANSWER_CONFIRM:
        text = turn.t(
            "answer_summary",
            kind=Html(turn.t(f"kind_{kind}")),
            recommendation_id=draft.rec_id,
            text=short(draft.text),
            file=(draft.file or {}).get("file_name") or "—",
        )
        rows = turn.nav(ANSWER_PREFIX, draft.step, first=False, keep=False, confirm=True)
        await turn.send(with_note(note, text), InlineKeyboardMarkup(rows))
        return ANSWER_CONFIRM
    if draft.step == TEXT:
        text = turn.t(f"ask_text_{kind}", max=MAX_REPORT_TEXT)
    else:
        text = turn.t(
            "ask_file", kind=Html(turn.t(f"kind_{kind}")), limits=Html(file_limits(turn.catalogue, turn.lang))
        )
    current = draft.answer()
    if current is not None:
        text += "\n\n" + turn.t("current_answer", answer=short(current))
    rows = turn.nav(ANSWER_PREFIX, draft.step, first=False, keep=current is not None)
    await turn.send(with_note(note, text), InlineKeyboardMarkup(rows))
    return draft.step


async def answer_text(update: Update, context: BotContext) -> int:
    turn = await open_turn(update, context)
    draft: AnswerDraft | None = load_draft(AnswerDraft, context, ANSWER_KEY)
    message = update.effective_message
    if draft is None or message is None or message.text is None:
        return await lost(turn, ANSWER_KEY)
    if draft.step == PICK:
        return await _list(turn, turn.t("use_buttons"))
    if draft.step != TEXT:
        note = turn.t("not_a_document") if draft.step == FILE else turn.t("use_buttons")
        return await _ask_answer(turn, draft, note)
    try:
        value = clean_text(message.text, limit=MAX_REPORT_TEXT)
    except ValidationFailed as err:
        return await _ask_answer(turn, draft, turn.error(err))
    if not value:
        return await _ask_answer(turn, draft, turn.t("invalid_empty"))
    draft.text, draft.step = value, FILE
    return await _ask_answer(turn, draft)


async def answer_document(update: Update, context: BotContext) -> int:
    turn = await open_turn(update, context)
    draft: AnswerDraft | None = load_draft(AnswerDraft, context, ANSWER_KEY)
    message = update.effective_message
    if draft is None or message is None:
        return await lost(turn, ANSWER_KEY)
    if draft.step == PICK:
        return await _list(turn, turn.t("use_buttons"))
    if draft.step != FILE or message.document is None:
        note = turn.t("not_a_document") if draft.step == FILE else turn.t("file_not_now")
        return await _ask_answer(turn, draft, note)
    file = report_file(message.document)
    try:
        check_report_file(file)
    except ValidationFailed as err:
        return await _ask_answer(turn, draft, error_text(turn.catalogue, turn.lang, err, "self_inspection"))
    draft.file, draft.step = asdict(file), ANSWER_CONFIRM
    return await _ask_answer(turn, draft)


async def answer_other(update: Update, context: BotContext) -> int:
    turn = await open_turn(update, context)
    draft: AnswerDraft | None = load_draft(AnswerDraft, context, ANSWER_KEY)
    if draft is None:
        return await lost(turn, ANSWER_KEY)
    if draft.step == PICK:
        return await _list(turn, turn.t("use_buttons"))
    return await _ask_answer(turn, draft, turn.t("not_a_document" if draft.step == FILE else "unexpected"))


async def answer_button(update: Update, context: BotContext) -> int | None:
    """rc:back / rc:keep (bound to their step), rc:confirm."""
    turn = await open_turn(update, context)
    query = update.callback_query
    draft: AnswerDraft | None = load_draft(AnswerDraft, context, ANSWER_KEY)
    action, arg = button_parts(update)
    if query is None:
        return None
    bound = action in ("back", "keep")
    if (
        draft is None
        or (bound and arg != str(draft.step))
        or (action == "confirm" and draft.step != ANSWER_CONFIRM)
    ):
        await turn.alert(turn.t("stale_button"))
        return None
    await query.answer()
    if action == "back":
        if draft.step == TEXT:
            return await _list(turn)
        draft.step -= 1
        return await _ask_answer(turn, draft)
    if action == "keep":
        draft.step += 1
        return await _ask_answer(turn, draft)
    return await _submit_answer(turn, draft)


async def _submit_answer(turn: Turn, draft: AnswerDraft) -> int:
    assert draft.rec_id is not None and draft.kind is not None and draft.file is not None
    deps = turn.context.deps
    try:
        report = await report_service(deps).submit_rectification(
            turn.user_id, draft.rec_id, ReportKind(draft.kind), draft.text, ReportFile(**draft.file)
        )
    except (ReportNotOpen, NotFound, PermissionDenied) as err:
        drop_draft(turn.context, ANSWER_KEY)
        text = turn.t("not_found") if isinstance(err, NotFound) else turn.error(err)
        if isinstance(err, PermissionDenied):
            text = turn.t("not_liaison")
        await turn.send(text)
        return END
    except DomainError as err:
        return await _ask_answer(turn, draft, turn.error(err))
    deps.wake_sender()
    drop_draft(turn.context, ANSWER_KEY)
    assert report.due is not None
    key = "answer_submitted_late" if report.late else "answer_submitted"
    await turn.send(
        turn.t(key, kind=Html(turn.t(f"kind_{draft.kind}")), report_id=report.id, due=turn.date(report.due))
    )
    return END


async def answer_cancel(update: Update, context: BotContext) -> int:
    turn = await open_turn(update, context)
    if update.callback_query is not None:
        await update.callback_query.answer()
    drop_draft(context, ANSWER_KEY)
    await turn.send(turn.t("cancelled"))
    return END


# ---------------------------------------------------------------------------------------------
# The handler


def conversation(*, persistent: bool, private: filters.BaseFilter) -> ConversationHandler[BotContext]:
    """The unit's plan or report dialog."""
    messages = private & filters.UpdateType.MESSAGE
    text = filters.TEXT & ~filters.COMMAND & messages
    document = filters.Document.ALL & messages
    other = messages & ~filters.COMMAND & ~filters.StatusUpdate.ALL
    answer_steps = [
        MessageHandler(text, answer_text),
        MessageHandler(document, answer_document),
        CallbackQueryHandler(answer_pick, pattern=rf"^{ANSWER_PREFIX}:pick:\d+\Z"),
        CallbackQueryHandler(answer_button, pattern=rf"^{ANSWER_PREFIX}:(back|keep|confirm)(:\d+)?\Z"),
        CallbackQueryHandler(answer_cancel, pattern=rf"^{ANSWER_PREFIX}:cancel\Z"),
    ]
    return quiet_conversation(
        entry_points=[
            CommandHandler("rectification", answer_start, filters=private),
            CallbackQueryHandler(answer_start, pattern=rf"^{CALLBACK_OPEN_RECOMMENDATION}\d+\Z"),
        ],
        states={
            **{step: answer_steps for step in (PICK, TEXT, FILE, ANSWER_CONFIRM)},
            TIMEOUT: [TypeHandler(Update, timed_out_for(ANSWER_KEY))],
        },
        fallbacks=[
            CommandHandler("cancel", answer_cancel, filters=private),
            CallbackQueryHandler(stale_button, pattern=rf"^{ANSWER_PREFIX}:"),
            MessageHandler(other, answer_other),
        ],
        name=ANSWER_NAME,
        persistent=persistent,
        conversation_timeout=timedelta(minutes=TIMEOUT_MINUTES),
        allow_reentry=True,
    )
