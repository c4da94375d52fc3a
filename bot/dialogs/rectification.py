"""Rectification (整改, SPEC §5, §6) in the bot: three dialogs and a button.

The office issues a recommendation (整改建议书), ``/rectify UNIT_ID`` (private chat)::

    PROBLEMS → PLAN_DUE → REPORT_DUE → CONFIRM       buttons rx:day:<step>:<YYYY-MM-DD>,
                                                    rx:back:<step>, rx:keep:<step>,
                                                    rx:cancel, rx:confirm

The unit answers, ``/rectification`` or the button under the recommendation (``rc:open:<id>``)::

    PICK (its open recommendations) → TEXT → FILE → CONFIRM
                                                    buttons rc:pick:<id>, rc:back:<step>,
                                                    rc:keep:<step>, rc:cancel, rc:confirm

The office reviews every submitted report (rectification plans and reports, and the
self-inspection reports too) from the buttons under it in the office chat:
``rq:accept:<report_id>`` accepts at once; ``rq:back:<report_id>`` asks for the reason (a reply
to the bot's question, which reaches the bot in a group with privacy mode on) and sends it back.

Roles are checked when a dialog starts and on every button; the services check them again in
their transaction, and a recommendation or report id of another unit is answered like one that
does not exist, whatever the button data says.
"""

from __future__ import annotations

import contextlib
import re
import warnings
from dataclasses import asdict, dataclass, fields
from datetime import date, timedelta
from typing import Any, Final

from telegram import ForceReply, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
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
from bot.handlers.campaign import (
    error_text,
    file_limits,
    format_date,
    report_file,
    report_service,
    resolve_unit,
    unit_label,
)
from bot.i18n import Html, escape
from bot.language import user_language
from core.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from core.reports import ReportKind
from core.services.reports import (
    CALLBACK_ACCEPT,
    CALLBACK_OPEN_RECOMMENDATION,
    CALLBACK_SEND_BACK,
    MAX_PROBLEMS_TEXT,
    MAX_REPORT_TEXT,
    MAX_REVIEW_NOTE,
    AlreadyReviewed,
    RecommendationView,
    ReportFile,
    ReportNotOpen,
    Step,
    check_rectification_dates,
    check_report_file,
)
from core.text import clean_text, strip_controls

END: Final = ConversationHandler.END
TIMEOUT: Final = ConversationHandler.TIMEOUT
TIMEOUT_MINUTES: Final = 120
MAX_SHOWN: Final = 600
MAX_LISTED: Final = 10  # open recommendations listed at once (a unit rarely has more)
SECTION: Final = "rectification"

# -- the office's recommendation dialog: states (persisted: append, never renumber) -----------
PROBLEMS, PLAN_DUE, REPORT_DUE, ISSUE_CONFIRM = range(4)
ISSUE_NAME: Final = "recommendation"
ISSUE_KEY: Final = "recommendation"
ISSUE_PREFIX: Final = "rx"
# suggested deadlines, in working days: the plan after the issue, the report after the plan
PLAN_SUGGESTIONS: Final = (5, 10)
REPORT_SUGGESTIONS: Final = (10, 20)

# -- the unit's answer dialog ---------------------------------------------------------------
PICK, TEXT, FILE, ANSWER_CONFIRM = range(4)
ANSWER_NAME: Final = "rectification"
ANSWER_KEY: Final = "rectification"
ANSWER_PREFIX: Final = "rc"

# -- the office's send-back reason ----------------------------------------------------------
REASON = 0
REVIEW_NAME: Final = "review"
REVIEW_KEY: Final = "review"

_DATE = re.compile(
    r"(?:(?P<y>\d{4})\s*[-/.年]\s*)?(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*[日号]?",
    re.ASCII,
)


