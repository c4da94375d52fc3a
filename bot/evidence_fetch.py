"""The evidence fetch in the running bot (issue 15): every minute, on python-telegram-bot's
JobQueue beside the periodic pass, a few attachments still known only by their file id are
downloaded through the bot's own client (``Bot.get_file`` and ``File.download_as_bytearray``:
TELEGRAM_API_URL and the file URL the application is configured with) into ``deps.evidence``
(``storage.evidence_fetch.EvidenceFetcher``).

Its own job rather than a step of the pass: downloads take as long as the network makes them,
and the pass's lease and its reminders must not wait on them. Every instance runs it; the
claims keep two instances off one file.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from telegram import Bot
from telegram.error import BadRequest
from telegram.ext import JobQueue

from bot.context import BotContext, Deps
from bot.jobs import repeat_alone
from bot.metrics import metrics_for
from core.evidence_fetch import FetchSummary
from storage.evidence_fetch import Download, EvidenceFetcher, FetchRefused

log = logging.getLogger("bot.evidence_fetch")

EVIDENCE_FETCH_JOB_NAME = "evidence_fetch"


def telegram_download(bot: Bot) -> Download:
    """``download(file_id)`` through ``bot``: getFile, then the file's bytes. Telegram's 400
    (a wrong file id, a file over the Bot API's 20 MB) is final; anything else may pass."""

    async def download(file_id: str) -> bytes:
        try:
            file = await bot.get_file(file_id)
            return bytes(await file.download_as_bytearray())
        except BadRequest as refused:
            raise FetchRefused(type(refused).__name__) from None

    return download


async def fetch_evidence(bot: Bot, deps: Deps) -> FetchSummary:
    """One run of the fetch for this process (nothing when it has no store or no database
    sessions, as in some tests' deps)."""
    if deps.evidence is None or deps.session_factory is None:
        return FetchSummary()
    fetcher = EvidenceFetcher(deps.session_factory, deps.evidence, deps.clock)
    return await fetcher.run(telegram_download(bot))


async def evidence_fetch_job(context: BotContext) -> None:
    """JobQueue callback; anything escaping (the database is down) reaches the error handler.
    Its outcomes go to ``/metrics`` (``bot_evidence_fetch_total{outcome}``): a growing
    ``gave_up`` is evidence the office will not have."""
    done = await fetch_evidence(context.bot, context.deps)
    metrics_for(context.deps).evidence_fetched(done.fetched, done.retry, done.gave_up, done.dropped)


def schedule_evidence_fetch(
    job_queue: JobQueue[BotContext], *, interval: timedelta, first: timedelta
) -> None:
    """One job per process, replaced rather than doubled by a second ``post_init``; an overrun
    is neither run twice nor replayed (as the periodic job)."""
    repeat_alone(job_queue, evidence_fetch_job, name=EVIDENCE_FETCH_JOB_NAME, interval=interval, first=first)
