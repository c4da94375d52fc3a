"""Every update gets an answer that fits it (issue 12, SPEC §10 "forged callback data, stale
buttons"), through the real Application with real Updates:

- a button press is answered exactly once (Telegram refuses a second ``answerCallbackQuery``
  with 400 and drops its text; none at all leaves the button spinning), whatever its data:
  none, garbage, 64 bytes, or one of ours with a trailing newline;
- in a group chat other than the office chat, a citizen's command, or text that mentions or
  replies to the bot, gets a pointer to the private chat and nothing about any case; other
  chatter gets nothing; the office chat works as it did;
- an edited message is never taken: in a private chat one line says so (and names the step of
  the complaint dialog), nothing is filed or changed.

The one-answer rule itself is enforced for the whole suite by the harness (see
``tests/support/harness.py``); the first tests here prove that enforcement catches both faults.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

import pytest
from telegram import Bot, Update
from telegram.error import BadRequest
from telegram.ext import ApplicationHandlerStop, CallbackQueryHandler

from bot.dialogs import complaint
from bot.handlers import fallback
from core.services.complaints import ComplaintDraft
from storage.models import CaseRow
from tests.bot.conftest import HarnessFactory
from tests.bot.test_complaint_dialog import DESCRIPTION, Citizen, count, state_of
from tests.support.harness import TEST_TOKEN, BotHarness
from tests.support.recording_request import BOT_USERNAME, QUERY_ANSWERED_TWICE, ApiError, RecordingRequest
from tests.support.updates import ZH_USER, TgUser

pytestmark = pytest.mark.filterwarnings(
    "ignore:Ignoring `conversation_timeout`:telegram.warnings.PTBUserWarning"
)

OFFICE_CHAT = -100_777
CITIZENS_GROUP = -1_001_234_567_890  # a supergroup the bot was added to, not the office chat
OFFICE = TgUser(900_001, "办公室王五", "zh-hans")
CITIZEN = ZH_USER
NOBODY = TgUser(800_099, "路人", "zh-hans")
POINTER_LINK = f"https://t.me/{BOT_USERNAME}"


@pytest.fixture
async def h(harness_factory: HarnessFactory) -> AsyncIterator[BotHarness]:
    # flood control off: some tests walk a whole dialog, which is more than a flood's worth of
    # updates at the fixed clock's standing time
    async with harness_factory(
        office_chat_id=OFFICE_CHAT, office_admin_ids=str(OFFICE.id), throttle_messages=0
    ) as harness:
        yield harness


def answers(h: BotHarness, update: Update) -> list[dict[str, object]]:
    """The parameters of every answerCallbackQuery for ``update``'s query."""
    assert update.callback_query is not None
    return [c.params for c in h.request.answers_to(update.callback_query.id)]


async def file_case(h: BotHarness) -> str:
    draft = ComplaintDraft(description=DESCRIPTION, area="conduct", area_auto="conduct", anonymous=True)
    filed = await h.deps.services.complaints.file(CITIZEN.id, draft)
    return filed.case.tracking_no


# -- the enforcement: Telegram's rule in the test double, the harness failing the test ----------------


async def test_the_recording_request_refuses_a_second_answer_to_one_query_as_telegram_does() -> None:
    request = RecordingRequest()
    # a test's own responder cannot make Telegram accept a second answer either
    request.respond("answerCallbackQuery", lambda _request, _params: True)
    bot = Bot(TEST_TOKEN, request=request, get_updates_request=request)
    async with bot:
        assert await bot.answer_callback_query("q1")
        with pytest.raises(BadRequest, match=r"(?i)query is too old"):
            await bot.answer_callback_query("q1", text="too late", show_alert=True)
        assert await bot.answer_callback_query("q2")

    [refused] = request.repeated_answers
    assert refused.params == {"callback_query_id": "q1", "text": "too late", "show_alert": True}
    assert isinstance(refused.result, ApiError)
    assert (refused.result.code, refused.result.description) == (400, QUERY_ANSWERED_TWICE)
    assert [c.params["callback_query_id"] for c in request.of("answerCallbackQuery")] == ["q1", "q1", "q2"]


