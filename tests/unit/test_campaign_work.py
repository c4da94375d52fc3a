"""The weekly digest's figures for review inspections, good practices and long-term measures
(core.campaign_work): what happened in the week, what is owed now, a street's units only."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from core.calendar import WorkingDays
from core.campaign_work import CampaignWork, OverdueMeasure, campaign_work
from core.measures import GoodPractice, Measure, MeasureStatus
from core.review import FindingSeverity, ReviewFinding, ReviewInspection
from core.stats import Period

TZ = ZoneInfo("Asia/Shanghai")
WEEK = Period(date(2026, 11, 16), date(2026, 11, 22))
TODAY = date(2026, 11, 23)
FIN, AUD, STREET = "finance_bureau", "audit_bureau", "street_unit"


def at(day: int, hour: int = 10) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=TZ)


INSPECTIONS = [
    ReviewInspection("区纪委", date(2026, 11, 18), [FIN, AUD], at(18), id=1),
    ReviewInspection("区纪委", date(2026, 11, 9), [FIN], at(9), id=2),  # the week before
    ReviewInspection("街道纪工委", date(2026, 11, 19), [STREET], at(19), id=3),
]
FINDINGS = [
    ReviewFinding(1, FIN, FindingSeverity.GRAVE, "窗口无人", at(18), id=10),
    ReviewFinding(1, AUD, FindingSeverity.MINOR, "公示不全", at(18), recommendation_id=5, id=11),
    ReviewFinding(2, FIN, FindingSeverity.SERIOUS, "台账缺失", at(9), id=12),  # older, still owed
    ReviewFinding(3, STREET, FindingSeverity.MINOR, "值班表", at(19), id=13),
]
PRACTICES = [
    GoodPractice(FIN, "首问负责", "…", at(17), shared_at=at(20), id=1),
    GoodPractice(AUD, "一次告知", "…", at(2), shared_at=at(21), id=2),  # recorded earlier, shared now
    GoodPractice(STREET, "错时服务", "…", at(16, 0), id=3),  # 00:00 local on the Monday
]
MEASURES = [
    Measure(FIN, "限时办结", date(2026, 11, 20), at(1), id=1),  # due Friday, not done: overdue
    Measure(AUD, "首问负责制", date(2026, 12, 31), at(1), status=MeasureStatus.IN_PROGRESS, id=2),
    Measure(FIN, "一次告知制", date(2026, 11, 30), at(1), status=MeasureStatus.DONE, updated_at=at(19), id=3),
    Measure(AUD, "旧制度", date(2026, 11, 1), at(1), status=MeasureStatus.DROPPED, updated_at=at(3), id=4),
    Measure(STREET, "街道值班", date(2026, 11, 22), at(1), id=5),  # due Sunday: Monday is its day
]


def work(units: set[str] | None = None) -> CampaignWork:
    return campaign_work(
        WEEK, TODAY, TZ, WorkingDays(),
        inspections=INSPECTIONS, findings=FINDINGS, practices=PRACTICES, measures=MEASURES, units=units,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("units", "expected"),
    [
        (
            None,
            CampaignWork(
                inspections=2, units_inspected=3, findings=3,
                by_severity={FindingSeverity.GRAVE: 1, FindingSeverity.MINOR: 2},
                findings_unrectified=3, practices_recorded=2, practices_shared=2,
                measures_done=1, measures_open=3,
                overdue=(OverdueMeasure(FIN, "限时办结", date(2026, 11, 20), 1),),
            ),
        ),
        (
            {STREET},
            CampaignWork(
                inspections=1, units_inspected=1, findings=1, by_severity={FindingSeverity.MINOR: 1},
                findings_unrectified=1, practices_recorded=1, practices_shared=0,
                measures_done=0, measures_open=1, overdue=(),
            ),
        ),
    ],
    ids=["district", "street"],
)  # fmt: skip
def test_the_week_and_what_is_owed(units: set[str] | None, expected: CampaignWork) -> None:
    assert work(units) == expected


def test_overdue_measures_are_named_oldest_due_first_and_a_due_day_off_moves_to_monday() -> None:
    overdue = work().overdue
    assert [(m.unit_id, m.title, m.due) for m in overdue] == [(FIN, "限时办结", date(2026, 11, 20))]
    # the street's measure was due on Sunday 22nd: its working day is Monday 23rd, today
    later = campaign_work(
        WEEK, date(2026, 11, 24), TZ, WorkingDays(),
        inspections=[], findings=[], practices=[], measures=MEASURES, units={STREET},
    )  # fmt: skip
    assert [m.id for m in later.overdue] == [5]


def test_a_campaign_without_any_of_it_has_nothing_to_say() -> None:
    empty = campaign_work(
        WEEK, TODAY, TZ, WorkingDays(), inspections=[], findings=[], practices=[], measures=[]
    )
    assert empty.empty
    assert not work().empty
