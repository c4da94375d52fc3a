"""Self-inspection, rectification and the campaign launch (SPEC §2, §5, §6), over the in-memory
fakes and a fixed clock: coverage and its reason, lateness, corrections, the recommendation →
plan → report → review cycle, and nobody acting for a unit that is not theirs."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from core.calendar import StaticHolidaySource, WorkingDays
from core.clock import FixedClock
from core.directory import UnitRecord
from core.errors import NotFound, PermissionDenied, ValidationFailed
from core.plan import Plan
from core.reports import RecommendationStatus, ReportKind, ReportStatus
from core.services.campaign import (
    AUDIT_LAUNCH,
    AUDIT_OPEN_PHASE,
    CampaignService,
    PhaseOver,
    PhaseState,
    UnitDuties,
    phase_state,
    unit_duties,
)
from core.services.reports import (
    AUDIT_ACCEPT,
    AUDIT_ISSUE,
    AUDIT_SEND_BACK,
    MAX_REPORT_FILE_BYTES,
    AlreadyReviewed,
    HistoryKind,
    ReportFile,
    ReportNotOpen,
    ReportService,
    SelfInspectionDraft,
    Step,
    below_target,
    check_counts,
    check_report_file,
    effective_due,
    rectification_step,
)
from tests.fakes import FakeStore, FakeUnitOfWork, fake_uow_factory

SH = ZoneInfo("Asia/Shanghai")
OFFICE = 900_001
OFFICE_CHAT = -100_500
LIAISON = 800_001  # of UNIT
LIAISON_2 = 800_002  # of UNIT too
OTHER_LIAISON = 800_010  # of OTHER_UNIT
CITIZEN = 500_001
UNIT = "finance_bureau"
OTHER_UNIT = "audit_bureau"
WORD = "wordprocessingml.document"
PDF = ReportFile("file-1", "u-file-1", "application/pdf", 300_000, "自查报告.pdf")
# Re-based so that self-inspection runs Fri 2026-11-20 .. Sun 2026-11-29: its report is due on a
# Sunday, which the working-day rule moves to Monday 2026-11-30.
CAMPAIGN_START = date(2026, 11, 9)
SI_DUE = date(2026, 11, 29)
SI_EFFECTIVE_DUE = date(2026, 11, 30)


def at(y: int, m: int, d: int, hh: int = 10) -> datetime:
    return datetime(y, m, d, hh, tzinfo=SH)


MONDAY = at(2026, 11, 23)


@pytest.fixture
def rebased(plan: Plan) -> Plan:
    return plan.rebase(CAMPAIGN_START)


@pytest.fixture
def store() -> FakeStore:
    return FakeStore()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(MONDAY, "Asia/Shanghai")


@pytest.fixture
def wd() -> WorkingDays:
    return WorkingDays(StaticHolidaySource())  # Monday to Friday: the dates above are plain weeks


@pytest.fixture
async def seeded(store: FakeStore, rebased: Plan, clock: FixedClock) -> FakeStore:
    """Units from the plan, two liaisons of UNIT, one of OTHER_UNIT, a citizen's user row."""
    uow = FakeUnitOfWork(store)
    async with uow:
        await uow.units.sync([UnitRecord(u.id, u.name, u.kind) for u in rebased.units])
        for user_id, unit_id in ((LIAISON, UNIT), (LIAISON_2, UNIT), (OTHER_LIAISON, OTHER_UNIT)):
            await uow.users.upsert(user_id, now=clock.now(), chat_id=user_id)
            await uow.liaisons.add(user_id, unit_id, now=clock.now())
        await uow.users.upsert(CITIZEN, now=clock.now(), chat_id=CITIZEN)
        await uow.users.set_language(LIAISON_2, "en")
        await uow.commit()
    return store


@pytest.fixture
def reports(seeded: FakeStore, rebased: Plan, clock: FixedClock, wd: WorkingDays) -> ReportService:
    return ReportService(
        uow=fake_uow_factory(seeded),
        plan=rebased,
        clock=clock,
        working_days=wd,
        office_chat_id=OFFICE_CHAT,
        office_admin_ids=frozenset({OFFICE}),
    )


