"""What each step of the complaint dialog asks and shows, and moving between steps: the
prompts (``note`` goes first, e.g. why the last answer was refused), the summary and the
receipt. The keyboards' layout is in ``bot.dialogs.keyboards``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Final

from telegram.error import BadRequest

from bot.case_view import CaseFormatter, area_label, unit_name
from bot.dialogs import keyboards
from bot.dialogs.complaint.draft import description_problem, suggest_units
from bot.dialogs.complaint.states import (
    AREA,
    DESCRIBE,
    EDIT,
    EVIDENCE,
    IDENTITY,
    LINEAR,
    MAX_CUES_SHOWN,
    NEXT,
    PLACE,
    SCOPE,
    SUMMARY,
    TIME,
    UNIT,
)
from bot.dialogs.complaint.turn import Turn
from bot.i18n import Html
from bot.plan_view import AreaView, campaign_view
from core.plan import Plan, Unit
from core.services.complaints import (
    ALLOWED_DOCUMENT_TYPES,
    MAX_DESCRIPTION,
    MAX_EVIDENCE,
    MAX_FIELD,
    MAX_FILE_BYTES,
    MIN_DESCRIPTION,
    Filed,
)

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


async def step_back(turn: Turn) -> int:
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


def areas_of(turn: Turn) -> dict[str, AreaView]:
    return {a.id: a for a in campaign_view(turn.plan, turn.lang).areas}


def _area_text(turn: Turn, area_id: str | None) -> str:
    area = areas_of(turn).get(area_id) if area_id else None
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
        areas = areas_of(turn)
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
    unit = plan_unit(turn.plan, d.target_unit_id)
    if unit is None:
        return d.target_text
    name = _unit_name(turn, unit)
    if not d.target_text or d.target_text in (unit.name, name):
        return name
    return turn.t("unit_with_match", text=d.target_text, unit=name)


def plan_unit(plan: Plan, unit_id: str | None) -> Unit | None:
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
# The receipt


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
