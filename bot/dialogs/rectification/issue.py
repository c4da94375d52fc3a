"""The office issues a recommendation (整改建议书), ``/rectify UNIT_ID`` (private chat)::

PROBLEMS → PLAN_DUE → REPORT_DUE → CONFIRM       buttons rx:day:<step>:<YYYY-MM-DD>,
                                                rx:back:<step>, rx:keep:<step>,
                                                rx:cancel, rx:confirm
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Final

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
from bot.dialogs.reporting import report_service, resolve_unit
from bot.i18n import Html
from core.errors import PermissionDenied, ValidationFailed
from core.services.reports import MAX_PROBLEMS_TEXT, check_rectification_dates
from core.text import clean_text

# -- the office's recommendation dialog: states (persisted: append, never renumber) -----------
PROBLEMS, PLAN_DUE, REPORT_DUE, ISSUE_CONFIRM = range(4)
ISSUE_NAME: Final = "recommendation"
ISSUE_KEY: Final = "recommendation"
ISSUE_PREFIX: Final = "rx"
# suggested deadlines, in working days: the plan after the issue, the report after the plan
PLAN_SUGGESTIONS: Final = (5, 10)
REPORT_SUGGESTIONS: Final = (10, 20)

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


# /rectify all, /rectify 全部: every unit of the plan (the stage-3 整改建议书 to all units)
ALL_UNITS: Final = frozenset({"all", "全部", "所有单位"})
_SEPARATORS = re.compile(r"[,，、;；\s]+")
UNITS_NAMED: Final = 5  # units listed by name in a summary; the rest are counted


@dataclass(slots=True)
class IssueDraft:
    unit_id: str  # the first (or only) unit
    step: int = PROBLEMS
    problems: str = ""
    plan_due: str | None = None  # ISO dates: the draft is JSON
    report_due: str | None = None
    # several units at once (empty: just ``unit_id``); one recommendation each
    unit_ids: list[str] = field(default_factory=list)

    @property
    def units(self) -> list[str]:
        return self.unit_ids or [self.unit_id]

    def answer(self) -> str | None:
        return {PROBLEMS: self.problems or None, PLAN_DUE: self.plan_due, REPORT_DUE: self.report_due}.get(
            self.step
        )


async def rectify_start(update: Update, context: BotContext) -> int:
    """/rectify UNIT: checks the office role and the unit, asks for the problems."""
    turn = await open_turn(update, context)
    plan = context.deps.plan
    if not (await roles_of(context, turn.user_id)).office:
        await turn.send(turn.t("office_only"))
        return END
    wanted = " ".join(context.args or []).strip()
    if not wanted:
        await turn.send(turn.t("rectify_usage", units=Html(_unit_list(turn))))
        return END
    if wanted.casefold() in ALL_UNITS:
        unit_ids = [u.id for u in plan.units]
    else:
        unit_ids = []
        for part in (p for p in _SEPARATORS.split(wanted) if p):
            unit_id = resolve_unit(plan, part)
            if unit_id is None:
                text = (
                    turn.t("unknown_unit", unit=part[:60])
                    + "\n\n"
                    + turn.t("rectify_usage", units=Html(_unit_list(turn)))
                )
                await turn.send(text)
                return END
            unit_ids.append(unit_id)
        unit_ids = list(dict.fromkeys(unit_ids))
    draft = IssueDraft(unit_id=unit_ids[0], unit_ids=unit_ids if len(unit_ids) > 1 else [])
    return await _ask_issue(turn, draft)


def _units_label(turn: Turn, draft: IssueDraft) -> str:
    """One unit's name, or "N 个单位（A、B、C、D、E 等）"."""
    units = draft.units
    if len(units) == 1:
        return turn.unit(units[0])
    names = turn.t("unit_separator").join(turn.unit(u) for u in units[:UNITS_NAMED])
    key = "units_many" if len(units) <= UNITS_NAMED else "units_many_more"
    return turn.t(key, count=len(units), names=names)


def _unit_list(turn: Turn) -> str:
    return "\n".join(turn.t("unit_line", id=u.id, name=turn.unit(u.id)) for u in turn.context.deps.plan.units)


async def rectify_in_group(update: Update, context: BotContext) -> None:
    """/rectify in a group: the dialog needs a private chat (groups hide plain replies)."""
    turn = await open_turn(update, context)
    await turn.send(turn.t("private_only"))


async def _ask_issue(turn: Turn, draft: IssueDraft, note: str = "") -> int:
    save_draft(turn.context, ISSUE_KEY, draft)
    today = report_service(turn.context.deps).today()
    wd = turn.context.deps.services.working_days
    rows = turn.nav(ISSUE_PREFIX, draft.step, first=draft.step == PROBLEMS, keep=draft.answer() is not None)
    if draft.step == ISSUE_CONFIRM:
        assert draft.plan_due is not None and draft.report_due is not None
        text = turn.t(
            "issue_summary",
            unit=_units_label(turn, draft),
            problems=short(draft.problems),
            plan_due=turn.date(date.fromisoformat(draft.plan_due)),
            report_due=turn.date(date.fromisoformat(draft.report_due)),
        )
        rows = turn.nav(ISSUE_PREFIX, draft.step, first=False, keep=False, confirm=True)
        await turn.send(with_note(note, text), InlineKeyboardMarkup(rows))
        return ISSUE_CONFIRM
    if draft.step == PROBLEMS:
        text = turn.t("ask_problems", unit=_units_label(turn, draft), max=MAX_PROBLEMS_TEXT)
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
        shown = turn.date(date.fromisoformat(current)) if draft.step != PROBLEMS else short(current)
        text += "\n\n" + turn.t("current_answer", answer=shown)
    await turn.send(with_note(note, text), InlineKeyboardMarkup(rows))
    return draft.step


