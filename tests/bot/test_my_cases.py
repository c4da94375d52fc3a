"""Following one's cases through the real Application: /my, the case view with its public
history, /case and tracking numbers, and forged or malformed buttons (SPEC §4.3, §10)."""

from __future__ import annotations

from datetime import timedelta

from bot.i18n import Catalogue, escape
from core.attachments import AttachmentKind
from core.cases import CaseEvent, Visibility
from core.routing import TriageReason
from core.services.complaints import ComplaintDraft, Evidence, Filed
from core.services.workflow import CITIZEN_NOTICES
from core.states import Actor
from tests.bot.conftest import HarnessFactory
from tests.support.harness import BotHarness
from tests.support.recording_request import RecordedCall
from tests.support.updates import EN_USER, ZH_USER, TgUser

OTHER = TgUser(100_077, "李四", "zh-hans")
INTERNAL_NOTE = "内部意见：先调取窗口监控再说"


def draft(**changes: object) -> ComplaintDraft:
    values: dict[str, object] = {
        "description": "3号窗口工作人员态度恶劣，材料齐全还让我跑了三趟。",
        "area": "conduct",
        "area_auto": "conduct",
        "target_text": "3号窗口的工作人员",
        "place": "区政务中心一楼",
        "occurred": "11月20日上午",
    }
    values.update(changes)
    return ComplaintDraft(**values)  # type: ignore[arg-type]


async def file(h: BotHarness, user: TgUser, **changes: object) -> Filed:
    return await h.deps.services.complaints.file(user.id, draft(**changes))


async def add_event(h: BotHarness, filed: Filed, kind: str, visibility: Visibility, text: str) -> None:
    assert filed.case.id is not None
    async with h.deps.uow() as uow:
        await uow.events.add(
            CaseEvent(filed.case.id, h.clock.now(), Actor.LIAISON, "800001", kind, visibility, text=text)
        )
        await uow.commit()


def answers(calls: list[RecordedCall]) -> list[RecordedCall]:
    return [c for c in calls if c.method == "answerCallbackQuery"]


def alert_text(calls: list[RecordedCall]) -> str:
    [answer] = answers(calls)
    assert answer.params.get("show_alert") is True
    return str(answer.params["text"])


# --- /my -----------------------------------------------------------------------------------


async def test_my_lists_the_citizens_cases_newest_first_with_state_area_and_deadline(
    harness: BotHarness,
) -> None:
    h = harness
    assigned = await file(h, ZH_USER)
    h.clock.advance(timedelta(minutes=5))
    triaged = await file(h, ZH_USER, area=None)
    await file(h, OTHER)  # somebody else's: never listed

    await h.command(ZH_USER, "my")

    text = h.last_text()
    assert text.index(triaged.case.tracking_no) < text.index(assigned.case.tracking_no)
    assert h.t("zh", "state.assigned") in text and h.t("zh", "state.triage") in text
    assert h.t("zh", "area.name.conduct") in text
    assert h.t("zh", "cases.area_unknown") in text
    # Monday 10:00: the unit must sign for it by Tuesday, one working day left, so blue
    assert "单位签收期限：2026年11月24日（周二）" in text
    assert h.t("zh", "cases.colour.blue") in text
    assert "ZH-2026-000003" not in text
    assert h.buttons() == [
        (f"{triaged.case.tracking_no} · 待分办", f"case:view:{triaged.case.id}:0"),
        (f"{assigned.case.tracking_no} · 已交办", f"case:view:{assigned.case.id}:0"),
    ]


async def test_my_without_cases_says_how_to_start_one(harness: BotHarness) -> None:
    await harness.command(ZH_USER, "my")

    assert harness.last_text() == harness.t("zh", "cases.none")
    assert harness.buttons() == []


async def test_my_pages_through_many_cases_with_buttons(harness_factory: HarnessFactory) -> None:
    async with harness_factory(daily_case_limit=20) as h:
        filed = []
        for _ in range(12):
            filed.append(await file(h, ZH_USER))
            h.clock.advance(timedelta(minutes=1))

        await h.command(ZH_USER, "my")
        first_page = h.buttons()
        assert len(first_page) == 11  # ten cases and "next"
        assert first_page[-1] == (h.t("zh", "cases.button.next"), "case:page:1")
        assert filed[-1].case.tracking_no in h.last_text()

        calls = await h.click(ZH_USER, "case:page:1")

        assert [c.method for c in calls] == ["answerCallbackQuery", "editMessageText"]
        text = h.last_text()
        assert h.t("zh", "cases.list_header_paged", page=2) in text
        assert filed[1].case.tracking_no in text and filed[0].case.tracking_no in text
        assert filed[2].case.tracking_no not in text
        assert h.buttons()[-1] == (h.t("zh", "cases.button.prev"), "case:page:0")
        assert len(h.buttons()) == 3


