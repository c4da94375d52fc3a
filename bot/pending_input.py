"""A question waiting for its answer: "the next text from this user in this chat answers it".

A button (a liaison's reply, an office member's reject reason, a citizen's comment...) asks for
a text; the text comes as the next message. One pending question per user, kept in one place
(``context.user_data[SLOT]``, plain JSON, so the bot's persistence keeps it across a restart;
moving dialog state to the database changes only ``_load``/``_store``/``drop`` here).

- ``ask(context, kind, chat_id, ...)`` remembers the question (a new one replaces the old);
- ``current(context, kinds)`` gives it back unless it lapsed (``PROMPT_TTL``) or is garbage;
- ``keep(context, pending, **data)`` updates it (a next step) and restarts its clock;
- ``drop(context, why)`` forgets it;
- ``answer_handler(questions)`` is the one ``MessageHandler`` that takes the answers: the
  question's ``answer`` callback does the work; a ``ValidationFailed`` it raises is shown and the
  question stands, any other ``DomainError`` is shown and the question goes.

What the handler lets through: nothing waiting, a lapsed question (dropped), another chat, in a
group a message that is not a reply to the prompt (the prompt forces one), anything while the
question waits for a button rather than a text. A command drops a text question and runs;
``/cancel`` says the question's ``cancelled_key`` and stops there. Every step is logged by kind
and case, never by who (SPEC §10).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import ApplicationHandlerStop, MessageHandler, filters

from bot.context import BotContext
from bot.error_replies import error_text
from bot.language import user_language
from bot.replies import reply
from core.errors import DomainError, ValidationFailed

log = logging.getLogger(__name__)

SLOT: Final = "pending_input"  # context.user_data key (JSON only)
PROMPT_TTL: Final = timedelta(minutes=30)
# Before the dialogs (group 0) and the start buttons of the questions (group -1), after the
# guard (bot.handlers.fallback.GUARD_GROUP) and the throttle.
ANSWER_GROUP: Final = -2


@dataclass(frozen=True)
class Pending:
    """The question waiting: what (``kind``), about which case, asked in which chat (and by
    which prompt message, for a group), when, and the question's own JSON data."""

    kind: str
    chat_id: int
    at: datetime
    case_id: int | None = None
    prompt_id: int | None = None
    data: Mapping[str, Any] = field(default_factory=dict)

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)


# answer(update, context, pending, text, lang): None when the question is done, or the data to
# keep asking with (the next step, or the same question again)
Answer = Callable[[Update, BotContext, Pending, str, str], Awaitable[Mapping[str, Any] | None]]


@dataclass(frozen=True)
class Question:
    """A kind of question: the callback that takes its answer (None: it waits for a button, and
    texts pass by), and what ``/cancel`` says."""

    kind: str
    answer: Answer | None
    cancelled_key: str


def ask(
    context: BotContext,
    kind: str,
    chat_id: int,
    *,
    case_id: int | None = None,
    prompt_id: int | None = None,
    **data: Any,
) -> None:
    """Remember the question (replacing any other this user had)."""
    if context.user_data is None:
        return
    pending = Pending(kind, chat_id, context.deps.clock.now(), case_id, prompt_id, data)
    _store(context, pending)
    log.info("question %s asked (case %s)", kind, case_id)


def current(context: BotContext, kinds: Collection[str] | None = None) -> Pending | None:
    """The question waiting (of one of ``kinds``), or None; a lapsed one is dropped."""
    pending = _load(context)
    if pending is None or (kinds is not None and pending.kind not in kinds):
        return None
    if context.deps.clock.now() - pending.at > PROMPT_TTL:
        drop(context, "lapsed")
        return None
    return pending


def keep(context: BotContext, pending: Pending, **data: Any) -> Pending:
    """The question stands (with ``data`` added): its clock starts again."""
    kept = Pending(
        pending.kind,
        pending.chat_id,
        context.deps.clock.now(),
        pending.case_id,
        pending.prompt_id,
        {**pending.data, **data},
    )
    _store(context, kept)
    return kept