def parse_day(text: str, today: date) -> date | None:
    """``2026-12-01``, ``2026/12/1``, ``2026年12月1日``, ``12-01``, ``12月1日``: a date. Without
    a year, the next such day from today on (a deadline is never in the past)."""
    match = _DATE.fullmatch(text.strip())
    if match is None:
        return None
    year = int(match["y"]) if match["y"] else today.year
    try:
        day = date(year, int(match["m"]), int(match["d"]))
    except ValueError:
        return None
    if match["y"] is None and day < today:
        with contextlib.suppress(ValueError):  # 02-29 of a leap year: no such day next year
            day = day.replace(year=year + 1)
    return day


# ---------------------------------------------------------------------------------------------
# Talking


class _Turn:
    def __init__(self, update: Update, context: BotContext, lang: str) -> None:
        self.update, self.context, self.lang = update, context, lang
        self.catalogue = context.deps.catalogue

    def t(self, key: str, /, **params: Any) -> str:
        return self.catalogue.t(self.lang, f"{SECTION}.{key}", **params)

    def date(self, day: date) -> str:
        return format_date(self.catalogue, self.lang, day)

    def unit(self, unit_id: str) -> str:
        return unit_label(self.context.deps.plan, self.lang, unit_id)

    def error(self, err: DomainError) -> str:
        return error_text(self.catalogue, self.lang, err, SECTION)

    @property
    def user_id(self) -> int:
        user = self.update.effective_user
        assert user is not None
        return user.id

    async def send(self, text: str, markup: InlineKeyboardMarkup | ForceReply | None = None) -> None:
        chat = self.update.effective_chat
        if chat is not None:
            await self.context.bot.send_message(chat.id, text, reply_markup=markup)

    async def alert(self, text: str) -> None:
        """On a button: a pop-up; otherwise a message."""
        query = self.update.callback_query
        if query is not None:
            await query.answer(text, show_alert=True)
        else:
            await self.send(text)

    def nav(
        self, prefix: str, step: int, *, first: bool, keep: bool, confirm: bool = False
    ) -> list[list[Any]]:
        rows: list[list[InlineKeyboardButton]] = []
        if confirm:
            rows.append([InlineKeyboardButton(self.t("button_confirm"), callback_data=f"{prefix}:confirm")])
        elif keep:
            rows.append([InlineKeyboardButton(self.t("button_keep"), callback_data=f"{prefix}:keep:{step}")])
        last = (
            []
            if first
            else [InlineKeyboardButton(self.t("button_back"), callback_data=f"{prefix}:back:{step}")]
        )
        last.append(InlineKeyboardButton(self.t("button_cancel"), callback_data=f"{prefix}:cancel"))
        rows.append(last)
        return rows


async def _turn(update: Update, context: BotContext) -> _Turn:
    return _Turn(update, context, await user_language(update, context))


def _short(text: str) -> str:
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 1] + "…"


def _with_note(note: str, text: str) -> str:
    return f"{note}\n\n{text}" if note else text


def _button(update: Update) -> tuple[str, str | None]:
    """(action, argument) of ``prefix:action[:argument...]``."""
    data = (update.callback_query.data if update.callback_query else None) or ""
    parts = data.split(":", 2)
    return (parts[1] if len(parts) > 1 else ""), (parts[2] if len(parts) > 2 else None)


def _load(cls: type[Any], context: BotContext, key: str) -> Any:
    data = (context.user_data or {}).get(key)
    if not isinstance(data, dict):
        return None
    known = {f.name for f in fields(cls)}
    try:
        return cls(**{k: v for k, v in data.items() if k in known})
    except TypeError:
        return None


def _drop(context: BotContext, key: str) -> None:
    if context.user_data is not None:
        context.user_data.pop(key, None)


def _save(context: BotContext, key: str, draft: Any) -> None:
    if context.user_data is not None:
        context.user_data[key] = asdict(draft)


async def _stale(update: Update, context: BotContext) -> None:
    turn = await _turn(update, context)
    await turn.alert(turn.t("stale_button"))