# --- the case view -------------------------------------------------------------------------


async def test_the_case_view_shows_the_public_history_and_never_internal_notes(harness: BotHarness) -> None:
    h = harness
    evidence = (Evidence("p1", "up1", AttachmentKind.PHOTO), Evidence("p2", "up2", AttachmentKind.PHOTO))
    filed = await file(h, ZH_USER, evidence=evidence)
    await add_event(h, filed, "note", Visibility.INTERNAL, INTERNAL_NOTE)
    await h.command(ZH_USER, "my")

    calls = await h.click(ZH_USER, f"case:view:{filed.case.id}:0")

    assert [c.method for c in calls] == ["answerCallbackQuery", "editMessageText"]
    text = h.last_text()
    assert f"投诉 {filed.case.tracking_no}" in text
    assert h.t("zh", "cases.card.evidence", count=2) in text
    assert "区政务中心一楼" in text and "11月20日上午" in text
    assert "承办单位：区直机关工委" in text
    assert "答复期限：2026年11月30日（周一）" in text
    history = text[text.index(h.t("zh", "cases.history.title")) :]
    assert "2026年11月23日（周一） 10:00  提交投诉" in history
    assert h.t("zh", "cases.event.route") in history
    assert INTERNAL_NOTE not in text
    assert h.t("zh", "cases.event.note") not in history
    assert h.buttons() == [(h.t("zh", "cases.button.back"), "case:page:0")]

    # and back to the list
    await h.click(ZH_USER, "case:page:0")
    assert filed.case.tracking_no in h.last_text()
    assert h.t("zh", "cases.list_header") in h.last_text()


async def test_the_units_public_reply_is_shown_escaped(harness: BotHarness) -> None:
    filed = await file(harness, ZH_USER)
    await add_event(harness, filed, "answer", Visibility.PUBLIC, "经核实，已批评教育 <当事人> & 整改")

    await harness.command(ZH_USER, "case", filed.case.tracking_no)

    text = harness.last_text()
    assert harness.t("zh", "cases.event.answer") in text
    assert escape("经核实，已批评教育 <当事人> & 整改") in text
    assert "<当事人>" not in text


async def test_history_details_show_new_deadlines_and_ratings(harness: BotHarness) -> None:
    h = harness
    filed = await file(h, ZH_USER)
    assert filed.case.id is not None
    async with h.deps.uow() as uow:
        events: list[tuple[str, dict[str, object]]] = [
            ("approve_extension", {"new_due": "2026-12-07"}),
            ("close", {"satisfaction": "basically"}),
            ("brand_new_kind", {}),
        ]
        for kind, data in events:
            await uow.events.add(
                CaseEvent(filed.case.id, h.clock.now(), Actor.OFFICE, "1", kind, Visibility.PUBLIC, data=data)
            )
        await uow.commit()

    await h.command(ZH_USER, "case", filed.case.tracking_no)

    text = h.last_text()
    assert "答复期限延至 2026年12月7日（周一）" in text
    assert "评价：基本满意" in text
    assert h.t("zh", "cases.event.other") in text and "brand_new_kind" not in text


async def test_a_case_with_a_long_history_still_fits_in_one_message(harness: BotHarness) -> None:
    h = harness
    filed = await file(h, ZH_USER, description="很长的描述。" * 300)
    for i in range(40):
        h.clock.advance(timedelta(minutes=1))
        await add_event(h, filed, "answer", Visibility.PUBLIC, f"第{i}次答复：" + "内容" * 300)

    await h.command(ZH_USER, "case", filed.case.tracking_no)

    text = h.last_text()
    assert len(text) <= 4096
    assert "第39次答复" in text  # the newest entries stay
    assert "第0次答复" not in text
    assert "条更早的记录" in text


async def test_a_view_button_under_a_notice_sends_the_case_instead_of_editing_the_notice(
    harness: BotHarness,
) -> None:
    filed = await file(harness, ZH_USER)

    calls = await harness.send(
        harness.make.callback(ZH_USER, f"case:view:{filed.case.id}", message_id=4242, message_text="通知")
    )

    assert [c.method for c in calls] == ["answerCallbackQuery", "sendMessage"]
    assert filed.case.tracking_no in harness.last_text()


# --- nobody else's case, whatever the button says ------------------------------------------