def drop(context: BotContext, why: str) -> None:
    """Forget the question (``why``: answered, cancelled, lapsed, ... for the log)."""
    if context.user_data is None:
        return
    raw = context.user_data.pop(SLOT, None)
    if isinstance(raw, dict):
        log.info("question %s %s (case %s)", raw.get("kind"), why, raw.get("case_id"))


def _store(context: BotContext, pending: Pending) -> None:
    if context.user_data is not None:
        context.user_data[SLOT] = {
            "kind": pending.kind,
            "chat_id": pending.chat_id,
            "at": pending.at.isoformat(),
            "case_id": pending.case_id,
            "prompt_id": pending.prompt_id,
            "data": dict(pending.data),
        }


def _load(context: BotContext) -> Pending | None:
    raw = context.user_data.get(SLOT) if context.user_data is not None else None
    if not isinstance(raw, dict):
        return None
    try:
        case_id, prompt_id, data = raw.get("case_id"), raw.get("prompt_id"), raw.get("data") or {}
        return Pending(
            kind=str(raw["kind"]),
            chat_id=int(raw["chat_id"]),
            at=datetime.fromisoformat(str(raw["at"])),
            case_id=int(case_id) if case_id is not None else None,
            prompt_id=int(prompt_id) if prompt_id is not None else None,
            data=dict(data),
        )
    except (KeyError, TypeError, ValueError):
        return None


def _is_command(text: str) -> str | None:
    """The command's name (``/cancel@bot`` → ``cancel``), or None for a plain text."""
    if not text.startswith("/"):
        return None
    return text.split(maxsplit=1)[0][1:].split("@")[0].lower()


def answer_handler(questions: Sequence[Question]) -> MessageHandler[BotContext, None]:
    """The handler (for ``ANSWER_GROUP``) that gives each text to the question waiting for it."""
    by_kind = {q.kind: q for q in questions}

    async def take_answer(update: Update, context: BotContext) -> None:
        message, chat = update.effective_message, update.effective_chat
        if message is None or message.text is None or chat is None or context.user_data is None:
            return
        pending = current(context)
        question = by_kind.get(pending.kind) if pending is not None else None
        if pending is None or question is None or pending.chat_id != chat.id:
            return
        if chat.type != ChatType.PRIVATE:
            answered = message.reply_to_message
            if answered is None or answered.message_id != pending.prompt_id:
                return
        if question.answer is None:
            return  # it waits for a button: texts and commands pass by
        command = _is_command(message.text)
        if command is not None:
            drop(context, "cancelled" if command == "cancel" else "left for a command")
            if command != "cancel":
                return  # another command: the question goes and the command runs
            lang = await user_language(update, context)
            await reply(update, context, context.deps.catalogue.t(lang, question.cancelled_key))
            raise ApplicationHandlerStop
        lang = await user_language(update, context)
        try:
            more = await question.answer(update, context, pending, message.text, lang)
        except ValidationFailed as error:
            # the question stands: a shorter (or non-empty) answer is welcome
            stored = _load(context)  # as the answer left it (it may have stepped back)
            if stored is not None:
                keep(context, stored)
            log.info("question %s: answer refused (%s)", pending.kind, error.params.get("reason"))
            await reply(update, context, error_text(context.deps, lang, error))
            raise ApplicationHandlerStop from None
        except DomainError as error:
            drop(context, "failed")
            await reply(update, context, error_text(context.deps, lang, error))
            raise ApplicationHandlerStop from None
        if more is None:
            if current(context) == pending:  # the answer may have asked something new
                drop(context, "answered")
        else:
            keep(context, pending, **more)
        raise ApplicationHandlerStop

    return MessageHandler(filters.TEXT & filters.UpdateType.MESSAGE, take_answer)