async def issue_text(update: Update, context: BotContext) -> int:
    """Problems (text) or a deadline (a date as typed)."""
    turn = await open_turn(update, context)
    draft: IssueDraft | None = load_draft(IssueDraft, context, ISSUE_KEY)
    message = update.effective_message
    if draft is None or message is None or message.text is None:
        return await lost(turn, ISSUE_KEY)
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


async def _deadline_given(turn: Turn, draft: IssueDraft, day: date) -> int:
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
    turn = await open_turn(update, context)
    query = update.callback_query
    draft: IssueDraft | None = load_draft(IssueDraft, context, ISSUE_KEY)
    action, arg = button_parts(update)
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


async def _issue(turn: Turn, draft: IssueDraft) -> int:
    assert draft.plan_due is not None and draft.report_due is not None
    deps = turn.context.deps
    try:
        issued = await report_service(deps).issue_recommendations(
            turn.user_id,
            draft.units,
            draft.problems,
            date.fromisoformat(draft.plan_due),
            date.fromisoformat(draft.report_due),
        )
    except PermissionDenied:
        drop_draft(turn.context, ISSUE_KEY)
        await turn.send(turn.t("office_only"))
        return END
    except ValidationFailed as err:
        # a deadline that was fine when typed has passed since (the dialog waited overnight)
        draft.step = PLAN_DUE
        return await _ask_issue(turn, draft, turn.error(err))
    deps.wake_sender()
    drop_draft(turn.context, ISSUE_KEY)
    if len(issued) == 1:
        [(rec, told)] = issued
        text = turn.t("issued", recommendation_id=rec.id, unit=turn.unit(draft.unit_id), told=told)
        if not told:
            text += "\n\n" + turn.t("no_liaison", unit_id=draft.unit_id)
    else:
        first, last = issued[0][0].id, issued[-1][0].id
        told_all = sum(told for _, told in issued)
        text = turn.t("issued_many", count=len(issued), first=first, last=last, told=told_all)
        silent = [rec.unit_id for rec, told in issued if not told]
        if silent:
            names = turn.t("unit_separator").join(turn.unit(u) for u in silent)
            text += "\n\n" + turn.t("no_liaison_many", count=len(silent), units=names)
    await turn.send(text)
    return END


async def issue_cancel(update: Update, context: BotContext) -> int:
    turn = await open_turn(update, context)
    if update.callback_query is not None:
        await update.callback_query.answer()
    drop_draft(context, ISSUE_KEY)
    await turn.send(turn.t("cancelled"))
    return END


async def issue_text_or_other(update: Update, context: BotContext) -> int:
    """A photo or sticker while the office writes a recommendation: the question again."""
    turn = await open_turn(update, context)
    draft: IssueDraft | None = load_draft(IssueDraft, context, ISSUE_KEY)
    if draft is None:
        return await lost(turn, ISSUE_KEY)
    return await _ask_issue(turn, draft, turn.t("unexpected"))


# ---------------------------------------------------------------------------------------------
# The handler


def conversation(*, persistent: bool, private: filters.BaseFilter) -> ConversationHandler[BotContext]:
    """The office's recommendation dialog."""
    messages = private & filters.UpdateType.MESSAGE
    text = filters.TEXT & ~filters.COMMAND & messages
    other = messages & ~filters.COMMAND & ~filters.StatusUpdate.ALL
    issue_steps = [
        MessageHandler(text, issue_text),
        CallbackQueryHandler(issue_button, pattern=rf"^{ISSUE_PREFIX}:(day|back|keep|confirm)(:|\Z)"),
        CallbackQueryHandler(issue_cancel, pattern=rf"^{ISSUE_PREFIX}:cancel\Z"),
    ]
    return quiet_conversation(
        entry_points=[CommandHandler("rectify", rectify_start, filters=private)],
        states={
            **{step: issue_steps for step in (PROBLEMS, PLAN_DUE, REPORT_DUE, ISSUE_CONFIRM)},
            TIMEOUT: [TypeHandler(Update, timed_out_for(ISSUE_KEY))],
        },
        fallbacks=[
            CommandHandler("cancel", issue_cancel, filters=private),
            CallbackQueryHandler(stale_button, pattern=rf"^{ISSUE_PREFIX}:"),
            MessageHandler(other, issue_text_or_other),
        ],
        name=ISSUE_NAME,
        persistent=persistent,
        conversation_timeout=timedelta(minutes=TIMEOUT_MINUTES),
        allow_reentry=True,
    )
