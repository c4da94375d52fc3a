"""A vague complaint reaches the office's triage queue on its own (issue 14, SPEC §4.2, §6):
the citizen picks an area the classifier was unsure of, the office sees it in /triage with its
reason, and routes it from there, through the real Application."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.dialogs.complaint import AREA, EVIDENCE, IDENTITY, PLACE, TIME, UNIT
from core.states import CaseState
from tests.bot.conftest import HarnessFactory
from tests.bot.test_complaint_dialog import Citizen, the_case
from tests.bot.test_office import (
    LEAD_UNIT,
    LIAISON,
    OFFICE,
    OFFICE_CHAT,
    alert,
    case_now,
    data_of,
    drain,
    join,
)
from tests.support.harness import BotHarness
from tests.support.updates import ZH_USER

pytestmark = pytest.mark.filterwarnings(
    "ignore:Ignoring `conversation_timeout`:telegram.warnings.PTBUserWarning"
)

# conduct, but torn with procedure (margin under the plan's 0.1): the citizen is asked to pick
VAGUE = "区政务中心窗口工作人员态度很差，让我跑了三趟"


@pytest.fixture
async def h(harness_factory: HarnessFactory) -> AsyncIterator[BotHarness]:
    async with harness_factory(office_chat_id=OFFICE_CHAT, office_admin_ids=str(OFFICE.id)) as harness:
        yield harness


async def test_a_vague_complaint_picked_by_the_citizen_is_queued_for_triage_and_routed_by_the_office(
    h: BotHarness,
) -> None:
    await join(h, LIAISON, LEAD_UNIT)
    result = h.deps.services.classifier.classify(VAGUE)
    assert result.needs_choice and result.area == "conduct"  # the premise: unsure, best guess conduct

    citizen = Citizen(h)
    await h.command(ZH_USER, "new")
    await citizen.say(VAGUE)
    assert citizen.shows(AREA)
    await h.click(ZH_USER, label=h.t("zh", "area.name.conduct"))  # the guess, torn as it was
    for step in (UNIT, PLACE, TIME, EVIDENCE, IDENTITY):
        await citizen.answer(step)
    await citizen.press("submit")

    case = await the_case(h, "ZH-2026-000001")
    assert case.id is not None
    assert (case.state, case.area_final, case.lead_unit_ids) == (CaseState.TRIAGE, "conduct", [])
    delivered = await drain(h)
    assert h.sent_to(LIAISON.id, delivered) == []  # no unit saw it before the office
    [triage_notice] = [c for c in h.sent_to(OFFICE_CHAT, delivered) if case.tracking_no in (c.text or "")]
    assert h.t("zh", "triage.reason.low_confidence") in (triage_notice.text or "")

    await h.command(OFFICE, "triage")
    queue = h.last_text()
    assert case.tracking_no in queue and h.t("zh", "triage.reason.low_confidence") in queue
    assert f"of:areas:{case.id}" in data_of(h)

    await h.click(OFFICE, f"of:areas:{case.id}")
    calls = await h.click(OFFICE, f"of:area:{case.id}:conduct")
    assert alert(calls) == f"已交办工单 {case.tracking_no}：区直机关工委。"
    routed = await case_now(h, case.id)
    assert (routed.state, routed.lead_unit_ids) == (CaseState.ASSIGNED, [LEAD_UNIT])
    [new_case] = h.sent_to(LIAISON.id, await drain(h))
    assert case.tracking_no in (new_case.text or "")
    await h.command(OFFICE, "triage")
    assert h.last_text() == h.t("zh", "office.queue_empty")
