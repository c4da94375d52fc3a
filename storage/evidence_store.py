"""The office's own copy of the evidence (issue 15): files named by their SHA-256, in sharded
directories under one root (``ab/cd/<sha>``), so the same photo sent twice is kept once and a
file's name is its checksum. Writes go to a temporary file in the target directory and are
renamed into place, so a reader (or a backup) never sees half a file."""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class EvidenceStore:
    """Content-addressed files under ``root``; ``put`` returns the SHA-256 hex of the bytes."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, sha256: str) -> Path:
        """Where the file with this checksum lives (whether or not it exists)."""
        if not _SHA256.match(sha256):
            raise ValueError(f"not a sha256 hex digest: {sha256!r}")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    async def put(self, data: bytes) -> str:
        sha = sha256_hex(data)
        await asyncio.to_thread(self._write, sha, data)
        return sha

    def put_sync(self, data: bytes) -> str:
        """``put`` for code that is not async (the restore)."""
        sha = sha256_hex(data)
        self._write(sha, data)
        return sha

    def _write(self, sha: str, data: bytes) -> None:
        target = self.path(sha)
        if target.exists():
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def read(self, sha256: str) -> bytes | None:
        """The file's bytes, or None when it is not (or no longer) here."""
        try:
            return self.path(sha256).read_bytes()
        except FileNotFoundError:
            return None

    def delete(self, sha256: str) -> bool:
        """Remove the file; True when there was one."""
        try:
            self.path(sha256).unlink()
        except FileNotFoundError:
            return False
        return True

    def iter_files(self) -> Iterator[tuple[str, Path]]:
        """Every stored file as (sha256, path), in a stable order; temporary files are skipped."""
        if not self.root.is_dir():
            return
        for first in sorted(self.root.iterdir()):
            if not first.is_dir() or len(first.name) != 2:
                continue
            for second in sorted(first.iterdir()):
                if not second.is_dir() or len(second.name) != 2:
                    continue
                for file in sorted(second.iterdir()):
                    if file.is_file() and _SHA256.match(file.name):
                        yield file.name, file
