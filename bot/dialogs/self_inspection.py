"""The self-inspection dialog (自查自纠, SPEC §5), for a unit's liaison: ``/selfcheck`` or the
button under the task notice.

    TOTAL     how many subordinate units and posts the unit has (本级及所属单位)
    INSPECTED how many of them were inspected (0..TOTAL)
    REASON    only below the plan's coverage target (100%): why
    PROBLEMS  problems found
    MEASURES  measures taken
    DOCUMENT  the formal report as a file (PDF/Word/WPS/OFD, size limit told up front)
    CONFIRM   the summary: submit, back or cancel

Every step has back (the previous step, its answer kept) and cancel; a step that already has an
answer offers "keep". Wrong input gets a reason and the same question again. The draft lives
in ``user_data`` as JSON and the conversation is persistent, so a restart resumes it. The
dialog only collects; ``ReportService`` decides (liaison of which unit, correction allowed,
late or not) when the report is submitted.

Buttons: ``si:start`` (entry, also under the task notice), ``si:back:<step>``,
``si:keep:<step>`` (bound to the step they were shown on: a button of an earlier step is
stale), ``si:cancel``, ``si:confirm``.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass, fields
from datetime import date, timedelta
from typing import Any, Final

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot.context import BotContext, roles_of
from bot.dialogs.reporting import (
    error_text,
    file_limits,
    format_date,
    report_file,
    report_service,
    unit_label,
)
from bot.i18n import Html
from bot.language import user_language
from core.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from core.services.reports import (
    CALLBACK_START_SELF_INSPECTION,
    MAX_REPORT_TEXT,
    ReportFile,
    ReportNotOpen,
    SelfInspectionDraft,
    SelfInspectionTask,
    below_target,
    check_counts,
    check_report_file,
)
from core.text import clean_text

# States (persisted as these numbers: append, never renumber).
TOTAL, INSPECTED, REASON, PROBLEMS, MEASURES, DOCUMENT, CONFIRM = range(7)
END: Final = ConversationHandler.END
TIMEOUT: Final = ConversationHandler.TIMEOUT

NAME: Final = "self_inspection"  # the conversation's name in the persistence tables
DRAFT_KEY: Final = "self_inspection"  # the draft's key in user_data
PREFIX: Final = "si"
# A liaison may have to fetch the signed report from a colleague: generous, but not forever.
TIMEOUT_MINUTES: Final = 120
MAX_SHOWN: Final = 600  # of each text in the summary (the office gets them in full)

_TEXT_STEPS: Final = {REASON: "reason", PROBLEMS: "problems", MEASURES: "measures"}
_ASK_KEYS: Final = {
    TOTAL: "ask_total",
    INSPECTED: "ask_inspected",
    REASON: "ask_reason",
    PROBLEMS: "ask_problems",
    MEASURES: "ask_measures",
    DOCUMENT: "ask_document",
}


@dataclass(slots=True)
class Draft:
    """What the liaison told us so far (JSON in user_data)."""

    step: int = TOTAL
    target: float | None = None  # the plan's coverage target, read at the start
    total: int | None = None
    inspected: int | None = None
    reason: str = ""
    problems: str = ""
    measures: str = ""
    file: dict[str, Any] | None = None

    @classmethod
    def load(cls, context: BotContext) -> Draft | None:
        data = (context.user_data or {}).get(DRAFT_KEY)
        if not isinstance(data, dict):
            return None
        known = {f.name for f in fields(cls)}
        try:
            return cls(**{k: v for k, v in data.items() if k in known})
        except TypeError:
            return None  # written by an older version of this dialog: start again

    def save(self, context: BotContext) -> None:
        if context.user_data is not None:
            context.user_data[DRAFT_KEY] = asdict(self)

    @property
    def below(self) -> bool:
        if self.total is None or self.inspected is None:
            return False
        return below_target(self.inspected, self.total, self.target)

    def steps(self) -> list[int]:
        middle = [REASON] if self.below else []
        return [TOTAL, INSPECTED, *middle, PROBLEMS, MEASURES, DOCUMENT, CONFIRM]

    def next_step(self) -> int:
        order = self.steps()
        return order[min(order.index(self.step) + 1, len(order) - 1)] if self.step in order else TOTAL

    def previous_step(self) -> int:
        order = self.steps()
        return order[max(order.index(self.step) - 1, 0)] if self.step in order else TOTAL

    def answer(self, step: int) -> str | None:
        """The answer a step already has, as shown to the liaison (None: none yet)."""
        if step == TOTAL:
            return None if self.total is None else str(self.total)
        if step == INSPECTED:
            return None if self.inspected is None else str(self.inspected)
        if step in _TEXT_STEPS:
            return getattr(self, _TEXT_STEPS[step]) or None
        if step == DOCUMENT and self.file:
            return str(self.file.get("file_name") or "")
        return None

    def report_file(self) -> ReportFile | None:
        return ReportFile(**self.file) if self.file else None

    def to_submission(self) -> SelfInspectionDraft:
        file = self.report_file()
        assert self.total is not None and self.inspected is not None and file is not None
        return SelfInspectionDraft(
            total=self.total,
            inspected=self.inspected,
            problems=self.problems,
            measures=self.measures,
            file=file,
            reason_below_target=self.reason if self.below else "",
        )


def drop(context: BotContext) -> None:
    if context.user_data is not None:
        context.user_data.pop(DRAFT_KEY, None)


def parse_count(text: str) -> int | None:
    """A whole number as people type it: ``12``, ``１２`` (full-width), ``1,200``, ``12 个``."""
    cleaned = text.strip().replace(",", "").replace("，", "").removesuffix("个").strip()
    if not cleaned or len(cleaned) > 9:
        return None
    try:
        return int(cleaned)  # int() reads full-width and other Unicode digits too
    except ValueError:
        return None


# ---------------------------------------------------------------------------------------------
# Talking


class _Turn:
    """The update, the reader's language and texts under ``self_inspection.``."""

    def __init__(self, update: Update, context: BotContext, lang: str) -> None:
        self.update, self.context, self.lang = update, context, lang
        self.catalogue = context.deps.catalogue

    def t(self, key: str, /, **params: Any) -> str:
        return self.catalogue.t(self.lang, f"self_inspection.{key}", **params)

    def date(self, day: date) -> str:
        return format_date(self.catalogue, self.lang, day)

    async def send(self, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
        chat = self.update.effective_chat
        if chat is not None:
            await self.context.bot.send_message(chat.id, text, reply_markup=markup)

    def keyboard(self, draft: Draft, *, confirm: bool = False) -> InlineKeyboardMarkup:
        rows: list[list[InlineKeyboardButton]] = []
        if confirm:
            rows.append([InlineKeyboardButton(self.t("button_confirm"), callback_data=f"{PREFIX}:confirm")])
        elif draft.answer(draft.step) is not None:
            rows.append(
                [InlineKeyboardButton(self.t("button_keep"), callback_data=f"{PREFIX}:keep:{draft.step}")]
            )
        last = []
        if draft.step != TOTAL:
            last.append(
                InlineKeyboardButton(self.t("button_back"), callback_data=f"{PREFIX}:back:{draft.step}")
            )
        last.append(InlineKeyboardButton(self.t("button_cancel"), callback_data=f"{PREFIX}:cancel"))
        rows.append(last)
        return InlineKeyboardMarkup(rows)


async def _turn(update: Update, context: BotContext) -> _Turn:
    return _Turn(update, context, await user_language(update, context))


async def ask(turn: _Turn, draft: Draft, note: str = "") -> int:
    """Ask the draft's current step (after ``note``, e.g. why the last answer was refused)."""
    draft.save(turn.context)
    if draft.step == CONFIRM:
        await turn.send(_with_note(note, summary(turn, draft)), turn.keyboard(draft, confirm=True))
        return CONFIRM
    params: dict[str, Any] = {"max": MAX_REPORT_TEXT}
    if draft.step == INSPECTED:
        params["total"] = draft.total
    if draft.step == REASON:
        params["coverage"] = _percent(draft)
        params["target"] = round((draft.target or 0) * 100)
    if draft.step == DOCUMENT:
        params["limits"] = Html(file_limits(turn.catalogue, turn.lang))
    text = turn.t(_ASK_KEYS[draft.step], **params)
    current = draft.answer(draft.step)
    if current is not None:
        text += "\n\n" + turn.t("current_answer", answer=_short(current))
    await turn.send(_with_note(note, text), turn.keyboard(draft))
    return draft.step


def summary(turn: _Turn, draft: Draft) -> str:
    reason = turn.t("summary_reason", reason=_short(draft.reason)) if draft.below else ""
    return turn.t(
        "summary",
        total=draft.total,
        inspected=draft.inspected,
        coverage=_percent(draft),
        reason_line=Html(reason),
        problems=_short(draft.problems),
        measures=_short(draft.measures),
        file=(draft.file or {}).get("file_name") or "—",
    )


def _with_note(note: str, text: str) -> str:
    return f"{note}\n\n{text}" if note else text


def _short(text: str) -> str:
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 1] + "…"


