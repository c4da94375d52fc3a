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

The package: ``states`` (the states and shared constants), ``draft`` (the ``Draft`` and what it
turns into), ``turn`` (one update: the draft, the texts, the button data), ``prompts`` (what
each step asks, the summary, the receipt), ``entry`` (the ways in and the callbacks' wrappers),
``steps`` (one callback per answer); this module builds the ``ConversationHandler``.
"""

from __future__ import annotations

import warnings
from datetime import timedelta
from typing import Any

from telegram import Update
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot.context import BotContext
from bot.dialogs.complaint.draft import Draft, suggest_units, unit_named
from bot.dialogs.complaint.entry import start_from_evidence, start_from_text, start_new
from bot.dialogs.complaint.prompts import document_types
from bot.dialogs.complaint.states import (
    AREA,
    CALLBACK_PREFIX,
    DESCRIBE,
    DRAFT_KEY,
    EDIT,
    EVIDENCE,
    IDENTITY,
    NAME,
    PLACE,
    SCOPE,
    SUMMARY,
    TIME,
    TIMEOUT,
    TIMEOUT_MINUTES,
    UNIT,
)
from bot.dialogs.complaint.steps import (
    area_confirmed,
    area_other,
    area_picked,
    area_unsure,
    cancel,
    contact_shared,
    description_evidence,
    description_given,
    description_kept,
    edit_chosen,
    evidence_added,
    evidence_done,
    evidence_text,
    field_chosen,
    file_anyway,
    go_back,
    identity_text,
    place_given,
    place_kept,
    place_skipped,
    stale_button,
    submitted,
    summary_cancelled,
    time_given,
    time_kept,
    time_skipped,
    timed_out,
    unexpected,
    unit_given,
    unit_kept,
    unit_none,
    unit_picked,
    unit_skipped,
)
from bot.dialogs.complaint.turn import Callback, button_pattern

# What bot.app, bot.handlers.fallback and the tests use
__all__ = [
    "AREA",
    "DESCRIBE",
    "DRAFT_KEY",
    "EDIT",
    "EVIDENCE",
    "IDENTITY",
    "NAME",
    "PLACE",
    "SCOPE",
    "SUMMARY",
    "TIME",
    "TIMEOUT_MINUTES",
    "UNIT",
    "Draft",
    "conversation",
    "document_types",
    "suggest_units",
    "unit_named",
]


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
