"""The evidence fetch in the real process (issue 15): ``python -m bot`` against the Bot API
stand-in; a citizen files a complaint with a photo, and within the fetch job's first run the
photo is in EVIDENCE_DIR under its SHA-256, which the attachment's row records. The bytes came
through the stand-in's getFile and ``/file/bot<TOKEN>/<path>``, as they would from Telegram."""

from __future__ import annotations

import asyncio
import hashlib
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.i18n import Catalogue
from storage.db import make_engine, make_session_factory
from storage.evidence_store import EvidenceStore
from storage.models import AttachmentRow
from tests.e2e.conftest import TOKEN, clean_env, run_bot, stop_process
from tests.e2e.test_case_lifecycle import DESCRIPTION, STEP, TRACKING, Chat
from tests.support.botapi_standin import BotApiStandin
from tests.support.updates import TgUser, UpdateFactory

pytestmark = pytest.mark.e2e

CITIZEN = TgUser(100_701, "张三", "zh-hans")
PHOTO = b"\xff\xd8\xff\xe0 the notice board at window 3"
# the job's first run is 10 s after start (bot.tick.PERIODIC_FIRST); then every minute
FETCHED_WITHIN = 45.0


async def sha256_of_attachments(database_url: str) -> list[str | None]:
    engine = make_engine(database_url)
    try:
        async with make_session_factory(engine)() as session:
            return list(
                (await session.scalars(select(AttachmentRow.sha256).order_by(AttachmentRow.id))).all()
            )
    finally:
        await engine.dispose()


async def test_a_filed_complaints_photo_ends_up_in_the_evidence_store(workdir: Path) -> None:
    catalogue = Catalogue.load()

    def label(key: str) -> str:
        return catalogue.t("zh", f"complaint.button.{key}")

    database_url = f"sqlite+aiosqlite:///{workdir / 'bot.db'}"
    evidence_dir = workdir / "evidence"
    migrated = await run_bot("migrate", env=clean_env(DATABASE_URL=database_url), cwd=workdir)
    assert migrated.code == 0, migrated.stderr

    async with BotApiStandin(TOKEN) as api:
        env = clean_env(
            BOT_TOKEN=TOKEN,
            TELEGRAM_API_URL=api.api_url,
            DATABASE_URL=database_url,
            EVIDENCE_DIR=str(evidence_dir),
        )
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot",
            env=env, cwd=workdir, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            await api.wait_for_call("getUpdates", timeout=60)
            make = UpdateFactory()
            citizen = Chat(api, CITIZEN, make)
            photo = make.photo(CITIZEN)
            assert photo.message is not None
            for size in photo.message.photo:  # whichever size the bot keeps, Telegram has it
                api.add_file(size.file_id, PHOTO, f"photos/{size.file_unique_id}.jpg")

            citizen.say(DESCRIPTION)
            citizen.press(
                await citizen.expect_button(label=label("confirm_area")), label=label("confirm_area")
            )
            citizen.press(await citizen.expect_button(label=label("skip")), label=label("skip"))
            await citizen.expect_text("什么地点")
            citizen.say("二楼3号窗口")
            await citizen.expect_text("什么时间")
            citizen.say("11月20日上午")
            await citizen.expect_button(label=label("skip_evidence"))
            api.push_update(photo)
            added = await citizen.expect_button(label=label("done"))
            citizen.press(added, label=label("done"))
            await citizen.expect_text("联系方式")
            citizen.say(label("anonymous"))
            citizen.press(await citizen.expect_button(label=label("submit")), label=label("submit"))
            await citizen.expect(lambda m: TRACKING.search(m.text) is not None, "a receipt")

            sha = hashlib.sha256(PHOTO).hexdigest()
            deadline = time.monotonic() + FETCHED_WITHIN + STEP
            while (found := await sha256_of_attachments(database_url)) != [sha]:
                assert time.monotonic() < deadline, f"the photo was never fetched: {found}"
                await asyncio.sleep(0.5)
            assert EvidenceStore(evidence_dir).read(sha) == PHOTO
            fetched = [c.params.get("file_id") for c in api.calls_of("getFile")]
            assert len(fetched) == 1 and fetched[0] in {s.file_id for s in photo.message.photo}
        finally:
            _, err = await stop_process(proc)
        stderr = err.decode("utf-8", "replace")

    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr
