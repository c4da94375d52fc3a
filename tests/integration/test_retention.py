"""Retention on a real database (issue 15): the periodic pass, past the retention date, leaves
the complainant's phone number in no table and their evidence files on no disk, while the
scoreboard, the digests and the exports count exactly what they counted before.

The statistics mix (tests/support/stats_seed.py) is the campaign; next to it a second
complainant, all of whose cases are closed, leaves a trail wherever a phone can end up: the
citizen row, the text of a complaint, a unit's answer, the evidence (Telegram file ids and a
local file), the messages sent to them, the audit trail, and a dialog draft in progress.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import JSON, String, Text, cast, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core.attachments import Attachment, AttachmentKind
from core.audit import AuditEntry
from core.calendar import WorkingDays
from core.cases import Case, CaseEvent, Satisfaction, Source, Visibility
from core.clock import FixedClock
from core.deadlines import DeadlineRules
from core.outbox import OutboxMessage
from core.plan import Plan
from core.ports import UnitOfWorkFactory
from core.retention import AUDIT_RETENTION_ERASE, RetentionPolicy
from core.services.retention import RetentionService
from core.states import Actor, CaseState
from core.stats import ExportFilter, Period
from storage.db import make_session_factory
from storage.evidence_fetch import EvidenceFetcher
from storage.evidence_store import EvidenceStore
from storage.models import (
    AttachmentRow,
    AuditRow,
    Base,
    CaseEventRow,
    CaseRow,
    CitizenRow,
    DialogUserDataRow,
    OutboxRow,
)
from storage.stats import StatsReader
from tests.support.stats_seed import CITIZEN_PHONE, CITIZEN_USER, TODAY, TZ, U1, Seeded, seed_mix

PHONE = "13912345678"  # what the scan looks for (the row stores it as +86...)
STORED_PHONE = "+86" + PHONE
USER = 777_001
WEEK = Period(TODAY - timedelta(days=7), TODAY - timedelta(days=1))
CAMPAIGN = Period(datetime(2026, 9, 1).date(), TODAY)
PASS_AT = datetime(2027, 3, 1, 3, 0, tzinfo=TZ)  # well past closed + 30 days
PHOTO = b"\xff\xd8\xff photo of the window's notice board"
SHA = hashlib.sha256(PHOTO).hexdigest()


@pytest.fixture
def rules() -> DeadlineRules:
    return DeadlineRules(WorkingDays(), "Asia/Shanghai")


@pytest.fixture
async def seeded(sql_uow: UnitOfWorkFactory, plan: Plan) -> Seeded:
    return await seed_mix(sql_uow, plan)


@pytest.fixture
def read_only(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return make_session_factory(engine, read_only=True)


@pytest.fixture
async def trail(
    seeded: Seeded,
    sql_uow: UnitOfWorkFactory,
    session_factory: async_sessionmaker[AsyncSession],
    tmp_path: Path,
) -> AsyncIterator[tuple[EvidenceStore, list[str]]]:
    """The second complainant's closed cases and everything that mentions them."""
    store = EvidenceStore(tmp_path / "evidence")
    assert await store.put(PHOTO) == SHA  # the office's copy, as the evidence fetch keeps it
    numbers: list[str] = []
    filed = datetime(2026, 11, 2, 9, tzinfo=TZ)
    async with sql_uow() as uow:
        await uow.users.upsert(USER, now=filed, chat_id=USER)
        citizen = await uow.citizens.get_or_create(USER, now=filed, phone=STORED_PHONE)
        for n, state in enumerate((CaseState.CLOSED, CaseState.REJECTED), start=1):
            case = Case(
                tracking_no=f"ZH-2026-9{n:05d}",
                state=state,
                source=Source.CITIZEN,
                description=f"窗口不给办, 我的电话 {PHONE}, 手机 139 1234 5678",
                created_at=filed,
                area_auto="conduct",
                area_final="conduct" if state is CaseState.CLOSED else None,
                confidence=0.9,
                citizen_id=citizen.id,
                anonymous=False,
                lead_unit_ids=[U1] if state is CaseState.CLOSED else [],
                target_text="东风路派出所",
                submission_key=f"{USER}:draft-{n}",
                closed_at=datetime(2026, 11, 10, 15, tzinfo=TZ) if state is CaseState.CLOSED else None,
                satisfaction=Satisfaction.SATISFIED if state is CaseState.CLOSED else None,
                satisfaction_comment=f"满意, 有事打{PHONE}" if state is CaseState.CLOSED else "",
            )
            await uow.cases.add(case)
            assert case.id is not None
            numbers.append(case.tracking_no)
            await uow.events.add_many(
                [
                    CaseEvent(case.id, filed, Actor.CITIZEN, str(USER), "submit", Visibility.PUBLIC),
                    CaseEvent(
                        case.id,
                        filed + timedelta(days=1),
                        Actor.LIAISON,
                        "2001",
                        "answer",
                        Visibility.PUBLIC,
                        text=f"已联系您 ({PHONE})",
                        data={"note": f"call {STORED_PHONE}"},
                    ),
                ]
            )
            await uow.attachments.add(
                Attachment(
                    file_id=f"AgACAgUAAx-{n}",
                    file_unique_id=f"AQAD-{n}",
                    kind=AttachmentKind.PHOTO,
                    at=filed,
                    case_id=case.id,
                    mime="image/jpeg",
                    size=len(PHOTO),
                    file_name=f"{PHONE}.jpg",
                    added_by=USER,
                )
            )
            await uow.outbox.add(
                OutboxMessage(
                    chat_id=USER,
                    method="sendMessage",
                    payload={"text_key": "cases.closed", "text_params": {"tracking_no": case.tracking_no}},
                    created_at=filed,
                    dedup_key=f"closed:{case.id}",
                )
            )
            await uow.audit.add(
                AuditEntry(
                    actor_id=9001,
                    at=filed,
                    action="case.note",
                    target=case.tracking_no,
                    details={"note": PHONE},
                )
            )
        await uow.commit()
    async with session_factory() as session:
        # both cases' photos are the same file: one on disk
        await session.execute(
            update(AttachmentRow)
            .values(sha256=SHA)
            .where(AttachmentRow.case_id.in_(select(CaseRow.id).where(CaseRow.tracking_no.in_(numbers))))
        )
        # a new filing in progress: its draft holds the phone the citizen shared again
        session.add(
            DialogUserDataRow(
                user_id=USER,
                data={"draft": {"phone": STORED_PHONE, "description": "又一件"}},
                updated_at=filed,
            )
        )
        await session.commit()
    yield store, numbers


