"""``python -m bot migrate``: apply the Alembic migrations to DATABASE_URL."""

from __future__ import annotations

import argparse
import asyncio

from sqlalchemy.engine import make_url

from bot.cli.common import EXIT_FIX, EXIT_OK, CliExit, SubCommand, configure_logging, load_settings
from storage.db import describe_database_error
from storage.migrate import check_schema, check_writable, upgrade


def configure(parser: argparse.ArgumentParser) -> None:
    """No options: DATABASE_URL from the settings."""


def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    configure_logging(settings.log_level)
    try:
        asyncio.run(upgrade(settings.database_url))
        status = asyncio.run(check_schema(settings.database_url))
        asyncio.run(check_writable(settings.database_url))  # at head already: nothing was written
    except Exception as exc:
        problem = describe_database_error(exc, settings.database_url)
        raise CliExit(f"Migrating failed: {problem}", EXIT_FIX) from None
    print(f"Database {_redact(settings.database_url)} is at revision {status.current} (head {status.head}).")
    return EXIT_OK


def _redact(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "(unparseable DATABASE_URL)"


COMMAND = SubCommand("migrate", "apply database migrations", configure, run)