def _percent(draft: Draft) -> int:
    if not draft.total or draft.inspected is None:
        return 0
    return draft.inspected * 100 // draft.total


# ---------------------------------------------------------------------------------------------
# Entry


async def start(update: Update, context: BotContext) -> int:
    """/selfcheck or the task's button: checks the liaison and the task, then asks TOTAL."""
    turn = await _turn(update, context)
    query = update.callback_query
    if query is not None:
        await query.answer()
    user = update.effective_user
    if user is None:
        return END
    if not (await roles_of(context, user.id)).liaison:
        drop(context)
        await turn.send(turn.t("not_liaison"))
        return END
    try:
        task = await report_service(context.deps).self_inspection_task(user.id)
    except PermissionDenied:
        await turn.send(turn.t("not_liaison"))
        return END
    except NotFound:
        await turn.send(turn.t("no_task"))
        return END
    if not task.may_submit:
        drop(context)
        await turn.send(turn.t(f"refused_{task.refusal}", due=turn.date(task.due)))
        return END
    await turn.send(intro(turn, task))
    return await ask(turn, Draft(target=task.coverage_target))


def intro(turn: _Turn, task: SelfInspectionTask) -> str:
    english = turn.lang == "en"
    lines = [
        turn.t(
            "intro",
            unit=unit_label(turn.context.deps.plan, turn.lang, task.unit_id),
            deliverable=(task.deliverable.name_en or task.deliverable.name)
            if english
            else task.deliverable.name,
            due=turn.date(task.due),
            coverage=round((task.coverage_target or 0) * 100),
        )
    ]
    if task.correcting and task.current is not None:
        submitted = task.current.submitted_at.astimezone(turn.context.deps.clock.tz).date()
        lines.append(turn.t("correcting", submitted=turn.date(submitted)))
    if task.late_now:
        lines.append(turn.t("late_warning", due=turn.date(task.due)))
    return "\n\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Answers


