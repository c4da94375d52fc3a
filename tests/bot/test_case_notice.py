"""典型案件通报 (/notice): the office makes a typical case known to every unit or one unit,
negative or positive, through the real Application; the notice never carries who complained
nor the complaint's own words; liaisons and citizens are refused."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.bot.conftest import HarnessFactory
from tests.bot.test_office import (
    CITIZEN,
    DESCRIPTION,
    FINANCE,
    LIAISON,
    OFFICE,
    OFFICE_CHAT,
    PHONE,
    audit_actions,
    case_now,
    drain,
    events,
    file_case,
    join,
)
from tests.support.harness import BotHarness

pytestmark = pytest.mark.filterwarnings(
    "ignore:Ignoring `conversation_timeout`:telegram.warnings.PTBUserWarning"
)
LESSON = "窗口人员推诿扯皮，已约谈单位负责人，责令限期整改。各单位引以为戒。"


@pytest.fixture
async def h(harness_factory: HarnessFactory) -> AsyncIterator[BotHarness]:
    async with harness_factory(office_chat_id=OFFICE_CHAT, office_admin_ids=str(OFFICE.id)) as harness:
        await join(harness, LIAISON, "organs_work_committee")
        await join(harness, FINANCE, "finance_bureau")
        await drain(harness)
        yield harness


async def test_a_negative_notice_reaches_every_unit_without_identity_and_marks_the_case(
    h: BotHarness,
) -> None:
    case = await file_case(h)
    assert case.id is not None and not case.typical
    await h.command(OFFICE, "notice", f"{case.tracking_no} 反面 {LESSON}")
    assert h.last_text() == h.t(
        "zh", "office.case_notice_sent", tracking_no=case.tracking_no, to="全部单位", count=2
    )
    sent = [c for c in await drain(h) if c.method == "sendMessage" and LESSON in (c.text or "")]
    assert {c.chat_id for c in sent} == {LIAISON.id, FINANCE.id}
    for call in sent:
        text = call.text or ""
        assert "典型案件通报" in text and case.tracking_no in text and "区直机关工委" in text
        assert DESCRIPTION not in text and PHONE not in text and str(CITIZEN.id) not in text
    assert (await case_now(h, case.id)).typical
    [notice] = [e for e in await events(h, case.id) if e.kind == "notice"]
    assert notice.data["positive"] is False and notice.text == LESSON
    assert "case.notice" in await audit_actions(h)


async def test_a_positive_notice_to_one_unit(h: BotHarness) -> None:
    case = await file_case(h)
    await h.command(OFFICE, "notice", f"{case.tracking_no} 正面 区财政局 及时回应群众诉求，做法值得推广。")
    sent = [c for c in await drain(h) if c.method == "sendMessage" and "做法值得推广" in (c.text or "")]
    assert [c.chat_id for c in sent] == [FINANCE.id]
    assert "典型案例推介" in (sent[0].text or "")


@pytest.mark.parametrize(
    "args", ["", "ZH-2026-000001", "ZH-2026-000001 中性 内容", "ZH-2026-000001 正面 区财政局"]
)
async def test_a_malformed_notice_gets_the_usage(h: BotHarness, args: str) -> None:
    await file_case(h)
    await h.command(OFFICE, "notice", args)
    assert h.last_text() == h.t("zh", "office.case_notice_usage", limit=3000)


async def test_liaisons_and_citizens_may_not_issue_notices(h: BotHarness) -> None:
    case = await file_case(h)
    for user in (LIAISON, CITIZEN):
        await h.command(user, "notice", f"{case.tracking_no} 反面 {LESSON}")
        assert h.last_text() == h.t("zh", "office.only")
    assert not (await case_now(h, case.id or 0)).typical
