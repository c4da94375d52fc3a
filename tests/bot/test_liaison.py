"""Liaisons through the real Application (SPEC §3, §5, §10): joining with an invite code, the
inbox and the case card, signing for, an extension request, returning, notes, answering; the
citizen receiving the answer and rating it; and nobody outside the case's units seeing or
touching it, whatever callback data they send, and no liaison ever learning who complained.

Cases are filed through ``ComplaintService`` (the complaint dialog has its own tests); the
outbox is drained with the real sender over the harness's recording request."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from core.attachments import AttachmentKind
from core.cases import Case, CaseEvent, Satisfaction
from core.services.complaints import ComplaintDraft, Evidence
from core.services.invites import MAX_FAILED_JOINS
from core.states import CaseState
from tests.bot.conftest import HarnessFactory
from tests.support.harness import BotHarness
from tests.support.recording_request import RecordedCall
from tests.support.updates import TgUser

OFFICE_CHAT = -100_777
OFFICE = TgUser(900_001, "办公室王五", "zh-hans")
CITIZEN = TgUser(100_501, "张三", "zh-hans")
LIAISON = TgUser(800_001, "区直机关工委刘六", "zh-hans")
ASSISTANT = TgUser(800_010, "党风廉政室陈七", "zh-hans")
STRANGER = TgUser(800_020, "发改局赵八", "zh-hans")  # a liaison of a unit not on the case
NOBODY = TgUser(800_099, "路人", "zh-hans")
PHONE = "+8613812345678"
LEAD_UNIT = "organs_work_committee"
ASSIST_UNIT = "conduct_integrity_office"
OTHER_UNIT = "development_reform"
DESCRIPTION = "三号窗口工作人员态度恶劣，材料齐全还让我跑了三趟。"
REPLY = "经调查核实，3号窗口工作人员态度生硬属实，已对其批评教育并调整岗位，向您致歉。"
CODE = re.compile(r"<code>([2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{4})</code>")

# Texts that reach the complaint dialog start it, and its conversation_timeout needs a running
# JobQueue, which the harness does not start.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Ignoring `conversation_timeout`:telegram.warnings.PTBUserWarning"
)


@pytest.fixture
async def h(harness_factory: HarnessFactory) -> AsyncIterator[BotHarness]:
    async with harness_factory(office_chat_id=OFFICE_CHAT, office_admin_ids=str(OFFICE.id)) as harness:
        yield harness


def draft(**changes: object) -> ComplaintDraft:
    values: dict[str, object] = {
        "description": DESCRIPTION,
        "area": "conduct",
        "area_auto": "conduct",
        "target_text": "3号窗口的工作人员",
        "place": "区政务中心一楼",
        "occurred": "11月20日上午",
        "anonymous": False,
        "phone": PHONE,
        "evidence": (Evidence("photo-evidence-1", "uphoto-evidence-1", AttachmentKind.PHOTO, size=50_000),),
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


async def drain(h: BotHarness) -> list[RecordedCall]:
    sender = h.deps.sender
    assert sender is not None, "bot.sender is wired by build_application"
    mark = h.request.mark()
    await sender.drain_once()
    return h.request.since(mark)


async def office_outbox(h: BotHarness) -> list[dict[str, Any]]:
    """The payloads queued for the office chat (it is a group: the harness cannot click there)."""
    async with h.deps.uow() as uow:
        found = []
        for message_id in range(1, 500):
            message = await uow.outbox.get(message_id)
            if message is None:
                break
            if message.chat_id == OFFICE_CHAT:
                found.append(message.payload)
    return found


def alert(calls: list[RecordedCall]) -> str:
    answers = [c for c in calls if c.method == "answerCallbackQuery"]
    assert answers, [c.method for c in calls]
    return str(answers[-1].params.get("text", ""))


def sent_anything_about(calls: list[RecordedCall], *needles: str) -> bool:
    text = " ".join(str(c.params) for c in calls)
    return any(n in text for n in needles)


# --- the whole journey -----------------------------------------------------------------------


async def test_a_liaison_joins_signs_asks_for_more_time_answers_and_the_citizen_rates_it(
    h: BotHarness,
) -> None:
    await join(h, LIAISON, LEAD_UNIT)
    menus = [
        c for c in h.request.of("setMyCommands") if c.params.get("scope", {}).get("chat_id") == LIAISON.id
    ]
    assert menus and "inbox" in [c["command"] for c in menus[-1].params["commands"]]
    case = await file_case(h)
    assert case.id is not None
    delivered = await drain(h)
    new_case = h.sent_to(LIAISON.id, delivered)
    assert [case.tracking_no in c.text for c in new_case if c.text] == [True]

    # the inbox lists the case; its card has the case's facts and the buttons for "assigned"
    await h.command(LIAISON, "inbox")
    assert case.tracking_no in h.last_text()
    await h.click(LIAISON, f"lc:view:{case.id}")
    card = h.last_text()
    assert DESCRIPTION in card and "牵头办理" in card
    assert [d for _, d in h.buttons()] == [
        f"lc:sign:{case.id}",
        f"lc:return:{case.id}",
        f"lc:note:{case.id}",
        f"lc:files:{case.id}",
        "lc:inbox:0:0",
    ]

    # 签收
    calls = await h.click(LIAISON, f"lc:sign:{case.id}")
    assert alert(calls) == f"已签收工单 {case.tracking_no}。"
    assert (await case_now(h, case.id)).state is CaseState.SIGNED
    assert f"lc:reply:{case.id}" in [d for _, d in h.buttons()]

    # an extension: days, then the reason; the office gets the request
    await h.click(LIAISON, f"lc:ext:{case.id}")
    assert h.last_text() == h.t("zh", "extension.ask_days", limit=5)
    await h.say(LIAISON, "3")
    assert h.last_text() == h.t("zh", "extension.ask_reason")
    await h.say(LIAISON, "需要调取当日监控录像并约谈当事人。")
    assert h.last_text().startswith("已提交延期申请（3 个工作日）")
    assert (await case_now(h, case.id)).state is CaseState.EXTENSION_REQUESTED
    office = [p["text_key"] for p in await office_outbox(h)]
    assert office == ["join.office_joined", "extension.office_request"]

    # the answer: text, preview, confirm
    await h.click(LIAISON, f"lc:reply:{case.id}")
    await h.say(LIAISON, REPLY)
    assert REPLY in h.last_text()
    await h.click(LIAISON, f"lc:confirm:{case.id}")
    assert h.last_text() == h.t("zh", "liaison.reply_sent", tracking_no=case.tracking_no)
    answered = await case_now(h, case.id)
    assert answered.state is CaseState.ANSWERED and answered.answered_at is not None

    # the citizen gets the answer with the follow-up question, and rates it
    delivered = await drain(h)
    [answer] = [c for c in h.sent_to(CITIZEN.id, delivered) if REPLY in (c.text or "")]
    assert [d for _, d in answer.buttons] == [
        f"fu:{case.id}:satisfied",
        f"fu:{case.id}:basically",
        f"fu:{case.id}:unsatisfied",
    ]
    await h.click(CITIZEN, f"fu:{case.id}:satisfied")
    assert h.last_text() == h.t("zh", "follow_up.thanks_closed", tracking_no=case.tracking_no, level="满意")
    closed = await case_now(h, case.id)
    assert (closed.state, closed.satisfaction) == (CaseState.CLOSED, Satisfaction.SATISFIED)


async def test_a_misrouted_case_is_returned_with_a_reason_the_office_sees(h: BotHarness) -> None:
    await join(h, LIAISON, LEAD_UNIT)
    case = await file_case(h)
    assert case.id is not None

    await h.command(LIAISON, "inbox")
    await h.click(LIAISON, f"lc:view:{case.id}")
    await h.click(LIAISON, f"lc:return:{case.id}")
    await h.say(LIAISON, "该窗口由区政务中心管理，不属本单位职责。")
    assert "该窗口由区政务中心管理" in h.last_text()
    assert case.state is CaseState.ASSIGNED  # nothing happens before the confirmation
    await h.click(LIAISON, f"lc:confirm:{case.id}")

    assert h.last_text() == h.t("zh", "liaison.returned", tracking_no=case.tracking_no)
    assert (await case_now(h, case.id)).state is CaseState.RETURNED
    [returned] = [p for p in await office_outbox(h) if p["text_key"] == "liaison.office_returned"]
    assert returned["text_params"]["reason"] == "该窗口由区政务中心管理，不属本单位职责。"


async def test_cancel_drops_the_dialog_and_nothing_is_done(h: BotHarness) -> None:
    await join(h, LIAISON, LEAD_UNIT)
    case = await file_case(h)
    assert case.id is not None

    await h.command(LIAISON, "inbox")
    await h.click(LIAISON, f"lc:view:{case.id}")
    await h.click(LIAISON, f"lc:return:{case.id}")
    await h.command(LIAISON, "cancel")

    assert h.last_text() == h.t("zh", "liaison.cancelled")
    await h.say(LIAISON, "这句话不再是退回理由。")
    assert (await case_now(h, case.id)).state is CaseState.ASSIGNED
    assert [e.kind for e in await events(h, case.id)] == ["submit", "route"]


async def test_an_assisting_unit_reads_the_card_and_adds_an_internal_note_only(h: BotHarness) -> None:
    await join(h, ASSISTANT, ASSIST_UNIT)
    case = await file_case(h)
    assert case.id is not None

    await h.command(ASSISTANT, "inbox")
    assert h.t("zh", "liaison.assist_title") in h.last_text()
    await h.click(ASSISTANT, f"lc:view:{case.id}")
    assert "配合" in h.last_text()
    assert [d for _, d in h.buttons()] == [f"lc:note:{case.id}", f"lc:files:{case.id}", "lc:inbox:0:0"]
    forged = await h.send(h.make.callback(ASSISTANT, f"lc:sign:{case.id}", message_text="x"))
    assert alert(forged) == h.t("zh", "liaison.error_lead_only")

    await h.click(ASSISTANT, f"lc:note:{case.id}")
    await h.say(ASSISTANT, "我室掌握该窗口此前有类似投诉两起。")

    assert h.last_text() == h.t("zh", "liaison.note_added", tracking_no=case.tracking_no)
    note = (await events(h, case.id))[-1]
    assert (note.kind, note.visibility.value, note.text) == (
        "note",
        "internal",
        "我室掌握该窗口此前有类似投诉两起。",
    )
    assert (await case_now(h, case.id)).state is CaseState.ASSIGNED


async def test_the_liaison_gets_the_evidence_files_by_file_id(h: BotHarness) -> None:
    await join(h, LIAISON, LEAD_UNIT)
    case = await file_case(h)
    await h.command(LIAISON, "inbox")
    await h.click(LIAISON, f"lc:view:{case.id}")

    calls = await h.click(LIAISON, f"lc:files:{case.id}")

    [photo] = [c for c in calls if c.method == "sendPhoto"]
    assert (photo.chat_id, photo.params["photo"]) == (LIAISON.id, "photo-evidence-1")


# --- who may see and do what -----------------------------------------------------------------


@pytest.mark.parametrize("action", ["view", "sign", "files", "reply", "return", "note", "ext"])
async def test_a_liaison_of_another_unit_gets_the_same_answer_as_for_a_case_that_does_not_exist(
    h: BotHarness, action: str
) -> None:
    await join(h, STRANGER, OTHER_UNIT)
    case = await file_case(h)

    forged = await h.send(h.make.callback(STRANGER, f"lc:{action}:{case.id}", message_text="x"))
    missing = await h.send(h.make.callback(STRANGER, f"lc:{action}:999999", message_text="x"))

    def shape(calls: list[RecordedCall]) -> list[tuple[str, dict[str, Any]]]:
        return [(c.method, {k: v for k, v in c.params.items() if k != "callback_query_id"}) for c in calls]

    assert shape(forged) == shape(missing)
    assert alert(forged) == h.t("zh", "error.not_found")
    assert not sent_anything_about(forged, case.tracking_no, DESCRIPTION, "photo-evidence-1")
    # a text after the forged button is no reply and no note
    await h.say(STRANGER, REPLY)
    assert (await case_now(h, case.id or 0)).state is CaseState.ASSIGNED
    assert [e.kind for e in await events(h, case.id or 0)] == ["submit", "route"]
    await h.command(STRANGER, "inbox")
    assert case.tracking_no not in h.last_text()


async def test_someone_who_is_no_liaison_is_told_how_to_become_one(h: BotHarness) -> None:
    case = await file_case(h)

    await h.command(NOBODY, "inbox")
    assert h.last_text() == h.t("zh", "liaison.not_liaison")
    calls = await h.send(h.make.callback(NOBODY, f"lc:view:{case.id}", message_text="x"))
    assert alert(calls) == h.t("zh", "liaison.not_liaison")
    calls = await h.send(h.make.callback(CITIZEN, f"lc:reply:{case.id}", message_text="x"))
    assert alert(calls) == h.t("zh", "liaison.not_liaison")


@pytest.mark.parametrize(
    "data",
    ["lc:", "lc:view:", "lc:view:abc", "lc:view:0", "lc:view:-1", "lc:view:１", "lc:view:1:2", "lc:drop:1",
     "lc:inbox:x:0", "lc:view:99999999999999999999", "lc:confirm:1", "lc:cancel:1"],
)  # fmt: skip
async def test_malformed_or_stale_lc_buttons_get_the_stale_button_answer(h: BotHarness, data: str) -> None:
    await join(h, LIAISON, LEAD_UNIT)

    calls = await h.send(h.make.callback(LIAISON, data, message_text="x"))

    assert [c.method for c in calls] == ["answerCallbackQuery"]
    assert alert(calls) == h.t("zh", "fallback.stale_button")


async def test_no_message_to_any_liaison_ever_names_the_complainant(h: BotHarness) -> None:
    await join(h, LIAISON, LEAD_UNIT)
    await join(h, ASSISTANT, ASSIST_UNIT)
    case = await file_case(h)
    assert case.id is not None
    await drain(h)
    for user in (LIAISON, ASSISTANT):
        await h.command(user, "inbox")
        await h.click(user, f"lc:view:{case.id}")
        await h.click(user, f"lc:files:{case.id}")
    await h.click(LIAISON, f"lc:view:{case.id}")
    await h.click(LIAISON, f"lc:sign:{case.id}")
    await h.click(LIAISON, f"lc:reply:{case.id}")
    await h.say(LIAISON, REPLY)
    await h.click(LIAISON, f"lc:confirm:{case.id}")
    await drain(h)
    await h.click(CITIZEN, f"fu:{case.id}:unsatisfied")
    await h.click(CITIZEN, f"fu:{case.id}:comment")
    await h.say(CITIZEN, "还是不满意，问题没有解决")
    await drain(h)
    await h.click(LIAISON, f"lc:view:{case.id}")

    to_liaisons = [c for c in h.request.calls if c.chat_id in (LIAISON.id, ASSISTANT.id)]
    assert len(to_liaisons) > 10
    assert any("还是不满意" in (c.text or "") for c in to_liaisons)  # the comment is on the card
    assert not sent_anything_about(to_liaisons, str(CITIZEN.id), PHONE, PHONE.removeprefix("+86"))


# --- invite codes ----------------------------------------------------------------------------


async def test_wrong_used_and_expired_codes_get_their_own_answers_and_guessing_is_stopped(
    h: BotHarness,
) -> None:
    await h.command(OFFICE, "invite", f"{OTHER_UNIT} 1")
    short_lived = CODE.search(h.last_text())
    await h.command(OFFICE, "invite", OTHER_UNIT)
    code = CODE.search(h.last_text())
    assert code is not None and short_lived is not None
    h.clock.advance(timedelta(days=1, minutes=1))
    await h.command(NOBODY, "join", code.group(1))

    await h.command(STRANGER, "join", code.group(1))
    assert h.last_text() == h.t("zh", "join.error_used")
    await h.command(STRANGER, "join", "ABCD-EFGH-JKMN")
    assert h.last_text() == h.t("zh", "join.error_unknown")
    await h.command(STRANGER, "join", short_lived.group(1))
    assert h.last_text() == h.t("zh", "join.error_expired")
    for _ in range(MAX_FAILED_JOINS - 3):
        await h.command(STRANGER, "join", "NOPE")
    await h.command(STRANGER, "join", "NOPE")
    assert h.last_text() == h.t("zh", "join.error_rate_limited", minutes=60)
    await h.command(STRANGER, "join")
    assert h.last_text() == h.t("zh", "join.usage")


async def test_only_the_office_invites_and_removes_and_a_removed_liaison_loses_the_case(
    h: BotHarness,
) -> None:
    await h.command(LIAISON, "invite", LEAD_UNIT)
    assert h.last_text() == h.t("zh", "join.office_only")
    await h.command(OFFICE, "invite", "不存在的单位")
    assert h.last_text().startswith("没有找到单位「不存在的单位」")
    await h.command(OFFICE, "invite", "区直机关工委")  # a unit's name works as well as its id
    assert "区直机关工委" in h.last_text() and CODE.search(h.last_text())
    await join(h, LIAISON, LEAD_UNIT)
    case = await file_case(h)

    await h.command(LIAISON, "remove_liaison", str(LIAISON.id))
    assert h.last_text() == h.t("zh", "join.office_only")
    calls = await h.command(OFFICE, "remove_liaison", str(LIAISON.id))

    assert h.last_text() == h.t("zh", "join.removed_done", user_id=LIAISON.id, unit="区直机关工委")
    assert [c.params["scope"] for c in calls if c.method == "deleteMyCommands"] == [
        {"type": "chat", "chat_id": LIAISON.id}
    ]
    refused = await h.send(h.make.callback(LIAISON, f"lc:view:{case.id}", message_text="x"))
    assert alert(refused) == h.t("zh", "liaison.not_liaison")
    await h.command(OFFICE, "remove_liaison", str(LIAISON.id))
    assert h.last_text() == h.t("zh", "join.error_not_liaison", user_id=LIAISON.id)


# --- dialogs and other handlers ---------------------------------------------------------------


async def test_a_lapsed_prompt_lets_the_text_through_to_the_complaint_dialog(h: BotHarness) -> None:
    await join(h, LIAISON, LEAD_UNIT)
    case = await file_case(h)
    await h.command(LIAISON, "inbox")
    await h.click(LIAISON, f"lc:view:{case.id}")
    await h.click(LIAISON, f"lc:note:{case.id}")
    h.clock.advance(timedelta(minutes=31))

    await h.say(LIAISON, "政务中心停车场收费窗口的工作人员上班时间玩手机不理人。")

    assert "对吗？" in h.last_text()  # the complaint dialog took it as a new complaint
    assert "note" not in [e.kind for e in await events(h, case.id or 0)]


async def test_with_reply_review_the_office_approves_before_the_citizen_sees_the_answer(
    harness_factory: HarnessFactory,
) -> None:
    async with harness_factory(
        office_chat_id=OFFICE_CHAT, office_admin_ids=str(OFFICE.id), reply_review=True
    ) as h:
        await join(h, LIAISON, LEAD_UNIT)
        case = await file_case(h)
        await h.command(LIAISON, "inbox")
        await h.click(LIAISON, f"lc:view:{case.id}")
        await h.click(LIAISON, f"lc:sign:{case.id}")
        await h.click(LIAISON, f"lc:reply:{case.id}")
        await h.say(LIAISON, REPLY)
        await h.click(LIAISON, f"lc:confirm:{case.id}")
        assert h.last_text() == h.t("zh", "liaison.reply_pending_review", tracking_no=case.tracking_no)
        assert (await case_now(h, case.id or 0)).state is CaseState.SIGNED

        refused = await h.send(h.make.callback(LIAISON, f"rv:approve:{case.id}", message_text="x"))
        assert alert(refused) == h.t("zh", "join.office_only")
        calls = await h.send(h.make.callback(OFFICE, f"rv:approve:{case.id}", message_text="x"))

        assert alert(calls) == f"已同意，答复已发给投诉人（工单 {case.tracking_no}）。"
        assert (await case_now(h, case.id or 0)).state is CaseState.ANSWERED
        delivered = await drain(h)
        assert any(REPLY in (c.text or "") for c in h.sent_to(CITIZEN.id, delivered))


# --- follow-up -------------------------------------------------------------------------------


async def answered_case(h: BotHarness) -> Case:
    await join(h, LIAISON, LEAD_UNIT)
    case = await file_case(h)
    assert case.id is not None
    await h.deps.services.liaison.sign(LIAISON.id, case.id)
    await h.deps.services.liaison.reply(LIAISON.id, case.id, REPLY)
    await drain(h)
    return case


async def test_an_unsatisfied_citizen_asks_for_a_reopen_and_the_office_grants_it(h: BotHarness) -> None:
    case = await answered_case(h)
    assert case.id is not None

    await h.click(CITIZEN, f"fu:{case.id}:unsatisfied")
    assert h.last_text() == h.t("zh", "follow_up.sorry", tracking_no=case.tracking_no)
    await h.click(CITIZEN, f"fu:{case.id}:comment")
    await h.say(CITIZEN, "只是调岗，问题没有解决。")
    assert h.last_text() == h.t("zh", "follow_up.comment_saved")
    await h.click(CITIZEN, f"fu:{case.id}:reopen")
    assert h.last_text() == h.t("zh", "follow_up.reopen_requested", tracking_no=case.tracking_no)
    [request] = [p for p in await office_outbox(h) if p["text_key"] == "follow_up.office_reopen_request"]
    assert request["text_params"]["comment"] == "只是调岗，问题没有解决。"

    refused = await h.send(h.make.callback(LIAISON, f"ro:approve:{case.id}", message_text="x"))
    assert alert(refused) == h.t("zh", "join.office_only")
    calls = await h.send(h.make.callback(OFFICE, f"ro:approve:{case.id}", message_text="x"))

    assert alert(calls) == f"已同意重新办理工单 {case.tracking_no}，已重新交办承办单位。"
    assert (await case_now(h, case.id)).state is CaseState.ASSIGNED


async def test_only_the_cases_citizen_can_rate_it_and_only_once(h: BotHarness) -> None:
    case = await answered_case(h)
    other = TgUser(100_502, "李四", "zh-hans")

    forged = await h.send(h.make.callback(other, f"fu:{case.id}:satisfied", message_text="x"))
    assert alert(forged) == h.t("zh", "cases.not_found")
    forged = await h.send(h.make.callback(LIAISON, f"fu:{case.id}:satisfied", message_text="x"))
    assert alert(forged) == h.t("zh", "cases.not_found")
    assert (await case_now(h, case.id or 0)).state is CaseState.ANSWERED

    await h.click(CITIZEN, f"fu:{case.id}:basically")
    again = await h.send(h.make.callback(CITIZEN, f"fu:{case.id}:unsatisfied", message_text="x"))
    assert alert(again) == h.t("zh", "follow_up.error_done")
    closed = await case_now(h, case.id or 0)
    assert (closed.state, closed.satisfaction) == (CaseState.CLOSED, Satisfaction.BASICALLY)
    bad = await h.send(h.make.callback(CITIZEN, f"fu:{case.id}:delighted", message_text="x"))
    assert alert(bad) == h.t("zh", "fallback.stale_button")