async def _hits(session: AsyncSession, needle: str) -> list[str]:
    """Every text or JSON column of every table that contains ``needle``: table.column."""
    found = []
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            if not isinstance(column.type, String | Text | JSON) and "JSON" not in type(column.type).__name__:
                continue
            stmt = select(table.c[column.name]).where(cast(table.c[column.name], Text).contains(needle))
            if (await session.execute(stmt.limit(1))).first() is not None:
                found.append(f"{table.name}.{column.name}")
    return found


async def _figures(
    read_only: async_sessionmaker[AsyncSession], rules: DeadlineRules, plan: Plan
) -> list[object]:
    async with read_only() as session:
        reader = StatsReader(session, rules, plan)
        return [
            await reader.scoreboard(WEEK, TODAY),
            await reader.scoreboard(CAMPAIGN, TODAY),
            await reader.weekly_digest(TODAY),
            await reader.daily_digest(TODAY),
            await reader.public_stats(TODAY),
            await reader.count_cases(ExportFilter(CAMPAIGN)),
            await reader.count_events(ExportFilter(CAMPAIGN)),
        ]


def _service(uow: UnitOfWorkFactory, plan: Plan, store: EvidenceStore, **kw: Any) -> RetentionService:
    return RetentionService(
        uow=uow,
        clock=FixedClock(PASS_AT, TZ),
        policy=RetentionPolicy.for_plan(plan, 30),
        evidence=store,
        **kw,
    )


