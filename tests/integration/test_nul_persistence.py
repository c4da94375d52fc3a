"""NUL on a real database (issue 12). PostgreSQL refuses U+0000 in TEXT ("invalid byte
sequence") and in JSONB ("unsupported Unicode escape sequence"); before the guards a NUL in a
complaint draft failed every flush of that user's dialog, for good. Here the complaint dialog
runs on PostgreSQL with control characters in every step, and the storage guards are checked
on both back ends (tests/bot/test_control_characters.py has the policy and SQLite dialogs).
"""

from __future__ import annotations

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from bot.dialogs import complaint
from bot.dialogs.complaint import AREA, IDENTITY
from bot.i18n import Catalogue
from core.clock import FixedClock
from core.plan import Plan
from storage.db import normalise_url
from storage.dialog_store import SqlDialogStore
from storage.models import DialogBotDataRow, UnitRow
from tests.bot.test_complaint_dialog import DESCRIPTION, Citizen, state_of
from tests.bot.test_control_characters import (
    NO_FLOOD_LIMIT,
    check_the_cases,
    dirty,
    file_a_dirty_complaint,
)
from tests.support.harness import running_harness

pytestmark = pytest.mark.filterwarnings(
    "ignore:Ignoring `conversation_timeout`:telegram.warnings.PTBUserWarning"
)


@pytest.mark.postgres
async def test_the_complaint_dialog_with_control_characters_everywhere_files_on_postgresql(
    plan: Plan, clock: FixedClock, catalogue: Catalogue, migrated_pg_url: str
) -> None:
    async with running_harness(
        plan=plan, clock=clock, catalogue=catalogue, database_url=migrated_pg_url, **NO_FLOOD_LIMIT
    ) as h:
        citizen = Citizen(h)
        await citizen.to(IDENTITY)  # a clean case first: nothing stored before may be lost
        await citizen.answer(IDENTITY)
        await citizen.press("submit")
        await file_a_dirty_complaint(h, citizen)  # every step flushed to JSONB
        await check_the_cases(h)


@pytest.mark.postgres
async def test_a_dirty_description_is_persisted_and_the_dialog_resumes_after_a_restart_on_postgresql(
    plan: Plan, clock: FixedClock, catalogue: Catalogue, migrated_pg_url: str
) -> None:
    settings = {"plan": plan, "clock": clock, "catalogue": catalogue, "database_url": migrated_pg_url}
    async with running_harness(**settings, **NO_FLOOD_LIMIT) as first:
        citizen = Citizen(first)
        await first.command(citizen.user, "new")
        await citizen.say(dirty(DESCRIPTION))
        assert citizen.shows(AREA)
        confirm = dict(first.buttons())[citizen.label("confirm_area")]
        assert confirm is not None
        await first.app.update_persistence()  # what the running bot does every second

    async with running_harness(**settings, **NO_FLOOD_LIMIT) as second:  # restarted
        assert state_of(second, citizen.user) == AREA
        draft = second.app.user_data[citizen.user.id][complaint.DRAFT_KEY]
        assert draft["description"] == DESCRIPTION
        await second.send(second.make.callback(citizen.user, confirm))  # the button from before
        assert Citizen(second).shows(complaint.UNIT)


@pytest.mark.postgres
async def test_without_the_guards_postgresql_refuses_nul(migrated_pg_url: str, clock: FixedClock) -> None:
    """Why the guards exist: a bare engine (none of storage.db's hooks) fails both writes."""
    bare = create_async_engine(normalise_url(migrated_pg_url))
    try:
        async with bare.begin() as conn:
            with pytest.raises(DBAPIError):
                await conn.execute(insert(UnitRow).values(id="u1", name="单位\x00", kind=""))
        async with bare.begin() as conn:
            with pytest.raises(DBAPIError):
                blob = {"name": "x", "data": {"k": "\x00"}, "updated_at": clock.now()}
                await conn.execute(insert(DialogBotDataRow).values(**blob))
    finally:
        await bare.dispose()


async def test_every_text_and_json_value_is_written_without_nul(
    session_factory: async_sessionmaker[AsyncSession], clock: FixedClock
) -> None:
    """On both back ends, past the repositories and the dialog store: the engine's hooks."""
    async with session_factory() as session:
        session.add(UnitRow(id="u\x00nit", name="单位\x00名", kind="\x00"))  # ORM, TEXT/VARCHAR
        data = {"k\x00": ["v\x00", {"n": "\x00"}]}
        await session.execute(  # Core, JSON/JSONB, keys too
            insert(DialogBotDataRow).values(name="blob", data=data, updated_at=clock.now())
        )
        await session.commit()
    async with session_factory() as session:
        unit = (await session.execute(select(UnitRow).where(UnitRow.id == "unit"))).scalar_one()
        blob = (await session.execute(select(DialogBotDataRow.data))).scalar_one()
    assert (unit.name, unit.kind) == ("单位名", "")
    assert blob == {"k": ["v", {"n": ""}]}

    store = SqlDialogStore(session_factory, clock)
    await store.update_user_data(1, {"draft": {"description": "投诉\x00内容"}})
    assert await store.get_user_data() == {1: {"draft": {"description": "投诉内容"}}}
