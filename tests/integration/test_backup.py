"""Backup and restore (issue 15) on real databases: a campaign made through the real services
(web.demo.seed) plus evidence files, backed up, restored into a fresh database and store, and
compared table by table and file by file; damaged, foreign and newer archives are refused with
nothing written."""

from __future__ import annotations

import io
import json
import tarfile
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import text, update

from core.backup import MANIFEST, BackupError
from core.plan import load_plan
from storage.backup import create_backup, database_counts, read_manifest, restore_backup
from storage.db import make_engine
from storage.evidence_store import EvidenceStore
from storage.migrate import alembic_config, downgrade, head_revision, upgrade
from storage.models import AttachmentRow
from web.demo.seed import campaign_start_for, seed_demo

TODAY = date(2026, 12, 7)
NOW = datetime(2026, 12, 7, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
PLAN = Path(__file__).resolve().parents[2] / "plans" / "zhuhui-2014.toml"
PHOTOS = [b"\xff\xd8 photo of the counter", b"%PDF-1.4 the receipt", b"\xff\xd8 the queue at 8:30"]


async def _dump(url: str) -> dict[str, list[str]]:
    """Every table's rows, each row as text, sorted: equal dumps are equal databases."""
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            names = [t for t in (await database_counts(url))]
            out = {}
            for name in names:
                rows = (await conn.execute(text(f'SELECT * FROM "{name}"'))).all()
                out[name] = sorted(repr(tuple(_plain(v) for v in row)) for row in rows)
            return out
    finally:
        await engine.dispose()


def _plain(value: Any) -> Any:
    # JSON columns come back as dicts on PostgreSQL and text on SQLite; both dump the same way
    return json.dumps(value, sort_keys=True, default=str) if isinstance(value, dict | list) else value


async def _campaign(url: str, store: EvidenceStore) -> list[str]:
    """The demo campaign's first days in ``url`` (migrated), and evidence for its first cases."""
    plan = load_plan(PLAN).rebase(campaign_start_for(TODAY))
    await seed_demo(url, plan, today=TODAY, cases=25)
    shas = [await store.put(photo) for photo in PHOTOS]
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            found = await conn.execute(text("SELECT id FROM attachments ORDER BY id"))
            ids = [int(row[0]) for row in found.all()]
            for attachment_id, sha in zip(ids, shas, strict=False):
                await conn.execute(
                    update(AttachmentRow).where(AttachmentRow.id == attachment_id).values(sha256=sha)
                )
    finally:
        await engine.dispose()
    return shas


async def _fresh(empty_db_url: str) -> str:
    await upgrade(empty_db_url)  # a migrated, empty database: what an operator restores into
    return empty_db_url


@pytest.fixture
async def source(db_url: str, tmp_path: Path) -> tuple[str, EvidenceStore, list[str]]:
    store = EvidenceStore(tmp_path / "evidence")
    shas = await _campaign(db_url, store)
    return db_url, store, shas


async def test_a_restore_holds_every_row_and_every_file_of_the_backup(
    source: tuple[str, EvidenceStore, list[str]], empty_db_url: str, tmp_path: Path
) -> None:
    url, store, shas = source
    archive = tmp_path / "backups" / "nightly.tar.gz"
    manifest = await create_backup(url, store.root, archive, NOW)

    assert manifest.tables["cases"] == 25
    assert {m.name for m in manifest.evidence} == {f"evidence/{s}" for s in shas}
    assert manifest.missing_evidence == 0
    assert read_manifest(archive) == manifest

    target = await _fresh(empty_db_url)
    restored_store = EvidenceStore(tmp_path / "restored-evidence")
    result = await restore_backup(target, restored_store.root, archive)

    assert result.files == len(PHOTOS)
    assert await _dump(target) == await _dump(url)
    for sha, photo in zip(shas, PHOTOS, strict=True):
        assert restored_store.read(sha) == photo
    assert sorted(s for s, _ in restored_store.iter_files()) == sorted(shas)


async def test_a_damaged_archive_is_refused_and_nothing_is_written(
    source: tuple[str, EvidenceStore, list[str]], empty_db_url: str, tmp_path: Path
) -> None:
    url, store, shas = source
    archive = tmp_path / "good.tar.gz"
    await create_backup(url, store.root, archive, NOW)
    target = await _fresh(empty_db_url)
    before = await _dump(target)
    restored = EvidenceStore(tmp_path / "restored")

    # one evidence file's content changed, the manifest left as it was
    doctored = tmp_path / "doctored.tar.gz"
    _rewrite(archive, doctored, {f"evidence/{shas[0]}": b"a different photo"})
    with pytest.raises(BackupError, match=r"damaged.*does not match its checksum.*Nothing was written"):
        await restore_backup(target, restored.root, doctored)

    # cut short, as a copy that ran out of disk would be
    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    with pytest.raises(BackupError, match=r"damaged|not a backup archive"):
        await restore_backup(target, restored.root, truncated)

    # a member named to escape the store
    escaping = tmp_path / "escaping.tar.gz"
    _rewrite(archive, escaping, {"../../outside": b"x"})
    with pytest.raises(BackupError, match=r"unexpected member"):
        await restore_backup(target, restored.root, escaping)
    assert not (tmp_path.parent / "outside").exists()

    assert await _dump(target) == before
    assert list(restored.iter_files()) == []


async def test_a_newer_schema_and_a_full_database_are_refused(
    source: tuple[str, EvidenceStore, list[str]], empty_db_url: str, tmp_path: Path
) -> None:
    url, store, _ = source
    archive = tmp_path / "good.tar.gz"
    manifest = await create_backup(url, store.root, archive, NOW)

    newer = tmp_path / "newer.tar.gz"
    body = json.loads(manifest.to_json()) | {"schema_revision": "9999"}
    _rewrite(archive, newer, {MANIFEST: json.dumps(body).encode()})
    target = await _fresh(empty_db_url)
    with pytest.raises(BackupError, match=r"revision 9999.*newer bot"):
        await restore_backup(target, tmp_path / "r1", newer)

    # the source itself holds the campaign: refused without --force, replaced with it
    with pytest.raises(BackupError, match=r"not empty.*--force"):
        await restore_backup(url, store.root, archive)
    other = EvidenceStore(tmp_path / "other")
    await other.put(b"a file only the replaced store had")
    with pytest.raises(BackupError, match=r"evidence store 1 files"):
        await restore_backup(target, other.root, archive)  # an empty database, a used store
    result = await restore_backup(target, other.root, archive, force=True)
    assert result.tables["cases"] == 25
    assert sorted(s for s, _ in other.iter_files()) == sorted(s for s, _ in store.iter_files())


async def test_check_only_verifies_and_writes_nothing(
    source: tuple[str, EvidenceStore, list[str]], empty_db_url: str, tmp_path: Path
) -> None:
    url, store, _ = source
    archive = tmp_path / "good.tar.gz"
    await create_backup(url, store.root, archive, NOW)
    target = await _fresh(empty_db_url)
    result = await restore_backup(target, tmp_path / "r", archive, check_only=True)
    assert result.manifest.tables["cases"] == 25
    assert (await database_counts(target))["cases"] == 0
    assert not (tmp_path / "r").exists()


async def test_an_older_archive_is_restored_and_migrated_to_head(empty_db_url: str, tmp_path: Path) -> None:
    head = head_revision()
    previous = ScriptDirectory.from_config(alembic_config()).get_revision(head).down_revision
    assert isinstance(previous, str)
    old = empty_db_url
    await upgrade(old, previous)
    archive = tmp_path / "old.tar.gz"
    manifest = await create_backup(old, tmp_path / "ev", archive, NOW)
    assert manifest.schema_revision == previous
    await downgrade(old, "base")  # the same database, emptied, is the target
    result = await restore_backup(old, tmp_path / "ev2", archive, force=True)
    assert result.migrated_to == head


def _rewrite(source: Path, target: Path, replace: dict[str, bytes]) -> None:
    """A copy of ``source`` with members replaced (or added) by name."""
    with tarfile.open(source, "r:gz") as old, tarfile.open(target, "w:gz") as new:
        for info in old:
            handle = old.extractfile(info)
            assert handle is not None
            data = replace.pop(info.name, None)
            body = handle.read() if data is None else data
            info.size = len(body)
            new.addfile(info, io.BytesIO(body))
        for name, body in replace.items():
            info = tarfile.TarInfo(name)
            info.size = len(body)
            new.addfile(info, io.BytesIO(body))


async def test_without_pg_dump_the_message_names_the_package(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr("storage.backup.shutil.which", lambda name: None)
    url = "postgresql+asyncpg://postgres@127.0.0.1:5432/never_reached"
    with pytest.raises(BackupError, match=r"pg_dump is not installed.*postgresql-client"):
        await create_backup(url, tmp_path / "ev", tmp_path / "b.tar.gz", NOW)
    assert not (tmp_path / "b.tar.gz").exists()
