"""Schema migrations (Alembic), driven from code: ``make migrate`` / ``python -m bot migrate``
call ``upgrade``; the bot calls ``ensure_schema`` at start and refuses to run on an
unmigrated database (SPEC §9).

No alembic.ini is needed. For the alembic CLI (e.g. a new revision), from the repo root:
``alembic -c storage/alembic.ini -x url=sqlite+aiosqlite:///data/dev.db revision --autogenerate -m "..."``
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.pool import NullPool

from storage.db import make_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
T = TypeVar("T")
MIGRATION_LOCK_KEY = 0x62616E73  # any fixed 64-bit number; "bans"

FIX = "Run `make migrate` (or `python -m bot migrate`) to bring it up to date."


class SchemaNotMigrated(RuntimeError):
    """The database is empty, behind, or from a newer version of the bot."""

    def __init__(self, status: SchemaStatus) -> None:
        self.status = status
        if status.current is None:
            message = f"The database has no schema yet. {FIX}"
        elif status.current_is_known:
            message = (
                f"The database schema is at revision {status.current}, this version of the bot "
                f"needs {status.head}. {FIX}"
            )
        else:
            message = (
                f"The database schema is at revision {status.current}, which this version of the bot "
                f"does not know (a newer version migrated it); it needs {status.head}. Run the newer "
                "version, or restore a backup from before its migration."
            )
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class SchemaStatus:
    current: str | None  # None: never migrated
    head: str
    current_is_known: bool = True

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        cfg.attributes["url"] = url
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "storage/migrations/versions has no revision"
    return head


async def upgrade(url: str, revision: str = "head") -> None:
    """Apply every migration up to ``revision``; a no-op on an up-to-date database."""
    await _run_on_connection(url, lambda conn: _upgrade(conn, revision), write=True)


async def downgrade(url: str, revision: str) -> None:
    await _run_on_connection(url, lambda conn: _downgrade(conn, revision), write=True)


async def current_revision(url: str) -> str | None:
    return await _run_on_connection(url, _current, write=False)


async def check_schema(url: str) -> SchemaStatus:
    current = await current_revision(url)
    script = ScriptDirectory.from_config(alembic_config())
    head = script.get_current_head()
    assert head is not None
    return SchemaStatus(current=current, head=head, current_is_known=_is_known(script, current))


async def ensure_schema(url: str) -> SchemaStatus:
    """Raise ``SchemaNotMigrated`` unless the database is at the head revision."""
    status = await check_schema(url)
    if not status.up_to_date:
        raise SchemaNotMigrated(status)
    return status


async def check_writable(url: str) -> None:
    """Raise the driver's error unless the database takes a write: a read-only SQLite file (or
    directory), a PostgreSQL standby or a user without rights would otherwise be found out at
    the first citizen's complaint. The write (Alembic's version row set to itself) is rolled
    back. ``storage.db.describe_database_error`` turns the error into one line."""
    await _run_on_connection(url, _probe_write, write=False)


def _probe_write(connection: Connection) -> None:
    # not committed: _run_on_connection rolls back what it does not commit
    connection.execute(text("UPDATE alembic_version SET version_num = version_num"))


def _is_known(script: ScriptDirectory, revision: str | None) -> bool:
    if revision is None:
        return True
    try:
        return script.get_revision(revision) is not None
    except Exception:  # alembic raises its own errors for unknown ids
        return False


def _upgrade(connection: Connection, revision: str) -> None:
    _lock_against_concurrent_migrations(connection)
    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, revision)


def _downgrade(connection: Connection, revision: str) -> None:
    _lock_against_concurrent_migrations(connection)
    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    command.downgrade(cfg, revision)


def _lock_against_concurrent_migrations(connection: Connection) -> None:
    # Several instances started together (`make run` migrates first) must not race on the DDL:
    # the second waits here, then finds the schema at head and does nothing. The lock ends with
    # the transaction. SQLite needs nothing: the transaction holds the write lock.
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def _run_on_connection(url: str, fn: Callable[[Connection], T], *, write: bool) -> T:
    engine = make_engine(url, poolclass=NullPool)
    try:
        # Alembic keeps its running migration in module globals (alembic.context), so two
        # migrations interleaved on one event loop would trample each other: one at a time per
        # process. Other processes are kept apart by the database (see the lock above).
        async with _process_lock() if write else contextlib.nullcontext(), engine.connect() as conn:
            result = await conn.run_sync(fn)
            if write:
                await conn.commit()
            return result
    finally:
        await engine.dispose()


_LOCKS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()


def _process_lock() -> asyncio.Lock:
    loop = asyncio.get_running_loop()
    lock = _LOCKS.get(loop)
    if lock is None:
        lock = _LOCKS[loop] = asyncio.Lock()
    return lock


if __name__ == "__main__":  # python -m storage.migrate [URL]: upgrade to head
    import os
    import sys

    target = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("DATABASE_URL")
    if not target:
        sys.exit("usage: python -m storage.migrate URL (or set DATABASE_URL)")
    asyncio.run(upgrade(target))
    print(f"database at revision {head_revision()}")
