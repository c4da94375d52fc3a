"""Repeating jobs of the long-running bot: how one is scheduled, and the SQLite checkpoint.

Each job runs once per process: a second ``post_init`` replaces it rather than doubling it, a
run that overruns its interval is not started twice (``max_instances``), and runs missed while
the process was busy are merged into one (``coalesce``) rather than replayed."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from telegram.ext import JobQueue

from bot.context import BotContext, Deps
from storage.db import checkpoint

log = logging.getLogger(__name__)

CHECKPOINT_JOB_NAME = "wal_checkpoint"
CHECKPOINT_INTERVAL = timedelta(seconds=2)


def repeat_alone(
    job_queue: JobQueue[BotContext],
    callback: Callable[[BotContext], Coroutine[Any, Any, None]],
    *,
    name: str,
    interval: timedelta,
    first: timedelta,
) -> None:
    for job in job_queue.get_jobs_by_name(name):
        job.schedule_removal()
    job_queue.run_repeating(
        callback,
        interval=interval,
        first=first,
        name=name,
        job_kwargs={
            "max_instances": 1,
            "coalesce": True,
            "misfire_grace_time": int(interval.total_seconds()),
        },
    )


async def checkpoint_job(context: BotContext) -> None:
    """SQLite's WAL copied into the database file here, every couple of seconds, rather than
    by whichever citizen's commit found it past its limit (storage.db.SQLITE_PRAGMAS)."""
    engine = context.bot_data.deps.engine
    if engine is None:
        return
    try:
        await checkpoint(engine)
    except Exception:
        # nothing is lost: the commits' own checkpoint (the safety net) takes over
        log.warning("the background WAL checkpoint failed", exc_info=True)


def schedule_checkpoints(
    job_queue: JobQueue[BotContext], deps: Deps, *, interval: timedelta = CHECKPOINT_INTERVAL
) -> None:
    """On SQLite only: PostgreSQL checkpoints by itself."""
    if deps.engine is None or deps.engine.dialect.name != "sqlite":
        return
    repeat_alone(job_queue, checkpoint_job, name=CHECKPOINT_JOB_NAME, interval=interval, first=interval)
