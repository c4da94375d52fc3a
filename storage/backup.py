"""Backups that restore (issue 15): one ``.tar.gz`` with the database snapshot, the evidence
files and a manifest (core.backup) that ``restore`` checks before it writes anything.

The snapshot is consistent while the bot runs:

- SQLite: the online backup API (``sqlite3.Connection.backup``) copies the live file page by
  page under a read transaction, WAL included; the counts and the revision are then read from
  the copy itself, so they describe exactly what the archive holds.
- PostgreSQL: a REPEATABLE READ transaction exports its snapshot (``pg_export_snapshot``); the
  counts are read in it and ``pg_dump -Fc --snapshot`` dumps that same snapshot, so counts and
  dump agree to the row however busy the bot is.

Evidence files are written once and never changed (their name is their SHA-256), so copying
them after the snapshot is safe; a file erased in between is counted in the manifest.

``restore`` reads the manifest, refuses an archive of another back end or of a schema newer
than this bot, refuses a database that holds data (unless ``force``), then stages every member
in a temporary directory beside the targets while checking its size and checksum, checks the
staged snapshot (SQLite: integrity and counts; PostgreSQL: ``pg_restore --list``), and only
then writes: SQLite through the backup API into the target, PostgreSQL through one ``psql
--single-transaction`` run (the old schema dropped and the dump loaded, or nothing at all).
The restored database is counted again against the manifest, and an older schema is migrated
to this bot's head.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO

from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncConnection

from core.backup import (
    ALEMBIC_TABLE,
    DATABASE_MEMBER,
    MANIFEST,
    BackupError,
    Manifest,
    Member,
    allowed_member,
    check_members,
    check_restorable,
    count_differences,
    evidence_name,
    evidence_sha,
    is_empty,
    is_evidence_name,
    referenced_missing,
)
from storage.db import is_sqlite, make_engine, normalise_url
from storage.evidence_store import EvidenceStore
from storage.migrate import alembic_config, upgrade

CHUNK = 1 << 20
MAX_MANIFEST = 64 << 20  # a manifest lists files; even a year of evidence is far below this
PG_PACKAGE = "postgresql-client"  # Debian's package with pg_dump, pg_restore and psql


@dataclass(frozen=True, slots=True)
class RestoreResult:
    manifest: Manifest
    tables: Mapping[str, int]  # the restored database, counted
    files: int  # evidence files written
    migrated_to: str | None  # the head an older archive's schema was brought to


# -- backup ------------------------------------------------------------------------------------


async def create_backup(url: str, evidence_root: Path, out: Path, now: datetime) -> Manifest:
    """Write the archive to ``out`` (through a temporary file renamed at the end, so a cut-off
    backup never leaves a file with the final name) and return its manifest."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    store = EvidenceStore(evidence_root)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".backup-") as work:
        staging = Path(work)
        if is_sqlite(url):
            backend, snapshot = "sqlite", staging / DATABASE_MEMBER["sqlite"]
            revision, tables, referenced = await asyncio.to_thread(_sqlite_snapshot, url, snapshot)
        else:
            backend, snapshot = "postgresql", staging / DATABASE_MEMBER["postgresql"]
            revision, tables, referenced = await _pg_snapshot(url, snapshot)
        evidence = [Member(evidence_name(sha), path.stat().st_size, _sha_of(path))
                    for sha, path in store.iter_files()]  # fmt: skip
        manifest = Manifest(
            backend=backend,
            schema_revision=revision,
            created_at=now.isoformat(timespec="seconds"),
            tables=tables,
            database=Member(snapshot.name, snapshot.stat().st_size, _sha_of(snapshot)),
            evidence=tuple(evidence),
            missing_evidence=referenced_missing(referenced, (evidence_sha(m.name) for m in evidence)),
        )
        partial = staging / "archive.tar.gz"
        await asyncio.to_thread(_write_archive, partial, manifest, snapshot, store)
        os.replace(partial, out)
    return manifest


def _write_archive(target: Path, manifest: Manifest, snapshot: Path, store: EvidenceStore) -> None:
    with tarfile.open(target, "w:gz", compresslevel=6) as tar:
        body = manifest.to_json().encode()
        info = tarfile.TarInfo(MANIFEST)
        info.size, info.mode = len(body), 0o600
        tar.addfile(info, io.BytesIO(body))
        tar.add(snapshot, arcname=snapshot.name, recursive=False)
        for member in manifest.evidence:
            tar.add(store.path(evidence_sha(member.name)), arcname=member.name, recursive=False)
        # no owners, times or modes from this machine matter on the next: restore ignores them


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        raise BackupError("Only a SQLite database in a file can be backed up or restored.")
    return Path(database)


