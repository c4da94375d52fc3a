"""/forget through the real Application (issue 15): a citizen's closed case loses its
complainant at once, an open one goes to the office (case numbers only, never who), and the
office decides with a button; afterwards the phone number is in no table. Staff and users the
bot keeps nothing about are refused, and only the office may decide."""

from __future__ import annotations

import itertools
import re
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import JSON, String, Text, cast, select
from telegram import Update

from core.attachments import AttachmentKind
from core.cases import Case
from core.retention import AUDIT_FORGET_DECIDE, AUDIT_FORGET_ERASE, AUDIT_FORGET_REQUEST, SYSTEM_ACTOR
from core.services.complaints import ComplaintDraft, Evidence
from core.states import CaseState
from storage.models import Base
from tests.bot.conftest import HarnessFactory
from tests.support.harness import BotHarness
from tests.support.recording_request import RecordedCall
from tests.support.updates import TgUser

OFFICE_CHAT = -100_778
OFFICE = TgUser(900_101, "办公室王五", "zh-hans")
CITIZEN = TgUser(100_601, "张三", "zh-hans")
STRANGER = TgUser(100_602, "路人", "zh-hans")
LIAISON = TgUser(800_101, "区直机关工委刘六", "zh-hans")
PHONE_DIGITS = "13812345678"
PHONE = "+86" + PHONE_DIGITS
CODE = re.compile(r"<code>([2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{4})</code>")

pytestmark = pytest.mark.filterwarnings(
    "ignore:Ignoring `conversation_timeout`:telegram.warnings.PTBUserWarning"
)

_query_ids = itertools.count(1)
_message_ids = itertools.count(60_000)


@pytest.fixture
async def h(harness_factory: HarnessFactory) -> AsyncIterator[BotHarness]:
    async with harness_factory(office_chat_id=OFFICE_CHAT, office_admin_ids=str(OFFICE.id)) as harness:
        yield harness


async def file_case(h: BotHarness, n: int) -> Case:
    draft = ComplaintDraft(
        description=f"3号窗口工作人员态度恶劣，材料齐全还让我跑了三趟（第{n}次）。",
        area="conduct",
        area_auto="conduct",
        confidence=0.9,
        target_text="3号窗口的工作人员",
        anonymous=False,
        phone=PHONE,
        evidence=(Evidence(f"AgACAgUAAx-{n}", f"AQAD-{n}", AttachmentKind.PHOTO, "image/jpeg", 1000),),
    )
    filed = await h.deps.services.complaints.file(CITIZEN.id, draft)
    h.clock.advance(timedelta(minutes=1))
    return filed.case


async def close(h: BotHarness, case: Case) -> None:
    assert case.id is not None
    async with h.deps.uow() as uow:
        stored = await uow.cases.get(case.id, for_update=True)
        assert stored is not None
        stored.state, stored.closed_at = CaseState.CLOSED, h.clock.now()
        await uow.cases.update(stored)
        await uow.commit()


async def drain(h: BotHarness) -> list[RecordedCall]:
    sender = h.deps.sender
    assert sender is not None
    mark = h.request.mark()
    for _ in range(10):
        h.clock.advance(timedelta(seconds=5))
        await sender.drain_once()
    return h.request.since(mark)


def office_press(h: BotHarness, user: TgUser, data: str) -> Update:
    """``user`` presses a button with ``data`` on a bot message in the office chat."""
    query = {
        "id": f"fq{next(_query_ids)}",
        "from": user.to_json(),
        "chat_instance": "office-chat",
        "data": data,
        "message": {
            "message_id": next(_message_ids),
            "date": int(h.clock.now().timestamp()),
            "chat": {"id": OFFICE_CHAT, "type": "group", "title": "专项整治办公室"},
            "from": h.app.bot.bot.to_dict(),
            "text": "删除个人信息申请",
        },
    }
    return h.make.update(callback_query=query)


def alert(calls: list[RecordedCall]) -> str:
    answers = [c for c in calls if c.method == "answerCallbackQuery"]
    assert answers, [c.method for c in calls]
    return str(answers[-1].params.get("text", ""))


async def phone_hits(h: BotHarness) -> list[str]:
    """Every text or JSON column of every table holding the phone number: table.column."""
    factory = h.deps.session_factory
    assert factory is not None
    found = []
    async with factory() as session:
        for table in Base.metadata.sorted_tables:
            for column in table.columns:
                if not isinstance(column.type, String | Text | JSON):
                    continue
                stmt = select(column).where(cast(column, Text).contains(PHONE_DIGITS)).limit(1)
                if (await session.execute(stmt)).first() is not None:
                    found.append(f"{table.name}.{column.name}")
    return found


async def case_now(h: BotHarness, case: Case) -> Case:
    assert case.id is not None
    async with h.deps.uow() as uow:
        stored = await uow.cases.get(case.id)
    assert stored is not None
    return stored


async def audit(h: BotHarness) -> list[tuple[int, str, str]]:
    async with h.deps.uow() as uow:
        return [(e.actor_id, e.action, e.target) for e in reversed(await uow.audit.list_recent(limit=100))]


