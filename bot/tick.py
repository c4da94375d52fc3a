"""The periodic pass in the running bot: every minute on python-telegram-bot's JobQueue.

``python -m bot tick`` (``bot.cli.tick``) runs the same ``core.services.periodic.PeriodicPass``
(``deps.services.periodic``) once, so a cron ``tick`` and a running bot can share one database:
the pass's lease lets one of them run at a time, and every reminder's dedup key makes the
second one a no-op.
"""

from __future__ import annotations

import time
from datetime import timedelta

from bot.context import BotApplication, BotContext
from bot.evidence_fetch import schedule_evidence_fetch
from bot.jobs import repeat_alone
from bot.metrics import metrics_for

PERIODIC_JOB_NAME = "periodic"
PERIODIC_INTERVAL = timedelta(minutes=1)
# Let the bot finish starting (menus, first updates) before the first pass.
PERIODIC_FIRST = timedelta(seconds=10)


async def periodic_job(context: BotContext) -> None:
    """JobQueue callback: one pass at the clock's time. Errors inside the pass are logged per
    case and counted; anything escaping (the database is down) reaches the error handler."""
    started = time.perf_counter()
    summary = await context.deps.services.periodic.run()
    if summary.ran:  # issue 15: pass duration and errors in /metrics
        metrics_for(context.deps).periodic_pass(time.perf_counter() - started, summary.errors)
    if summary.notices:
        context.deps.wake_sender()  # send them now rather than at the sender's next poll


def schedule_periodic(
    application: BotApplication,
    *,
    interval: timedelta = PERIODIC_INTERVAL,
    first: timedelta = PERIODIC_FIRST,
) -> None:
    """Run the pass every ``interval`` once the application has started. One job per
    process: a pass that overruns the interval is not started twice (``max_instances``), and
    missed runs are merged into one (``coalesce``) rather than replayed."""
    job_queue = application.job_queue
    if job_queue is None:
        raise RuntimeError("the JobQueue is missing: install python-telegram-bot[job-queue]")
    repeat_alone(job_queue, periodic_job, name=PERIODIC_JOB_NAME, interval=interval, first=first)
    # issue 15: the evidence files fetched into the local store, at the same pace (its own job)
    schedule_evidence_fetch(job_queue, interval=interval, first=first)
