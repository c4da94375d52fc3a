"""``python -m bot apikey new NAME | list | revoke ID``: the Open311 API's keys from the
server's command line (first set-up, or when no office member is at hand). The same service
as the bot's ``/apikey``; issues and revocations are on the audit trail under the system
actor, since whoever runs the server's command line has no Telegram id."""

from __future__ import annotations

import argparse
import asyncio

from bot.cli.common import (
    EXIT_CONFIG,
    EXIT_OK,
    CliExit,
    SubCommand,
    configure_logging,
    ensure_schema_or_exit,
    load_plan_or_exit,
    load_settings,
)
from bot.wiring import make_deps
from core.api_keys import ApiKey
from core.errors import DomainError
from core.services.api_keys import ApiKeyService


def configure(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    new = actions.add_parser("new", help="issue a key (printed once, stored as a hash only)")
    new.add_argument("name", nargs="+", metavar="NAME", help='the holder, e.g. "12345 hotline"')
    actions.add_parser("list", help="the keys issued, newest first")
    revoke = actions.add_parser("revoke", help="revoke a key at once")
    revoke.add_argument("key_id", type=int, metavar="ID")


def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    configure_logging(settings.log_level)
    plan = load_plan_or_exit(settings.plan_file, settings.campaign_start)
    ensure_schema_or_exit(settings.database_url)
    deps = make_deps(settings, plan)

    async def act() -> list[str]:
        try:
            return await _act(deps.services.api_keys, args)
        except DomainError as error:
            raise CliExit(f"{error.key}: {error.params}", EXIT_CONFIG) from None
        finally:
            await deps.aclose()

    for line in asyncio.run(act()):
        print(line)
    return EXIT_OK


async def _act(service: ApiKeyService, args: argparse.Namespace) -> list[str]:
    if args.action == "new":
        issued = await service.issue(None, " ".join(args.name))
        return [
            f"API key #{issued.key.id} for {issued.key.name}:",
            issued.secret,
            "Shown this once; only its hash is stored. The holder sends it as api_key.",
        ]
    if args.action == "revoke":
        key = await service.revoke(None, args.key_id)
        return [f"API key #{key.id} ({key.name}) revoked."]
    keys = await service.list(None)
    return [_line(key) for key in keys] or ["No API key issued yet."]


def _line(key: ApiKey) -> str:
    status = f"revoked {key.revoked_at.isoformat(timespec='minutes')}" if key.revoked_at else "active"
    used = key.last_used_at.isoformat(timespec="minutes") if key.last_used_at else "never"
    created = key.created_at.isoformat(timespec="minutes")
    return f"#{key.id}\t{key.name}\t{status}\tissued {created}\tlast used {used}"


COMMAND = SubCommand("apikey", "issue, list or revoke keys for the Open311 API", configure, run)
