"""A street running its own campaign beside the district's (保障措施 一), through the real
Application on the seed plan plus 苗圃街道 (tests/support/street_plan.py).

The district's office adds a member to the street's office (/members add ID miaopu); a complaint
about one of the street's units becomes the street's case, led by the street's own unit for the
area; a complaint about a district unit stays the district's. Neither office sees the other's
cases, except the district's, which sees both; the street's office acts only within its own
units (routing, members, broadcasts), and a complaint that recusal leaves no street unit to lead
goes up to the district.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator

import pytest
from openpyxl import load_workbook

from core.campaigns import DISTRICT
from core.cases import Case
from core.clock import FixedClock
from core.errors import NotFound
from core.services.office import OutsideCampaign
from core.states import CaseState
from tests.bot.test_liaison import LEAD_UNIT, LIAISON, OFFICE, OFFICE_CHAT, drain, file_case, join
from tests.support.harness import BotHarness, running_harness
from tests.support.recording_request import RecordedCall
from tests.support.street_plan import STREET, street_plan
from tests.support.updates import TgUser

STREET_OFFICE = TgUser(910_001, "苗圃街道纪工委孙九", "zh-hans")
SQUAD_LIAISON = TgUser(810_001, "苗圃执法中队钱十", "zh-hans")
ROUGH = "苗圃街道社会事务办的执法人员上门检查时态度粗暴，推搡群众，还扣押了我的三轮车。"

pytestmark = pytest.mark.filterwarnings(
    "ignore:Ignoring `conversation_timeout`:telegram.warnings.PTBUserWarning"
)


@pytest.fixture
async def h(clock: FixedClock, migrated_sqlite_url: str) -> AsyncIterator[BotHarness]:
    async with running_harness(
        plan=street_plan(),
        clock=clock,
        database_url=migrated_sqlite_url,
        office_chat_id=OFFICE_CHAT,
        office_admin_ids=str(OFFICE.id),
    ) as harness:
        await harness.command(OFFICE, "members", f"add {STREET_OFFICE.id} {STREET}")
        assert str(STREET_OFFICE.id) in harness.last_text()
        yield harness


async def street_case(h: BotHarness) -> Case:
    """A complaint of rough enforcement by the street's social affairs office."""
    return await file_case(
        h,
        description=ROUGH,
        area="enforcement",
        area_auto="enforcement",
        target_unit_id="miaopu_social_office",
        target_text="苗圃街道社会事务办",
    )


async def district_case(h: BotHarness) -> Case:
    return await file_case(h)  # about a window of the district's government service centre


async def test_a_complaint_about_a_street_unit_is_the_streets_case_led_by_its_own_unit(h: BotHarness) -> None:
    await join(h, SQUAD_LIAISON, "miaopu_enforcement_squad")
    await join(h, LIAISON, LEAD_UNIT)
    await drain(h)

    local = await street_case(h)
    district = await district_case(h)

    assert local.campaign == STREET and local.state is CaseState.ASSIGNED
    assert local.lead_unit_ids == ["miaopu_enforcement_squad"]  # the plan's lead for the area
    assert local.assist_unit_ids == []  # the district's assisting units are not copied
    assert district.campaign == DISTRICT and district.lead_unit_ids == [LEAD_UNIT]

    sent = await drain(h)
    squad = [str(c.params.get("text")) for c in sent if c.params.get("chat_id") == SQUAD_LIAISON.id]
    assert any(local.tracking_no in text for text in squad)
    assert not any(district.tracking_no in text for text in squad)
    lead = [str(c.params.get("text")) for c in sent if c.params.get("chat_id") == LIAISON.id]
    assert not any(local.tracking_no in text for text in lead)


