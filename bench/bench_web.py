"""The dashboard with a million cases on PostgreSQL (issue 13: "the filtered case list and the
scoreboard page each answer in ≤ 300 ms"), timed through the real ASGI app in-process.

Run from the repository root:

    TEST_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/test \\
        .venv/bin/python bench/bench_web.py [--url URL] [--cases 1000000] [--runs 30] [--keep]

It creates a database of its own next to ``--url`` (default: TEST_DATABASE_URL), migrates it,
and seeds ``--cases`` cases with ``bench/bench_stats.py``'s history (the plan's areas and
units, states by age, deadlines met or missed, ratings, reopens, escalations; ``COPY`` with
the secondary indexes dropped and rebuilt, then ``ANALYZE``), plus office audit entries. It
then builds the real app (``web.app.create_app``) on real ``Deps``, logs an office member in
through the one-time link as the bot's ``/web`` would, and times requests with httpx over
``ASGITransport`` (no sockets): the case list under several filters, a first and a deep page,
and the scoreboard page (cold: the first request for a filter computes it; warm: within the
page's cache; a campaign-long one reads the per-day cache of migration 0016, rebuilt first as
the bot's periodic pass would, and the rebuild's time is printed). Each line is p50/p95 over
``--runs`` requests after a warm-up. With ``--keep``
the seeded database stays (named by ``--db``) and a later run with the same ``--cases``
reuses it instead of seeding again. It asserts nothing; the figures go in the README.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

# the path is set up just above
from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import URL  # noqa: E402

from bench.bench_stats import CHUNK, NOW, PLAN_FILE, TZ, History, PostgresLoader  # noqa: E402
from core.plan import Plan, load_plan  # noqa: E402
from storage.db import make_engine, normalise_url  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import UnitRow  # noqa: E402

TARGET_MS = 300.0
AUDIT_ENTRIES = 200_000  # office actions over the history: a busy office's years
OFFICE_USER = 300_001


# -- the database ---------------------------------------------------------------------------------


async def _database(base: URL, name: str, *, reseed: bool, cases: int) -> tuple[str, bool]:
    """The bench database's URL, and whether it still needs seeding."""
    admin = make_engine(base, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            exists = (
                await conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
            ).first() is not None
            if exists and reseed:
                await conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
                exists = False
            if not exists:
                await conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        await admin.dispose()
    url = base.set(database=name).render_as_string(hide_password=False)
    await upgrade(url)  # also brings a kept database up to the newest migrations
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            have = (await conn.execute(text("SELECT count(*) FROM cases"))).scalar_one()
    finally:
        await engine.dispose()
    if have not in (0, cases):
        raise SystemExit(f"database {name} holds {have:,} cases, not {cases:,}: run with --reseed")
    return url, have == 0


async def _seed(url: str, plan: Plan, cases: int, per_day: int) -> None:
    started = time.perf_counter()
    engine = make_engine(url)
    async with engine.begin() as conn:
        units = [{"id": u.id, "name": u.name, "kind": u.kind, "active": True} for u in plan.units]
        await conn.execute(UnitRow.__table__.insert(), units)
    await engine.dispose()
    history = History(plan, per_day)
    loader = PostgresLoader(url)
    await loader.begin()
    for i in range(0, cases, CHUNK):
        await loader.add(history.batch(i, min(i + CHUNK, cases)))
        if (i // CHUNK) % 10 == 9:
            print(f"  {i + CHUNK:,} cases in {time.perf_counter() - started:.0f} s", flush=True)
    # office actions, spread over the history, generated in SQL (one statement, no round trips)
    await loader.conn.execute(
        """
        INSERT INTO audit_log (at, actor_id, action, target, details)
        SELECT $1::timestamptz - (g * interval '1 minute' * $2::float8),
               $3::bigint + (g % 5),
               (ARRAY['case.view','case.route','case.reclassify','case.reject','case.supervise',
                      'case.outcome','invite.create','broadcast'])[1 + (g * 7 % 8)],
               'ZH-' || to_char($1::timestamptz - (g * interval '1 minute' * $2::float8), 'YYYY')
                     || '-' || lpad(((g * 5) % $4::bigint + 1)::text, 7, '0'),
               '{}'::jsonb
        FROM generate_series(1, $5::int) AS g
        """,
        NOW,
        cases / per_day * 1440 / AUDIT_ENTRIES,
        OFFICE_USER,
        cases,
        AUDIT_ENTRIES,
    )
    await loader.finish()  # rebuilds the indexes, ANALYZE
    print(
        f"seeded {cases:,} cases and {AUDIT_ENTRIES:,} audit entries in {time.perf_counter() - started:.0f} s"
    )


# -- timing ---------------------------------------------------------------------------------------


async def _time(request: Callable[[], Awaitable[Any]], runs: int) -> tuple[float, float, int]:
    """p50 and p95 in ms over ``runs`` requests after one warm-up, and the last status."""
    response = await request()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        response = await request()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    return statistics.median(times), p95, int(response.status_code)


def _line(name: str, p50: float, p95: float, status: int) -> str:
    mark = "ok" if p95 <= TARGET_MS else "SLOW"
    return f"  {name:58} {p50:8.1f} {p95:8.1f}   {status}  {mark}"


COLD_RUNS = 3  # a cold scoreboard is a full aggregation: a few are enough for its median


async def measure(url: str, plan: Plan, runs: int) -> None:
    import re

    import httpx

    from bot.settings import Settings
    from bot.wiring import make_deps
    from core.clock import FixedClock
    from storage import scoreboard_daily
    from web.app import create_app
    from web.reports import scoreboard

    settings = Settings(
        bot_token="0:bench", database_url=url, office_admin_ids=str(OFFICE_USER),
        web_base_url="http://127.0.0.1:8000",
    )  # fmt: skip
    deps = make_deps(settings, plan, clock=FixedClock(NOW, TZ))  # the seeded history's "now"
    app = create_app(deps, close_deps=True)
    # issue 13: the campaign scoreboard reads the per-day cache the running bot's periodic pass
    # rebuilds every few minutes (storage/scoreboard_daily.py); rebuilt here as the pass would
    assert deps.session_factory is not None
    t0 = time.perf_counter()
    await scoreboard_daily.refresh_if_stale(
        deps.session_factory, deps.services.deadlines, plan, NOW, every=timedelta(0)
    )
    print(f"  scoreboard per-day cache rebuilt (the periodic pass's job) in {time.perf_counter() - t0:.1f} s")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8000"
    ) as client:
        issued = await deps.services.web_access.issue_link(OFFICE_USER)
        signed = await client.post("/login", data={"token": issued.token})
        assert signed.status_code == 303, signed.text
        first = await client.get("/cases")
        deep = first
        for _ in range(20):  # twenty pages in, following the pager's seek links
            found = re.search(r'href="/cases\?([^"]+)" id="next-page"', deep.text)
            assert found, "no next page"
            deep = await client.get("/cases?" + found.group(1).replace("&amp;", "&"))
        deep_found = re.search(r'href="/cases\?([^"]+)" id="next-page"', deep.text)
        deep_query = (deep_found.group(1) if deep_found else "").replace("&amp;", "&")
        area = plan.areas[0].id
        unit = plan.units[0].id
        lines = [
            ("case list, no filter", "/cases"),
            (f"case list, area={area}", f"/cases?area={area}"),
            ("case list, state=assigned", "/cases?state=assigned"),
            (f"case list, unit={unit}, overdue", f"/cases?unit={unit}&overdue=1"),
            ("case list, text search q=窗口", "/cases?q=窗口"),
            (f"case list, text search q=材料 + area={area}", f"/cases?q=材料&area={area}"),
            ("case list, text search, rare word q=拖欠工资", "/cases?q=拖欠工资"),
            ("case list, 21st page (seek)", "/cases?" + deep_query),
            ("scoreboard page, campaign, warm (within its cache)", "/reports/scoreboard"),
            ("scoreboard page, this week, warm", "/reports/scoreboard?period=this_week"),
        ]  # fmt: skip
        print(f"  {'request':58} {'p50 ms':>8} {'p95 ms':>8}  status")
        def getter(path: str) -> Callable[[], Awaitable[Any]]:
            return lambda: client.get(path)

        for name, path in lines:
            print(_line(name, *await _time(getter(path), runs)), flush=True)

        def cold(path: str) -> Callable[[], Awaitable[Any]]:
            async def request() -> Any:
                scoreboard.clear_caches()
                return await client.get(path)

            return request

        for name, path in (
            ("scoreboard page, campaign, cold (first load)", "/reports/scoreboard"),
            ("scoreboard page, this week, cold", "/reports/scoreboard?period=this_week"),
            ("scoreboard page, last week (weekly), cold", "/reports/scoreboard?period=weekly"),
        ):
            print(_line(name, *await _time(cold(path), COLD_RUNS)), flush=True)


async def run(args: argparse.Namespace) -> None:
    base_text = args.url or os.environ.get("TEST_DATABASE_URL")
    if not base_text:
        raise SystemExit("set TEST_DATABASE_URL=postgresql+asyncpg://... or pass --url")
    base = normalise_url(base_text)
    if base.get_backend_name() != "postgresql":
        raise SystemExit("the dashboard benchmark runs on PostgreSQL")
    name = args.db or f"bench_web_{uuid.uuid4().hex[:8]}"
    plan = load_plan(PLAN_FILE)
    flags = f"--cases {args.cases} --per-day {args.per_day} --runs {args.runs}"
    flags += " --keep" if args.keep else ""
    print(f".venv/bin/python bench/bench_web.py {flags}")
    url, empty = await _database(base, name, reseed=args.reseed, cases=args.cases)
    try:
        if empty:
            await _seed(url, plan, args.cases, args.per_day)
        else:
            print(f"reusing database {name} ({args.cases:,} cases)")
        if not args.seed_only:
            await measure(url, plan, args.runs)
    finally:
        if not args.keep:
            admin = make_engine(base, isolation_level="AUTOCOMMIT")
            async with admin.connect() as conn:
                await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            await admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a PostgreSQL URL to create the bench database beside")
    parser.add_argument("--db", help="the bench database's name (default: a fresh random one)")
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--per-day", type=int, default=1_000, help="new cases a day")
    parser.add_argument("--runs", type=int, default=30, help="timed requests per line")
    parser.add_argument("--keep", action="store_true", help="keep the database for the next run")
    parser.add_argument("--seed-only", action="store_true", help="seed (with --keep) and stop")
    parser.add_argument("--reseed", action="store_true", help="drop a kept database and seed again")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