def _timed_out(key: str) -> Any:
    async def timed_out(update: Update, context: BotContext) -> None:
        """No answer in time: the draft is dropped and its author told."""
        had = (context.user_data or {}).get(key) is not None
        _drop(context, key)
        user = update.effective_user
        if user is not None:
            context.application.mark_data_for_update_persistence(user_ids=user.id)
        if had:
            turn = await _turn(update, context)
            await turn.send(turn.t("timeout", minutes=TIMEOUT_MINUTES))

    return timed_out


# =============================================================================================
# The office issues a recommendation


@dataclass(slots=True)
class IssueDraft:
    unit_id: str
    step: int = PROBLEMS
    problems: str = ""
    plan_due: str | None = None  # ISO dates: the draft is JSON
    report_due: str | None = None

    def answer(self) -> str | None:
        return {PROBLEMS: self.problems or None, PLAN_DUE: self.plan_due, REPORT_DUE: self.report_due}.get(
            self.step
        )


async def rectify_start(update: Update, context: BotContext) -> int:
    """/rectify UNIT: checks the office role and the unit, asks for the problems."""
    turn = await _turn(update, context)
    plan = context.deps.plan
    if not (await roles_of(context, turn.user_id)).office:
        await turn.send(turn.t("office_only"))
        return END
    wanted = " ".join(context.args or []).strip()
    if not wanted:
        await turn.send(turn.t("rectify_usage", units=Html(_unit_list(turn))))
        return END
    unit_id = resolve_unit(plan, wanted)
    if unit_id is None:
        text = (
            turn.t("unknown_unit", unit=wanted[:60])
            + "\n\n"
            + turn.t("rectify_usage", units=Html(_unit_list(turn)))
        )
        await turn.send(text)
        return END
    return await _ask_issue(turn, IssueDraft(unit_id=unit_id))


def _unit_list(turn: _Turn) -> str:
    return "\n".join(turn.t("unit_line", id=u.id, name=turn.unit(u.id)) for u in turn.context.deps.plan.units)


async def rectify_in_group(update: Update, context: BotContext) -> None:
    """/rectify in a group: the dialog needs a private chat (groups hide plain replies)."""
    turn = await _turn(update, context)
    await turn.send(turn.t("private_only"))


async def _ask_issue(turn: _Turn, draft: IssueDraft, note: str = "") -> int:
    _save(turn.context, ISSUE_KEY, draft)
    today = report_service(turn.context.deps).today()
    wd = turn.context.deps.services.working_days
    rows = turn.nav(ISSUE_PREFIX, draft.step, first=draft.step == PROBLEMS, keep=draft.answer() is not None)
    if draft.step == ISSUE_CONFIRM:
        assert draft.plan_due is not None and draft.report_due is not None
        text = turn.t(
            "issue_summary",
            unit=turn.unit(draft.unit_id),
            problems=_short(draft.problems),
            plan_due=turn.date(date.fromisoformat(draft.plan_due)),
            report_due=turn.date(date.fromisoformat(draft.report_due)),
        )
        rows = turn.nav(ISSUE_PREFIX, draft.step, first=False, keep=False, confirm=True)
        await turn.send(_with_note(note, text), InlineKeyboardMarkup(rows))
        return ISSUE_CONFIRM
    if draft.step == PROBLEMS:
        text = turn.t("ask_problems", unit=turn.unit(draft.unit_id), max=MAX_PROBLEMS_TEXT)
    else:
        base = today if draft.step == PLAN_DUE else date.fromisoformat(draft.plan_due or today.isoformat())
        counts = PLAN_SUGGESTIONS if draft.step == PLAN_DUE else REPORT_SUGGESTIONS
        days = [wd.add_working_days(base, n) for n in counts]
        rows.insert(
            0,
            [
                InlineKeyboardButton(
                    turn.t("button_day", date=turn.date(d), days=n),
                    callback_data=f"{ISSUE_PREFIX}:day:{draft.step}:{d.isoformat()}",
                )
                for n, d in zip(counts, days, strict=True)
            ],
        )
        key = "ask_plan_due" if draft.step == PLAN_DUE else "ask_report_due"
        text = turn.t(key, example=days[0].isoformat())
    current = draft.answer()
    if current is not None:
        shown = turn.date(date.fromisoformat(current)) if draft.step != PROBLEMS else _short(current)
        text += "\n\n" + turn.t("current_answer", answer=shown)
    await turn.send(_with_note(note, text), InlineKeyboardMarkup(rows))
    return draft.step


