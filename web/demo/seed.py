"""A realistic campaign in a demo database of its own, made through the real core services.

Every case is filed with ``ComplaintService.file`` and lives its life through the services a
liaison, a citizen and the office use in chat (sign, reply, rate, extension, return, reject,
reopen, supervise), each at its own moment on a ``FixedClock`` that walks forward through the
campaign: so histories, deadlines, audit entries and outbox rows are the ones the bot would
have made. The random seed is fixed, and dates are laid out backwards from ``today``, so every
run of the demo shows the same campaign, current whatever the day.

The outbox rows the seed made are marked sent at the end: they stand for messages delivered in
the past, and the bot started on the demo database must not replay weeks of notices.
"""

from __future__ import annotations

import random
import time as timer
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic_settings import BaseSettings, PydanticBaseSettingsSource
from sqlalchemy import event, func, select, update

from bot.services import Services, make_services
from bot.settings import Settings
from core.cases import Satisfaction
from core.clock import FixedClock
from core.errors import DomainError
from core.plan import Plan
from core.services.complaints import ComplaintDraft
from core.services.invites import InviteService
from core.services.reports import ReportFile, ReportService, SelfInspectionDraft
from core.services.units import sync_plan_units
from storage.db import make_engine, make_session_factory
from storage.migrate import upgrade
from storage.models import CaseRow, OutboxRow
from storage.uow import SqlUnitOfWork
from web.demo.personas import (
    BACKGROUND_CITIZEN_IDS,
    CITIZENS,
    OFFICE_CHAT_ID,
    OFFICE_USER_ID,
    liaison_for,
    liaisons,
)

RANDOM_SEED = 2014
DEFAULT_CASES = 360
# how long before today the (re-based) campaign started: the plan runs 72 days, so the demo
# stands in its third phase (rectification) with two months of cases behind it
CAMPAIGN_DAYS_BEFORE_TODAY = 60

# Complaint texts the plan's classifier files under the named area with confidence (checked
# by tests/web/browser/test_demo_seed.py); a few are left to the office ("not sure").
TEXTS: dict[str, tuple[str, ...]] = {
    "conduct": (
        "区政务中心窗口的工作人员上班时间玩手机，材料要了一遍又一遍，让我跑了三趟还没办成",
        "社保窗口的工作人员态度恶劣，问两句就不耐烦，还冲我吼",
        "去办户口迁移，窗口说领导不在，让我下周再来，已经拖了一个月",
        "上午九点半了办事窗口还没人上班，工作人员迟到早退",
        "办事大厅的工作人员上班时间聚在一起打牌，群众排队没人管",
        "几个科室互相推诿，这个说找那个，那个说找这个，跑了五趟没人管",
        "工作人员随意离岗，窗口挂着暂停服务的牌子一下午找不着人",
        "办营业执照，工作人员爱理不理，说话难听，办事拖拉",
    ),
    "procedure": (
        "办个准生证要盖七八个章，每个部门都要我先去别的部门开证明",
        "同一份材料每个窗口都要重复提交，办事程序太繁琐",
        "办事指南上没写清楚要什么材料，来回跑了好几次才知道还要开证明",
        "审批流程太复杂，一个简单的备案要走十几个环节，拖了两个月",
        "要求提供的证明材料根本开不出来，设置了不合理的前置条件",
        "网上说可以一次办好，结果到现场还要排三个窗口填五张表",
    ),
    "enforcement": (
        "城管执法人员没收我的三轮车，不开任何单据，执法不规范",
        "交警处罚时态度粗暴，不出示证件就开罚单，执法不公",
        "执法人员对同样的违章有的罚有的不罚，选择性执法，看人情",
        "执法队员推搡摊贩，野蛮执法，还把东西砸了",
    ),
    "extortion": (
        "办房产证时工作人员暗示要给好处费才能快点办，不然就拖着",
        "窗口工作人员吃拿卡要，不送礼就说材料不合格",
        "办理施工许可，对方要求请吃饭送购物卡，否则一直不批",
        "乱收费，办个证明收了两百块钱，没有任何收费依据也不开发票",
        "工作人员索要红包，说给了钱马上就能办下来",
    ),
    "rent_seeking": (
        "这个项目没有公开招标，直接给了局长亲戚的公司",
        "专项资金分配暗箱操作，不符合条件的企业拿到了补贴",
        "项目审批搞权钱交易，交了钱的企业先批",
        "工程招标有内定，评标过程不公开，明显是走过场",
        "扶持资金给了领导朋友开的公司，符合条件的企业都没拿到",
    ),
}
AREA_WEIGHTS = {"conduct": 40, "procedure": 25, "enforcement": 15, "extortion": 12, "rent_seeking": 8}
PLACES = ("一楼大厅", "二楼3号窗口", "三楼办公室", "5号窗口", "服务大厅东侧", "")
TIMES = ("上周一上午", "本月初", "昨天下午", "前天上午十点左右", "上个月", "")
TARGETS = ("窗口工作人员", "东风路派出所户籍窗口", "不动产登记窗口", "社保经办窗口", "城管执法中队", "")
REPLIES = (
    "经调查核实，反映情况属实，已对相关工作人员批评教育并通报，向您致歉。",
    "已约谈相关科室负责人，责令限期整改，并将办事指南重新公示，欢迎继续监督。",
    "经核查，相关材料要求已精简，您的事项已于本周办结，感谢您的反映。",
    "已核实情况，对当事人作出诫勉谈话处理，并在窗口增设引导岗。",
)

