"""Fixtures every suite may use: the real plan, a fixed clock, the catalogue, a migrated SQLite
database per test. (PostgreSQL fixtures are in tests/integration/conftest.py.)

Suite-specific fixtures live next to their tests (tests/bot/conftest.py has the bot harness).
"""

from __future__ import annotations

import asyncio
import shutil
from datetime import datetime
from pathlib import Path

import pytest

from bot.i18n import Catalogue
from core.clock import FixedClock
from core.plan import Plan, load_plan

REPO_ROOT = Path(__file__).resolve().parent.parent
PLAN_FILE = REPO_ROOT / "plans" / "zhuhui-2014.toml"
# A Monday, a working day on the Chinese calendar, mid-morning in the district's time zone.
FIXED_NOW = datetime(2026, 11, 23, 10, 0)
TIMEZONE = "Asia/Shanghai"


@pytest.fixture(scope="session")
def plan() -> Plan:
    """The real plan, loaded once (it is immutable)."""
    return load_plan(PLAN_FILE)


@pytest.fixture(scope="session")
def catalogue() -> Catalogue:
    return Catalogue.load()


@pytest.fixture
def clock() -> FixedClock:
    """Stands still at ``FIXED_NOW`` (Asia/Shanghai) until a test moves it."""
    return FixedClock(FIXED_NOW, TIMEZONE)


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture(scope="session")
def migrated_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One SQLite file migrated to head per test session; tests get copies (migrating per test
    would cost a second each)."""
    from storage.migrate import upgrade

    path = tmp_path_factory.mktemp("template") / "template.db"
    asyncio.run(upgrade(sqlite_url(path)))
    return path


@pytest.fixture
def migrated_sqlite_url(migrated_sqlite_template: Path, tmp_path: Path) -> str:
    """A fresh, migrated SQLite database for this test only."""
    target = tmp_path / "bot.db"
    for suffix in ("", "-wal", "-shm"):
        source = Path(str(migrated_sqlite_template) + suffix)
        if source.exists():
            shutil.copyfile(source, Path(str(target) + suffix))
    return sqlite_url(target)