async def issue_text(update: Update, context: BotContext) -> int:
    """Problems (text) or a deadline (a date as typed)."""
    turn = await _turn(update, context)
    draft: IssueDraft | None = _load(IssueDraft, context, ISSUE_KEY)
    message = update.effective_message
    if draft is None or message is None or message.text is None:
        return await _lost(turn, ISSUE_KEY)
    if draft.step == PROBLEMS:
        try:
            problems = clean_text(message.text, limit=MAX_PROBLEMS_TEXT)
        except ValidationFailed as err:
            return await _ask_issue(turn, draft, turn.error(err))
        if not problems:
            return await _ask_issue(turn, draft, turn.t("invalid_empty"))
        draft.problems, draft.step = problems, PLAN_DUE
        return await _ask_issue(turn, draft)
    if draft.step in (PLAN_DUE, REPORT_DUE):
        day = parse_day(message.text, report_service(context.deps).today())
        if day is None:
            return await _ask_issue(turn, draft, turn.t("invalid_date"))
        return await _deadline_given(turn, draft, day)
    return await _ask_issue(turn, draft, turn.t("use_buttons"))


async def _deadline_given(turn: _Turn, draft: IssueDraft, day: date) -> int:
    today = report_service(turn.context.deps).today()
    try:
        if draft.step == PLAN_DUE:
            check_rectification_dates(
                day, max(day, date.fromisoformat(draft.report_due or day.isoformat())), today
            )
            draft.plan_due, draft.step = day.isoformat(), REPORT_DUE
            if draft.report_due is not None and date.fromisoformat(draft.report_due) < day:
                draft.report_due = None  # no longer possible: asked again next
        else:
            assert draft.plan_due is not None
            check_rectification_dates(date.fromisoformat(draft.plan_due), day, today)
            draft.report_due, draft.step = day.isoformat(), ISSUE_CONFIRM
    except ValidationFailed as err:
        return await _ask_issue(turn, draft, turn.error(err))
    return await _ask_issue(turn, draft)


async def issue_button(update: Update, context: BotContext) -> int | None:
    """rx:day / rx:back / rx:keep (bound to their step), rx:confirm."""
    turn = await _turn(update, context)
    query = update.callback_query
    draft: IssueDraft | None = _load(IssueDraft, context, ISSUE_KEY)
    action, arg = _button(update)
    if query is None:
        return None
    step_arg, _, value = (arg or "").partition(":")
    bound = action in ("day", "back", "keep")
    if (
        draft is None
        or (bound and step_arg != str(draft.step))
        or (action == "confirm" and draft.step != ISSUE_CONFIRM)
    ):
        await turn.alert(turn.t("stale_button"))
        return None
    await query.answer()
    if action == "day":
        try:
            day = date.fromisoformat(value)
        except ValueError:
            return await _ask_issue(turn, draft, turn.t("invalid_date"))
        return await _deadline_given(turn, draft, day)
    if action == "back":
        draft.step = max(PROBLEMS, draft.step - 1)
        return await _ask_issue(turn, draft)
    if action == "keep":
        draft.step += 1
        return await _ask_issue(turn, draft)
    return await _issue(turn, draft)