def briefing_text(plan: Plan, duties: UnitDuties, lang: str) -> str:
    lead, assist = ",".join(duties.lead_area_ids), ",".join(duties.assist_area_ids)
    return f"{lang}|{duties.unit_id}|lead={lead}|assist={assist}"


@pytest.fixture
def campaign(seeded: FakeStore, rebased: Plan, clock: FixedClock, wd: WorkingDays) -> CampaignService:
    return CampaignService(
        uow=fake_uow_factory(seeded),
        plan=rebased,
        clock=clock,
        working_days=wd,
        render_briefing=briefing_text,
        office_chat_id=OFFICE_CHAT,
        office_admin_ids=frozenset({OFFICE}),
    )


def si_draft(**changes: object) -> SelfInspectionDraft:
    values: dict[str, object] = {
        "total": 12,
        "inspected": 12,
        "problems": "窗口服务告知不清。",
        "measures": "一次性告知清单上墙。",
        "file": PDF,
    }
    values.update(changes)
    return SelfInspectionDraft(**values)  # type: ignore[arg-type]


def outbox_to(store: FakeStore, chat_id: int) -> list[dict[str, Any]]:
    """Payloads queued for one chat, in order (typed loosely: they are JSON)."""
    return [dict(m.payload) for m in store.outbox.values() if m.chat_id == chat_id]


# ---------------------------------------------------------------------------------------------
# Pure rules


@pytest.mark.parametrize(
    ("inspected", "total", "target", "short"),
    [
        (12, 12, 1.0, False),
        (11, 12, 1.0, True),
        (0, 1, 1.0, True),
        (3, 3, 1.0, False),
        (9, 10, 0.9, False),
        (8, 10, 0.9, True),
        (1, 10, None, False),  # no target in the plan: nothing to explain
    ],
)
def test_coverage_below_the_target_is_detected_exactly(
    inspected: int, total: int, target: float | None, short: bool
) -> None:
    assert below_target(inspected, total, target) is short


@pytest.mark.parametrize(
    ("inspected", "total", "field", "reason"),
    [
        (13, 12, "inspected", "above_total"),
        (-1, 12, "inspected", "negative"),
        (0, 0, "total", "range"),
        (1, 10_000_000, "total", "range"),
    ],
)
def test_impossible_counts_are_refused(inspected: int, total: int, field: str, reason: str) -> None:
    with pytest.raises(ValidationFailed) as err:
        check_counts(inspected, total)
    assert err.value.params["field"] == field
    assert err.value.params["reason"] == reason


@pytest.mark.parametrize(
    ("file", "ok"),
    [
        (PDF, True),
        (ReportFile("f", "u", "application/msword", 10, "a.doc"), True),
        (ReportFile("f", "u", f"application/vnd.openxmlformats-officedocument.{WORD}", 10, "a.docx"), True),
        (ReportFile("f", "u", "application/octet-stream", 10, "报告.WPS"), True),  # by extension
        (ReportFile("f", "u", "image/jpeg", 10, "scan.jpg"), False),
        (ReportFile("f", "u", "application/zip", 10, "report.zip"), False),
        (ReportFile("f", "u", "application/pdf", MAX_REPORT_FILE_BYTES + 1, "big.pdf"), False),
    ],
)
def test_the_formal_report_must_be_a_pdf_or_word_file_within_the_size_limit(
    file: ReportFile, ok: bool
) -> None:
    if ok:
        check_report_file(file)
    else:
        with pytest.raises(ValidationFailed):
            check_report_file(file)


def test_a_due_date_on_a_day_off_moves_to_the_next_working_day(wd: WorkingDays) -> None:
    assert effective_due(date(2026, 11, 29), wd) == date(2026, 11, 30)  # Sunday → Monday
    assert effective_due(date(2026, 11, 27), wd) == date(2026, 11, 27)  # a Friday stays


