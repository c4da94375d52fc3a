"""The bot token kept out of every log line.

python-telegram-bot puts the token into exception texts ("The token `...` was rejected") and
httpx into request URLs: whatever reaches a log handler is masked on the way out.
"""

from __future__ import annotations

import logging
import re

from telegram.error import InvalidToken, NetworkError

# a Bot API token: the bot's numeric id, a colon, 35 characters of secret
_TOKEN_SHAPE = re.compile(r"\b(\d{5,15}):[A-Za-z0-9_-]{30,}")
_SECRETS: set[str] = set()


def mask_token(token: str) -> str:
    """``123456:ABC...`` -> ``123456:****``: enough to tell which bot, nothing to use."""
    bot_id, colon, _ = token.strip().partition(":")
    return f"{bot_id}:****" if colon and bot_id.isdigit() else "****"


def masked(text: str, *secrets: str) -> str:
    """``text`` with ``secrets``, the ones already registered and anything token-shaped masked."""
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
            return False  # the start failed: bot.cli.run says why in one line
        message = record.getMessage()
        hidden = masked(message)
        if hidden != message:
            record.msg, record.args = hidden, None
        if record.exc_info and not record.exc_text:
            record.exc_text = masked(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = masked(record.exc_text)
        return True


def protect_secrets_in_logs(*secrets: str) -> None:
    """Mask ``secrets`` (and anything shaped like a bot token) in everything the root logger's
    handlers write. Call after the handlers are set up; calling again adds secrets."""
    _SECRETS.update(s for s in secrets if s)
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, _SecretFilter) for f in handler.filters):
            handler.addFilter(_SecretFilter())
