"""The office through the real Application (SPEC §6, §10): the triage queue (a "not sure" case
routed to an area, its lead liaison notified, the citizen told), re-routing a returned case,
an extension approved and another refused with a reason from the office chat, a rejection with
a reason, a spot check with a reopen, a broadcast, members, findings, undelivered messages,
the office menu; and, for every office command and every office button, a citizen and a
liaison refused, whatever data they send.

Cases are filed through ``ComplaintService`` and moved by liaisons through their services (their
own dialogs have their own tests); the outbox is drained with the real sender over the
harness's recording request. The office chat is a group: updates from it are built here."""

from __future__ import annotations

import itertools
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from telegram import Update

from core.cases import Case, CaseEvent, Satisfaction
from core.services.complaints import ComplaintDraft
from core.states import CaseState
from tests.bot.conftest import HarnessFactory
from tests.support.harness import BotHarness
from tests.support.recording_request import RecordedCall
from tests.support.updates import TgUser

OFFICE_CHAT = -100_777
OFFICE = TgUser(900_001, "办公室王五", "zh-hans")
CITIZEN = TgUser(100_501, "张三", "zh-hans")
LIAISON = TgUser(800_001, "区直机关工委刘六", "zh-hans")  # conduct's lead unit
EFFICIENCY = TgUser(800_011, "行政效能监察室孙九", "zh-hans")
FINANCE = TgUser(800_030, "财政局周十", "zh-hans")
NEWCOMER = TgUser(900_002, "新同事", "zh-hans")
PHONE = "+8613812345678"
LEAD_UNIT = "organs_work_committee"
EFFICIENCY_UNIT = "efficiency_supervision_office"
FINANCE_UNIT = "finance_bureau"
DESCRIPTION = "3号窗口工作人员态度恶劣，材料齐全还让我跑了三趟。"
REPLY = "经调查核实，3号窗口工作人员态度生硬属实，已对其批评教育并调整岗位，向您致歉。"
CODE = re.compile(r"<code>([2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{4})</code>")

# Texts that reach the complaint dialog start it, and its conversation_timeout needs a running
# JobQueue, which the harness does not start.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Ignoring `conversation_timeout`:telegram.warnings.PTBUserWarning"
)

_group_message_ids = itertools.count(50_000)
_group_query_ids = itertools.count(1)


@pytest.fixture
async def h(harness_factory: HarnessFactory) -> AsyncIterator[BotHarness]:
    async with harness_factory(office_chat_id=OFFICE_CHAT, office_admin_ids=str(OFFICE.id)) as harness:
        yield harness


# -- helpers ----------------------------------------------------------------------------------------


def draft(**changes: object) -> ComplaintDraft:
    values: dict[str, object] = {
        "description": DESCRIPTION,
        "area": "conduct",
        "area_auto": "conduct",
        "confidence": 0.9,
        "target_text": "3号窗口的工作人员",
        "anonymous": False,
        "phone": PHONE,
    }
    values.update(changes)
    return ComplaintDraft(**values)  # type: ignore[arg-type]


async def file_case(h: BotHarness, **changes: object) -> Case:
    filed = await h.deps.services.complaints.file(CITIZEN.id, draft(**changes))
    assert filed.case.id is not None
    return filed.case


async def join(h: BotHarness, user: TgUser, unit_id: str) -> None:
    """The office makes a code with /invite, the user sends /join CODE."""
    await h.command(OFFICE, "invite", unit_id)
    match = CODE.search(h.last_text())
    assert match, h.last_text()
    await h.command(user, "join", match.group(1))
    assert "联络员" in h.last_text()


async def case_now(h: BotHarness, case_id: int) -> Case:
    async with h.deps.uow() as uow:
        case = await uow.cases.get(case_id)
    assert case is not None
    return case


async def events(h: BotHarness, case_id: int) -> list[CaseEvent]:
    async with h.deps.uow() as uow:
        return await uow.events.list(case_id, include_internal=True)