def _sqlite_snapshot(url: str, snapshot: Path) -> tuple[str, dict[str, int], list[str]]:
    source_path = _sqlite_path(url)
    if not source_path.is_file():
        raise BackupError(f"There is no database at {source_path}.")
    # read-only URI: the backup never creates or changes the live file
    source = _read_only(source_path)
    try:
        target = sqlite3.connect(snapshot)
        try:
            source.backup(target)  # the online backup API: one consistent copy while others write
        finally:
            target.close()
    finally:
        source.close()
    copy = sqlite3.connect(snapshot)
    try:
        revision = _sqlite_revision(copy)
        if revision is None:
            raise BackupError("The database has no schema: there is nothing to back up.")
        return revision, _sqlite_counts(copy), _sqlite_referenced(copy)
    finally:
        copy.close()


def _read_only(path: Path) -> sqlite3.Connection:
    """A connection that can neither create nor change ``path`` (an URI, escaped: a file name
    with ``?`` or ``#`` in it stays a file name)."""
    return sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True)


def _sqlite_tables(conn: sqlite3.Connection) -> list[str]:
    rows = conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
    ).fetchall()
    return [str(r[0]) for r in rows]


def _sqlite_counts(conn: sqlite3.Connection) -> dict[str, int]:
    return {t: int(conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]) for t in _sqlite_tables(conn)}


def _sqlite_revision(conn: sqlite3.Connection) -> str | None:
    if ALEMBIC_TABLE not in _sqlite_tables(conn):
        return None
    row = conn.execute(f"SELECT version_num FROM {ALEMBIC_TABLE}").fetchone()
    return str(row[0]) if row else None


def _sqlite_referenced(conn: sqlite3.Connection) -> list[str]:
    columns = {r[1] for r in conn.execute("PRAGMA table_info(attachments)").fetchall()}
    if "sha256" not in columns:
        return []
    return [str(r[0]) for r in conn.execute("SELECT sha256 FROM attachments WHERE sha256 IS NOT NULL")]


async def _pg_tables(conn: AsyncConnection) -> list[str]:
    rows = await conn.execute(
        text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename")
    )
    return [str(r[0]) for r in rows]


async def _pg_counts(conn: AsyncConnection) -> dict[str, int]:
    counts = {}
    for table in await _pg_tables(conn):
        counts[table] = int((await conn.execute(text(f'SELECT count(*) FROM "{table}"'))).scalar_one())
    return counts


async def _pg_snapshot(url: str, snapshot: Path) -> tuple[str, dict[str, int], list[str]]:
    pg_dump = _pg_tool("pg_dump")
    engine = make_engine(url)
    try:
        async with engine.connect() as plain:
            conn = await plain.execution_options(isolation_level="REPEATABLE READ")
            async with conn.begin():
                await conn.execute(text("SET TRANSACTION READ ONLY"))
                snapshot_id: str = (await conn.execute(text("SELECT pg_export_snapshot()"))).scalar_one()
                tables = await _pg_counts(conn)
                if ALEMBIC_TABLE not in tables:
                    raise BackupError("The database has no schema: there is nothing to back up.")
                revision: str = (
                    await conn.execute(text(f"SELECT version_num FROM {ALEMBIC_TABLE}"))
                ).scalar_one()
                referenced = [str(r[0]) for r in await conn.execute(
                    text("SELECT sha256 FROM attachments WHERE sha256 IS NOT NULL")
                )] if "attachments" in tables else []  # fmt: skip
                # the transaction stays open while pg_dump reads: the snapshot lives as long
                await _run(
                    [pg_dump, "--format=custom", f"--snapshot={snapshot_id}", f"--file={snapshot}",
                     *_pg_connection_args(url)],
                    _pg_env(url),
                    "pg_dump",
                )  # fmt: skip
    finally:
        await engine.dispose()
    return str(revision), tables, referenced


# -- restore -----------------------------------------------------------------------------------


def read_manifest(archive: Path) -> Manifest:
    """The archive's manifest, or BackupError when the file is no archive of ours."""
    with _open_archive(archive) as tar:
        return _manifest_of(tar)


