"""Fixtures for bot tests: ``harness`` (defaults) and ``harness_factory`` (custom settings)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from bot.i18n import Catalogue
from core.clock import FixedClock
from core.plan import Plan
from tests.support.harness import BotHarness, running_harness

HarnessFactory = Callable[..., contextlib.AbstractAsyncContextManager[BotHarness]]


@pytest.fixture
def harness_factory(
    plan: Plan, clock: FixedClock, catalogue: Catalogue, migrated_sqlite_url: str
) -> HarnessFactory:
    """``async with harness_factory(office_chat_id=-100, ...) as h:``: settings overrides by
    field name; the database is this test's migrated SQLite copy."""

    def factory(**overrides: Any) -> contextlib.AbstractAsyncContextManager[BotHarness]:
        return running_harness(
            plan=plan, clock=clock, catalogue=catalogue, database_url=migrated_sqlite_url, **overrides
        )

    return factory


@pytest.fixture
async def harness(harness_factory: HarnessFactory) -> AsyncIterator[BotHarness]:
    async with harness_factory() as h:
        yield h
