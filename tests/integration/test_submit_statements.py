"""What a citizen's submit costs the database (issue 11), on SQLite and PostgreSQL: a procedure
complaint routed to two lead units and two assisting units, one liaison each, no evidence, is
filed in at most 8 SQL statements (it took 28), and stores exactly what it stored before.

How statements are counted: every statement the engine hands to the driver, as an engine
``before_cursor_execute`` listener sees them, except transaction control (BEGIN, COMMIT,
ROLLBACK, SAVEPOINT, RELEASE). The listener sees SQLite's ``BEGIN IMMEDIATE`` (storage.db
issues it) but no COMMIT, and neither on PostgreSQL (asyncpg runs them outside the cursor), so
leaving them out counts the same thing on both. An executemany (several rows of one INSERT
sent in one call) counts once, as the listener sees it once.

The expected rows below were recorded from the code as it was before the change (the case
reloaded and updated per transition, a liaison query and an INSERT per unit)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Table, event, select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.calendar import ChineseCalendarSource, WorkingDays
from core.cases import Case, Source, Visibility
from core.clock import FixedClock
from core.deadlines import DeadlineRules
from core.directory import UnitRecord
from core.errors import RateLimited
from core.plan import Plan
from core.ports import UnitOfWorkFactory
from core.services.complaints import ComplaintDraft, ComplaintService
from core.states import Actor, CaseState
from storage.models import OutboxRow

SH = ZoneInfo("Asia/Shanghai")
MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=SH)
AT = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # MONDAY, as the database gives it back
CITIZEN = 500_001
OFFICE_CHAT = -100_777
MAX_STATEMENTS = 8
TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")
DISCIPLINE, SUPERVISION = "discipline_commission", "supervision_bureau"  # procedure's leads
ORGANS, CENTER = "organs_work_committee", "government_services_center"  # ... and assistants
DESCRIPTION = "窗口让我来回跑了五趟，每次都说材料不全"
DRAFT = ComplaintDraft(
    description=DESCRIPTION,
    area="procedure",
    area_auto="procedure",
    confidence=0.9,
    place="一楼大厅",
    occurred="上周",
    submission_key="draft-1",
)


def liaison_of(plan: Plan, unit_id: str) -> int:
    """One liaison per plan unit, user id by the unit's place in the plan."""
    return 800_000 + [u.id for u in plan.units].index(unit_id)


@contextmanager
def counting(engine: AsyncEngine) -> Iterator[list[str]]:
    """The statements sent while the block runs, transaction control left out."""
    seen: list[str] = []

    def listen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not statement.lstrip().upper().startswith(TRANSACTION_CONTROL):
            seen.append(" ".join(statement.split()))

    event.listen(engine.sync_engine, "before_cursor_execute", listen)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", listen)


async def service(plan: Plan, sql_uow: UnitOfWorkFactory, *, daily_limit: int = 5) -> ComplaintService:
    """The complaint service over a database holding the plan's units, a liaison each."""
    async with sql_uow() as uow:
        await uow.units.sync([UnitRecord(u.id, u.name, u.kind) for u in plan.units])
        for unit in plan.units:
            user_id = liaison_of(plan, unit.id)
            await uow.users.upsert(user_id, now=MONDAY, chat_id=user_id)
            await uow.liaisons.add(user_id, unit.id, now=MONDAY)
        await uow.commit()
    return ComplaintService(
        uow=sql_uow,
        plan=plan,
        clock=FixedClock(MONDAY, SH),
        deadlines=DeadlineRules(WorkingDays(ChineseCalendarSource()), SH),
        daily_limit=daily_limit,
        office_chat_id=OFFICE_CHAT,
    )


async def outbox_rows(engine: AsyncEngine) -> list[tuple[object, ...]]:
    t = cast(Table, OutboxRow.__table__)
    columns = ("chat_id", "method", "payload", "dedup_key", "created_at", "not_before", "state", "attempts")
    stmt = select(*(t.c[name] for name in columns)).order_by(t.c.id)
    async with engine.connect() as conn:
        return [tuple(row) for row in (await conn.execute(stmt)).all()]


def expected_outbox(plan: Plan, case_id: int) -> list[tuple[object, ...]]:
    card = {
        "tracking_no": "ZH-2026-000001",
        "case_area": "procedure",
        "lead_units": [DISCIPLINE, SUPERVISION],
        "description": DESCRIPTION,
        "target": "",
        "place": "一楼大厅",
        "occurred": "上周",
        "sign_due_date": "2026-11-24",
        "answer_due_date": "2026-11-30",
    }
    told = [
        (DISCIPLINE, "notify.unit.new_case", "new"),
        (SUPERVISION, "notify.unit.new_case", "new"),
        (ORGANS, "notify.unit.copied", "cc"),
        (CENTER, "notify.unit.copied", "cc"),
    ]
    rows: list[tuple[object, ...]] = []
    for unit_id, key, prefix in told:
        chat = liaison_of(plan, unit_id)
        payload = {"text_key": key, "text_params": card, "user_id": chat}
        rows.append((chat, "sendMessage", payload, f"{prefix}:{case_id}:{chat}", AT, AT, "pending", 0))
    return rows


