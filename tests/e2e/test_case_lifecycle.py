"""A case's whole life through the real process (SPEC §3, §5, §7): ``python -m bot`` against
the local Bot API stand-in. The office's first invite code comes from ``python -m bot invite``;
the liaison joins with ``/join``; a citizen files a complaint through the dialog; the lead
unit's liaison is notified (by the outbox sender running inside the process), signs for the
case and answers; the citizen receives the answer with the follow-up question and rates it."""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path

import pytest

from bot.i18n import Catalogue
from tests.e2e.chat import STEP, TRACKING, Chat
from tests.e2e.conftest import TOKEN, clean_env, run_bot, stop_process
from tests.support.botapi_standin import BotApiStandin
from tests.support.updates import TgUser, UpdateFactory

pytestmark = pytest.mark.e2e

CITIZEN = TgUser(100_601, "张三", "zh-hans")
LIAISON = TgUser(800_601, "刘六", "zh-hans")
DESCRIPTION = "区政务中心的工作人员上班时间玩手机，办事拖拉，让我跑了三趟"  # conduct, confidently
REPLY = "经调查核实，窗口工作人员上班时间玩手机属实，已批评教育并通报，向您致歉。"
CODE = re.compile(r"Invite code for .*: ([2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{4})")


async def test_a_complaint_is_filed_signed_for_answered_and_rated(workdir: Path) -> None:
    catalogue = Catalogue.load()

    def label(key: str) -> str:
        return catalogue.t("zh", f"complaint.button.{key}")

    database_url = f"sqlite+aiosqlite:///{workdir / 'bot.db'}"
    migrated = await run_bot("migrate", env=clean_env(DATABASE_URL=database_url), cwd=workdir)
    assert migrated.code == 0, migrated.stderr
    invited = await run_bot(
        "invite",
        "organs_work_committee",
        "--ttl-days",
        "3",
        env=clean_env(DATABASE_URL=database_url),
        cwd=workdir,
    )
    assert invited.code == 0, invited.stderr
    code = CODE.search(invited.stdout)
    assert code, invited.stdout
    assert "区直机关工委" in invited.stdout

    async with BotApiStandin(TOKEN) as api:
        env = clean_env(BOT_TOKEN=TOKEN, TELEGRAM_API_URL=api.api_url, DATABASE_URL=database_url)
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot",
            env=env, cwd=workdir, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            await api.wait_for_call("getUpdates", timeout=60)
            make = UpdateFactory()
            citizen, liaison = Chat(api, CITIZEN, make), Chat(api, LIAISON, make)

            # the liaison joins with the code from the command line and gets the liaison menu
            liaison.command("join", code.group(1))
            await liaison.expect_text("联络员")
            await api.wait_for_call(
                "setMyCommands", lambda c: (c.params.get("scope") or {}).get("chat_id") == LIAISON.id, STEP
            )

            # the citizen files a complaint through the dialog
            citizen.say(DESCRIPTION)
            citizen.press(
                await citizen.expect_button(label=label("confirm_area")), label=label("confirm_area")
            )
            citizen.press(await citizen.expect_button(label=label("skip")), label=label("skip"))  # which unit
            await citizen.expect_text("什么地点")
            citizen.say("二楼3号窗口")
            await citizen.expect_text("什么时间")
            citizen.say("11月20日上午")
            await citizen.expect_button(label=label("skip_evidence"))
            citizen.photo()  # a photo as evidence
            added = await citizen.expect_button(label=label("done"))
            assert "第 1 个证据" in added.text
            citizen.press(added, label=label("done"))
            await citizen.expect_text("联系方式")
            citizen.say(label("anonymous"))
            citizen.press(await citizen.expect_button(label=label("submit")), label=label("submit"))
            receipt = await citizen.expect(lambda m: TRACKING.search(m.text) is not None, "a receipt")
            tracking = TRACKING.search(receipt.text)
            assert tracking is not None
            tracking_no = tracking.group(0)
            assert "区直机关工委" in receipt.text  # the lead unit, with its deadlines
            assert "答复期限" in receipt.text

            # the lead unit's liaison is told (by the sender inside the process) and signs for it
            notice = await liaison.expect_text(tracking_no)
            assert DESCRIPTION in notice.text
            liaison.command("inbox")
            inbox = await liaison.expect(lambda m: tracking_no in m.text and bool(m.buttons), "the inbox")
            view = liaison.press(
                inbox, data=next(d for _, d in inbox.buttons if d and d.startswith("lc:view:"))
            )
            case_id = view.removeprefix("lc:view:")
            card = await liaison.expect_button(data=f"lc:sign:{case_id}")
            assert "牵头办理" in card.text
            liaison.press(card, data=f"lc:sign:{case_id}")
            signed_card = await liaison.expect_button(data=f"lc:reply:{case_id}")
            signed = await citizen.expect_text("已签收")  # the citizen hears who handles it
            assert tracking_no in signed.text

            # the answer: prompt, text, preview, confirm
            liaison.press(signed_card, data=f"lc:reply:{case_id}")
            await liaison.expect_text("请发送给投诉人的答复")
            liaison.say(REPLY)
            preview = await liaison.expect_button(data=f"lc:confirm:{case_id}")
            assert REPLY in preview.text
            liaison.press(preview, data=f"lc:confirm:{case_id}")
            await liaison.expect_text("答复已发给投诉人")

            # the citizen receives it with the follow-up question, and is satisfied
            answer = await citizen.expect_button(data=f"fu:{case_id}:satisfied")
            assert REPLY in answer.text and tracking_no in answer.text
            citizen.press(answer, data=f"fu:{case_id}:satisfied")
            await citizen.expect_text("已办结")

            # no message to the liaison ever named the complainant
            to_liaison = " ".join(str(m.params) for m in api.sent_to(LIAISON.id))
            assert str(CITIZEN.id) not in to_liaison
        finally:
            _, err = await stop_process(proc)
        stderr = err.decode("utf-8", "replace")

    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr


async def test_invite_on_the_command_line_names_the_units_when_the_unit_is_unknown(workdir: Path) -> None:
    database_url = f"sqlite+aiosqlite:///{workdir / 'bot.db'}"
    env = clean_env(DATABASE_URL=database_url)
    assert (await run_bot("migrate", env=env, cwd=workdir)).code == 0

    unknown = await run_bot("invite", "no_such_unit", env=env, cwd=workdir)
    too_long = await run_bot("invite", "organs_work_committee", "--ttl-days", "400", env=env, cwd=workdir)
    by_name = await run_bot("invite", "区发改局", env=env, cwd=workdir)

    assert unknown.code == 2
    assert "no_such_unit" in unknown.stderr and "organs_work_committee" in unknown.stderr
    assert too_long.code == 2 and "--ttl-days" in too_long.stderr
    assert by_name.code == 0, by_name.stderr
    assert CODE.search(by_name.stdout) and "development_reform" in by_name.stdout
    for result in (unknown, too_long, by_name):
        assert "Traceback" not in result.stderr
