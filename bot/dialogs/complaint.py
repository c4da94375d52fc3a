"""The citizen's complaint dialog (SPEC §4.1): describe → area → unit → place → time → evidence
→ identity → summary → filed, with a back step, /cancel, edits from the summary and a timeout.

The dialog only collects and shows; the rules (limits, validation, routing, filing) are
``ComplaintService``'s and the classifier's. Every step is a state of one persistent
``ConversationHandler``; the draft lives in ``context.user_data`` as plain JSON, which
``bot.persistence`` writes to the database, so a restart resumes the dialog where it was.

Buttons carry ``cp:<draft id>:<step>:<action>[:<arg>]``. A step's handlers only match their own
step, and the draft id must be the current draft's, so a button from an earlier step or an
earlier dialog gets a clear answer instead of acting on the wrong draft.

State machine (``back`` pops the trail of visited steps, keeping every answer)::

    entry: /new, /complain, free text, a photo/document/voice (private chats)
    DESCRIBE --text ok--> AREA          --text out of scope--> SCOPE --file anyway--> AREA
    AREA     --confirm / pick / not sure--> UNIT --text / pick / skip--> PLACE --> TIME
    TIME     --> EVIDENCE --done / skip--> IDENTITY --contact / anonymous--> SUMMARY
    SUMMARY  --submit--> END (receipt)   --edit--> EDIT --field--> that step --> SUMMARY
    any step --/cancel--> END; no answer for TIMEOUT_MINUTES --> TIMEOUT --> END
"""

from __future__ import annotations

import contextlib
import functools
import secrets
import warnings
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any, Final

