"""The complaint dialog's steps: one small callback per answer, each storing what it was told
and asking the next question; and the callbacks that work at every step (/cancel, the
unexpected message, a stale button, the timeout)."""

from __future__ import annotations

from telegram import ReplyKeyboardRemove, Update

from bot.context import BotContext
from bot.dialogs import keyboards
from bot.dialogs.complaint.draft import Draft, description_problem, suggest_units, unit_named
from bot.dialogs.complaint.entry import (
    StaleButton,
    add_evidence,
    first_evidence,
    may_file,
    on_button,
    on_update,
    take_description,
)
from bot.dialogs.complaint.prompts import (
    ASK,
    Asker,
    areas_of,
    ask_area,
    ask_evidence,
    ask_identity,
    ask_place,
    ask_summary,
    ask_time,
    ask_unit,
    ask_unit_match,
    goto,
    plan_unit,
    proceed,
    receipt,
    step_back,
)
from bot.dialogs.complaint.states import (
    AREA,
    DESCRIBE,
    DRAFT_KEY,
    EDIT,
    EDIT_TARGETS,
    END,
    EVIDENCE,
    IDENTITY,
    PLACE,
    SCOPE,
    SUMMARY,
    TIME,
    TIMEOUT_MINUTES,
    UNIT,
)
from bot.dialogs.complaint.turn import Turn
from bot.language import user_language
from bot.log_json import set_case_number
from core.errors import RateLimited, ValidationFailed
from core.services.complaints import MAX_EVIDENCE, MAX_FIELD
from core.text import clean_text

# ---------------------------------------------------------------------------------------------
# Steps


@on_button()
async def go_back(turn: Turn) -> int:
    """Back: the previous step, its answer kept."""
    return await step_back(turn)


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
    return await first_evidence(turn)


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
    if not d.editing and not await may_file(turn):
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
    if turn.arg not in areas_of(turn):
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
    unit = plan_unit(turn.plan, d.suggestions[index]) if 0 <= index < len(d.suggestions) else None
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


@on_update
async def evidence_added(turn: Turn) -> object:
    """Keeps the file and counts it, or says why not; the citizen goes on either way."""
    message = turn.message
    assert message is not None
    refusal = add_evidence(turn, message)
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
        return await step_back(turn)
    return await ask_identity(turn, turn.t("identity_use_buttons"))


@on_button()
async def submitted(turn: Turn) -> object:
    """Files the complaint; sends the receipt."""
    complaints = turn.deps.services.complaints
    try:
        # the dialog's entry recorded the user and their chat (entry.entry: remember_user)
        filed = await complaints.file(turn.user_id, turn.draft.to_complaint(), user_recorded=True)
    except RateLimited:
        phone = turn.plan.campaign.office.phone
        await turn.send(turn.t("limit_reached", limit=complaints.daily_limit, phone=phone))
        return turn.finish()
    except ValidationFailed as exc:
        return await ask_summary(turn, turn.deps.catalogue.t(turn.lang, exc.key))
    set_case_number(filed.case.tracking_no)  # the update's later log lines name the new case
    await turn.send(receipt(turn, filed))
    return turn.finish()


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
