"""The citizen's complaint dialog (SPEC §4.1), played through the real Application: real
Updates in, the recorded Bot API calls and the database checked on the way out."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, ClassVar

import pytest
from sqlalchemy import func, select
from telegram.ext import ConversationHandler

from bot.dialog_state import DialogJobQueue
from bot.dialogs import complaint
from bot.dialogs.complaint import (
    AREA,
    DESCRIBE,
    EDIT,
    EVIDENCE,
    IDENTITY,
    PLACE,
    SCOPE,
    SUMMARY,
    TIME,
    UNIT,
    Draft,
    suggest_units,
    unit_named,
)
from bot.dialogs.complaint import draft as draft_module
from bot.persistence import DialogPersistence
from core.cases import Case
from core.clock import FixedClock
from core.plan import Plan
from core.services.complaints import (
    MAX_DESCRIPTION,
    MAX_EVIDENCE,
    MAX_FIELD,
    MIN_DESCRIPTION,
    ComplaintDraft,
)
from core.states import CaseState
from storage.dialog_store import SqlDialogStore
from storage.models import AttachmentRow, CaseRow, CitizenRow, OutboxRow
from tests.bot.conftest import HarnessFactory
from tests.support.harness import BotHarness
from tests.support.recording_request import RecordedCall
from tests.support.updates import EN_USER, ZH_USER, TgUser

# The conversation_timeout needs a running JobQueue; only the timeout test starts one.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Ignoring `conversation_timeout`:telegram.warnings.PTBUserWarning"
)

DESCRIPTION = "区政务中心的工作人员上班时间玩手机，办事拖拉，让我跑了三趟"  # conduct, confident
PLACE_TEXT = "二楼3号窗口"
WHEN_TEXT = "11月20日上午"
LIAISON = 200_001
MB = 1024 * 1024


# ---------------------------------------------------------------------------------------------
# A citizen walking through the dialog


class Citizen:
    """Drives one user through the dialog; ``to(step)`` answers every step before it the
    happy way (the description above, its suggested unit, two photos, anonymous)."""

    def __init__(self, h: BotHarness, user: TgUser = ZH_USER, lang: str = "zh") -> None:
        self.h, self.user, self.lang = h, user, lang

    def t(self, key: str, **params: Any) -> str:
        return self.h.t(self.lang, f"complaint.{key}", **params)

    def label(self, key: str) -> str:
        return self.t(f"button.{key}")

    async def press(self, key: str) -> list[RecordedCall]:
        return await self.h.click(self.user, label=self.label(key))

    async def say(self, text: str) -> list[RecordedCall]:
        return await self.h.say(self.user, text)

    async def photo(self) -> list[RecordedCall]:
        return await self.h.send(self.h.make.photo(self.user))

    async def answer(self, step: int) -> None:
        """Answer ``step`` (whose prompt is showing) the happy way."""
        actions: dict[int, Callable[[], Awaitable[object]]] = {
            DESCRIBE: lambda: self.say(DESCRIPTION),
            AREA: lambda: self.press("confirm_area"),
            UNIT: lambda: self.h.click(self.user, label="区政务中心"),
            PLACE: lambda: self.say(PLACE_TEXT),
            TIME: lambda: self.say(WHEN_TEXT),
            EVIDENCE: self._two_photos_and_done,
            IDENTITY: lambda: self.say(self.label("anonymous")),
            SUMMARY: lambda: self.press("edit"),
        }
        await actions[step]()

    async def _two_photos_and_done(self) -> None:
        await self.photo()
        await self.photo()
        await self.press("done")

    async def to(self, step: int) -> None:
        """Start with /new and answer every step before ``step``."""
        await self.h.command(self.user, "new")
        for done in (DESCRIBE, AREA, UNIT, PLACE, TIME, EVIDENCE, IDENTITY, SUMMARY):
            if done == step:
                return
            await self.answer(done)
        assert step == EDIT

    PROMPTS: ClassVar[dict[int, tuple[str, ...]]] = {
        DESCRIBE: ("ask_description", "describe_again", "describe_after_media"),
        SCOPE: ("out_of_scope",),
        AREA: ("area_proposed", "area_choose"),
        UNIT: ("ask_unit",),
        PLACE: ("ask_place",),
        TIME: ("ask_time",),
        EVIDENCE: ("ask_evidence",),
        IDENTITY: ("ask_identity",),
        SUMMARY: ("summary",),
        EDIT: ("ask_edit",),
    }

    def prompts(self, step: int) -> list[str]:
        """The fixed openings of ``step``'s question (in its variants), to recognise it."""
        openings = []
        for key in self.PROMPTS[step]:
            raw = self.h.catalogue.raw(self.lang, f"complaint.{key}")
            assert raw is not None
            openings.append(raw.split("{")[0][:20])
        return openings

    def shows(self, step: int, text: str | None = None) -> bool:
        shown = self.h.last_text() if text is None else text
        return any(opening in shown for opening in self.prompts(step))


def conversation_of(h: BotHarness) -> ConversationHandler[Any]:
    return next(
        x for x in h.app.handlers[0] if isinstance(x, ConversationHandler) and x.name == complaint.NAME
    )