async def test_neither_office_sees_the_others_cases_but_the_district_sees_both(h: BotHarness) -> None:
    local = await street_case(h)
    district = await district_case(h)
    not_found = h.t("zh", "office.case_not_found")

    await h.command(STREET_OFFICE, "case_office", local.tracking_no)
    assert local.tracking_no in h.last_text() and ROUGH[:8] in h.last_text()
    await h.command(STREET_OFFICE, "case_office", district.tracking_no)
    assert district.tracking_no not in h.last_text()
    assert not_found in h.last_text()

    for case in (local, district):
        await h.command(OFFICE, "case_office", case.tracking_no)
        assert case.tracking_no in h.last_text() and not_found not in h.last_text()

    # the services answer the same way whatever the front end (the dashboard goes through them)
    office = h.deps.services.office
    assert (await office.case_by_number(OFFICE.id, local.tracking_no)).campaign == STREET
    with pytest.raises(NotFound):
        await office.case_by_number(STREET_OFFICE.id, district.tracking_no)
    with pytest.raises(NotFound):
        await office.view(STREET_OFFICE.id, district.id or 0)


async def test_each_triage_queue_holds_its_own_campaigns_cases(h: BotHarness) -> None:
    # nobody picked an area: both wait for an office to decide
    local = await file_case(
        h, description=ROUGH, area=None, area_auto=None, target_unit_id="miaopu_social_office"
    )
    district = await file_case(h, area=None, area_auto=None)
    assert local.state is CaseState.TRIAGE and local.campaign == STREET
    assert district.state is CaseState.TRIAGE and district.campaign == DISTRICT

    street_queue = await h.deps.services.office.triage_queue(STREET_OFFICE.id)
    district_queue = await h.deps.services.office.triage_queue(OFFICE.id)
    assert [i.case.tracking_no for i in street_queue.items] == [local.tracking_no]
    assert {i.case.tracking_no for i in district_queue.items} == {local.tracking_no, district.tracking_no}

    # the street's office has no group chat: its members are told in private, the district's
    # office in its group
    sent = await drain(h)
    street_told = " ".join(str(c.params.get("text")) for c in h.sent_to(STREET_OFFICE.id, sent))
    assert local.tracking_no in street_told and district.tracking_no not in street_told
    group = " ".join(str(c.params.get("text")) for c in h.sent_to(OFFICE_CHAT, sent))
    assert local.tracking_no in group and district.tracking_no in group

    await h.command(STREET_OFFICE, "triage")
    text = "\n".join(h.texts())
    assert local.tracking_no in h.last_text()
    assert district.tracking_no not in text


async def test_the_streets_office_acts_within_its_own_units_only(h: BotHarness) -> None:
    office = h.deps.services.office
    local = await file_case(
        h, description=ROUGH, area=None, area_auto=None, target_unit_id="miaopu_social_office"
    )
    assert local.id is not None

    # routing to a district unit is the district's call, not the street's
    with pytest.raises(OutsideCampaign):
        await office.route(STREET_OFFICE.id, local.id, "enforcement", [LEAD_UNIT])
    routed = await office.route(STREET_OFFICE.id, local.id, "enforcement")
    assert routed.lead_unit_ids == ("miaopu_enforcement_squad",) and routed.assist_unit_ids == ()

    # members: its own office only
    await h.command(STREET_OFFICE, "members", f"add 910002 {DISTRICT or 'district'}")
    assert h.t("zh", "office.error_unknown_campaign") in h.last_text()
    await h.command(STREET_OFFICE, "members", "add 910002")
    async with h.deps.uow() as uow:
        added = await uow.office.get(910_002)
    assert added is not None and added.campaign == STREET
    await h.command(STREET_OFFICE, "members", f"remove {OFFICE.id}")
    assert "OFFICE_ADMIN_IDS" in h.last_text()  # a config admin: changed in the configuration
    # a district member is not the street's to remove
    await h.command(OFFICE, "members", "add 910003")
    await h.command(STREET_OFFICE, "members", "remove 910003")
    assert h.t("zh", "office.error_not_member", user_id=910003) in h.last_text()
    async with h.deps.uow() as uow:
        assert await uow.office.is_member(910_003)
    await h.command(STREET_OFFICE, "members")
    listing = h.last_text()
    assert "910002" in listing and "苗圃街道" in listing
    assert "910003" not in listing  # the district's members are not the street's to list

    # the district's office routes the street's case up to a district unit: it leaves the street
    district_routed = await office.route(OFFICE.id, local.id, "enforcement", [LEAD_UNIT])
    assert district_routed.case.campaign == DISTRICT
    await h.command(STREET_OFFICE, "case_office", local.tracking_no)
    assert h.t("zh", "office.case_not_found") in h.last_text()


