"""``python -m bot tick`` as a real process on a migrated SQLite database, and the periodic job
as the running bot schedules it."""

from __future__ import annotations

import asyncio
import hashlib
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, select

from bot.cli import main
from bot.tick import PERIODIC_INTERVAL, PERIODIC_JOB_NAME
from core.calendar import WorkingDays
from core.cases import Case, Source
from core.clock import FixedClock
from core.deadlines import DeadlineRules
from core.directory import UnitRecord
from core.plan import Plan
from core.ports import UnitOfWorkFactory
from core.states import CaseState
from storage.db import make_engine, make_session_factory
from storage.evidence_store import EvidenceStore
from storage.models import AttachmentRow, CaseEventRow, OutboxRow
from storage.uow import sql_uow_factory
from tests.e2e.conftest import TOKEN, clean_env, run_bot
from tests.support.botapi_standin import BotApiStandin
from tests.support.harness import running_harness

TZ = ZoneInfo("Asia/Shanghai")
NOW = "2026-10-09T10:00:00+08:00"  # a Friday, the second working day after National Day
TODAY = date(2026, 10, 9)
OFFICE_CHAT = -100777
LIAISON_A, LIAISON_B, CITIZEN = 2001, 2002, 1001
LEADS = ["discipline_commission", "supervision_bureau"]


@dataclass(frozen=True, slots=True)
class Outbox:
    chat_id: int
    text_key: str  # "" for rows rendered elsewhere (the digest's text, chart, workbook)
    dedup_key: str | None
    not_before: datetime
    state: str

    @property
    def is_digest(self) -> bool:
        return (self.dedup_key or "").startswith("digest:")


async def seed(uow_factory: UnitOfWorkFactory, plan: Plan, rules: DeadlineRules) -> dict[str, int]:
    """Units, two lead liaisons, a citizen and five cases in every situation the pass meets."""
    t0 = datetime(2026, 9, 20, 9, 0, tzinfo=TZ)
    ids: dict[str, int] = {}
    async with uow_factory() as uow:
        await uow.units.sync([UnitRecord(id=u.id, name=u.name, kind=u.kind) for u in plan.units])
        for user_id, unit_id in ((LIAISON_A, LEADS[0]), (LIAISON_B, LEADS[1])):
            await uow.users.upsert(user_id, now=t0, chat_id=user_id)
            await uow.liaisons.add(user_id, unit_id, now=t0)
        await uow.users.upsert(CITIZEN, now=t0, chat_id=CITIZEN)
        citizen = await uow.citizens.get_or_create(CITIZEN, now=t0)
        dues = {
            "overdue": rules.wd.previous_workday(TODAY),  # 10-08: 督办 today
            "escalated": date(2026, 9, 24),  # 5 working days overdue: on the notice list
            "blue": rules.wd.next_workday(TODAY),  # the make-up Saturday 10-10
            "not_due": date(2026, 10, 20),
            "answered": date(2026, 10, 8),
        }
        for n, (name, due) in enumerate(dues.items(), start=1):
            case = Case(
                tracking_no=f"ZH-2026-{n:06d}",
                state=CaseState.ANSWERED if name == "answered" else CaseState.SIGNED,
                source=Source.CITIZEN,
                description="窗口要求重复提交材料",
                created_at=t0,
                area_auto="procedure",
                area_final="procedure",
                citizen_id=citizen.id,
                lead_unit_ids=list(LEADS),
                assigned_at=t0,
                sign_due=due - timedelta(days=7),
                signed_at=t0,
                answer_due=due,
                answered_at=datetime(2026, 10, 5, 16, 0, tzinfo=TZ) if name == "answered" else None,
            )
            await uow.cases.add(case)
            assert case.id is not None
            ids[name] = case.id
        await uow.commit()
    assert rules.overdue_by(dues["escalated"], TODAY) == 5
    return ids


async def read_outbox(url: str) -> list[Outbox]:
    engine = make_engine(url)
    try:
        async with make_session_factory(engine)() as session:
            rows = (await session.execute(select(OutboxRow).order_by(OutboxRow.id))).scalars().all()
            return [
                Outbox(r.chat_id, r.payload.get("text_key", ""), r.dedup_key, r.not_before, r.state)
                for r in rows
            ]
    finally:
        await engine.dispose()


async def event_kinds(url: str, case_id: int) -> list[str]:
    engine = make_engine(url)
    try:
        async with make_session_factory(engine)() as session:
            stmt = select(CaseEventRow.kind).where(CaseEventRow.case_id == case_id).order_by(CaseEventRow.id)
            return list((await session.execute(stmt)).scalars())
    finally:
        await engine.dispose()


