"""The real process: ``python -m bot`` against the local Bot API stand-in, and its CLI."""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import PLAN_FILE, TOKEN, clean_env, run_bot
from tests.support.botapi_standin import BotApiStandin
from tests.support.updates import ZH_USER, UpdateFactory, payload

pytestmark = pytest.mark.e2e

AREA_IDS = ("conduct", "procedure", "enforcement", "extortion", "rent_seeking")


async def test_the_bot_answers_start_over_http_and_stops_cleanly(workdir: Path) -> None:
    database_url = f"sqlite+aiosqlite:///{workdir / 'bot.db'}"
    migrated = await run_bot("migrate", env=clean_env(DATABASE_URL=database_url), cwd=workdir)
    assert migrated.code == 0, migrated.stderr

    async with BotApiStandin(TOKEN) as api:
        env = clean_env(BOT_TOKEN=TOKEN, TELEGRAM_API_URL=api.api_url, DATABASE_URL=database_url)
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot",
            env=env, cwd=workdir, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        try:
            # polling has begun once the bot asks for updates
            await api.wait_for_call("getUpdates", timeout=60)
            api.push_update(UpdateFactory().command(ZH_USER, "start"))
            intro = await api.wait_for_message(ZH_USER.id, lambda m: "2540084" in m.text, timeout=30)
        finally:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
            try:
                _, err = await asyncio.wait_for(proc.communicate(), 30)
            except TimeoutError:
                proc.kill()
                _, err = await proc.communicate()
        stderr = err.decode("utf-8", "replace")

    assert intro.method == "sendMessage"
    assert intro.params["parse_mode"] == "HTML"
    for numeral in "一二三四五":
        assert f"{numeral}、" in intro.text
    # the menus were set on start, in both languages
    assert {lang for _, lang in api.commands} == {"", "zh", "en"}
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert TOKEN not in stderr  # the token never reaches the log


async def test_without_a_token_the_bot_says_so_and_exits_non_zero(workdir: Path) -> None:
    result = await run_bot(env=clean_env(), cwd=workdir)
    assert result.code == 2
    assert "BOT_TOKEN" in result.stderr
    assert "Traceback" not in result.stderr


async def test_check_plan_on_the_real_plan_lists_the_five_areas(workdir: Path) -> None:
    result = await run_bot("check-plan", str(PLAN_FILE), env=clean_env(), cwd=workdir)
    assert result.code == 0, result.stderr
    for area_id in AREA_IDS:
        assert f"[{area_id}]" in result.stdout
    assert "2540084" in result.stdout


async def test_check_plan_without_a_file_uses_plan_file(workdir: Path) -> None:
    result = await run_bot("check-plan", "--lang", "en", env=clean_env(), cwd=workdir)
    assert result.code == 0, result.stderr
    assert all(f"[{area_id}]" in result.stdout for area_id in AREA_IDS)


async def test_check_plan_on_a_broken_plan_exits_1_naming_the_key(workdir: Path) -> None:
    broken = workdir / "broken.toml"
    text = PLAN_FILE.read_text(encoding="utf-8")
    assert 'lead_units = ["organs_work_committee"]' in text
    broken_text = text.replace('lead_units = ["organs_work_committee"]', 'lead_units = ["no_such_unit"]', 1)
    broken.write_text(broken_text, encoding="utf-8")

    result = await run_bot("check-plan", str(broken), env=clean_env(), cwd=workdir)
    assert result.code == 1
    assert "areas[0].lead_units[0]" in result.stderr
    assert "no_such_unit" in result.stderr
    assert "Traceback" not in result.stderr


async def test_the_bot_refuses_a_broken_plan(workdir: Path) -> None:
    broken = workdir / "broken.toml"
    broken.write_text(PLAN_FILE.read_text(encoding="utf-8").replace('phone = "2540084"', 'phone = ""', 1),
                      encoding="utf-8")
    env = clean_env(BOT_TOKEN=TOKEN, PLAN_FILE=str(broken), DATABASE_URL=f"sqlite+aiosqlite:///{workdir}/x.db")
    result = await run_bot(env=env, cwd=workdir)
    assert result.code == 1
    assert "phone" in result.stderr
    assert "Traceback" not in result.stderr


async def test_the_bot_refuses_an_unmigrated_database_and_names_the_fix(workdir: Path) -> None:
    env = clean_env(BOT_TOKEN=TOKEN, DATABASE_URL=f"sqlite+aiosqlite:///{workdir / 'empty.db'}")
    result = await run_bot(env=env, cwd=workdir)
    assert result.code == 1
    assert "python -m bot migrate" in result.stderr
    assert "make migrate" in result.stderr
    assert "Traceback" not in result.stderr


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_webhook_mode_registers_the_hook_and_answers_posted_updates(workdir: Path) -> None:
    database_url = f"sqlite+aiosqlite:///{workdir / 'bot.db'}"
    assert (await run_bot("migrate", env=clean_env(DATABASE_URL=database_url), cwd=workdir)).code == 0
    port = free_port()
    hook = f"http://127.0.0.1:{port}/tg-hook"
    secret = "s3cret-token"

    async with BotApiStandin(TOKEN) as api:
        env = clean_env(
            BOT_TOKEN=TOKEN, TELEGRAM_API_URL=api.api_url, DATABASE_URL=database_url,
            WEBHOOK_URL=hook, WEBHOOK_LISTEN="127.0.0.1", WEBHOOK_PORT=str(port), WEBHOOK_SECRET=secret,
        )
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot",
            env=env, cwd=workdir, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        try:
            registered = await api.wait_for_call("setWebhook", timeout=60)
            assert registered.params["url"] == hook
            assert registered.params["secret_token"] == secret
            update = payload(UpdateFactory().command(ZH_USER, "help"))
            header = "X-Telegram-Bot-Api-Secret-Token"
            async with httpx.AsyncClient() as client:
                forged = await client.post(hook, json=update, headers={header: "forged"})
                assert forged.status_code == 403
                posted = await client.post(hook, json=update, headers={header: secret})
                assert posted.status_code == 200
            reply = await api.wait_for_message(ZH_USER.id, timeout=30)
        finally:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
            try:
                _, err = await asyncio.wait_for(proc.communicate(), 30)
            except TimeoutError:
                proc.kill()
                _, err = await proc.communicate()

    assert "/lang" in reply.text
    assert len(api.sent_to(ZH_USER.id)) == 1  # the forged post was not processed
    assert proc.returncode == 0, err.decode("utf-8", "replace")
