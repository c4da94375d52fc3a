"""What a backup archive is and when it may be restored (issue 15). Pure rules, no I/O: the
archive's manifest, the names its members may have, and the checks ``restore`` makes before it
writes anything (storage.backup does the reading and writing).

An archive is one ``.tar.gz`` holding three kinds of member:

- ``manifest.json``: the format, when it was made, the database's back end and schema revision,
  the row count of every table in the snapshot, and the size and SHA-256 of every other member;
- the database snapshot: ``database.sqlite3`` (SQLite's online backup of the live file) or
  ``database.pgdump`` (``pg_dump -Fc`` taken in the same snapshot the counts were read in);
- ``evidence/<sha256>``: the office's copy of every evidence file (storage.evidence_store), named
  by its checksum, so a file's name is also the check of its content.

Nothing else is ever read from an archive: a member with any other name (``../``, an absolute
path, a link) makes the archive refused, so a doctored archive cannot write outside the targets.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

FORMAT: Final = 1
MANIFEST: Final = "manifest.json"
EVIDENCE_PREFIX: Final = "evidence/"
BACKENDS: Final = ("sqlite", "postgresql")
DATABASE_MEMBER: Final = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}
# the table Alembic keeps its revision in: the manifest's schema_revision says it, its row
# count is no figure of the campaign's
ALEMBIC_TABLE: Final = "alembic_version"

_SHA256: Final = re.compile(r"^[0-9a-f]{64}$")
_TABLE: Final = re.compile(r"^[a-z_][a-z0-9_]*$")


class BackupError(Exception):
    """Something the operator has to know: the message says what and what to do."""


@dataclass(frozen=True, slots=True)
class Member:
    """One file in the archive besides the manifest."""

    name: str
    size: int
    sha256: str


@dataclass(frozen=True, slots=True)
class Manifest:
    backend: str
    schema_revision: str
    created_at: str  # ISO 8601 with its offset
    tables: Mapping[str, int]  # every table in the snapshot, and its rows
    database: Member
    evidence: tuple[Member, ...] = ()
    # attachments the snapshot says were fetched whose file was not in the store when the
    # backup ran (erased in between, or lost): said, so a restore's missing file is no surprise
    missing_evidence: int = 0
    format: int = FORMAT
    extra: Mapping[str, Any] = field(default_factory=dict)

    def members(self) -> tuple[Member, ...]:
        return (self.database, *self.evidence)

    def to_json(self) -> str:
        body = {
            "format": self.format,
            "backend": self.backend,
            "schema_revision": self.schema_revision,
            "created_at": self.created_at,
            "tables": dict(sorted(self.tables.items())),
            "database": _member_json(self.database),
            "evidence": [_member_json(m) for m in sorted(self.evidence, key=lambda m: m.name)],
            "missing_evidence": self.missing_evidence,
            **dict(self.extra),
        }
        return json.dumps(body, ensure_ascii=False, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str | bytes) -> Manifest:
        try:
            body = json.loads(text)
        except (ValueError, UnicodeDecodeError) as exc:
            raise BackupError(f"The archive's {MANIFEST} is not JSON ({exc}).") from None
        if not isinstance(body, dict):
            raise BackupError(f"The archive's {MANIFEST} is not an object.")
        fmt = body.get("format")
        if not isinstance(fmt, int) or fmt < 1:
            raise BackupError(f"The archive's {MANIFEST} has no valid format number.")
        if fmt > FORMAT:
            raise BackupError(
                f"The archive is in backup format {fmt}; this version of the bot reads format "
                f"{FORMAT} only. Restore it with the version of the bot that made it."
            )
        try:
            backend = _str(body, "backend")
            if backend not in BACKENDS:
                raise BackupError(f"unknown back end {backend!r}")
            database = _member(body.get("database"))
            if database.name != DATABASE_MEMBER[backend]:
                raise BackupError(f"database member {database.name!r}")
            evidence = tuple(_member(m) for m in _list(body, "evidence"))
            for item in evidence:
                if not is_evidence_name(item.name) or evidence_sha(item.name) != item.sha256:
                    raise BackupError(f"evidence member {item.name!r}")
            tables = body.get("tables")
            if not isinstance(tables, dict) or not all(
                isinstance(k, str) and _TABLE.match(k) and isinstance(v, int) and v >= 0
                for k, v in tables.items()
            ):
                raise BackupError("table counts")
            missing = body.get("missing_evidence", 0)
            if not isinstance(missing, int) or missing < 0:
                raise BackupError("missing_evidence")
            known = {"format", "backend", "schema_revision", "created_at", "tables", "database",
                     "evidence", "missing_evidence"}  # fmt: skip
            return cls(
                backend=backend,
                schema_revision=_str(body, "schema_revision"),
                created_at=_str(body, "created_at"),
                tables=dict(tables),
                database=database,
                evidence=evidence,
                missing_evidence=missing,
                format=fmt,
                extra={k: v for k, v in body.items() if k not in known},
            )
        except BackupError as exc:
            raise BackupError(f"The archive's {MANIFEST} is damaged: bad {exc}.") from None


def _member_json(member: Member) -> dict[str, Any]:
    return {"name": member.name, "size": member.size, "sha256": member.sha256}


def _str(body: Mapping[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise BackupError(key)
    return value


def _list(body: Mapping[str, Any], key: str) -> list[Any]:
    value = body.get(key, [])
    if not isinstance(value, list):
        raise BackupError(key)
    return value


def _member(value: Any) -> Member:
    if not isinstance(value, dict):
        raise BackupError("member")
    name, size, sha = value.get("name"), value.get("size"), value.get("sha256")
    if not isinstance(name, str) or not isinstance(size, int) or size < 0:
        raise BackupError("member")
    if not isinstance(sha, str) or not _SHA256.match(sha):
        raise BackupError(f"checksum of {name}")
    return Member(name, size, sha)


def evidence_name(sha256: str) -> str:
    return EVIDENCE_PREFIX + sha256


def is_evidence_name(name: str) -> bool:
    return name.startswith(EVIDENCE_PREFIX) and bool(_SHA256.match(name[len(EVIDENCE_PREFIX) :]))


def evidence_sha(name: str) -> str:
    return name[len(EVIDENCE_PREFIX) :]


def allowed_member(name: str, backend: str) -> bool:
    """The only names ``restore`` reads; any other member makes the archive refused."""
    return name == MANIFEST or name == DATABASE_MEMBER.get(backend) or is_evidence_name(name)


def check_restorable(
    manifest: Manifest, *, backend: str, is_known_revision: Callable[[str], bool], head: str
) -> None:
    """Refuse, before anything is written, an archive this bot cannot restore here."""
    if manifest.backend != backend:
        raise BackupError(
            f"The archive holds a {manifest.backend} database and DATABASE_URL is {backend}: "
            f"restore it into a {manifest.backend} database (the two formats do not convert)."
        )
    if not is_known_revision(manifest.schema_revision):
        raise BackupError(
            f"The archive's schema is at revision {manifest.schema_revision}, which this version "
            f"of the bot does not know (its newest is {head}): it was made by a newer bot. "
            "Restore it with that version (or newer), not with this one."
        )


def check_members(manifest: Manifest, found: Mapping[str, tuple[int, str]]) -> None:
    """Every member the manifest lists is in the archive with its size and checksum, and the
    archive holds nothing it does not list. ``found``: name -> (size, sha256) as read."""
    problems: list[str] = []
    listed = {m.name: m for m in manifest.members()}
    for name, member in listed.items():
        got = found.get(name)
        if got is None:
            problems.append(f"{name} is missing")
        elif got != (member.size, member.sha256):
            problems.append(f"{name} does not match its checksum")
    problems.extend(f"{name} is not in the manifest" for name in sorted(set(found) - set(listed)))
    if problems:
        shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
        raise BackupError(f"The archive is damaged and was not restored: {shown}. Nothing was written.")


def count_differences(expected: Mapping[str, int], actual: Mapping[str, int]) -> list[str]:
    """Tables whose rows differ between the manifest and a database, one line each."""
    lines = []
    for table in sorted(set(expected) | set(actual)):
        if table == ALEMBIC_TABLE:
            continue
        want, got = expected.get(table), actual.get(table)
        if want != got:
            lines.append(f"{table}: archive {_count(want)}, database {_count(got)}")
    return lines


def _count(value: int | None) -> str:
    return "no table" if value is None else str(value)


def is_empty(counts: Mapping[str, int]) -> bool:
    """A database restore may write into without --force: no table with rows (a freshly
    migrated schema counts as empty; Alembic's own row is not data)."""
    return all(rows == 0 for table, rows in counts.items() if table != ALEMBIC_TABLE)


def summary(manifest: Manifest) -> str:
    rows = sum(n for t, n in manifest.tables.items() if t != ALEMBIC_TABLE)
    size = manifest.database.size + sum(m.size for m in manifest.evidence)
    line = (
        f"{manifest.backend} at revision {manifest.schema_revision}, made {manifest.created_at}: "
        f"{len([t for t in manifest.tables if t != ALEMBIC_TABLE])} tables, {rows} rows, "
        f"{len(manifest.evidence)} evidence files, {size} bytes"
    )
    if manifest.missing_evidence:
        line += f" ({manifest.missing_evidence} evidence files were no longer in the store)"
    return line


def referenced_missing(referenced: Iterable[str], stored: Iterable[str]) -> int:
    """How many distinct checksums the database refers to that the store does not hold."""
    return len(set(referenced) - set(stored))