async def audit_actions(h: BotHarness) -> list[str]:
    async with h.deps.uow() as uow:
        return [e.action for e in reversed(await uow.audit.list_recent(limit=200))]


async def drain(h: BotHarness) -> list[RecordedCall]:
    """Everything queued, sent (several rounds: the sender paces each chat)."""
    sender = h.deps.sender
    assert sender is not None
    mark = h.request.mark()
    for _ in range(10):
        h.clock.advance(timedelta(seconds=5))
        await sender.drain_once()
    return h.request.since(mark)


async def answered_case(h: BotHarness) -> Case:
    case = await file_case(h)
    assert case.id is not None
    await h.deps.services.liaison.sign(LIAISON.id, case.id)
    await h.deps.services.liaison.reply(LIAISON.id, case.id, REPLY)
    return case


async def closed_case(h: BotHarness) -> Case:
    case = await answered_case(h)
    assert case.id is not None
    await h.deps.services.follow_up.rate(CITIZEN.id, case.id, Satisfaction.SATISFIED)
    return case


def alert(calls: list[RecordedCall]) -> str:
    answers = [c for c in calls if c.method == "answerCallbackQuery"]
    assert answers, [c.method for c in calls]
    return str(answers[-1].params.get("text", ""))


def data_of(h: BotHarness, calls: list[RecordedCall] | None = None) -> list[str | None]:
    return [d for _, d in h.buttons(calls)]


def _bot_json(h: BotHarness) -> dict[str, Any]:
    return h.app.bot.bot.to_dict()


def _office_chat(chat_id: int = OFFICE_CHAT) -> dict[str, Any]:
    return {"id": chat_id, "type": "group", "title": "专项整治办公室"}


def group_text(
    h: BotHarness,
    user: TgUser,
    text: str,
    *,
    reply_to: RecordedCall | None = None,
    chat_id: int = OFFICE_CHAT,
) -> Update:
    """A message from ``user`` in the office chat (or another group), replying to the bot's
    ``reply_to``."""
    message: dict[str, Any] = {
        "message_id": next(_group_message_ids),
        "date": int(h.clock.now().timestamp()),
        "chat": _office_chat(chat_id),
        "from": user.to_json(),
        "text": text,
    }
    if text.startswith("/"):
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    if reply_to is not None:
        message["reply_to_message"] = {
            "message_id": reply_to.message_id,
            "date": int(h.clock.now().timestamp()),
            "chat": _office_chat(),
            "from": _bot_json(h),
            "text": reply_to.text or "",
        }
    return h.make.update(message=message)


def group_press(h: BotHarness, user: TgUser, data: str) -> Update:
    """``user`` presses a button with ``data`` on a bot message in the office chat."""
    query = {
        "id": f"gq{next(_group_query_ids)}",
        "from": user.to_json(),
        "chat_instance": "office-chat",
        "data": data,
        "message": {
            "message_id": next(_group_message_ids),
            "date": int(h.clock.now().timestamp()),
            "chat": _office_chat(),
            "from": _bot_json(h),
            "text": "⏳ 延期申请",
        },
    }
    return h.make.update(callback_query=query)


def prompt_in(calls: list[RecordedCall], chat_id: int) -> RecordedCall:
    """The question the bot asked in ``chat_id`` (it forces a reply)."""
    [asked] = [
        c
        for c in calls
        if c.method == "sendMessage" and c.chat_id == chat_id and (c.reply_markup or {}).get("force_reply")
    ]
    return asked


# -- the triage queue ----------------------------------------------------------------------------------


