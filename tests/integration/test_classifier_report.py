"""storage.classifier_report on SQLite and PostgreSQL: the period, the source and the state
select the rows; the classifier's pick, the final area and the cues come back as stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.cases import Case, Source
from core.classifier_report import build_report
from core.plan import Plan
from core.ports import UnitOfWorkFactory
from core.services.units import sync_plan_units
from core.states import CaseState
from storage.classifier_report import decided_cases

START = datetime(2026, 11, 1, 1, 0, tzinfo=UTC)
END = START + timedelta(days=7)


def _case(
    no: int,
    at: datetime,
    auto: str | None,
    final: str | None,
    *,
    state: CaseState = CaseState.ASSIGNED,
    source: Source = Source.CITIZEN,
    cues: tuple[str, ...] = (),
) -> Case:
    return Case(
        tracking_no=f"ZH-2026-{no:06d}",
        state=state,
        source=source,
        description=f"第{no}号",
        created_at=at,
        area_auto=auto,
        area_final=final,
        confidence=0.4,
        matched_cues=list(cues),
    )


async def test_decided_cases_period_source_and_state(
    uow_factory: UnitOfWorkFactory, session_factory: async_sessionmaker[AsyncSession], plan: Plan
) -> None:
    await sync_plan_units(plan, uow_factory)
    rows = [
        _case(1, START, "conduct", "procedure", cues=("拖拉", "窗口")),
        _case(2, START + timedelta(hours=1), "conduct", "conduct", cues=("态度差",)),
        _case(3, START + timedelta(days=2), None, "extortion", state=CaseState.CLOSED),
        _case(4, START - timedelta(seconds=1), "conduct", "procedure"),  # before the period
        _case(5, END, "conduct", "procedure"),  # the end is exclusive
        _case(6, START, None, "conduct", source=Source.INSPECTION),  # office finding
        _case(7, START, "conduct", "conduct", state=CaseState.DRAFT),
        _case(8, START, "procedure", None, state=CaseState.TRIAGE),  # not decided yet
    ]
    async with uow_factory() as uow:
        for case in rows:
            await uow.cases.add(case)
        await uow.commit()
    async with session_factory() as session:
        got = await decided_cases(session, START, END)
    assert [r.tracking_no for r in got] == ["ZH-2026-000001", "ZH-2026-000002", "ZH-2026-000003"]
    assert (got[0].area_auto, got[0].area_final, got[0].matched_cues) == (
        "conduct",
        "procedure",
        ("拖拉", "窗口"),
    )
    assert got[2].area_auto is None and got[2].confidence == 0.4
    report = build_report(got, [a.id for a in plan.areas])
    assert (report.total, report.agreed, report.cell("conduct", "procedure")) == (3, 1, 1)
