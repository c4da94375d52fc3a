"""``python -m bot [COMMAND]``: the entry points, one module per sub-command.

- ``run`` (the default): the bot, long polling or webhook (``bot.cli.run``)
- ``migrate``: apply the database migrations (``bot.cli.migrate``)
- ``check-plan``: validate and summarise a campaign plan (``bot.cli.plan``)
- ``tick``: one pass of everything time-driven, then exit (``bot.cli.tick``)
- ``invite``: a one-time invite code for a unit's liaison (``bot.cli.invite``)
- ``report``: a digest, scoreboard or export as files (``bot.cli.report``)
- ``apikey``: issue, list or revoke the Open311 API's keys (``bot.cli.apikey``)
- ``web``: the office's web dashboard and the Open311 API (``bot.cli.web``)
- ``check``: the readiness checks of ``/readyz``, exit 1 when not ready (``bot.cli.check``)
- ``backup`` / ``restore``: the database and evidence files in one archive (``bot.cli.backup``)

Each module holds a ``COMMAND`` (a ``SubCommand``: name, help, a function adding its arguments
and one running it that returns the exit code); what they share (settings, logging, plan and
schema checks) is in ``bot.cli.common``. Entry points stay thin: they read the command line and
call the same services the bot does.

Exit codes: 0 fine, 1 something to fix (plan, database), 2 bad configuration or usage.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from bot.cli import apikey, backup, check, invite, migrate, plan, report, run, tick, web
from bot.cli.common import EXIT_OK, CliExit, SubCommand

# in the order ``--help`` lists them
SUBCOMMANDS: list[SubCommand] = [
    run.COMMAND,
    migrate.COMMAND,
    plan.COMMAND,
    tick.COMMAND,
    invite.COMMAND,
    report.COMMAND,
    apikey.COMMAND,
    web.COMMAND,
    check.COMMAND,  # issue 15
    backup.BACKUP,  # issue 15
    backup.RESTORE,
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot", description="The 办事难 complaint and rectification bot."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in SUBCOMMANDS:
        command.configure(sub.add_parser(command.name, help=command.help, description=command.help))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    name = args.command or "run"
    command = next(c for c in SUBCOMMANDS if c.name == name)
    try:
        return command.run(args)
    except CliExit as exc:
        print(str(exc), file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        return EXIT_OK
