"""The question waiting for its answer (bot/pending_input.py), through the real Application: it
survives a restart, one question at a time per user, and a lapsed one is forgotten."""

from __future__ import annotations

from datetime import timedelta

from bot import pending_input
from tests.bot.conftest import HarnessFactory
from tests.bot.test_liaison import LEAD_UNIT, LIAISON, OFFICE, OFFICE_CHAT, events, file_case, join


async def test_a_question_asked_before_a_restart_is_answered_after_it(
    harness_factory: HarnessFactory,
) -> None:
    settings = {"office_chat_id": OFFICE_CHAT, "office_admin_ids": str(OFFICE.id)}
    async with harness_factory(**settings) as first:
        await join(first, LIAISON, LEAD_UNIT)
        case = await file_case(first)
        assert case.id is not None
        await first.command(LIAISON, "inbox")
        await first.click(LIAISON, f"lc:view:{case.id}")
        await first.click(LIAISON, f"lc:note:{case.id}")
        assert first.last_text() == first.t("zh", "liaison.ask_note", tracking_no=case.tracking_no)

    async with harness_factory(**settings) as second:  # same database: the bot was restarted
        await second.say(LIAISON, "已电话联系窗口负责人。")

        assert second.last_text() == second.t("zh", "liaison.note_added", tracking_no=case.tracking_no)
        notes = [e.text for e in await events(second, case.id) if e.kind == "note"]
        assert notes == ["已电话联系窗口负责人。"]
        assert pending_input.SLOT not in second.app.user_data[LIAISON.id]


async def test_a_new_question_replaces_the_one_waiting_and_a_lapsed_one_is_forgotten(
    harness_factory: HarnessFactory,
) -> None:
    async with harness_factory(office_chat_id=OFFICE_CHAT, office_admin_ids=str(OFFICE.id)) as h:
        await join(h, LIAISON, LEAD_UNIT)
        case = await file_case(h)
        assert case.id is not None
        await h.command(LIAISON, "inbox")
        await h.click(LIAISON, f"lc:view:{case.id}")
        await h.click(LIAISON, f"lc:note:{case.id}")
        await h.click(LIAISON, f"lc:return:{case.id}")
        assert h.app.user_data[LIAISON.id][pending_input.SLOT]["kind"] == "lc.return"

        await h.say(LIAISON, "不属于本单位职责范围。")  # the return reason, not a note
        assert h.last_text() == h.t(
            "zh", "liaison.return_preview", tracking_no=case.tracking_no, text="不属于本单位职责范围。"
        )
        assert "note" not in [e.kind for e in await events(h, case.id)]

        h.clock.advance(pending_input.PROMPT_TTL + timedelta(minutes=1))
        await h.say(LIAISON, "政务中心停车场收费窗口的工作人员上班时间玩手机不理人。")
        assert pending_input.SLOT not in h.app.user_data[LIAISON.id]
        assert "对吗？" in h.last_text()  # the complaint dialog took it as a new complaint
