"""Runtime settings, from the environment or a ``.env`` file (see ``.env.example``).

Names are the environment variables' names in lower case; the environment wins over ``.env``.
``BOT_TOKEN`` is optional here so that ``migrate`` and ``check-plan`` run without one; ``run``
refuses to start without it (``bot.cli``).
"""

from __future__ import annotations

from datetime import date, time
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_API_URL = "https://api.telegram.org/bot"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        case_sensitive=False,
        extra="ignore",  # a shared .env may hold other tools' variables
        env_ignore_empty=True,  # `BOT_TOKEN=` in a copied .env.example means "not set"
    )

    bot_token: SecretStr | None = None
    database_url: str = "sqlite+aiosqlite:///data/bot.db"
    # python-telegram-bot's base_url form: the token is appended to it
    telegram_api_url: str = DEFAULT_API_URL
    telegram_file_url: str | None = None  # derived from telegram_api_url when unset
    office_chat_id: int | None = None
    # kept as the raw comma-separated text: pydantic-settings would otherwise insist on JSON
    office_admin_ids_raw: str = Field(default="", validation_alias="office_admin_ids")
    plan_file: str = "plans/zhuhui-2014.toml"
    # re-base the campaign: every phase date shifts so the first phase starts on this day
    campaign_start: date | None = None
    timezone: str = "Asia/Shanghai"
    quiet_hours_start: time = time(21, 0)
    quiet_hours_end: time = time(8, 0)
    # local hour from which the daily digest (and on Mondays the weekly one) goes to the office
    digest_hour: int = Field(default=8, ge=0, le=23)
    daily_case_limit: int = Field(default=5, ge=0)
    reply_review: bool = False
    # polling | webhook. Unset: webhook when WEBHOOK_URL is set (as before BOT_MODE existed),
    # long polling otherwise. Webhook mode needs WEBHOOK_URL and WEBHOOK_SECRET: `run` checks
    # that (bot.cli.run) so `migrate` and `check-plan` still run on a half-written .env.
    bot_mode: Literal["polling", "webhook"] | None = None
    webhook_url: str | None = None
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = Field(default=8080, ge=1, le=65535)
    webhook_secret: SecretStr | None = None
    max_concurrent_updates: int = Field(default=64, ge=1)
    # Per-user flood limit (bot/throttle.py): at most THROTTLE_MESSAGES updates in any
    # THROTTLE_WINDOW_SECONDS; the rest get one "slow down" and are dropped. 0 disables it.
    throttle_messages: int = Field(default=20, ge=0)
    throttle_window_seconds: float = Field(default=10.0, ge=0)
    # OFFICE_ADMIN_IDS get a higher limit, not none: see bot/throttle.py. 0 disables it for them.
    throttle_office_messages: int = Field(default=100, ge=0)
    # A name for this running instance, unique among the instances on one database (e.g. the
    # host name, or "web-2"). It makes the outbox sender's and the periodic pass's identity
    # stable, so a restarted instance takes its own leases and claims back at once instead of
    # waiting them out. Unset: a random identity per process (safe, but a crashed instance's
    # leases must run out first). Two running instances must never share a name.
    instance_name: str | None = Field(default=None, min_length=1, max_length=48, pattern=r"^[A-Za-z0-9._-]+$")
    log_level: str = "INFO"
    # The office's web dashboard (`python -m bot web`, web/): where it listens, and the address
    # people open, which the bot's /web links start with (behind a proxy: the public https URL).
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=8000, ge=1, le=65535)
    web_base_url: str | None = None  # unset: http://WEB_HOST:WEB_PORT
    # The key the dashboard's anti-forgery tokens are made with; every dashboard instance of a
    # deployment needs the same one. Unset: derived from BOT_TOKEN (which they share anyway).
    web_secret: SecretStr | None = None
    # Retention (issue 15, core.retention): a closed case's complainant identity and evidence
    # files are kept until the year-end assessment plus RETENTION_DAYS (or its close plus as
    # many days, if later), then erased by the periodic pass. The assessment's day:
    # RETENTION_ASSESSMENT_DATE, or the campaign's last day when unset.
    retention_days: int = Field(default=180, ge=0)
    retention_assessment_date: date | None = None
    # Health, metrics and logs (issue 15, README "Health and metrics"): /readyz fails when the
    # oldest pending outbox message is older than READY_OUTBOX_MAX_AGE_SECONDS or the last
    # periodic pass finished longer than READY_PASS_MAX_AGE_SECONDS ago. HEALTH_PORT set: the
    # bot also serves /healthz, /readyz and /metrics on HEALTH_HOST:HEALTH_PORT. The database
    # figures in /metrics are read at most every METRICS_CACHE_SECONDS. LOG_FORMAT=json: one
    # JSON object a line.
    ready_outbox_max_age_seconds: int = Field(default=900, ge=1)
    ready_pass_max_age_seconds: int = Field(default=600, ge=1)
    health_host: str = "127.0.0.1"
    health_port: int | None = Field(default=None, ge=1, le=65535)
    metrics_cache_seconds: float = Field(default=5.0, ge=0)
    log_format: Literal["text", "json"] = "text"
    # Evidence store (issue 15, storage.evidence_store): the office's own copy of every
    # attachment, files named by their SHA-256 under EVIDENCE_DIR; backups carry them.
    evidence_dir: Path = Path("data/evidence")

    @field_validator("office_admin_ids_raw")
    @classmethod
    def _admin_ids_are_ints(cls, value: str) -> str:
        for part in _split_ids(value):
            try:
                int(part)
            except ValueError:
                raise ValueError(f"OFFICE_ADMIN_IDS must be comma-separated integers, got {part!r}") from None
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("bot_mode", mode="before")
    @classmethod
    def _mode_any_case(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @property
    def mode(self) -> Literal["polling", "webhook"]:
        """How ``run`` gets updates: BOT_MODE, or webhook exactly when WEBHOOK_URL is set."""
        if self.bot_mode is not None:
            return self.bot_mode
        return "webhook" if self.webhook_url else "polling"

    @field_validator("log_level")
    @classmethod
    def _known_log_level(cls, value: str) -> str:
        upper = value.upper()
        if upper not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError(f"unknown log level {value!r}")
        return upper

    @field_validator("telegram_api_url", "telegram_file_url")
    @classmethod
    def _no_trailing_slash(cls, value: str | None) -> str | None:
        # python-telegram-bot appends the token directly: ".../bot" + "123:ABC"
        return value.rstrip("/") if value else value

    @property
    def office_admin_ids(self) -> frozenset[int]:
        return frozenset(int(part) for part in _split_ids(self.office_admin_ids_raw))

    @property
    def file_url(self) -> str:
        """The file download base: explicit, or the API base with ``/bot`` → ``/file/bot``."""
        if self.telegram_file_url:
            return self.telegram_file_url
        base = self.telegram_api_url
        if base.endswith("/bot"):
            return base[: -len("/bot")] + "/file/bot"
        return base + "/file"

    @property
    def web_url(self) -> str:
        """The dashboard's address as people open it, without a trailing slash."""
        return (self.web_base_url or f"http://{self.web_host}:{self.web_port}").rstrip("/")

    @property
    def web_cookie_secure(self) -> bool:
        """Session cookies go over https only when the dashboard is served over https; a plain
        http address works only on this very machine (the demo), and `python -m bot web` warns
        about any other."""
        return self.web_url.startswith("https://")

    @property
    def web_url_local(self) -> bool:
        return self.web_url.startswith(("http://127.0.0.1", "http://localhost", "http://[::1]"))

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def _split_ids(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]
