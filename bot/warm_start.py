"""jieba's dictionary and the database connections, made when the bot starts rather than in
the middle of a complaint.

The classifier's word segmenter (jieba, for the negation rule in core.rules) loads its
dictionary on first use: ~0.6 s of Python on the event loop, so the first complaint with a
negator after every restart stalled every chat for that long. ``start_warming`` loads it in a
thread as the long-running bot starts (``bot.app``, with its sender; a test process builds many
applications and needs the dictionary in few), then ``gc.freeze()``s again, as
``PerChatUpdateProcessor.initialize`` (bot.concurrency) did for the rest of start-up, so the
few thousand objects it added stay out of the collector's full walks too.

The same task opens a few connections of each of the bot's pools (``storage.db.open_connections``):
a pool makes its second connection the first time two things need the database at once (a
step and the outbox sender's poll), and that step waited for it: 2.5-3.5 ms on PostgreSQL for a
backend to start, ~9 ms for an engine's first, which also reads the server's types.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncEngine

from core.rules import Classifier
from storage.db import open_connections

log = logging.getLogger(__name__)

_warming: set[asyncio.Task[None]] = set()


def start_warming(
    classifier: Classifier, pools: Sequence[tuple[AsyncEngine, int]] = ()
) -> asyncio.Task[None]:
    """Load the segmenter's dictionary in the background and open ``pools``' connections (an
    engine, how many), then freeze; returns the task."""

    async def run() -> None:
        for engine, n in pools:
            try:
                await open_connections(engine, n)
            except Exception:  # the pool makes them when needed, as before
                log.warning("could not open database connections ahead of use", exc_info=True)
        try:
            await asyncio.to_thread(classifier.warm_up)
        except Exception:
            log.warning("could not load the segmenter's dictionary ahead of use", exc_info=True)
        gc.freeze()  # what it loaded joins start-up's objects, out of the collector's walks
        log.info("start-up objects frozen: %d outside the collector's walks", gc.get_freeze_count())

    task = asyncio.get_running_loop().create_task(run(), name="warm start")
    _warming.add(task)
    task.add_done_callback(_warming.discard)
    return task


async def warmed() -> None:
    """Wait until ``start_warming`` is done (the bench measures a warmed process)."""
    await asyncio.gather(*_warming)
