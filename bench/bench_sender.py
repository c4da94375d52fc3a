"""The outbox sender against Telegram's limits (SPEC §10: "the sender reaches Telegram's rate
limit without a 429").

Run from the repository root:

    .venv/bin/python bench/bench_sender.py [--messages 1000] [--per-chat 1] [--margin 0.02]

It seeds a fan-out (``--messages`` notifications, ``--per-chat`` to each chat, catalogue texts
in Chinese and English with a button) into a fresh SQLite outbox, and drains it with the real
sender (``bot.sender.make_sender``: its own HTTP client, pacing and retries) against the Bot API
stand-in with Telegram's limits switched on: 30 messages in any second overall, one a second per
private chat, 20 a minute per group, and HTTP 429 with ``retry_after`` when one is broken. The
stand-in runs in a child process on 127.0.0.1, as Telegram is not in our process.

It prints the messages per second reached (over the whole drain, and between the first and the
last message Telegram received), the number of 429s, the most messages the stand-in saw in any
one second, and checks that every message arrived once. It asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

# the path is set up just above
from bot.i18n import Catalogue  # noqa: E402
from bot.sender import SendLimits, make_sender  # noqa: E402
from bot.settings import Settings  # noqa: E402
from core.clock import SystemClock  # noqa: E402
from core.notices import Button, Notice  # noqa: E402
from core.outbox import OutboxState  # noqa: E402
from storage.db import make_engine, make_session_factory  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.uow import sql_uow_factory  # noqa: E402
from tests.support.botapi_standin import BotApiStandin  # noqa: E402

TOKEN = "123456:BENCH"
FIRST_CHAT = 500_000_001


class Telegram:
    """The stand-in in a child process (``--serve``): Telegram is not in our process, and a
    server thread in it would take the GIL from the sender at random moments. The child
    prints its API URL, serves until its stdin closes, then prints what it saw as JSON."""

    def __enter__(self) -> Telegram:
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        self.api_url = self.process.stdout.readline().strip()
        if not self.api_url:
            raise RuntimeError("the Bot API stand-in did not start")
        return self

    def report(self) -> dict[str, Any]:
        """Stops the stand-in: its 429 count and every message it received."""
        out, _ = self.process.communicate(timeout=30)
        report: dict[str, Any] = json.loads(out)
        return report

    def __exit__(self, *exc: object) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


async def serve() -> None:
    async with BotApiStandin(token=TOKEN, rate_limits=True) as api:
        print(api.api_url, flush=True)
        # stdin closes when the benchmark is done with us
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
        received = [
            {"chat_id": m.chat_id, "tag": m.buttons[0][1] if m.buttons else None, "at": m.at}
            for chat in api.messages.values()
            for m in chat
        ]
    print(json.dumps({"too_many_requests": api.too_many_requests, "received": received}), flush=True)


async def seed(uow: Any, messages: int, per_chat: int, now: datetime) -> None:
    chats = max(1, messages // per_chat)
    async with uow() as u:
        for i in range(chats):
            user = FIRST_CHAT + i
            await u.users.upsert(user, now=now, chat_id=user, language=("zh", "en")[i % 2])
        for n in range(messages):
            chat = FIRST_CHAT + n % chats
            notice = Notice(
                chat_id=chat,
                user_id=chat,
                text_key="notify.citizen.extended",
                params={"tracking_no": f"ZH-2026-{n + 1:06d}", "answer_due_date": "2026-12-01"},
                buttons=[[Button("state.closed", f"case:{n + 1}")]],
            )
            await u.outbox.add(notice.to_outbox(now))
        await u.commit()


def busiest_second(times: list[float]) -> int:
    times = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] >= 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


async def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp, Telegram() as telegram:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        await upgrade(url)
        engine = make_engine(url)
        uow = sql_uow_factory(make_session_factory(engine))
        clock = SystemClock()
        await seed(uow, args.messages, args.per_chat, clock.now())
        settings = Settings(
            _env_file=None, bot_token=TOKEN, telegram_api_url=telegram.api_url, database_url=url
        )
        sender = make_sender(
            settings, uow=uow, clock=clock, catalogue=Catalogue.load(), limits=SendLimits(margin=args.margin)
        )
        async with sender:
            started = time.monotonic()
            result = await sender.drain_once()
            first_drain = time.monotonic() - started
            # whatever Telegram refused comes back after retry_after: drain until nothing is left
            while True:
                async with uow() as u:
                    counts = await u.outbox.count_by_state()
                if counts[OutboxState.PENDING] == 0:
                    break
                await asyncio.sleep(0.2)
                await sender.drain_once()
            elapsed = time.monotonic() - started
        await engine.dispose()
        report = telegram.report()

    received = report["received"]
    arrivals = sorted(m["at"] for m in received)
    duplicates = sum(n - 1 for n in Counter(m["tag"] for m in received).values() if n > 1)
    steady = (len(arrivals) - 1) / (arrivals[-1] - arrivals[0]) if len(arrivals) > 1 else 0.0
    chats = max(1, args.messages // args.per_chat)
    print(
        f"fan-out: {args.messages} messages to {chats} private chats ({args.per_chat} each); "
        f"stand-in limits: 30/s overall, 1/s per chat; sender margin {args.margin * 1000:.0f} ms"
    )
    print(
        f"outbox: {counts[OutboxState.SENT]} sent, {counts[OutboxState.DEAD]} dead, "
        f"{counts[OutboxState.BLOCKED]} blocked; first drain: {result} in {first_drain:.1f} s"
    )
    print(f"stand-in received: {len(received)} messages, {duplicates} duplicates")
    print(f"messages/s, whole drain: {args.messages / elapsed:.1f} ({elapsed:.1f} s)")
    print(f"messages/s, first to last arrival: {steady:.1f}")
    print(f"most messages in any one second (limit 30): {busiest_second(arrivals)}")
    print(f"429 Too Many Requests: {report['too_many_requests']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--per-chat", type=int, default=1, help="messages per chat (1: pure fan-out)")
    parser.add_argument(
        "--margin", type=float, default=SendLimits().margin, help="seconds added to the pacing second"
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)  # the child
    args = parser.parse_args()
    asyncio.run(serve() if args.serve else run(args))


if __name__ == "__main__":
    main()