async def test_an_office_member_routes_a_not_sure_case_from_the_queue_and_everyone_is_told(
    h: BotHarness,
) -> None:
    await join(h, LIAISON, LEAD_UNIT)
    case = await file_case(h, area=None, area_auto="conduct", confidence=0.3)
    assert case.id is not None and case.state is CaseState.TRIAGE

    await h.command(OFFICE, "triage")
    queue = h.last_text()
    assert case.tracking_no in queue and "待分办" in queue and "投诉人不确定问题类别" in queue
    assert data_of(h) == [
        f"of:view:{case.id}",
        f"of:route:{case.id}",
        f"of:areas:{case.id}",
        f"of:reject:{case.id}",
    ]

    # choose the area: the area picker, then the area
    await h.click(OFFICE, f"of:areas:{case.id}")
    assert f"of:area:{case.id}:conduct" in data_of(h)
    calls = await h.click(OFFICE, f"of:area:{case.id}:conduct")

    assert alert(calls) == f"已交办工单 {case.tracking_no}：区直机关工委。"
    routed = await case_now(h, case.id)
    assert (routed.state, routed.lead_unit_ids, routed.area_final) == (
        CaseState.ASSIGNED,
        [LEAD_UNIT],
        "conduct",
    )
    assert "已交办" in h.last_text()  # the card, updated in place
    delivered = await drain(h)
    [new_case] = h.sent_to(LIAISON.id, delivered)
    assert case.tracking_no in (new_case.text or "") and "新交办投诉" in (new_case.text or "")
    assert str(CITIZEN.id) not in (new_case.text or "") and PHONE not in (new_case.text or "")
    [told] = h.sent_to(CITIZEN.id, delivered)
    assert case.tracking_no in (told.text or "") and "区直机关工委" in (told.text or "")
    assert "case.route" in await audit_actions(h)
    await h.command(OFFICE, "triage")
    assert h.last_text() == h.t("zh", "office.queue_empty")


async def test_a_returned_case_is_reassigned_to_a_unit_the_office_names(h: BotHarness) -> None:
    await join(h, LIAISON, LEAD_UNIT)
    await join(h, EFFICIENCY, EFFICIENCY_UNIT)
    case = await file_case(h)
    assert case.id is not None
    await h.deps.services.liaison.return_case(LIAISON.id, case.id, "该窗口由区政务中心管理，不属本单位职责。")
    await drain(h)

    await h.command(OFFICE, "case_office", case.tracking_no)
    card = h.last_text()
    # the office sees who complained (never the units) and the whole history
    assert str(CITIZEN.id) in card and PHONE in card and "不属本单位职责" in card and "〔内部〕" in card
    # the area's only lead returned it: the office is asked to name the lead unit
    calls = await h.click(OFFICE, f"of:route:{case.id}")
    assert alert(calls) == h.t("zh", "office.error_no_lead")
    picker = data_of(h)
    assert f"of:lead:{case.id}:conduct:{EFFICIENCY_UNIT}" in picker
    await h.click(OFFICE, f"of:lead:{case.id}:conduct:{EFFICIENCY_UNIT}")

    moved = await case_now(h, case.id)
    assert (moved.state, moved.lead_unit_ids) == (CaseState.ASSIGNED, [EFFICIENCY_UNIT])
    delivered = await drain(h)
    # copied on it at first (an assisting unit of the area), now its lead
    [now_lead] = h.sent_to(EFFICIENCY.id, delivered)
    assert case.tracking_no in (now_lead.text or "") and "新交办投诉" in (now_lead.text or "")
    assert h.sent_to(LIAISON.id, delivered) == []


async def test_the_office_card_is_not_shown_in_another_group(h: BotHarness) -> None:
    case = await file_case(h)
    calls = await h.send(group_text(h, OFFICE, f"/case_office {case.tracking_no}", chat_id=-100_999))

    assert h.texts(calls) == [h.t("zh", "office.error_place")]


# -- extensions from the office chat --------------------------------------------------------------------


async def extension_requested(h: BotHarness) -> Case:
    await join(h, LIAISON, LEAD_UNIT)
    case = await file_case(h)
    assert case.id is not None
    await h.deps.services.liaison.sign(LIAISON.id, case.id)
    await h.deps.services.extensions.request(LIAISON.id, case.id, 3, "需要调取当日监控录像并约谈当事人。")
    await drain(h)
    return await case_now(h, case.id)


