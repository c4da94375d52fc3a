"""The dashboard's evidence download (issue 15, web/dashboard/cases.py) once the bot keeps its
own copy: the file comes from the evidence store when the bot has fetched it (Telegram is not
asked), from Telegram when the copy is missing on disk, and from nowhere once retention has
erased the attachment, even though Telegram would still serve its old file id."""

from __future__ import annotations

import hashlib
from pathlib import Path

import httpx

from bot.evidence_fetch import fetch_evidence
from core.attachments import Attachment, AttachmentKind
from core.clock import FixedClock
from core.plan import Plan
from tests.support.botapi_standin import BotApiStandin
from tests.support.harness import TEST_TOKEN, running_harness
from tests.web.test_dashboard import OFFICE, Site, file_case
from web.app import create_app

CONTENT = b"%PDF-1.4 a scanned receipt"
SHA = hashlib.sha256(CONTENT).hexdigest()


async def test_the_office_gets_the_local_copy_then_telegrams_then_nothing_after_erasure(
    plan: Plan, clock: FixedClock, migrated_sqlite_url: str, tmp_path: Path
) -> None:
    async with BotApiStandin(TEST_TOKEN) as api, running_harness(
        plan=plan, clock=clock, database_url=migrated_sqlite_url, office_admin_ids=str(OFFICE.id),
        web_base_url="http://127.0.0.1:8000", telegram_api_url=api.api_url,
        evidence_dir=str(tmp_path / "evidence"),
    ) as h:  # fmt: skip
        transport = httpx.ASGITransport(app=create_app(h.deps))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as client:
            site = Site(h, client)
            number = await file_case(site)
            case = await site.case(number)
            assert case.id is not None
            async with h.deps.uow() as uow:
                stored = await uow.attachments.add(
                    Attachment("FILE-1", "U1", AttachmentKind.DOCUMENT, clock.now(), case_id=case.id,
                               mime="application/pdf", file_name="回执.pdf")
                )  # fmt: skip
                await uow.commit()
            # the bot's fetch step takes the file through its own client (the recording
            # request stands for Telegram there)
            h.request.files["FILE-1"] = CONTENT
            assert (await fetch_evidence(h.app.bot, h.deps)).fetched == 1
            store = h.deps.evidence
            assert store is not None and store.read(SHA) == CONTENT
            office = await site.sign_in(OFFICE)
            url = f"/cases/{number}/files/{stored.id}"

            # 1. the local copy: the stand-in knows no FILE-1 and is not asked
            local = await office.get(url)
            assert local.status_code == 200 and local.content == CONTENT
            assert local.headers["content-type"] == "application/pdf"
            assert "attachment" in local.headers["content-disposition"]
            assert api.calls_of("getFile") == []

            # 2. the copy missing on disk (a restore without the files): Telegram's
            store.delete(SHA)
            api.add_file("FILE-1", CONTENT, "documents/receipt.pdf")
            remote = await office.get(url)
            assert remote.status_code == 200 and remote.content == CONTENT
            assert len(api.calls_of("getFile")) == 1

            # 3. erased by retention (its rows, then its files, as the service does)
            await store.put(CONTENT)
            async with h.deps.uow() as uow:
                _, hashes = await uow.retention.erase_cases([case.id], now=clock.now())
                await uow.commit()
            assert hashes == [SHA]
            assert all(store.delete(sha) for sha in hashes)
            gone = await office.get(url)
            assert gone.status_code == 404
            assert len(api.calls_of("getFile")) == 1  # Telegram still has it: not asked
    assert TEST_TOKEN not in local.text + remote.text
