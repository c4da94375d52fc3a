"""Recusal through the real Application (SPEC §3, issue 12): the issue's own example, a citizen
who writes "区政务中心窗口让我来回跑了五趟" and skips the unit step, files a procedure case that
区政务中心 would be copied on; its liaison is told nothing, its /inbox does not list the case,
and a forged card button reads nothing. Then the office, in its private chat, marks a unit by
hand from the case card: the unit's liaison loses the case at once."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from core.cases import Case
from core.services.complaints import ComplaintDraft
from core.states import CaseState
from tests.bot.conftest import HarnessFactory
from tests.support.harness import BotHarness
from tests.support.recording_request import RecordedCall
from tests.support.updates import TgUser

OFFICE_CHAT = -100_777
OFFICE = TgUser(900_001, "办公室王五", "zh-hans")
CITIZEN = TgUser(100_601, "李四", "zh-hans")
CENTER = TgUser(800_050, "政务中心联络员", "zh-hans")
SUPERVISION = TgUser(800_060, "监察局联络员", "zh-hans")
CODE = re.compile(r"<code>([2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{4})</code>")
TRACKING = re.compile(r"ZH-\d{4}-\d{6}")

pytestmark = pytest.mark.filterwarnings(
    "ignore:Ignoring `conversation_timeout`:telegram.warnings.PTBUserWarning"
)


@pytest.fixture
async def h(harness_factory: HarnessFactory) -> AsyncIterator[BotHarness]:
    async with harness_factory(office_chat_id=OFFICE_CHAT, office_admin_ids=str(OFFICE.id)) as harness:
        yield harness


def t(h: BotHarness, key: str, **params: object) -> str:
    return h.t("zh", key, **params)


async def join(h: BotHarness, user: TgUser, unit_id: str) -> None:
    await h.command(OFFICE, "invite", unit_id)
    match = CODE.search(h.last_text())
    assert match, h.last_text()
    await h.command(user, "join", match.group(1))
    assert "联络员" in h.last_text()


async def drain(h: BotHarness) -> list[RecordedCall]:
    sender = h.deps.sender
    assert sender is not None
    mark = h.request.mark()
    for _ in range(10):
        h.clock.advance(timedelta(seconds=5))
        await sender.drain_once()
    return h.request.since(mark)


async def the_case(h: BotHarness, tracking_no: str) -> Case:
    async with h.deps.uow() as uow:
        case = await uow.cases.get_by_tracking_no(tracking_no)
    assert case is not None
    return case


async def file_skipping_the_unit(h: BotHarness, description: str) -> str:
    """The citizen's whole dialog, answering 跳过 at the unit step; returns the tracking number."""
    button = lambda key: t(h, f"complaint.button.{key}")  # noqa: E731
    await h.command(CITIZEN, "new")
    await h.say(CITIZEN, description)
    await h.click(CITIZEN, label=button("confirm_area"))
    # the bot suggests the unit from the description; the citizen does not pick it
    assert "区政务中心" in [label for label, _ in h.buttons()]
    await h.click(CITIZEN, label=button("skip"))
    await h.say(CITIZEN, "一楼大厅")
    await h.say(CITIZEN, "上周三")
    await h.click(CITIZEN, label=button("skip_evidence"))
    await h.say(CITIZEN, button("anonymous"))
    calls = await h.click(CITIZEN, label=button("submit"))
    match = TRACKING.search(h.last_text(calls))
    assert match, h.last_text(calls)
    return match.group(0)


async def test_the_issue_example_never_reaches_the_services_center(h: BotHarness) -> None:
    await join(h, CENTER, "government_services_center")
    await join(h, SUPERVISION, "supervision_bureau")
    await drain(h)

    tracking_no = await file_skipping_the_unit(h, "区政务中心窗口让我来回跑了五趟，每次都让我补新的证明材料")
    sent = await drain(h)

    case = await the_case(h, tracking_no)
    assert case.area == "procedure" and case.state is CaseState.ASSIGNED
    assert case.target_unit_id == "government_services_center"
    assert "government_services_center" not in (*case.lead_unit_ids, *case.assist_unit_ids)
    assert h.sent_to(CENTER.id, sent) == []  # not told, not copied
    assert [c.method for c in h.sent_to(SUPERVISION.id, sent)] == ["sendMessage"]  # the lead's card
    # its inbox does not list it, and a forged card button reads nothing
    await h.command(CENTER, "inbox")
    assert tracking_no not in h.last_text()
    calls = await h.send(h.make.callback(CENTER, f"lc:view:{case.id}"))
    answers = [c for c in calls if c.method == "answerCallbackQuery"]
    assert answers and tracking_no not in str(answers[0].params.get("text", ""))
    assert not any(tracking_no in (c.text or "") for c in calls if c.method != "answerCallbackQuery")


async def test_the_office_marks_a_unit_from_the_card_and_it_loses_the_case(h: BotHarness) -> None:
    await join(h, CENTER, "government_services_center")
    await drain(h)
    filed = await h.deps.services.complaints.file(
        CITIZEN.id,
        ComplaintDraft(
            description="窗口要的证明材料一次比一次多，让我跑了五趟",
            area="procedure",
            area_auto="procedure",
            confidence=0.9,
        ),
    )
    case = filed.case
    assert "government_services_center" in case.assist_unit_ids
    await drain(h)
    await h.command(CENTER, "inbox")
    assert case.tracking_no in h.last_text()

    await h.command(OFFICE, "case_office", case.tracking_no)
    await h.click(OFFICE, label=t(h, "office.recusal.button_mark"))
    assert case.tracking_no in h.last_text()
    await h.click(OFFICE, data=f"of:tgt:{case.id}:government_services_center")
    assert "区政务中心" in h.last_text()
    calls = await h.click(OFFICE, label=t(h, "office.recusal.button_confirm"))

    [answer] = [c for c in calls if c.method == "answerCallbackQuery"]
    assert "区政务中心" in str(answer.params.get("text"))
    card = h.last_text(calls)
    assert "回避单位" in card and "区政务中心" in card
    now = await the_case(h, case.tracking_no)
    assert "government_services_center" not in now.assist_unit_ids
    await h.command(CENTER, "inbox")
    assert case.tracking_no not in h.last_text()


async def test_a_case_with_two_candidates_shows_them_and_the_office_picks_one(h: BotHarness) -> None:
    filed = await h.deps.services.complaints.file(
        CITIZEN.id,
        ComplaintDraft(
            description="区政务中心让我去区财政局，区财政局又让我回区政务中心，来回跑了五趟",
            area="procedure",
            area_auto="procedure",
            confidence=0.9,
        ),
    )
    case = filed.case
    assert case.state is CaseState.TRIAGE

    await h.command(OFFICE, "triage")
    queue = h.last_text()
    assert case.tracking_no in queue and "被投诉单位候选" in queue
    await h.command(OFFICE, "case_office", case.tracking_no)
    labels = [label for label, _ in h.buttons()]
    assert t(h, "office.recusal.button_is", unit="区财政局") in labels
    assert t(h, "office.recusal.button_none") in labels
    await h.click(OFFICE, label=t(h, "office.recusal.button_is", unit="区财政局"))
    await h.click(OFFICE, label=t(h, "office.recusal.button_confirm"))
    now = await the_case(h, case.tracking_no)
    assert now.target_unit_id == "finance_bureau"
    assert not now.target_pending
    assert "government_services_center" not in now.may_not_see()  # released
