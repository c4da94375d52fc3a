"""/start, /help, /lang and the fallbacks, through the real Application."""

from __future__ import annotations

from sqlalchemy import event
from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.context import BotContext
from bot.i18n import escape
from core.errors import PermissionDenied
from tests.bot.conftest import HarnessFactory
from tests.support.harness import BotHarness
from tests.support.recording_request import ApiError
from tests.support.updates import EN_USER, NO_LANG_USER, ZH_USER, TgUser

PHONE = "2540084"


async def stored_language(h: BotHarness, user_id: int) -> str | None:
    async with h.deps.uow() as uow:
        record = await uow.users.get(user_id)
    return record.language if record else None


async def test_start_introduces_the_campaign_with_the_phone_and_the_five_areas(harness: BotHarness) -> None:
    calls = await harness.command(ZH_USER, "start")

    sends = [c for c in calls if c.method == "sendMessage"]
    assert len(sends) == 1
    assert sends[0].chat_id == ZH_USER.id
    assert sends[0].params["parse_mode"] == "HTML"
    text = harness.last_text()
    assert PHONE in text
    assert harness.plan.campaign.title in text
    assert harness.plan.campaign.office.location in text
    assert len(harness.plan.areas) == 5
    for area in harness.plan.areas:
        assert f"{area.numeral}、{escape(area.plain_zh)}" in text
    assert "/help" in text


async def test_start_remembers_the_user_and_where_to_reach_them(harness: BotHarness) -> None:
    await harness.command(ZH_USER, "start")

    async with harness.deps.uow() as uow:
        record = await uow.users.get(ZH_USER.id)
    assert record is not None
    assert record.chat_id == ZH_USER.id
    assert record.language == "zh"


async def test_help_lists_every_citizen_command_and_the_phone(harness: BotHarness) -> None:
    await harness.command(ZH_USER, "help")

    text = harness.last_text()
    for command in ("/start", "/help", "/lang"):
        assert command in text
    assert harness.t("zh", "command.lang") in text
    assert PHONE in text


async def test_lang_offers_both_languages_as_buttons(harness: BotHarness) -> None:
    await harness.command(ZH_USER, "lang")

    assert harness.buttons() == [("中文", "lang:zh"), ("English", "lang:en")]


async def test_switching_to_english_answers_in_english_and_persists(
    harness_factory: HarnessFactory,
) -> None:
    async with harness_factory() as h:
        await h.command(ZH_USER, "start")
        await h.command(ZH_USER, "lang")
        calls = await h.click(ZH_USER, "lang:en")

        assert [c.method for c in calls] == ["answerCallbackQuery", "editMessageText"]
        assert h.last_text() == "Language set to English."
        await h.command(ZH_USER, "help")
        assert h.last_text().startswith("<b>Help</b>")
        assert await stored_language(h, ZH_USER.id) == "en"

    # a restarted bot on the same database still speaks English to this user
    async with harness_factory() as h:
        await h.command(ZH_USER, "help")
        assert h.last_text().startswith("<b>Help</b>")


async def test_switching_back_to_chinese(harness: BotHarness) -> None:
    await harness.command(EN_USER, "lang")
    await harness.click(EN_USER, "lang:zh")
    assert harness.last_text() == "已切换为中文。"

    await harness.command(EN_USER, "help")
    assert harness.last_text().startswith("<b>使用帮助</b>")


async def test_an_english_telegram_user_gets_english_by_default(harness: BotHarness) -> None:
    await harness.command(EN_USER, "start")

    text = harness.last_text()
    assert text.startswith("Hello, Alice!")
    assert harness.plan.campaign.title_en in text
    assert "What you can report" in text
    for area in harness.plan.areas:
        assert f"{area.number}. {escape(area.plain_en)}" in text
    assert PHONE in text
    assert await stored_language(harness, EN_USER.id) == "en"


async def test_a_user_without_a_language_code_gets_chinese(harness: BotHarness) -> None:
    await harness.command(NO_LANG_USER, "help")
    assert harness.last_text().startswith("<b>使用帮助</b>")


async def test_an_unknown_command_is_named_and_pointed_to_help(harness: BotHarness) -> None:
    await harness.command(ZH_USER, "frobnicate", "now")

    assert harness.last_text() == harness.t("zh", "fallback.unknown_command", command="/frobnicate")
    assert "/help" in harness.last_text()


async def test_plain_text_that_is_no_complaint_points_to_the_right_channels(harness: BotHarness) -> None:
    # free text enters the complaint dialog (bot/dialogs/complaint/), which answers chit-chat
    # with the right channels instead of the old "send /start"
    await harness.say(EN_USER, "hello?")
    assert harness.last_text().startswith(harness.t("en", "complaint.out_of_scope").split("{")[0])


async def test_a_sticker_gets_a_clear_answer(harness: BotHarness) -> None:
    sticker = {
        "file_id": "st1",
        "file_unique_id": "ust1",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
        "type": "regular",
    }
    await harness.send(harness.make.message(ZH_USER, sticker=sticker))
    assert harness.last_text() == harness.t("zh", "fallback.unsupported")


async def test_a_stale_or_forged_button_is_answered_and_changes_nothing(harness: BotHarness) -> None:
    await harness.command(ZH_USER, "start")
    calls = await harness.send(harness.make.callback(ZH_USER, "lang:xx"))

    assert [c.method for c in calls] == ["answerCallbackQuery"]
    assert calls[0].params["text"] == harness.t("zh", "fallback.stale_button")
    assert await stored_language(harness, ZH_USER.id) == "zh"


