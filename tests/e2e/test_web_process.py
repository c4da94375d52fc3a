"""The real processes: ``python -m bot`` against the Bot API stand-in and ``python -m bot web``
beside it on one database. The office asks the bot for /web, opens the link the bot sent on
the dashboard's port, signs in, and sees the case list; the dashboard stops cleanly."""

from __future__ import annotations

import asyncio
import re
import signal
import socket
import sys
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import PLAN_FILE, TOKEN, clean_env, run_bot, stop_process
from tests.support.botapi_standin import BotApiStandin
from tests.support.updates import TgUser, UpdateFactory

pytestmark = pytest.mark.e2e
OFFICE = TgUser(900_001, "办公室王五", "zh-hans")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def stop(proc: asyncio.subprocess.Process) -> tuple[int, str]:
    _, err = await stop_process(proc)
    return proc.returncode or 0, err.decode("utf-8", "replace")


async def test_the_office_signs_in_to_the_running_dashboard_with_the_running_bots_link(workdir: Path) -> None:
    database_url = f"sqlite+aiosqlite:///{workdir / 'bot.db'}"
    assert (await run_bot("migrate", env=clean_env(DATABASE_URL=database_url), cwd=workdir)).code == 0
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    async with BotApiStandin(TOKEN) as api:
        env = clean_env(
            BOT_TOKEN=TOKEN, TELEGRAM_API_URL=api.api_url, DATABASE_URL=database_url,
            OFFICE_ADMIN_IDS=str(OFFICE.id), PLAN_FILE=str(PLAN_FILE), WEB_PORT=str(port), WEB_BASE_URL=base,
        )  # fmt: skip
        pipes = {"stdout": asyncio.subprocess.PIPE, "stderr": asyncio.subprocess.PIPE}
        bot = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", env=env, cwd=workdir, **pipes)
        web = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "web", env=env, cwd=workdir, **pipes
        )
        try:
            await api.wait_for_call("getUpdates", timeout=60)
            api.push_update(UpdateFactory().command(OFFICE, "web"))
            sent = await api.wait_for_message(OFFICE.id, lambda m: "/login?token=" in m.text, timeout=30)
            match = re.search(r'href="([^"]+)"', sent.text)
            assert match and match.group(1).startswith(f"{base}/login?token=")
            async with httpx.AsyncClient(base_url=base, timeout=10) as browser:
                for _ in range(100):  # until uvicorn listens
                    try:
                        health = await browser.get("/cases")
                        break
                    except httpx.ConnectError:
                        await asyncio.sleep(0.2)
                assert health.status_code == 401
                token = match.group(1).split("token=")[1]
                assert (await browser.get(f"/login?token={token}")).status_code == 200
                signed_in = await browser.post("/login", data={"token": token})
                assert signed_in.status_code == 303
                listing = await browser.get("/cases")
                assert listing.status_code == 200 and "案件列表" in listing.text
                assert "/static/dashboard.css" in listing.text
                assert (await browser.get("/static/dashboard.css")).status_code == 200
        finally:
            web_code, web_err = await stop(web)
            await stop(bot)
    # uvicorn shuts down gracefully on SIGTERM, then ends by that signal (-15)
    assert web_code in (0, -signal.SIGTERM) and "Application shutdown complete" in web_err, web_err
    assert TOKEN not in web_err and token not in web_err  # neither the bot's token nor the link in logs