async def _issue(turn: _Turn, draft: IssueDraft) -> int:
    assert draft.plan_due is not None and draft.report_due is not None
    deps = turn.context.deps
    try:
        rec, told = await report_service(deps).issue_recommendation(
            turn.user_id,
            draft.unit_id,
            draft.problems,
            date.fromisoformat(draft.plan_due),
            date.fromisoformat(draft.report_due),
        )
    except PermissionDenied:
        _drop(turn.context, ISSUE_KEY)
        await turn.send(turn.t("office_only"))
        return END
    except ValidationFailed as err:
        # a deadline that was fine when typed has passed since (the dialog waited overnight)
        draft.step = PLAN_DUE
        return await _ask_issue(turn, draft, turn.error(err))
    deps.wake_sender()
    _drop(turn.context, ISSUE_KEY)
    text = turn.t("issued", recommendation_id=rec.id, unit=turn.unit(draft.unit_id), told=told)
    if not told:
        text += "\n\n" + turn.t("no_liaison", unit_id=draft.unit_id)
    await turn.send(text)
    return END


async def issue_cancel(update: Update, context: BotContext) -> int:
    turn = await _turn(update, context)
    if update.callback_query is not None:
        await update.callback_query.answer()
    _drop(context, ISSUE_KEY)
    await turn.send(turn.t("cancelled"))
    return END


async def _lost(turn: _Turn, key: str) -> int:
    _drop(turn.context, key)
    await turn.send(turn.t("lost"))
    return END


# =============================================================================================
# The unit answers


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
    turn = await _turn(update, context)
    query = update.callback_query
    if not (await roles_of(context, turn.user_id)).liaison:
        _drop(context, ANSWER_KEY)
        await turn.alert(turn.t("not_liaison"))
        return END
    if query is not None:
        action, arg = _button(update)
        if action == "open" and arg is not None and arg.isdigit():
            await query.answer()
            return await _pick(turn, int(arg))
        await turn.alert(turn.t("stale_button"))
        return END
    return await _list(turn)


async def _list(turn: _Turn, note: str = "") -> int:
    try:
        views = await report_service(turn.context.deps).open_recommendations(turn.user_id)
    except PermissionDenied:
        await turn.send(turn.t("not_liaison"))
        return END
    if not views:
        _drop(turn.context, ANSWER_KEY)
        await turn.send(_with_note(note, turn.t("none_open")))
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
        _drop(turn.context, ANSWER_KEY)
        lines.append(turn.t("nothing_to_submit"))
        await turn.send(_with_note(note, "\n\n".join(lines)))
        return END
    buttons.append([InlineKeyboardButton(turn.t("button_cancel"), callback_data=f"{ANSWER_PREFIX}:cancel")])
    _save(turn.context, ANSWER_KEY, AnswerDraft())
    await turn.send(_with_note(note, "\n\n".join(lines)), InlineKeyboardMarkup(buttons))
    return PICK


def _rec_line(turn: _Turn, view: RecommendationView) -> str:
    rec = view.recommendation
    return turn.t(
        "list_item",
        recommendation_id=rec.id,
        problems=_short(rec.problems)[:200],
        plan_due=turn.date(rec.plan_due),
        report_due=turn.date(rec.report_due),
        step=Html(turn.t(f"step_{view.step.value}")),
    )


async def answer_pick(update: Update, context: BotContext) -> int | None:
    """rc:pick:<id>: the recommendation chosen from the list (ownership checked again)."""
    turn = await _turn(update, context)
    query = update.callback_query
    _, arg = _button(update)
    if query is None:
        return None
    if arg is None or not arg.isdigit():
        await turn.alert(turn.t("stale_button"))
        return None
    await query.answer()
    return await _pick(turn, int(arg))


