"""``python -m bot check-plan [FILE] [--lang en] [--start DATE]``: validate a campaign plan and
print its summary, re-based to a start date if one is given."""

from __future__ import annotations

import argparse
from datetime import date

from bot.cli.common import EXIT_OK, SubCommand, load_plan_or_exit, load_settings
from core.plan import plan_summary


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", nargs="?", help="the plan file (default: PLAN_FILE from the settings)")
    parser.add_argument("--lang", choices=("zh", "en"), default="zh", help="language of the summary")
    parser.add_argument(
        "--start",
        type=date.fromisoformat,
        help="show the plan re-based to this start date (YYYY-MM-DD; default: CAMPAIGN_START)",
    )


def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    path = args.file or settings.plan_file
    plan = load_plan_or_exit(path, args.start or settings.campaign_start)
    print(plan_summary(plan, args.lang))
    return EXIT_OK


COMMAND = SubCommand("check-plan", "validate a campaign plan and summarise it", configure, run)