async def test_forget_erases_closed_cases_at_once_and_asks_the_office_about_open_ones(h: BotHarness) -> None:
    closed = await file_case(h, 1)
    still_open = await file_case(h, 2)
    await close(h, closed)
    await drain(h)  # the filing's own notices
    assert "citizens.phone" in await phone_hits(h)

    await h.command(CITIZEN, "forget")
    assert h.last_text() == h.t("zh", "forget.confirm", closed=1, open=1)
    assert [d for _, d in h.buttons()] == ["fgt:yes", "fgt:no"]

    await h.click(CITIZEN, "fgt:yes")
    reply = h.last_text()
    assert closed.tracking_no in reply and still_open.tracking_no in reply
    assert h.t("zh", "forget.done") in reply
    # the closed case has no complainant any more; the open one keeps the link for now
    assert (await case_now(h, closed)).citizen_id is None
    assert (await case_now(h, still_open)).citizen_id is not None
    # the phone is gone at once, whatever the office decides
    assert await phone_hits(h) == []

    delivered = await drain(h)
    [request] = [c for c in h.sent_to(OFFICE_CHAT, delivered) if still_open.tracking_no in (c.text or "")]
    assert PHONE_DIGITS not in (request.text or "") and str(CITIZEN.id) not in (request.text or "")
    assert closed.tracking_no not in (request.text or "")
    erase_now, keep = (d for _, d in request.buttons)
    assert erase_now is not None and erase_now.startswith("fgt:e:") and keep == "fgt:k:" + erase_now[6:]
    # no unit heard of it
    assert all(c.chat_id == OFFICE_CHAT for c in delivered if "fgt:" in str(c.reply_markup))

    # only the office decides
    calls = await h.send(office_press(h, CITIZEN, erase_now))
    assert alert(calls) == h.t("zh", "forget.office_only")
    assert (await case_now(h, still_open)).citizen_id is not None

    calls = await h.send(office_press(h, OFFICE, erase_now))
    assert still_open.tracking_no in alert(calls)
    assert (await case_now(h, still_open)).citizen_id is None
    async with h.deps.uow() as uow:
        assert await uow.citizens.get_by_user(CITIZEN.id) is None
    calls = await h.send(office_press(h, OFFICE, erase_now))  # a second press
    assert alert(calls) == h.t("zh", "forget.office_already")

    # the citizen is told, with no case number in their chat
    told = [c for c in h.sent_to(CITIZEN.id, await drain(h))]
    assert [c.text for c in told] == [h.t("zh", "forget.decided_erase")]

    trail = await audit(h)
    actions = [a for _, a, _ in trail]
    assert AUDIT_FORGET_REQUEST in actions and AUDIT_FORGET_DECIDE in actions
    assert (SYSTEM_ACTOR, AUDIT_FORGET_ERASE, closed.tracking_no) in trail
    assert (OFFICE.id, AUDIT_FORGET_ERASE, still_open.tracking_no) in trail
    assert not [t for t in trail if t[0] == CITIZEN.id]  # the audit never names them
    assert await phone_hits(h) == []


async def test_kept_until_closed_is_erased_by_the_pass_when_the_case_closes(h: BotHarness) -> None:
    case = await file_case(h, 1)
    await h.command(CITIZEN, "forget")
    assert h.last_text() == h.t("zh", "forget.confirm", closed=0, open=1)
    await h.click(CITIZEN, "fgt:yes")
    [request] = [c for c in h.sent_to(OFFICE_CHAT, await drain(h)) if c.buttons]
    keep = request.buttons[1][1]
    assert keep is not None and keep.startswith("fgt:k:")
    await h.send(office_press(h, OFFICE, keep))
    assert (await case_now(h, case)).citizen_id is not None  # the citizen still hears of it

    await h.deps.services.retention.run_pass()
    assert (await case_now(h, case)).citizen_id is not None  # open: never erased

    await close(h, case)
    done = await h.deps.services.retention.run_pass()  # long before any retention date
    assert done.cases == [case.tracking_no]
    assert (await case_now(h, case)).citizen_id is None
    async with h.deps.uow() as uow:
        assert await uow.citizens.get_by_user(CITIZEN.id) is None
    assert await phone_hits(h) == []


async def test_declining_erases_nothing(h: BotHarness) -> None:
    case = await file_case(h, 1)
    await close(h, case)
    await h.command(CITIZEN, "forget")
    await h.click(CITIZEN, "fgt:no")
    assert h.last_text() == h.t("zh", "forget.declined")
    assert (await case_now(h, case)).citizen_id is not None
    assert "citizens.phone" in await phone_hits(h)


async def test_a_user_the_bot_keeps_nothing_about_is_told_so(h: BotHarness) -> None:
    await h.command(STRANGER, "forget")
    assert h.last_text() == h.t("zh", "forget.nothing_kept")
    assert h.buttons() == []


async def test_staff_are_refused(h: BotHarness) -> None:
    await h.command(OFFICE, "invite", "organs_work_committee")
    match = CODE.search(h.last_text())
    assert match, h.last_text()
    await h.command(LIAISON, "join", match.group(1))
    for user in (LIAISON, OFFICE):
        await h.command(user, "forget")
        assert h.last_text() == h.t("zh", "forget.staff")
        assert h.buttons() == []


async def test_forged_office_data_is_stale(h: BotHarness) -> None:
    calls = await h.send(office_press(h, OFFICE, "fgt:e:abc"))
    assert alert(calls) == h.t("zh", "fallback.stale_button")
    calls = await h.send(office_press(h, OFFICE, "fgt:e:999"))
    assert alert(calls) == h.t("zh", "error.not_found")


async def test_forget_in_the_middle_of_a_complaint_drops_the_draft_and_the_bot_goes_on(h: BotHarness) -> None:
    case = await file_case(h, 1)
    await close(h, case)
    await h.say(CITIZEN, "3号窗口工作人员态度恶劣，材料齐全还让我跑了三趟，请处理。")
    assert h.buttons()  # the dialog asks about the area
    await h.command(CITIZEN, "forget")
    await h.click(CITIZEN, "fgt:yes")
    assert case.tracking_no in h.last_text()
    await h.say(CITIZEN, "还有一件事")
    # the dialog in progress finds its draft gone and says so: no error, no phone kept
    assert h.texts()[0] == h.t("zh", "complaint.draft_lost")
    assert await phone_hits(h) == []