def test_phase_state_follows_the_plan_dates_and_early_openings(rebased: Plan) -> None:
    assert phase_state(rebased, date(2026, 11, 8)) == {
        "deploy": PhaseState.UPCOMING,
        "self_inspection": PhaseState.UPCOMING,
        "rectification": PhaseState.UPCOMING,
    }
    assert phase_state(rebased, date(2026, 11, 20))["self_inspection"] is PhaseState.OPEN
    assert phase_state(rebased, date(2026, 11, 20))["deploy"] is PhaseState.CLOSED
    assert phase_state(rebased, date(2026, 11, 29))["self_inspection"] is PhaseState.OPEN  # end inclusive
    assert phase_state(rebased, date(2026, 11, 10), opened={"self_inspection"})["self_inspection"] is (
        PhaseState.OPEN
    )


def test_a_unit_s_duties_are_the_areas_it_leads_implements_or_assists(plan: Plan) -> None:
    organs = unit_duties(plan, "organs_work_committee")
    assert organs.lead_area_ids == ("conduct",)
    assert organs.assist_area_ids == ("procedure", "extortion")
    office = unit_duties(plan, "efficiency_supervision_office")
    assert office.implementing_area_ids == ("procedure", "enforcement", "extortion", "rent_seeking")
    court = unit_duties(plan, "district_court")
    assert court.lead_area_ids == court.assist_area_ids == court.implementing_area_ids == ()
    assert ("self_inspection", "self_inspection_report") in court.unit_deliverables


@pytest.mark.parametrize(
    ("plan_status", "report_status", "step"),
    [
        (None, None, Step.PLAN),
        (ReportStatus.RETURNED, None, Step.PLAN),
        (ReportStatus.SUBMITTED, None, Step.PLAN_REVIEW),
        (ReportStatus.ACCEPTED, None, Step.REPORT),
        (ReportStatus.ACCEPTED, ReportStatus.RETURNED, Step.REPORT),
        (ReportStatus.ACCEPTED, ReportStatus.SUBMITTED, Step.REPORT_REVIEW),
        (ReportStatus.ACCEPTED, ReportStatus.ACCEPTED, Step.DONE),
    ],
)
def test_a_recommendation_waits_for_plan_review_report_review_in_turn(
    plan_status: ReportStatus | None, report_status: ReportStatus | None, step: Step
) -> None:
    from core.reports import UnitReport

    def version(kind: ReportKind, status: ReportStatus | None) -> list[UnitReport]:
        if status is None:
            return []
        return [UnitReport(UNIT, kind, "rectification", MONDAY, status=status)]

    plans = version(ReportKind.RECTIFICATION_PLAN, plan_status)
    reports = version(ReportKind.RECTIFICATION_REPORT, report_status)
    assert rectification_step(plans, reports) is step


# ---------------------------------------------------------------------------------------------
# Self-inspection


async def test_full_coverage_report_is_stored_with_its_file_and_the_office_is_told(
    reports: ReportService, seeded: FakeStore
) -> None:
    report = await reports.submit_self_inspection(LIAISON, si_draft())

    stored = seeded.reports[report.id or 0]
    assert stored.kind is ReportKind.SELF_INSPECTION
    assert (stored.unit_id, stored.phase_id) == (UNIT, "self_inspection")
    assert (stored.inspected, stored.total, stored.coverage) == (12, 12, 1.0)
    assert stored.due == SI_EFFECTIVE_DUE
    assert stored.late is False
    assert stored.status is ReportStatus.SUBMITTED
    files = [a for a in seeded.attachments.values() if a.report_id == report.id]
    assert [(f.file_id, f.file_name) for f in files] == [("file-1", "自查报告.pdf")]
    office = outbox_to(seeded, OFFICE_CHAT)
    assert office[0]["text_key"] == "self_inspection.notify_office"
    buttons = [b["data"] for row in office[0]["buttons"] for b in row]
    assert buttons == [f"rq:accept:{report.id}", f"rq:back:{report.id}"]
    assert office[1]["document"] == "file-1"


