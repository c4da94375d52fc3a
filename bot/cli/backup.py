"""``python -m bot backup --out FILE`` and ``python -m bot restore FILE`` (issue 15): the
database and the evidence files in one archive with a manifest (storage.backup, core.backup).

``backup`` runs beside the bot (the snapshot is consistent while it writes); ``restore`` wants
the bot stopped, an empty database (a freshly migrated one counts as empty) and an empty
evidence store, or ``--force`` to replace them; ``restore --check`` verifies an archive and
writes nothing (the restore drill's first step, and a monitor's check of last night's file).
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from bot.cli.common import EXIT_FIX, EXIT_OK, CliExit, SubCommand, configure_logging, load_settings
from core.backup import BackupError, summary
from core.clock import SystemClock
from storage.backup import create_backup, restore_backup
from storage.db import describe_database_error


def configure_backup(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out", required=True, type=Path, metavar="FILE", help="the archive to write (.tar.gz)"
    )


def run_backup(args: argparse.Namespace) -> int:
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    now = SystemClock(settings.timezone).now()
    try:
        manifest = asyncio.run(create_backup(settings.database_url, settings.evidence_dir, args.out, now))
    except BackupError as exc:
        raise CliExit(f"Backup failed: {exc}", EXIT_FIX) from None
    except Exception as exc:  # unreachable server, unreadable file: one line, and stop
        raise CliExit(
            f"Backup failed: {describe_database_error(exc, settings.database_url)}", EXIT_FIX
        ) from None
    print(f"Wrote {args.out}: {summary(manifest)}.")
    return EXIT_OK


def configure_restore(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("archive", type=Path, metavar="FILE", help="an archive `backup` wrote")
    parser.add_argument(
        "--force", action="store_true", help="replace a database and evidence store that hold data (lost)"
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="verify the archive (manifest, checksums, snapshot), write nothing",
    )


def run_restore(args: argparse.Namespace) -> int:
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    try:
        restore = restore_backup(
            settings.database_url,
            settings.evidence_dir,
            args.archive,
            force=args.force,
            check_only=args.check,
        )
        result = asyncio.run(restore)
    except BackupError as exc:
        raise CliExit(f"Restore refused: {exc}", EXIT_FIX) from None
    except Exception as exc:
        raise CliExit(
            f"Restore failed: {describe_database_error(exc, settings.database_url)}", EXIT_FIX
        ) from None
    if args.check:
        print(f"{args.archive} is sound: {summary(result.manifest)}. Nothing was written.")
        return EXIT_OK
    rows = sum(n for t, n in result.tables.items() if t != "alembic_version")
    tables = len(result.tables) - 1
    print(f"Restored {args.archive}: {rows} rows in {tables} tables, {result.files} evidence files.")
    if result.migrated_to:
        print(
            f"The archive's schema ({result.manifest.schema_revision}) was migrated to {result.migrated_to}."
        )
    return EXIT_OK


BACKUP = SubCommand(
    "backup", "write the database and evidence files to one archive", configure_backup, run_backup
)
RESTORE = SubCommand("restore", "restore an archive into an empty database", configure_restore, run_restore)
