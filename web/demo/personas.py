"""Who plays in the demo: the people a visitor can be on the web chat page, and the office
group. Fixed ids, so the seed, the bot's settings (OFFICE_ADMIN_IDS, OFFICE_CHAT_ID) and the
chat page agree without being told."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from core.plan import Plan

Kind = Literal["citizen", "liaison", "office", "group"]

OFFICE_USER_ID = 900_001
# a supergroup id (below -10¹²), as the office's real group would have
OFFICE_CHAT_ID = -1_001_000_000_001
FIRST_LIAISON_ID = 800_101
# citizens the seed files cases for; they never appear on the chat page
BACKGROUND_CITIZEN_IDS = range(300_001, 300_181)


@dataclass(frozen=True, slots=True)
class Persona:
    key: str  # the chat page's handle for it (URL-safe)
    kind: Kind
    user_id: int  # the one who types; for the group: the office member typing in it
    chat_id: int
    name: str
    language_code: str = "zh-hans"
    unit_id: str | None = None
    unit_name: str = ""

    def to_json(self) -> dict[str, object]:
        return {
            "key": self.key,
            "kind": self.kind,
            "user_id": self.user_id,
            "chat_id": self.chat_id,
            "name": self.name,
            "language_code": self.language_code,
            "unit_id": self.unit_id,
            "unit_name": self.unit_name,
        }


CITIZENS = (
    Persona("citizen-zhang", "citizen", 100_101, 100_101, "张三"),
    Persona("citizen-li", "citizen", 100_102, 100_102, "李四"),
    Persona("citizen-alice", "citizen", 100_103, 100_103, "Alice", language_code="en"),
)
OFFICE = Persona("office", "office", OFFICE_USER_ID, OFFICE_USER_ID, "周胜利（办公室）")
OFFICE_GROUP = Persona("office-group", "group", OFFICE_USER_ID, OFFICE_CHAT_ID, "领导小组办公室群")

# Surnames for the liaisons: one liaison per unit, named so a visitor can tell them apart
_SURNAMES = "王李刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾"


def liaisons(plan: Plan) -> tuple[Persona, ...]:
    """One liaison per unit of the plan, in the plan's order (ids from FIRST_LIAISON_ID)."""
    return tuple(
        Persona(
            f"liaison-{unit.id}",
            "liaison",
            FIRST_LIAISON_ID + n,
            FIRST_LIAISON_ID + n,
            f"{_SURNAMES[n % len(_SURNAMES)]}联络员（{unit.name}）",
            unit_id=unit.id,
            unit_name=unit.name,
        )
        for n, unit in enumerate(plan.units)
    )


def all_personas(plan: Plan) -> tuple[Persona, ...]:
    return (*CITIZENS, OFFICE, OFFICE_GROUP, *liaisons(plan))


def liaison_for(plan: Plan, unit_id: str) -> Persona:
    for persona in liaisons(plan):
        if persona.unit_id == unit_id:
            return persona
    raise KeyError(unit_id)