async def test_the_office_approves_an_extension_and_the_citizen_hears_the_new_deadline(h: BotHarness) -> None:
    case = await extension_requested(h)
    assert case.id is not None and case.answer_due is not None
    [request] = [
        c for c in h.request.of("sendMessage") if c.chat_id == OFFICE_CHAT and "延期申请" in (c.text or "")
    ]
    assert f"ext:approve:{case.id}" in data_of(h, [request])

    calls = await h.send(group_press(h, OFFICE, f"ext:approve:{case.id}"))

    extended = await case_now(h, case.id)
    assert extended.state is CaseState.SIGNED and extended.extended
    assert extended.answer_due is not None and extended.answer_due > case.answer_due
    assert alert(calls).startswith(f"已同意工单 {case.tracking_no} 延期")
    assert any(c.method == "editMessageReplyMarkup" for c in calls)  # the buttons go
    delivered = await drain(h)
    [told] = h.sent_to(CITIZEN.id, delivered)
    assert "延长 3 个工作日" in (told.text or "")
    assert f"{extended.answer_due.month}月{extended.answer_due.day}日" in (told.text or "")
    assert "extension.approve" in await audit_actions(h)
    # pressed again (someone else decided already): a clear answer, nothing changes
    again = await h.send(group_press(h, OFFICE, f"ext:approve:{case.id}"))
    assert alert(again) == h.t("zh", "error.invalid_transition")


async def test_the_office_refuses_an_extension_with_a_reason_given_in_the_office_chat(h: BotHarness) -> None:
    case = await extension_requested(h)
    assert case.id is not None

    calls = await h.send(group_press(h, OFFICE, f"ext:refuse:{case.id}"))
    prompt = prompt_in(calls, OFFICE_CHAT)
    assert h.t("zh", "extension.ask_refuse_reason") in (prompt.text or "")

    # chatter in the group that does not answer the question is not taken for the reason
    await h.send(group_text(h, OFFICE, "大家下午好"))
    assert (await case_now(h, case.id)).state is CaseState.EXTENSION_REQUESTED
    calls = await h.send(group_text(h, OFFICE, "调取录像不需要三个工作日，请按期答复。", reply_to=prompt))

    assert h.texts(calls) == [h.t("zh", "extension.refused_done", tracking_no=case.tracking_no)]
    refused = await case_now(h, case.id)
    assert (refused.state, refused.answer_due, refused.extended) == (CaseState.SIGNED, case.answer_due, False)
    delivered = await drain(h)
    [unit] = h.sent_to(LIAISON.id, delivered)
    assert "调取录像不需要三个工作日" in (unit.text or "")
    assert h.sent_to(CITIZEN.id, delivered) == []  # the deliberation is internal


# -- reject, spot check, reopen, supervise ----------------------------------------------------------------


async def test_a_rejection_with_a_reason_reaches_the_citizen(h: BotHarness) -> None:
    case = await file_case(h, area=None)
    assert case.id is not None

    await h.command(OFFICE, "case_office", case.tracking_no)
    calls = await h.click(OFFICE, f"of:reject:{case.id}")
    assert "不予受理的理由" in (prompt_in(calls, OFFICE.id).text or "")
    calls = await h.say(OFFICE, "反映的是邻里纠纷，不属于机关作风问题，请向社区调解委员会反映。")

    assert h.texts(calls) == [h.t("zh", "office.rejected_done", tracking_no=case.tracking_no)]
    assert (await case_now(h, case.id)).state is CaseState.REJECTED
    delivered = await drain(h)
    [told] = h.sent_to(CITIZEN.id, delivered)
    assert "不予受理" in (told.text or "") and "请向社区调解委员会反映" in (told.text or "")


async def test_cancel_drops_the_question_and_the_text_is_not_a_reason(h: BotHarness) -> None:
    case = await file_case(h, area=None)
    assert case.id is not None
    await h.command(OFFICE, "case_office", case.tracking_no)
    await h.click(OFFICE, f"of:reject:{case.id}")

    calls = await h.command(OFFICE, "cancel")
    assert h.texts(calls) == [h.t("zh", "office.cancelled")]
    await h.say(OFFICE, "这句话不是理由。")

    assert (await case_now(h, case.id)).state is CaseState.TRIAGE


