"""Killing the sender mid-drain loses nothing (SPEC §7, §10; issue 4's "done when").

A child process drains a SQLite outbox against a Bot API stand-in run by the test. The stand-in
answers slowly and never answers one request at all (Telegram took the message, the answer is
lost), so the SIGKILL lands while sends are in flight. A second child then drains the same
outbox. Every pending notification arrives at least once, each chat's in order, and the only
duplicates are the messages that were in flight when the first child died.

This file is also the child: ``python tests/integration/test_sender_crash.py DB_URL API_URL``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import tempfile
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
if __name__ == "__main__":
    sys.path.insert(0, str(REPO_ROOT))

from bot.i18n import Catalogue  # noqa: E402
from bot.sender import make_sender  # noqa: E402
from bot.settings import Settings  # noqa: E402
from core.clock import SystemClock  # noqa: E402
from core.outbox import OutboxMessage, OutboxState  # noqa: E402
from storage.db import make_engine, make_session_factory  # noqa: E402
from storage.uow import sql_uow_factory  # noqa: E402
from tests.support.botapi_standin import BotApiStandin, UploadedFile  # noqa: E402

TOKEN = "123456:CRASH"
CHATS = [300_000 + n for n in range(20)]
PER_CHAT = 3
HOLD_AT = 25  # the send whose answer never comes
KILL_AFTER = 28  # sends the stand-in has seen when the child is killed
LEASE_SECONDS = 2  # the child's leases, so the restart need not wait long
MAX_IN_FLIGHT = 8  # the sender's default: the most sends a crash can leave unanswered


class SlowTelegram(BotApiStandin):
    """Takes every message, answers each 20 ms late, and one of them never."""

    def __init__(self) -> None:
        super().__init__(token=TOKEN)
        self.sends = 0
        self.holding = asyncio.Event()
        self._never = asyncio.Event()

    async def _answer(self, method: str, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        result = await super()._answer(method, params, files)
        if method == "sendMessage":
            self.sends += 1
            await asyncio.sleep(0.02)
            if self.sends == HOLD_AT:
                self.holding.set()
                await self._never.wait()
        return result

    def texts(self) -> list[str]:
        """Every message received, in the order it arrived."""
        received = sorted((m for chat in self.messages.values() for m in chat), key=lambda m: m.at)
        return [m.text for m in received]


async def start_child(db_url: str, api_url: str, *, output: int) -> asyncio.subprocess.Process:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    return await asyncio.create_subprocess_exec(
        sys.executable, __file__, db_url, api_url, cwd=REPO_ROOT, env=env, stdout=output, stderr=output
    )


async def _held_or_exited(telegram: SlowTelegram, child: asyncio.subprocess.Process) -> None:
    """Wait until the stand-in holds a send, or the child has died (then the test says why)."""
    held = asyncio.ensure_future(telegram.holding.wait())
    exited = asyncio.ensure_future(child.wait())
    await asyncio.wait({held, exited}, return_when=asyncio.FIRST_COMPLETED)
    for task in (held, exited):
        if not task.done():
            task.cancel()


async def until(condition: Any, timeout: float, what: str) -> None:  # noqa: ASYNC109
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


async def test_a_sender_killed_mid_drain_delivers_everything_on_restart(migrated_sqlite_url: str) -> None:
    engine = make_engine(migrated_sqlite_url)
    uow = sql_uow_factory(make_session_factory(engine))
    now = SystemClock().now()
    wanted = [f"{chat}:{k}" for k in range(PER_CHAT) for chat in CHATS]
    seeded = [OutboxMessage(int(t.split(":")[0]), "sendMessage", {"text": t}, created_at=now) for t in wanted]
    async with uow() as u:
        for message in seeded:
            await u.outbox.add(message)
        await u.commit()

    telegram = SlowTelegram()
    async with telegram:
        # nobody reads a killed child's output while it runs: it goes to a file, not a pipe that
        # could fill up, and is shown if the child dies on its own
        with tempfile.TemporaryFile() as log:
            first = await start_child(migrated_sqlite_url, telegram.api_url, output=log.fileno())
            try:
                # generous: on a loaded machine the child's start-up alone can take seconds
                await asyncio.wait_for(_held_or_exited(telegram, first), 60)
                if first.returncode is None:
                    await until(lambda: telegram.sends >= KILL_AFTER, 20, "more sends after the held one")
            finally:
                if first.returncode is None:
                    os.kill(first.pid, signal.SIGKILL)
                await first.wait()
                log.seek(0)
                child_output = log.read().decode("utf-8", "replace")
        assert first.returncode == -signal.SIGKILL, f"the child ended by itself:\n{child_output}"

        received_before = telegram.texts()
        async with uow() as u:
            rows = [await u.outbox.get(m.id) for m in seeded if m.id is not None]
        recorded = {str(m.payload["text"]): m.state for m in rows if m is not None}
        # sent as far as Telegram knows, not as far as the outbox knows: the answer (or the
        # commit after it) was cut off by the kill
        in_flight = {t for t in received_before if recorded[t] is not OutboxState.SENT}
        print(f"killed after {len(received_before)} deliveries; in flight: {sorted(in_flight)}")
        assert 1 <= len(in_flight) <= MAX_IN_FLIGHT
        assert len(received_before) < len(wanted)  # the kill did land mid-drain

        second = await start_child(migrated_sqlite_url, telegram.api_url, output=asyncio.subprocess.PIPE)
        _, err = await asyncio.wait_for(second.communicate(), 30)
        assert second.returncode == 0, err.decode()
        received = telegram.texts()

    async with uow() as u:
        counts = await u.outbox.count_by_state()
    await engine.dispose()

    assert counts[OutboxState.SENT] == len(wanted) and counts[OutboxState.PENDING] == 0
    assert set(received) == set(wanted)  # everything, at least once
    duplicates = {text for text, n in Counter(received).items() if n > 1}
    assert duplicates == in_flight  # only the messages in flight at the kill, and once more each
    assert all(n <= 2 for n in Counter(received).values())
    for chat in CHATS:  # each chat's messages first arrived in order
        firsts = list(dict.fromkeys(t for t in received if t.startswith(f"{chat}:")))
        assert firsts == [f"{chat}:{k}" for k in range(PER_CHAT)], firsts


# -- the child -----------------------------------------------------------------------------------


async def drain_until_empty(db_url: str, api_url: str) -> None:
    """Drain until no message is pending (messages a killed sender leased come back when
    their lease runs out)."""
    settings = Settings(_env_file=None, bot_token=TOKEN, telegram_api_url=api_url, database_url=db_url)
    engine = make_engine(db_url)
    uow = sql_uow_factory(make_session_factory(engine))
    lease = timedelta(seconds=LEASE_SECONDS)
    sender = make_sender(
        settings, uow=uow, clock=SystemClock(), catalogue=Catalogue.load(), lease=lease, sender_lease=lease
    )
    try:
        async with sender:
            while True:
                await sender.drain_once()
                async with uow() as u:
                    if (await u.outbox.count_by_state())[OutboxState.PENDING] == 0:
                        return
                await asyncio.sleep(0.1)
    finally:
        await engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("db_url")
    parser.add_argument("api_url")
    args = parser.parse_args()
    asyncio.run(drain_until_empty(args.db_url, args.api_url))
