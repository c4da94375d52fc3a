"""``python -m bot check``: the readiness checks of ``/readyz`` (issue 15), printed one a line;
exit 0 when ready, 1 when not (for cron-style monitors)."""

from __future__ import annotations

import argparse
import asyncio

from bot.cli.common import EXIT_FIX, EXIT_OK, SubCommand, load_settings
from bot.health_server import limits_of
from core.clock import SystemClock
from core.health import assess
from storage.db import make_engine, make_session_factory
from storage.health import take_readings


def configure(parser: argparse.ArgumentParser) -> None:
    """No options: the database and the limits come from the settings."""


async def _check(url: str, settings: object, tz: str) -> tuple[bool, list[str]]:
    engine = make_engine(url)
    try:
        readings = await take_readings(make_session_factory(engine), SystemClock(tz).now())
    finally:
        await engine.dispose()
    result = assess(readings, limits_of(settings))
    return result.ready, result.lines()


def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    ready, lines = asyncio.run(_check(settings.database_url, settings, settings.timezone))
    for line in lines:
        print(line)
    print("ready" if ready else "NOT READY")
    return EXIT_OK if ready else EXIT_FIX


COMMAND = SubCommand("check", "readiness checks (as /readyz): exit 0 ready, 1 not", configure, run)
