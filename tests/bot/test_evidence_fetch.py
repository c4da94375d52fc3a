"""The evidence fetch through the real Application (issue 15, bot/evidence_fetch.py): a
citizen files a complaint with two photos through the dialog; the fetch job, run as the
JobQueue runs it, asks Telegram for each file (getFile, then the download, through the bot's
own client) and the office's store ends up with the photos, their SHA-256 on the attachments.
A file Telegram refuses is given up at once; one it cannot serve right now waits."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.context import BotContext
from bot.dialogs.complaint import SUMMARY
from bot.evidence_fetch import EVIDENCE_FETCH_JOB_NAME
from bot.metrics import metrics_for
from bot.tick import PERIODIC_INTERVAL
from core.evidence_fetch import FetchBackoff
from storage.models import AttachmentRow
from tests.bot.conftest import HarnessFactory
from tests.bot.test_complaint_dialog import Citizen
from tests.support.harness import BotHarness
from tests.support.recording_request import ApiError, RecordingRequest

# The conversation_timeout needs a running JobQueue; these tests run the jobs by hand.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Ignoring `conversation_timeout`:telegram.warnings.PTBUserWarning"
)


async def attachments(h: BotHarness) -> list[AttachmentRow]:
    assert h.deps.session_factory is not None
    async with h.deps.session_factory() as session:
        return list((await session.scalars(select(AttachmentRow).order_by(AttachmentRow.id))).all())


async def run_job(h: BotHarness) -> None:
    """The scheduled job's own callback, with the context the JobQueue would give it."""
    assert h.app.job_queue is not None
    (job,) = h.app.job_queue.get_jobs_by_name(EVIDENCE_FETCH_JOB_NAME)
    await job.callback(BotContext.from_job(job, h.app))


async def file_with_two_photos(h: BotHarness) -> None:
    citizen = Citizen(h)
    await citizen.to(SUMMARY)
    await citizen.press("submit")
    assert "ZH-2026-000001" in h.last_text()


async def test_a_filed_complaints_photos_end_up_in_the_store_with_their_sha256(
    harness_factory: HarnessFactory, tmp_path: Path
) -> None:
    async with harness_factory(evidence_dir=str(tmp_path / "evidence")) as h:
        assert h.app.job_queue is not None
        (job,) = h.app.job_queue.get_jobs_by_name(EVIDENCE_FETCH_JOB_NAME)
        assert job.trigger.interval == PERIODIC_INTERVAL  # type: ignore[attr-defined]
        await file_with_two_photos(h)
        photos = await attachments(h)
        assert len(photos) == 2 and all(row.sha256 is None for row in photos)
        content = {row.file_id: f"jpeg bytes of {row.file_id}".encode() for row in photos}
        h.request.files.update(content)
        mark = h.request.mark()

        await run_job(h)

        calls = h.request.since(mark)
        assert [c.params["file_id"] for c in calls if c.method == "getFile"] == [r.file_id for r in photos]
        assert len([c for c in calls if c.method == "download"]) == 2
        store = h.deps.evidence
        assert store is not None
        for row in await attachments(h):
            assert row.sha256 == hashlib.sha256(content[row.file_id]).hexdigest()
            assert store.read(row.sha256) == content[row.file_id]
        assert len(list(store.iter_files())) == 2
        scraped = metrics_for(h.deps).registry.get_sample_value(
            "bot_evidence_fetch_total", {"outcome": "fetched"}
        )
        assert scraped == 2  # /metrics counts them (no file id or case in a label)

        # a second run has nothing left to fetch
        mark = h.request.mark()
        await run_job(h)
        assert [c for c in h.request.since(mark) if c.method in ("getFile", "download")] == []


async def test_a_refused_file_is_given_up_and_an_unreachable_one_waits(
    harness_factory: HarnessFactory, tmp_path: Path
) -> None:
    async with harness_factory(evidence_dir=str(tmp_path / "evidence")) as h:
        await file_with_two_photos(h)
        first, _ = await attachments(h)

        def get_file(request: RecordingRequest, params: dict[str, Any]) -> Any:
            if params["file_id"] == first.file_id:
                raise ApiError(400, "Bad Request: wrong file_id or the file is temporarily unavailable")
            raise ApiError(502, "Bad Gateway")

        h.request.respond("getFile", get_file)

        await run_job(h)

        refused, waiting = await attachments(h)
        assert refused.sha256 is None and refused.fetch_attempts == FetchBackoff().max_attempts
        assert waiting.sha256 is None and waiting.fetch_attempts == 1
        assert waiting.next_fetch_at == h.clock.now() + FetchBackoff().delay(1)
        store = h.deps.evidence
        assert store is not None and list(store.iter_files()) == []
        registry = metrics_for(h.deps).registry
        assert registry.get_sample_value("bot_evidence_fetch_total", {"outcome": "gave_up"}) == 1
        assert registry.get_sample_value("bot_evidence_fetch_total", {"outcome": "retry"}) == 1