async def test_coverage_below_100_percent_needs_a_reason(reports: ReportService, seeded: FakeStore) -> None:
    with pytest.raises(ValidationFailed) as err:
        await reports.submit_self_inspection(LIAISON, si_draft(inspected=10))
    assert err.value.params["field"] == "reason_below_target"
    assert seeded.reports == {}

    report = await reports.submit_self_inspection(
        LIAISON, si_draft(inspected=10, reason_below_target="两个站所撤并中，9月补查。")
    )
    assert seeded.reports[report.id or 0].reason_below_target == "两个站所撤并中，9月补查。"


async def test_more_inspected_than_exist_is_refused(reports: ReportService, seeded: FakeStore) -> None:
    with pytest.raises(ValidationFailed) as err:
        await reports.submit_self_inspection(LIAISON, si_draft(inspected=13, total=12))
    assert err.value.params["reason"] == "above_total"
    assert seeded.reports == {}


async def test_a_report_after_the_due_date_is_flagged_late(
    reports: ReportService, seeded: FakeStore, clock: FixedClock
) -> None:
    clock.set(at(2026, 11, 30, 23))  # the Sunday due date moved to Monday: still on time
    on_time = await reports.submit_self_inspection(LIAISON, si_draft())
    assert seeded.reports[on_time.id or 0].late is False

    clock.set(at(2026, 12, 1, 9))
    late = await reports.submit_self_inspection(OTHER_LIAISON, si_draft())
    assert seeded.reports[late.id or 0].late is True
    office = outbox_to(seeded, OFFICE_CHAT)
    assert office[-2]["text_params"]["status_key"] == "rectification.status_late"


async def test_a_unit_corrects_its_report_before_the_due_date_and_the_latest_counts(
    reports: ReportService, seeded: FakeStore, clock: FixedClock
) -> None:
    await reports.submit_self_inspection(LIAISON, si_draft(problems="初稿"))
    clock.advance(timedelta(days=1))
    task = await reports.self_inspection_task(LIAISON_2)
    assert task.may_submit and task.correcting
    await reports.submit_self_inspection(LIAISON_2, si_draft(problems="修改稿"))

    task = await reports.self_inspection_task(LIAISON)
    assert task.current is not None and task.current.problems == "修改稿"
    assert [r.problems for r in seeded.reports.values()] == ["初稿", "修改稿"]  # history kept

    clock.set(at(2026, 12, 1))
    with pytest.raises(ReportNotOpen) as err:
        await reports.submit_self_inspection(LIAISON, si_draft(problems="逾期再改"))
    assert err.value.params["reason"] == "past_due"
    assert len(seeded.reports) == 2


async def test_only_liaisons_submit_self_inspection_reports(
    reports: ReportService, seeded: FakeStore
) -> None:
    for user_id in (CITIZEN, OFFICE):
        with pytest.raises(PermissionDenied):
            await reports.submit_self_inspection(user_id, si_draft())
    assert seeded.reports == {}


async def test_an_accepted_self_inspection_cannot_be_replaced_but_a_sent_back_one_can(
    reports: ReportService, seeded: FakeStore, clock: FixedClock
) -> None:
    first = await reports.submit_self_inspection(LIAISON, si_draft())
    await reports.review(OFFICE, first.id or 0, accept=False, reason="未附二级机构名单")
    again = await reports.submit_self_inspection(LIAISON, si_draft(problems="补充名单"))
    await reports.review(OFFICE, again.id or 0, accept=True)
    with pytest.raises(ReportNotOpen) as err:
        await reports.submit_self_inspection(LIAISON, si_draft())
    assert err.value.params["reason"] == "accepted"
    told = [p["text_key"] for p in outbox_to(seeded, LIAISON)]
    assert told == ["self_inspection.notify_sent_back", "self_inspection.notify_accepted"]


# ---------------------------------------------------------------------------------------------
# Rectification


async def issue(reports: ReportService, unit: str = UNIT) -> int:
    rec, told = await reports.issue_recommendation(
        OFFICE, unit, "窗口收费公示不全。", date(2026, 11, 27), date(2026, 12, 11)
    )
    assert rec.id is not None
    assert told == (2 if unit == UNIT else 1)
    return rec.id


