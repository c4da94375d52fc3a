"""``python -m bot [run]``: the bot itself, by long polling or as a webhook (BOT_MODE).

Webhook mode serves Telegram's POSTs on WEBHOOK_LISTEN:WEBHOOK_PORT at WEBHOOK_URL's path and
registers WEBHOOK_URL with Telegram on start. Several such workers may run on one PostgreSQL
behind a reverse proxy (docs/deploy/nginx-webhook.conf, README "Several instances"): each one
registers the same public URL, which is harmless, and checks WEBHOOK_SECRET on every request
(python-telegram-bot answers 403 to a missing or wrong X-Telegram-Bot-Api-Secret-Token and
handles nothing), so only Telegram can post updates even if a worker's port is reachable.
"""

from __future__ import annotations

import argparse
import logging
import re
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
    check_mode_or_exit(settings)  # before the plan and the database: a config slip says so first
    configure_logging(settings.log_level, settings.log_format, settings.instance_name)
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


# What Telegram accepts as setWebhook's secret_token (and so what it will send back)
SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")


def check_mode_or_exit(settings: Settings) -> None:
    """Webhook mode has a URL to register and a secret to check, or ``run`` stops in one line.

    Without a secret anyone who finds the URL (or a worker's port) could post forged updates
    as any citizen, so webhook mode never runs without one."""
    if settings.mode != "webhook":
        return
    how = "BOT_MODE=webhook" if settings.bot_mode == "webhook" else "webhook mode (WEBHOOK_URL is set)"
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else ""
    given = {"WEBHOOK_URL": (settings.webhook_url or "").strip(), "WEBHOOK_SECRET": secret.strip()}
    missing = [name for name, value in given.items() if not value]
    if missing:
        raise CliExit(
            f"{how} needs {' and '.join(missing)}: WEBHOOK_URL is the public URL Telegram posts to, "
            "WEBHOOK_SECRET a random token of 1-256 characters A-Z a-z 0-9 _ - (see .env.example)",
            EXIT_CONFIG,
        )
    url = urlsplit(given["WEBHOOK_URL"])
    if url.scheme not in ("http", "https") or not url.hostname:
        raise CliExit(
            f"WEBHOOK_URL must be a whole URL Telegram can reach (https://host/path), got {url.geturl()!r}",
            EXIT_CONFIG,
        )
    if not SECRET_TOKEN.fullmatch(secret):
        raise CliExit(
            "WEBHOOK_SECRET may only hold 1-256 characters A-Z a-z 0-9 _ - (Telegram refuses others)",
            EXIT_CONFIG,
        )


def _start(application: Any, settings: Settings) -> None:
    if settings.mode == "webhook":
        assert settings.webhook_url is not None and settings.webhook_secret is not None  # check_mode_or_exit
        log.info("starting in webhook mode on %s:%s", settings.webhook_listen, settings.webhook_port)
        application.run_webhook(
            listen=settings.webhook_listen,
            port=settings.webhook_port,
            url_path=urlsplit(settings.webhook_url).path.lstrip("/"),
            webhook_url=settings.webhook_url,
            secret_token=settings.webhook_secret.get_secret_value(),
            allowed_updates=Update.ALL_TYPES,
        )
    else:
        if settings.webhook_url:
            log.warning("BOT_MODE=polling: WEBHOOK_URL is ignored (and the webhook removed)")
        log.info("starting with long polling")
        application.run_polling(allowed_updates=Update.ALL_TYPES)


COMMAND = SubCommand("run", "run the bot (long polling, or a webhook: BOT_MODE)", configure, run)
