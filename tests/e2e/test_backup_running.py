"""Backup while the bot runs, restore into a fresh database and store (issue 15): the real
``python -m bot`` against the Bot API stand-in files complaints with photos (fetched into
EVIDENCE_DIR by the bot's evidence job); ``python -m bot backup`` runs beside it while another
citizen is in the middle of filing; ``python -m bot restore`` fills an empty database and
store; every table's rows equal the archive's snapshot's, every file's checksum the original's,
and a damaged copy of the archive is refused with nothing written."""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
import sys
import tarfile
import time
from pathlib import Path

import pytest

from bot.i18n import Catalogue
from storage.evidence_store import EvidenceStore
from tests.e2e.chat import STEP, Chat, file_complaint
from tests.e2e.conftest import TOKEN, clean_env, run_bot, stop_process
from tests.support.botapi_standin import BotApiStandin
from tests.support.updates import TgUser, UpdateFactory

pytestmark = pytest.mark.e2e

CITIZENS = [TgUser(100_801, "张三", "zh-hans"), TgUser(100_802, "李四", "zh-hans")]
LATE = TgUser(100_803, "王五", "zh-hans")
TEXTS = [
    "区政务中心的工作人员上班时间玩手机，办事拖拉，让我跑了三趟",
    "社保窗口的工作人员态度恶劣，对群众大呼小叫，不耐烦",
]
PHOTOS = [b"\xff\xd8\xff\xe0 the notice board at window 3", b"\xff\xd8\xff\xe0 the queue at 8:30"]
FETCHED_WITHIN = 45.0 + STEP  # the fetch job's first run is 10 s after start, then every minute


def _rows(path: Path) -> dict[str, list[tuple[object, ...]]]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {n: sorted(conn.execute(f'SELECT * FROM "{n}"').fetchall(), key=repr) for n in names}
    finally:
        conn.close()


def _fetched(path: Path) -> int:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return int(conn.execute("SELECT count(*) FROM attachments WHERE sha256 IS NOT NULL").fetchone()[0])
    finally:
        conn.close()


async def test_a_backup_taken_while_the_bot_runs_restores_every_row_and_file(workdir: Path) -> None:
    catalogue = Catalogue.load()

    def label(key: str) -> str:
        return catalogue.t("zh", f"complaint.button.{key}")

    db = workdir / "bot.db"
    evidence = workdir / "evidence"
    database_url = f"sqlite+aiosqlite:///{db}"
    migrated = await run_bot("migrate", env=clean_env(DATABASE_URL=database_url), cwd=workdir)
    assert migrated.code == 0, migrated.stderr
    archive = workdir / "backups" / "nightly.tar.gz"

    async with BotApiStandin(TOKEN) as api:
        env = clean_env(
            BOT_TOKEN=TOKEN,
            TELEGRAM_API_URL=api.api_url,
            DATABASE_URL=database_url,
            EVIDENCE_DIR=str(evidence),
        )
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot",
            env=env, cwd=workdir, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            await api.wait_for_call("getUpdates", timeout=60)
            make = UpdateFactory()
            for user, text, content in zip(CITIZENS, TEXTS, PHOTOS, strict=True):
                photo = make.photo(user)
                assert photo.message is not None
                for size in photo.message.photo:
                    api.add_file(size.file_id, content, f"photos/{size.file_unique_id}.jpg")
                await file_complaint(Chat(api, user, make), label, text, photo=photo)
            deadline = time.monotonic() + FETCHED_WITHIN
            while _fetched(db) < len(PHOTOS):
                assert time.monotonic() < deadline, "the photos were never fetched into the store"
                await asyncio.sleep(0.5)

            # a citizen is mid-dialog (and the bot writing) while the backup runs beside it
            late = Chat(api, LATE, make)
            late.say(TEXTS[0])
            backup_env = clean_env(DATABASE_URL=database_url, EVIDENCE_DIR=str(evidence))
            backup = await run_bot("backup", "--out", str(archive), env=backup_env, cwd=workdir)
            await late.expect_button(label=label("confirm_area"))  # the bot went on answering
        finally:
            _, err = await stop_process(proc)
    stderr = err.decode("utf-8", "replace")
    assert proc.returncode == 0, stderr
    assert backup.code == 0, backup.stderr
    assert "2 evidence files" in backup.stdout

    restored_db, restored_evidence = workdir / "restored" / "bot.db", workdir / "restored" / "evidence"
    restored_env = clean_env(
        DATABASE_URL=f"sqlite+aiosqlite:///{restored_db}", EVIDENCE_DIR=str(restored_evidence)
    )

    # a damaged copy first: refused, and nothing written
    damaged = workdir / "damaged.tar.gz"
    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 0xFF
    damaged.write_bytes(bytes(data))
    refused = await run_bot("restore", str(damaged), env=restored_env, cwd=workdir)
    assert refused.code == 1
    assert "Restore refused" in refused.stderr and "Nothing was written" in refused.stderr
    assert not restored_db.exists() and not restored_evidence.exists()

    restore = await run_bot("restore", str(archive), env=restored_env, cwd=workdir)
    assert restore.code == 0, restore.stderr
    assert "2 evidence files" in restore.stdout

    # every table's rows equal the snapshot the archive holds
    snapshot = workdir / "snapshot.db"
    with tarfile.open(archive, "r:gz") as tar:
        member = tar.extractfile("database.sqlite3")
        assert member is not None
        snapshot.write_bytes(member.read())
    before, after = _rows(snapshot), _rows(restored_db)
    assert after == before
    assert len(after["cases"]) == len(CITIZENS)
    # every file's checksum equals the original's, and the rows point at them
    original, restored = EvidenceStore(evidence), EvidenceStore(restored_evidence)
    wanted = {hashlib.sha256(p).hexdigest() for p in PHOTOS}
    assert {sha for sha, _ in original.iter_files()} == wanted
    for sha in wanted:
        copy = restored.read(sha)
        assert copy is not None and hashlib.sha256(copy).hexdigest() == sha
    conn = sqlite3.connect(f"file:{restored_db}?mode=ro", uri=True)
    try:
        assert {r[0] for r in conn.execute("SELECT sha256 FROM attachments")} == wanted
    finally:
        conn.close()

    # the restored copy answers the readiness checks as the original would: schema at head
    checked = await run_bot("check", env=restored_env, cwd=workdir)
    assert "ok   database" in checked.stdout and "ok   schema" in checked.stdout, checked.stdout
