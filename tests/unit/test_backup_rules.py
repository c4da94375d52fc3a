"""The backup archive's rules (core.backup): its manifest, the member names restore reads, and
the checks made before anything is written. No I/O."""

from __future__ import annotations

import json

import pytest

from core.backup import (
    BackupError,
    Manifest,
    Member,
    allowed_member,
    check_members,
    check_restorable,
    count_differences,
    is_empty,
    referenced_missing,
    summary,
)

SHA_A = "a" * 64
SHA_B = "b" * 64
DB = Member("database.sqlite3", 4096, "c" * 64)
MANIFEST = Manifest(
    backend="sqlite",
    schema_revision="0015",
    created_at="2026-12-07T10:00:00+08:00",
    tables={"cases": 3, "attachments": 2, "alembic_version": 1},
    database=DB,
    evidence=(Member(f"evidence/{SHA_A}", 10, SHA_A), Member(f"evidence/{SHA_B}", 20, SHA_B)),
    missing_evidence=1,
)


def test_the_manifest_reads_back_as_it_was_written() -> None:
    assert Manifest.from_json(MANIFEST.to_json()) == MANIFEST
    assert "1 evidence files were no longer in the store" in summary(MANIFEST)
    assert "5 rows" in summary(MANIFEST)  # Alembic's row is not data


def _body(**changes: object) -> str:
    body = json.loads(MANIFEST.to_json())
    for key, value in changes.items():
        if value is None:
            body.pop(key)
        else:
            body[key] = value
    return json.dumps(body)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "not JSON"),
        ("[1, 2]", "not an object"),
        (_body(format=None), "no valid format"),
        (_body(format=2), "format 2.*format 1 only"),
        (_body(backend="oracle"), "bad unknown back end"),
        (_body(schema_revision=None), "bad schema_revision"),
        (_body(database={"name": "database.pgdump", "size": 1, "sha256": "c" * 64}), "database member"),
        (_body(database={"name": "database.sqlite3", "size": 1, "sha256": "xyz"}), "checksum"),
        (_body(evidence=[{"name": f"evidence/{SHA_A}", "size": 1, "sha256": SHA_B}]), "evidence member"),
        (_body(evidence=[{"name": "../etc/passwd", "size": 1, "sha256": SHA_A}]), "evidence member"),
        (_body(tables={"cases": -1}), "table counts"),
        (_body(tables={"cases; DROP": 1}), "table counts"),
        (_body(missing_evidence="many"), "missing_evidence"),
    ],
)
def test_a_damaged_manifest_is_refused_with_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(BackupError, match=message):
        Manifest.from_json(text)


@pytest.mark.parametrize(
    ("name", "backend", "allowed"),
    [
        ("manifest.json", "sqlite", True),
        ("database.sqlite3", "sqlite", True),
        ("database.pgdump", "sqlite", False),  # another back end's snapshot
        ("database.pgdump", "postgresql", True),
        (f"evidence/{SHA_A}", "sqlite", True),
        (f"evidence/{SHA_A}/x", "sqlite", False),
        ("evidence/../../etc/passwd", "sqlite", False),
        (f"/evidence/{SHA_A}", "sqlite", False),
        (f"./evidence/{SHA_A}", "sqlite", False),
        ("evidence/" + "A" * 64, "sqlite", False),  # checksums are lower-case hex
    ],
)
def test_restore_reads_only_the_names_it_writes(name: str, backend: str, allowed: bool) -> None:
    assert allowed_member(name, backend) is allowed


@pytest.mark.parametrize(
    ("backend", "revision", "message"),
    [
        ("postgresql", "0015", "holds a sqlite database and DATABASE_URL is postgresql"),
        ("sqlite", "0099", "revision 0099.*does not know.*newest is 0017.*newer bot"),
    ],
)
def test_an_archive_for_another_back_end_or_a_newer_bot_is_refused(
    backend: str, revision: str, message: str
) -> None:
    manifest = Manifest.from_json(_body(schema_revision=revision))
    with pytest.raises(BackupError, match=message):
        check_restorable(manifest, backend=backend, is_known_revision=lambda r: r <= "0017", head="0017")


def test_a_known_older_revision_may_be_restored() -> None:
    check_restorable(MANIFEST, backend="sqlite", is_known_revision=lambda r: r <= "0017", head="0017")


def _found(**changes: tuple[int, str] | None) -> dict[str, tuple[int, str]]:
    found = {m.name: (m.size, m.sha256) for m in MANIFEST.members()}
    for name, value in changes.items():
        key = name.replace("__", "/")
        if value is None:
            found.pop(key)
        else:
            found[key] = value
    return found


@pytest.mark.parametrize(
    ("found", "message"),
    [
        (_found(**{f"evidence__{SHA_A}": None}), f"evidence/{SHA_A} is missing"),
        (_found(**{"database.sqlite3": (4096, "d" * 64)}), "database.sqlite3 does not match its checksum"),
        (_found(**{"database.sqlite3": (4095, "c" * 64)}), "database.sqlite3 does not match"),
        (_found(**{"evidence__" + "e" * 64: (1, "e" * 64)}), "is not in the manifest"),
    ],
)
def test_members_are_checked_against_the_manifest(found: dict[str, tuple[int, str]], message: str) -> None:
    with pytest.raises(BackupError, match=f"{message}.*Nothing was written"):
        check_members(MANIFEST, found)


def test_members_that_match_pass() -> None:
    check_members(MANIFEST, _found())


@pytest.mark.parametrize(
    ("actual", "lines"),
    [
        ({"cases": 3, "attachments": 2, "alembic_version": 1}, []),
        ({"cases": 3, "attachments": 2}, []),  # Alembic's row is no figure
        ({"cases": 2, "attachments": 2}, ["cases: archive 3, database 2"]),
        ({"cases": 3}, ["attachments: archive 2, database no table"]),
        ({"cases": 3, "attachments": 2, "extra": 0}, ["extra: archive no table, database 0"]),
    ],
)
def test_count_differences_name_each_table(actual: dict[str, int], lines: list[str]) -> None:
    assert count_differences(MANIFEST.tables, actual) == lines


@pytest.mark.parametrize(
    ("counts", "empty"),
    [({}, True), ({"alembic_version": 1, "cases": 0}, True), ({"alembic_version": 1, "units": 4}, False)],
)
def test_a_migrated_database_without_rows_is_empty(counts: dict[str, int], empty: bool) -> None:
    assert is_empty(counts) is empty


def test_referenced_files_missing_from_the_store_are_counted_once() -> None:
    assert referenced_missing([SHA_A, SHA_A, SHA_B], [SHA_B]) == 1