async def test_the_streets_broadcast_reaches_its_own_liaisons_only(h: BotHarness) -> None:
    await join(h, SQUAD_LIAISON, "miaopu_enforcement_squad")
    await join(h, LIAISON, LEAD_UNIT)
    await drain(h)
    office = h.deps.services.office
    with pytest.raises(OutsideCampaign):
        await office.broadcast(STREET_OFFICE.id, "请本周五前报送自查报告。", LEAD_UNIT)
    done = await office.broadcast(STREET_OFFICE.id, "请本周五前报送自查报告。")
    assert done.recipients == 1
    sent = await drain(h)
    assert any("自查报告" in str(c.params.get("text")) for c in h.sent_to(SQUAD_LIAISON.id, sent))
    assert not any("自查报告" in str(c.params.get("text")) for c in h.sent_to(LIAISON.id, sent))


async def test_a_complaint_about_the_street_itself_goes_up_to_the_district(h: BotHarness) -> None:
    case = await file_case(
        h,
        description="苗圃街道办事处办事大厅的工作人员推诿扯皮，材料齐全还不给办理低保。",
        area="conduct",
        area_auto="conduct",
        target_unit_id="miaopu_street",
        target_text="苗圃街道办事处",
    )
    assert case.campaign == DISTRICT
    assert case.lead_unit_ids and not set(case.lead_unit_ids) & {
        "miaopu_street",
        "miaopu_service_center",
        "miaopu_enforcement_squad",
        "miaopu_social_office",
    }
    await h.command(STREET_OFFICE, "case_office", case.tracking_no)
    assert h.t("zh", "office.case_not_found") in h.last_text()


async def test_each_office_exports_the_cases_it_may_see(h: BotHarness) -> None:
    local = await street_case(h)
    district = await district_case(h)

    def numbers(calls: list[RecordedCall]) -> set[str]:
        (xlsx,) = [c.files["document"].content for c in calls if c.method == "sendDocument"]
        sheet = load_workbook(io.BytesIO(xlsx)).worksheets[0]
        return {str(v) for row in sheet.iter_rows(min_row=2, values_only=True) for v in row[:1]}

    assert numbers(await h.command(STREET_OFFICE, "export")) == {local.tracking_no}
    assert numbers(await h.command(OFFICE, "export")) == {local.tracking_no, district.tracking_no}


async def test_each_office_gets_the_digest_and_scoreboard_of_the_cases_it_may_see(h: BotHarness) -> None:
    local = await street_case(h)
    district = await district_case(h)
    today = h.clock.now().date().isoformat()

    def board(calls: list[RecordedCall]) -> str:
        return "\n".join(str(c.params.get("text")) for c in calls if c.method == "sendMessage")

    street_board = board(await h.command(STREET_OFFICE, "scoreboard"))
    assert street_board.startswith("<b>苗圃街道“群众办事难”专项整治</b>\n")  # whose figures these are
    assert "苗圃街道综合执法中队</b>：受理 1" in street_board
    assert "区直机关工委" not in street_board  # the district's units are not the street's business
    district_board = board(await h.command(OFFICE, "scoreboard"))
    assert "专项整治</b>\n" not in district_board  # the district's own: no campaign line
    assert "苗圃街道综合执法中队</b>：受理 1" in district_board
    assert "区直机关工委</b>：受理 1" in district_board

    # the day's digest: the new cases each office may see, and nothing of the other campaign's
    street_digest = board(await h.command(STREET_OFFICE, "digest", today))
    assert "<b>苗圃街道“群众办事难”专项整治</b>\n<b>📊 日报" in street_digest
    assert "<b>新受理</b>（2026年11月23日）：<b>1</b> 件" in street_digest
    assert "按承办单位：苗圃街道综合执法中队 1\n" in street_digest
    assert "🔵 还剩 1 个工作日 <b>1</b> 件" in street_digest
    assert "区直机关工委" not in street_digest
    district_digest = board(await h.command(OFFICE, "digest", today))
    assert "<b>新受理</b>（2026年11月23日）：<b>2</b> 件" in district_digest
    assert "按承办单位：区直机关工委 1；苗圃街道综合执法中队 1" in district_digest
    assert local.campaign == STREET and district.campaign == DISTRICT