async def test_a_spot_check_samples_closed_cases_and_one_is_reopened_from_its_card(h: BotHarness) -> None:
    await join(h, LIAISON, LEAD_UNIT)
    closed = [await closed_case(h) for _ in range(2)]
    await file_case(h)  # open: never sampled

    await h.command(OFFICE, "spotcheck", "5")

    text = h.last_text()
    assert "随机抽查" in text and all(c.tracking_no in text for c in closed)
    assert set(data_of(h)) == {f"of:view:{c.id}" for c in closed}
    target = closed[0]
    assert target.id is not None
    await h.click(OFFICE, f"of:view:{target.id}")
    assert f"of:reopen:{target.id}" in data_of(h) and f"of:close:{target.id}" in data_of(h)
    await h.click(OFFICE, f"of:reopen:{target.id}")
    calls = await h.say(OFFICE, "答复未说明对工作人员的处理结果，请重新办理。")

    assert h.texts(calls) == [h.t("zh", "office.reopened_done", tracking_no=target.tracking_no)]
    reopened = await case_now(h, target.id)
    assert (reopened.state, reopened.lead_unit_ids) == (CaseState.ASSIGNED, [LEAD_UNIT])
    assert [a for a in await audit_actions(h) if a in ("spot_check", "case.view", "case.reopen")] == [
        "spot_check",
        "case.view",
        "case.reopen",
    ]
    delivered = await drain(h)
    assert any("处理结果" in (c.text or "") for c in h.sent_to(LIAISON.id, delivered))
    assert any("重新办理" in (c.text or "") for c in h.sent_to(CITIZEN.id, delivered))


async def test_closing_an_answered_case_with_its_outcome(h: BotHarness) -> None:
    await join(h, LIAISON, LEAD_UNIT)
    case = await answered_case(h)
    assert case.id is not None
    await h.command(OFFICE, "case_office", case.tracking_no)

    await h.click(OFFICE, f"of:close:{case.id}")
    await h.click(OFFICE, f"of:close:{case.id}:substantiated")
    assert f"of:close:{case.id}:substantiated:admonition" in data_of(h)
    calls = await h.click(OFFICE, f"of:close:{case.id}:substantiated:admonition")

    assert alert(calls) == h.t("zh", "office.outcome_recorded", tracking_no=case.tracking_no)
    done = await case_now(h, case.id)
    assert (done.state, done.outcome, done.measure) == (CaseState.CLOSED, "substantiated", "admonition")
    assert "查处结果：属实；处理措施：诫勉谈话" in h.last_text()


async def test_a_supervision_notice_goes_to_the_lead_unit(h: BotHarness) -> None:
    await join(h, LIAISON, LEAD_UNIT)
    case = await file_case(h)

    calls = await h.command(OFFICE, "supervise", f"{case.tracking_no} 请今天下班前签收并报告进展。")

    assert h.texts(calls) == [h.t("zh", "office.supervised_done", tracking_no=case.tracking_no)]
    delivered = await drain(h)
    assert any("请今天下班前签收并报告进展" in (c.text or "") for c in h.sent_to(LIAISON.id, delivered))
    assert any("督办通知（抄送）" in (c.text or "") for c in h.sent_to(OFFICE_CHAT, delivered))


# -- broadcast, members, findings, undelivered ----------------------------------------------------------


