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
from core.retention import RetentionPolicy
from core.rules import Classifier
from core.services.api_keys import ApiKeyService
from core.services.campaign import CampaignService
from core.services.complaints import ComplaintService
from core.services.extensions import ExtensionService
from core.services.follow_up import FollowUpService
from core.services.invites import InviteService
from core.services.liaison import LiaisonService
from core.services.office import OfficeService
from core.services.periodic import PeriodicPass
from core.services.retention import RetentionService
from core.services.web_access import WebAccessService


@lru_cache(maxsize=4)
def classifier_for(plan: Plan) -> Classifier:
    """The plan's classifier (built once per plan: compiling thousands of cues takes a while)."""
    return Classifier.from_cues(
        {area.id: area.cues for area in plan.areas},
        plan.out_of_scope.cues,
        plan.classifier.threshold,
        min_margin=plan.classifier.min_margin,
        groups=dict(plan.classifier.groups),
    )


@dataclass(slots=True)
class Services:
    classifier: Classifier
    working_days: WorkingDays
    deadlines: DeadlineRules
    quiet_hours: QuietHours
    complaints: ComplaintService
    extensions: ExtensionService
    # one per process, kept for its lifetime: it remembers what it finished today
    periodic: PeriodicPass
    liaison: LiaisonService
    invites: InviteService
    follow_up: FollowUpService
    office: OfficeService
    # the Open311 API's keys (web/open311, /apikey, python -m bot apikey)
    api_keys: ApiKeyService
    # the dashboard's sign-in links and sessions (web/, /web)
    web_access: WebAccessService
    # retention and erasure (issue 15): the periodic pass's erasure and /forget; its
    # ``evidence`` (the local file store) is set by whoever builds the store
    retention: RetentionService


def make_services(settings: Settings, plan: Plan, clock: Clock, uow: UnitOfWorkFactory) -> Services:
    # one WorkingDays per process: it logs the weekends-only fallback once per year
    working_days = WorkingDays()
    deadlines = DeadlineRules(working_days, clock.tz)
    quiet_hours = QuietHours(settings.quiet_hours_start, settings.quiet_hours_end, tz=clock.tz)
    # announces phases as their dates come; one instance for the process (it keeps a memo)
    phases = CampaignService(
        uow=uow,
        plan=plan,
        clock=clock,
        working_days=working_days,
        office_chat_id=settings.office_chat_id,
        office_admin_ids=settings.office_admin_ids,
    )
    retention = RetentionService(
        uow=uow,
        clock=clock,
        policy=RetentionPolicy.for_plan(plan, settings.retention_days, settings.retention_assessment_date),
        office_chat_id=settings.office_chat_id,
        admin_ids=settings.office_admin_ids,
    )
    return Services(
        classifier=classifier_for(plan),
        working_days=working_days,
        deadlines=deadlines,
        quiet_hours=quiet_hours,
        complaints=ComplaintService(
            uow=uow,
            plan=plan,
            clock=clock,
            deadlines=deadlines,
            daily_limit=settings.daily_case_limit,
            office_chat_id=settings.office_chat_id,
        ),
        extensions=ExtensionService(
            uow=uow, plan=plan, clock=clock, deadlines=deadlines, office_chat_id=settings.office_chat_id
        ),
        periodic=PeriodicPass(
            uow=uow,
            plan=plan,
            clock=clock,
            deadlines=deadlines,
            quiet_hours=quiet_hours,
            office_chat_id=settings.office_chat_id,
            digest_hour=settings.digest_hour,
            phase_job=phases.open_phases_due,
            retention_job=retention.run_pass,
        ),
        liaison=LiaisonService(
            uow=uow,
            clock=clock,
            deadlines=deadlines,
            office_chat_id=settings.office_chat_id,
            reply_review=settings.reply_review,
            admin_ids=settings.office_admin_ids,
        ),
        invites=InviteService(
            uow=uow,
            plan=plan,
            clock=clock,
            admin_ids=settings.office_admin_ids,
            office_chat_id=settings.office_chat_id,
        ),
        follow_up=FollowUpService(
            uow=uow,
            plan=plan,
            clock=clock,
            deadlines=deadlines,
            admin_ids=settings.office_admin_ids,
            office_chat_id=settings.office_chat_id,
        ),
        office=OfficeService(
            uow=uow,
            plan=plan,
            clock=clock,
            deadlines=deadlines,
            admin_ids=settings.office_admin_ids,
            office_chat_id=settings.office_chat_id,
        ),
        api_keys=ApiKeyService(uow=uow, clock=clock, admin_ids=settings.office_admin_ids),
        web_access=WebAccessService(uow=uow, clock=clock, admin_ids=settings.office_admin_ids),
        retention=retention,
    )
