"""``python -m bot invite UNIT_ID [--ttl-days N] [--role ROLE]``: a single-use invite code for a
unit's liaison (or, with ``--role first_responsible|campaign_leader``, its 一把手 / 分管领导),
printed on the terminal (first set-up, before any office member exists to use
``/invite`` in the bot)."""

from __future__ import annotations

import argparse
import asyncio
from datetime import timedelta

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
from core.directory import InviteRole
from core.services.invites import DEFAULT_TTL, MAX_TTL, CreatedInvite
from core.services.units import sync_plan_units
from core.unit_lookup import find_unit


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("unit", metavar="UNIT_ID", help="the unit's id in the plan (or its name)")
    parser.add_argument(
        "--ttl-days",
        type=int,
        default=DEFAULT_TTL.days,
        metavar="N",
        help=f"days the code stays valid (default {DEFAULT_TTL.days}, at most {MAX_TTL.days})",
    )
    parser.add_argument(
        "--role",
        choices=[r.value for r in InviteRole],
        default=InviteRole.LIAISON.value,
        help="what the code binds its holder to: the unit's liaison (default), its 一把手 "
        "(first_responsible) or its 分管领导 (campaign_leader)",
    )


def run(args: argparse.Namespace) -> int:
    """Prints a fresh invite code for the unit; nothing is audited (there is no office member
    behind it: whoever runs the server's command line is trusted with it)."""
    settings = load_settings()
    configure_logging(settings.log_level)
    plan = load_plan_or_exit(settings.plan_file, settings.campaign_start)
    unit_id = find_unit(plan, args.unit)
    if unit_id is None:
        known = "\n".join(f"  {u.id}  {u.name}" for u in plan.units)
        raise CliExit(f"No unit {args.unit!r} in the plan. Units:\n{known}", EXIT_CONFIG)
    if not 1 <= args.ttl_days <= MAX_TTL.days:
        raise CliExit(f"--ttl-days must be between 1 and {MAX_TTL.days}", EXIT_CONFIG)
    ensure_schema_or_exit(settings.database_url)
    deps = make_deps(settings, plan)

    async def create() -> CreatedInvite:
        try:
            # the units table may still be empty before the bot's first start
            await sync_plan_units(plan, deps.uow)
            return await deps.services.invites.create(
                None, unit_id, timedelta(days=args.ttl_days), role=InviteRole(args.role)
            )
        finally:
            await deps.aclose()

    invite = asyncio.run(create())
    unit = plan.unit(unit_id)
    who = "" if invite.role is InviteRole.LIAISON else f", {invite.role.value}"
    print(f"Invite code for {unit.name} ({unit.id}{who}): {invite.code}")
    print(
        f"Valid until {invite.expires_at.astimezone(settings.tz).isoformat(timespec='minutes')}, usable once."
    )
    holder = "The unit's liaison" if invite.role is InviteRole.LIAISON else "The person"
    print(f"{holder} sends the bot, in a private chat: /join {invite.code}")
    return EXIT_OK


COMMAND = SubCommand("invite", "print a one-time invite code for a liaison", configure, run)
