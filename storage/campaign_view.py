"""The campaign's progress from SQL (``core.campaign_view``): built on ``storage.stats`` so that
every figure the chat's digests also show (self-report coverage, rectification, the three
colours) is the very same query, and only the series over time are new here.

Both series are one ``GROUP BY`` each, a row per (day, key), never a row per case:

- cases received per local day and current state (the ``created_at`` index picks the period);
- answer deadlines per due date and outcome, with the on-time test of
  ``StatsReader.case_metrics`` (answered on a local date no later than the due date).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import and_, case, func, or_, select

from core.campaign_view import (
    STATE_ORDER,
    CampaignProgress,
    DayCount,
    DeadlineOutcome,
    PhaseProgress,
    WeeklySeries,
)
from core.services.campaign import AUDIT_OPEN_PHASE, PhaseState, phase_state
from core.stats import Period, total_rectification
from storage.audit_view import AuditReader
from storage.stats import ANSWER_RUNNING, DRAFT, C, StatsReader, _as_date


class ProgressReader(StatsReader):
    """StatsReader plus the campaign page's series (same session, same building blocks)."""

    async def received_by_state(self, period: Period) -> list[DayCount]:
        day = self._local_date(C.created_at, period.first)
        rows = await self._run(
            select(day.label("day"), C.state, func.count())
            .where(self._in(C.created_at, period), C.state != DRAFT)
            .group_by(day, C.state)
        )
        return [DayCount(_as_date(d), s, int(n)) for d, s, n in rows]

    async def answer_deadlines(self, period: Period, today: date) -> list[DayCount]:
        answered = and_(
            C.answered_at.is_not(None), or_(C.assigned_at.is_(None), C.answered_at >= C.assigned_at)
        )
        on_time = self._local_date(C.answered_at, today) <= C.answer_due
        outcome = case(
            (and_(answered, on_time), DeadlineOutcome.ON_TIME.value),
            (answered, DeadlineOutcome.LATE.value),
            (and_(C.state.in_(ANSWER_RUNNING), C.answer_due < today), DeadlineOutcome.OVERDUE.value),
            (C.state.in_(ANSWER_RUNNING), DeadlineOutcome.RUNNING.value),
            else_="",
        )
        rows = await self._run(
            select(C.answer_due, outcome.label("outcome"), func.count())
            .where(self._due_in(C.answer_due, period), C.state != DRAFT)
            .group_by(C.answer_due, outcome)
        )
        # "": a case whose deadline stopped running without an answer (returned, rejected):
        # neither met nor missed, as in the scoreboard's on-time rate
        return [DayCount(_as_date(d), o, int(n)) for d, o, n in rows if o]

    async def states_now(self) -> dict[str, int]:
        rows = await self._run(select(C.state, func.count()).where(C.state != DRAFT).group_by(C.state))
        found = {s: int(n) for s, n in rows}
        return {s.value: found.get(s.value, 0) for s in STATE_ORDER} | {
            s: n for s, n in found.items() if s not in {x.value for x in STATE_ORDER}
        }

    async def progress(self, period: Period, today: date) -> CampaignProgress:
        opened = await AuditReader(self.session, self.rules.tz).opened_phases(AUDIT_OPEN_PHASE)
        states = phase_state(self.plan, today, opened)
        early = phase_state(self.plan, today)
        phases = tuple(
            PhaseProgress(
                phase_id=p.id,
                number=p.number,
                name=p.name,
                name_en=p.name_en,
                start=p.start,
                end=p.end,
                status=states[p.id].value,
                opened_early=states[p.id] is PhaseState.OPEN and early[p.id] is PhaseState.UPCOMING,
                deliverables=tuple((d.name, d.name_en, d.due) for d in p.deliverables),
                days_left=(p.end - today).days if states[p.id] is PhaseState.OPEN else None,
            )
            for p in self.plan.phases
        )
        target = next((p.coverage_target for p in self.plan.phases if p.coverage_target is not None), None)
        warnings, _ = await self.warnings(today)
        return CampaignProgress(
            today=today,
            period=period,
            phases=phases,
            self_reports=await self.self_reports(today),
            coverage_target=target,
            rectification=total_rectification((await self.rectification(today)).values()),
            warnings=warnings,
            states_now=await self.states_now(),
            received=WeeklySeries.fold(
                period, await self.received_by_state(period), (s.value for s in STATE_ORDER)
            ),
            deadlines=WeeklySeries.fold(
                period, await self.answer_deadlines(period, today), (o.value for o in DeadlineOutcome)
            ),
        )
