"""The case list's text search (storage/case_list.py) finds the same cases on SQLite and
PostgreSQL for words of one, two and more characters, and on PostgreSQL a two-character word
(the usual Chinese word, which has no trigram) is answered from the bigram index of migration
0016, whose substrings are the ones Python asks for."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.case_list import CaseFilter
from core.cases import Case, Source
from core.plan import Plan
from core.ports import UnitOfWorkFactory
from core.services.units import sync_plan_units
from core.states import CaseState
from storage.case_list import CaseListReader, bigrams, conditions
from storage.models import CaseRow

TZ = ZoneInfo("Asia/Shanghai")
TODAY = date(2026, 11, 25)
START = datetime(2026, 11, 1, 1, 0, tzinfo=UTC)
# (description, place, target unit text): a word in each column, a word split across two
# columns (材 | 料: not a match), a literal % and _, and one-character neighbours
TEXTS = [
    ("申请材料被退回三次", "", ""),
    ("办事大厅", "三楼窗口", ""),
    ("态度差", "", "材料科"),
    ("要交的材", "料一直不清楚", ""),
    ("满意度100%_不到", "", ""),
    ("窗外施工", "", "城管"),
    ("拖欠工资半年", "街道", "人社局"),
    ("材", "", ""),
]
QUERIES = ["材料", "窗口", "材", "窗", "拖欠工资", "%_", "100%_", "料一", "无此词", "科"]


@pytest.fixture
async def searched(uow_factory: UnitOfWorkFactory, plan: Plan) -> list[Case]:
    await sync_plan_units(plan, uow_factory)
    made = []
    async with uow_factory() as uow:
        for i, (description, place, target) in enumerate(TEXTS):
            case = Case(
                tracking_no=f"ZH-2026-{i + 1:06d}",
                state=CaseState.TRIAGE,
                source=Source.CITIZEN,
                description=description,
                place=place,
                target_text=target,
                created_at=START + timedelta(hours=i),
                area_final=plan.areas[i % len(plan.areas)].id,
            )
            made.append(await uow.cases.add(case))
        await uow.commit()
    return made


@pytest.mark.parametrize("query", QUERIES)
async def test_a_word_finds_the_cases_holding_it_in_one_column(
    searched: list[Case], session_factory: async_sessionmaker[AsyncSession], query: str
) -> None:
    async with session_factory() as session:
        page = await CaseListReader(session).page(CaseFilter(query=query), today=TODAY, tz=TZ, size=50)
    expected = [
        c.tracking_no
        for c in reversed(searched)
        if query in c.description or query in c.place or query in c.target_text
    ]
    assert [item.tracking_no for item in page.items] == expected
    if query == "材料":  # one in the description, one in the unit's name; not the split one
        assert expected == ["ZH-2026-000003", "ZH-2026-000001"]


async def test_postgres_answers_a_two_character_word_from_the_bigram_index(
    backend: str, searched: list[Case], session_factory: async_sessionmaker[AsyncSession]
) -> None:
    if backend != "postgres":
        pytest.skip("the bigram index is PostgreSQL's")
    where = conditions(CaseFilter(query="材料"), today=TODAY, tz=TZ, dialect="postgresql")
    stmt = select(CaseRow.id).where(*where)
    sql = str(stmt.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
    async with session_factory() as session:
        # eight rows: a scan is cheaper; forbid it and the plain index walk, so the plan shows
        # which index can answer the query's expression (none could before 0016)
        await session.execute(text("SET LOCAL enable_seqscan = off"))
        await session.execute(text("SET LOCAL enable_indexscan = off"))
        plan_text = "\n".join(r[0] for r in await session.execute(text("EXPLAIN " + sql.replace("%%", "%"))))
        found = (await session.execute(stmt)).scalars().all()
    assert "ix_cases_text_bigrams" in plan_text, plan_text
    assert "trgm" not in plan_text, plan_text
    assert sorted(found) == sorted(
        c.id or 0 for c in searched if "材料" in c.description + "|" + c.target_text
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    parts=st.lists(st.text(alphabet=st.sampled_from("材料窗口 %_\\a"), max_size=6), min_size=3, max_size=3)
)
async def test_the_databases_bigrams_are_pythons(
    backend: str, session_factory: async_sessionmaker[AsyncSession], parts: list[str]
) -> None:
    if backend != "postgres":
        pytest.skip("case_text_bigrams exists on PostgreSQL only")
    async with session_factory() as session:
        got: list[str] = (
            await session.execute(
                text("SELECT case_text_bigrams(:a, :b, :c)"), {"a": parts[0], "b": parts[1], "c": parts[2]}
            )
        ).scalar_one()
    assert sorted(got) == sorted(set().union(*(bigrams(p) for p in parts)))