async def _pick(turn: _Turn, rec_id: int) -> int:
    try:
        view = await report_service(turn.context.deps).recommendation(turn.user_id, rec_id)
    except PermissionDenied:
        _drop(turn.context, ANSWER_KEY)
        await turn.send(turn.t("not_liaison"))
        return END
    except NotFound:
        # another unit's recommendation, or none: the same answer, so ids learn nothing
        _drop(turn.context, ANSWER_KEY)
        await turn.send(turn.t("not_found"))
        return END
    if view.may_submit is None:
        _drop(turn.context, ANSWER_KEY)
        await turn.send(_rec_line(turn, view) + "\n\n" + turn.t(f"nothing_now_{view.step.value}"))
        return END
    assert view.due is not None and view.recommendation.id is not None
    draft = AnswerDraft(
        step=TEXT, rec_id=view.recommendation.id, kind=view.may_submit.value, due=view.due.isoformat()
    )
    intro = turn.t(
        f"answer_intro_{view.may_submit.value}",
        recommendation_id=view.recommendation.id,
        problems=_short(view.recommendation.problems),
        due=turn.date(view.due),
    )
    if view.step in (Step.PLAN_REVIEW, Step.REPORT_REVIEW):
        intro += "\n\n" + turn.t("correcting")
    if report_service(turn.context.deps).today() > view.due:
        intro += "\n\n" + turn.t("late_warning", due=turn.date(view.due))
    await turn.send(intro)
    return await _ask_answer(turn, draft)


async def _ask_answer(turn: _Turn, draft: AnswerDraft, note: str = "") -> int:
    _save(turn.context, ANSWER_KEY, draft)
    kind = draft.kind or ReportKind.RECTIFICATION_PLAN.value
    if draft.step == ANSWER_CONFIRM:
        text = turn.t(
            "answer_summary",
            kind=Html(turn.t(f"kind_{kind}")),
            recommendation_id=draft.rec_id,
            text=_short(draft.text),
            file=(draft.file or {}).get("file_name") or "—",
        )
        rows = turn.nav(ANSWER_PREFIX, draft.step, first=False, keep=False, confirm=True)
        await turn.send(_with_note(note, text), InlineKeyboardMarkup(rows))
        return ANSWER_CONFIRM
    if draft.step == TEXT:
        text = turn.t(f"ask_text_{kind}", max=MAX_REPORT_TEXT)
    else:
        text = turn.t(
            "ask_file", kind=Html(turn.t(f"kind_{kind}")), limits=Html(file_limits(turn.catalogue, turn.lang))
        )
    current = draft.answer()
    if current is not None:
        text += "\n\n" + turn.t("current_answer", answer=_short(current))
    rows = turn.nav(ANSWER_PREFIX, draft.step, first=False, keep=current is not None)
    await turn.send(_with_note(note, text), InlineKeyboardMarkup(rows))
    return draft.step


async def answer_text(update: Update, context: BotContext) -> int:
    turn = await _turn(update, context)
    draft: AnswerDraft | None = _load(AnswerDraft, context, ANSWER_KEY)
    message = update.effective_message
    if draft is None or message is None or message.text is None:
        return await _lost(turn, ANSWER_KEY)
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
    turn = await _turn(update, context)
    draft: AnswerDraft | None = _load(AnswerDraft, context, ANSWER_KEY)
    message = update.effective_message
    if draft is None or message is None:
        return await _lost(turn, ANSWER_KEY)
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
    turn = await _turn(update, context)
    draft: AnswerDraft | None = _load(AnswerDraft, context, ANSWER_KEY)
    if draft is None:
        return await _lost(turn, ANSWER_KEY)
    if draft.step == PICK:
        return await _list(turn, turn.t("use_buttons"))
    return await _ask_answer(turn, draft, turn.t("not_a_document" if draft.step == FILE else "unexpected"))


async def answer_button(update: Update, context: BotContext) -> int | None:
    """rc:back / rc:keep (bound to their step), rc:confirm."""
    turn = await _turn(update, context)
    query = update.callback_query
    draft: AnswerDraft | None = _load(AnswerDraft, context, ANSWER_KEY)
    action, arg = _button(update)
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