async def restore_backup(
    url: str, evidence_root: Path, archive: Path, *, force: bool = False, check_only: bool = False
) -> RestoreResult:
    """Restore ``archive`` into the database at ``url`` and the store at ``evidence_root``.
    ``check_only``: verify every member (and the snapshot) and write nothing."""
    archive = Path(archive)
    backend = "sqlite" if is_sqlite(url) else "postgresql"
    script = ScriptDirectory.from_config(alembic_config())
    head = script.get_current_head() or ""
    with _open_archive(archive) as tar:
        manifest = _manifest_of(tar)
        check_restorable(manifest, backend=backend, is_known_revision=lambda r: _known(script, r), head=head)
        store = EvidenceStore(evidence_root)
        if not check_only:
            await _refuse_unless_empty(url, store, force=force)
        staging_parent = _staging_parent(url, evidence_root)
        staging_parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=staging_parent, prefix=".restore-") as work:
            staging = Path(work)
            found = await asyncio.to_thread(_stage_members, tar, manifest, staging)
            check_members(manifest, found)
            snapshot = staging / manifest.database.name
            if backend == "sqlite":
                await asyncio.to_thread(_check_sqlite_snapshot, snapshot, manifest)
            else:
                await _run([_pg_tool("pg_restore"), "--list", str(snapshot)], None, "pg_restore --list")
            if check_only:
                return RestoreResult(manifest, manifest.tables, 0, None)
            if backend == "sqlite":
                await asyncio.to_thread(_write_sqlite, snapshot, _sqlite_path(url))
            else:
                await _write_pg(url, snapshot, staging)
            files = await asyncio.to_thread(_write_evidence, staging, manifest, store)
    restored = await database_counts(url)
    differences = count_differences(manifest.tables, restored)
    if differences:
        raise BackupError(
            "The restored database does not hold what the archive lists: " + "; ".join(differences)
        )
    migrated_to = None
    if manifest.schema_revision != head:
        await upgrade(url)  # an older archive: brought to this bot's schema, as `migrate` would
        migrated_to = head
    return RestoreResult(manifest, restored, files, migrated_to)


@contextlib.contextmanager
def _open_archive(archive: Path) -> Iterator[tarfile.TarFile]:
    if not archive.is_file():
        raise BackupError(f"There is no file at {archive}.")
    try:
        tar = tarfile.open(archive, "r:gz")  # noqa: SIM115 (closed below, after the yield)
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise BackupError(
            f"{archive} is not a backup archive, or it is damaged ({exc}). Nothing was written."
        ) from None
    try:
        yield tar
    except (tarfile.TarError, EOFError, zlib.error) as exc:
        raise BackupError(f"{archive} is damaged ({exc}). Nothing was written.") from None
    finally:
        tar.close()


def _manifest_of(tar: tarfile.TarFile) -> Manifest:
    try:
        info = tar.getmember(MANIFEST)
    except KeyError:
        raise BackupError(f"The archive has no {MANIFEST}: it is not a backup of this bot.") from None
    if not info.isfile() or info.size > MAX_MANIFEST:
        raise BackupError(f"The archive's {MANIFEST} is not a plain file of a sensible size.")
    handle = tar.extractfile(info)
    assert handle is not None  # a regular file always has a handle
    return Manifest.from_json(handle.read())


def _known(script: ScriptDirectory, revision: str) -> bool:
    try:
        return script.get_revision(revision) is not None
    except Exception:  # alembic raises its own errors for unknown ids
        return False


def _staging_parent(url: str, evidence_root: Path) -> Path:
    # beside the targets, so moving staged files into place is a rename on one file system
    return _sqlite_path(url).parent if is_sqlite(url) else Path(evidence_root).parent


async def database_counts(url: str) -> dict[str, int]:
    """Every table's rows in the database at ``url`` (none when it has no tables yet)."""
    if is_sqlite(url):
        path = _sqlite_path(url)
        if not path.exists():
            return {}

        def count() -> dict[str, int]:
            conn = _read_only(path)
            try:
                return _sqlite_counts(conn)
            finally:
                conn.close()

        return await asyncio.to_thread(count)
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return await _pg_counts(conn)
    finally:
        await engine.dispose()


async def _refuse_unless_empty(url: str, store: EvidenceStore, *, force: bool) -> None:
    counts = await database_counts(url)
    files = sum(1 for _ in store.iter_files())
    if force or (is_empty(counts) and files == 0):
        return
    rows = sum(n for t, n in counts.items() if t != ALEMBIC_TABLE)
    raise BackupError(
        f"The target is not empty: the database holds {rows} rows and the evidence store "
        f"{files} files. Restore writes into an empty database only; to replace what is there "
        "(it is lost), run it again with --force."
    )


def _stage_members(tar: tarfile.TarFile, manifest: Manifest, staging: Path) -> dict[str, tuple[int, str]]:
    """Copy every member into ``staging`` (evidence under its checksum) while hashing it; any
    member that is not a plain file with an allowed name refuses the archive."""
    found: dict[str, tuple[int, str]] = {}
    (staging / "evidence").mkdir()
    for info in tar:
        name = info.name
        if name == MANIFEST:
            continue
        if not info.isfile() or not allowed_member(name, manifest.backend) or name in found:
            raise BackupError(
                f"The archive holds an unexpected member {name!r}; it was not restored. Nothing was written."
            )
        target = staging / name if not is_evidence_name(name) else staging / "evidence" / evidence_sha(name)
        handle = tar.extractfile(info)
        assert handle is not None
        found[name] = _copy_hashing(handle, target)
    return found


