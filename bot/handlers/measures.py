"""长效机制 (工作步骤 四 item 2, 保障措施 五): a unit's long-term institutional measures. ::

    /measure 2014-12-31 title          a liaison proposes one for its own unit (private chat)
    optional description on the following lines

    /measures                          a liaison: its unit's, with buttons to move them
    /measures [UNIT]                   the office: every unit's (or one's), overdue marked

The buttons: in progress (at once), done (the liaison then sends the 制度 document or a photo:
the evidence), dropped (the liaison then sends the reason). The service checks the unit on every
press: a forged id of another unit's measure is reported as unknown.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any, Final

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatType
from telegram.ext import ApplicationHandlerStop, MessageHandler, filters

from bot import pending_input
from bot.context import BotContext, Deps, roles_of
from bot.error_replies import error_text
from bot.handlers.join import find_unit
from bot.handlers.office.access import command_text
from bot.handlers.office.practices import practice_service
from bot.handlers.staff_ui import alert, button, drop_buttons, formatter, plain, send_evidence
from bot.i18n import Html
from bot.language import user_language
from bot.pending_input import Pending, Question
from bot.replies import reply
from core.attachments import Attachment, AttachmentKind
from core.errors import DomainError, ValidationFailed
from core.measures import Evidence, Measure, MeasureStatus, tally
from core.services.practices import (
    CALLBACK_MEASURE_DONE,
    CALLBACK_MEASURE_DROP,
    CALLBACK_MEASURE_FILES,
    CALLBACK_MEASURE_PROGRESS,
    MeasureListing,
)

BUTTON_PATTERN: Final = r"^ms:"  # malformed ms: data included: it gets the stale-button answer
_BUTTON: Final = re.compile(r"ms:(prog|done|drop|files):([1-9][0-9]{0,11})", re.ASCII)
_DATE: Final = re.compile(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?")
EVIDENCE: Final = "ms.evidence"  # pending_input: waiting for the document or photo
REASON: Final = "ms.reason"  # pending_input: waiting for the reason a measure is dropped
MAX_FILE_BYTES: Final = 20 * 1024 * 1024  # what a bot can download again
_SHOWN: Final = 30


def _parse(text: str) -> tuple[date, str, str] | None:
    """(due, title, description) from ``DATE title`` (description on the following lines)."""
    first, _, rest = text.partition("\n")
    match = _DATE.match(first.strip())
    if match is None:
        return None
    try:
        due = date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None
    title = first.strip()[match.end() :].strip(" |：:")
    if not title:
        return None
    return due, title, rest.strip()


async def measure_command(update: Update, context: BotContext) -> None:
    """/measure DATE title: a liaison proposes a measure of its own unit."""
    user = update.effective_user
    if user is None:
        return
    deps = context.deps
    lang = await user_language(update, context)
    parsed = _parse(command_text(update))
    try:
        if parsed is None:
            (await roles_of(context, user.id)).require_liaison()  # a citizen is refused first
            await reply(update, context, deps.catalogue.t(lang, "practices.measure_usage"))
            return
        due, title, description = parsed
        measure = await practice_service(deps).add_measure(user.id, title, due, description)
    except ValidationFailed as error:
        key = "practices.error_past" if error.params.get("reason") == "past" else "practices.measure_usage"
        await reply(update, context, deps.catalogue.t(lang, key))
        return
    except DomainError as error:
        await reply(update, context, error_text(deps, lang, error))
        return
    fmt = formatter(deps, lang)
    await reply(
        update,
        context,
        fmt.t(
            "practices.measure_added",
            measure_id=measure.id,
            title=measure.title,
            due=Html(fmt.format_date(measure.due)),
        ),
    )


async def measures_command(update: Update, context: BotContext) -> None:
    """/measures [UNIT]: the office's view of every unit, or the liaison's of its own."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None:
        return
    deps = context.deps
    lang = await user_language(update, context)
    roles = await roles_of(context, user.id)
    typed = command_text(update)
    unit_id = find_unit(deps.plan, typed) if typed else None
    if roles.office and typed and unit_id is None:
        await reply(update, context, deps.catalogue.t(lang, "practices.measures_usage"))
        return
    if not roles.office and chat.type != ChatType.PRIVATE:
        return  # a liaison's list only in its private chat
    try:
        listing = await practice_service(deps).measures(user.id, unit_id if roles.office else None)
    except DomainError as error:
        await reply(update, context, error_text(deps, lang, error))
        return
    if roles.office:
        text, markup = render_office(deps, lang, listing)
        await reply(update, context, text, reply_markup=markup)
        return
    text, markup = render_unit(deps, lang, listing)
    await reply(update, context, text, reply_markup=markup)


