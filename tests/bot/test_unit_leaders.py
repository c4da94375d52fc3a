"""A unit's 一把手 and 分管领导 (the plan's 保障措施 一) through the real Application: the office
makes an invite of a leader's role, the person binds with /join, /leaders shows who holds what,
a new binding replaces the old holder (who is told), /remove_leader ends one; a case overdue
past the office's step (the 通报 list) reaches the bound leaders through the periodic pass,
never with the complainant's identity; citizens and liaisons may do none of the office's part.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest

from core.directory import InviteRole
from core.services.periodic import LEADER_EVENT
from tests.bot.conftest import HarnessFactory
from tests.bot.test_liaison import (
    CITIZEN,
    LEAD_UNIT,
    LIAISON,
    OFFICE,
    OFFICE_CHAT,
    PHONE,
    drain,
    file_case,
    join,
)
from tests.support.harness import BotHarness
from tests.support.updates import TgUser

HEAD = TgUser(700_001, "区直机关工委书记周一", "zh-hans")
DEPUTY = TgUser(700_002, "区直机关工委副书记吴二", "zh-hans")
NEW_HEAD = TgUser(700_003, "新任书记郑三", "zh-hans")
CODE = re.compile(r"<code>([2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{4})</code>")

pytestmark = pytest.mark.filterwarnings(
    "ignore:Ignoring `conversation_timeout`:telegram.warnings.PTBUserWarning"
)


@pytest.fixture
async def h(harness_factory: HarnessFactory) -> AsyncIterator[BotHarness]:
    async with harness_factory(office_chat_id=OFFICE_CHAT, office_admin_ids=str(OFFICE.id)) as harness:
        yield harness


async def bind(h: BotHarness, user: TgUser, unit_id: str, role_word: str) -> str:
    """The office's /invite UNIT ROLE, then the person's /join CODE; returns the join reply."""
    await h.command(OFFICE, "invite", f"{unit_id} {role_word}")
    match = CODE.search(h.last_text())
    assert match, h.last_text()
    await h.command(user, "join", match.group(1))
    return h.last_text()


async def leaders(h: BotHarness) -> list[tuple[str, InviteRole, int]]:
    async with h.deps.uow() as uow:
        return [(x.unit_id, x.role, x.user_id) for x in await uow.leaders.list_active()]


async def test_the_office_binds_a_units_head_and_campaign_leader_and_lists_them(h: BotHarness) -> None:
    await h.command(OFFICE, "invite", f"{LEAD_UNIT} 一把手")
    assert "一把手" in h.last_text() and "绑定邀请码" in h.last_text()

    reply = await bind(h, HEAD, LEAD_UNIT, "一把手")
    assert "一把手" in reply and "区直机关工委" in reply
    assert "/inbox" not in reply  # a leader is no liaison
    reply = await bind(h, DEPUTY, LEAD_UNIT, "分管领导")
    assert "分管领导" in reply

    assert sorted(await leaders(h)) == [
        (LEAD_UNIT, InviteRole.CAMPAIGN_LEADER, DEPUTY.id),
        (LEAD_UNIT, InviteRole.FIRST_RESPONSIBLE, HEAD.id),
    ]
    async with h.deps.uow() as uow:
        assert await uow.liaisons.get_active(HEAD.id) is None
        actions = [e.action for e in await uow.audit.list_recent(limit=50)]
    assert actions.count("leader.bind") == 2

    # the office group heard of both bindings
    office = [c for c in await drain(h) if c.params.get("chat_id") == OFFICE_CHAT]
    assert sum("一把手" in str(c.params.get("text")) for c in office) == 1
    assert sum("分管领导" in str(c.params.get("text")) for c in office) == 1

    calls = await h.command(OFFICE, "leaders")
    text = h.last_text(calls)
    assert "区直机关工委书记周一" in text and str(HEAD.id) in text
    assert "区直机关工委副书记吴二" in text
    assert "未绑定" in text  # the other units still have nobody


async def test_a_new_binding_replaces_the_holder_who_is_told(h: BotHarness) -> None:
    await bind(h, HEAD, LEAD_UNIT, "一把手")
    await drain(h)
    await bind(h, NEW_HEAD, LEAD_UNIT, "head")

    assert await leaders(h) == [(LEAD_UNIT, InviteRole.FIRST_RESPONSIBLE, NEW_HEAD.id)]
    told = [c for c in await drain(h) if c.params.get("chat_id") == HEAD.id]
    assert told and "不再接收" in str(told[-1].params.get("text"))

    await h.command(OFFICE, "remove_leader", f"{LEAD_UNIT} 一把手")
    assert "已解除" in h.last_text()
    assert await leaders(h) == []
    told = [c for c in await drain(h) if c.params.get("chat_id") == NEW_HEAD.id]
    assert told and "解除" in str(told[-1].params.get("text"))
    # nothing left to end
    await h.command(OFFICE, "remove_leader", f"{LEAD_UNIT} 一把手")
    assert "没有绑定" in h.last_text()


@pytest.mark.parametrize(
    ("command", "args"),
    [
        ("invite", f"{LEAD_UNIT} 一把手"),
        ("leaders", ""),
        ("remove_leader", f"{LEAD_UNIT} 一把手"),
    ],
)
async def test_citizens_and_liaisons_may_not_bind_list_or_end_leaders(
    h: BotHarness, command: str, args: str
) -> None:
    await join(h, LIAISON, LEAD_UNIT)
    await bind(h, HEAD, LEAD_UNIT, "一把手")
    for user in (CITIZEN, LIAISON, HEAD):
        calls = await h.command(user, command, args)
        assert h.texts(calls) == [h.t("zh", "join.office_only")]
    assert await leaders(h) == [(LEAD_UNIT, InviteRole.FIRST_RESPONSIBLE, HEAD.id)]


async def test_an_answer_overdue_past_the_notice_list_reaches_the_units_leaders(h: BotHarness) -> None:
    await join(h, LIAISON, LEAD_UNIT)
    await bind(h, HEAD, LEAD_UNIT, "一把手")
    await bind(h, DEPUTY, LEAD_UNIT, "分管领导")
    case = await file_case(h)
    assert case.answer_due is not None and case.id is not None
    await drain(h)
    rules = h.deps.services.periodic.deadlines

    def at(day: object) -> datetime:
        return datetime.combine(day, datetime.min.time(), tzinfo=rules.tz) + timedelta(hours=10)  # type: ignore[arg-type]

    # on the 通报 day the office and the unit are told, not yet the leaders
    escalation = await h.deps.services.periodic.run(at(rules.escalation_day(case.answer_due)))
    assert escalation.escalated == 1 and escalation.leaders_told == 0
    # leader_after working days later, both leaders; a second pass the same day adds nothing
    day = at(rules.leader_day(case.answer_due))
    first = await h.deps.services.periodic.run(day)
    again = await h.deps.services.periodic.run(day + timedelta(hours=1))
    assert first.leaders_told == 1 and again.leaders_told == 0

    h.clock.set(day + timedelta(hours=2))
    calls = await drain(h)
    to_leaders = {
        c.params.get("chat_id"): str(c.params.get("text"))
        for c in calls
        if c.params.get("chat_id") in (HEAD.id, DEPUTY.id)
    }
    assert set(to_leaders) == {HEAD.id, DEPUTY.id}
    assert case.tracking_no in to_leaders[HEAD.id] and "一把手" in to_leaders[HEAD.id]
    assert "分管领导" in to_leaders[DEPUTY.id]
    for text in to_leaders.values():
        assert PHONE not in text and CITIZEN.first_name not in text and str(CITIZEN.id) not in text

    async with h.deps.uow() as uow:
        history = await uow.events.list(case.id, include_internal=True)
    facts = [e for e in history if e.kind == LEADER_EVENT]
    assert len(facts) == 1 and facts[0].data["reached"] == 2