# What happens to a case after it is filed, with its weight: most are answered and closed,
# enough are left at every other point (and overdue) for each page and filter to show them
FATES: dict[str, int] = {
    "closed": 42,
    "closed_late": 6,
    "answered": 9,
    "unsatisfied": 3,
    "reopened": 3,
    "signed": 9,
    "unsigned": 7,
    "extension": 5,
    "returned": 4,
    "triage_routed": 4,
    "triage_open": 3,
    "rejected": 3,
    "supervised": 2,
}


@dataclass(slots=True)
class SeedReport:
    cases: int = 0
    states: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)  # service refusals, by error class
    seconds: float = 0.0
    campaign_start: date | None = None

    def summary(self) -> str:
        states = ", ".join(f"{k} {v}" for k, v in sorted(self.states.items()))
        return f"{self.cases} cases in {self.seconds:.1f}s ({states})"


def campaign_start_for(today: date) -> date:
    return today - timedelta(days=CAMPAIGN_DAYS_BEFORE_TODAY)


class _SeedSettings(Settings):
    """The seed's settings come from its arguments only: a developer's .env must not change
    the demo campaign."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


def demo_settings(database_url: str) -> Settings:
    return _SeedSettings(
        database_url=database_url,
        office_admin_ids=str(OFFICE_USER_ID),
        office_chat_id=OFFICE_CHAT_ID,
        throttle_messages=0,
    )


Step = Callable[[], Awaitable[object]]


@dataclass(order=True, slots=True)
class _Due:
    at: datetime
    order: int
    step: Step = field(compare=False)
    case: int = field(compare=False)  # index into the seed's cases, to skip later steps on a refusal


async def seed_demo(
    database_url: str,
    plan: Plan,
    *,
    today: date,
    cases: int = DEFAULT_CASES,
    random_seed: int = RANDOM_SEED,
    now: datetime | None = None,
) -> SeedReport:
    """Migrate ``database_url`` (an empty database) and fill it with the demo campaign. ``plan``
    is the plan as the bot will run it (re-based to ``campaign_start_for(today)``)."""
    started = timer.perf_counter()
    report = SeedReport(campaign_start=plan.start)
    await upgrade(database_url)
    settings = demo_settings(database_url)
    tz = ZoneInfo(settings.timezone)
    end = now or datetime.combine(today, time(9, 30), tzinfo=tz)
    engine = make_engine(database_url)
    if engine.dialect.name == "sqlite":
        # a throwaway database rebuilt on every start: no need to wait for the disk per commit
        event.listen(engine.sync_engine, "connect", _no_fsync)
    factory = make_session_factory(engine)

    def uow() -> SqlUnitOfWork:
        return SqlUnitOfWork(factory)

    clock = FixedClock(datetime.combine(plan.start, time(8, 30), tzinfo=tz), settings.timezone)
    services = make_services(settings, plan, clock, uow)
    reports = ReportService(
        uow=uow, plan=plan, clock=clock, working_days=services.working_days,
        office_chat_id=OFFICE_CHAT_ID, office_admin_ids=settings.office_admin_ids,
    )  # fmt: skip
    try:
        await sync_plan_units(plan, uow)
        await _bind_liaisons(services.invites, plan)
        rng = random.Random(random_seed)
        queue = _plan_cases(services, plan, rng, cases, start=clock.now(), end=end, tz=tz)
        queue.extend(_self_inspections(reports, plan, rng, tz))
        queue.extend(_daily_passes(services, start=clock.now(), end=end, tz=tz))
        queue.sort()
        dead: set[int] = set()
        for due in queue:
            if due.at > end or due.case in dead:
                continue
            clock.set(due.at)
            try:
                await due.step()
            except DomainError as exc:
                # a refusal ends that case's story here (e.g. the unit complained about
                # cannot lead it): it stays in whatever state the service left it
                report.refused[type(exc).__name__] += 1
                dead.add(due.case)
        async with factory() as session:
            await session.execute(
                update(OutboxRow)
                .where(OutboxRow.state == "pending")
                .values(state="sent", sent_at=OutboxRow.created_at)
            )
            await session.commit()
        async with factory() as session:
            rows = await session.execute(select(CaseRow.state, func.count()).group_by(CaseRow.state))
            report.states.update({str(state): int(n) for state, n in rows.all()})
        report.cases = sum(report.states.values())
    finally:
        await engine.dispose()
    report.seconds = timer.perf_counter() - started
    return report


def _no_fsync(dbapi_connection: Any, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=OFF")
    cursor.close()


async def _bind_liaisons(invites: InviteService, plan: Plan) -> None:
    """Every unit's liaison joins with an invite code, as ``python -m bot invite`` + ``/join``."""
    for persona in liaisons(plan):
        assert persona.unit_id is not None
        created = await invites.create(None, persona.unit_id)
        await invites.join(persona.user_id, created.code, display_name=persona.name)