def _line(deps: Deps, lang: str, m: Measure, late: bool, *, with_unit: bool) -> str:
    fmt = formatter(deps, lang)
    return fmt.t(
        "practices.measure_item",
        measure_id=m.id,
        unit=Html(fmt.units([m.unit_id]) + " · ") if with_unit else "",
        title=m.title,
        status=fmt.t(f"practices.status.{m.status.value}"),
        due=Html(fmt.format_date(m.due)),
        late=fmt.t("practices.overdue_mark") if late else "",
        files=len(m.evidence),
    )


def _files_button(deps: Deps, lang: str, m: Measure) -> InlineKeyboardButton:
    return button(deps, lang, "practices.button_files", f"{CALLBACK_MEASURE_FILES}{m.id}", measure_id=m.id)


def render_unit(deps: Deps, lang: str, listing: MeasureListing) -> tuple[str, InlineKeyboardMarkup | None]:
    """The liaison's list: each measure and, under the open ones, their buttons."""
    fmt = formatter(deps, lang)
    if not listing.measures:
        return fmt.t("practices.measures_none"), None
    shown = listing.measures[-_SHOWN:]
    lines = [fmt.t("practices.measures_header", count=len(listing.measures))]
    rows = []
    for m in shown:
        lines.append(_line(deps, lang, m, m.id in listing.overdue_ids, with_unit=False))
        if m.evidence:
            rows.append([_files_button(deps, lang, m)])
        if m.final:
            continue
        row = []
        if m.status is MeasureStatus.PLANNED:
            row.append(
                button(
                    deps,
                    lang,
                    "practices.button_progress",
                    f"{CALLBACK_MEASURE_PROGRESS}{m.id}",
                    measure_id=m.id,
                )
            )
        row.append(
            button(deps, lang, "practices.button_done_id", f"{CALLBACK_MEASURE_DONE}{m.id}", measure_id=m.id)
        )
        row.append(
            button(deps, lang, "practices.button_drop", f"{CALLBACK_MEASURE_DROP}{m.id}", measure_id=m.id)
        )
        rows.append(row)
    return "\n".join(lines), InlineKeyboardMarkup(rows) if rows else None


def render_office(deps: Deps, lang: str, listing: MeasureListing) -> tuple[str, InlineKeyboardMarkup | None]:
    """The office's view: per unit done / total (dropped not counted) and overdue, then the
    overdue measures, then the rest (newest last); a button for each measure's evidence."""
    fmt = formatter(deps, lang)
    if not listing.measures:
        return fmt.t("practices.measures_none_all"), None
    assert listing.today is not None
    tallies = tally(listing.measures, listing.today, deps.services.working_days)
    lines = [fmt.t("practices.office_header", count=len(listing.measures), overdue=len(listing.overdue_ids))]
    for unit_id, t in sorted(tallies.items()):
        lines.append(
            fmt.t(
                "practices.office_unit",
                unit=Html(fmt.units([unit_id])),
                done=t.done,
                total=t.total,
                overdue=t.overdue,
            )
        )
    late = [m for m in listing.measures if m.id in listing.overdue_ids]
    if late:
        lines.append(fmt.t("practices.office_overdue_header"))
        lines.extend(_line(deps, lang, m, True, with_unit=True) for m in late[-_SHOWN:])
    rest = [m for m in listing.measures if m.id not in listing.overdue_ids]
    if rest:
        lines.append(fmt.t("practices.office_all_header"))
        lines.extend(_line(deps, lang, m, False, with_unit=True) for m in rest[-_SHOWN:])
    with_files = [m for m in listing.measures if m.evidence][-_SHOWN:]
    rows = [[_files_button(deps, lang, m)] for m in with_files]
    return "\n".join(lines), InlineKeyboardMarkup(rows) if rows else None