def state_of(h: BotHarness, user: TgUser) -> object:
    return conversation_of(h)._conversations.get((user.id, user.id))


async def count(h: BotHarness, row: type[Any]) -> int:
    assert h.deps.session_factory is not None
    async with h.deps.session_factory() as session:
        return int((await session.execute(select(func.count()).select_from(row))).scalar_one())


async def the_case(h: BotHarness, tracking_no: str) -> Case:
    async with h.deps.uow() as uow:
        case = await uow.cases.get_by_tracking_no(tracking_no)
    assert case is not None
    return case


async def outbox_rows(h: BotHarness) -> list[OutboxRow]:
    assert h.deps.session_factory is not None
    async with h.deps.session_factory() as session:
        return list((await session.execute(select(OutboxRow))).scalars())


async def register_liaison(h: BotHarness, user_id: int, unit_id: str) -> None:
    now = h.clock.now()
    async with h.deps.uow() as uow:
        await uow.users.upsert(user_id, now=now, chat_id=user_id)
        await uow.liaisons.add(user_id, unit_id, now=now)
        await uow.commit()


def sticker(h: BotHarness, user: TgUser) -> Any:
    return h.make.message(
        user,
        sticker={
            "file_id": "stk1",
            "file_unique_id": "ustk1",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
        },
    )


@pytest.fixture
def citizen(harness: BotHarness) -> Citizen:
    return Citizen(harness)


# ---------------------------------------------------------------------------------------------
# The whole way


async def test_a_complaint_goes_from_free_text_to_a_receipt_and_reaches_the_lead_units_liaison(
    harness: BotHarness, citizen: Citizen
) -> None:
    h = harness
    await register_liaison(h, LIAISON, "organs_work_committee")  # lead unit of area 一 (conduct)

    await citizen.say(DESCRIPTION)
    assert citizen.shows(AREA)
    assert "玩手机" in h.last_text() and "拖拉" in h.last_text()  # the cues that decided it
    assert "一、" in h.last_text()

    await citizen.press("confirm_area")
    assert citizen.shows(UNIT)
    assert ("区政务中心", h.buttons()[0][1]) == h.buttons()[0]  # suggested from the description

    await h.click(ZH_USER, label="区政务中心")
    assert citizen.shows(PLACE)
    await citizen.say(PLACE_TEXT)
    assert citizen.shows(TIME)
    await citizen.say(WHEN_TEXT)
    assert citizen.shows(EVIDENCE)
    assert f"{MAX_EVIDENCE}" in h.last_text() and "20 MB" in h.last_text() and "PDF" in h.last_text()

    await citizen.photo()
    assert h.last_text() == citizen.t("evidence_added", count=1, max_files=MAX_EVIDENCE)
    await citizen.photo()
    assert h.last_text() == citizen.t("evidence_added", count=2, max_files=MAX_EVIDENCE)
    await citizen.press("done")
    assert citizen.shows(IDENTITY)
    assert "只有领导小组办公室" in h.last_text()
    contact_button = [c for c in h.last_calls if c.method == "sendMessage"][-1].reply_markup
    assert contact_button is not None
    assert contact_button["keyboard"][0][0]["request_contact"] is True

    await citizen.say(citizen.label("anonymous"))
    removal = h.last_calls[0].reply_markup
    assert removal == {"remove_keyboard": True}  # the contact keyboard goes away
    assert citizen.shows(SUMMARY)
    summary = h.last_text()
    for part in (DESCRIPTION, "区政务中心", PLACE_TEXT, WHEN_TEXT, citizen.t("evidence_count", count=2)):
        assert part in summary

    await citizen.press("submit")
    receipt = h.last_text()
    assert "ZH-2026-000001" in receipt
    assert "区直机关工委" in receipt  # the lead unit
    assert "2026年11月24日" in receipt  # sign for: 1 working day after Monday 2026-11-23
    assert "2026年11月30日" in receipt  # answer: 5 working days

    case = await the_case(h, "ZH-2026-000001")
    assert case.description == DESCRIPTION
    assert (case.area_auto, case.area_final) == ("conduct", "conduct")
    assert case.target_unit_id == "government_services_center"
    assert (case.place, case.occurred) == (PLACE_TEXT, WHEN_TEXT)
    assert case.anonymous is True
    assert case.state is CaseState.ASSIGNED
    assert await count(h, AttachmentRow) == 2
    notices = [row for row in await outbox_rows(h) if row.chat_id == LIAISON]
    assert [row.payload["text_key"] for row in notices] == ["notify.unit.new_case"]
    assert str(ZH_USER.id) not in json.dumps(notices[0].payload)  # the unit never learns who

    assert state_of(h, ZH_USER) is None  # the dialog is over
    assert complaint.DRAFT_KEY not in h.app.user_data[ZH_USER.id]