async def test_the_harness_reports_a_button_answered_twice_and_one_never_answered(h: BotHarness) -> None:
    async def twice(update: Update, _context: object) -> None:
        assert update.callback_query is not None
        await update.callback_query.answer()
        with contextlib.suppress(BadRequest):
            await update.callback_query.answer("the refusal nobody sees", show_alert=True)
        raise ApplicationHandlerStop

    async def never(_update: Update, _context: object) -> None:
        raise ApplicationHandlerStop

    h.app.add_handler(CallbackQueryHandler(twice, pattern="^test:twice$"), group=-1000)
    h.app.add_handler(CallbackQueryHandler(never, pattern="^test:never$"), group=-1000)
    await h.send(h.make.callback(CITIZEN, "test:twice"))
    await h.send(h.make.callback(CITIZEN, "test:never"))

    problems = h.callback_answer_problems()
    assert len(problems) == 2, problems
    assert "'test:never'" in problems[0] and "never answered" in problems[0]
    assert "answered again" in problems[1] and "the refusal nobody sees" in problems[1]
    with pytest.raises(AssertionError):
        h.check_callback_answers()
    # both faults were made on purpose here: clear them so the teardown check passes
    h.unanswered.clear()
    h.request.repeated_answers.clear()


# -- exactly one answer, the one with the refusal ------------------------------------------------------


async def test_a_case_card_button_refused_to_a_non_liaison_is_answered_once_with_the_refusal(
    h: BotHarness,
) -> None:
    """The regression: lc:view answered first and then again with the refusal, which Telegram
    dropped, so the person saw nothing."""
    tracking_no = await file_case(h)
    async with h.deps.uow() as uow:
        case = await uow.cases.get_by_tracking_no(tracking_no)
    assert case is not None and case.id is not None

    for data in (f"lc:view:{case.id}", f"lc:sign:{case.id}", f"lc:files:{case.id}", "lc:view:999999"):
        update = h.make.callback(NOBODY, data, message_text="x")
        calls = await h.send(update)
        assert answers(h, update) == [
            {
                "callback_query_id": update.callback_query.id if update.callback_query else "",
                "text": h.t("zh", "liaison.not_liaison"),
                "show_alert": True,
            }
        ], data
        assert [c.method for c in calls] == ["answerCallbackQuery"], data


async def test_a_missing_case_on_an_office_card_button_is_answered_once_with_not_found(h: BotHarness) -> None:
    update = h.make.callback(OFFICE, "of:view:999999", message_text="x")
    await h.send(update)
    [answer] = answers(h, update)
    assert (answer.get("text"), answer.get("show_alert")) == (h.t("zh", "error.not_found"), True)


# -- whatever the data --------------------------------------------------------------------------------

FORGED = [
    pytest.param(None, id="no-data"),
    pytest.param("", id="empty"),
    pytest.param("garbage", id="garbage"),
    pytest.param("x" * 64, id="64-bytes-ascii"),
    pytest.param("办" * 21 + "x", id="64-bytes-utf8"),
    pytest.param("lc:view:" + "9" * 56, id="64-bytes-lc"),
    pytest.param("cp:" + "f" * 61, id="64-bytes-cp"),
    pytest.param("lc:reply:1\n", id="lc-input-newline"),
    pytest.param("lc:confirm:1\n", id="lc-confirm-newline"),
    pytest.param("fu:1:comment\n", id="fu-comment-newline"),
    pytest.param("rq:accept:1\n", id="rq-accept-newline"),
    pytest.param("rq:back:1\n", id="rq-back-newline"),
    pytest.param("rc:open:1\n", id="rc-open-newline"),
    pytest.param("lang:en\n", id="lang-newline"),
    pytest.param("of:\x00\u202e", id="of-controls"),
    pytest.param("si:back:x", id="si-outside-dialog"),
    pytest.param("cp:abc:2:ok", id="cp-outside-dialog"),
]