async def test_recommendation_plan_accepted_then_report_accepted_closes_it(
    reports: ReportService, seeded: FakeStore
) -> None:
    rec_id = await issue(reports)
    issued = outbox_to(seeded, LIAISON)[0]
    assert issued["text_key"] == "rectification.notify_issued"
    assert issued["text_params"]["plan_due_date"] == "2026-11-27"
    assert issued["buttons"][0][0]["data"] == f"rc:open:{rec_id}"

    views = await reports.open_recommendations(LIAISON)
    assert [(v.recommendation.id, v.step, v.may_submit) for v in views] == [
        (rec_id, Step.PLAN, ReportKind.RECTIFICATION_PLAN)
    ]
    plan = await reports.submit_rectification(
        LIAISON, rec_id, ReportKind.RECTIFICATION_PLAN, "整改方案要点", PDF
    )
    assert seeded.recommendations[rec_id].status is RecommendationStatus.PLAN_SUBMITTED
    assert seeded.reports[plan.id or 0].late is False
    with pytest.raises(ReportNotOpen) as err:  # no report before the office has looked at the plan
        await reports.submit_rectification(LIAISON, rec_id, ReportKind.RECTIFICATION_REPORT, "已整改", PDF)
    assert err.value.params["reason"] == "waiting"

    reviewed = await reports.review(OFFICE, plan.id or 0, accept=True)
    assert reviewed.report.status is ReportStatus.ACCEPTED and reviewed.notified == 2
    report = await reports.submit_rectification(
        LIAISON_2, rec_id, ReportKind.RECTIFICATION_REPORT, "已整改", PDF
    )
    assert seeded.recommendations[rec_id].status is RecommendationStatus.REPORT_SUBMITTED
    await reports.review(OFFICE, report.id or 0, accept=True)

    assert seeded.recommendations[rec_id].status is RecommendationStatus.ACCEPTED
    assert await reports.open_recommendations(LIAISON) == []
    assert [e.action for e in seeded.audit] == [AUDIT_ISSUE, AUDIT_ACCEPT, AUDIT_ACCEPT]
    _, history = await reports.history(LIAISON)
    assert [(e.kind, e.report_kind) for e in history] == [
        (HistoryKind.ISSUED, None),
        (HistoryKind.SUBMITTED, ReportKind.RECTIFICATION_PLAN),
        (HistoryKind.ACCEPTED, ReportKind.RECTIFICATION_PLAN),
        (HistoryKind.SUBMITTED, ReportKind.RECTIFICATION_REPORT),
        (HistoryKind.ACCEPTED, ReportKind.RECTIFICATION_REPORT),
    ]


async def test_a_report_sent_back_is_resubmitted_and_its_lateness_recorded(
    reports: ReportService, seeded: FakeStore, clock: FixedClock
) -> None:
    rec_id = await issue(reports)
    plan = await reports.submit_rectification(LIAISON, rec_id, ReportKind.RECTIFICATION_PLAN, "方案", PDF)
    await reports.review(OFFICE, plan.id or 0, accept=True)
    first = await reports.submit_rectification(LIAISON, rec_id, ReportKind.RECTIFICATION_REPORT, "情况", PDF)

    with pytest.raises(ValidationFailed):  # sending back needs a reason
        await reports.review(OFFICE, first.id or 0, accept=False, reason="  ")
    clock.set(at(2026, 12, 14))  # reviewed after the report's due date (Fri 12-11)
    back = await reports.review(OFFICE, first.id or 0, accept=False, reason="缺少整改前后对比")
    assert back.report.status is ReportStatus.RETURNED
    assert back.report.review_note == "缺少整改前后对比"
    assert seeded.recommendations[rec_id].status is RecommendationStatus.PLAN_SUBMITTED
    sent_back = outbox_to(seeded, LIAISON)[-1]
    assert sent_back["text_key"] == "rectification.notify_sent_back"
    # five working days from the send-back: the late review does not make the unit late
    assert sent_back["text_params"]["due_date"] == "2026-12-21"

    clock.set(at(2026, 12, 18))
    second = await reports.submit_rectification(LIAISON, rec_id, ReportKind.RECTIFICATION_REPORT, "补充", PDF)
    assert (second.due, second.late) == (date(2026, 12, 21), False)
    with pytest.raises(AlreadyReviewed):  # the old version is out of the review queue
        await reports.review(OFFICE, first.id or 0, accept=True)
    await reports.review(OFFICE, second.id or 0, accept=True)
    with pytest.raises(AlreadyReviewed):
        await reports.review(OFFICE, second.id or 0, accept=False, reason="again")
    assert [e.action for e in seeded.audit][-2:] == [AUDIT_SEND_BACK, AUDIT_ACCEPT]
    assert seeded.recommendations[rec_id].status is RecommendationStatus.ACCEPTED


