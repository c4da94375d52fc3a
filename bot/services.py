"""The core services a process uses, built once from settings, plan, clock and storage."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from bot.settings import Settings
from core.calendar import WorkingDays
from core.clock import Clock
from core.deadlines import DeadlineRules, QuietHours
from core.plan import Plan
from core.ports import UnitOfWorkFactory
from core.rules import Classifier
from core.services.complaints import ComplaintService


@lru_cache(maxsize=4)
def classifier_for(plan: Plan) -> Classifier:
    """The plan's classifier (built once per plan: compiling thousands of cues takes a while)."""
    return Classifier.from_cues(
        {area.id: area.cues for area in plan.areas},
        plan.out_of_scope.cues,
        plan.classifier.threshold,
        min_margin=plan.classifier.min_margin,
    )


@dataclass(slots=True)
class Services:
    classifier: Classifier
    working_days: WorkingDays
    deadlines: DeadlineRules
    quiet_hours: QuietHours
    complaints: ComplaintService


def make_services(settings: Settings, plan: Plan, clock: Clock, uow: UnitOfWorkFactory) -> Services:
    # one WorkingDays per process: it logs the weekends-only fallback once per year
    working_days = WorkingDays()
    deadlines = DeadlineRules(working_days, clock.tz)
    return Services(
        classifier=classifier_for(plan),
        working_days=working_days,
        deadlines=deadlines,
        quiet_hours=QuietHours(settings.quiet_hours_start, settings.quiet_hours_end, tz=clock.tz),
        complaints=ComplaintService(
            uow=uow,
            plan=plan,
            clock=clock,
            deadlines=deadlines,
            daily_limit=settings.daily_case_limit,
            office_chat_id=settings.office_chat_id,
        ),
    )