async def test_retention_leaves_no_phone_and_no_file_and_the_same_figures(
    trail: tuple[EvidenceStore, list[str]],
    sql_uow: UnitOfWorkFactory,
    session_factory: async_sessionmaker[AsyncSession],
    read_only: async_sessionmaker[AsyncSession],
    rules: DeadlineRules,
    plan: Plan,
) -> None:
    store, numbers = trail
    async with session_factory() as session:
        before_hits = await _hits(session, PHONE)
    # the trail is really there: the scan would see it
    assert {"citizens.phone", "cases.description", "case_events.text", "audit_log.details"} <= set(
        before_hits
    )
    assert "dialog_user_data.data" in before_hits and "attachments.file_name" in before_hits
    before = await _figures(read_only, rules, plan)
    assert store.exists(SHA)  # the file is really there: its absence below means something

    done = await _service(sql_uow, plan, store, batch_size=4).run_pass()

    assert set(numbers) <= set(done.cases)
    async with session_factory() as session:
        assert await _hits(session, PHONE) == []
        # nothing else ties the erased cases to the person either
        assert (await session.scalars(select(CitizenRow).where(CitizenRow.user_id == USER))).first() is None
        rows = (await session.scalars(select(CaseRow).where(CaseRow.tracking_no.in_(numbers)))).all()
        assert all(r.citizen_id is None and r.submission_key is None and r.identity_erased_at for r in rows)
        refs = (
            await session.scalars(
                select(CaseEventRow.actor_ref).where(
                    CaseEventRow.case_id.in_([r.id for r in rows]), CaseEventRow.actor == "citizen"
                )
            )
        ).all()
        assert refs and all(ref is None for ref in refs)
        messages = (await session.scalars(select(OutboxRow).where(OutboxRow.chat_id == USER))).all()
        assert not [m for m in messages if any(n in str(m.payload) for n in numbers)]
        evidence = (
            await session.scalars(
                select(AttachmentRow).where(AttachmentRow.case_id.in_([r.id for r in rows]))
            )
        ).all()
        assert len(evidence) == 2 and all(a.file_id == "" and a.added_by is None for a in evidence)
        assert all(a.sha256 is None for a in evidence)
        # the case is still there for the statistics: area, unit, dates, states, rating
        closed = next(r for r in rows if r.state == "closed")
        assert (closed.area_final, closed.satisfaction) == ("conduct", "satisfied")
        assert "窗口不给办" in closed.description
        # the seeded complainant still has open cases: their identity stays, for those only
        seeded = (await session.scalars(select(CitizenRow).where(CitizenRow.user_id == CITIZEN_USER))).one()
        assert seeded.phone == CITIZEN_PHONE
        kept = (await session.scalars(select(CaseRow.state).where(CaseRow.citizen_id == seeded.id))).all()
        assert kept and not {CaseState.CLOSED.value, CaseState.REJECTED.value} & set(kept)
        audit = (
            await session.scalars(select(AuditRow.target).where(AuditRow.action == AUDIT_RETENTION_ERASE))
        ).all()
        assert set(numbers) <= set(audit)
    assert not store.exists(SHA) and list(store.iter_files()) == []
    assert done.files == 1
    assert await _figures(read_only, rules, plan) == before

    # a second pass finds nothing left to do
    again = await _service(sql_uow, plan, store).run_pass()
    assert again.cases == []


async def test_nothing_is_erased_before_its_date(
    trail: tuple[EvidenceStore, list[str]],
    sql_uow: UnitOfWorkFactory,
    session_factory: async_sessionmaker[AsyncSession],
    plan: Plan,
) -> None:
    store, numbers = trail
    service = RetentionService(
        uow=sql_uow,
        clock=FixedClock(datetime(2026, 12, 9, 12, tzinfo=TZ), TZ),  # closed 11-10 + 30 days = 12-10
        policy=RetentionPolicy.for_plan(plan, 30),
        evidence=store,
    )
    done = await service.run_pass()
    assert numbers[0] not in done.cases
    async with session_factory() as session:
        assert "citizens.phone" in await _hits(session, PHONE)
    assert store.exists(SHA)


async def test_files_the_evidence_fetch_stored_are_gone_after_retention_but_a_shared_one_stays(
    trail: tuple[EvidenceStore, list[str]],
    sql_uow: UnitOfWorkFactory,
    session_factory: async_sessionmaker[AsyncSession],
    plan: Plan,
    tmp_path: Path,
) -> None:
    """The copies come from the fetch step itself (storage.evidence_fetch), not from the test:
    the erased cases' own photo leaves the disk; the same photo sent for a case whose
    complainant is kept stays, named by that case's attachment."""
    _, numbers = trail
    store = EvidenceStore(tmp_path / "fetched")
    own = b"\xff\xd8\xff only the erased cases' photo"
    files = {"AgACAgUAAx-1": own, "AgACAgUAAx-2": PHOTO, "kept-photo": PHOTO}
    async with session_factory() as session:
        # the trail's rows as the bot leaves them before the fetch: file ids, no copy yet
        await session.execute(update(AttachmentRow).values(sha256=None))
        kept_case = (
            await session.scalars(
                select(CaseRow.id).where(
                    CaseRow.citizen_id.is_not(None), CaseRow.state.not_in(["closed", "rejected"])
                )
            )
        ).first()
        assert kept_case is not None
        await session.commit()
    async with sql_uow() as uow:
        await uow.attachments.add(
            Attachment("kept-photo", "AQAD-kept", AttachmentKind.PHOTO, PASS_AT, case_id=kept_case)
        )
        await uow.commit()

    async def download(file_id: str) -> bytes:
        return files[file_id]

    fetched = await EvidenceFetcher(session_factory, store, FixedClock(PASS_AT, TZ)).run(download)
    assert fetched.fetched == 3
    assert store.exists(hashlib.sha256(own).hexdigest()) and store.exists(SHA)

    done = await _service(sql_uow, plan, store).run_pass()

    assert set(numbers) <= set(done.cases) and done.files == 1
    assert not store.exists(hashlib.sha256(own).hexdigest())
    assert store.read(SHA) == PHOTO
    async with session_factory() as session:
        named = (
            await session.scalars(select(AttachmentRow.sha256).where(AttachmentRow.sha256.is_not(None)))
        ).all()
    assert named == [SHA]  # only the kept case's attachment still names a file
