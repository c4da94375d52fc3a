"""Decided cases for the classifier report's tests (bot, web, CLI), created in November 2026
(Asia/Shanghai); "today" in the harnesses is Monday 2026-11-23."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from core.cases import Case, Source
from core.plan import Plan
from core.ports import UnitOfWorkFactory
from core.services.units import sync_plan_units
from core.states import CaseState

TZ = ZoneInfo("Asia/Shanghai")


def _at(day: int, hour: int = 10) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=TZ)


# (number, created, classifier, final, cues): two conduct→procedure corrections (拖拉 in both),
# one agreed conduct, one "no area" → extortion, one agreed procedure, and one extortion→conduct
# in the week before (outside "weekly": 11-16..11-22).
ROWS: tuple[tuple[int, datetime, str | None, str, tuple[str, ...]], ...] = (
    (1, _at(17), "conduct", "procedure", ("拖拉", "窗口")),
    (2, _at(18), "conduct", "procedure", ("拖拉",)),
    (3, _at(18, 11), "conduct", "conduct", ("脸难看",)),
    (4, _at(19), None, "extortion", ()),
    (5, _at(20), "procedure", "procedure", ("推诿",)),
    (6, _at(10), "extortion", "conduct", ("窗口",)),
)


async def seed_classifier_cases(uow_factory: UnitOfWorkFactory, plan: Plan) -> None:
    """The rows above plus an office finding (the classifier never ran on it: not counted)."""
    await sync_plan_units(plan, uow_factory)
    async with uow_factory() as uow:
        for no, created, auto, final, cues in ROWS:
            await uow.cases.add(
                Case(
                    tracking_no=f"ZH-2026-{no:06d}",
                    state=CaseState.ASSIGNED,
                    source=Source.CITIZEN,
                    description=f"第{no}号投诉",
                    created_at=created,
                    area_auto=auto,
                    area_final=final,
                    confidence=0.5,
                    matched_cues=list(cues),
                )
            )
        await uow.cases.add(
            Case(
                tracking_no="ZH-2026-000099",
                state=CaseState.ASSIGNED,
                source=Source.INSPECTION,
                description="督查发现",
                created_at=_at(18),
                area_final="conduct",
            )
        )
        await uow.commit()
