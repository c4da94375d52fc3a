"""Good practices and long-term measures on SQLite and PostgreSQL: stored and read back whole
(evidence files, history with who and when), listed oldest first, by unit and by status, and a
status change appends to the history."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from core.attachments import AttachmentKind
from core.measures import Evidence, GoodPractice, Measure, MeasureChange, MeasureStatus
from core.plan import Plan
from core.ports import UnitOfWorkFactory
from core.services.units import sync_plan_units

AT = datetime(2014, 11, 3, 2, 0, tzinfo=UTC)
DOC = Evidence("doc1", "udoc1", AttachmentKind.DOCUMENT, "application/pdf", "首问负责制度.pdf", 1234)
PHOTO = Evidence("ph1", "uph1", AttachmentKind.PHOTO, "image/jpeg", None, None)


async def test_practices_round_trip_are_listed_by_unit_and_remember_sharing(
    uow_factory: UnitOfWorkFactory, plan: Plan
) -> None:
    await sync_plan_units(plan, uow_factory)
    first = GoodPractice(
        "finance_bureau", "首问负责制", "第一个接待的人负责到底", AT + timedelta(days=1),
        recorded_by=900_001, case_numbers=["ZH-2014-000001"], report_ids=[3],
    )  # fmt: skip
    async with uow_factory() as uow:
        stored = await uow.practices.add_practice(first)
        await uow.practices.add_practice(GoodPractice("audit_bureau", "一次告知", "清单公开", AT))
        await uow.commit()
    assert stored.id is not None
    async with uow_factory() as uow:
        everything = await uow.practices.list_practices()
        [back] = await uow.practices.list_practices(unit_id="finance_bureau")
        back.shared_at, back.shared_to = AT + timedelta(days=2), "all"
        await uow.practices.update_practice(back)
        await uow.commit()
    assert [p.unit_id for p in everything] == ["audit_bureau", "finance_bureau"]
    async with uow_factory() as uow:
        again = await uow.practices.get_practice(stored.id)
        assert await uow.practices.get_practice(9999) is None
    assert again == GoodPractice(
        "finance_bureau", "首问负责制", "第一个接待的人负责到底", AT + timedelta(days=1),
        recorded_by=900_001, case_numbers=["ZH-2014-000001"], report_ids=[3],
        shared_at=AT + timedelta(days=2), shared_to="all", id=stored.id,
    )  # fmt: skip


async def test_measures_keep_their_evidence_and_history(uow_factory: UnitOfWorkFactory, plan: Plan) -> None:
    await sync_plan_units(plan, uow_factory)
    created = MeasureChange(MeasureStatus.PLANNED, AT, 800_030)
    measure = Measure(
        "finance_bureau", "首问负责制度", date(2014, 12, 31), AT, created_by=800_030,
        description="各窗口统一执行", updated_at=AT, history=[created],
    )  # fmt: skip
    async with uow_factory() as uow:
        stored = await uow.practices.add_measure(measure)
        await uow.practices.add_measure(
            Measure("audit_bureau", "限时办结", date(2014, 12, 1), AT + timedelta(hours=1))
        )
        await uow.commit()
    assert stored.id is not None and stored.history == [created]
    done = MeasureChange(
        MeasureStatus.DONE, AT + timedelta(days=5), 800_030, MeasureStatus.PLANNED, "按时完成"
    )
    async with uow_factory() as uow:
        current = await uow.practices.get_measure(stored.id, for_update=True)
        assert current is not None
        current.status, current.updated_at = MeasureStatus.DONE, done.at
        current.evidence = [DOC, PHOTO]
        await uow.practices.update_measure(current, done)
        await uow.commit()
    async with uow_factory() as uow:
        back = await uow.practices.get_measure(stored.id)
        open_ones = await uow.practices.list_measures(
            statuses=(MeasureStatus.PLANNED, MeasureStatus.IN_PROGRESS)
        )
        finance = await uow.practices.list_measures(unit_id="finance_bureau")
        everything = await uow.practices.list_measures()
        assert await uow.practices.get_measure(9999) is None
    assert back is not None
    assert back.status is MeasureStatus.DONE and back.evidence == [DOC, PHOTO]
    assert back.history == [created, done] and back.due == date(2014, 12, 31)
    assert back.description == "各窗口统一执行" and back.created_by == 800_030
    assert [m.unit_id for m in open_ones] == ["audit_bureau"]
    assert [m.id for m in finance] == [stored.id] and finance[0].history == [created, done]
    assert [m.unit_id for m in everything] == ["finance_bureau", "audit_bureau"]
