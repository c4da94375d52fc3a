"""``python -m bot tick [--now ISO-TIME]``: one periodic pass, one outbox drain and one run of
the evidence fetch, then exit (cron deployments, tests, catching up by hand).

It runs the same ``core.services.periodic.PeriodicPass`` as the running bot's job
(``bot.tick``), so a cron ``tick`` and a running bot can share one database: the pass's lease
lets one of them run at a time, and every reminder's dedup key makes the second one a no-op.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from datetime import datetime

from telegram import Bot

from bot.cli.common import (
    EXIT_CONFIG,
    EXIT_FIX,
    EXIT_OK,
    CliExit,
    SubCommand,
    configure_logging,
    ensure_schema_or_exit,
    load_plan_or_exit,
    load_settings,
    parse_now,
)
from bot.context import Deps
from bot.evidence_fetch import fetch_evidence
from bot.sender import drain_once
from bot.wiring import make_deps
from core.clock import FixedClock, SystemClock
from core.services.periodic import PassSummary
from core.services.units import sync_plan_units

log = logging.getLogger("bot.tick")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--now",
        metavar="ISO-TIME",
        help="run the pass as if it were this time, e.g. 2026-10-09T10:00:00+08:00 "
        "(without an offset: local time in TIMEZONE); default: the current time",
    )


def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format, settings.instance_name)
    try:
        now = parse_now(args.now, settings) if args.now else None
    except ValueError as exc:
        raise CliExit(f"--now: not an ISO time ({exc}); e.g. 2026-10-09T10:00:00+08:00", EXIT_CONFIG) from exc
    plan = load_plan_or_exit(settings.plan_file, settings.campaign_start)
    ensure_schema_or_exit(settings.database_url)

    clock = FixedClock(now, settings.tz) if now is not None else SystemClock(settings.tz)
    deps = make_deps(settings, plan, clock=clock)
    summary, (delivered, delivery), (fetched, evidence) = asyncio.run(_tick(deps, clock.now()))
    print(f"tick at {clock.now().isoformat()}: {summary}")
    print(f"delivery: {delivery}")
    print(f"evidence: {evidence}")
    return EXIT_FIX if summary.errors or not delivered or not fetched else EXIT_OK


async def _tick(deps: Deps, now: datetime) -> tuple[PassSummary, tuple[bool, str], tuple[bool, str]]:
    try:
        # as at bot start-up: a cron-only deployment has no other moment to pick up plan units
        await sync_plan_units(deps.plan, deps.uow)
        summary = await deps.services.periodic.run(now)
        delivery = await _drain_once(deps, now)
        evidence = await _fetch_once(deps)
    finally:
        await deps.aclose()
    return summary, delivery, evidence


async def _fetch_once(deps: Deps) -> tuple[bool, str]:
    """One run of the evidence fetch (bot.evidence_fetch), so a cron-only deployment keeps the
    office's copies of the attachments too. Returns (ok, what happened)."""
    settings = deps.settings
    if settings.bot_token is None:
        return True, "skipped (BOT_TOKEN is not set; attachments stay file ids)"
    bot = Bot(
        settings.bot_token.get_secret_value(),
        base_url=settings.telegram_api_url,
        base_file_url=settings.file_url,
    )
    try:
        async with bot:
            done = await fetch_evidence(bot, deps)
    except Exception as exc:  # what was fetched is recorded; the next run tries the rest
        log.exception("tick: the evidence fetch failed")
        return False, f"failed ({type(exc).__name__})"
    return True, f"fetched {done.fetched}, to retry {done.retry}, given up {done.gave_up}"


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


COMMAND = SubCommand("tick", "run one pass of everything time-driven and exit", configure, run)
