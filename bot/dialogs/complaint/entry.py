"""The ways into the complaint dialog and the wrappers every step's callback goes through:
a fresh draft on entry, the stored draft (or word that it is gone) on every update, stale and
forged buttons refused in one place. Also the evidence a message carries, taken into the draft."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Callable
from dataclasses import asdict

from telegram import CallbackQuery, Message, ReplyKeyboardRemove, Update
from telegram.error import BadRequest

from bot.context import BotContext
from bot.dialogs.complaint.draft import Draft, description_problem, is_out_of_scope
from bot.dialogs.complaint.prompts import MB, ask_describe, document_types, goto
from bot.dialogs.complaint.states import AREA, DESCRIBE, DRAFT_KEY, END, SCOPE, TIMEOUT_MINUTES
from bot.dialogs.complaint.turn import Callback, Step, Turn
from bot.language import remember_user, user_language
from core.attachments import AttachmentKind
from core.errors import ValidationFailed
from core.services.complaints import MAX_EVIDENCE, MAX_FILE_BYTES, Evidence, check_evidence
from core.text import clean_text, strip_controls

# ---------------------------------------------------------------------------------------------
# The wrappers of every callback


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
            # answered after the step, so a refusal above can still be the one answer; the
            # answer and the buttons' removal go to Telegram side by side: the citizen's phone
            # waits for one round trip there, not two
            if strip:
                await asyncio.gather(query.answer(), _strip_buttons(query))
            else:
                await query.answer()
            return result

        return on_update(pressed)

    return decorate


async def _strip_buttons(query: CallbackQuery) -> None:
    with contextlib.suppress(BadRequest):  # too old to edit, or already without buttons
        await query.edit_message_reply_markup(reply_markup=None)


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
# Entry


async def may_file(turn: Turn) -> bool:
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
    if not await may_file(turn):
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
    if not await may_file(turn):
        return turn.finish()
    return await first_evidence(turn)


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
    if check_limit and not await may_file(turn):
        return turn.finish()
    problem = description_problem(cleaned)
    if problem is not None:
        key, params = problem
        return await goto(turn, DESCRIBE, turn.t(key, **params))
    d.description = cleaned
    d.classified(result)
    return await goto(turn, AREA)


async def first_evidence(turn: Turn) -> int:
    message = turn.message
    assert message is not None
    refusal = add_evidence(turn, message)
    if refusal is None and message.caption:
        return await take_description(turn, message.caption, check_limit=False)
    if refusal is None and turn.draft.description:
        # the prompt below asks to keep the description; say the file arrived too
        refusal = turn.t("evidence_added", count=len(turn.draft.evidence), max_files=MAX_EVIDENCE)
    return await goto(turn, DESCRIBE, refusal or "")


# ---------------------------------------------------------------------------------------------
# Evidence: the file a message carries, kept in the draft


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


def add_evidence(turn: Turn, message: Message) -> str | None:
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