async def _submit_answer(turn: _Turn, draft: AnswerDraft) -> int:
    assert draft.rec_id is not None and draft.kind is not None and draft.file is not None
    deps = turn.context.deps
    try:
        report = await report_service(deps).submit_rectification(
            turn.user_id, draft.rec_id, ReportKind(draft.kind), draft.text, ReportFile(**draft.file)
        )
    except (ReportNotOpen, NotFound, PermissionDenied) as err:
        _drop(turn.context, ANSWER_KEY)
        text = turn.t("not_found") if isinstance(err, NotFound) else turn.error(err)
        if isinstance(err, PermissionDenied):
            text = turn.t("not_liaison")
        await turn.send(text)
        return END
    except DomainError as err:
        return await _ask_answer(turn, draft, turn.error(err))
    deps.wake_sender()
    _drop(turn.context, ANSWER_KEY)
    assert report.due is not None
    key = "answer_submitted_late" if report.late else "answer_submitted"
    await turn.send(
        turn.t(key, kind=Html(turn.t(f"kind_{draft.kind}")), report_id=report.id, due=turn.date(report.due))
    )
    return END


async def answer_cancel(update: Update, context: BotContext) -> int:
    turn = await _turn(update, context)
    if update.callback_query is not None:
        await update.callback_query.answer()
    _drop(context, ANSWER_KEY)
    await turn.send(turn.t("cancelled"))
    return END


# =============================================================================================
# The office reviews


def _report_id(update: Update) -> int | None:
    _, arg = _button(update)
    return int(arg) if arg is not None and arg.isdigit() else None


async def _strip_buttons(context: BotContext, chat_id: int | None, message_id: int | None) -> None:
    """The review buttons have done their job: remove them so nobody presses them again."""
    if chat_id is None or message_id is None:
        return
    with contextlib.suppress(BadRequest):  # too old to edit, or already without buttons
        await context.bot.edit_message_reply_markup(chat_id, message_id, reply_markup=None)


async def review_accept(update: Update, context: BotContext) -> None:
    """rq:accept:<report_id> (office only)."""
    turn = await _turn(update, context)
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
    turn = await _turn(update, context)
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
    _save(context, REVIEW_KEY, draft)
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
    turn = await _turn(update, context)
    draft: ReviewDraft | None = _load(ReviewDraft, context, REVIEW_KEY)
    message = update.effective_message
    if draft is None or message is None or message.text is None:
        return await _lost(turn, REVIEW_KEY)
    try:
        reviewed = await report_service(context.deps).review(
            turn.user_id, draft.report_id, accept=False, reason=strip_controls(message.text)
        )
    except ValidationFailed as err:
        await turn.send(turn.error(err), ForceReply(selective=True))
        return REASON
    except (AlreadyReviewed, NotFound, PermissionDenied) as err:
        _drop(context, REVIEW_KEY)
        text = turn.t("review_office_only") if isinstance(err, PermissionDenied) else turn.error(err)
        await turn.send(turn.t("not_found") if isinstance(err, NotFound) else text)
        return END
    context.deps.wake_sender()
    _drop(context, REVIEW_KEY)
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
    turn = await _turn(update, context)
    _drop(context, REVIEW_KEY)
    await turn.send(turn.t("review_cancelled"))
    return END


# =============================================================================================
# The handlers


def _conversation(**kwargs: Any) -> ConversationHandler[BotContext]:
    with warnings.catch_warnings():
        # per_message=False on purpose: text and buttons share one conversation per user; the
        # step in each button's data ties it to the question it was shown with
        warnings.filterwarnings("ignore", message=".*per_message=False.*", category=PTBUserWarning)
        return ConversationHandler(**kwargs)


