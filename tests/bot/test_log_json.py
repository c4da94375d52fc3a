"""LOG_FORMAT=json (issue 15): one JSON object a line, with the update's id and the instance,
and still no phone number (bot/log_privacy.py's filters run first)."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
from pathlib import Path

from telegram.ext import CommandHandler

from bot.context import BotContext
from bot.log_json import JsonFormatter, log_context, set_case_number
from bot.log_privacy import PhoneMaskFilter
from core.services.complaints import ComplaintDraft
from tests.conftest import REPO_ROOT
from tests.support.harness import BotHarness
from tests.support.updates import ZH_USER

PHONE = "13800138000"

SCRIPT = f"""
import logging
from bot.cli.common import configure_logging
from bot.log_json import log_context, set_case_number
configure_logging("INFO", "json", "web-2")
log = logging.getLogger("bot.test")
log.info("plain line")
with log_context(update_id=42):
    set_case_number("ZH-2026-000007")
    log.warning("citizen called from %s", "{PHONE}")
    try:
        raise ValueError("bad phone {PHONE}")
    except ValueError:
        log.exception("failed")
log.info("after")
"""


def test_json_lines_parse_carry_context_and_no_phone(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=tmp_path,
        env={"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]  # every line is one JSON object
    assert entries[0]["message"] == "plain line"
    assert all({"time", "level", "logger", "message"} <= set(e) for e in entries)
    assert all(e["instance"] == "web-2" and e["logger"] == "bot.test" for e in entries)
    first, called, failed, after = entries
    assert "update_id" not in first and "case_number" not in first
    assert (called["update_id"], called["case_number"], called["level"]) == (42, "ZH-2026-000007", "WARNING")
    assert "ValueError" in failed["exception"]
    assert "update_id" not in after  # the context ends with the update
    assert PHONE not in done.stderr and PHONE[:7] not in done.stderr


def test_text_stays_the_default(tmp_path: Path) -> None:
    script = "import logging\nfrom bot.cli.common import configure_logging\nconfigure_logging('INFO')\n"
    script += "logging.getLogger('x').info('hello')\n"
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env={"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stderr.strip().endswith("INFO x: hello")


async def test_a_handlers_log_lines_carry_the_update_id(harness: BotHarness) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(PhoneMaskFilter())
    handler.setFormatter(JsonFormatter("bot-1"))
    log = logging.getLogger("bot.test.json")
    log.addHandler(handler)
    log.setLevel(logging.INFO)

    async def talk(update: object, context: BotContext) -> None:
        set_case_number("ZH-2026-000003")
        log.info("handling for %s", PHONE)

    harness.app.add_handler(CommandHandler("jsontest", talk), group=-99)
    update = harness.make.command(ZH_USER, "jsontest")
    try:
        await harness.send(update)
        log.info("outside")
    finally:
        log.removeHandler(handler)
    inside, outside = (json.loads(line) for line in stream.getvalue().splitlines())
    assert inside["update_id"] == update.update_id
    assert inside["case_number"] == "ZH-2026-000003"
    assert PHONE not in inside["message"]
    assert "update_id" not in outside and "case_number" not in outside


def test_log_context_nests_and_restores() -> None:
    formatter = JsonFormatter()
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "m", None, None)
    with log_context(update_id=1):
        with log_context(update_id=2, case_number="C"):
            assert json.loads(formatter.format(record))["update_id"] == 2
        assert json.loads(formatter.format(record)) | {"time": ""} == {
            "time": "", "level": "INFO", "logger": "x", "message": "m", "update_id": 1,
        }  # fmt: skip


async def test_an_update_that_shows_a_case_names_it_in_its_later_log_lines(harness: BotHarness) -> None:
    filed = await harness.deps.services.complaints.file(
        ZH_USER.id, ComplaintDraft("区政务中心窗口的工作人员上班时间玩手机，让我跑了三趟", area="conduct")
    )
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("bot-1"))
    log = logging.getLogger("bot.test.json.case")
    log.addHandler(handler)
    log.setLevel(logging.INFO)

    async def after(update: object, context: BotContext) -> None:
        log.info("after the case's handler")

    # the real /case handler shows the card (group 0); this one runs after it, same update
    harness.app.add_handler(CommandHandler("case", after), group=99)
    try:
        await harness.command(ZH_USER, "case", filed.case.tracking_no)
    finally:
        log.removeHandler(handler)
    assert filed.case.tracking_no in harness.last_text()
    (entry,) = (json.loads(line) for line in stream.getvalue().splitlines())
    assert entry["case_number"] == filed.case.tracking_no
