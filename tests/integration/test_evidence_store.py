"""The evidence store keeps files by checksum, sharded, written atomically (issue 15)."""

import hashlib
from pathlib import Path

from storage.evidence_store import EvidenceStore


async def test_put_is_content_addressed_and_idempotent(tmp_path: Path) -> None:
    store = EvidenceStore(tmp_path / "ev")
    sha = await store.put(b"photo bytes")
    assert sha == hashlib.sha256(b"photo bytes").hexdigest()
    assert store.path(sha) == tmp_path / "ev" / sha[:2] / sha[2:4] / sha
    assert store.path(sha).read_bytes() == b"photo bytes"
    assert await store.put(b"photo bytes") == sha
    assert [s for s, _ in store.iter_files()] == [sha]
    assert not any(p.name.startswith(".tmp-") for p in (tmp_path / "ev").rglob("*"))


async def test_delete_removes_the_file_once(tmp_path: Path) -> None:
    store = EvidenceStore(tmp_path)
    sha = await store.put(b"x")
    assert store.exists(sha)
    assert store.delete(sha) is True
    assert not store.exists(sha)
    assert store.delete(sha) is False
    assert list(store.iter_files()) == []