async def test_a_plan_after_its_deadline_is_late(
    reports: ReportService, seeded: FakeStore, clock: FixedClock
) -> None:
    rec_id = await issue(reports)
    clock.set(at(2026, 11, 30))
    plan = await reports.submit_rectification(LIAISON, rec_id, ReportKind.RECTIFICATION_PLAN, "方案", PDF)
    assert (plan.due, plan.late) == (date(2026, 11, 27), True)


async def test_another_unit_neither_sees_nor_answers_nor_reviews(
    reports: ReportService, seeded: FakeStore
) -> None:
    rec_id = await issue(reports)
    assert await reports.open_recommendations(OTHER_LIAISON) == []
    with pytest.raises(NotFound):
        await reports.recommendation(OTHER_LIAISON, rec_id)
    with pytest.raises(NotFound):
        await reports.submit_rectification(OTHER_LIAISON, rec_id, ReportKind.RECTIFICATION_PLAN, "冒充", PDF)
    plan = await reports.submit_rectification(LIAISON, rec_id, ReportKind.RECTIFICATION_PLAN, "方案", PDF)
    for user_id in (OTHER_LIAISON, LIAISON, CITIZEN):
        with pytest.raises(PermissionDenied):
            await reports.review(user_id, plan.id or 0, accept=True)
    with pytest.raises(NotFound):
        await reports.history(OTHER_LIAISON, UNIT)
    assert seeded.reports[plan.id or 0].status is ReportStatus.SUBMITTED
    assert len(seeded.reports) == 1


async def test_only_the_office_issues_recommendations_with_sane_deadlines(
    reports: ReportService, seeded: FakeStore
) -> None:
    for user_id in (LIAISON, CITIZEN):
        with pytest.raises(PermissionDenied):
            await reports.issue_recommendation(user_id, UNIT, "问题", date(2026, 11, 27), date(2026, 12, 11))
    with pytest.raises(ValidationFailed) as err:
        await reports.issue_recommendation(OFFICE, UNIT, "问题", date(2026, 11, 20), date(2026, 12, 11))
    assert err.value.params["field"] == "plan_due"
    with pytest.raises(ValidationFailed) as err:
        await reports.issue_recommendation(OFFICE, UNIT, "问题", date(2026, 11, 27), date(2026, 11, 26))
    assert err.value.params["field"] == "report_due"
    with pytest.raises(NotFound):
        await reports.issue_recommendation(
            OFFICE, "no_such_unit", "问题", date(2026, 11, 27), date(2026, 12, 11)
        )
    assert seeded.recommendations == {}


# ---------------------------------------------------------------------------------------------
# Launch and phases


async def test_launch_briefs_every_liaison_once_in_their_language(
    campaign: CampaignService, seeded: FakeStore
) -> None:
    launched = await campaign.launch(OFFICE)
    assert (launched.units, launched.liaisons, launched.briefed) == (2, 3, 3)
    assert outbox_to(seeded, LIAISON)[0]["text"] == f"zh|{UNIT}|lead=|assist=extortion,rent_seeking"
    assert outbox_to(seeded, LIAISON_2)[0]["text"].startswith("en|")

    again = await campaign.launch(OFFICE)
    assert again.briefed == 0
    assert len(seeded.outbox) == 3
    assert [e.action for e in seeded.audit] == [AUDIT_LAUNCH, AUDIT_LAUNCH]


