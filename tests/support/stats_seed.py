"""A realistic mix of cases, events and unit reports whose statistics are known exactly, for
the statistics tests (integration, bot, e2e).

"Today" is ``FIXED_NOW``'s day, Monday 2026-11-23 (Asia/Shanghai). On that day the blue
warning day is Tuesday 11-24, the 督办 cutoff Sunday 11-22 and the 通报 cutoff Monday 11-16.
The daily digest reports on Sunday 11-22, the weekly one on 11-16..11-22 (previous week
11-09..11-15).

Every case is listed in ``CASES`` with a comment saying what it is there to test; the tests
state the expected figures next to their reasons. Some timestamps sit just either side of local
midnight, where a UTC date and the local date differ (16:00 UTC is midnight in Shanghai).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from core.cases import Case, CaseEvent, Satisfaction, Source, Visibility
from core.plan import Plan
from core.ports import UnitOfWork, UnitOfWorkFactory
from core.reports import Recommendation, RecommendationStatus, ReportKind, ReportStatus, UnitReport
from core.services.units import sync_plan_units
from core.states import Actor, CaseState

TZ = ZoneInfo("Asia/Shanghai")
TODAY = date(2026, 11, 23)

U1 = "organs_work_committee"  # leads 一 (conduct)
U2A, U2B = "discipline_commission", "supervision_bureau"  # lead the other four areas together
U2 = (U2A, U2B)
SECRET_TEXT = "窗口的王某某说明天再来"  # a case's text: must never appear in public statistics
CITIZEN_USER = 555_001
CITIZEN_PHONE = "+8613800000000"


def at(month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    """A local (Shanghai) time in 2026."""
    return datetime(2026, month, day, hour, minute, tzinfo=TZ)


def d(month: int, day: int) -> date:
    return date(2026, month, day)


@dataclass
class Seed:
    """One case to insert, and the events to add to it."""

    name: str
    created: datetime
    state: CaseState
    area: str | None
    lead: tuple[str, ...] = ()
    assigned: datetime | None = None
    sign_due: date | None = None
    signed: datetime | None = None
    answer_due: date | None = None
    answered: datetime | None = None
    satisfaction: Satisfaction | None = None
    closed: datetime | None = None
    target_unit: str | None = None
    target_text: str = ""
    typical: bool = False
    events: list[tuple[str, datetime, dict[str, object]]] = field(default_factory=list)


def _open(
    name: str,
    state: CaseState,
    lead: tuple[str, ...],
    *,
    sign_due: date,
    answer_due: date,
    area: str = "conduct",
    signed: datetime | None = None,
    created: datetime | None = None,
    events: list[tuple[str, datetime, dict[str, object]]] | None = None,
) -> Seed:
    """A case whose deadlines still run (created early in November unless said otherwise)."""
    created = created or at(11, 2)
    return Seed(
        name, created, state, area, lead, assigned=created, sign_due=sign_due, signed=signed,
        answer_due=answer_due, events=events or [],
    )  # fmt: skip


def _done(
    name: str,
    state: CaseState,
    area: str,
    lead: tuple[str, ...],
    *,
    created: datetime,
    sign_due: date,
    signed: datetime | None,
    answer_due: date,
    answered: datetime,
    satisfaction: Satisfaction | None = None,
    closed: datetime | None = None,
    assigned: datetime | None = None,
    typical: bool = False,
    events: list[tuple[str, datetime, dict[str, object]]] | None = None,
) -> Seed:
    """A case that has been answered (assigned when created unless said otherwise)."""
    return Seed(
        name, created, state, area, lead, assigned=assigned or created, sign_due=sign_due, signed=signed,
        answer_due=answer_due, answered=answered, satisfaction=satisfaction, closed=closed, typical=typical,
        events=events or [],
    )  # fmt: skip


def _escalation(day: datetime, due: str) -> tuple[str, datetime, dict[str, object]]:
    return ("escalated", day, {"due": due, "overdue_days": 5, "lead": [U1]})


SAT, BAS, UNS, NOR = (
    Satisfaction.SATISFIED,
    Satisfaction.BASICALLY,
    Satisfaction.UNSATISFIED,
    Satisfaction.NO_RESPONSE,
)
ASSIGNED, SIGNED, ANSWERED, CLOSED = (
    CaseState.ASSIGNED,
    CaseState.SIGNED,
    CaseState.ANSWERED,
    CaseState.CLOSED,
)
EXT, NEW = CaseState.EXTENSION_REQUESTED, CaseState.SUBMITTED

CASES: list[Seed] = [
    # -- the daily digest's new cases: Sunday 11-22, local ------------------------------------
    _open("A1", CaseState.ASSIGNED, (U1,), sign_due=d(11, 24), answer_due=d(11, 30), created=at(11, 22, 9)),
    # 23:30 local is still the 22nd (15:30 UTC); in triage: no lead unit yet
    Seed("A2", at(11, 22, 23, 30), CaseState.TRIAGE, "conduct"),
    # 00:30 local on the 22nd is 16:30 UTC on the 21st: local dates decide
    Seed("A3", at(11, 22, 0, 30), CaseState.SUBMITTED, "enforcement", U2),
    Seed("A4", at(11, 21, 23, 59), CaseState.SUBMITTED, "enforcement"),  # the day before
    Seed("A5", at(11, 23, 0, 10), CaseState.SUBMITTED, "procedure"),  # today
    Seed("A6", at(11, 22, 12), CaseState.DRAFT, "conduct"),  # drafts never count
    # -- three-colour warnings on 11-23 (A1 above is blue: signing due 11-24) ------------------
    _open("W1", CaseState.ASSIGNED, (U1,), sign_due=d(11, 20), answer_due=d(11, 27)),  # red (sign), 督办
    _open("W2", CaseState.SIGNED, (U1,), sign_due=d(11, 3), answer_due=d(11, 23), signed=at(11, 3)),  # yellow
    _open("W3", CaseState.SIGNED, U2, sign_due=d(11, 3), answer_due=d(11, 24), signed=at(11, 3)),  # blue
    # red, 督办 and 通报 (answer due 11-16, the escalation cutoff itself)
    _open("W4", EXT, (U1,), sign_due=d(11, 3), answer_due=d(11, 16), signed=at(11, 3)),
    # due on a Sunday: red, and its 督办 day (Monday) is today
    _open("W5", SIGNED, U2, sign_due=d(11, 3), answer_due=d(11, 22), signed=at(11, 3), area="procedure"),
    _done("W6", ANSWERED, "conduct", (U1,), created=at(11, 2), sign_due=d(11, 3), signed=at(11, 3),
          answer_due=d(11, 10), answered=at(11, 9)),  # answered: no deadline runs
    _open("W7", CaseState.ASSIGNED, (U1,), sign_due=d(11, 23), answer_due=d(11, 30)),  # yellow (sign)
    _open("W8", CaseState.SIGNED, (U1,), sign_due=d(11, 3), answer_due=d(11, 25), signed=at(11, 3)),  # none
    # -- the weekly scoreboard (11-16..11-22) -------------------------------------------------
    # U1 sign-for: S1 on time; S2 a day late; S3 at 00:30 local on the 19th (16:30 UTC on the
    # 18th, its due day): late; W1 missed; S5 returned instead of signed: not counted → 1 of 4.
    # U1 answer: S1, S2 (23:00 local on its due day) on time; S3 late; W4 missed → 2 of 4.
    _done("S1", CLOSED, "conduct", (U1,), created=at(11, 16, 9), sign_due=d(11, 17), signed=at(11, 17, 10),
          answer_due=d(11, 21), answered=at(11, 20), satisfaction=SAT, closed=at(11, 20, 12)),
    _done("S2", ANSWERED, "conduct", (U1,), created=at(11, 16, 9), sign_due=d(11, 17), signed=at(11, 18, 9),
          answer_due=d(11, 22), answered=at(11, 22, 23)),
    _done("S3", CLOSED, "conduct", (U1,), created=at(11, 17, 9), sign_due=d(11, 18), signed=at(11, 19, 0, 30),
          answer_due=d(11, 19), answered=at(11, 20), satisfaction=NOR, closed=at(11, 23, 9)),
    Seed("S5", at(11, 17, 9), CaseState.RETURNED, "conduct", (U1,), assigned=at(11, 17, 9),
         sign_due=d(11, 19), answer_due=d(11, 24)),
    # satisfaction, answered in the period: T1 基本满意; T2 不满意 and reopened, back in triage
    _done("T1", CLOSED, "conduct", (U1,), created=at(11, 9), sign_due=d(11, 10), signed=at(11, 10),
          answer_due=d(11, 14), answered=at(11, 18), satisfaction=BAS, closed=at(11, 18, 15)),
    _done("T2", CaseState.TRIAGE, "conduct", (U1,), created=at(11, 9), sign_due=d(11, 10), signed=at(11, 10),
          answer_due=d(11, 14), answered=at(11, 17), satisfaction=UNS, events=[("reopen", at(11, 19), {})]),
    _done("T3", CLOSED, "procedure", U2, created=at(11, 9), sign_due=d(11, 10), signed=at(11, 10),
          answer_due=d(11, 14), answered=at(11, 21), satisfaction=SAT, closed=at(11, 21, 12)),
    # answered the week before: outside the period
    _done("T4", CLOSED, "procedure", U2, created=at(11, 2), sign_due=d(11, 3), signed=at(11, 3),
          answer_due=d(11, 10), answered=at(11, 15), satisfaction=SAT, closed=at(11, 15, 12)),
    # reopened and routed again on the 20th: its answer of the 18th does not meet the new
    # deadline of the 22nd (missed); its new sign-for deadline of the 21st is missed too
    _done("R1", ASSIGNED, "procedure", U2, created=at(11, 9), assigned=at(11, 20), sign_due=d(11, 21),
          signed=None, answer_due=d(11, 22), answered=at(11, 18), satisfaction=UNS,
          events=[("reopen", at(11, 20), {})]),
    # -- hotspots (created in the period) -----------------------------------------------------
    *(Seed(f"H{i}", at(11, 17 + i), NEW, "extortion", target_unit="price_bureau") for i in (1, 2, 3)),
    *(Seed(f"H{i}", at(11, 14 + i), NEW, "extortion", target_unit="finance_bureau") for i in (4, 5)),
    *(
        Seed(f"H{i}", at(11, 12 + i), CaseState.SUBMITTED, "conduct", target_text="  东风路派出所户籍窗口 ")
        for i in (6, 7, 8)
    ),
    # -- the 通报 list ------------------------------------------------------------------------
    # escalated in the period, and still overdue today (red, 督办, 通报)
    _open("X1", CaseState.SIGNED, (U1,), sign_due=d(10, 30), answer_due=d(11, 9), signed=at(10, 30),
          created=at(10, 29), events=[_escalation(at(11, 16, 8), "2026-11-09")]),
    # escalated the week before
    _done("X2", ANSWERED, "conduct", (U1,), created=at(10, 20), sign_due=d(10, 21), signed=at(10, 21),
          answer_due=d(10, 28), answered=at(11, 13), events=[_escalation(at(11, 4), "2026-10-28")]),
    # typical cases: Y1 closed in the period (listed), Y2 in September (not)
    _done("Y1", CLOSED, "extortion", U2, created=at(10, 12), sign_due=d(10, 13), signed=at(10, 13),
          answer_due=d(11, 2), answered=at(10, 30), satisfaction=SAT, closed=at(11, 20), typical=True,
          events=[("close", at(11, 20), {})]),
    _done("Y2", CLOSED, "extortion", U2, created=at(9, 1), sign_due=d(9, 2), signed=at(9, 2),
          answer_due=d(9, 22), answered=at(9, 20), satisfaction=SAT, closed=at(9, 25), typical=True,
          events=[("close", at(9, 25), {})]),
]  # fmt: skip


@dataclass(frozen=True, slots=True)
class Seeded:
    ids: dict[str, int]
    tracking: dict[str, str]


async def seed_mix(uow: UnitOfWorkFactory, plan: Plan) -> Seeded:
    """Insert the plan's units, ``CASES`` (with a citizen who shared a phone number), their
    events, and self-inspection and rectification reports."""
    await sync_plan_units(plan, uow)
    ids: dict[str, int] = {}
    tracking: dict[str, str] = {}
    async with uow() as work:
        await work.users.upsert(CITIZEN_USER, now=at(9, 1), chat_id=CITIZEN_USER)
        citizen = await work.citizens.get_or_create(CITIZEN_USER, now=at(9, 1))
        assert citizen.id is not None
        await work.citizens.set_phone(citizen.id, CITIZEN_PHONE)
        for n, seed in enumerate(CASES, start=1):
            case = Case(
                tracking_no=f"ZH-2026-{n:06d}",
                state=seed.state,
                source=Source.CITIZEN,
                description=f"{SECRET_TEXT}（{seed.name}）",
                created_at=seed.created,
                area_auto=seed.area,
                area_final=seed.area if seed.lead else None,
                confidence=0.9,
                citizen_id=citizen.id,
                anonymous=False,
                target_unit_id=seed.target_unit,
                target_text=seed.target_text,
                lead_unit_ids=list(seed.lead),
                assigned_at=seed.assigned,
                sign_due=seed.sign_due,
                signed_at=seed.signed,
                answer_due=seed.answer_due,
                answered_at=seed.answered,
                closed_at=seed.closed,
                typical=seed.typical,
                satisfaction=seed.satisfaction,
            )
            await work.cases.add(case)
            assert case.id is not None
            ids[seed.name], tracking[seed.name] = case.id, case.tracking_no
            await work.events.add(
                CaseEvent(
                    case.id, seed.created, Actor.CITIZEN, str(CITIZEN_USER), "submit", Visibility.PUBLIC
                )
            )
            for kind, when, data in seed.events:
                await work.events.add(
                    CaseEvent(case.id, when, Actor.SYSTEM, "system", kind, Visibility.INTERNAL, data=data)
                )
        await _seed_reports(work)
        await work.commit()
    return Seeded(ids, tracking)


async def _seed_reports(uow: UnitOfWork) -> None:
    # self-inspection (due 2014-08-10 in the plan): U1 on time, U2A late, finance_bureau's only
    # version was sent back (so it has not filed); every other unit has nothing
    for unit, late, status in (
        (U1, False, ReportStatus.ACCEPTED),
        (U2A, True, ReportStatus.SUBMITTED),
        ("finance_bureau", False, ReportStatus.RETURNED),
    ):
        await uow.reports.add(
            UnitReport(unit, ReportKind.SELF_INSPECTION, "self_inspection", at(9, 1), late=late,
                       inspected=9, total=10, status=status)
        )  # fmt: skip
    # rectification: Rec1 (U1) plan on time, report late; Rec2 (U1) plan overdue, report not
    # due; Rec3 (U2A) plan on time (after a late version sent back), report not due
    rec1 = await uow.reports.add_recommendation(
        Recommendation(U1, "问题一", at(10, 20), d(11, 5), d(11, 15), status=RecommendationStatus.ACCEPTED)
    )
    rec2 = await uow.reports.add_recommendation(
        Recommendation(U1, "问题二", at(11, 10), d(11, 20), d(12, 10), status=RecommendationStatus.ISSUED)
    )
    rec3 = await uow.reports.add_recommendation(
        Recommendation(
            U2A, "问题三", at(11, 12), d(11, 25), d(12, 15), status=RecommendationStatus.PLAN_SUBMITTED
        )
    )
    for rec, kind, late, status in (
        (rec1, ReportKind.RECTIFICATION_PLAN, False, ReportStatus.ACCEPTED),
        (rec1, ReportKind.RECTIFICATION_REPORT, True, ReportStatus.ACCEPTED),
        (rec3, ReportKind.RECTIFICATION_PLAN, True, ReportStatus.RETURNED),
        (rec3, ReportKind.RECTIFICATION_PLAN, False, ReportStatus.SUBMITTED),
    ):
        await uow.reports.add(
            UnitReport(
                rec.unit_id,
                kind,
                "rectification",
                at(11, 14),
                recommendation_id=rec.id,
                late=late,
                status=status,
            )
        )
    assert rec2.id is not None
