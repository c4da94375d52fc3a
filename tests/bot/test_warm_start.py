"""bot.warm_start: a long-running bot loads jieba in a thread as it starts and opens its pools'
connections, then freezes what it loaded out of the garbage collector's walks."""

from __future__ import annotations

import gc
import logging
import threading
from pathlib import Path
from typing import cast

import pytest

from bot.warm_start import start_warming, warmed
from core.rules import Classifier
from storage.db import make_engine


class Segmenter:
    def __init__(self, fails: bool = False) -> None:
        self.fails = fails
        self.threads: list[str] = []

    def warm_up(self) -> None:
        self.threads.append(threading.current_thread().name)
        if self.fails:
            raise OSError("dictionary file missing")


@pytest.fixture(autouse=True)
def unfrozen() -> object:
    gc.unfreeze()
    yield None
    gc.unfreeze()  # give the test process its objects back


async def test_the_dictionary_loads_in_a_thread_then_what_it_made_is_frozen() -> None:
    segmenter = Segmenter()
    assert gc.get_freeze_count() == 0
    task = start_warming(cast(Classifier, segmenter))
    await warmed()
    assert task.done() and task.exception() is None
    assert len(segmenter.threads) == 1 and segmenter.threads[0] != threading.main_thread().name
    assert gc.get_freeze_count() > 1000  # the modules, the plan's tables, ...: out of the walks


async def test_a_dictionary_that_cannot_load_is_said_and_the_bot_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger="bot.warm_start"):
        await start_warming(cast(Classifier, Segmenter(fails=True)))
    assert any("could not load the segmenter" in r.getMessage() for r in caplog.records)
    assert gc.get_freeze_count() > 1000
    assert any("start-up objects frozen" in r.getMessage() for r in caplog.records)


async def test_the_pools_get_their_connections_at_start(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Made while the bot starts, so no update waits for one the first time two things need
    the database at once; a database that cannot be reached is said, and the bot goes on."""
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    unreachable = make_engine("postgresql+asyncpg://postgres@127.0.0.1:1/none")  # refused at once
    try:
        assert engine.sync_engine.pool.checkedin() == 0
        with caplog.at_level(logging.INFO, logger="bot.warm_start"):
            await start_warming(cast(Classifier, Segmenter()), [(unreachable, 1), (engine, 2)])
        assert any("could not open database connections" in r.getMessage() for r in caplog.records)
        assert engine.sync_engine.pool.checkedin() == 2  # opened, and back in the pool
        assert engine.sync_engine.pool.checkedout() == 0
    finally:
        await engine.dispose()
        await unreachable.dispose()