async def test_a_forged_button_for_someone_elses_case_gets_the_same_not_found_as_no_case(
    harness: BotHarness,
) -> None:
    h = harness
    theirs = await file(h, ZH_USER)
    await file(h, OTHER)  # the forger has cases of their own

    forged = await h.send(h.make.callback(OTHER, f"case:view:{theirs.case.id}:0", message_text="x"))
    missing = await h.send(h.make.callback(OTHER, "case:view:999999:0", message_text="x"))

    assert alert_text(forged) == h.t("zh", "cases.not_found")
    assert [(c.method, {k: v for k, v in c.params.items() if k != "callback_query_id"}) for c in forged] == [
        (c.method, {k: v for k, v in c.params.items() if k != "callback_query_id"}) for c in missing
    ]
    to_forger = [c for c in h.request.calls if c.chat_id == OTHER.id or c.method == "answerCallbackQuery"]
    everything_sent = " ".join(str(c.params) for c in to_forger)
    assert theirs.case.tracking_no not in everything_sent
    assert theirs.case.description not in everything_sent


async def test_case_command_for_someone_elses_tracking_number_is_not_found(harness: BotHarness) -> None:
    theirs = await file(harness, ZH_USER)

    await harness.command(OTHER, "case", theirs.case.tracking_no)

    assert harness.last_text() == harness.t("zh", "cases.not_found")
    await harness.command(OTHER, "case", "ZH-2026-999999")
    assert harness.last_text() == harness.t("zh", "cases.not_found")


async def test_malformed_case_buttons_get_the_stale_button_answer(harness: BotHarness) -> None:
    filed = await file(harness, ZH_USER)
    stale = harness.t("zh", "fallback.stale_button")

    for data in (
        "case:view:",
        "case:view:abc",
        f"case:view:{filed.case.id}:x",
        f"case:view:{filed.case.id}:0:0",
        "case:view:-1",
        "case:view:0",
        "case:view:１",  # a full-width digit
        "case:view:99999999999999999999",
        "case:page:-1",
        "case:page:",
        "case:delete:1",
        "case:",
    ):
        calls = await harness.send(harness.make.callback(ZH_USER, data, message_text="x"))

        assert [c.method for c in calls] == ["answerCallbackQuery"], data
        assert alert_text(calls) == stale, data


async def test_cases_are_never_shown_in_a_group_chat(harness: BotHarness) -> None:
    h = harness
    filed = await file(h, ZH_USER)
    group = {"id": -100_123, "type": "supergroup", "title": "办公室"}
    command = {"type": "bot_command", "offset": 0, "length": 3}

    calls = await h.send(h.make.message(ZH_USER, text="/my", entities=[command], chat=group))
    calls += await h.send(h.make.message(ZH_USER, text=filed.case.tracking_no, chat=group))
    assert filed.case.tracking_no not in " ".join(str(c.params) for c in calls)

    pressed = h.make.callback(ZH_USER, f"case:view:{filed.case.id}:0", message_text="x")
    assert pressed.callback_query is not None and pressed.callback_query.message is not None
    in_group = h.make.update(
        callback_query={
            **pressed.callback_query.to_dict(),
            "message": {**pressed.callback_query.message.to_dict(), "chat": group},
        }
    )
    calls = await h.send(in_group)
    assert [c.method for c in calls] == ["answerCallbackQuery"]
    assert alert_text(calls) == h.t("zh", "fallback.stale_button")


async def test_a_page_past_the_end_shows_the_first_page(harness: BotHarness) -> None:
    filed = await file(harness, ZH_USER)

    await harness.send(harness.make.callback(ZH_USER, "case:page:9999", message_text="x"))

    assert filed.case.tracking_no in harness.last_text()


# --- /case and tracking numbers ------------------------------------------------------------


async def test_case_command_finds_the_citizens_case_as_typed(harness: BotHarness) -> None:
    filed = await file(harness, ZH_USER)

    for typed in (filed.case.tracking_no, filed.case.tracking_no.lower(), "ＺＨ－２０２６－０００００１"):
        await harness.command(ZH_USER, "case", typed)

        assert f"投诉 {filed.case.tracking_no}" in harness.last_text(), typed


async def test_sending_just_a_tracking_number_shows_that_case(harness: BotHarness) -> None:
    filed = await file(harness, ZH_USER)

    await harness.say(ZH_USER, f"  {filed.case.tracking_no.lower()} ")

    assert f"投诉 {filed.case.tracking_no}" in harness.last_text()