async def test_a_broadcast_is_confirmed_then_reaches_every_liaison_or_one_units(h: BotHarness) -> None:
    await join(h, LIAISON, LEAD_UNIT)
    await join(h, FINANCE, FINANCE_UNIT)

    await h.command(OFFICE, "broadcast", "本周五下午3点召开联络员会议。\n请准时参加。")
    assert "全部单位联络员" in h.last_text() and "请准时参加" in h.last_text()
    before = await drain(h)  # nothing is queued before the confirmation
    assert not any("联络员会议" in (c.text or "") for c in before)
    calls = await h.click(OFFICE, "of:broadcast:send")

    assert h.texts(calls)[-1] == h.t("zh", "office.broadcast_done", count=2)
    delivered = await drain(h)
    for user in (LIAISON, FINANCE):
        [got] = h.sent_to(user.id, delivered)
        assert "本周五下午3点召开联络员会议。\n请准时参加。" in (got.text or "")
    # pressed again: the broadcast went already
    again = await h.click(OFFICE, "of:broadcast:send")
    assert alert(again) == h.t("zh", "fallback.stale_button")

    await h.command(OFFICE, "broadcast", "区财政局 请补报自查报告。")
    await h.click(OFFICE, "of:broadcast:send")
    delivered = await drain(h)
    assert [bool(h.sent_to(u.id, delivered)) for u in (LIAISON, FINANCE)] == [False, True]
    assert (await audit_actions(h)).count("broadcast") == 2


async def test_an_added_member_gets_the_office_and_loses_it_when_removed(h: BotHarness) -> None:
    await h.command(NEWCOMER, "start")
    await h.command(NEWCOMER, "triage")
    assert h.last_text() == h.t("zh", "office.only")

    await h.command(OFFICE, "members", f"add {NEWCOMER.id}")
    await h.command(NEWCOMER, "office")
    assert "分办队列" in h.last_text()
    menus = [
        c for c in h.request.of("setMyCommands") if c.params.get("scope", {}).get("chat_id") == NEWCOMER.id
    ]
    assert menus and "triage" in [c["command"] for c in menus[-1].params["commands"]]

    await h.command(OFFICE, "members")
    assert str(NEWCOMER.id) in h.last_text()
    await h.click(OFFICE, f"of:member:remove:{NEWCOMER.id}")
    await h.command(NEWCOMER, "triage")
    assert h.last_text() == h.t("zh", "office.only")
    assert any(
        c.params.get("scope", {}).get("chat_id") == NEWCOMER.id for c in h.request.of("deleteMyCommands")
    )


async def test_an_office_member_gets_the_office_menu_at_start_and_a_citizen_does_not(h: BotHarness) -> None:
    await h.command(OFFICE, "start")
    await h.command(CITIZEN, "start")

    scoped = {c.params.get("scope", {}).get("chat_id"): c for c in h.request.of("setMyCommands")}
    assert CITIZEN.id not in scoped
    names = [c["command"] for c in scoped[OFFICE.id].params["commands"]]
    assert names[0] == "start" and {"triage", "case_office", "spotcheck", "broadcast", "invite"} <= set(names)


async def test_a_finding_against_a_unit_becomes_a_routed_case(h: BotHarness) -> None:
    await join(h, EFFICIENCY, EFFICIENCY_UNIT)

    calls = await h.command(OFFICE, "finding", "区财政局 4 明察暗访 窗口工作人员暗示办事群众“意思意思”。")

    text = h.last_text(calls)
    match = re.search(r"<code>(ZH-\d{4}-\d{6})</code>", text)
    assert match, text
    async with h.deps.uow() as uow:
        case = await uow.cases.get_by_tracking_no(match.group(1))
    assert case is not None
    assert (case.source.value, case.target_unit_id, case.citizen_id) == ("inspection", FINANCE_UNIT, None)
    assert case.state is CaseState.ASSIGNED and FINANCE_UNIT not in case.lead_unit_ids + case.assist_unit_ids

    await h.command(OFFICE, "finding", "没有 这样的 单位")
    assert h.last_text() == h.t("zh", "office.finding_usage")


async def test_undelivered_messages_are_listed(h: BotHarness) -> None:
    await file_case(h, area=None)
    async with h.deps.uow() as uow:
        message = await uow.outbox.get(1)
        assert message is not None and message.id is not None
        await uow.outbox.mark_dead(message.id, error="Bad Request: chat not found")
        await uow.commit()

    await h.command(OFFICE, "failed")

    assert "chat not found" in h.last_text() and "放弃 1" in h.last_text()