async def measure_button(update: Update, context: BotContext) -> None:
    """``ms:prog:ID`` moves at once; ``ms:done:ID`` and ``ms:drop:ID`` ask for the evidence or
    the reason. Private chats only; the unit is checked by the service."""
    query, user, chat = update.callback_query, update.effective_user, update.effective_chat
    if query is None or user is None or chat is None:
        return
    deps = context.deps
    lang = await user_language(update, context)
    match = _BUTTON.fullmatch(query.data or "")
    office_chat = chat.id == deps.settings.office_chat_id
    if match is None or not (chat.type == ChatType.PRIVATE or (office_chat and match.group(1) == "files")):
        await alert(update, deps.catalogue.t(lang, "fallback.stale_button"))
        raise ApplicationHandlerStop
    verb, measure_id = match.group(1), int(match.group(2))
    service = practice_service(deps)
    try:
        measure = await service.measure(user.id, measure_id)
        if verb == "files":  # the office, or the unit's own liaison (checked by the service)
            await send_evidence(update, context, lang, _attachments(measure), "practices")
            raise ApplicationHandlerStop
        if (await roles_of(context, user.id)).unit_id != measure.unit_id:
            await alert(update, deps.catalogue.t(lang, "error.not_found"))  # the office looks only
            raise ApplicationHandlerStop
        if measure.final:
            await alert(update, deps.catalogue.t(lang, "practices.error_transition"))
            raise ApplicationHandlerStop
        if verb == "prog":
            moved = await service.move_measure(user.id, measure_id, MeasureStatus.IN_PROGRESS)
            text = deps.catalogue.t(lang, "practices.moved_progress", measure_id=moved.id, title=moved.title)
            await query.answer(plain(text)[:200])
            await drop_buttons(query.message)
            await reply(update, context, text)
            raise ApplicationHandlerStop
        kind, key = (
            (EVIDENCE, "practices.ask_evidence") if verb == "done" else (REASON, "practices.ask_reason")
        )
        pending_input.ask(context, kind, chat.id, measure_id=measure_id)
        await query.answer()
        await reply(update, context, deps.catalogue.t(lang, key, measure_id=measure_id, title=measure.title))
    except DomainError as error:
        await alert(update, error_text(deps, lang, error))
    raise ApplicationHandlerStop


async def _reason_answer(
    update: Update, context: BotContext, pending: Pending, text: str, lang: str
) -> dict[str, Any] | None:
    """The reason a measure is dropped: it is dropped."""
    user = update.effective_user
    assert user is not None
    deps = context.deps
    moved = await practice_service(deps).move_measure(
        user.id, int(pending.get("measure_id", 0)), MeasureStatus.DROPPED, note=text
    )
    await reply(
        update,
        context,
        deps.catalogue.t(lang, "practices.moved_dropped", measure_id=moved.id, title=moved.title),
    )
    return None


async def _evidence_text(
    update: Update, context: BotContext, pending: Pending, text: str, lang: str
) -> dict[str, Any] | None:
    """A text while the evidence is awaited: the question stands."""
    await reply(update, context, context.deps.catalogue.t(lang, "practices.evidence_needed"))
    return {}


def _attachments(measure: Measure) -> list[Attachment]:
    """The measure's evidence as attachments, to be sent again by file id."""
    return [
        Attachment(e.file_id, e.file_unique_id, e.kind, measure.updated_at or measure.created_at,
                   mime=e.mime, size=e.size, file_name=e.file_name)
        for e in measure.evidence
    ]  # fmt: skip


def _evidence_of(update: Update) -> Evidence | None:
    message = update.effective_message
    if message is None:
        return None
    if message.document is not None:
        doc = message.document
        return Evidence(
            doc.file_id,
            doc.file_unique_id,
            AttachmentKind.DOCUMENT,
            doc.mime_type,
            doc.file_name,
            doc.file_size,
        )
    if message.photo:
        photo = message.photo[-1]  # the largest size
        return Evidence(
            photo.file_id, photo.file_unique_id, AttachmentKind.PHOTO, "image/jpeg", None, photo.file_size
        )
    return None


async def evidence_message(update: Update, context: BotContext) -> None:
    """A document or photo while a measure waits for its evidence: the measure is done."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None or chat.type != ChatType.PRIVATE:
        return
    pending = pending_input.current(context, (EVIDENCE,))
    evidence = _evidence_of(update)
    if pending is None or pending.chat_id != chat.id or evidence is None:
        return  # not ours: the complaint dialog and the others may take it
    deps = context.deps
    lang = await user_language(update, context)
    if evidence.size is not None and evidence.size > MAX_FILE_BYTES:
        await reply(
            update,
            context,
            deps.catalogue.t(lang, "practices.evidence_too_big", limit_mb=MAX_FILE_BYTES >> 20),
        )
        raise ApplicationHandlerStop
    try:
        moved = await practice_service(deps).move_measure(
            user.id, int(pending.get("measure_id", 0)), MeasureStatus.DONE, evidence=[evidence]
        )
    except DomainError as error:
        pending_input.drop(context, "failed")
        await reply(update, context, error_text(deps, lang, error))
        raise ApplicationHandlerStop from None
    pending_input.drop(context, "answered")
    await reply(
        update,
        context,
        deps.catalogue.t(lang, "practices.moved_done", measure_id=moved.id, title=moved.title),
    )
    raise ApplicationHandlerStop


def evidence_handler() -> MessageHandler[BotContext, None]:
    """For ``pending_input.ANSWER_GROUP``: files pass by unless a measure waits for them."""
    files = filters.Document.ALL | filters.PHOTO
    return MessageHandler(files & filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE, evidence_message)


QUESTIONS: Final = (
    Question(EVIDENCE, _evidence_text, "practices.cancelled"),
    Question(REASON, _reason_answer, "practices.cancelled"),
)
