"""``python -m bot [run]``: the bot itself, long polling, or a webhook when WEBHOOK_URL is set."""

from __future__ import annotations

import argparse
import logging
from typing import Any
from urllib.parse import urlsplit

from telegram import Update
from telegram.error import InvalidToken, NetworkError

from bot.app import build_application
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
)
from bot.cli.log_secrets import mask_token, masked, protect_secrets_in_logs
from bot.settings import Settings
from bot.wiring import make_deps

log = logging.getLogger("bot")


def configure(parser: argparse.ArgumentParser) -> None:
    """No options: everything comes from the settings."""


def run(args: argparse.Namespace) -> int:
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
    plan = load_plan_or_exit(settings.plan_file, settings.campaign_start)
    ensure_schema_or_exit(settings.database_url)

    application = build_application(settings, make_deps(settings, plan))
    try:
        _start(application, settings)
    except InvalidToken as exc:  # getMe answered 401 Unauthorized or 404 Not Found
        answer = exc.__cause__ if isinstance(exc.__cause__, InvalidToken) else exc  # the server's words
        raise CliExit(
            f"Telegram refused BOT_TOKEN {mask_token(token)} (getMe: {masked(answer.message, token)}): "
            "check the token from @BotFather (and TELEGRAM_API_URL)",
            EXIT_CONFIG,
        ) from None
    except NetworkError as exc:  # raised only before polling began: afterwards PTB retries
        raise CliExit(
            f"cannot reach the Telegram Bot API at {masked(settings.telegram_api_url, token)}: "
            f"{masked(exc.message, token)}",
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


COMMAND = SubCommand("run", "run the bot (long polling, or webhook when WEBHOOK_URL is set)", configure, run)
