"""The periodic pass per due case (issue 11: "ms per due case for 10k due cases").

Run from the repository root:

    .venv/bin/python bench/bench_tick.py [--cases 10000] [--batch 100]

It seeds ``--cases`` signed procedure cases whose answer deadline fell one working day before
NOW into a fresh, migrated SQLite file (and a fresh PostgreSQL database next to
TEST_DATABASE_URL when that is set), with two liaisons for each of the two lead units, then
times one pass at NOW: every case owes a 督办通知 (an internal event, a notice to each lead
liaison, the office's copy), the heaviest thing a pass does per case. It prints the pass's
wall time, ms per due case, and what it did; then a second pass by a fresh instance (nothing
owed any more, everything re-checked from the database). It asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from datetime import date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

# the path is set up just above
from sqlalchemy import insert, text  # noqa: E402

from core.calendar import WorkingDays  # noqa: E402
from core.clock import FixedClock  # noqa: E402
from core.deadlines import DeadlineRules, QuietHours  # noqa: E402
from core.directory import UnitRecord  # noqa: E402
from core.plan import load_plan  # noqa: E402
from core.services.periodic import PeriodicPass  # noqa: E402
from storage.db import make_engine, make_session_factory, normalise_url  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import CaseRow, CaseUnitRow  # noqa: E402
from storage.uow import sql_uow_factory  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=TZ)  # a Tuesday
ANSWER_DUE = date(2026, 11, 23)  # Monday: one working day overdue on NOW → 督办通知
LEADS = ("discipline_commission", "supervision_bureau")
OFFICE_CHAT = -100_777
CHUNK = 2_000


async def seed(url: str, n: int) -> None:
    plan = load_plan(REPO / "plans" / "zhuhui-2014.toml")
    engine = make_engine(url)
    uow_factory = sql_uow_factory(make_session_factory(engine))
    async with uow_factory() as uow:
        await uow.units.sync([UnitRecord(u.id, u.name, u.kind) for u in plan.units])
        for i, unit_id in enumerate(LEADS):
            for j in range(2):
                user_id = 800_000 + 10 * i + j
                await uow.users.upsert(user_id, now=NOW, chat_id=user_id)
                await uow.liaisons.add(user_id, unit_id, now=NOW)
        await uow.commit()
    signed = NOW - timedelta(days=10)
    async with engine.begin() as conn:
        for first in range(0, n, CHUNK):
            ids = range(first + 1, min(n, first + CHUNK) + 1)
            await conn.execute(
                insert(CaseRow),
                [
                    {
                        "id": i,
                        "tracking_no": f"ZH-2026-{i:06d}",
                        "state": "signed",
                        "source": "citizen",
                        "description": "窗口让我补了三次材料，每次都说还差一样。",
                        "created_at": signed,
                        "area_auto": "procedure",
                        "area_final": "procedure",
                        "matched_cues": [],
                        "anonymous": True,
                        "target_text": "",
                        "place": "",
                        "occurred": "",
                        "assigned_at": signed,
                        "sign_due": date(2026, 11, 16),
                        "signed_at": signed,
                        "answer_due": ANSWER_DUE,
                        "extended": False,
                        "typical": False,
                        "satisfaction_comment": "",
                    }
                    for i in ids
                ],
            )
            await conn.execute(
                insert(CaseUnitRow),
                [
                    {"case_id": i, "unit_id": unit_id, "role": "lead", "position": p}
                    for i in ids
                    for p, unit_id in enumerate(LEADS)
                ],
            )
        if url.startswith("postgresql"):
            await conn.execute(
                text("SELECT setval(pg_get_serial_sequence('cases', 'id'), (SELECT max(id) FROM cases))")
            )
            await conn.execute(text("ANALYZE"))
    await engine.dispose()


async def measure(name: str, url: str, n: int, batch: int) -> None:
    plan = load_plan(REPO / "plans" / "zhuhui-2014.toml")
    engine = make_engine(url)
    uow_factory = sql_uow_factory(make_session_factory(engine))
    quiet = QuietHours(dtime(21, 0), dtime(8, 0), TZ)

    def fresh() -> PeriodicPass:
        return PeriodicPass(
            uow=uow_factory,
            plan=plan,
            clock=FixedClock(NOW, TZ),
            deadlines=DeadlineRules(WorkingDays(), TZ),
            quiet_hours=quiet,
            office_chat_id=OFFICE_CHAT,
            batch_size=batch,
        )

    t0 = time.perf_counter()
    first = await fresh().run(NOW)
    elapsed = time.perf_counter() - t0
    t0 = time.perf_counter()
    await fresh().run(NOW + timedelta(minutes=1))
    again = time.perf_counter() - t0
    await engine.dispose()
    print(
        f"  {name:10} {n:>7,} due   first pass {elapsed:7.2f} s = {1000 * elapsed / n:6.3f} ms/case"
        f"   (supervision={first.supervision} notices={first.notices} errors={first.errors})"
        f"   second pass {again:6.2f} s = {1000 * again / n:6.3f} ms/case"
    )


async def run(args: argparse.Namespace) -> None:
    print(f".venv/bin/python bench/bench_tick.py --cases {args.cases} --batch {args.batch}")
    with tempfile.TemporaryDirectory(prefix="bench-tick-") as tmp:
        sqlite_url = f"sqlite+aiosqlite:///{Path(tmp) / 'tick.db'}"
        await upgrade(sqlite_url)
        await seed(sqlite_url, args.cases)
        await measure("sqlite", sqlite_url, args.cases, args.batch)
        pg = os.environ.get("TEST_DATABASE_URL")
        if not pg:
            print("  PostgreSQL: skipped (set TEST_DATABASE_URL=postgresql+asyncpg://... to measure it too)")
            return
        base = normalise_url(pg)
        name = f"bench_tick_{uuid.uuid4().hex[:8]}"
        admin = make_engine(base, isolation_level="AUTOCOMMIT")
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = base.set(database=name).render_as_string(hide_password=False)
        try:
            await upgrade(url)
            await seed(url, args.cases)
            await measure("postgresql", url, args.cases, args.batch)
        finally:
            async with admin.connect() as conn:
                await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            await admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=100, help="due cases per transaction")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