async def text_given(update: Update, context: BotContext) -> int:
    """Text at any step: a number (TOTAL, INSPECTED) or a text (REASON, PROBLEMS, MEASURES);
    at DOCUMENT or CONFIRM the question again."""
    turn = await _turn(update, context)
    draft = Draft.load(context)
    message = update.effective_message
    if draft is None or message is None or message.text is None:
        return await _lost(turn)
    text = message.text
    step = draft.step
    if step in (TOTAL, INSPECTED):
        return await _count_given(turn, draft, text)
    if step in _TEXT_STEPS:
        try:
            value = clean_text(text, limit=MAX_REPORT_TEXT)
        except ValidationFailed as err:
            return await ask(turn, draft, error_text(turn.catalogue, turn.lang, err, "self_inspection"))
        if not value:
            return await ask(turn, draft, turn.t("invalid_empty"))
        setattr(draft, _TEXT_STEPS[step], value)
        draft.step = draft.next_step()
        return await ask(turn, draft)
    if step == DOCUMENT:
        return await ask(turn, draft, turn.t("not_a_document"))
    return await ask(turn, draft, turn.t("use_buttons"))


async def _count_given(turn: _Turn, draft: Draft, text: str) -> int:
    number = parse_count(text)
    if number is None:
        return await ask(turn, draft, turn.t("invalid_number"))
    try:
        if draft.step == TOTAL:
            check_counts(0, number)  # the total alone: 1..MAX_COUNT
        else:
            assert draft.total is not None
            check_counts(number, draft.total)
    except ValidationFailed as err:
        return await ask(turn, draft, error_text(turn.catalogue, turn.lang, err, "self_inspection"))
    if draft.step == TOTAL:
        draft.total = number
        if draft.inspected is not None and draft.inspected > number:
            draft.inspected = None  # no longer possible: asked again next
    else:
        draft.inspected = number
    draft.step = draft.next_step()
    return await ask(turn, draft)