async def test_only_the_office_launches_or_opens_phases(campaign: CampaignService, seeded: FakeStore) -> None:
    for user_id in (CITIZEN, LIAISON):
        with pytest.raises(PermissionDenied):
            await campaign.launch(user_id)
        with pytest.raises(PermissionDenied):
            await campaign.open_phase(user_id, "rectification")
    assert seeded.outbox == {} and seeded.audit == []


async def test_opening_self_inspection_gives_every_liaison_the_task_with_its_due_date(
    campaign: CampaignService, seeded: FakeStore, clock: FixedClock
) -> None:
    clock.set(at(2026, 11, 16))  # before the phase's start (Fri 11-20): the office opens it early
    opened = await campaign.open_phase(OFFICE, "self_inspection")
    assert (opened.state_before, opened.told) == (PhaseState.UPCOMING, 3)
    task = outbox_to(seeded, LIAISON)[0]
    assert task["text_key"] == "self_inspection.notify_task"
    assert task["text_params"] == {
        "start_date": "2026-11-20",
        "end_date": "2026-11-29",
        "due_date": SI_EFFECTIVE_DUE.isoformat(),
        "coverage": 100,
        "phase": "自查自纠",
        "deliverable": "自查自纠总结报告",
    }
    assert task["buttons"][0][0]["data"] == "si:start"
    assert outbox_to(seeded, LIAISON_2)[0]["text_params"]["phase"] == "Self-inspection and self-correction"
    assert outbox_to(seeded, OFFICE_CHAT)[0]["text_key"] == "campaign.notify_phase_opened_office"
    assert seeded.audit[-1].action == AUDIT_OPEN_PHASE

    # the periodic pass reaches the start date: nobody is told twice
    clock.set(at(2026, 11, 20))
    assert await campaign.open_phases_due() == 0
    assert len(seeded.outbox) == 4


async def test_phases_open_on_their_dates_once(
    campaign: CampaignService, seeded: FakeStore, clock: FixedClock
) -> None:
    clock.set(at(2026, 11, 30, 9))
    assert await campaign.open_phases_due() == 3
    assert outbox_to(seeded, LIAISON)[0]["text_key"] == "campaign.notify_phase_opened"
    assert await campaign.open_phases_due() == 0
    fresh = CampaignService(  # another instance, or a restart: the dedup keys still hold
        uow=campaign.uow,
        plan=campaign.plan,
        clock=clock,
        working_days=campaign.working_days,
        render_briefing=briefing_text,
    )
    assert await fresh.open_phases_due() == 0


async def test_an_ended_phase_cannot_be_opened(campaign: CampaignService, seeded: FakeStore) -> None:
    with pytest.raises(PhaseOver):
        await campaign.open_phase(OFFICE, "deploy")  # ended 11-19; today is 11-23
    with pytest.raises(NotFound):
        await campaign.open_phase(OFFICE, "no_such_phase")
    assert seeded.outbox == {}


async def test_a_liaison_who_joins_during_a_phase_gets_its_notice_by_the_next_day(
    campaign: CampaignService, seeded: FakeStore, clock: FixedClock
) -> None:
    clock.set(at(2026, 11, 30, 9))
    assert await campaign.open_phases_due() == 3
    newcomer = 800_099
    uow = FakeUnitOfWork(seeded)
    async with uow:
        await uow.users.upsert(newcomer, now=clock.now(), chat_id=newcomer)
        await uow.liaisons.add(newcomer, UNIT, now=clock.now())
        await uow.commit()
    assert await campaign.open_phases_due() == 0  # later the same day: not asked again
    clock.set(at(2026, 12, 1, 9))
    assert await campaign.open_phases_due() == 1
    assert outbox_to(seeded, newcomer)[0]["text_key"] == "campaign.notify_phase_opened"
    assert len(outbox_to(seeded, LIAISON)) == 1  # the others were told once
