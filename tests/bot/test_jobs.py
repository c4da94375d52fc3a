"""bot.jobs: the long-running bot's background WAL checkpoint, as the JobQueue runs it."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from bot.context import BotContext
from bot.dialogs.complaint import SUMMARY
from bot.jobs import CHECKPOINT_INTERVAL, CHECKPOINT_JOB_NAME, schedule_checkpoints
from tests.bot.test_complaint_dialog import Citizen
from tests.support.harness import BotHarness


def modified(path: Path) -> int:
    return path.stat().st_mtime_ns


async def test_a_filing_is_in_the_database_file_after_the_checkpoint_job(harness: BotHarness) -> None:
    h = harness
    assert h.app.job_queue is not None and h.deps.session_factory is not None
    schedule_checkpoints(h.app.job_queue, h.deps)
    schedule_checkpoints(h.app.job_queue, h.deps)  # a second post_init replaces, never doubles
    jobs = [j for j in h.app.job_queue.jobs() if j.name == CHECKPOINT_JOB_NAME and not j.removed]
    assert len(jobs) == 1
    (job,) = jobs
    assert job.trigger.interval == CHECKPOINT_INTERVAL == timedelta(seconds=2)  # type: ignore[attr-defined]

    database = Path(h.deps.engine.url.database)
    await asyncio.sleep(0.05)  # past the file system's timestamp granularity
    untouched = modified(database)
    citizen = Citizen(h)
    await citizen.to(SUMMARY)
    await citizen.press("submit")
    assert "ZH-2026-000001" in h.last_text()
    # the dialog's commits went to the WAL only: none of them paid for a checkpoint
    assert modified(database) == untouched
    await asyncio.sleep(0.05)
    await job.callback(BotContext.from_job(job, h.app))
    assert modified(database) > untouched  # the job copied the WAL into the file
