"""``python -m web.demo`` (``make demo``): the whole product on one machine, no Telegram.

Seeds a fresh demo database, starts the Bot API stand-in with its web chat page, the bot
(``python -m bot``) against it, and the dashboard (``python -m bot web``) when this checkout has
it; prints the URLs; Ctrl-C stops everything. Only loopback addresses.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import logging
import os
import signal
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.settings import Settings
from core.plan import Plan, load_plan
from web.demo.chat import DemoChat
from web.demo.personas import OFFICE_CHAT_ID, OFFICE_USER_ID, all_personas
from web.demo.seed import DEFAULT_CASES, campaign_start_for, remove_sqlite_file, seed_demo

REPO_ROOT = Path(__file__).resolve().parents[2]
DEMO_TOKEN = "123456:DEMO"  # the stand-in's: any well-formed token does, nothing is registered
LOOPBACK = "127.0.0.1"
START_TIMEOUT = 60.0  # seconds for the bot to poll and the dashboard to listen


@dataclass(frozen=True, slots=True)
class DemoConfig:
    database: Path
    plan_file: Path
    chat_port: int
    web_port: int
    cases: int
    logs: Path

    @property
    def database_url(self) -> str:
        return f"sqlite+aiosqlite:///{self.database}"


def parse_args(argv: Sequence[str] | None = None) -> DemoConfig:
    parser = argparse.ArgumentParser(prog="python -m web.demo", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--db", default="data/demo.db", help="the demo's own SQLite file (rebuilt each start)"
    )
    parser.add_argument("--plan", default=str(REPO_ROOT / "plans" / "zhuhui-2014.toml"))
    parser.add_argument("--chat-port", type=int, default=8090, help="the stand-in and its chat page")
    parser.add_argument("--web-port", type=int, default=8091, help="the dashboard")
    parser.add_argument("--cases", type=int, default=DEFAULT_CASES)
    parser.add_argument("--logs", default="data/demo-logs", help="where the bot's and dashboard's logs go")
    args = parser.parse_args(argv)
    return DemoConfig(
        Path(args.db).resolve(), Path(args.plan).resolve(), args.chat_port, args.web_port, args.cases,
        Path(args.logs).resolve(),
    )  # fmt: skip


def has_dashboard() -> bool:
    """The dashboard (``python -m bot web``) is being written beside the demo: start it when
    this checkout has it."""
    return importlib.util.find_spec("bot.cli.web") is not None


def process_env(config: DemoConfig, chat: DemoChat, campaign_start: str) -> dict[str, str]:
    """The bot's and the dashboard's environment: the parent's, without any of the bot's own
    settings (a developer's real BOT_TOKEN or DATABASE_URL must not leak into the demo), plus
    the demo's. ``.env`` is not read: the processes run in the logs directory."""
    ours = {name.upper() for name in Settings.model_fields} | {"OFFICE_ADMIN_IDS"}
    env = {k: v for k, v in os.environ.items() if k.upper() not in ours and not k.upper().startswith("WEB_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    web_base = f"http://{LOOPBACK}:{config.web_port}"
    env.update(
        BOT_TOKEN=DEMO_TOKEN,
        DATABASE_URL=config.database_url,
        TELEGRAM_API_URL=chat.api_url,
        PLAN_FILE=str(config.plan_file),
        CAMPAIGN_START=campaign_start,
        OFFICE_ADMIN_IDS=str(OFFICE_USER_ID),
        OFFICE_CHAT_ID=str(OFFICE_CHAT_ID),
        BOT_MODE="polling",
        # no quiet hours: a visitor trying the demo at night still sees reminders go out
        QUIET_HOURS_START="00:00",
        QUIET_HOURS_END="00:00",
        # where the dashboard listens, and the address the bot's /web login links start with
        # (plain http on loopback: bot.settings then leaves the cookie's Secure flag off, or
        # it would never come back); the anti-forgery key comes from BOT_TOKEN, which the
        # bot and the dashboard share
        WEB_HOST=LOOPBACK,
        WEB_PORT=str(config.web_port),
        WEB_BASE_URL=web_base,
    )
    return env


async def start_process(
    name: str, args: list[str], env: dict[str, str], logs: Path
) -> asyncio.subprocess.Process:
    log = (logs / f"{name}.log").open("ab")
    try:
        return await asyncio.create_subprocess_exec(
            sys.executable, *args, env=env, cwd=logs, stdout=log, stderr=asyncio.subprocess.STDOUT
        )
    finally:
        log.close()  # the child has its own copy of the descriptor


async def stop_process(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(proc.wait(), 15)
    except TimeoutError:
        proc.kill()
        await proc.wait()


def tail(path: Path, lines: int = 15) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(path.read_text("utf-8", "replace").splitlines()[-lines:])
    return ""


async def run(config: DemoConfig) -> int:
    tz = ZoneInfo("Asia/Shanghai")
    now = datetime.now(tz)
    today = now.date()
    start = campaign_start_for(today)
    plan: Plan = load_plan(config.plan_file).rebase(start)
    config.logs.mkdir(parents=True, exist_ok=True)
    print(f"Seeding the demo campaign into {config.database} …", flush=True)
    remove_sqlite_file(config.database_url)
    # the seed's warnings (e.g. "no holiday calendar for next year") are nothing a visitor acts on
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    seeded = await seed_demo(config.database_url, plan, today=today, cases=config.cases, now=now)
    print(f"  {seeded.summary()}; campaign from {start}", flush=True)

    dashboard = has_dashboard()
    links = {"办公室后台 · Dashboard": f"http://{LOOPBACK}:{config.web_port}/"} if dashboard else {}
    web = {"command": "web", "description": "后台登录链接 · dashboard login link"}
    hints: dict[str, tuple[dict[str, str], ...]] = {"office": (web,), "liaison": (web,)} if dashboard else {}
    chat = DemoChat(
        all_personas(plan), token=DEMO_TOKEN, host=LOOPBACK, port=config.chat_port, links=links, hints=hints
    )
    try:
        await chat.start()
    except OSError as exc:
        print(
            f"Cannot listen on {LOOPBACK}:{config.chat_port} ({exc.strerror}): try --chat-port",
            file=sys.stderr,
        )
        return 2
    env = process_env(config, chat, start.isoformat())
    processes = {"bot": await start_process("bot", ["-m", "bot"], env, config.logs)}
    if dashboard:
        processes["web"] = await start_process("web", ["-m", "bot", "web"], env, config.logs)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    waits = {name: asyncio.ensure_future(p.wait()) for name, p in processes.items()}
    stopped = asyncio.ensure_future(stop.wait())
    try:
        ready = asyncio.ensure_future(_ready(chat, config.web_port if dashboard else None))
        done, _ = await asyncio.wait(
            [ready, stopped, *waits.values()], timeout=START_TIMEOUT, return_when=asyncio.FIRST_COMPLETED
        )
        if ready not in done:
            ready.cancel()
            if stopped in done:
                return 0
            return _died(config, processes, waits) or _slow(config)
        print(_banner(config, chat, dashboard), flush=True)
        await asyncio.wait([stopped, *waits.values()], return_when=asyncio.FIRST_COMPLETED)
        return _died(config, processes, waits)
    finally:
        print("\nStopping the demo …", flush=True)
        await asyncio.gather(*(stop_process(p) for p in processes.values()))
        await chat.stop()


async def _ready(chat: DemoChat, web_port: int | None) -> None:
    """The bot polls the stand-in, and the dashboard (if any) takes connections."""
    await chat.wait_for_call("getUpdates", timeout=START_TIMEOUT)
    while web_port is not None:
        try:
            _, writer = await asyncio.open_connection(LOOPBACK, web_port)
        except OSError:
            await asyncio.sleep(0.2)
            continue
        writer.close()
        break


def _died(
    config: DemoConfig,
    processes: Mapping[str, asyncio.subprocess.Process],
    waits: Mapping[str, asyncio.Future[int]],
) -> int:
    """1, with the end of its log, when a process stopped on its own; 0 otherwise."""
    for name, waiting in waits.items():
        if waiting.done():
            print(f"\n{name} stopped (exit {processes[name].returncode}); {config.logs / name}.log ends:",
                  file=sys.stderr)  # fmt: skip
            print(tail(config.logs / f"{name}.log"), file=sys.stderr)
            return 1
    return 0


def _slow(config: DemoConfig) -> int:
    print(
        f"The demo did not start within {START_TIMEOUT:.0f} s; see the logs in {config.logs}", file=sys.stderr
    )
    return 1


def _banner(config: DemoConfig, chat: DemoChat, dashboard: bool) -> str:
    lines = [
        "",
        "The demo is running (Ctrl-C stops it):",
        f"  chat page   {chat.chat_url}",
        "              pick a persona: a citizen (张三), a unit's liaison, or the office (周胜利)",
    ]
    if dashboard:
        lines += [
            f"  dashboard   http://{LOOPBACK}:{config.web_port}/",
            "              to log in: be the office persona on the chat page, send /web, click the link",
            "              (a liaison's /web opens its unit's view)",
        ]
    else:
        lines.append("  dashboard   not in this checkout yet (python -m bot web)")
    lines.append(f"  logs        {config.logs}/bot.log" + (", web.log" if dashboard else ""))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    config = parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(run(config))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