# -- nobody but the office ------------------------------------------------------------------------------

OFFICE_COMMANDS = [
    ("office", ""),
    ("triage", ""),
    ("case_office", "ZH-2026-000001"),
    ("finding", "区财政局 1 窗口工作人员上班时间玩手机"),
    ("supervise", "ZH-2026-000001 请加快办理"),
    ("spotcheck", "3"),
    ("broadcast", "开会了"),
    ("members", f"add {CITIZEN.id}"),
    ("failed", ""),
]


@pytest.mark.parametrize(("command", "args"), OFFICE_COMMANDS, ids=[c for c, _ in OFFICE_COMMANDS])
@pytest.mark.parametrize("who", ["citizen", "liaison"])
async def test_a_citizen_or_a_liaison_is_refused_every_office_command(
    h: BotHarness, command: str, args: str, who: str
) -> None:
    await join(h, LIAISON, LEAD_UNIT)
    case = await file_case(h, area=None)
    user = CITIZEN if who == "citizen" else LIAISON
    before = await audit_actions(h)

    calls = await h.command(user, command, args)

    assert h.texts(calls) == [h.t("zh", "office.only")]
    assert await audit_actions(h) == before
    assert (await case_now(h, case.id or 0)).state is CaseState.TRIAGE


OFFICE_BUTTONS = [
    "of:queue:0",
    "of:view:{id}",
    "of:route:{id}",
    "of:areas:{id}",
    "of:area:{id}:conduct",
    "of:units:{id}:conduct",
    "of:lead:{id}:conduct:efficiency_supervision_office",
    "of:reclass:{id}",
    "of:reclass:{id}:procedure",
    "of:close:{id}",
    "of:close:{id}:substantiated",
    "of:close:{id}:substantiated:admonition",
    "of:typical:{id}:1",
    "of:files:{id}",
    "of:reject:{id}",
    "of:supervise:{id}",
    "of:reopen:{id}",
    "of:cancel",
    "of:broadcast:send",
    "of:member:remove:900001",
    "ext:approve:{id}",
    "ext:refuse:{id}",
    # forged and malformed
    "of:view:999999",
    "of:lead:{id}:conduct:organs_work_committee",
    "of:nonsense",
    "of:view:-1",
    "ext:approve:abc",
    "ext:",
]


@pytest.mark.parametrize("data", OFFICE_BUTTONS)
@pytest.mark.parametrize("who", ["citizen", "liaison"])
async def test_a_citizen_or_a_liaison_is_refused_every_office_button(
    h: BotHarness, data: str, who: str
) -> None:
    await join(h, LIAISON, LEAD_UNIT)
    case = await file_case(h, area=None)
    user = CITIZEN if who == "citizen" else LIAISON
    before = await audit_actions(h)

    calls = await h.send(h.make.callback(user, data.format(id=case.id), message_text="x"))

    assert alert(calls) == h.t("zh", "office.only")
    assert [c.method for c in calls] == ["answerCallbackQuery"]
    assert await audit_actions(h) == before
    assert (await case_now(h, case.id or 0)).state is CaseState.TRIAGE


async def test_forged_or_stale_office_buttons_get_a_clear_answer(h: BotHarness) -> None:
    case = await file_case(h)
    assert case.id is not None

    assert alert(await h.send(h.make.callback(OFFICE, "of:nonsense"))) == h.t("zh", "fallback.stale_button")
    assert alert(await h.send(h.make.callback(OFFICE, "of:view:999999"))) == h.t("zh", "error.not_found")
    # the office may reassign a case its unit is handling (改派): it moves to the new area's leads
    await h.send(h.make.callback(OFFICE, f"of:area:{case.id}:procedure"))
    assert LEAD_UNIT not in (await case_now(h, case.id)).lead_unit_ids
