"""Digests, the scoreboard and the periodic pass with a million cases (SPEC §10: "the periodic
pass and the digests stay fast with a million cases in the database").

Run from the repository root:

    .venv/bin/python bench/bench_stats.py [--cases 1000000] [--small 10000] [--per-day 1000]

It seeds a history of ``--cases`` cases at ``--per-day`` a day, newest first, into a fresh
SQLite file (and into a fresh PostgreSQL database next to TEST_DATABASE_URL when that is set):
realistic mixes of areas, lead and assisting units (from the plan), states by age, deadlines
met or missed, follow-up ratings, hotspots, a few stuck cases escalated to the 通报 list,
reopens and typical cases; a submit event for every case. Rows go in with bulk inserts
(``executemany`` on SQLite, ``COPY`` on PostgreSQL) with the secondary indexes dropped and
rebuilt afterwards, then ``ANALYZE``.

It measures twice: with only the newest ``--small`` cases, then with the whole history. The
recent cases are the same in both, so the ratio shows what the older history costs each query:
the daily digest, the weekly digest, the week's scoreboard and the periodic pass should not
grow with it (indexed ranges); the campaign-long scoreboard and public figures aggregate every
case and do. Each figure is the median of three runs after a warm-up. It asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

# the path is set up just above
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncEngine  # noqa: E402

from core.calendar import WorkingDays  # noqa: E402
from core.clock import FixedClock  # noqa: E402
from core.deadlines import DeadlineRules, QuietHours  # noqa: E402
from core.plan import Plan, load_plan  # noqa: E402
from core.services.periodic import PeriodicPass  # noqa: E402
from core.stats import Period, week_of  # noqa: E402
from storage.db import make_engine, make_session_factory, normalise_url  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import UnitRow  # noqa: E402
from storage.stats import StatsReader  # noqa: E402
from storage.uow import sql_uow_factory  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=TZ)  # a Monday: the weekly digest's day
PLAN_FILE = REPO / "plans" / "zhuhui-2014.toml"
AREA_WEIGHTS = {"conduct": 35, "procedure": 25, "enforcement": 15, "extortion": 15, "rent_seeking": 10}
ANSWER_DAYS = {"conduct": 7, "procedure": 7, "enforcement": 14, "extortion": 21, "rent_seeking": 21}
RATINGS = (("satisfied", 55), ("basically", 20), ("unsatisfied", 8), ("no_response", 17))
OUTCOMES = ("substantiated", "partly_substantiated", "not_substantiated")
MEASURES = ("none", "criticism", "admonition", "public_criticism", "organisational", "disciplinary")
WINDOWS = ("政务中心3号窗口", "不动产登记窗口", "社保窗口", "户籍窗口", "城管执法中队", "")
CHUNK = 20_000

CASE_COLUMNS = (
    "id", "tracking_no", "state", "source", "description", "created_at", "area_auto", "area_final",
    "confidence", "matched_cues", "citizen_id", "anonymous", "target_unit_id", "target_text", "place",
    "occurred", "assigned_at", "sign_due", "signed_at", "answer_due", "answered_at", "extended",
    "closed_at", "outcome", "measure", "typical", "satisfaction", "satisfaction_comment",
)  # fmt: skip
UNIT_COLUMNS = ("case_id", "unit_id", "role", "position")
# no id: the periodic pass adds events between the two loads, and the database numbers them all
EVENT_COLUMNS = ("case_id", "at", "actor", "actor_ref", "kind", "visibility", "text", "data")
SEEDED_TABLES = ("cases", "case_units", "case_events")


# -- the history ----------------------------------------------------------------------------------


@dataclass
class Batch:
    cases: list[tuple[Any, ...]] = field(default_factory=list)
    units: list[tuple[Any, ...]] = field(default_factory=list)
    events: list[tuple[Any, ...]] = field(default_factory=list)


def _weekday_after(day: date, n: int) -> date:
    """n weekdays after ``day`` (the benchmark does not need the holiday calendar)."""
    while n:
        day += timedelta(days=1)
        if day.weekday() < 5:
            n -= 1
    return day


class History:
    """Cases numbered from the newest (0) to the oldest; case ``i`` is the same whatever range
    is generated, so the small database is exactly the newest part of the big one."""

    def __init__(self, plan: Plan, per_day: int) -> None:
        self.per_day = per_day
        self.areas = {a.id: a for a in plan.areas}
        self.area_ids = list(AREA_WEIGHTS)
        self.area_weights = list(AREA_WEIGHTS.values())
        self.units = [u.id for u in plan.units]
        # complaints cluster on a few units (hotspots), the rest spread thin
        self.target_weights = [30 if i < 3 else 3 for i in range(len(self.units))]

    def batch(self, first: int, last: int) -> Batch:
        out = Batch()
        for i in range(first, last):
            self._case(i, random.Random(i), out)
        return out

    def _case(self, i: int, r: random.Random, out: Batch) -> None:
        age = timedelta(days=i / self.per_day, seconds=r.randint(0, 600))
        created = NOW - age
        local = created.astimezone(TZ)
        age_days = age.total_seconds() / 86400
        case_id = i + 1
        area: str | None = r.choices(self.area_ids, self.area_weights)[0] if r.random() > 0.03 else None
        target_unit = r.choices(self.units, self.target_weights)[0] if r.random() < 0.4 else None
        row: dict[str, Any] = {
            "id": case_id,
            "tracking_no": f"ZH-{local.year}-{case_id:07d}",
            "state": "triage",
            "source": "citizen" if r.random() < 0.95 else "spot_check",
            "description": "窗口工作人员态度差，让我来回跑了三趟。",
            "created_at": created,
            "area_auto": area,
            "area_final": area,
            "confidence": round(r.uniform(0.3, 0.99), 2),
            "matched_cues": "[]",
            "citizen_id": None,
            "anonymous": r.random() < 0.6,
            "target_unit_id": target_unit,
            "target_text": "" if target_unit else r.choice(WINDOWS),
            "place": "",
            "occurred": "",
            "assigned_at": None, "sign_due": None, "signed_at": None, "answer_due": None,
            "answered_at": None, "extended": False, "closed_at": None, "outcome": None,
            "measure": None, "typical": False, "satisfaction": None, "satisfaction_comment": "",
        }  # fmt: skip
        out.events.append(self._event(case_id, created, "citizen", "submit", "public"))
        if area is None:  # the office triages; old ones were rejected as out of scope
            row["state"] = "triage" if age_days < 3 else "rejected"
            out.cases.append(tuple(row[c] for c in CASE_COLUMNS))
            return
        spec = self.areas[area]
        for n, unit in enumerate(spec.lead_unit_ids):
            out.units.append((case_id, unit, "lead", n))
        for n, unit in enumerate(spec.assist_unit_ids, start=len(spec.lead_unit_ids)):
            out.units.append((case_id, unit, "assist", n))
        assigned = created + timedelta(minutes=5)
        sign_due = _weekday_after(local.date(), 1)
        answer_due = local.date() + timedelta(days=ANSWER_DAYS[area])
        row.update(state="assigned", assigned_at=assigned, sign_due=sign_due, answer_due=answer_due)
        sign_after = timedelta(days=r.uniform(0.05, 1.6))
        answer_after = timedelta(days=ANSWER_DAYS[area] * r.uniform(0.3, 1.15))
        stuck = 30 < age_days < 60 and r.random() < 0.01  # overdue for weeks: on the 通报 list
        if age > sign_after:
            row.update(state="signed", signed_at=assigned + sign_after)
            if r.random() < 0.05:
                row["state"] = "extension_requested"
        if stuck:
            escalated_at = datetime.combine(answer_due + timedelta(days=8), dtime(8), tzinfo=TZ)
            data = {"due": answer_due.isoformat(), "overdue_days": 5}
            out.events.append(self._event(case_id, escalated_at, "system", "escalated", "internal", data))
        elif age > answer_after:
            answered = assigned + answer_after
            row.update(state="answered", answered_at=answered)
            since = (NOW - answered).total_seconds() / 86400
            if since > 3 or r.random() < 0.5:
                rating = r.choices([x for x, _ in RATINGS], [w for _, w in RATINGS])[0]
                row["satisfaction"] = rating
                if since > 3 or rating != "unsatisfied":
                    closed = answered + timedelta(days=min(3, since) * r.random())
                    row.update(
                        state="closed",
                        closed_at=closed,
                        outcome=r.choice(OUTCOMES),
                        measure=r.choice(MEASURES),
                        typical=r.random() < 0.0005,
                    )
                    if row["typical"]:
                        out.events.append(self._event(case_id, closed, "office", "close", "public"))
            if r.random() < 0.01 and since > 1:
                reopened = answered + timedelta(hours=20)
                out.events.append(self._event(case_id, reopened, "office", "reopen", "public"))
        out.cases.append(tuple(row[c] for c in CASE_COLUMNS))

    @staticmethod
    def _event(
        case_id: int, at: datetime, actor: str, kind: str, visibility: str,
        data: dict[str, object] | None = None,
    ) -> tuple[Any, ...]:  # fmt: skip
        return (case_id, at, actor, None, kind, visibility, "", json.dumps(data or {}))


# -- loading --------------------------------------------------------------------------------------


def _sqlite_rows(rows: list[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
    """Dates and times as storage.models stores them on SQLite: ISO dates, naive UTC text."""
    if not rows:
        return
    timed = [i for i, v in enumerate(rows[0]) if isinstance(v, date) or v is None]
    for row in rows:
        values = list(row)
        for i in timed:
            v = values[i]
            if isinstance(v, datetime):
                values[i] = v.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
            elif isinstance(v, date):
                values[i] = v.isoformat()
        yield tuple(values)


class SqliteLoader:
    """Bulk inserts with the stdlib driver (``executemany``), secondary indexes dropped while
    loading and rebuilt after, as a restore would."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.conn: sqlite3.Connection | None = None
        self.indexes: list[tuple[str, str]] = []

    async def begin(self) -> None:
        self.conn = conn = sqlite3.connect(self.path, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=OFF")
        marks = ",".join("?" * len(SEEDED_TABLES))
        self.indexes = conn.execute(
            "SELECT name, sql FROM sqlite_master "
            f"WHERE type='index' AND sql IS NOT NULL AND tbl_name IN ({marks})",
            SEEDED_TABLES,
        ).fetchall()
        for name, _ in self.indexes:
            conn.execute(f'DROP INDEX "{name}"')

    async def add(self, batch: Batch) -> None:
        assert self.conn is not None
        conn = self.conn
        conn.execute("BEGIN")
        for table, columns, rows in (
            ("cases", CASE_COLUMNS, batch.cases),
            ("case_units", UNIT_COLUMNS, batch.units),
            ("case_events", EVENT_COLUMNS, batch.events),
        ):
            marks = ",".join("?" * len(columns))
            values = _sqlite_rows(rows) if table != "case_units" else iter(rows)
            conn.executemany(f"INSERT INTO {table} ({','.join(columns)}) VALUES ({marks})", values)
        conn.execute("COMMIT")

    async def finish(self) -> None:
        assert self.conn is not None
        for _, sql in self.indexes:
            self.conn.execute(sql)
        self.conn.execute("ANALYZE")
        self.conn.close()
        self.conn = None


class PostgresLoader:
    """``COPY`` through asyncpg, secondary indexes dropped while loading and rebuilt after."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.conn: Any = None
        self.indexes: list[Any] = []

    async def begin(self) -> None:
        import asyncpg  # type: ignore[import-untyped]

        u = make_url(self.url)
        self.conn = conn = await asyncpg.connect(
            user=u.username, password=u.password, host=u.host, port=u.port or 5432, database=u.database
        )
        self.indexes = await conn.fetch(
            # ix_*: the secondary indexes (primary keys and unique constraints stay)
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY($1::text[]) "
            "AND indexname LIKE 'ix\\_%'",
            list(SEEDED_TABLES),
        )
        for index in self.indexes:
            await conn.execute(f'DROP INDEX "{index["indexname"]}"')

    async def add(self, batch: Batch) -> None:
        await self.conn.copy_records_to_table("cases", records=batch.cases, columns=CASE_COLUMNS)
        await self.conn.copy_records_to_table("case_units", records=batch.units, columns=UNIT_COLUMNS)
        await self.conn.copy_records_to_table("case_events", records=batch.events, columns=EVENT_COLUMNS)

    async def finish(self) -> None:
        conn = self.conn
        for index in self.indexes:
            await conn.execute(index["indexdef"])
        for table in ("cases", "case_events"):  # ids were given: move the sequences past them
            await conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
            )
        await conn.execute("ANALYZE")
        await conn.close()
        self.conn = None


@dataclass
class Backend:
    name: str
    url: str
    loader: SqliteLoader | PostgresLoader
    engine: AsyncEngine | None = None
    results: list[tuple[int, dict[str, float]]] = field(default_factory=list)


# -- measuring ------------------------------------------------------------------------------------


async def _median(work: Callable[[], Awaitable[object]], runs: int = 3) -> float:
    """The median of ``runs`` after a warm-up (caches, prepared statements); one run only when
    the warm-up alone took seconds."""
    t0 = time.perf_counter()
    await work()
    if time.perf_counter() - t0 > 3:
        runs = 1
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        await work()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


async def measure(engine: AsyncEngine, plan: Plan) -> dict[str, float]:
    rules = DeadlineRules(WorkingDays(), TZ)
    today = NOW.date()
    read_only = make_session_factory(engine, read_only=True)
    week = week_of(today - timedelta(days=7))
    campaign = Period(plan.start, today)

    def reading(fn: Callable[[StatsReader], Awaitable[object]]) -> Callable[[], Awaitable[object]]:
        async def run() -> object:
            async with read_only() as session:
                return await fn(StatsReader(session, rules, plan))

        return run

    uow = sql_uow_factory(make_session_factory(engine))

    async def list_due() -> object:
        async with uow() as work:
            due = await work.cases.list_due(rules.reminder_horizon(today))
            waiting = await work.cases.list_awaiting_follow_up(NOW - rules.follow_up)
        return len(due) + len(waiting)

    def periodic() -> PeriodicPass:
        quiet = QuietHours(dtime(21), dtime(8), tz=TZ)
        return PeriodicPass(uow=uow, plan=plan, clock=FixedClock(NOW, TZ), deadlines=rules, quiet_hours=quiet)

    figures = {
        "daily digest": await _median(reading(lambda r: r.daily_digest(today))),
        "weekly digest": await _median(reading(lambda r: r.weekly_digest(today))),
        "scoreboard, last week": await _median(reading(lambda r: r.scoreboard(week, today))),
        "scoreboard, whole campaign": await _median(reading(lambda r: r.scoreboard(campaign, today))),
        "public /stats (week + campaign)": await _median(reading(lambda r: r.public_stats(today))),
        "periodic queries (list_due + follow-up)": await _median(list_due),
    }
    # a pass catches up once (writes the 督办/通报 events it owes); then every pass of a fresh
    # process (nothing remembered) re-checks what is due: that is the steady cost
    t0 = time.perf_counter()
    first = await periodic().run(NOW)
    figures["periodic pass, first (catching up)"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    await periodic().run(NOW)
    figures["periodic pass, steady (fresh process)"] = time.perf_counter() - t0
    async with uow() as work:
        due = len(await work.cases.list_due(rules.reminder_horizon(today)))
    print(f"    (periodic pass: {due} cases due by the horizon; first pass did {first})")
    return figures


# -- the run --------------------------------------------------------------------------------------


async def _prepare(backend: Backend, plan: Plan) -> None:
    await upgrade(backend.url)
    backend.engine = make_engine(backend.url)
    async with backend.engine.begin() as conn:
        units = [{"id": u.id, "name": u.name, "kind": u.kind, "active": True} for u in plan.units]
        await conn.execute(UnitRow.__table__.insert(), units)


async def _seed(backends: list[Backend], history: History, first: int, last: int) -> None:
    """Cases ``first..last`` into every backend, each chunk generated once."""
    started = time.perf_counter()
    for backend in backends:
        assert backend.engine is not None
        await backend.engine.dispose()  # the loaders write with their own connections
        await backend.loader.begin()
    for i in range(first, last, CHUNK):
        batch = history.batch(i, min(i + CHUNK, last))
        for backend in backends:
            await backend.loader.add(batch)
    for backend in backends:
        await backend.loader.finish()
    elapsed = time.perf_counter() - started
    names = " and ".join(b.name for b in backends)
    print(f"seeded cases {first:,}..{last:,} into {names} in {elapsed:.0f} s")


def _table(backend: Backend) -> None:
    results = backend.results
    sizes = [n for n, _ in results]
    print(f"\n[{backend.name}] seconds")
    print(
        f"  {'cases in the database':42}"
        + "".join(f"{n:>12,}" for n in sizes)
        + ("     ratio" if len(sizes) == 2 else "")
    )
    for key in results[0][1]:
        values = [figures[key] for _, figures in results]
        ratio = f"{values[-1] / values[0]:>9.1f}x" if len(values) == 2 and values[0] else ""
        print(f"  {key:42}" + "".join(f"{v:>12.3f}" for v in values) + ratio)


async def run(args: argparse.Namespace) -> None:
    plan = load_plan(PLAN_FILE)
    history = History(plan, args.per_day)
    small = min(args.cases, max(CHUNK, args.small // CHUNK * CHUNK))  # whole chunks: same rows
    print(
        f".venv/bin/python bench/bench_stats.py --cases {args.cases} --small {small} --per-day {args.per_day}"
    )
    print(f"history: {args.cases:,} cases at {args.per_day:,} a day, newest at {NOW.isoformat()}")
    with tempfile.TemporaryDirectory(prefix="bench-stats-") as tmp:
        path = Path(tmp) / "bench.db"
        backends = [Backend("sqlite", f"sqlite+aiosqlite:///{path}", SqliteLoader(path))]
        pg, admin, pg_name = os.environ.get("TEST_DATABASE_URL"), None, ""
        if pg and not args.sqlite_only:
            from sqlalchemy import text

            base = normalise_url(pg)
            pg_name = f"bench_stats_{uuid.uuid4().hex[:8]}"
            admin = make_engine(base, isolation_level="AUTOCOMMIT")
            async with admin.connect() as conn:
                await conn.execute(text(f'CREATE DATABASE "{pg_name}"'))
            url = base.set(database=pg_name).render_as_string(hide_password=False)
            backends.append(Backend("postgresql", url, PostgresLoader(url)))
        else:
            print("PostgreSQL: skipped (set TEST_DATABASE_URL=postgresql+asyncpg://... to measure it too)")
        print()
        try:
            for backend in backends:
                await _prepare(backend, plan)
            loaded = 0
            for target in dict.fromkeys((small, args.cases)):
                await _seed(backends, history, loaded, target)
                loaded = target
                for backend in backends:
                    assert backend.engine is not None
                    print(f"[{backend.name}] measuring with {target:,} cases")
                    backend.results.append((target, await measure(backend.engine, plan)))
            for backend in backends:
                _table(backend)
        finally:
            for backend in backends:
                if backend.engine is not None:
                    await backend.engine.dispose()
            if admin is not None:
                from sqlalchemy import text

                async with admin.connect() as conn:
                    await conn.execute(text(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)'))
                await admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000, help="cases in the whole history")
    parser.add_argument(
        "--small", type=int, default=100_000, help="cases in the first measurement (whole chunks of 20,000)"
    )
    parser.add_argument("--per-day", type=int, default=1_000, help="new cases a day")
    parser.add_argument("--sqlite-only", action="store_true", help="skip PostgreSQL even if configured")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
