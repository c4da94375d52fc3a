"""The periodic pass, wired in: every minute in the running bot (python-telegram-bot's
JobQueue) and once on demand with ``python -m bot tick [--now ISO-TIME]`` (cron deployments,
tests, catching up by hand).

Both call the same ``core.services.periodic.PeriodicPass`` (``deps.services.periodic``), so a
cron ``tick`` and a running bot can share one database: the pass's lease lets one of them run
at a time, and every reminder's dedup key makes the second one a no-op.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from datetime import datetime, timedelta

from bot.context import BotApplication, BotContext, Deps
from bot.sender import drain_once
from bot.settings import Settings
from core.clock import FixedClock, SystemClock
from core.services.periodic import PassSummary
from core.services.units import sync_plan_units

log = logging.getLogger("bot.tick")

PERIODIC_JOB_NAME = "periodic"
PERIODIC_INTERVAL = timedelta(minutes=1)
# Let the bot finish starting (menus, first updates) before the first pass.
PERIODIC_FIRST = timedelta(seconds=10)


# -- in the running bot -----------------------------------------------------------------------


async def periodic_job(context: BotContext) -> None:
    """JobQueue callback: one pass at the clock's time. Errors inside the pass are logged per
    case and counted; anything escaping (the database is down) reaches the error handler."""
    summary = await context.deps.services.periodic.run()
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
    for job in job_queue.get_jobs_by_name(PERIODIC_JOB_NAME):
        job.schedule_removal()  # post_init twice (a restart in one process) must not double it
    job_queue.run_repeating(
        periodic_job,
        interval=interval,
        first=first,
        name=PERIODIC_JOB_NAME,
        job_kwargs={
            "max_instances": 1,
            "coalesce": True,
            "misfire_grace_time": int(interval.total_seconds()),
        },
    )


# -- python -m bot tick -----------------------------------------------------------------------


def configure_tick(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--now",
        metavar="ISO-TIME",
        help="run the pass as if it were this time, e.g. 2026-10-09T10:00:00+08:00 "
        "(without an offset: local time in TIMEZONE); default: the current time",
    )


def parse_now(text: str, settings: Settings) -> datetime:
    """``--now``: an ISO 8601 time; a naive one is read in the configured time zone."""
    value = datetime.fromisoformat(text.strip())
    return value if value.tzinfo is not None else value.replace(tzinfo=settings.tz)


def run_tick(args: argparse.Namespace) -> int:
    # imported here: bot.cli (for SUBCOMMANDS) and bot.app (for the job) import this module
    from bot import cli
    from bot.app import make_deps

    settings = cli.load_settings()
    cli.configure_logging(settings.log_level)
    try:
        now = parse_now(args.now, settings) if args.now else None
    except ValueError as exc:
        raise cli.CliExit(
            f"--now: not an ISO time ({exc}); e.g. 2026-10-09T10:00:00+08:00", cli.EXIT_CONFIG
        ) from exc
    plan = cli._load_plan_or_exit(settings.plan_file, settings.campaign_start)
    cli._ensure_schema_or_exit(settings.database_url)

    clock = FixedClock(now, settings.tz) if now is not None else SystemClock(settings.tz)
    deps = make_deps(settings, plan, clock=clock)
    summary, (delivered, delivery) = asyncio.run(_tick(deps, clock.now()))
    print(f"tick at {clock.now().isoformat()}: {summary}")
    print(f"delivery: {delivery}")
    return cli.EXIT_FIX if summary.errors or not delivered else cli.EXIT_OK


async def _tick(deps: Deps, now: datetime) -> tuple[PassSummary, tuple[bool, str]]:
    try:
        # as at bot start-up: a cron-only deployment has no other moment to pick up plan units
        await sync_plan_units(deps.plan, deps.uow)
        summary = await deps.services.periodic.run(now)
        delivery = await _drain_once(deps, now)
    finally:
        await deps.aclose()
    return summary, delivery


async def _drain_once(deps: Deps, now: datetime) -> tuple[bool, str]:
    """One outbox drain after the pass, so a cron ``tick`` also delivers what it queued (and
    anything left over). Returns (ok, what happened)."""
    if deps.settings.bot_token is None:
        return True, "skipped (BOT_TOKEN is not set; notifications stay in the outbox)"
    try:
        result = await drain_once(deps, now)
    except Exception as exc:  # the pass's work is committed; the next drain sends it
        log.exception("tick: draining the outbox failed")
        return False, f"failed ({type(exc).__name__}: {exc}); notifications stay in the outbox"
    return True, str(result)