async def test_english_speakers_get_the_whole_dialog_in_english(harness: BotHarness) -> None:
    h = harness
    alice = Citizen(h, EN_USER, "en")
    await alice.say("I was treated rudely at the tax office and they made me come back three times")
    assert alice.shows(AREA)
    assert "Is that right?" in h.last_text()
    await alice.press("confirm_area")
    assert alice.shows(UNIT)
    await alice.press("skip")
    await alice.press("skip")  # place
    await alice.press("skip")  # time
    await alice.press("skip_evidence")
    assert alice.shows(IDENTITY)
    await alice.say(alice.label("anonymous"))
    assert alice.shows(SUMMARY)
    assert alice.t("not_given") in h.last_text()
    await alice.press("submit")
    receipt = h.last_text()
    assert "Tracking number: <code>ZH-2026-000001</code>" in receipt
    assert "District Organs Work Committee" in receipt
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in receipt)  # no Chinese left


async def test_a_photo_first_is_kept_as_evidence_and_a_description_is_asked_for(
    harness: BotHarness, citizen: Citizen
) -> None:
    h = harness
    await citizen.photo()
    assert h.last_text().startswith(
        citizen.t("describe_after_media", count=1, min=MIN_DESCRIPTION, max=MAX_DESCRIPTION)
    )
    await citizen.say(DESCRIPTION)
    assert citizen.shows(AREA)
    for step in (AREA, UNIT, PLACE, TIME):
        await citizen.answer(step)
    assert citizen.t("evidence_so_far", count=1, max_files=MAX_EVIDENCE) in h.last_text()
    await citizen.press("done")
    await citizen.answer(IDENTITY)
    assert citizen.t("evidence_count", count=1) in h.last_text()


async def test_a_captioned_voice_message_is_evidence_and_its_caption_the_description(
    harness: BotHarness, citizen: Citizen
) -> None:
    h = harness
    await h.send(
        h.make.message(
            ZH_USER,
            voice={
                "file_id": "v1",
                "file_unique_id": "uv1",
                "duration": 4,
                "mime_type": "audio/ogg",
                "file_size": 9000,
            },
            caption=DESCRIPTION,
        )
    )
    assert citizen.shows(AREA)
    draft = Draft.from_json(h.app.user_data[ZH_USER.id][complaint.DRAFT_KEY])
    assert draft is not None and draft.description == DESCRIPTION
    assert [e["kind"] for e in draft.evidence] == ["voice"]


# ---------------------------------------------------------------------------------------------
# Areas


async def test_picking_another_area_is_what_gets_filed_beside_the_automatic_one(
    harness: BotHarness, citizen: Citizen
) -> None:
    h = harness
    await citizen.to(AREA)
    await citizen.press("other_area")
    # the proposal turns into the list in place
    assert [c.method for c in h.last_calls] == ["editMessageText", "answerCallbackQuery"]
    labels = [label for label, _ in h.buttons()]
    assert labels[:5] == [h.t("zh", f"area.name.{a.id}") for a in h.plan.areas]
    await h.click(ZH_USER, label=h.t("zh", "area.name.enforcement"))
    assert citizen.shows(UNIT)
    for step in (UNIT, PLACE, TIME, EVIDENCE, IDENTITY):
        await citizen.answer(step)
    assert h.t("zh", "area.name.enforcement") in h.last_text()
    await citizen.press("submit")
    case = await the_case(h, "ZH-2026-000001")
    assert (case.area_auto, case.area_final) == ("conduct", "enforcement")