def summary_of(stdout: str) -> dict[str, int]:
    line = next(line for line in stdout.splitlines() if line.startswith("tick at "))
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", line)}


async def seeded_db(url: str, plan: Plan) -> dict[str, int]:
    engine = make_engine(url)
    try:
        uow = sql_uow_factory(make_session_factory(engine))
        return await seed(uow, plan, DeadlineRules(WorkingDays(), TZ))
    finally:
        await engine.dispose()


async def test_tick_sends_the_days_reminders_once(
    migrated_sqlite_url: str, plan: Plan, tmp_path: Path
) -> None:
    ids = await seeded_db(migrated_sqlite_url, plan)
    env = clean_env(
        DATABASE_URL=migrated_sqlite_url, OFFICE_CHAT_ID=str(OFFICE_CHAT), TIMEZONE="Asia/Shanghai"
    )

    first = await run_bot("tick", "--now", NOW, env=env, cwd=tmp_path)
    assert first.code == 0, first.stderr
    assert "tick at 2026-10-09T10:00:00+08:00" in first.stdout
    assert summary_of(first.stdout) == {
        "blue": 1,
        "yellow": 0,
        "supervision": 2,
        "escalated": 1,
        "leaders_told": 0,
        "follow_up_closed": 1,
        "phases_announced": 0,
        "phase_reminders": 0,
        "rectification_reminders": 0,
        "measure_reminders": 0,  # issue 14
        "digests": 1,  # the daily digest is due from 08:00 (its rows are the digest job's)
        "notices": 12,
        "errors": 0,
    }
    assert "BOT_TOKEN is not set" in first.stdout  # nothing can be delivered without a token
    assert "Traceback" not in first.stderr

    rows = await read_outbox(migrated_sqlite_url)
    digest = [r for r in rows if r.is_digest]
    assert digest and all(r.chat_id == OFFICE_CHAT for r in digest)
    assert {(r.dedup_key or "").rsplit(":", 1)[0] for r in digest} >= {"digest:daily:2026-10-09"}
    reminders = [r for r in rows if not r.is_digest]
    by_key: dict[str, set[int]] = {}
    for row in rows:
        assert row.state == "pending" and row.not_before == datetime.fromisoformat(NOW)
    for row in reminders:
        by_key.setdefault(row.text_key, set()).add(row.chat_id)
    assert by_key == {
        "reminder.blue": {LIAISON_A, LIAISON_B},
        "supervision.notice": {LIAISON_A, LIAISON_B},
        "supervision.office_copy": {OFFICE_CHAT},
        "supervision.escalated_unit": {LIAISON_A, LIAISON_B},
        "supervision.escalated_office": {OFFICE_CHAT},
        "reminder.follow_up_closed": {CITIZEN},
    }
    assert len(reminders) == 12 and len({r.dedup_key for r in reminders}) == 12
    assert f"rem:{ids['overdue']}:answer:supervision:2026-10-08:office" in {r.dedup_key for r in reminders}
    assert await event_kinds(migrated_sqlite_url, ids["escalated"]) == ["supervision", "escalated"]
    assert await event_kinds(migrated_sqlite_url, ids["answered"]) == ["close"]

    second = await run_bot("tick", "--now", NOW, env=env, cwd=tmp_path)
    assert second.code == 0, second.stderr
    assert set(summary_of(second.stdout).values()) == {0}
    assert await read_outbox(migrated_sqlite_url) == rows
    assert await event_kinds(migrated_sqlite_url, ids["escalated"]) == ["supervision", "escalated"]


async def test_tick_with_a_token_delivers_what_it_queued(
    migrated_sqlite_url: str, plan: Plan, tmp_path: Path
) -> None:
    await seeded_db(migrated_sqlite_url, plan)
    async with BotApiStandin(TOKEN) as api:
        env = clean_env(
            DATABASE_URL=migrated_sqlite_url,
            OFFICE_CHAT_ID=str(OFFICE_CHAT),
            BOT_TOKEN=TOKEN,
            TELEGRAM_API_URL=api.api_url,
        )
        result = await run_bot("tick", "--now", NOW, env=env, cwd=tmp_path)
        assert result.code == 0, result.stderr
        assert "delivery: sent " in result.stdout
        texts = {chat: [m.text for m in messages] for chat, messages in api.messages.items()}
    assert set(texts) == {LIAISON_A, LIAISON_B, OFFICE_CHAT, CITIZEN}
    # each lead liaison: two supervision notices, the notice-list one and the blue warning
    assert [t.split("\n")[0] for t in texts[LIAISON_A]].count("🔴 <b>督办通知</b>") == 2
    assert len(texts[LIAISON_A]) == len(texts[LIAISON_B]) == 4
    office = [t for t in texts[OFFICE_CHAT] if "ZH-2026-" in t]
    assert len(office) >= 3 and "ZH-2026-000002" in "\n".join(office)
    assert all("{" not in t for chat in texts.values() for t in chat), texts  # every text filled
    # (the digest's rows are the digest job's and the sender's business)
    assert {r.state for r in await read_outbox(migrated_sqlite_url) if not r.is_digest} == {"sent"}