def _copy_hashing(source: IO[bytes], target: Path) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    with open(target, "wb") as out:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
    return size, digest.hexdigest()


def _check_sqlite_snapshot(snapshot: Path, manifest: Manifest) -> None:
    try:
        conn = _read_only(snapshot)
        try:
            status = conn.execute("PRAGMA integrity_check").fetchone()[0]
            if status != "ok":
                raise BackupError(
                    f"The archive's database fails SQLite's integrity check ({status}). Nothing was written."
                )
            differences = count_differences(manifest.tables, _sqlite_counts(conn))
            revision = _sqlite_revision(conn)
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"The archive's database cannot be read ({exc}). Nothing was written.") from None
    if revision != manifest.schema_revision or differences:
        raise BackupError(
            "The archive's database does not match its manifest ("
            + "; ".join(differences or [f"revision {revision}"])
            + "). Nothing was written."
        )


def _write_sqlite(snapshot: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    source = _read_only(snapshot)
    try:
        dest = sqlite3.connect(target)
        try:
            # replaces the target's whole content in one go, pages and schema alike
            source.backup(dest)
        finally:
            dest.close()
    finally:
        source.close()


_PG_PREAMBLE = """\
-- restore: the old schema goes in the same transaction the dump comes back in
DROP SCHEMA IF EXISTS public CASCADE;
CREATE SCHEMA public;
ALTER SCHEMA public OWNER TO pg_database_owner;
GRANT USAGE ON SCHEMA public TO PUBLIC;
"""


async def _write_pg(url: str, snapshot: Path, staging: Path) -> None:
    script = staging / "restore.sql"
    preamble = staging / "preamble.sql"
    preamble.write_text(_PG_PREAMBLE)
    env = _pg_env(url)
    await _run([_pg_tool("pg_restore"), "--no-owner", "--no-privileges", f"--file={script}", str(snapshot)],
               env, "pg_restore")  # fmt: skip
    await _run(
        [_pg_tool("psql"), "--no-psqlrc", "--quiet", "--single-transaction", "--set=ON_ERROR_STOP=1",
         f"--file={preamble}", f"--file={script}", *_pg_connection_args(url)],
        env,
        "psql",
    )  # fmt: skip


def _write_evidence(staging: Path, manifest: Manifest, store: EvidenceStore) -> int:
    """Make the store hold exactly the archive's files: staged files renamed into place, and
    files the archive does not have removed (a replaced store must not keep what was erased)."""
    wanted = {evidence_sha(m.name) for m in manifest.evidence}
    for sha, path in list(store.iter_files()):
        if sha not in wanted:
            path.unlink()
    for sha in sorted(wanted):
        target = store.path(sha)
        target.parent.mkdir(parents=True, exist_ok=True)
        staged = staging / "evidence" / sha
        try:
            os.replace(staged, target)
        except OSError:  # another file system after all: copy, then the store's atomic write
            store.put_sync(staged.read_bytes())
    return len(wanted)


# -- PostgreSQL tools --------------------------------------------------------------------------


def _pg_tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            f"{name} is not installed; backups of a PostgreSQL database need it. Install the "
            f"{PG_PACKAGE} package (Debian/Ubuntu: apt-get install {PG_PACKAGE}), of the "
            "server's major version or newer."
        )
    return found


def _pg_url(url: str) -> URL:
    return normalise_url(url)


def _pg_connection_args(url: str) -> list[str]:
    u = _pg_url(url)
    args = [f"--dbname={u.database or 'postgres'}"]
    if u.host:
        args.append(f"--host={u.host}")
    if u.port:
        args.append(f"--port={u.port}")
    if u.username:
        args.append(f"--username={u.username}")
    return [*args, "--no-password"]


def _pg_env(url: str) -> dict[str, str]:
    env = dict(os.environ)
    password = _pg_url(url).password
    if password:
        env["PGPASSWORD"] = str(password)  # never on the command line, where ps shows it
    return env


async def _run(argv: list[str], env: Mapping[str, str] | None, what: str) -> None:
    def call() -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            argv, env=dict(env) if env is not None else None, capture_output=True, check=False
        )

    done = await asyncio.to_thread(call)
    if done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip().splitlines()
        shown = "; ".join(message[-3:]) if message else f"exit {done.returncode}"
        raise BackupError(f"{what} failed: {shown}")


def _sha_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