async def test_the_fallbacks_stay_quiet_in_groups(harness: BotHarness) -> None:
    group = {"id": -1001234567890, "type": "supergroup", "title": "办公室"}
    calls = await harness.send(harness.make.message(ZH_USER, chat=group, text="大家好"))
    assert calls == []


async def test_html_in_a_first_name_is_escaped_when_echoed(harness: BotHarness) -> None:
    mallory = TgUser(100_666, '<b>Bob</b> & <a href="x">Co</a>', "en")
    await harness.command(mallory, "start")

    text = harness.last_text()
    assert text.startswith('Hello, &lt;b&gt;Bob&lt;/b&gt; &amp; &lt;a href="x"&gt;Co&lt;/a&gt;!')
    assert "<b>Bob</b>" not in text


async def test_an_unexpected_error_gets_a_kind_answer_and_a_short_office_notice(
    harness_factory: HarnessFactory,
) -> None:
    async def boom(update: Update, context: BotContext) -> None:
        raise RuntimeError("db password is hunter2 at line 42")

    office_chat = -100_555
    async with harness_factory(office_chat_id=office_chat) as h:
        h.app.add_handler(CommandHandler("boom", boom), group=-1)
        calls = await h.command(ZH_USER, "boom")

        to_user = h.sent_to(ZH_USER.id, calls)
        assert [c.text for c in to_user] == [h.t("zh", "error.unexpected", phone=PHONE)]
        for call in to_user:
            assert "Traceback" not in (call.text or "")
            assert "hunter2" not in (call.text or "")
        to_office = h.sent_to(office_chat, calls)
        assert len(to_office) == 1
        assert "RuntimeError" in (to_office[0].text or "")
        assert "Traceback" not in (to_office[0].text or "")

        # a second failure of the same kind within a minute does not flood the office chat
        calls = await h.command(EN_USER, "boom")
        assert h.sent_to(office_chat, calls) == []
        assert [c.text for c in h.sent_to(EN_USER.id, calls)] == [h.t("en", "error.unexpected", phone=PHONE)]


async def test_a_domain_error_gets_its_own_text_and_no_office_notice(harness_factory: HarnessFactory) -> None:
    async def forbidden(update: Update, context: BotContext) -> None:
        raise PermissionDenied(case="ZH-2026-000001")

    async with harness_factory(office_chat_id=-100_555) as h:
        h.app.add_handler(CommandHandler("peek", forbidden), group=-1)
        calls = await h.command(ZH_USER, "peek")

        assert h.texts(calls) == [h.t("zh", "error.permission_denied")]
        assert h.sent_to(-100_555, calls) == []


async def test_an_error_in_a_button_stops_the_spinner(harness: BotHarness) -> None:
    async def broken(update: Update, context: BotContext) -> None:
        raise ValueError("broken button")

    harness.app.add_handler(CallbackQueryHandler(broken, pattern="^broken$"), group=-1)
    calls = await harness.send(harness.make.callback(EN_USER, "broken"))

    assert [c.method for c in calls] == ["answerCallbackQuery", "sendMessage"]
    assert calls[1].text == harness.t("en", "error.unexpected", phone=PHONE)


async def test_citizen_command_menus_are_set_in_both_languages(harness: BotHarness) -> None:
    menus = harness.request.of("setMyCommands")

    assert [m.params.get("language_code") for m in menus] == [None, "zh", "en"]
    for menu in menus:
        assert menu.params["scope"] == {"type": "default"}
        assert [c["command"] for c in menu.params["commands"]] == [
            "start",
            "new",
            "my",
            "case",
            "stats",
            "help",
            "lang",
            "forget",  # the right to erasure is in the menu (issue 15)
            "cancel",
        ]
    english = menus[2].params["commands"]
    assert english[0]["description"] == harness.t("en", "command.start")


async def test_a_language_button_on_a_message_too_old_to_edit_still_answers(harness: BotHarness) -> None:
    harness.request.fail("editMessageText", ApiError(400, "Bad Request: message can't be edited"))
    calls = await harness.send(harness.make.callback(EN_USER, "lang:zh", message_id=5))

    assert [c.method for c in calls] == ["answerCallbackQuery", "editMessageText", "sendMessage"]
    assert harness.last_text() == "已切换为中文。"


async def test_cancel_outside_a_dialog_says_there_is_nothing_to_cancel(harness: BotHarness) -> None:
    await harness.command(ZH_USER, "cancel")
    assert harness.last_text() == harness.t("zh", "fallback.nothing_to_cancel")


async def test_the_language_is_read_from_the_database_once_then_cached(harness: BotHarness) -> None:
    assert harness.deps.session_factory is not None
    engine = harness.deps.engine
    reads: list[str] = []

    def watch(conn: object, cursor: object, statement: str, *args: object) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "FROM users" in statement:
            reads.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", watch)
    try:
        await harness.command(ZH_USER, "help")
        first = len(reads)
        for _ in range(3):
            await harness.command(ZH_USER, "help")
        assert len(reads) == first  # the next updates read no users row for the language
        # /lang on this instance takes effect at once
        await harness.command(ZH_USER, "lang")
        await harness.click(ZH_USER, "lang:en")
        calls = await harness.command(ZH_USER, "help")
        assert harness.last_text(calls).startswith("<b>Help</b>")
        assert harness.deps.languages.get(ZH_USER.id) == (True, "en")
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", watch)
