"""A unit as people type it: its id in the plan, or one of its names or aliases.

Shared by the office's ``/invite`` in the bot and the command line's ``invite`` and
``report --unit``, so they accept the same spellings.
"""

from __future__ import annotations

from core.plan import Plan, UnknownPlanId


def find_unit(plan: Plan, typed: str) -> str | None:
    """A unit id, or a unit's name or alias as people write it."""
    try:
        return plan.unit(typed).id
    except UnknownPlanId:
        unit = plan.units_by_name().get(typed)
        return unit.id if unit is not None else None
