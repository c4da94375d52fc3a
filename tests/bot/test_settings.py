"""Settings from the environment and .env."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.settings import Settings

ENV_NAMES = (
    "BOT_TOKEN", "DATABASE_URL", "TELEGRAM_API_URL", "TELEGRAM_FILE_URL", "OFFICE_CHAT_ID",
    "OFFICE_ADMIN_IDS", "PLAN_FILE", "TIMEZONE", "QUIET_HOURS_START", "QUIET_HOURS_END",
    "DAILY_CASE_LIMIT", "REPLY_REVIEW", "WEBHOOK_URL", "WEBHOOK_LISTEN", "WEBHOOK_PORT",
    "WEBHOOK_SECRET", "MAX_CONCURRENT_UPDATES", "LOG_LEVEL",
)
REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env


def test_defaults() -> None:
    s = Settings()
    assert s.bot_token is None
    assert s.database_url == "sqlite+aiosqlite:///data/bot.db"
    assert s.telegram_api_url == "https://api.telegram.org/bot"
    assert s.file_url == "https://api.telegram.org/file/bot"
    assert s.plan_file == "plans/zhuhui-2014.toml"
    assert s.timezone == "Asia/Shanghai"
    assert (s.quiet_hours_start, s.quiet_hours_end) == (time(21), time(8))
    assert s.daily_case_limit == 5
    assert s.reply_review is False
    assert s.webhook_url is None
    assert s.max_concurrent_updates == 64
    assert s.office_admin_ids == frozenset()


def test_a_self_hosted_api_server_gets_its_matching_file_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_API_URL", "http://127.0.0.1:8081/bot/")
    s = Settings()
    assert s.telegram_api_url == "http://127.0.0.1:8081/bot"
    assert s.file_url == "http://127.0.0.1:8081/file/bot"


def test_an_explicit_file_url_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_FILE_URL", "http://files.local/file/bot")
    assert Settings().file_url == "http://files.local/file/bot"


def test_office_admin_ids_are_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OFFICE_ADMIN_IDS", "11, 22,33,")
    assert Settings().office_admin_ids == frozenset({11, 22, 33})


def test_a_bad_admin_id_is_refused_with_the_variable_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OFFICE_ADMIN_IDS", "11,abc")
    with pytest.raises(ValidationError, match="OFFICE_ADMIN_IDS"):
        Settings()


def test_an_unknown_time_zone_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIMEZONE", "Mars/Olympus")
    with pytest.raises(ValidationError, match="time zone"):
        Settings()


def test_dotenv_is_read_and_the_environment_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text(
        "BOT_TOKEN=1:FROMFILE\nOFFICE_CHAT_ID=-100123\nQUIET_HOURS_START=22:30\nDAILY_CASE_LIMIT=3\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("DAILY_CASE_LIMIT", "7")
    s = Settings()
    assert s.bot_token is not None and s.bot_token.get_secret_value() == "1:FROMFILE"
    assert s.office_chat_id == -100123
    assert s.quiet_hours_start == time(22, 30)
    assert s.daily_case_limit == 7


def test_the_example_env_file_parses_and_leaves_the_token_unset(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text((REPO_ROOT / ".env.example").read_text(encoding="utf-8"), encoding="utf-8")
    s = Settings()
    assert s.bot_token is None  # "BOT_TOKEN=" means not set
    assert s.office_chat_id is None
    assert s.webhook_url is None


def test_the_example_env_file_documents_every_setting() -> None:
    example = (REPO_ROOT / ".env.example").read_text(encoding="utf-8")
    for name in ENV_NAMES:
        assert f"\n{name}=" in example, name


def test_the_token_never_shows_in_a_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_TOKEN", "123:SECRET")
    assert "SECRET" not in repr(Settings())