def _working_moment(day: datetime, rng: random.Random, tz: ZoneInfo) -> datetime:
    """A time in office hours, on ``day``'s date or the next working day, never before ``day``
    (steps of one case keep their order)."""
    local = day.astimezone(tz)
    while True:
        if local.weekday() < 5:
            moment = datetime.combine(local.date(), time(8 + rng.randrange(9), rng.randrange(60)), tzinfo=tz)
            if moment > day:
                return moment
        local = datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=tz)


def _plan_cases(
    services: Services,
    plan: Plan,
    rng: random.Random,
    count: int,
    *,
    start: datetime,
    end: datetime,
    tz: ZoneInfo,
) -> list[_Due]:
    """Every case's filing and later steps, each at its moment (to be run in time order)."""
    queue: list[_Due] = []
    order = iter(range(10**9))
    span = (end - start).total_seconds()
    areas = list(AREA_WEIGHTS)
    fates = list(FATES)
    demo_citizens = [p.user_id for p in CITIZENS]
    for n in range(count):
        # more complaints as the campaign becomes known: skewed towards the recent weeks
        created = start + timedelta(seconds=span * (rng.random() ** 0.8))
        area = rng.choices(areas, weights=[AREA_WEIGHTS[a] for a in areas])[0]
        fate = rng.choices(fates, weights=[FATES[f] for f in fates])[0]
        # the demo's own citizens have a handful of cases each, so /my shows something
        user = demo_citizens[n % 3] if n < 9 else rng.choice(BACKGROUND_CITIZEN_IDS)
        story = _Story(services, plan, rng, n, user, area, fate)
        queue.append(_Due(created, next(order), story.file, n))
        t = created
        for delay_hours, step in story.steps():
            t = _working_moment(t + timedelta(hours=delay_hours), rng, tz) if delay_hours else t
            queue.append(_Due(t, next(order), step, n))
    return queue


