"""The report pages' queries on a migrated SQLite database: the audit trail's seek pages and
filters, and the campaign page's figures against the statistics the chat already shows."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.audit import AuditEntry
from core.audit_view import AuditCursor, AuditFilter
from core.calendar import WorkingDays
from core.campaign_view import DeadlineOutcome
from core.deadlines import DeadlineRules
from core.plan import Plan
from core.services.campaign import AUDIT_OPEN_PHASE
from core.stats import Period
from storage.audit_view import AuditReader
from storage.campaign_view import ProgressReader
from storage.db import make_engine, make_session_factory
from storage.stats import StatsReader
from storage.uow import sql_uow_factory
from tests.support.stats_seed import TODAY, seed_mix

TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
OFFICE_A, OFFICE_B = 300_001, 300_002


@pytest.fixture
async def factory(migrated_sqlite_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(migrated_sqlite_url)
    yield make_session_factory(engine)
    await engine.dispose()


def _entries() -> list[AuditEntry]:
    """130 entries over 65 minutes, two per minute (so equal times are ordered by id), two
    actors, three actions, targets cycling over five cases."""
    out = []
    for i in range(130):
        out.append(
            AuditEntry(
                actor_id=OFFICE_A if i % 3 else OFFICE_B,
                at=T0 + timedelta(minutes=i // 2),
                action=("case.route", "case.view", "broadcast")[i % 3],
                target=f"ZH-2026-{i % 5:06d}",
                details={"n": i},
            )
        )
    return out


async def _all_pages(reader: AuditReader, flt: AuditFilter, limit: int) -> tuple[list[int], int]:
    seen: list[int] = []
    after: AuditCursor | None = None
    pages = 0
    while True:
        page = await reader.page(flt, after=after, limit=limit)
        pages += 1
        seen += [int(e.details["n"]) for e in page.entries]  # type: ignore[call-overload]
        if page.next is None:
            return seen, pages
        assert len(page.entries) == limit
        after = page.next


async def test_audit_pages_follow_each_other_newest_first_without_gaps_or_repeats(
    factory: async_sessionmaker[AsyncSession],
) -> None:
    entries = _entries()
    async with sql_uow_factory(factory)() as uow:
        await uow.audit.add_many(entries)
        await uow.commit()
    async with factory() as session:
        reader = AuditReader(session, TZ)
        seen, pages = await _all_pages(reader, AuditFilter(), 50)
        assert pages == 3
        assert seen == list(range(129, -1, -1))  # newest first; same minute: the later id first
        # a cursor from a link ("...after=<at>_<id>") carries on where the page ended
        first = await reader.page(AuditFilter(), limit=50)
        assert first.next is not None
        again = await reader.page(AuditFilter(), after=AuditCursor.decode(first.next.encode()), limit=50)
        assert [e.details["n"] for e in again.entries] == list(range(79, 29, -1))


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        (AuditFilter(actor_id=OFFICE_B), [i for i in range(130) if i % 3 == 0]),
        (AuditFilter(action="case.view"), [i for i in range(130) if i % 3 == 1]),
        (AuditFilter(target="ZH-2026-000003"), [i for i in range(130) if i % 5 == 3]),
        (AuditFilter(actor_id=OFFICE_A, action="broadcast"), [i for i in range(130) if i % 3 == 2]),
        (AuditFilter(action="case.route", target="ZH-2026-000000"), [i for i in range(130) if i % 15 == 0]),
        (AuditFilter(action="nothing.like.this"), []),
    ],
)
async def test_audit_filters_narrow_every_page(
    factory: async_sessionmaker[AsyncSession], flt: AuditFilter, expected: list[int]
) -> None:
    async with sql_uow_factory(factory)() as uow:
        await uow.audit.add_many(_entries())
        await uow.commit()
    async with factory() as session:
        seen, _ = await _all_pages(AuditReader(session, TZ), flt, 7)
    assert seen == sorted(expected, reverse=True)


async def test_the_audit_period_is_in_local_days(factory: async_sessionmaker[AsyncSession]) -> None:
    # 15:59 and 16:00 UTC fall either side of midnight in Shanghai
    entries = [
        AuditEntry(OFFICE_A, datetime(2026, 11, 21, 15, 59, tzinfo=UTC), "case.view", "ZH-1", {"n": 1}),
        AuditEntry(OFFICE_A, datetime(2026, 11, 21, 16, 0, tzinfo=UTC), "case.view", "ZH-1", {"n": 2}),
    ]  # fmt: skip
    async with sql_uow_factory(factory)() as uow:
        await uow.audit.add_many(entries)
        await uow.commit()
    async with factory() as session:
        reader = AuditReader(session, TZ)
        day21 = await reader.page(AuditFilter(period=Period.day(date(2026, 11, 21))))
        day22 = await reader.page(AuditFilter(period=Period.day(date(2026, 11, 22))))
        assert [e.details["n"] for e in day21.entries] == [1]
        assert [e.details["n"] for e in day22.entries] == [2]
        assert await reader.actions() == ["case.view"]


async def test_campaign_progress_agrees_with_the_chats_statistics(
    factory: async_sessionmaker[AsyncSession], plan: Plan
) -> None:
    await seed_mix(sql_uow_factory(factory), plan)
    rules = DeadlineRules(WorkingDays(), TZ)
    period = Period(date(2026, 8, 1), TODAY)
    async with make_session_factory(factory.kw["bind"], read_only=True)() as session:
        progress = await ProgressReader(session, rules, plan).progress(period, TODAY)
        stats = StatsReader(session, rules, plan)
        totals = await stats.totals(period, TODAY)
        coverage = await stats.self_reports(TODAY)
    on_time = progress.deadlines.total(DeadlineOutcome.ON_TIME.value)
    outcomes = [o for o in DeadlineOutcome if o is not DeadlineOutcome.RUNNING]
    matured = sum(progress.deadlines.total(o.value) for o in outcomes)
    assert on_time == totals.answered_on_time
    assert matured == totals.answer_due
    assert sum(progress.received.total(k) for k in progress.received.keys) == totals.received
    assert progress.received_total == 34  # every seeded case but the draft (as /stats says)
    assert progress.self_reports == coverage
    assert [p.status for p in progress.phases] == ["closed"] * len(plan.phases)  # the 2014 plan


async def test_a_phase_the_office_opened_early_shows_as_running(
    factory: async_sessionmaker[AsyncSession], plan: Plan
) -> None:
    rebased = plan.rebase(TODAY + timedelta(days=10))  # every phase still to come
    later = rebased.phases[1]
    async with sql_uow_factory(factory)() as uow:
        await uow.audit.add(AuditEntry(OFFICE_A, T0, AUDIT_OPEN_PHASE, later.id, {}))
        await uow.commit()
    rules = DeadlineRules(WorkingDays(), TZ)
    async with factory() as session:
        progress = await ProgressReader(session, rules, rebased).progress(Period(TODAY, TODAY), TODAY)
    by_id = {p.phase_id: p for p in progress.phases}
    assert by_id[later.id].status == "open" and by_id[later.id].opened_early
    assert by_id[later.id].days_left == (later.end - TODAY).days
    assert all(p.status == "upcoming" and not p.opened_early for k, p in by_id.items() if k != later.id)
