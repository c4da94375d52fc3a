"""The scheduled digests (SPEC §6): the periodic pass (``core.services.periodic``) asks for the
day's digest, and on Mondays the week's, through ``make_digest_job(deps)``; the job builds it
and queues it for the office chat through the outbox, so a crash or a second instance never
loses or doubles it (each row carries the request's dedup key plus a part name).

Queued per digest, all with the request's ``not_before`` (quiet hours):

- ``sendMessage`` with the digest text (already-rendered HTML in ``payload["text"]``; a text
  too long for one message goes as several, ``:text``, ``:text:2``...);
- ``sendPhoto`` with the chart and ``sendDocument`` with the XLSX, their bytes in the payload
  under ``payload["files"][<parameter>] = {"filename", "mime", "base64"}``: the sender turns
  each entry into an upload (``telegram.InputFile``) for that parameter of the method.
"""

from __future__ import annotations

import base64
import logging

from bot.context import Deps
from bot.i18n import DEFAULT_LANG, escape
from bot.reports.build import Report, ReportFile, ReportKind, Reports
from bot.reports.text import split_message
from core.outbox import OutboxMessage
from core.services.periodic import DigestJob, DigestKind, DigestRequest
from storage.stats import read_only_factory

log = logging.getLogger(__name__)

FILES_KEY = "files"  # payload key the sender reads uploads from


def upload(parameter: str, file: ReportFile) -> dict[str, object]:
    """The payload part that makes the sender upload ``file`` as ``parameter``."""
    data = base64.b64encode(file.read()).decode("ascii")
    return {FILES_KEY: {parameter: {"filename": file.name, "mime": file.mime, "base64": data}}}


def reports_for(deps: Deps) -> Reports:
    if deps.session_factory is None:
        raise RuntimeError("statistics need a database session factory (deps.session_factory)")
    return Reports(
        read_only_factory(deps.session_factory), deps.plan, deps.services.deadlines, deps.catalogue
    )


def outbox_messages(report: Report, request: DigestRequest, chat_id: int) -> list[OutboxMessage]:
    """The digest as outbox rows for ``chat_id``: text, chart, workbook."""
    parts = split_message(report.text)
    messages = [
        OutboxMessage(
            chat_id=chat_id,
            method="sendMessage",
            payload={"text": part},
            created_at=request.now,
            not_before=request.not_before,
            dedup_key=f"{request.dedup_key}:text" + (f":{i}" if i > 1 else ""),
        )
        for i, part in enumerate(parts, start=1)
    ]
    caption = str(escape(report.title))
    if report.chart is not None:
        messages.append(
            OutboxMessage(
                chat_id=chat_id,
                method="sendPhoto",
                payload={**upload("photo", report.chart), "caption": caption},
                created_at=request.now,
                not_before=request.not_before,
                dedup_key=f"{request.dedup_key}:chart",
            )
        )
    for file in report.files:
        messages.append(
            OutboxMessage(
                chat_id=chat_id,
                method="sendDocument",
                payload={**upload("document", file), "caption": caption},
                created_at=request.now,
                not_before=request.not_before,
                dedup_key=f"{request.dedup_key}:{file.name}",
            )
        )
    return messages


def make_digest_job(deps: Deps) -> DigestJob:
    """The periodic pass's ``digest_job``: build the digest the request asks for, in the default
    language (the office chat is a group), and queue it. True if anything new was queued."""

    async def digest_job(request: DigestRequest) -> bool:
        chat_id = deps.settings.office_chat_id
        if chat_id is None:
            return False
        kind = ReportKind.WEEKLY if request.kind is DigestKind.WEEKLY else ReportKind.DAILY
        report = await reports_for(deps).digest(kind, request.day, lang=DEFAULT_LANG)
        queued = False
        async with deps.uow() as uow:
            for message in outbox_messages(report, request, chat_id):
                queued = await uow.outbox.add(message) or queued
            await uow.commit()
        if queued:
            log.info("queued the %s digest for %s", request.kind.value, request.day.isoformat())
            deps.wake_sender()
        return queued

    return digest_job