async def test_case_command_with_a_bad_tracking_number_is_answered_clearly(harness: BotHarness) -> None:
    h = harness

    await h.command(ZH_USER, "case")
    assert h.last_text() == h.t("zh", "cases.case_usage", example="ZH-2026-000123")

    await h.command(ZH_USER, "case", "<b>ZH-2026-1</b>")
    text = h.last_text()
    assert text == h.t("zh", "cases.bad_tracking_no", text="<b>ZH-2026-1</b>", example="ZH-2026-000123")
    assert "&lt;b&gt;ZH-2026-1&lt;/b&gt;" in text

    await h.command(ZH_USER, "case", "x" * 500)
    assert len(h.last_text()) < 300


# --- languages -----------------------------------------------------------------------------


async def test_an_english_user_gets_the_list_and_the_case_in_english(harness: BotHarness) -> None:
    h = harness
    await h.command(EN_USER, "start")  # remembers the user's language (see file() below)
    filed = await file(h, EN_USER)

    await h.command(EN_USER, "my")

    text = h.last_text()
    assert text.startswith("<b>My complaints</b>")
    assert "Assigned" in text
    assert h.t("en", "area.name.conduct") in text
    assert "Unit to sign for it by: Tue 24 Nov 2026" in text
    assert h.buttons() == [(f"{filed.case.tracking_no} · Assigned", f"case:view:{filed.case.id}:0")]

    await h.click(EN_USER, f"case:view:{filed.case.id}:0")

    text = h.last_text()
    assert f"Complaint {filed.case.tracking_no}" in text
    assert "Handled by: District Organs Work Committee" in text
    assert "Mon 23 Nov 2026 10:00  Complaint filed" in text
    assert h.buttons() == [("‹ Back to my complaints", "case:page:0")]

    await h.command(EN_USER, "case", "nonsense")
    assert h.last_text().startswith("“nonsense” is not a valid tracking number")


async def test_my_and_case_are_in_the_command_menu_and_help(harness: BotHarness) -> None:
    await harness.command(ZH_USER, "help")

    assert "/my" in harness.last_text() and "/case" in harness.last_text()
    menus = harness.request.of("setMyCommands")
    assert menus and all(
        {"my", "case"} <= {c["command"] for c in call.params["commands"]} for call in menus
    )


# --- the notices filing queues have texts for everything core passes ---------------------------


async def test_every_notice_a_filing_queues_has_a_text_that_uses_only_what_core_passes(
    harness_factory: HarnessFactory,
) -> None:
    liaisons = {"organs_work_committee": 800_001, "conduct_integrity_office": 800_002}
    async with harness_factory(office_chat_id=-100_500) as h:
        now = h.clock.now()
        async with h.deps.uow() as uow:
            for unit_id, user_id in liaisons.items():
                await uow.users.upsert(user_id, now=now, chat_id=user_id)
                await uow.liaisons.add(user_id, unit_id, now=now)
            await uow.commit()
        await file(h, ZH_USER, anonymous=False, phone="+8613800000000")
        await file(h, ZH_USER, area=None)
        async with h.deps.uow() as uow:
            queued = await uow.outbox.claim_batch("test", now=now, limit=50, lease=timedelta(minutes=1))
            await uow.rollback()

        keys = sorted(str(m.payload["text_key"]) for m in queued)
        assert keys == ["notify.office.triage", "notify.unit.copied", "notify.unit.new_case"]
        for message in queued:
            params = message.payload["text_params"]
            assert isinstance(params, dict)
            for lang in ("zh", "en"):
                key = str(message.payload["text_key"])
                assert h.catalogue.has(key, lang)
                assert h.catalogue.placeholders(lang, key) <= set(params), (lang, key)
                for name, value in params.items():
                    if name.endswith("_key"):
                        assert h.catalogue.has(str(value), lang), (lang, value)
            if message.chat_id in liaisons.values():
                # the unit's card says nothing about who complained
                assert str(ZH_USER.id) not in str(message.payload)
                assert "8613800000000" not in str(message.payload)


def test_every_citizen_notice_and_triage_reason_has_a_text_in_both_languages(catalogue: Catalogue) -> None:
    # what services pass besides the tracking number (documented next to each text)
    passed = {"tracking_no", "lead_units", "answer_due_date", "answer", "reason", "days"}
    for key in filter(None, CITIZEN_NOTICES.values()):
        for lang in ("zh", "en"):
            assert catalogue.has(key, lang), (lang, key)
            assert "tracking_no" in catalogue.placeholders(lang, key)
            assert catalogue.placeholders(lang, key) <= passed, (lang, key)
    for reason in TriageReason:
        for lang in ("zh", "en"):
            assert catalogue.has(f"triage.reason.{reason.value}", lang)
