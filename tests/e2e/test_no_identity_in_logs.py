"""No citizen's identity in the log, even at DEBUG (SPEC §3, §10; issue 12): the real
``python -m bot`` with LOG_LEVEL=DEBUG against the Bot API stand-in, a citizen who shares their
phone number files a complaint, a liaison signs for it and answers, the citizen rates it, the
office opens the card (in its private chat, with the identity, and in the office group,
without), and the citizen floods the bot. Then the process's whole stdout and stderr are
searched for the citizen's phone number, user id and names: none may appear."""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path

import pytest
from telegram import Update

from bot.i18n import Catalogue
from tests.e2e.chat import Chat
from tests.e2e.conftest import TOKEN, clean_env, run_bot, stop_process
from tests.e2e.test_case_lifecycle import CODE, DESCRIPTION, REPLY, TRACKING
from tests.support.botapi_standin import BotApiStandin
from tests.support.updates import TgUser, UpdateFactory

pytestmark = pytest.mark.e2e

# Distinctive on purpose: none of these can turn up in a log line by chance.
CITIZEN = TgUser(7_318_460_259, "Cuihua", "zh-hans", last_name="Ouyangzz", username="cuihua_ouyangzz")
PHONE = "+8613912345678"
LIAISON = TgUser(800_602, "刘六", "zh-hans")
OFFICE = TgUser(900_602, "王主任", "zh-hans")
OFFICE_CHAT = -100_602


def identity_traces(log: str) -> list[str]:
    needles = {
        "phone": PHONE,
        "phone (national)": PHONE.removeprefix("+86"),
        "user id": str(CITIZEN.id),
        "first name": CITIZEN.first_name,
        "last name": str(CITIZEN.last_name),
        "username": str(CITIZEN.username),
    }
    return [f"{what} {needle!r}" for what, needle in needles.items() if needle in log]


def test_the_needles_are_found_when_present() -> None:
    """The search itself works: a log with the identity in it is caught."""
    assert len(identity_traces(f"user {CITIZEN.id} {PHONE} Cuihua Ouyangzz cuihua_ouyangzz")) == 6


async def test_a_whole_case_at_debug_level_leaves_no_identity_in_the_log(workdir: Path) -> None:
    catalogue = Catalogue.load()

    def label(key: str) -> str:
        return catalogue.t("zh", f"complaint.button.{key}")

    database_url = f"sqlite+aiosqlite:///{workdir / 'bot.db'}"
    migrated = await run_bot("migrate", env=clean_env(DATABASE_URL=database_url), cwd=workdir)
    assert migrated.code == 0, migrated.stderr
    invited = await run_bot(
        "invite", "organs_work_committee", env=clean_env(DATABASE_URL=database_url), cwd=workdir
    )
    code = CODE.search(invited.stdout)
    assert code, invited.stdout

    async with BotApiStandin(TOKEN) as api:
        env = clean_env(
            BOT_TOKEN=TOKEN,
            TELEGRAM_API_URL=api.api_url,
            DATABASE_URL=database_url,
            LOG_LEVEL="DEBUG",
            OFFICE_ADMIN_IDS=str(OFFICE.id),
            OFFICE_CHAT_ID=str(OFFICE_CHAT),
            THROTTLE_MESSAGES="20",
        )
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot",
            env=env, cwd=workdir, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            await api.wait_for_call("getUpdates", timeout=60)
            make = UpdateFactory()
            citizen, liaison = Chat(api, CITIZEN, make), Chat(api, LIAISON, make)
            office = Chat(api, OFFICE, make)

            liaison.command("join", code.group(1))
            await liaison.expect_text("联络员")

            # the complaint, with the citizen's own phone number shared as a contact
            citizen.say(DESCRIPTION)
            confirm = label("confirm_area")
            citizen.press(await citizen.expect_button(label=confirm), label=confirm)
            citizen.press(await citizen.expect_button(label=label("skip")), label=label("skip"))
            await citizen.expect_text("什么地点")
            citizen.say("二楼3号窗口")
            await citizen.expect_text("什么时间")
            citizen.say("11月20日上午")
            citizen.press(
                await citizen.expect_button(label=label("skip_evidence")), label=label("skip_evidence")
            )
            await citizen.expect_text("联系方式")
            api.push_update(make.contact(CITIZEN, PHONE))
            citizen.press(await citizen.expect_button(label=label("submit")), label=label("submit"))
            receipt = await citizen.expect(lambda m: TRACKING.search(m.text) is not None, "a receipt")
            tracking = TRACKING.search(receipt.text)
            assert tracking is not None
            tracking_no = tracking.group(0)

            # the liaison signs for it and answers
            await liaison.expect_text(tracking_no)
            liaison.command("inbox")
            inbox = await liaison.expect(lambda m: tracking_no in m.text and bool(m.buttons), "the inbox")
            view_data = next(d for _, d in inbox.buttons if d and d.startswith("lc:view:"))
            view = liaison.press(inbox, data=view_data)
            case_id = view.removeprefix("lc:view:")
            liaison.press(await liaison.expect_button(data=f"lc:sign:{case_id}"), data=f"lc:sign:{case_id}")
            signed_card = await liaison.expect_button(data=f"lc:reply:{case_id}")
            liaison.press(signed_card, data=f"lc:reply:{case_id}")
            await liaison.expect_text("请发送给投诉人的答复")
            liaison.say(REPLY)
            confirm_reply = f"lc:confirm:{case_id}"
            liaison.press(await liaison.expect_button(data=confirm_reply), data=confirm_reply)
            answer = await citizen.expect_button(data=f"fu:{case_id}:satisfied")
            citizen.press(answer, data=f"fu:{case_id}:satisfied")
            await citizen.expect_text("已办结")

            # the office: the whole card in its private chat (identity there, and only there) ...
            office.command("case_office", tracking_no)
            card = await office.expect_text(tracking_no)
            assert PHONE in card.text
            # ... and the card in the office group, without it
            api.push_update(_group_command(make, f"/case_office {tracking_no}"))
            group_card = await api.wait_for_message(OFFICE_CHAT, lambda m: tracking_no in m.text, 30)
            assert PHONE not in group_card.text and str(CITIZEN.id) not in group_card.text

            # a flood: one slow-down, the rest dropped
            for _ in range(25):
                citizen.command("help")
            await citizen.expect_text(catalogue.t("zh", "throttle.slow_down"))
        finally:
            out, err = await stop_process(proc)

    log = out.decode("utf-8", "replace") + err.decode("utf-8", "replace")
    (workdir / "bot.log").write_text(log, encoding="utf-8")  # kept in tmp_path for a failing run
    assert proc.returncode == 0, log[-3000:]
    # the run was logged at DEBUG (an empty log would prove nothing)
    assert len(re.findall(r" DEBUG ", log)) > 10, log[-3000:]
    assert identity_traces(log) == [], "\n".join(
        line for line in log.splitlines() if identity_traces(line)
    )[:5000]


def _group_command(make: UpdateFactory, text: str) -> Update:
    return make.update(
        message={
            "message_id": 90_001,
            "date": 0,
            "chat": {"id": OFFICE_CHAT, "type": "supergroup", "title": "办公室"},
            "from": OFFICE.to_json(),
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}],
        }
    )
