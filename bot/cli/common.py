"""What every sub-command does before its real work: exit codes and ``CliExit``, the
``SubCommand`` record, loading the settings, setting up logging, loading the plan, checking
the schema, reading ``--now``.

A sub-command raises ``CliExit`` for anything the person at the terminal has to fix;
``bot.cli.main`` prints its message on stderr and exits with its code.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from pydantic import ValidationError

from bot.cli.log_secrets import protect_secrets_in_logs
from bot.log_json import use_json
from bot.log_privacy import protect_logs
from bot.settings import Settings
from core.plan import Plan, PlanError, load_plan
from storage.db import describe_database_error
from storage.migrate import SchemaNotMigrated, check_writable, ensure_schema

EXIT_OK = 0
EXIT_FIX = 1
EXIT_CONFIG = 2


class CliExit(Exception):
    """Stop with a message on stderr and an exit code."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class SubCommand:
    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        raise CliExit(f"Invalid settings (environment or .env):\n{exc}", EXIT_CONFIG) from exc


def configure_logging(level: str, fmt: str = "text", instance: str | None = None) -> None:
    """``fmt`` "json" (LOG_FORMAT): one JSON object a line (bot.log_json); ``instance`` goes in
    each of them (INSTANCE_NAME)."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if fmt == "json":  # issue 15
        use_json(instance)
    # httpx logs every request URL at INFO, and the URL contains the bot token
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)  # it narrates every schema check
    # no citizen's phone, name or user id in any record, even at DEBUG (bot/log_privacy.py);
    # first, so later filters see Telegram objects already summarised
    protect_logs()
    protect_secrets_in_logs()


def load_plan_or_exit(path: str, start: date | None = None) -> Plan:
    try:
        plan = load_plan(path)
    except PlanError as exc:
        raise CliExit(f"The campaign plan {path} is invalid:\n{exc}", EXIT_FIX) from exc
    return plan.rebase(start) if start else plan


def ensure_schema_or_exit(url: str) -> None:
    """The database is at the schema's head and writable, or the command stops here."""
    try:
        asyncio.run(ensure_schema(url))
        asyncio.run(check_writable(url))  # a read-only database is found now, not at a complaint
    except SchemaNotMigrated as exc:
        raise CliExit(str(exc), EXIT_FIX) from exc
    except Exception as exc:  # unreachable server, read-only file, bad URL: one line, and stop
        raise CliExit(describe_database_error(exc, url), EXIT_FIX) from None


def parse_now(text: str, settings: Settings) -> datetime:
    """``--now``: an ISO 8601 time; a naive one is read in the configured time zone."""
    value = datetime.fromisoformat(text.strip())
    return value if value.tzinfo is not None else value.replace(tzinfo=settings.tz)
