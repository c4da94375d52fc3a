"""``python -m bot [COMMAND]``: run (the default), migrate, check-plan, tick, invite.

Each sub-command is a ``SubCommand``: a name, a function adding its arguments and a function
running it that returns the exit code. Later commands (``tick``, ``invite``, ``report``) are
added to ``SUBCOMMANDS``.

Exit codes: 0 fine, 1 something to fix (plan, database), 2 bad configuration or usage.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlsplit

from pydantic import ValidationError
from sqlalchemy.engine import make_url
from telegram import Update

from bot.app import build_application, make_deps
from bot.handlers.join import configure_invite_cli, run_invite_cli
from bot.reports.cli import configure_report, run_report
from bot.settings import Settings
from bot.tick import configure_tick, run_tick
from core.plan import Plan, PlanError, load_plan, plan_summary
from storage.migrate import SchemaNotMigrated, check_schema, ensure_schema, upgrade

EXIT_OK = 0
EXIT_FIX = 1
EXIT_CONFIG = 2

log = logging.getLogger("bot")


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


def configure_logging(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # httpx logs every request URL at INFO, and the URL contains the bot token
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)  # it narrates every schema check


# -- run --------------------------------------------------------------------------------------


def _configure_run(parser: argparse.ArgumentParser) -> None:
    """No options: everything comes from the settings."""


def _run(args: argparse.Namespace) -> int:
    settings = load_settings()
    if settings.bot_token is None or not settings.bot_token.get_secret_value().strip():
        raise CliExit(
            "BOT_TOKEN is not set. Put the token from @BotFather in the environment or in .env "
            "(see .env.example), e.g. BOT_TOKEN=123456:ABC... python -m bot",
            EXIT_CONFIG,
        )
    configure_logging(settings.log_level)
    plan = _load_plan_or_exit(settings.plan_file, settings.campaign_start)
    _ensure_schema_or_exit(settings.database_url)

    application = build_application(settings, make_deps(settings, plan))
    if settings.webhook_url:
        log.info("starting in webhook mode on %s:%s", settings.webhook_listen, settings.webhook_port)
        application.run_webhook(
            listen=settings.webhook_listen,
            port=settings.webhook_port,
            url_path=urlsplit(settings.webhook_url).path.lstrip("/"),
            webhook_url=settings.webhook_url,
            secret_token=settings.webhook_secret.get_secret_value() if settings.webhook_secret else None,
            allowed_updates=Update.ALL_TYPES,
        )
    else:
        log.info("starting with long polling")
        application.run_polling(allowed_updates=Update.ALL_TYPES)
    return EXIT_OK


def _load_plan_or_exit(path: str, start: date | None = None) -> Plan:
    try:
        plan = load_plan(path)
    except PlanError as exc:
        raise CliExit(f"The campaign plan {path} is invalid:\n{exc}", EXIT_FIX) from exc
    return plan.rebase(start) if start else plan


def _ensure_schema_or_exit(url: str) -> None:
    try:
        asyncio.run(ensure_schema(url))
    except SchemaNotMigrated as exc:
        raise CliExit(str(exc), EXIT_FIX) from exc
    except Exception as exc:  # unreachable server, bad URL, missing driver: say what and stop
        raise CliExit(f"Cannot open the database {_redact(url)}: {exc}", EXIT_FIX) from exc


def _redact(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "(unparseable DATABASE_URL)"


# -- migrate ----------------------------------------------------------------------------------


def _configure_migrate(parser: argparse.ArgumentParser) -> None:
    """No options: DATABASE_URL from the settings."""


def _migrate(args: argparse.Namespace) -> int:
    settings = load_settings()
    configure_logging(settings.log_level)
    try:
        asyncio.run(upgrade(settings.database_url))
        status = asyncio.run(check_schema(settings.database_url))
    except Exception as exc:
        raise CliExit(f"Migrating {_redact(settings.database_url)} failed: {exc}", EXIT_FIX) from exc
    print(f"Database {_redact(settings.database_url)} is at revision {status.current} (head {status.head}).")
    return EXIT_OK


# -- check-plan -------------------------------------------------------------------------------


def _configure_check_plan(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", nargs="?", help="the plan file (default: PLAN_FILE from the settings)")
    parser.add_argument("--lang", choices=("zh", "en"), default="zh", help="language of the summary")
    parser.add_argument(
        "--start",
        type=date.fromisoformat,
        help="show the plan re-based to this start date (YYYY-MM-DD; default: CAMPAIGN_START)",
    )


def _check_plan(args: argparse.Namespace) -> int:
    settings = load_settings()
    path = args.file or settings.plan_file
    plan = _load_plan_or_exit(path, args.start or settings.campaign_start)
    print(plan_summary(plan, args.lang))
    return EXIT_OK


SUBCOMMANDS: list[SubCommand] = [
    SubCommand("run", "run the bot (long polling, or webhook when WEBHOOK_URL is set)", _configure_run, _run),
    SubCommand("migrate", "apply database migrations", _configure_migrate, _migrate),
    SubCommand("check-plan", "validate a campaign plan and summarise it", _configure_check_plan, _check_plan),
    SubCommand("tick", "run one pass of everything time-driven and exit", configure_tick, run_tick),
    SubCommand("invite", "print a one-time invite code for a liaison", configure_invite_cli, run_invite_cli),
    SubCommand("report", "write a digest, scoreboard or export as files", configure_report, run_report),
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot", description="The 办事难 complaint and rectification bot."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in SUBCOMMANDS:
        command.configure(sub.add_parser(command.name, help=command.help, description=command.help))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    name = args.command or "run"
    command = next(c for c in SUBCOMMANDS if c.name == name)
    try:
        return command.run(args)
    except CliExit as exc:
        print(str(exc), file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        return EXIT_OK