@pytest.mark.parametrize("data", FORGED)
async def test_any_forged_button_is_answered_exactly_once_and_nothing_else_happens(
    h: BotHarness, data: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    update = h.make.callback(CITIZEN, data, message_text="x")
    with caplog.at_level(logging.ERROR):
        calls = await h.send(update)

    [answer] = answers(h, update)
    assert answer.get("text"), "a refusal the user can read"
    assert [c.method for c in calls] == ["answerCallbackQuery"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], "no crash behind the answer"


@pytest.mark.parametrize("data", [pytest.param(None, id="no-data"), pytest.param("", id="empty")])
async def test_a_button_without_data_gets_the_stale_button_alert(h: BotHarness, data: str | None) -> None:
    update = h.make.callback(CITIZEN, data, message_text="x")
    await h.send(update)
    [answer] = answers(h, update)
    assert (answer.get("text"), answer.get("show_alert")) == (h.t("zh", "fallback.stale_button"), True)


@pytest.mark.parametrize("data", [None, "", "garbage", "x" * 64, "cp:" + "f" * 61, "lc:reply:1\n"])
async def test_a_forged_button_in_the_middle_of_a_complaint_leaves_the_dialog_as_it_was(
    h: BotHarness, data: str | None
) -> None:
    """Python-telegram-bot hands a query without data to every patterned handler: without the
    guard it reached the dialog's own buttons (or the liaison dialog swallowed it unanswered)."""
    citizen = Citizen(h)
    await citizen.to(complaint.AREA)
    before = (state_of(h, CITIZEN), dict(h.app.user_data[CITIZEN.id]))

    update = h.make.callback(CITIZEN, data, message_text="x")
    calls = await h.send(update)

    assert len(answers(h, update)) == 1
    assert [c.method for c in calls] == ["answerCallbackQuery"]
    assert (state_of(h, CITIZEN), dict(h.app.user_data[CITIZEN.id])) == before
    await citizen.press("confirm_area")  # the real button still works
    assert state_of(h, CITIZEN) == complaint.UNIT


async def test_every_button_of_a_whole_complaint_is_answered_exactly_once(h: BotHarness) -> None:
    citizen = Citizen(h)
    await citizen.to(complaint.SUMMARY)
    await citizen.press("submit")

    presses = [c for c in h.request.calls if c.method == "answerCallbackQuery"]
    assert len(presses) >= 4  # area, unit, evidence done, submit at least
    assert h.callback_answer_problems() == []
    assert await count(h, CaseRow) == 1


async def test_the_language_buttons_are_answered_exactly_once(h: BotHarness) -> None:
    await h.command(CITIZEN, "lang")
    for _label, data in h.buttons():
        assert data is not None
        update = h.make.callback(CITIZEN, data, message_text="x")
        await h.send(update)
        assert len(answers(h, update)) == 1, data


# -- group chats -----------------------------------------------------------------------------------------


def pointer_sent(h: BotHarness, chat_id: int) -> bool:
    texts = [c for c in h.last_calls if c.method == "sendMessage" and c.chat_id == chat_id]
    return len(texts) == 1 and texts[0].text == h.t("zh", "fallback.group_pointer", bot=f"@{BOT_USERNAME}")


@pytest.mark.parametrize(
    "text", ["/start", "/my", "/case ZH-2026-000001", "/new", "/complain 窗口态度差", "/cancel", "/inbox",
             f"/my@{BOT_USERNAME}"],
)  # fmt: skip
async def test_a_citizens_command_in_a_group_gets_a_pointer_to_the_private_chat_and_no_case(
    h: BotHarness, text: str
) -> None:
    tracking_no = await file_case(h)

    calls = await h.send(h.make.group_text(CITIZEN, CITIZENS_GROUP, text))

    assert pointer_sent(h, CITIZENS_GROUP)
    [pointer] = calls
    assert pointer.reply_markup == {
        "inline_keyboard": [[{"text": h.t("zh", "fallback.group_pointer_button"), "url": POINTER_LINK}]]
    }
    assert tracking_no not in str(pointer.params) and DESCRIPTION not in str(pointer.params)
    # the group is never remembered as the place to reach the citizen
    async with h.deps.uow() as uow:
        user = await uow.users.get(CITIZEN.id)
    assert user is None or user.chat_id != CITIZENS_GROUP


async def test_group_text_is_answered_only_when_it_mentions_or_replies_to_the_bot(h: BotHarness) -> None:
    chatter = ["大家好", "区政务中心3号窗口态度很差", "/my@some_other_bot", "@someone_else 你好"]
    for text in chatter:
        calls = await h.send(h.make.group_text(CITIZEN, CITIZENS_GROUP, text))
        assert calls == [], text

    await h.send(h.make.group_text(CITIZEN, CITIZENS_GROUP, f"@{BOT_USERNAME} 怎么反映问题？"))
    assert pointer_sent(h, CITIZENS_GROUP)
    await h.send(h.make.group_text(CITIZEN, CITIZENS_GROUP, "我要投诉", reply_to_bot="您好"))
    assert pointer_sent(h, CITIZENS_GROUP)


async def test_the_office_chat_keeps_its_commands_and_gets_no_pointer(h: BotHarness) -> None:
    calls = await h.send(h.make.group_text(OFFICE, OFFICE_CHAT, "/triage"))
    assert calls and not pointer_sent(h, OFFICE_CHAT)
    assert all(c.chat_id == OFFICE_CHAT for c in calls if c.method == "sendMessage")

    calls = await h.send(h.make.group_text(OFFICE, OFFICE_CHAT, "/start"))
    assert calls and not pointer_sent(h, OFFICE_CHAT)
    assert h.texts(calls)[0].startswith(h.t("zh", "start.greeting", name=OFFICE.first_name))

    # office members talking to each other, even about the bot's notices: not answered
    assert await h.send(h.make.group_text(OFFICE, OFFICE_CHAT, "收到", reply_to_bot="日报")) == []
    assert await h.send(h.make.group_text(OFFICE, OFFICE_CHAT, f"@{BOT_USERNAME} 好的")) == []


# -- edited messages -------------------------------------------------------------------------------------


async def test_an_edited_message_outside_a_dialog_is_answered_with_one_line(h: BotHarness) -> None:
    original = h.make.command(CITIZEN, "help")
    await h.send(original)

    calls = await h.send(h.make.edited(original, text="区政务中心3号窗口工作人员态度恶劣"))

    assert h.texts(calls) == [h.t("zh", "fallback.edited")]
    assert await count(h, CaseRow) == 0


async def test_an_edited_description_is_not_taken_and_the_step_is_named(h: BotHarness) -> None:
    citizen = Citizen(h)
    await h.command(CITIZEN, "new")
    described = h.make.text(CITIZEN, DESCRIPTION)
    await h.send(described)
    assert state_of(h, CITIZEN) == complaint.AREA
    before = dict(h.app.user_data[CITIZEN.id])

    calls = await h.send(h.make.edited(described, text="其实是另一件事：办证要跑五趟"))

    step = h.t("zh", "fallback.edited_step", step=h.t("zh", "complaint.button.edit_area"))
    assert h.texts(calls) == [h.t("zh", "fallback.edited") + "\n" + step]
    assert state_of(h, CITIZEN) == complaint.AREA
    assert dict(h.app.user_data[CITIZEN.id]) == before
    await citizen.press("confirm_area")
    assert state_of(h, CITIZEN) == complaint.UNIT


async def test_an_edit_at_the_summary_files_nothing_and_changes_nothing(h: BotHarness) -> None:
    citizen = Citizen(h)
    await citizen.to(complaint.SUMMARY)
    before = dict(h.app.user_data[CITIZEN.id])
    edited_command = h.make.edited(h.make.command(CITIZEN, "new"), text="/new")
    edited_text = h.make.edited(h.make.text(CITIZEN, "二楼3号窗口"), text="三楼")

    for update in (edited_command, edited_text):
        calls = await h.send(update)
        assert [c.method for c in calls] == ["sendMessage"]
        assert h.last_text().startswith(h.t("zh", "fallback.edited"))
        assert h.t("zh", "fallback.edited_step_summary") in h.last_text()

    assert state_of(h, CITIZEN) == complaint.SUMMARY
    assert dict(h.app.user_data[CITIZEN.id]) == before
    assert await count(h, CaseRow) == 0
    await citizen.press("submit")
    assert await count(h, CaseRow) == 1


async def test_an_edited_message_in_a_group_is_not_answered_and_no_command_runs_again(h: BotHarness) -> None:
    office_command = h.make.group_text(OFFICE, OFFICE_CHAT, "/triage")
    await h.send(office_command)
    assert await h.send(h.make.edited(office_command, text="/triage")) == []
    mention = h.make.group_text(CITIZEN, CITIZENS_GROUP, f"@{BOT_USERNAME} 你好")
    await h.send(mention)
    assert await h.send(h.make.edited(mention, text=f"@{BOT_USERNAME} 我要投诉")) == []


async def test_the_guards_run_before_every_dialog(h: BotHarness) -> None:
    # flood control is off in this harness: the guards' group is the first there is
    assert sorted(h.app.handlers)[0] == fallback.GUARD_GROUP
    callbacks = [getattr(x, "callback", None) for x in h.app.handlers[fallback.GUARD_GROUP]]
    assert callbacks == [fallback.blank_button, fallback.edited_message]