async def document_given(update: Update, context: BotContext) -> int:
    """A file: at DOCUMENT it is the formal report (checked against the limits); elsewhere the
    question again."""
    turn = await _turn(update, context)
    draft = Draft.load(context)
    message = update.effective_message
    if draft is None or message is None:
        return await _lost(turn)
    if draft.step != DOCUMENT or message.document is None:
        note = turn.t("not_a_document") if draft.step == DOCUMENT else turn.t("file_not_now")
        return await ask(turn, draft, note)
    file = report_file(message.document)
    try:
        check_report_file(file)
    except ValidationFailed as err:
        return await ask(turn, draft, error_text(turn.catalogue, turn.lang, err, "self_inspection"))
    draft.file = asdict(file)
    draft.step = draft.next_step()
    return await ask(turn, draft)


async def other_message(update: Update, context: BotContext) -> int:
    """A photo, sticker, voice...: says what is expected and asks again."""
    turn = await _turn(update, context)
    draft = Draft.load(context)
    if draft is None:
        return await _lost(turn)
    return await ask(turn, draft, turn.t("not_a_document" if draft.step == DOCUMENT else "unexpected"))


# ---------------------------------------------------------------------------------------------
# Buttons


def _button_step(update: Update) -> tuple[str, int | None]:
    data = (update.callback_query.data if update.callback_query else None) or ""
    parts = data.split(":")
    action = parts[1] if len(parts) > 1 else ""
    step = int(parts[2]) if len(parts) > 2 and parts[2].isdigit() else None
    return action, step


async def button(update: Update, context: BotContext) -> int | None:
    """back / keep (bound to the step shown) and confirm."""
    query = update.callback_query
    turn = await _turn(update, context)
    draft = Draft.load(context)
    action, step = _button_step(update)
    if query is None:
        return None
    if (
        draft is None
        or (action in ("back", "keep") and step != draft.step)
        or (action == "confirm" and draft.step != CONFIRM)
    ):
        await query.answer(turn.t("stale_button"), show_alert=True)
        return None
    await query.answer()
    if action == "back":
        draft.step = draft.previous_step()
        return await ask(turn, draft)
    if action == "keep":
        # a kept answer is still valid: a new total drops an inspected count above it
        draft.step = draft.next_step()
        return await ask(turn, draft)
    return await _submit(turn, draft)