async def test_two_dialogs_whose_short_ids_collide_file_two_cases(
    harness: BotHarness, citizen: Citizen, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The draft id in the buttons is 24 bits; the filing's submission key is not it, so a
    citizen's later draft that happens to get an earlier one's id is not taken for a retry."""
    h = harness
    real = draft_module.secrets.token_hex
    monkeypatch.setattr(draft_module.secrets, "token_hex", lambda n: "abc123" if n == 3 else real(n))
    for number in ("ZH-2026-000001", "ZH-2026-000002"):
        await citizen.to(IDENTITY)
        await citizen.answer(IDENTITY)
        await citizen.press("submit")
        assert number in h.last_text()
    first, second = await the_case(h, "ZH-2026-000001"), await the_case(h, "ZH-2026-000002")
    assert first.submission_key != second.submission_key


async def test_not_sure_sends_the_case_to_office_triage(harness: BotHarness, citizen: Citizen) -> None:
    h = harness
    await citizen.to(AREA)
    await citizen.press("unsure")
    assert citizen.shows(UNIT)
    for step in (UNIT, PLACE, TIME, EVIDENCE, IDENTITY):
        await citizen.answer(step)
    assert citizen.t("area_unsure") in h.last_text()
    await citizen.press("submit")
    assert h.last_text() == citizen.t(
        "receipt_triage", tracking_no="ZH-2026-000001", area=h.t("zh", "cases.area_unknown")
    )
    case = await the_case(h, "ZH-2026-000001")
    assert case.state is CaseState.TRIAGE
    assert case.area_final is None and case.area_auto == "conduct"
    assert case.lead_unit_ids == []


async def test_an_unsure_classification_goes_straight_to_the_list_with_the_best_guesses(
    harness: BotHarness, citizen: Citizen
) -> None:
    h = harness
    text = "窗口工作人员态度很差，让我跑了三趟"
    assert h.deps.services.classifier.classify(text).needs_choice
    await citizen.say(text)
    reply = h.last_text()
    assert "请选择最符合的一类" in reply
    assert "系统猜测" in reply and "一、" in reply and "二、" in reply
    assert citizen.label("confirm_area") not in [label for label, _ in h.buttons()]


async def test_a_forged_area_id_is_refused_and_the_step_stays(harness: BotHarness, citizen: Citizen) -> None:
    h = harness
    await citizen.to(AREA)
    draft_id = h.app.user_data[ZH_USER.id][complaint.DRAFT_KEY]["id"]
    calls = await h.send(h.make.callback(ZH_USER, f"cp:{draft_id}:{AREA}:pick:nonsense"))
    assert [c.method for c in calls] == ["answerCallbackQuery"]  # nothing else happens
    assert calls[0].params["text"] == citizen.t("stale_button")
    assert state_of(h, ZH_USER) == AREA


# ---------------------------------------------------------------------------------------------
# Units


async def test_a_unit_named_exactly_is_linked_and_a_near_name_gets_suggestions(
    harness: BotHarness, citizen: Citizen
) -> None:
    h = harness
    await citizen.to(UNIT)
    await citizen.say("区发改委")  # an alias
    assert citizen.shows(PLACE)
    draft = h.app.user_data[ZH_USER.id][complaint.DRAFT_KEY]
    assert (draft["target_text"], draft["target_unit_id"]) == ("区发改委", "development_reform")

    await citizen.press("back")
    await citizen.say("财政局三楼的李科长")
    assert citizen.t("unit_which", text="财政局三楼的李科长") in h.last_text()
    assert [label for label, _ in h.buttons()][:1] == ["区财政局"]
    await citizen.press("none")
    draft = h.app.user_data[ZH_USER.id][complaint.DRAFT_KEY]
    assert (draft["target_text"], draft["target_unit_id"]) == ("财政局三楼的李科长", None)

    await citizen.press("back")
    await citizen.say("财政局三楼的李科长")
    await h.click(ZH_USER, label="区财政局")
    draft = h.app.user_data[ZH_USER.id][complaint.DRAFT_KEY]
    assert (draft["target_text"], draft["target_unit_id"]) == ("财政局三楼的李科长", "finance_bureau")


def test_unit_suggestions_match_names_aliases_and_fragments(plan: Plan) -> None:
    assert [u.id for u in suggest_units(plan, "我去区纪委党风廉政室反映")][:1] == ["conduct_integrity_office"]
    assert "finance_bureau" in [u.id for u in suggest_units(plan, "财政")]
    assert "government_services_center" in [
        u.id for u in suggest_units(plan, "the government services center")
    ]
    assert suggest_units(plan, "局") == []  # too short to mean anything
    assert suggest_units(plan, "   ") == []
    found = unit_named(plan, "发改局")
    assert found is not None and found.id == "development_reform"
    assert unit_named(plan, "某某局") is None


# ---------------------------------------------------------------------------------------------
# Back, cancel and wrong input at every step


BACKS = [
    # (step whose back is pressed, the step shown after, what it must still show)
    (AREA, DESCRIBE, DESCRIPTION),
    (UNIT, AREA, "玩手机"),
    (PLACE, UNIT, "区政务中心"),
    (TIME, PLACE, PLACE_TEXT),
    (EVIDENCE, TIME, WHEN_TEXT),
    (SUMMARY, IDENTITY, "匿名"),
    (EDIT, SUMMARY, DESCRIPTION),
]


@pytest.mark.parametrize(("step", "previous", "kept"), BACKS)
async def test_back_returns_to_the_previous_step_with_its_answer_kept(
    harness: BotHarness, citizen: Citizen, step: int, previous: int, kept: str
) -> None:
    h = harness
    await citizen.to(step)
    label = "back_to_summary" if step == EDIT else "back"
    await citizen.press(label)
    assert citizen.shows(previous)
    assert kept in h.last_text()
    assert state_of(h, ZH_USER) == previous
    if previous in (DESCRIBE, UNIT, PLACE, TIME):
        await citizen.press("keep")  # the kept answer carries on
        assert citizen.shows(step)


async def test_back_from_the_identity_keyboard_removes_it_and_keeps_the_evidence(
    harness: BotHarness, citizen: Citizen
) -> None:
    h = harness
    await citizen.to(IDENTITY)
    await citizen.say(citizen.label("back"))
    assert h.last_calls[0].reply_markup == {"remove_keyboard": True}
    assert citizen.shows(EVIDENCE)
    assert citizen.t("evidence_so_far", count=2, max_files=MAX_EVIDENCE) in h.last_text()


async def test_back_from_an_out_of_scope_answer_asks_for_the_description(
    harness: BotHarness, citizen: Citizen
) -> None:
    h = harness
    await citizen.say("楼上邻居装修太吵了，晚上十二点还在砸墙")
    assert citizen.shows(SCOPE)
    await citizen.press("back")
    assert state_of(h, ZH_USER) == DESCRIBE


@pytest.mark.parametrize("step", [DESCRIBE, AREA, UNIT, PLACE, TIME, EVIDENCE, IDENTITY, SUMMARY, EDIT])
async def test_cancel_drops_the_draft_at_any_step(harness: BotHarness, citizen: Citizen, step: int) -> None:
    h = harness
    await citizen.to(step)
    await h.command(ZH_USER, "cancel")
    assert h.last_text() == citizen.t("cancelled")
    if step == IDENTITY:
        assert h.last_calls[-1].reply_markup == {"remove_keyboard": True}
    assert state_of(h, ZH_USER) is None
    assert complaint.DRAFT_KEY not in h.app.user_data[ZH_USER.id]
    await citizen.say(DESCRIPTION)  # free text starts afresh
    assert citizen.shows(AREA)
    assert await count(h, CaseRow) == 0


async def test_the_summarys_cancel_button_drops_the_draft(harness: BotHarness, citizen: Citizen) -> None:
    h = harness
    await citizen.to(SUMMARY)
    await citizen.press("cancel")
    assert h.last_text() == citizen.t("cancelled")
    assert state_of(h, ZH_USER) is None
    assert await count(h, CaseRow) == 0


Send = Callable[[BotHarness, TgUser], Awaitable[list[RecordedCall]]]


def _say(text: str) -> Send:
    return lambda h, user: h.say(user, text)


def _send_sticker(h: BotHarness, user: TgUser) -> Awaitable[list[RecordedCall]]:
    return h.send(sticker(h, user))


WRONG_INPUTS: list[tuple[int, Send, Callable[[Citizen], str]]] = [
    (DESCRIBE, _send_sticker, lambda c: c.t("unexpected")),
    (DESCRIBE, _say("推诿"), lambda c: c.t("too_short", min=MIN_DESCRIPTION)),
    (DESCRIBE, _say("窗口推诿" * 600), lambda c: c.t("too_long", max=MAX_DESCRIPTION, length=2400)),
    (AREA, _say("就是第一类"), lambda c: c.t("unexpected")),
    (UNIT, _say("局" * 201), lambda c: c.t("field_too_long", max=MAX_FIELD, length=201)),
    (PLACE, _send_sticker, lambda c: c.t("unexpected")),
    (PLACE, _say("\u200b\u200e"), lambda c: c.t("field_empty")),
    (TIME, _say("上午" * 150), lambda c: c.t("field_too_long", max=MAX_FIELD, length=300)),
    (
        EVIDENCE,
        lambda h, u: h.send(h.make.document(u, file_size=25 * MB)),
        lambda c: c.t("evidence_too_big", size_mb="25.0", max_mb=20),
    ),
    (
        EVIDENCE,
        lambda h, u: h.send(h.make.document(u, file_name="setup.exe", mime_type="application/x-msdownload")),
        lambda c: c.t("evidence_bad_type", mime="application/x-msdownload", types=complaint.document_types()),
    ),
    (EVIDENCE, _say("照片稍后发"), lambda c: c.t("evidence_wrong_kind")),
    (
        IDENTITY,
        lambda h, u: h.send(
            h.make.message(
                u, contact={"phone_number": "+8613900000000", "first_name": "李四", "user_id": 999_999}
            )
        ),
        lambda c: c.t("identity_not_own"),
    ),
    (IDENTITY, lambda h, u: h.send(h.make.contact(u, own=False)), lambda c: c.t("identity_not_own")),
    (IDENTITY, _say("13800000000"), lambda c: c.t("identity_use_buttons")),
    (SUMMARY, _say("好了吗"), lambda c: c.t("unexpected")),
]


@pytest.mark.parametrize(("step", "wrong", "refusal"), WRONG_INPUTS)
async def test_a_wrong_input_is_refused_clearly_and_the_step_goes_on(
    harness: BotHarness,
    citizen: Citizen,
    step: int,
    wrong: Send,
    refusal: Callable[[Citizen], str],
) -> None:
    h = harness
    await citizen.to(step)
    calls = await wrong(h, ZH_USER)
    assert refusal(citizen) in h.texts(calls)[0]
    assert state_of(h, ZH_USER) == step
    await citizen.answer(step)  # the right answer still works
    assert state_of(h, ZH_USER) not in (step, None)


async def test_evidence_beyond_the_maximum_is_refused(harness: BotHarness, citizen: Citizen) -> None:
    h = harness
    await citizen.to(EVIDENCE)
    for _ in range(MAX_EVIDENCE):
        await citizen.photo()
    await citizen.photo()
    assert h.last_text() == citizen.t("evidence_full", max_files=MAX_EVIDENCE)
    assert len(h.app.user_data[ZH_USER.id][complaint.DRAFT_KEY]["evidence"]) == MAX_EVIDENCE


async def test_html_typed_by_the_citizen_is_shown_escaped(harness: BotHarness, citizen: Citizen) -> None:
    h = harness
    await citizen.to(PLACE)
    await citizen.say("<b>二楼</b> & 3号窗口")
    await citizen.press("back")
    assert "&lt;b&gt;二楼&lt;/b&gt; &amp; 3号窗口" in h.last_text()
    assert "<b>二楼</b>" not in h.last_text()


# ---------------------------------------------------------------------------------------------
# Identity, edits, submission


async def test_sharing_ones_own_number_records_it_for_the_office_only(
    harness: BotHarness, citizen: Citizen
) -> None:
    h = harness
    await register_liaison(h, LIAISON, "organs_work_committee")
    await citizen.to(IDENTITY)
    await h.send(h.make.contact(ZH_USER, "+8613800000000"))
    assert h.last_calls[0].reply_markup == {"remove_keyboard": True}
    assert "+8613800000000" in h.last_text()  # the summary shows it back to its owner
    await citizen.press("submit")
    case = await the_case(h, "ZH-2026-000001")
    assert case.anonymous is False
    assert h.deps.session_factory is not None
    async with h.deps.session_factory() as session:
        phones = list((await session.execute(select(CitizenRow.phone))).scalars())
    assert phones == ["+8613800000000"]
    for row in await outbox_rows(h):
        assert "13800000000" not in json.dumps(row.payload, ensure_ascii=False)


async def test_an_edit_from_the_summary_comes_back_to_the_summary(
    harness: BotHarness, citizen: Citizen
) -> None:
    h = harness
    await citizen.to(EDIT)
    await citizen.press("edit_place")
    assert citizen.shows(PLACE)
    await citizen.say("一楼大厅")
    assert citizen.shows(SUMMARY)
    assert "一楼大厅" in h.last_text() and PLACE_TEXT not in h.last_text()

    await citizen.press("edit")
    await citizen.press("edit_description")
    await citizen.say("执法人员在检查时对我推搡辱骂，还扣了我的东西")
    assert citizen.shows(AREA)  # a new description is classified again
    await citizen.press("confirm_area")
    assert citizen.shows(SUMMARY)
    assert h.t("zh", "area.name.enforcement") in h.last_text()
    await citizen.press("submit")
    case = await the_case(h, "ZH-2026-000001")
    assert (case.place, case.area_final) == ("一楼大厅", "enforcement")


async def test_pressing_submit_twice_files_one_case(harness: BotHarness, citizen: Citizen) -> None:
    h = harness
    await citizen.to(SUMMARY)
    await citizen.press("submit")
    calls = await citizen.press("submit")  # the same button again
    assert [c.method for c in calls] == ["answerCallbackQuery"]
    assert calls[0].params.get("show_alert") is True
    assert await count(h, CaseRow) == 1


async def test_a_button_from_an_earlier_dialog_is_stale(harness: BotHarness, citizen: Citizen) -> None:
    h = harness
    await citizen.to(SUMMARY)
    old_submit = dict(h.buttons())[citizen.label("submit")]
    assert old_submit is not None
    await h.command(ZH_USER, "cancel")
    await citizen.to(SUMMARY)
    calls = await h.send(h.make.callback(ZH_USER, old_submit))
    assert calls[0].params["text"] == citizen.t("stale_button")
    assert state_of(h, ZH_USER) == SUMMARY
    assert await count(h, CaseRow) == 0


async def test_a_button_of_an_earlier_step_is_stale(harness: BotHarness, citizen: Citizen) -> None:
    h = harness
    await citizen.to(TIME)
    calls = await h.click(ZH_USER, label="区政务中心")  # the unit step's suggestion
    assert calls[0].params["text"] == citizen.t("stale_button")
    assert state_of(h, ZH_USER) == TIME


# ---------------------------------------------------------------------------------------------
# Out of scope and the daily limit


async def test_an_out_of_scope_message_names_the_right_channel_and_files_nothing(
    harness: BotHarness, citizen: Citizen
) -> None:
    h = harness
    await citizen.say("在网上买的东西是坏的，商家不退货")
    reply = h.last_text()
    assert citizen.shows(SCOPE)
    assert "12315" in reply and "12345" in reply
    assert h.buttons()[0][0] == citizen.label("file_anyway")
    assert await count(h, CaseRow) == 0

    await citizen.press("file_anyway")
    assert "请选择最符合的一类" in h.last_text()  # no area was found: the citizen picks
    assert state_of(h, ZH_USER) == AREA


async def test_thanks_get_the_channels_and_a_short_text_filed_anyway_asks_for_more(
    harness: BotHarness, citizen: Citizen
) -> None:
    h = harness
    await citizen.say("谢谢")
    assert citizen.shows(SCOPE)
    await citizen.press("file_anyway")
    assert h.last_text().startswith(citizen.t("too_short", min=MIN_DESCRIPTION))
    assert state_of(h, ZH_USER) == DESCRIBE


async def test_the_daily_limit_is_told_before_any_effort(harness_factory: HarnessFactory) -> None:
    async with harness_factory(daily_case_limit=1) as h:
        citizen = Citizen(h)
        await citizen.to(SUMMARY)
        await citizen.press("submit")
        assert "ZH-2026-000001" in h.last_text()

        limit = citizen.t("limit_reached", limit=1, phone=h.plan.campaign.office.phone)
        await h.command(ZH_USER, "new")
        assert h.last_text() == limit
        await citizen.say(DESCRIPTION)
        assert h.last_text() == limit
        await citizen.photo()
        assert h.last_text() == limit
        assert state_of(h, ZH_USER) is None
        # out-of-scope text still gets its channels, not a limit it has nothing to do with
        await citizen.say("楼上邻居装修太吵了")
        assert citizen.shows(SCOPE)
        await citizen.press("file_anyway")
        assert h.last_text() == limit
        assert await count(h, CaseRow) == 1


async def test_the_limit_reached_meanwhile_is_told_at_submission(harness_factory: HarnessFactory) -> None:
    async with harness_factory(daily_case_limit=1) as h:
        citizen = Citizen(h)
        await citizen.to(SUMMARY)
        # filed meanwhile, e.g. from a second device
        await h.deps.services.complaints.file(ZH_USER.id, ComplaintDraft(DESCRIPTION, area="conduct"))
        await citizen.press("submit")
        assert h.last_text() == citizen.t("limit_reached", limit=1, phone=h.plan.campaign.office.phone)
        assert state_of(h, ZH_USER) is None
        assert await count(h, CaseRow) == 1


# ---------------------------------------------------------------------------------------------
# Restarts and timeouts


async def test_a_restart_in_the_middle_resumes_the_dialog_at_the_same_step(
    harness_factory: HarnessFactory,
) -> None:
    async with harness_factory() as first:
        citizen = Citizen(first)
        await citizen.to(PLACE)
        skip_place = dict(first.buttons())[citizen.label("skip")]
        assert skip_place is not None

    async with harness_factory() as second:  # same database: the bot was restarted
        citizen = Citizen(second)
        assert state_of(second, ZH_USER) == PLACE
        await second.send(second.make.callback(ZH_USER, skip_place))  # a button from before
        assert citizen.shows(TIME)
        for step in (TIME, EVIDENCE, IDENTITY):
            await citizen.answer(step)
        assert DESCRIPTION in second.last_text() and "区政务中心" in second.last_text()
        await citizen.press("submit")
        case = await the_case(second, "ZH-2026-000001")
        assert (case.description, case.place, case.occurred) == (DESCRIPTION, "", WHEN_TEXT)


async def test_a_crash_loses_at_most_what_came_after_the_last_flush(harness_factory: HarnessFactory) -> None:
    async with harness_factory() as first:
        citizen = Citizen(first)
        await citizen.to(PLACE)
        await citizen.say(PLACE_TEXT)
        await first.app.update_persistence()  # what the running bot does every second
        await citizen.say(WHEN_TEXT)  # ... and then the process dies before the next flush

        async with harness_factory() as second:
            assert state_of(second, ZH_USER) == TIME
            resumed = Citizen(second)
            await resumed.say("昨天下午")
            assert resumed.shows(EVIDENCE)
            draft = second.app.user_data[ZH_USER.id][complaint.DRAFT_KEY]
            assert (draft["place"], draft["occurred"]) == (PLACE_TEXT, "昨天下午")


async def test_an_abandoned_dialog_times_out_politely(harness: BotHarness, citizen: Citizen) -> None:
    h = harness
    job_queue = h.app.job_queue
    assert job_queue is not None
    for job in job_queue.jobs():
        job.schedule_removal()  # only the dialog's own timer below
    await job_queue.start()
    try:
        await citizen.to(IDENTITY)
        conversation = conversation_of(h)
        timer = conversation.timeout_jobs[(ZH_USER.id, ZH_USER.id)]
        assert timer.next_t is not None
        await timer.run(h.app)  # as if 30 minutes had passed
    finally:
        await job_queue.stop()
    sent = h.sent_to(ZH_USER.id)[-1]
    assert sent.text == citizen.t("timeout", minutes=complaint.TIMEOUT_MINUTES)
    assert sent.reply_markup == {"remove_keyboard": True}
    assert state_of(h, ZH_USER) is None
    assert complaint.DRAFT_KEY not in h.app.user_data[ZH_USER.id]


async def test_a_dialog_timer_fires_by_itself_once_and_the_next_step_replaces_it(
    harness: BotHarness, citizen: Citizen
) -> None:
    """The timeout runs on an event loop timer (bot.dialog_state._Timer), not an APScheduler
    job: it fires when due, a step drops the timer before it and sets a new one, and stopping
    the queue drops the one waiting."""
    h = harness
    job_queue = h.app.job_queue
    assert isinstance(job_queue, DialogJobQueue)
    for job in job_queue.jobs():
        job.schedule_removal()
    conversation = conversation_of(h)
    conversation._conversation_timeout = 0.2  # seconds, for this test (the dialog's is 30 min)
    key = (ZH_USER.id, ZH_USER.id)
    timeout = citizen.t("timeout", minutes=complaint.TIMEOUT_MINUTES)
    await job_queue.start()
    try:
        await citizen.to(IDENTITY)
        first = conversation.timeout_jobs[key]
        assert job_queue.jobs() == ()  # no APScheduler job per step
        assert len(job_queue.timers) == 1 and first.next_t is not None
        await asyncio.sleep(0.1)
        await citizen.say("匿名")  # a step before the timer is due: a fresh one replaces it
        assert first.removed and first.next_t is None
        assert conversation.timeout_jobs[key] is not first and len(job_queue.timers) == 1
        await asyncio.sleep(0.15)  # the first timer would have fired by now
        assert timeout not in [c.text for c in h.sent_to(ZH_USER.id)]
        for _ in range(50):  # the second fires about 0.2 s after the step
            if state_of(h, ZH_USER) is None:
                break
            await asyncio.sleep(0.02)
        assert [c.text for c in h.sent_to(ZH_USER.id)].count(timeout) == 1
        assert state_of(h, ZH_USER) is None and job_queue.timers == set()

        await citizen.to(PLACE)
        assert len(job_queue.timers) == 1
    finally:
        await job_queue.stop()
    assert job_queue.timers == set()  # the stop dropped the waiting timer
    mark = h.request.mark()
    await asyncio.sleep(0.3)
    assert h.request.since(mark) == []


async def test_a_chat_message_that_was_never_a_complaint_times_out_silently(
    harness: BotHarness, citizen: Citizen
) -> None:
    h = harness
    job_queue = h.app.job_queue
    assert job_queue is not None
    for job in job_queue.jobs():
        job.schedule_removal()
    await job_queue.start()
    try:
        await citizen.say("你好")
        mark = h.request.mark()
        await conversation_of(h).timeout_jobs[(ZH_USER.id, ZH_USER.id)].run(h.app)
    finally:
        await job_queue.stop()
    assert h.sent_to(ZH_USER.id, h.request.since(mark)) == []
    assert state_of(h, ZH_USER) is None


async def test_a_draft_older_than_the_timeout_is_dropped_and_new_text_starts_afresh(
    harness_factory: HarnessFactory, clock: FixedClock
) -> None:
    async with harness_factory() as first:
        await Citizen(first).to(TIME)
    clock.advance(timedelta(minutes=complaint.TIMEOUT_MINUTES + 1))  # down for a while
    async with harness_factory() as second:
        citizen = Citizen(second)
        assert state_of(second, ZH_USER) == TIME
        await citizen.say("执法人员在检查时对我推搡辱骂")
        texts = second.texts()
        assert texts[0] == citizen.t("timeout", minutes=complaint.TIMEOUT_MINUTES)
        assert citizen.shows(AREA, texts[-1])  # taken as a new complaint, not as the time


async def test_new_in_the_middle_starts_over(harness: BotHarness, citizen: Citizen) -> None:
    h = harness
    await citizen.to(TIME)
    old_id = h.app.user_data[ZH_USER.id][complaint.DRAFT_KEY]["id"]
    await h.command(ZH_USER, "new")
    assert citizen.shows(DESCRIBE)
    draft = h.app.user_data[ZH_USER.id][complaint.DRAFT_KEY]
    assert draft["id"] != old_id and draft["description"] == ""


# ---------------------------------------------------------------------------------------------
# The persistence underneath


async def test_persistence_writes_only_what_changed_and_keeps_no_rows_for_empty_data(
    harness: BotHarness,
) -> None:
    assert harness.deps.session_factory is not None
    store = SqlDialogStore(harness.deps.session_factory, harness.clock)
    writes: list[int] = []
    original = store.update_user_data

    async def counting(user_id: int, data: dict[str, Any]) -> None:
        writes.append(user_id)
        await original(user_id, data)

    store.update_user_data = counting  # type: ignore[method-assign]
    persistence = DialogPersistence(store)
    assert await persistence.get_user_data() == {}
    await persistence.update_user_data(1, {})
    await persistence.update_user_data(1, {"complaint": {"id": "abc"}})
    await persistence.update_user_data(1, {"complaint": {"id": "abc"}})  # unchanged: no write
    assert writes == [1]
    assert await store.get_user_data() == {1: {"complaint": {"id": "abc"}}}
    await persistence.update_user_data(1, {})
    assert await store.get_user_data() == {}

    await persistence.update_user_data(2, {"bad": object()})  # not JSON: logged, not written
    assert await store.get_user_data() == {}

    reopened = DialogPersistence(store)
    await store.update_user_data(3, {"k": [1, 2]})
    assert await reopened.get_user_data() == {3: {"k": [1, 2]}}
    writes.clear()
    await reopened.update_user_data(3, {"k": [1, 2]})
    assert writes == []  # what was read counts as written


async def test_bot_data_is_never_persisted(harness: BotHarness) -> None:
    persistence = harness.app.persistence
    assert isinstance(persistence, DialogPersistence)
    assert persistence.store_data.bot_data is False
    assert persistence.store_data.callback_data is False
    assert persistence.update_interval <= 1.0
    assert harness.app.bot_data.deps is harness.deps


async def test_a_press_is_answered_and_its_buttons_taken_off_side_by_side(
    harness: BotHarness, citizen: Citizen, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The spinner's answer and the buttons' removal are two Bot API calls after every press; a
    phone waits for one round trip to Telegram for both, not two one after the other. Here the
    answer is held until the removal has been asked for: sent one after the other, it would
    never see it."""
    h = harness
    await citizen.say(DESCRIPTION)
    removal_asked = asyncio.Event()
    plain = h.request.do_request

    async def do_request(url: str, method: str, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        if url.endswith("/editMessageReplyMarkup"):
            removal_asked.set()
        elif url.endswith("/answerCallbackQuery"):
            await asyncio.wait_for(removal_asked.wait(), timeout=2)
        return await plain(url, method, *args, **kwargs)

    monkeypatch.setattr(h.request, "do_request", do_request)
    calls = await citizen.press("confirm_area")
    assert citizen.shows(UNIT)
    methods = [c.method for c in calls]
    assert methods.count("answerCallbackQuery") == 1 and methods.count("editMessageReplyMarkup") == 1
    # the next step's prompt first: a refusal of the press could still be its one answer
    assert methods.index("sendMessage") < methods.index("answerCallbackQuery")