def handlers(*, persistent: bool, private: filters.BaseFilter) -> list[BaseHandler[Any, BotContext, Any]]:
    """The three dialogs and the accept button, in registration order."""
    messages = private & filters.UpdateType.MESSAGE
    text = filters.TEXT & ~filters.COMMAND & messages
    document = filters.Document.ALL & messages
    other = messages & ~filters.COMMAND & ~filters.StatusUpdate.ALL
    timeout = timedelta(minutes=TIMEOUT_MINUTES)

    issue_steps = [
        MessageHandler(text, issue_text),
        CallbackQueryHandler(issue_button, pattern=rf"^{ISSUE_PREFIX}:(day|back|keep|confirm)(:|\Z)"),
        CallbackQueryHandler(issue_cancel, pattern=rf"^{ISSUE_PREFIX}:cancel\Z"),
    ]
    issue = _conversation(
        entry_points=[CommandHandler("rectify", rectify_start, filters=private)],
        states={
            **{step: issue_steps for step in (PROBLEMS, PLAN_DUE, REPORT_DUE, ISSUE_CONFIRM)},
            TIMEOUT: [TypeHandler(Update, _timed_out(ISSUE_KEY))],
        },
        fallbacks=[
            CommandHandler("cancel", issue_cancel, filters=private),
            CallbackQueryHandler(_stale, pattern=rf"^{ISSUE_PREFIX}:"),
            MessageHandler(other, issue_text_or_other),
        ],
        name=ISSUE_NAME,
        persistent=persistent,
        conversation_timeout=timeout,
        allow_reentry=True,
    )

    answer_steps = [
        MessageHandler(text, answer_text),
        MessageHandler(document, answer_document),
        CallbackQueryHandler(answer_pick, pattern=rf"^{ANSWER_PREFIX}:pick:\d+\Z"),
        CallbackQueryHandler(answer_button, pattern=rf"^{ANSWER_PREFIX}:(back|keep|confirm)(:\d+)?\Z"),
        CallbackQueryHandler(answer_cancel, pattern=rf"^{ANSWER_PREFIX}:cancel\Z"),
    ]
    answer = _conversation(
        entry_points=[
            CommandHandler("rectification", answer_start, filters=private),
            CallbackQueryHandler(answer_start, pattern=rf"^{CALLBACK_OPEN_RECOMMENDATION}\d+\Z"),
        ],
        states={
            **{step: answer_steps for step in (PICK, TEXT, FILE, ANSWER_CONFIRM)},
            TIMEOUT: [TypeHandler(Update, _timed_out(ANSWER_KEY))],
        },
        fallbacks=[
            CommandHandler("cancel", answer_cancel, filters=private),
            CallbackQueryHandler(_stale, pattern=rf"^{ANSWER_PREFIX}:"),
            MessageHandler(other, answer_other),
        ],
        name=ANSWER_NAME,
        persistent=persistent,
        conversation_timeout=timeout,
        allow_reentry=True,
    )

    # the office chat is a group: the reason arrives there (as a reply), or in a private chat
    send_back = _conversation(
        entry_points=[CallbackQueryHandler(send_back_start, pattern=rf"^{CALLBACK_SEND_BACK}\d+\Z")],
        states={
            REASON: [
                MessageHandler(filters.TEXT & ~filters.COMMAND & filters.UpdateType.MESSAGE, send_back_reason)
            ],
            TIMEOUT: [TypeHandler(Update, _timed_out(REVIEW_KEY))],
        },
        fallbacks=[CommandHandler("cancel", send_back_cancel)],
        name=REVIEW_NAME,
        persistent=persistent,
        conversation_timeout=timeout,
        allow_reentry=True,
    )

    return [
        issue,
        CommandHandler("rectify", rectify_in_group, filters=~filters.ChatType.PRIVATE),
        answer,
        send_back,
        CallbackQueryHandler(review_accept, pattern=rf"^{CALLBACK_ACCEPT}\d+\Z"),
        # review buttons with data we never made (forged or mangled): a clear answer
        CallbackQueryHandler(_stale, pattern=r"^(rq|rc|rx):"),
    ]


async def issue_text_or_other(update: Update, context: BotContext) -> int:
    """A photo or sticker while the office writes a recommendation: the question again."""
    turn = await _turn(update, context)
    draft: IssueDraft | None = _load(IssueDraft, context, ISSUE_KEY)
    if draft is None:
        return await _lost(turn, ISSUE_KEY)
    return await _ask_issue(turn, draft, turn.t("unexpected"))