async def _submit(turn: _Turn, draft: Draft) -> int:
    user = turn.update.effective_user
    assert user is not None
    deps = turn.context.deps
    try:
        report = await report_service(deps).submit_self_inspection(user.id, draft.to_submission())
    except ReportNotOpen as err:
        drop(turn.context)
        await turn.send(error_text(turn.catalogue, turn.lang, err, "self_inspection"))
        return END
    except PermissionDenied:
        drop(turn.context)
        await turn.send(turn.t("not_liaison"))
        return END
    except DomainError as err:
        return await ask(turn, draft, error_text(turn.catalogue, turn.lang, err, "self_inspection"))
    deps.wake_sender()
    drop(turn.context)
    assert report.due is not None
    key = "submitted_late" if report.late else "submitted"
    await turn.send(turn.t(key, report_id=report.id, due=turn.date(report.due)))
    return END


async def cancel(update: Update, context: BotContext) -> int:
    """/cancel or the cancel button: drops the draft."""
    turn = await _turn(update, context)
    if update.callback_query is not None:
        await update.callback_query.answer()
    drop(context)
    await turn.send(turn.t("cancelled"))
    return END


async def stale_button(update: Update, context: BotContext) -> None:
    """A button of this dialog that does not belong to the current step."""
    query = update.callback_query
    if query is not None:
        turn = await _turn(update, context)
        await query.answer(turn.t("stale_button"), show_alert=True)


async def _lost(turn: _Turn) -> int:
    """The draft is gone (an old version's data, a cleared store): start again."""
    drop(turn.context)
    await turn.send(turn.t("lost"))
    return END


async def timed_out(update: Update, context: BotContext) -> None:
    """No answer for TIMEOUT_MINUTES: the draft is dropped and the liaison told."""
    draft = Draft.load(context)
    drop(context)
    user = update.effective_user
    if user is not None:
        # a job, not an update: nothing marks this user's data as changed otherwise
        context.application.mark_data_for_update_persistence(user_ids=user.id)
    if draft is None:
        return
    turn = await _turn(update, context)
    await turn.send(turn.t("timeout", minutes=TIMEOUT_MINUTES))


# ---------------------------------------------------------------------------------------------
# The handler


def conversation(*, persistent: bool) -> ConversationHandler[BotContext]:
    """The self-inspection dialog. ``persistent`` needs the application to have a persistence."""
    private = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
    text = filters.TEXT & ~filters.COMMAND & private
    every_step = [
        MessageHandler(text, text_given),
        MessageHandler(filters.Document.ALL & private, document_given),
        CallbackQueryHandler(button, pattern=rf"^{PREFIX}:(back|keep):\d+\Z|^{PREFIX}:confirm\Z"),
        CallbackQueryHandler(cancel, pattern=rf"^{PREFIX}:cancel\Z"),
    ]
    states: dict[object, list[Any]] = {
        step: every_step for step in (TOTAL, INSPECTED, REASON, PROBLEMS, MEASURES, DOCUMENT, CONFIRM)
    }
    states[TIMEOUT] = [TypeHandler(Update, timed_out)]
    entry_points: list[BaseHandler[Update, BotContext, Any]] = [
        CommandHandler("selfcheck", start, filters=filters.ChatType.PRIVATE),
        CallbackQueryHandler(start, pattern=rf"^{CALLBACK_START_SELF_INSPECTION}\Z"),
    ]
    with warnings.catch_warnings():
        # per_message=False on purpose: text and buttons share one conversation per user; the
        # step in each button's data ties it to the question it was shown with
        warnings.filterwarnings("ignore", message=".*per_message=False.*", category=PTBUserWarning)
        return ConversationHandler(
            entry_points=entry_points,
            states=states,
            fallbacks=[
                CommandHandler("cancel", cancel, filters=filters.ChatType.PRIVATE),
                CallbackQueryHandler(stale_button, pattern=rf"^{PREFIX}:"),
                MessageHandler(private & ~filters.COMMAND & ~filters.StatusUpdate.ALL, other_message),
            ],
            name=NAME,
            persistent=persistent,
            conversation_timeout=timedelta(minutes=TIMEOUT_MINUTES),
            allow_reentry=True,
        )