async def test_a_routed_complaint_is_filed_in_at_most_eight_statements_storing_what_it_did(
    plan: Plan, sql_uow: UnitOfWorkFactory, engine: AsyncEngine
) -> None:
    complaints = await service(plan, sql_uow)

    with counting(engine) as statements:
        filed = await complaints.file(CITIZEN, DRAFT)

    assert len(statements) <= MAX_STATEMENTS, "\n".join(statements)
    if engine.dialect.name == "postgresql":
        # the user, the number, the case with its citizen, units, history and audit entries
        # (one statement), the units' liaisons, the notices
        assert len(statements) == 5, "\n".join(statements)
    case_id = filed.case.id
    assert case_id is not None
    async with sql_uow() as uow:
        stored = await uow.cases.get(case_id)
        history = await uow.events.list(case_id, include_internal=True)
        citizen = await uow.citizens.get_by_user(CITIZEN)
    assert citizen is not None and citizen.phone is None
    assert stored == Case(
        tracking_no="ZH-2026-000001",
        state=CaseState.ASSIGNED,
        source=Source.CITIZEN,
        description=DESCRIPTION,
        created_at=AT,
        area_auto="procedure",
        area_final="procedure",
        confidence=0.9,
        citizen_id=citizen.id,
        anonymous=True,
        place="一楼大厅",
        occurred="上周",
        lead_unit_ids=[DISCIPLINE, SUPERVISION],
        assist_unit_ids=[ORGANS, CENTER],
        assigned_at=AT,
        sign_due=date(2026, 11, 24),
        answer_due=date(2026, 11, 30),
        submission_key=f"{CITIZEN}:draft-1",
        id=case_id,
    )
    assert [(e.kind, e.at, e.actor, e.actor_ref, e.visibility, e.text, e.data) for e in history] == [
        (
            "submit",
            AT,
            Actor.CITIZEN,
            str(CITIZEN),
            Visibility.PUBLIC,
            "",
            {"from": "draft", "to": "submitted", "evidence": 0},
        ),
        (
            "route",
            AT,
            Actor.SYSTEM,
            "system",
            Visibility.PUBLIC,
            "",
            {
                "from": "submitted",
                "to": "assigned",
                "lead": [DISCIPLINE, SUPERVISION],
                "assist": [ORGANS, CENTER],
            },
        ),
    ]
    assert await outbox_rows(engine) == expected_outbox(plan, case_id)
    assert filed.routing.lead_unit_ids == (DISCIPLINE, SUPERVISION) and not filed.again


async def test_the_same_confirm_again_files_nothing_and_returns_the_first_case(
    plan: Plan, sql_uow: UnitOfWorkFactory, engine: AsyncEngine
) -> None:
    complaints = await service(plan, sql_uow)
    first = await complaints.file(CITIZEN, DRAFT)
    assert first.case.id is not None
    before = await outbox_rows(engine)

    with counting(engine) as statements:
        again = await complaints.file(CITIZEN, DRAFT)

    assert again.again and again.case.id == first.case.id
    assert again.case.tracking_no == "ZH-2026-000001" and again.routing == first.routing
    assert len(statements) <= MAX_STATEMENTS, "\n".join(statements)
    assert await outbox_rows(engine) == before
    async with sql_uow() as uow:
        assert len(await uow.events.list(first.case.id, include_internal=True)) == 2
        assert await uow.cases.get_by_tracking_no("ZH-2026-000002") is None
    # the number the repeated press took went back with its rollback: the next case gets it
    other = await complaints.file(CITIZEN, replace(DRAFT, submission_key="draft-2"))
    assert other.case.tracking_no == "ZH-2026-000002"


async def test_over_the_daily_limit_nothing_is_stored_and_no_number_is_used(
    plan: Plan, sql_uow: UnitOfWorkFactory, engine: AsyncEngine
) -> None:
    complaints = await service(plan, sql_uow, daily_limit=1)
    await complaints.file(CITIZEN, DRAFT)
    before = await outbox_rows(engine)

    with pytest.raises(RateLimited) as refused:
        await complaints.file(CITIZEN, replace(DRAFT, submission_key="draft-2"))

    assert refused.value.params == {"limit": 1}
    assert await outbox_rows(engine) == before
    async with sql_uow() as uow:
        assert await uow.cases.get_by_tracking_no("ZH-2026-000002") is None
        # the refused filing's number came back
        assert await uow.counters.next(plan.campaign.case_prefix, 2026) == 2


async def test_two_presses_of_the_same_confirm_at_once_file_one_case(
    plan: Plan, sql_uow: UnitOfWorkFactory, engine: AsyncEngine
) -> None:
    # the unique submission key stays the guard when the two overlap: the second stores
    # nothing and answers with the first one's case (no error for the citizen)
    complaints = await service(plan, sql_uow)

    results = await asyncio.gather(complaints.file(CITIZEN, DRAFT), complaints.file(CITIZEN, DRAFT))

    assert sorted(r.again for r in results) == [False, True]
    assert len({r.case.id for r in results}) == 1
    async with sql_uow() as uow:
        assert await uow.cases.get_by_tracking_no("ZH-2026-000002") is None
    assert len(await outbox_rows(engine)) == 4