@dataclass(slots=True)
class _Story:
    """One case's life: what the citizen writes, then the steps its fate calls for."""

    services: Services
    plan: Plan
    rng: random.Random
    n: int
    user: int
    area: str
    fate: str
    case_id: int | None = None
    lead: tuple[str, ...] = ()

    async def file(self) -> None:
        rng = self.rng
        text = rng.choice(TEXTS[self.area])
        classification = self.services.classifier.classify(text)
        unsure = self.fate in ("triage_routed", "triage_open", "rejected")
        anonymous = rng.random() < 0.6
        draft = ComplaintDraft(
            description=text,
            area=None if unsure else classification.area,
            area_auto=classification.area,
            confidence=classification.confidence,
            cues=classification.cues,
            target_text=rng.choice(TARGETS),
            place=rng.choice(PLACES),
            occurred=rng.choice(TIMES),
            anonymous=anonymous,
            phone=None if anonymous else f"+86139{rng.randrange(10**8):08d}",
            submission_key=f"demo-{self.n}",
        )
        filed = await self.services.complaints.file(self.user, draft)
        self.case_id = filed.case.id
        self.lead = tuple(filed.case.lead_unit_ids)

    def _liaison(self) -> int:
        if not self.lead:
            raise _NoLead()
        return liaison_for(self.plan, self.lead[0]).user_id

    def steps(self) -> list[tuple[float, Step]]:
        """(hours after the previous step, the step); 0 hours: right after it."""
        s = self.services
        reply = self.rng.choice(REPLIES)

        def case() -> int:
            assert self.case_id is not None
            return self.case_id

        async def sign() -> None:
            await s.liaison.sign(self._liaison(), case())

        async def answer() -> None:
            await s.liaison.reply(self._liaison(), case(), reply)

        def rate(level: Satisfaction) -> Step:
            async def go() -> None:
                await s.follow_up.rate(self.user, case(), level)

            return go

        async def request_reopen() -> None:
            await s.follow_up.request_reopen(self.user, case())

        async def approve_reopen() -> None:
            await s.follow_up.reopen_decision(OFFICE_USER_ID, case(), True)

        async def extension() -> None:
            await s.extensions.request(self._liaison(), case(), 3, "涉及多个科室，需要调取往年档案核实")

        async def give_back() -> None:
            await s.liaison.return_case(self._liaison(), case(), "该事项不属于本单位职责，请办公室另行交办")

        async def route() -> None:
            routed = await s.office.route(OFFICE_USER_ID, case(), area_id=self.area)
            self.lead = routed.lead_unit_ids

        async def reject() -> None:
            await s.office.reject(OFFICE_USER_ID, case(), "反映内容不属于本次专项整治范围，已告知相关渠道")

        async def supervise() -> None:
            await s.office.supervise(OFFICE_USER_ID, case(), "请于三个工作日内办结并报送办理结果")

        satisfied = rate(
            self.rng.choice((Satisfaction.SATISFIED, Satisfaction.SATISFIED, Satisfaction.BASICALLY))
        )
        stories: dict[str, list[tuple[float, Step]]] = {
            "closed": [(3, sign), (30, answer), (20, satisfied)],
            "closed_late": [(40, sign), (200, answer), (30, satisfied)],
            "answered": [(2, sign), (50, answer)],
            "unsatisfied": [(2, sign), (40, answer), (10, rate(Satisfaction.UNSATISFIED))],
            "reopened": [
                (2, sign), (40, answer), (10, rate(Satisfaction.UNSATISFIED)), (0, request_reopen),
                (5, approve_reopen),
            ],
            "signed": [(4, sign)],
            "unsigned": [],
            "extension": [(3, sign), (24, extension)],
            "returned": [(5, give_back)],
            "triage_routed": [(6, route), (4, sign), (60, answer), (30, satisfied)],
            "triage_open": [],
            "rejected": [(8, reject)],
            "supervised": [(3, sign), (150, supervise)],
        }  # fmt: skip
        return stories[self.fate]


class _NoLead(DomainError):
    """The case has no lead unit (it went to triage): the liaison steps do not apply."""


def _daily_passes(services: Services, *, start: datetime, end: datetime, tz: ZoneInfo) -> list[_Due]:
    """The periodic pass (reminders, 督办, escalations, follow-up time-outs, phase notices) once
    every morning, as the running bot would have done: the bot started on the demo database
    then finds the campaign up to date instead of catching up on two months at once."""
    queue: list[_Due] = []
    day = start.astimezone(tz).date()
    while (at := datetime.combine(day, time(9), tzinfo=tz)) <= end:

        async def run(at: datetime = at) -> None:
            await services.periodic.run(at)

        queue.append(_Due(at, -2, run, -10_000 - day.toordinal()))
        day += timedelta(days=1)
    return queue


def _self_inspections(reports: ReportService, plan: Plan, rng: random.Random, tz: ZoneInfo) -> list[_Due]:
    """Most units file their self-inspection report during the self-inspection phase, a few
    late, some not at all (so the scoreboard has all three)."""
    phase = next((p for p in plan.phases if p.id == "self_inspection"), None)
    if phase is None:
        return []
    queue: list[_Due] = []
    for n, persona in enumerate(liaisons(plan)):
        roll = rng.random()
        if roll < 0.2:
            continue  # never filed
        day = phase.start + timedelta(days=rng.randrange(8)) if roll < 0.85 else phase.end + timedelta(days=3)
        at = _working_moment(datetime.combine(day, time(9), tzinfo=tz), rng, tz)
        total = 10 + rng.randrange(30)
        draft = SelfInspectionDraft(
            total=total,
            inspected=total - rng.randrange(2),
            problems="窗口服务态度不够规范，部分事项办理时限偏长，办事指南更新不及时。",
            measures="开展作风纪律教育，压缩办理时限，逐项更新并公示办事指南。",
            file=ReportFile(
                f"demo-report-{n}", f"demo-report-u{n}", "application/pdf", 48_000, "自查报告.pdf"
            ),
            reason_below_target="个别窗口因人员调整，自查尚未全部完成，本月内补齐。",
        )

        def submit(user: int = persona.user_id, draft: SelfInspectionDraft = draft) -> Awaitable[object]:
            return reports.submit_self_inspection(user, draft)

        queue.append(_Due(at, -1, submit, -1 - n))
    return queue


def remove_sqlite_file(database_url: str) -> None:
    """A fresh demo every run: the demo database (and SQLite's WAL files) are deleted first."""
    prefix = "sqlite+aiosqlite:///"
    if not database_url.startswith(prefix):
        return
    path = Path(database_url[len(prefix) :])
    for candidate in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        candidate.unlink(missing_ok=True)