from telegram import (
    InlineKeyboardMarkup,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.error import BadRequest
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot.case_view import CaseFormatter, area_label, unit_name
from bot.context import BotContext, Deps
from bot.dialogs import keyboards
from bot.i18n import Html
from bot.language import remember_user, user_language
from bot.plan_view import AreaView, campaign_view
from core import recusal
from core.attachments import AttachmentKind
from core.errors import RateLimited, ValidationFailed
from core.plan import Plan, Unit
from core.rules import Classification
from core.services.complaints import (
    ALLOWED_DOCUMENT_TYPES,
    MAX_DESCRIPTION,
    MAX_EVIDENCE,
    MAX_FIELD,
    MAX_FILE_BYTES,
    MIN_DESCRIPTION,
    ComplaintDraft,
    Evidence,
    Filed,
    check_evidence,
)
from core.text import clean_text, strip_controls

# States (persisted as these numbers: append, never renumber).
DESCRIBE, SCOPE, AREA, UNIT, PLACE, TIME, EVIDENCE, IDENTITY, SUMMARY, EDIT = range(10)
END: Final = ConversationHandler.END
TIMEOUT: Final = ConversationHandler.TIMEOUT

NAME: Final = "complaint"  # the conversation's name in the persistence tables
DRAFT_KEY: Final = "complaint"  # the draft's key in user_data
TIMEOUT_MINUTES: Final = 30
CALLBACK_PREFIX: Final = "cp"
MAX_SUGGESTIONS: Final = 4
MAX_CUES_SHOWN: Final = 5
MAX_TRAIL: Final = 24

# The order of a first pass; the summary's "back" walks it backwards.
LINEAR: Final = (DESCRIBE, AREA, UNIT, PLACE, TIME, EVIDENCE, IDENTITY, SUMMARY)
NEXT: Final = dict(pairwise(LINEAR))
EDIT_TARGETS: Final = {
    "description": DESCRIBE,
    "area": AREA,
    "unit": UNIT,
    "place": PLACE,
    "time": TIME,
    "evidence": EVIDENCE,
    "identity": IDENTITY,
}

MB: Final = 1024 * 1024
# How the allowed document types are named to citizens (the service decides what is allowed).
DOCUMENT_TYPE_NAMES: Final = {
    "application/pdf": "PDF",
    "application/msword": "Word",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "Word",
    "application/vnd.ms-excel": "Excel",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "Excel",
    "image/jpeg": "JPG",
    "image/png": "PNG",
    "image/webp": "WEBP",
    "image/heic": "HEIC",
    "text/plain": "TXT",
    "audio/ogg": "OGG",
    "audio/mpeg": "MP3",
    "audio/mp4": "M4A",
    "video/mp4": "MP4",
}

Callback = Callable[[Update, BotContext], Coroutine[Any, Any, object]]


# ---------------------------------------------------------------------------------------------
# The draft: what the citizen told us so far, as JSON in user_data


@dataclass(slots=True)
class Draft:
    id: str  # in every button of this dialog: buttons of another dialog are stale
    touched: str  # ISO time of the last answer, for the timeout after a restart
    trail: list[int] = field(default_factory=lambda: [DESCRIBE])  # visited steps, current last
    description: str = ""
    # what the classifier made of the description
    area_auto: str | None = None
    confidence: float | None = None
    cues: list[str] = field(default_factory=list)
    runner_up: str | None = None
    unsure_auto: bool = True  # the classifier wants the citizen to pick
    out_of_scope: bool = False
    # the citizen's answers
    area: str | None = None
    area_chosen: bool = False  # False until confirmed, picked or "not sure"
    target_text: str = ""
    target_unit_id: str | None = None
    suggestions: list[str] = field(default_factory=list)  # unit ids behind the pick:<i> buttons
    suggested_for_typed: bool = False
    place: str = ""
    occurred: str = ""
    evidence: list[dict[str, Any]] = field(default_factory=list)
    anonymous: bool | None = None  # None: not asked yet
    phone: str | None = None
    editing: bool = False  # came from the summary's edit: go back there after the step
    keyboard: bool = False  # the identity reply keyboard is showing and must be removed

    @classmethod
    def new(cls, now: datetime) -> Draft:
        return cls(id=secrets.token_hex(3), touched=now.isoformat())

    @classmethod
    def from_json(cls, data: object) -> Draft | None:
        """The stored draft, or None when there is none or it no longer fits this code."""
        if not isinstance(data, dict):
            return None
        known = {f.name for f in fields(cls)}
        try:
            draft = cls(**{k: v for k, v in data.items() if k in known})
        except TypeError:
            return None
        return draft if draft.trail else None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def expired(self, now: datetime) -> bool:
        try:
            touched = datetime.fromisoformat(self.touched)
        except ValueError:
            return True
        return now - touched > timedelta(minutes=TIMEOUT_MINUTES)

    def classified(self, result: Classification) -> None:
        self.area_auto = result.area
        self.confidence = round(result.confidence, 4)
        self.cues = list(result.cues)
        self.runner_up = result.runner_up
        self.unsure_auto = result.needs_choice
        self.out_of_scope = is_out_of_scope(result)
        self.area, self.area_chosen = None, False

    def evidence_items(self) -> tuple[Evidence, ...]:
        return tuple(
            Evidence(
                file_id=str(item["file_id"]),
                file_unique_id=str(item["file_unique_id"]),
                kind=AttachmentKind(item["kind"]),
                mime=item.get("mime"),
                size=item.get("size"),
                file_name=item.get("file_name"),
            )
            for item in self.evidence
        )

    def to_complaint(self) -> ComplaintDraft:
        shared = self.anonymous is False and self.phone is not None
        return ComplaintDraft(
            description=self.description,
            area=self.area,
            area_auto=self.area_auto,
            confidence=self.confidence,
            cues=tuple(self.cues),
            target_text=self.target_text,
            target_unit_id=self.target_unit_id,
            place=self.place,
            occurred=self.occurred,
            evidence=self.evidence_items(),
            anonymous=not shared,
            phone=self.phone if shared else None,
            submission_key=self.id,  # a retried confirm of this draft files the same case
        )


def is_out_of_scope(result: Classification) -> bool:
    """Confidently not about government service (a private dispute, a greeting, thanks). An
    unsure "no area" is not out of scope: the citizen picks the area instead."""
    return result.area is None and not result.needs_choice


def description_problem(text: str) -> tuple[str, dict[str, int]] | None:
    """The catalogue key and parameters telling why ``text`` cannot be the description."""
    if len(text) < MIN_DESCRIPTION:
        return "too_short", {"min": MIN_DESCRIPTION}
    if len(text) > MAX_DESCRIPTION:
        return "too_long", {"max": MAX_DESCRIPTION, "length": len(text)}
    return None


# ---------------------------------------------------------------------------------------------
# Units named in free text: core.recusal reads them (the same reading keeps the unit complained
# about out of its own case), here they become the unit step's suggestions


def suggest_units(plan: Plan, text: str, limit: int = MAX_SUGGESTIONS) -> list[Unit]:
    """Units whose name or alias the text mentions, the most specific match first."""
    return recusal.suggest_units(plan, text, limit)


def unit_named(plan: Plan, text: str) -> Unit | None:
    """The unit whose name (or alias) is exactly ``text``."""
    return recusal.unit_named(plan, text)


# ---------------------------------------------------------------------------------------------
# One update inside the dialog


def button_data(draft_id: str, step: int, action: str) -> str:
    return f"{CALLBACK_PREFIX}:{draft_id}:{step}:{action}"


def button_pattern(step: int, action: str) -> str:
    return rf"^{CALLBACK_PREFIX}:[0-9a-f]+:{step}:{action}(:[\w.-]+)?$"


@dataclass(slots=True)
class Turn:
    """The update being handled, the user's language and their draft."""

    update: Update
    context: BotContext
    lang: str
    draft: Draft
    arg: str | None = None  # the argument of the pressed button (pick:<arg>)
    finished: bool = False

    @property
    def deps(self) -> Deps:
        return self.context.deps

    @property
    def plan(self) -> Plan:
        return self.deps.plan

    @property
    def message(self) -> Message | None:
        return self.update.effective_message if self.update.callback_query is None else None

    @property
    def user_id(self) -> int:
        user = self.update.effective_user
        assert user is not None  # private chats only: there is always a sender
        return user.id

    def t(self, key: str, /, **params: Any) -> str:
        return self.deps.catalogue.t(self.lang, f"complaint.{key}", **params)

    def label(self, key: str) -> str:
        return self.t(f"button.{key}")

    def press(self, step: int) -> Callable[[str], str]:
        return functools.partial(button_data, self.draft.id, step)

    async def send(self, text: str, markup: InlineKeyboardMarkup | ReplyKeyboardMarkup | None = None) -> None:
        chat = self.update.effective_chat
        if chat is None:
            return
        reply_markup: InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None = markup
        if markup is None and self.draft.keyboard:
            # the identity keyboard would otherwise stay under every later message
            reply_markup = ReplyKeyboardRemove()
            self.draft.keyboard = False
        await self.context.bot.send_message(chat.id, text, reply_markup=reply_markup)

    def save(self) -> None:
        if self.finished or self.context.user_data is None:
            return
        self.draft.touched = self.deps.clock.now().isoformat()
        del self.draft.trail[:-MAX_TRAIL]
        self.context.user_data[DRAFT_KEY] = self.draft.to_json()

    def finish(self) -> int:
        """End the dialog and forget the draft."""
        self.finished = True
        if self.context.user_data is not None:
            self.context.user_data.pop(DRAFT_KEY, None)
        return END


Step = Callable[[Turn], Awaitable[object]]


def entry(fn: Step) -> Callback:
    """A way into the dialog: a fresh draft (any old one is dropped)."""

    @functools.wraps(fn)
    async def callback(update: Update, context: BotContext) -> object:
        # remember the user (and their Telegram language) before anything is filed: a citizen
        # whose first message is a complaint must not be stored with the default language
        user = update.effective_user
        chat = update.effective_chat
        if user is not None:
            lang = await remember_user(context, user, chat.id if chat else None)
        else:
            lang = await user_language(update, context)
        old = Draft.from_json((context.user_data or {}).get(DRAFT_KEY))
        turn = Turn(update, context, lang, Draft.new(context.deps.clock.now()))
        turn.draft.keyboard = old.keyboard if old else False
        result = await fn(turn)
        turn.save()
        return result

    return callback


def on_update(fn: Step) -> Callback:
    """A step's callback: loads the draft; a draft that is gone or too old is said so."""

    @functools.wraps(fn)
    async def callback(update: Update, context: BotContext) -> object:
        lang = await user_language(update, context)
        draft = Draft.from_json((context.user_data or {}).get(DRAFT_KEY))
        if draft is None or draft.expired(context.deps.clock.now()):
            return await _lost(update, context, lang, draft)
        turn = Turn(update, context, lang, draft)
        result = await fn(turn)
        turn.save()
        return result

    return callback


class StaleButton(Exception):
    """Raised by a button's step when its argument was never offered (stale or forged)."""


def on_button(*, strip: bool = True) -> Callable[[Step], Callback]:
    """A button's callback: refuses buttons of another dialog (or ones whose step raises
    ``StaleButton``) with an alert, stops the spinner, and (with ``strip``) takes the buttons off
    the pressed message, which has done its job. A refused press leaves the step as it was."""

    def decorate(fn: Step) -> Callback:
        @functools.wraps(fn)
        async def pressed(turn: Turn) -> object:
            query = turn.update.callback_query
            assert query is not None
            parts = (query.data or "").split(":", 4)
            turn.arg = parts[4] if len(parts) == 5 else None
            try:
                if len(parts) < 4 or parts[1] != turn.draft.id:
                    raise StaleButton
                result = await fn(turn)
            except StaleButton:
                await query.answer(turn.t("stale_button"), show_alert=True)
                return None
            # answered after the step, so a refusal above can still be the one answer
            await query.answer()
            if strip:
                with contextlib.suppress(BadRequest):  # too old to edit, or already without buttons
                    await query.edit_message_reply_markup(reply_markup=None)
            return result

        return on_update(pressed)

    return decorate


async def _lost(update: Update, context: BotContext, lang: str, draft: Draft | None) -> object:
    """The conversation has a state but no usable draft: it timed out while we were down, or the
    draft was lost. Say so; a new text or file starts a new complaint right away."""
    catalogue = context.deps.catalogue
    if context.user_data is not None:
        context.user_data.pop(DRAFT_KEY, None)
    key = "complaint.timeout" if draft is not None else "complaint.draft_lost"
    text = catalogue.t(lang, key, minutes=TIMEOUT_MINUTES)
    quiet = draft is not None and draft.trail[-1] == SCOPE  # we never took that message up
    query = update.callback_query
    if query is not None:
        await query.answer(text, show_alert=True)
        return END
    chat = update.effective_chat
    if chat is not None and not quiet:
        markup = ReplyKeyboardRemove() if draft is not None and draft.keyboard else None
        await context.bot.send_message(chat.id, text, reply_markup=markup)
    message = update.effective_message
    if message is not None and message.text and not message.text.startswith("/"):
        return await start_from_text(update, context)
    if message is not None and _evidence_of(message) is not None:
        return await start_from_evidence(update, context)
    return END


# ---------------------------------------------------------------------------------------------
# Moving between steps


async def goto(turn: Turn, step: int, note: str = "") -> int:
    """Ask ``step``, remembering it on the trail."""
    trail = turn.draft.trail
    if not trail or trail[-1] != step:
        trail.append(step)
    return await ASK[step](turn, note)


async def proceed(turn: Turn, done: int) -> int:
    """After answering ``done``: the next step, or the summary when editing from it."""
    return await goto(turn, SUMMARY if turn.draft.editing else NEXT[done])


@on_button()
async def go_back(turn: Turn) -> int:
    """Back: the previous step, its answer kept."""
    return await _back(turn)


async def _back(turn: Turn) -> int:
    trail = turn.draft.trail
    if len(trail) > 1:
        trail.pop()
    return await ASK[trail[-1]](turn, "")


def _current(turn: Turn, value: str) -> str:
    return "\n\n" + turn.t("current", value=value) if value else ""


def _with_note(note: str, text: str) -> str:
    return f"{note}\n\n{text}" if note else text


# ---------------------------------------------------------------------------------------------
# Prompts: what each step asks (``note`` goes first, e.g. why the last answer was refused)


async def ask_describe(turn: Turn, note: str = "") -> int:
    d = turn.draft
    can_keep = bool(d.description) and description_problem(d.description) is None
    if can_keep:
        text = turn.t("describe_again", description=d.description)
    elif d.evidence:
        text = turn.t("describe_after_media", count=len(d.evidence), min=MIN_DESCRIPTION, max=MAX_DESCRIPTION)
    else:
        text = turn.t("ask_description", min=MIN_DESCRIPTION, max=MAX_DESCRIPTION)
    await turn.send(
        _with_note(note, text), keyboards.describe(turn.label, turn.press(DESCRIBE), can_keep=can_keep)
    )
    return DESCRIBE


async def ask_scope(turn: Turn, note: str = "") -> int:
    english = turn.lang == "en"
    lines = [
        turn.t(
            "channel_line",
            number=ch.number,
            name=ch.name_en if english else ch.name_zh,
            when=ch.when_en if english else ch.when_zh,
        )
        for ch in turn.plan.out_of_scope.channels
    ]
    text = turn.t("out_of_scope", channels=Html("\n".join(lines)))
    await turn.send(_with_note(note, text), keyboards.out_of_scope(turn.label, turn.press(SCOPE)))
    return SCOPE


def _areas(turn: Turn) -> dict[str, AreaView]:
    return {a.id: a for a in campaign_view(turn.plan, turn.lang).areas}


def _area_text(turn: Turn, area_id: str | None) -> str:
    area = _areas(turn).get(area_id) if area_id else None
    if area is None:
        return turn.t("area_unsure")
    # 一、二 … read as numbers only in Chinese
    numeral = area.numeral if turn.lang == "zh" else str(area.number)
    return turn.t("area_line", numeral=numeral, plain=area.plain)


def _show_cue(cue: str) -> str:
    # the plan's cue syntax (=whole message, word*) means nothing to a citizen
    return cue.lstrip("=").replace("*", "")


async def ask_area(turn: Turn, note: str = "", *, listing: bool = False) -> int:
    d = turn.draft
    proposed = d.area if d.area_chosen else d.area_auto
    propose = not listing and proposed is not None and (d.area_chosen or not d.unsure_auto)
    if propose:
        cues = d.cues[:MAX_CUES_SHOWN] if proposed == d.area_auto else []
        cue_line = (
            turn.t("area_cues", cues=turn.t("separator").join(_show_cue(c) for c in cues)) if cues else ""
        )
        text = turn.t("area_proposed", area=_area_text(turn, proposed), cues=Html(cue_line))
        markup = keyboards.area_proposed(turn.label, turn.press(AREA))
    else:
        areas = _areas(turn)
        guesses = [a for a in dict.fromkeys((d.area_auto, d.runner_up)) if a in areas]
        guess_line = (
            turn.t("area_guesses", guesses=turn.t("separator").join(_area_text(turn, a) for a in guesses))
            if guesses
            else ""
        )
        listed = "\n".join(_area_text(turn, a) for a in areas)
        text = turn.t("area_choose", areas=Html(listed), guesses=Html(guess_line))
        if d.area_chosen and d.area is None:
            text += _current(turn, turn.t("area_unsure"))
        buttons = [(a, area_label(turn.plan, turn.deps.catalogue, turn.lang, a)) for a in areas]
        markup = keyboards.area_list(turn.label, turn.press(AREA), buttons)
    text = _with_note(note, text)
    query = turn.update.callback_query
    if listing and query is not None:
        # "pick another" turns the proposal into the list in place
        try:
            await query.edit_message_text(text, reply_markup=markup)
            return AREA
        except BadRequest:
            pass
    await turn.send(text, markup)
    return AREA


async def ask_unit(turn: Turn, note: str = "") -> int:
    d = turn.draft
    units = suggest_units(turn.plan, d.description)
    d.suggestions, d.suggested_for_typed = [u.id for u in units], False
    text = turn.t("ask_unit", max=MAX_FIELD)
    if units:
        text += "\n\n" + turn.t("unit_suggested")
    text += _current(turn, _unit_text(turn))
    markup = keyboards.unit(
        turn.label,
        turn.press(UNIT),
        [_unit_name(turn, u) for u in units],
        typed=False,
        can_keep=bool(d.target_text),
    )
    await turn.send(_with_note(note, text), markup)
    return UNIT


async def ask_unit_match(turn: Turn, units: list[Unit]) -> int:
    """The typed text is close to some of the plan's units: which one, if any?"""
    d = turn.draft
    d.suggestions, d.suggested_for_typed = [u.id for u in units], True
    text = turn.t("unit_which", text=d.target_text)
    markup = keyboards.unit(
        turn.label, turn.press(UNIT), [_unit_name(turn, u) for u in units], typed=True, can_keep=False
    )
    await turn.send(text, markup)
    return UNIT


def _unit_name(turn: Turn, unit: Unit) -> str:
    return unit_name(turn.plan, turn.lang, unit.id)


def _unit_text(turn: Turn) -> str:
    d = turn.draft
    unit = _plan_unit(turn.plan, d.target_unit_id)
    if unit is None:
        return d.target_text
    name = _unit_name(turn, unit)
    if not d.target_text or d.target_text in (unit.name, name):
        return name
    return turn.t("unit_with_match", text=d.target_text, unit=name)


def _plan_unit(plan: Plan, unit_id: str | None) -> Unit | None:
    if unit_id is None:
        return None
    return next((u for u in plan.units if u.id == unit_id), None)


async def ask_place(turn: Turn, note: str = "") -> int:
    text = turn.t("ask_place", max=MAX_FIELD) + _current(turn, turn.draft.place)
    markup = keyboards.optional_field(turn.label, turn.press(PLACE), can_keep=bool(turn.draft.place))
    await turn.send(_with_note(note, text), markup)
    return PLACE


async def ask_time(turn: Turn, note: str = "") -> int:
    text = turn.t("ask_time", max=MAX_FIELD) + _current(turn, turn.draft.occurred)
    markup = keyboards.optional_field(turn.label, turn.press(TIME), can_keep=bool(turn.draft.occurred))
    await turn.send(_with_note(note, text), markup)
    return TIME


def document_types() -> str:
    names = [DOCUMENT_TYPE_NAMES[m] for m in DOCUMENT_TYPE_NAMES if m in ALLOWED_DOCUMENT_TYPES]
    names += sorted(m for m in ALLOWED_DOCUMENT_TYPES if m not in DOCUMENT_TYPE_NAMES)
    return ", ".join(dict.fromkeys(names))


async def ask_evidence(turn: Turn, note: str = "") -> int:
    count = len(turn.draft.evidence)
    text = turn.t("ask_evidence", max_files=MAX_EVIDENCE, max_mb=MAX_FILE_BYTES // MB, types=document_types())
    if count:
        text += "\n\n" + turn.t("evidence_so_far", count=count, max_files=MAX_EVIDENCE)
    await turn.send(_with_note(note, text), keyboards.evidence(turn.label, turn.press(EVIDENCE), count=count))
    return EVIDENCE


async def ask_identity(turn: Turn, note: str = "") -> int:
    d = turn.draft
    text = turn.t("ask_identity")
    if d.anonymous is not None:
        text += _current(turn, _identity_text(turn))
    await turn.send(_with_note(note, text), keyboards.identity(turn.label))
    d.keyboard = True
    return IDENTITY


def _identity_text(turn: Turn) -> str:
    d = turn.draft
    if d.anonymous is False and d.phone:
        return turn.t("identity_phone", phone=d.phone)
    return turn.t("identity_anonymous")


async def ask_summary(turn: Turn, note: str = "") -> int:
    d = turn.draft
    d.trail, d.editing = list(LINEAR), False
    missing = turn.t("not_given")
    text = turn.t(
        "summary",
        description=d.description,
        area=area_label(turn.plan, turn.deps.catalogue, turn.lang, d.area)
        if d.area
        else turn.t("area_unsure"),
        unit=_unit_text(turn) or missing,
        place=d.place or missing,
        occurred=d.occurred or missing,
        evidence=turn.t("evidence_count", count=len(d.evidence)) if d.evidence else missing,
        identity=_identity_text(turn),
    )
    await turn.send(_with_note(note, text), keyboards.summary(turn.label, turn.press(SUMMARY)))
    return SUMMARY


async def ask_edit(turn: Turn, note: str = "") -> int:
    await turn.send(_with_note(note, turn.t("ask_edit")), keyboards.edit(turn.label, turn.press(EDIT)))
    return EDIT


Asker = Callable[[Turn, str], Awaitable[int]]
ASK: Final[dict[int, Asker]] = {
    DESCRIBE: ask_describe,
    SCOPE: ask_scope,
    AREA: ask_area,
    UNIT: ask_unit,
    PLACE: ask_place,
    TIME: ask_time,
    EVIDENCE: ask_evidence,
    IDENTITY: ask_identity,
    SUMMARY: ask_summary,
    EDIT: ask_edit,
}


# ---------------------------------------------------------------------------------------------
# Entry


async def _may_file(turn: Turn) -> bool:
    """Today's limit, checked before the citizen spends any effort."""
    complaints = turn.deps.services.complaints
    if await complaints.remaining_today(turn.user_id) > 0:
        return True
    phone = turn.plan.campaign.office.phone
    await turn.send(turn.t("limit_reached", limit=complaints.daily_limit, phone=phone))
    return False


@entry
async def start_new(turn: Turn) -> int:
    """/new, /complain: checks today's limit; asks what happened."""
    if not await _may_file(turn):
        return turn.finish()
    return await ask_describe(turn)


@entry
async def start_from_text(turn: Turn) -> int:
    """Free text: out of scope gets the right channel; otherwise it is the description."""
    message = turn.message
    assert message is not None and message.text is not None
    return await take_description(turn, message.text, check_limit=True)


@entry
async def start_from_evidence(turn: Turn) -> int:
    """A photo, document or voice first: kept as evidence; asks for a description."""
    if not await _may_file(turn):
        return turn.finish()
    return await _first_evidence(turn)


async def take_description(turn: Turn, text: str, *, check_limit: bool) -> int:
    """Classifies the text; stores it as the description when it can be one; asks next."""
    d = turn.draft
    cleaned = clean_text(text, limit=len(text))  # the length is judged below, with a kinder text
    result = turn.deps.services.classifier.classify(cleaned)
    if d.trail and d.trail[-1] == SCOPE:
        d.trail.pop()  # a new text replaces the one that was out of scope
    if is_out_of_scope(result):
        d.description = cleaned
        d.classified(result)
        return await goto(turn, SCOPE)
    if check_limit and not await _may_file(turn):
        return turn.finish()
    problem = description_problem(cleaned)
    if problem is not None:
        key, params = problem
        return await goto(turn, DESCRIBE, turn.t(key, **params))
    d.description = cleaned
    d.classified(result)
    return await goto(turn, AREA)


async def _first_evidence(turn: Turn) -> int:
    message = turn.message
    assert message is not None
    refusal = _add_evidence(turn, message)
    if refusal is None and message.caption:
        return await take_description(turn, message.caption, check_limit=False)
    if refusal is None and turn.draft.description:
        # the prompt below asks to keep the description; say the file arrived too
        refusal = turn.t("evidence_added", count=len(turn.draft.evidence), max_files=MAX_EVIDENCE)
    return await goto(turn, DESCRIBE, refusal or "")


# ---------------------------------------------------------------------------------------------
# Steps


@on_update
async def description_given(turn: Turn) -> int:
    """Stores the description (or says why not); shows the area it suggests."""
    message = turn.message
    assert message is not None and message.text is not None
    # after a chat message (SCOPE) the limit was never checked; while editing it does not apply
    return await take_description(turn, message.text, check_limit=not turn.draft.editing)


@on_update
async def description_evidence(turn: Turn) -> int:
    """A file while describing: kept as evidence; asks for the text still missing."""
    return await _first_evidence(turn)


@on_button()
async def description_kept(turn: Turn) -> int:
    """Keeps the description; back to where the citizen was going."""
    d = turn.draft
    if d.editing and not d.out_of_scope:
        return await goto(turn, SUMMARY)
    return await goto(turn, SCOPE if d.out_of_scope else AREA)


@on_button()
async def file_anyway(turn: Turn) -> int:
    """ "It is about a government unit": on to the area list (or a fuller description)."""
    d = turn.draft
    if d.trail and d.trail[-1] == SCOPE:
        d.trail.pop()
    if not d.editing and not await _may_file(turn):
        return turn.finish()
    d.out_of_scope = False
    problem = description_problem(d.description)
    if problem is not None:
        key, params = problem
        d.description = ""
        return await goto(turn, DESCRIBE, turn.t(key, **params))
    return await goto(turn, AREA)


@on_button()
async def area_confirmed(turn: Turn) -> int:
    """Stores the proposed area; asks which unit."""
    d = turn.draft
    d.area, d.area_chosen = (d.area if d.area_chosen else d.area_auto), True
    return await proceed(turn, AREA)


@on_button(strip=False)
async def area_other(turn: Turn) -> int:
    """Shows the five areas to pick from."""
    return await ask_area(turn, listing=True)


@on_button()
async def area_picked(turn: Turn) -> object:
    """Stores the picked area; asks which unit."""
    if turn.arg not in _areas(turn):
        raise StaleButton
    turn.draft.area, turn.draft.area_chosen = turn.arg, True
    return await proceed(turn, AREA)


@on_button()
async def area_unsure(turn: Turn) -> int:
    """No area: the office triages. Asks which unit."""
    turn.draft.area, turn.draft.area_chosen = None, True
    return await proceed(turn, AREA)


@on_update
async def unit_given(turn: Turn) -> object:
    """Stores the unit as typed; a plan unit named exactly is linked, near ones are offered."""
    text = await _field_text(turn, ask_unit)
    if text is None:
        return None
    d = turn.draft
    d.target_text, d.target_unit_id = text, None
    exact = unit_named(turn.plan, text)
    if exact is not None:
        d.target_unit_id = exact.id
        return await proceed(turn, UNIT)
    near = suggest_units(turn.plan, text)
    if near:
        return await ask_unit_match(turn, near)
    return await proceed(turn, UNIT)


@on_button()
async def unit_picked(turn: Turn) -> object:
    """Links the suggested unit; asks where."""
    d = turn.draft
    index = int(turn.arg) if turn.arg and turn.arg.isdigit() else -1
    unit = _plan_unit(turn.plan, d.suggestions[index]) if 0 <= index < len(d.suggestions) else None
    if unit is None:
        raise StaleButton
    d.target_unit_id = unit.id
    if not d.suggested_for_typed:
        d.target_text = unit.name
    return await proceed(turn, UNIT)


@on_button()
async def unit_none(turn: Turn) -> int:
    """None of the suggestions: the typed text stays, unlinked. Asks where."""
    turn.draft.target_unit_id = None
    return await proceed(turn, UNIT)


@on_button()
async def unit_skipped(turn: Turn) -> int:
    """The citizen does not know the unit. Asks where."""
    turn.draft.target_text, turn.draft.target_unit_id = "", None
    return await proceed(turn, UNIT)


@on_button()
async def unit_kept(turn: Turn) -> int:
    return await proceed(turn, UNIT)


async def _field_text(turn: Turn, asker: Asker) -> str | None:
    """The message's text, cleaned, or None after asking again (too long, empty)."""
    message = turn.message
    assert message is not None and message.text is not None
    try:
        text = clean_text(message.text, limit=MAX_FIELD)
    except ValidationFailed:
        await asker(turn, turn.t("field_too_long", max=MAX_FIELD, length=len(message.text)))
        return None
    if not text:
        await asker(turn, turn.t("field_empty"))
        return None
    return text


@on_update
async def place_given(turn: Turn) -> object:
    """Stores the place; asks when."""
    text = await _field_text(turn, ask_place)
    if text is None:
        return None
    turn.draft.place = text
    return await proceed(turn, PLACE)


@on_button()
async def place_skipped(turn: Turn) -> int:
    turn.draft.place = ""
    return await proceed(turn, PLACE)


@on_button()
async def place_kept(turn: Turn) -> int:
    return await proceed(turn, PLACE)


@on_update
async def time_given(turn: Turn) -> object:
    """Stores when it happened; asks for evidence."""
    text = await _field_text(turn, ask_time)
    if text is None:
        return None
    turn.draft.occurred = text
    return await proceed(turn, TIME)


@on_button()
async def time_skipped(turn: Turn) -> int:
    turn.draft.occurred = ""
    return await proceed(turn, TIME)


@on_button()
async def time_kept(turn: Turn) -> int:
    return await proceed(turn, TIME)


def _evidence_of(message: Message) -> Evidence | None:
    if message.photo:
        photo = message.photo[-1]  # the largest size
        return Evidence(
            photo.file_id, photo.file_unique_id, AttachmentKind.PHOTO, "image/jpeg", photo.file_size
        )
    if message.document:
        doc = message.document
        return Evidence(
            doc.file_id,
            doc.file_unique_id,
            AttachmentKind.DOCUMENT,
            doc.mime_type,
            doc.file_size,
            strip_controls(doc.file_name) if doc.file_name else None,
        )
    if message.voice:
        voice = message.voice
        return Evidence(
            voice.file_id, voice.file_unique_id, AttachmentKind.VOICE, voice.mime_type, voice.file_size
        )
    return None


def _add_evidence(turn: Turn, message: Message) -> str | None:
    """Keeps the message's file; returns why not, as a text for the citizen."""
    item = _evidence_of(message)
    if item is None:
        return turn.t("evidence_wrong_kind")
    d = turn.draft
    if any(e.get("file_unique_id") == item.file_unique_id for e in d.evidence):
        return turn.t("evidence_duplicate")
    if len(d.evidence) >= MAX_EVIDENCE:
        return turn.t("evidence_full", max_files=MAX_EVIDENCE)
    try:
        check_evidence(item)
    except ValidationFailed as exc:
        if exc.params.get("reason") == "too_big":
            size_mb = f"{(item.size or 0) / MB:.1f}"
            return turn.t("evidence_too_big", size_mb=size_mb, max_mb=MAX_FILE_BYTES // MB)
        return turn.t("evidence_bad_type", mime=item.mime or "?", types=document_types())
    d.evidence.append({**asdict(item), "kind": item.kind.value})
    return None


@on_update
async def evidence_added(turn: Turn) -> object:
    """Keeps the file and counts it, or says why not; the citizen goes on either way."""
    message = turn.message
    assert message is not None
    refusal = _add_evidence(turn, message)
    count = len(turn.draft.evidence)
    text = refusal or turn.t("evidence_added", count=count, max_files=MAX_EVIDENCE)
    await turn.send(text, keyboards.evidence(turn.label, turn.press(EVIDENCE), count=count))
    return None


@on_update
async def evidence_text(turn: Turn) -> int:
    """Text while collecting files: says how to send them or go on."""
    return await ask_evidence(turn, turn.t("evidence_wrong_kind"))


@on_button()
async def evidence_done(turn: Turn) -> int:
    """Done (or no evidence): asks about identity."""
    return await proceed(turn, EVIDENCE)


@on_update
async def contact_shared(turn: Turn) -> object:
    """Stores the citizen's own phone number; shows the summary. Someone else's is refused."""
    message = turn.message
    assert message is not None and message.contact is not None
    if message.contact.user_id != turn.user_id:
        return await ask_identity(turn, turn.t("identity_not_own"))
    turn.draft.anonymous, turn.draft.phone = False, message.contact.phone_number
    await turn.send(turn.t("identity_phone_set"))
    return await proceed(turn, IDENTITY)


def _labels(turn: Turn, key: str) -> set[str]:
    catalogue = turn.deps.catalogue
    return {catalogue.t(lang, f"complaint.button.{key}") for lang in catalogue.languages}


@on_update
async def identity_text(turn: Turn) -> object:
    """The keyboard's "anonymous" or "back" (they arrive as text); anything else: the buttons."""
    message = turn.message
    assert message is not None and message.text is not None
    answer = message.text.strip()
    if answer in _labels(turn, "anonymous"):
        turn.draft.anonymous, turn.draft.phone = True, None
        await turn.send(turn.t("identity_anonymous_set"))
        return await proceed(turn, IDENTITY)
    if answer in _labels(turn, "back"):
        await turn.send(turn.t("back_ack"))
        return await _back(turn)
    return await ask_identity(turn, turn.t("identity_use_buttons"))


@on_button()
async def submitted(turn: Turn) -> object:
    """Files the complaint; sends the receipt."""
    complaints = turn.deps.services.complaints
    try:
        filed = await complaints.file(turn.user_id, turn.draft.to_complaint())
    except RateLimited:
        phone = turn.plan.campaign.office.phone
        await turn.send(turn.t("limit_reached", limit=complaints.daily_limit, phone=phone))
        return turn.finish()
    except ValidationFailed as exc:
        return await ask_summary(turn, turn.deps.catalogue.t(turn.lang, exc.key))
    await turn.send(receipt(turn, filed))
    return turn.finish()


def receipt(turn: Turn, filed: Filed) -> str:
    """Tracking number, area, lead units and deadlines, formatted as /my shows them."""
    case, routing = filed.case, filed.routing
    area = area_label(turn.plan, turn.deps.catalogue, turn.lang, case.area_final)
    if routing.needs_triage:
        return turn.t("receipt_triage", tracking_no=case.tracking_no, area=area)
    clock = turn.deps.clock
    fmt = CaseFormatter(
        turn.deps.catalogue, turn.plan, turn.lang, clock.tz, turn.deps.services.deadlines, clock.now().date()
    )
    return turn.t(
        "receipt",
        tracking_no=case.tracking_no,
        area=area,
        units=fmt.units(routing.lead_unit_ids),
        sign_due=fmt.format_date(case.sign_due) if case.sign_due else turn.t("not_given"),
        answer_due=fmt.format_date(case.answer_due) if case.answer_due else turn.t("not_given"),
    )


@on_button()
async def edit_chosen(turn: Turn) -> int:
    """Asks which field to change."""
    return await goto(turn, EDIT)


@on_button()
async def field_chosen(turn: Turn) -> object:
    """Asks that field's step again; its answer leads back to the summary."""
    step = EDIT_TARGETS.get(turn.arg or "")
    if step is None:
        raise StaleButton
    turn.draft.editing = True
    return await goto(turn, step)


@on_button()
async def summary_cancelled(turn: Turn) -> int:
    await turn.send(turn.t("cancelled"))
    return turn.finish()


# ---------------------------------------------------------------------------------------------
# Everywhere


async def cancel(update: Update, context: BotContext) -> int:
    """/cancel: drops the draft, whatever the step."""
    lang = await user_language(update, context)
    draft = Draft.from_json((context.user_data or {}).pop(DRAFT_KEY, None))
    chat = update.effective_chat
    if chat is not None:
        markup = ReplyKeyboardRemove() if draft is not None and draft.keyboard else None
        await context.bot.send_message(
            chat.id, context.deps.catalogue.t(lang, "complaint.cancelled"), reply_markup=markup
        )
    return END


@on_update
async def unexpected(turn: Turn) -> None:
    """A sticker, a location, text where a button is needed...: the step's question again."""
    await ASK[turn.draft.trail[-1]](turn, turn.t("unexpected"))


async def stale_button(update: Update, context: BotContext) -> None:
    """A button of an earlier step or an earlier dialog."""
    query = update.callback_query
    if query is None:
        return
    lang = await user_language(update, context)
    await query.answer(context.deps.catalogue.t(lang, "complaint.stale_button"), show_alert=True)


async def timed_out(update: Update, context: BotContext) -> None:
    """No answer for TIMEOUT_MINUTES: drops the draft and says so (silently for a message we
    never took up as a complaint)."""
    draft = Draft.from_json(context.user_data.pop(DRAFT_KEY, None) if context.user_data is not None else None)
    user, chat = update.effective_user, update.effective_chat
    if user is not None:
        # a job, not an update: nothing marks this user's data as changed otherwise
        context.application.mark_data_for_update_persistence(user_ids=user.id)
    if draft is None or chat is None or draft.trail[-1] == SCOPE:
        return
    lang = await user_language(update, context)
    text = context.deps.catalogue.t(lang, "complaint.timeout", minutes=TIMEOUT_MINUTES)
    await context.bot.send_message(
        chat.id, text, reply_markup=ReplyKeyboardRemove() if draft.keyboard else None
    )


# ---------------------------------------------------------------------------------------------
# The handler


def conversation(*, persistent: bool = True) -> ConversationHandler[BotContext]:
    """The complaint dialog. ``persistent`` needs the application to have a persistence."""
    private = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
    text = filters.TEXT & ~filters.COMMAND & private
    files = (filters.PHOTO | filters.Document.ALL | filters.VOICE) & private

    def button(step: int, action: str, callback: Callback) -> CallbackQueryHandler[BotContext, object]:
        return CallbackQueryHandler(callback, pattern=button_pattern(step, action))

    def back(step: int) -> CallbackQueryHandler[BotContext, object]:
        return button(step, "back", go_back)

    states: dict[object, list[Any]] = {
        DESCRIBE: [
            MessageHandler(text, description_given),
            MessageHandler(files, description_evidence),
            button(DESCRIBE, "keep", description_kept),
        ],
        SCOPE: [
            MessageHandler(text, description_given),
            button(SCOPE, "anyway", file_anyway),
            back(SCOPE),
        ],
        AREA: [
            button(AREA, "ok", area_confirmed),
            button(AREA, "other", area_other),
            button(AREA, "pick", area_picked),
            button(AREA, "unsure", area_unsure),
            back(AREA),
        ],
        UNIT: [
            MessageHandler(text, unit_given),
            button(UNIT, "pick", unit_picked),
            button(UNIT, "none", unit_none),
            button(UNIT, "skip", unit_skipped),
            button(UNIT, "keep", unit_kept),
            back(UNIT),
        ],
        PLACE: [
            MessageHandler(text, place_given),
            button(PLACE, "skip", place_skipped),
            button(PLACE, "keep", place_kept),
            back(PLACE),
        ],
        TIME: [
            MessageHandler(text, time_given),
            button(TIME, "skip", time_skipped),
            button(TIME, "keep", time_kept),
            back(TIME),
        ],
        EVIDENCE: [
            MessageHandler(files, evidence_added),
            MessageHandler(text, evidence_text),
            button(EVIDENCE, "done", evidence_done),
            button(EVIDENCE, "skip", evidence_done),
            back(EVIDENCE),
        ],
        IDENTITY: [
            MessageHandler(filters.CONTACT & private, contact_shared),
            MessageHandler(text, identity_text),
        ],
        SUMMARY: [
            button(SUMMARY, "submit", submitted),
            button(SUMMARY, "edit", edit_chosen),
            button(SUMMARY, "cancel", summary_cancelled),
            back(SUMMARY),
        ],
        EDIT: [button(EDIT, "field", field_chosen), back(EDIT)],
        TIMEOUT: [TypeHandler(Update, timed_out)],
    }
    with warnings.catch_warnings():
        # python-telegram-bot warns that with per_message=False a button is not tied to its
        # message. That is on purpose (text and buttons share one conversation per user); the
        # draft id and the step in every button's data do the tying instead.
        warnings.filterwarnings("ignore", message=".*per_message=False.*", category=PTBUserWarning)
        return ConversationHandler(
            entry_points=[
                CommandHandler(["new", "complain"], start_new, filters=private),
                MessageHandler(text, start_from_text),
                MessageHandler(files, start_from_evidence),
            ],
            states=states,
            fallbacks=[
                CommandHandler("cancel", cancel, filters=private),
                CommandHandler(["new", "complain"], start_new, filters=private),
                CallbackQueryHandler(stale_button, pattern=rf"^{CALLBACK_PREFIX}:"),
                MessageHandler(private & ~filters.COMMAND & ~filters.StatusUpdate.ALL, unexpected),
            ],
            name=NAME,
            persistent=persistent,
            conversation_timeout=timedelta(minutes=TIMEOUT_MINUTES),
            allow_reentry=False,
        )
