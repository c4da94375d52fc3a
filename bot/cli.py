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
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError
from sqlalchemy.engine import make_url
from telegram import Update
from telegram.error import InvalidToken, NetworkError

from bot.app import build_application, make_deps
from bot.handlers.join import configure_invite_cli, run_invite_cli
from bot.log_privacy import protect_logs
from bot.reports.cli import configure_report, run_report
from bot.settings import Settings
from bot.tick import configure_tick, run_tick
from core.plan import Plan, PlanError, load_plan, plan_summary
from storage.db import describe_database_error
from storage.migrate import SchemaNotMigrated, check_schema, check_writable, ensure_schema, upgrade

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
    # no citizen's phone, name or user id in any record, even at DEBUG (bot/log_privacy.py);
    # first, so later filters see Telegram objects already summarised
    protect_logs()
    protect_secrets_in_logs()


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
    token = settings.bot_token.get_secret_value()
    configure_logging(settings.log_level)
    protect_secrets_in_logs(token)
    plan = _load_plan_or_exit(settings.plan_file, settings.campaign_start)
    _ensure_schema_or_exit(settings.database_url)

    application = build_application(settings, make_deps(settings, plan))
    try:
        _start(application, settings)
    except InvalidToken as exc:  # getMe answered 401 Unauthorized or 404 Not Found
        answer = exc.__cause__ if isinstance(exc.__cause__, InvalidToken) else exc  # the server's words
        raise CliExit(
            f"Telegram refused BOT_TOKEN {mask_token(token)} (getMe: {_masked(answer.message, token)}): "
            "check the token from @BotFather (and TELEGRAM_API_URL)",
            EXIT_CONFIG,
        ) from None
    except NetworkError as exc:  # raised only before polling began: afterwards PTB retries
        raise CliExit(
            f"cannot reach the Telegram Bot API at {_masked(settings.telegram_api_url, token)}: "
            f"{_masked(exc.message, token)}",
            EXIT_FIX,
        ) from None
    return EXIT_OK


def _start(application: Any, settings: Settings) -> None:
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


def _load_plan_or_exit(path: str, start: date | None = None) -> Plan:
    try:
        plan = load_plan(path)
    except PlanError as exc:
        raise CliExit(f"The campaign plan {path} is invalid:\n{exc}", EXIT_FIX) from exc
    return plan.rebase(start) if start else plan


def _ensure_schema_or_exit(url: str) -> None:
    try:
        asyncio.run(ensure_schema(url))
        asyncio.run(check_writable(url))  # a read-only database is found now, not at a complaint
    except SchemaNotMigrated as exc:
        raise CliExit(str(exc), EXIT_FIX) from exc
    except Exception as exc:  # unreachable server, read-only file, bad URL: one line, and stop
        raise CliExit(describe_database_error(exc, url), EXIT_FIX) from None


def _redact(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "(unparseable DATABASE_URL)"


# -- secrets in the log ---------------------------------------------------------------------------
# python-telegram-bot puts the token into exception texts ("The token `...` was rejected") and
# httpx into request URLs: whatever reaches a log handler is masked on the way out.

# a Bot API token: the bot's numeric id, a colon, 35 characters of secret
_TOKEN_SHAPE = re.compile(r"\b(\d{5,15}):[A-Za-z0-9_-]{30,}")
_SECRETS: set[str] = set()


def mask_token(token: str) -> str:
    """``123456:ABC...`` -> ``123456:****``: enough to tell which bot, nothing to use."""
    bot_id, colon, _ = token.strip().partition(":")
    return f"{bot_id}:****" if colon and bot_id.isdigit() else "****"


def _masked(text: str, *secrets: str) -> str:
    for secret in sorted({*_SECRETS, *secrets}, key=len, reverse=True):
        if secret and secret in text:
            text = text.replace(secret, mask_token(secret))
    return _TOKEN_SHAPE.sub(lambda m: f"{m.group(1)}:****", text)


class _SecretFilter(logging.Filter):
    """On the root handlers: masks tokens in messages and tracebacks, and drops
    python-telegram-bot's traceback for a refused token (the CLI says it in one line)."""

    def filter(self, record: logging.LogRecord) -> bool:
        failed = record.exc_info[1] if record.exc_info else None
        starting = record.name.startswith("telegram") and "(Bootstrap" in record.getMessage()
        if starting and isinstance(failed, InvalidToken | NetworkError):
            return False  # the start failed: _run says why in one line
        message = record.getMessage()
        masked = _masked(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = _masked(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = _masked(record.exc_text)
        return True


def protect_secrets_in_logs(*secrets: str) -> None:
    """Mask ``secrets`` (and anything shaped like a bot token) in everything the root logger's
    handlers write. Call after the handlers are set up; calling again adds secrets."""
    _SECRETS.update(s for s in secrets if s)
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, _SecretFilter) for f in handler.filters):
            handler.addFilter(_SecretFilter())


# -- migrate ----------------------------------------------------------------------------------


def _configure_migrate(parser: argparse.ArgumentParser) -> None:
    """No options: DATABASE_URL from the settings."""


def _migrate(args: argparse.Namespace) -> int:
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