async def test_tick_also_fetches_the_evidence_into_the_store(
    migrated_sqlite_url: str, plan: Plan, tmp_path: Path
) -> None:
    ids = await seeded_db(migrated_sqlite_url, plan)
    photo = b"\xff\xd8\xff\xe0 the queue at window 3"
    engine = make_engine(migrated_sqlite_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                insert(AttachmentRow).values(
                    case_id=ids["escalated"], file_id="photo-1-m", file_unique_id="uph1m", kind="photo",
                    at=datetime(2026, 10, 8, 9, 0, tzinfo=TZ), added_by=CITIZEN,
                )
            )  # fmt: skip
    finally:
        await engine.dispose()
    evidence = tmp_path / "evidence"
    async with BotApiStandin(TOKEN) as api:
        api.add_file("photo-1-m", photo, "photos/uph1m.jpg")
        env = clean_env(
            DATABASE_URL=migrated_sqlite_url,
            OFFICE_CHAT_ID=str(OFFICE_CHAT),
            BOT_TOKEN=TOKEN,
            TELEGRAM_API_URL=api.api_url,
            EVIDENCE_DIR=str(evidence),
        )
        result = await run_bot("tick", "--now", NOW, env=env, cwd=tmp_path)
    assert result.code == 0, result.stderr
    assert "evidence: fetched 1, to retry 0, given up 0" in result.stdout
    sha = hashlib.sha256(photo).hexdigest()
    assert EvidenceStore(evidence).read(sha) == photo
    engine = make_engine(migrated_sqlite_url)
    try:
        async with engine.connect() as conn:
            assert (await conn.execute(select(AttachmentRow.sha256))).scalars().all() == [sha]
    finally:
        await engine.dispose()


async def test_two_ticks_at_once_queue_each_notice_once(
    migrated_sqlite_url: str, plan: Plan, tmp_path: Path
) -> None:
    await seeded_db(migrated_sqlite_url, plan)
    env = clean_env(DATABASE_URL=migrated_sqlite_url, OFFICE_CHAT_ID=str(OFFICE_CHAT))
    results = await asyncio.gather(*(run_bot("tick", "--now", NOW, env=env, cwd=tmp_path) for _ in range(2)))
    assert [r.code for r in results] == [0, 0], [r.stderr for r in results]
    # one ran and the other was turned away by the lease, or they ran one after the other
    notices = [summary_of(r.stdout).get("notices", 0) for r in results]
    assert sorted(notices) == [0, 12]
    rows = await read_outbox(migrated_sqlite_url)
    assert len([r for r in rows if not r.is_digest]) == 12
    assert len({r.dedup_key for r in rows}) == len(rows)


def test_tick_rejects_a_malformed_time(
    migrated_sqlite_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name, value in clean_env(DATABASE_URL=migrated_sqlite_url).items():
        monkeypatch.setenv(name, value)
    assert main(["tick", "--now", "next friday"]) == 2
    err = capsys.readouterr().err
    assert "--now" in err and "2026-10-09T10:00:00+08:00" in err


async def test_the_running_bot_runs_the_pass_every_minute(migrated_sqlite_url: str, plan: Plan) -> None:
    clock = FixedClock(datetime.combine(TODAY, time(10, 0)), "Asia/Shanghai")
    ids = await seeded_db(migrated_sqlite_url, plan)
    async with running_harness(
        plan=plan, clock=clock, database_url=migrated_sqlite_url, office_chat_id=OFFICE_CHAT
    ) as h:
        job_queue = h.app.job_queue
        assert job_queue is not None
        (job,) = job_queue.get_jobs_by_name(PERIODIC_JOB_NAME)
        assert job.trigger.interval == PERIODIC_INTERVAL  # type: ignore[attr-defined]
        await job.run(h.app)  # what the scheduler does every minute
    rows = await read_outbox(migrated_sqlite_url)
    assert len([r for r in rows if not r.is_digest]) == 12
    assert await event_kinds(migrated_sqlite_url, ids["overdue"]) == ["supervision"]
