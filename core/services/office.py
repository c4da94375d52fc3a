"""The office's use cases (SPEC §6): the triage queue, routing and re-routing, reclassifying,
rejecting with a reason, closing with an outcome, typical cases, supervision notices, random
spot checks, broadcasts, office membership, findings of the office's own supervision, and the
notifications that could not be delivered.

Every call checks the office role itself (``OFFICE_ADMIN_IDS`` or a member added at run time),
inside its own unit of work, whatever the caller checked before: a forged button from a
citizen or a liaison reaches nothing. Every action is written to the audit trail with who,
when and what (SPEC §10); reading the office's case card is audited too, because it shows who
complained. (Extension decisions are ``core.services.extensions``, reopen requests
``core.services.follow_up``, invite codes and liaison removal ``core.services.invites``: the
office's buttons call those.)

Routing keeps SPEC §3's rule: the unit complained about never handles a complaint against
itself, whether the office takes the area's lead units or names the lead unit by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from core.attachments import Attachment
from core.audit import AuditEntry
from core.campaigns import DISTRICT, campaign_by_id, lead_in, may_see, owner_of
from core.cases import Case, CaseEvent, Measure, Outcome, Satisfaction, Source, Visibility
from core.clock import Clock
from core.deadlines import DeadlineRules
from core.directory import Citizen, OfficeMember
from core.errors import ActionNotAllowed, InvalidTransition, NotFound, ValidationFailed
from core.notices import JsonScalar, Notice
from core.outbox import OutboxMessage, OutboxState
from core.plan import Area, Plan, UnknownPlanId
from core.ports import UnitOfWork, UnitOfWorkFactory
from core.recusal import RecusalReason, family_recusals, merge
from core.roles import resolve_roles
from core.routing import TriageReason, route_in_campaign
from core.routing import route as default_routing
from core.services.complaints import MAX_DESCRIPTION, MIN_DESCRIPTION, clean_text
from core.services.workflow import (
    CITIZEN_NOTICES,
    Who,
    apply_action,
    assign,
    record_recusals,
    tell_citizen,
    tell_office,
    tell_unit,
)
from core.states import TRANSITIONS, Action, Actor, CaseState
from core.tracking import format_tracking_no

MAX_REASON = 500
MAX_SUPERVISION = 1000
MAX_BROADCAST = 3000  # the notice adds a header: stay under Telegram's 4,096
MAX_SPOT_CHECK = 20
DEFAULT_SPOT_CHECK = 5
QUEUE_LIMIT = 200  # the queue is a worklist, not a report: the oldest this many
# Answered cases are few at any time (the follow-up closes them within 3 days), so the ones
# with a pending reopen request are found among them rather than with an index of their own.
ANSWERED_SCAN = 500
DEAD_LETTERS_SHOWN = 20

FINDING_SOURCES = (Source.INSPECTION, Source.SPOT_CHECK, Source.SPECIAL_CHECK)
# Where the office may still pick the handling units (the transition table's ROUTE sources).
ROUTABLE_STATES = frozenset(
    t.source for t in TRANSITIONS if t.action is Action.ROUTE and Actor.OFFICE in t.actors
)
REJECTABLE_STATES = frozenset({CaseState.SUBMITTED, CaseState.TRIAGE, CaseState.RETURNED})
# A supervision notice is for a unit that still has to act.
SUPERVISABLE_STATES = frozenset({CaseState.ASSIGNED, CaseState.SIGNED, CaseState.EXTENSION_REQUESTED})
REOPENABLE_STATES = frozenset({CaseState.ANSWERED, CaseState.CLOSED})
OUTCOME_STATES = frozenset({CaseState.ANSWERED, CaseState.CLOSED})

# Audit actions written here.
AUDIT_VIEW = "case.view"
AUDIT_ROUTE = "case.route"
AUDIT_RECLASSIFY = "case.reclassify"
AUDIT_REJECT = "case.reject"
AUDIT_OUTCOME = "case.outcome"
AUDIT_TYPICAL = "case.typical"
AUDIT_SUPERVISE = "case.supervise"
AUDIT_REOPEN = "case.reopen"
AUDIT_FINDING = "case.finding"
AUDIT_SPOT_CHECK = "spot_check"
AUDIT_BROADCAST = "broadcast"
AUDIT_CASE_NOTICE = "case.notice"
AUDIT_MEMBER_ADD = "office.add_member"
AUDIT_MEMBER_REMOVE = "office.remove_member"
AUDIT_MARK_TARGET = "case.mark_target"
AUDIT_CLEAR_CANDIDATES = "case.clear_candidates"

# Case event kinds written here (besides the transitions' own).
RECLASSIFY_EVENT = "reclassify"
OUTCOME_EVENT = "outcome"
TYPICAL_EVENT = "typical"
NOTICE_EVENT = "notice"  # a 通报 of the case went to the units
SUPERVISION_EVENT = "supervision"  # as the periodic pass's 督办通知, with data["manual"]
SPOT_CHECK_EVENT = "spot_check"
REOPEN_REQUESTED_EVENT = "reopen_requested"  # core.services.follow_up writes it
REOPEN_REFUSED_EVENT = "reopen_refused"


# -- errors ---------------------------------------------------------------------------------------


class UnknownArea(NotFound):
    key = "office.error_area"


class UnknownUnit(NotFound):
    key = "office.error_unit"


class NoLeadUnit(ValidationFailed):
    """Every lead unit of the area is the unit complained about (or returned the case): the
    office names the lead unit itself."""

    key = "office.error_no_lead"


class TargetCannotLead(ValidationFailed):
    """The unit complained about never handles a complaint against itself."""

    key = "office.error_target_lead"


class AlreadyRecused(ValidationFailed):
    key = "office.recusal.error_already"


class NoCandidates(ValidationFailed):
    key = "office.recusal.error_no_candidates"


class AreaUnchanged(ValidationFailed):
    key = "office.error_area_unchanged"


class MeasureWithoutSubstance(ValidationFailed):
    """A measure was named for a complaint found not substantiated."""

    key = "office.error_measure"


class NotSupervisable(InvalidTransition):
    key = "office.error_not_supervisable"


class ConfigAdmin(ActionNotAllowed):
    """Members named in OFFICE_ADMIN_IDS are changed in the configuration, not here."""

    key = "office.error_config_admin"


class NotAMember(NotFound):
    key = "office.error_not_member"


class UnknownCampaign(ValidationFailed):
    key = "office.error_unknown_campaign"


class OutsideCampaign(ActionNotAllowed):
    """A street's or township's office acts within its own campaign; the district's above it."""

    key = "office.error_outside_campaign"


class BadSource(ValidationFailed):
    key = "office.error_source"


# -- results ----------------------------------------------------------------------------------------


class QueueKind(StrEnum):
    TRIAGE = "triage"  # not sure, or only the unit complained about could lead
    RETURNED = "returned"  # 退回 by a unit
    EXTENSION = "extension"  # a lead unit asks for more time
    REOPEN = "reopen"  # an unsatisfied citizen asks for the case to be handled again


@dataclass(frozen=True, slots=True)
class QueueItem:
    kind: QueueKind
    case: Case
    since: datetime  # when it joined the queue
    suggested_area: str | None = None  # where the office would likely route it
    reason: str = ""  # the return's or the extension's reason, the citizen's comment
    reason_key: str | None = None  # a catalogue key (a triage reason)
    units: tuple[str, ...] = ()  # the units that returned it or ask for the extension
    days: int | None = None  # the extension asked for
    candidates: tuple[str, ...] = ()  # units it may be about, waiting for the office's decision


@dataclass(frozen=True, slots=True)
class TriageQueue:
    items: tuple[QueueItem, ...]


@dataclass(frozen=True, slots=True)
class Complainant:
    """Who complained: for the office's eyes only (SPEC §10)."""

    user_id: int | None  # None: filed through the Open311 API by a key holder (``via``)
    phone: str | None
    # An API complainant: the key holder's name, its account id there, and the contact
    # details it sent (core.api_keys.ApiAccount)
    via: str | None = None
    external_id: str | None = None
    email: str | None = None
    name: str | None = None


@dataclass(frozen=True, slots=True)
class OfficeCaseView:
    case: Case
    history: tuple[CaseEvent, ...]  # everything, internal events included
    evidence: tuple[Attachment, ...]
    complainant: Complainant | None  # None: anonymous, or no citizen (an office finding)
    suggested_area: str | None
    excluded_units: tuple[str, ...]  # never the default lead: complained about, or returned it
    reopen_requested: bool  # a citizen's request waits for the office (ro: buttons)
    candidates: tuple[str, ...] = ()  # units it may be about, waiting for the office's decision


@dataclass(frozen=True, slots=True)
class Routed:
    case: Case
    area_id: str
    lead_unit_ids: tuple[str, ...]
    assist_unit_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TargetMarked:
    """The unit the office marked as complained about, what it took from whom, and whether the
    case went back to triage because nobody was left to lead it."""

    case: Case
    unit_id: str
    removed: tuple[str, ...]  # units that had the case and lost it
    to_triage: bool
    withdrawn: int  # queued notices to those units that were not sent


@dataclass(frozen=True, slots=True)
class SpotCheck:
    cases: tuple[Case, ...]
    closed_from: datetime | None
    closed_until: datetime | None


@dataclass(frozen=True, slots=True)
class Broadcast:
    recipients: int
    unit_id: str | None


@dataclass(frozen=True, slots=True)
class Members:
    admins: tuple[int, ...]  # from OFFICE_ADMIN_IDS
    added: tuple[OfficeMember, ...]


@dataclass(frozen=True, slots=True)
class Finding:
    case: Case
    routed: bool  # False: the unit is the area's only lead; the case waits in triage


@dataclass(frozen=True, slots=True)
class DeadLetters:
    messages: tuple[OutboxMessage, ...]  # newest first
    counts: dict[OutboxState, int] = field(default_factory=dict)


# -- the service ----------------------------------------------------------------------------------


@dataclass(slots=True)
class OfficeService:
    uow: UnitOfWorkFactory
    plan: Plan
    clock: Clock
    deadlines: DeadlineRules
    admin_ids: frozenset[int] = frozenset()
    office_chat_id: int | None = None

    # -- access and bookkeeping -------------------------------------------------------------------

    async def _require_office(self, uow: UnitOfWork, user_id: int) -> str:
        """The office member's scope (core.campaigns): DISTRICT, or the sub-campaign whose
        office they are; raises for anyone who is not an office member."""
        roles = await resolve_roles(uow, user_id, self.admin_ids)
        roles.require_office()
        return roles.office_scope

    async def _case(self, uow: UnitOfWork, case_id: int, scope: str = DISTRICT) -> Case:
        """The case, locked for the change; another campaign's case is not there for a
        sub-campaign's office (the same answer as a case that does not exist)."""
        case = await uow.cases.get(case_id, for_update=True)
        if case is None or case.id is None or case.state is CaseState.DRAFT:
            raise NotFound(kind="case")
        if not may_see(scope, case.campaign):
            raise NotFound(kind="case")
        return case

    async def _audit(
        self,
        uow: UnitOfWork,
        user_id: int,
        now: datetime,
        action: str,
        target: str = "",
        details: dict[str, object] | None = None,
    ) -> None:
        await uow.audit.add(AuditEntry(user_id, now, action, target, dict(details or {})))

    def _area(self, area_id: str) -> Area:
        try:
            return self.plan.area(area_id)
        except UnknownPlanId:
            raise UnknownArea(area_id=area_id) from None

    def _unit(self, unit_id: str) -> str:
        try:
            return self.plan.unit(unit_id).id
        except UnknownPlanId:
            raise UnknownUnit(unit_id=unit_id) from None

    @staticmethod
    def _office(user_id: int) -> Who:
        return Who.user(Actor.OFFICE, user_id)

    # -- reading ----------------------------------------------------------------------------------

    async def triage_queue(self, office_user: int) -> TriageQueue:
        """What waits for the office, oldest first: cases to route (not sure, or only the unit
        complained about could lead), returned cases, extension requests and reopen requests."""
        async with self.uow() as uow:
            scope = await self._require_office(uow, office_user)
            items: list[QueueItem] = []
            waiting = await uow.cases.list_in_states(
                (CaseState.TRIAGE, CaseState.RETURNED, CaseState.EXTENSION_REQUESTED), limit=QUEUE_LIMIT
            )
            for case in waiting:
                assert case.id is not None
                if not may_see(scope, case.campaign):
                    continue
                history = await uow.events.list(case.id, include_internal=True)
                items.append(_queue_item(case, history))
            answered = await uow.cases.list_in_states((CaseState.ANSWERED,), limit=ANSWERED_SCAN)
            for case in answered:
                if case.satisfaction is not Satisfaction.UNSATISFIED or case.id is None:
                    continue
                if not may_see(scope, case.campaign):
                    continue
                history = await uow.events.list(case.id, include_internal=True)
                request = pending_reopen_request(history)
                if request is not None:
                    items.append(
                        QueueItem(
                            QueueKind.REOPEN,
                            case,
                            request.at,
                            suggested_area=case.area,
                            reason=case.satisfaction_comment,
                            units=tuple(case.lead_unit_ids),
                        )
                    )
        items.sort(key=lambda item: (item.since, item.case.id or 0))
        return TriageQueue(tuple(items))

    async def view(self, office_user: int, case_id: int) -> OfficeCaseView:
        """The whole case: every event, the evidence, and who complained (unless they asked to
        stay anonymous). Audited: the trail shows who looked at a complainant's identity."""
        now = self.clock.now()
        async with self.uow() as uow:
            scope = await self._require_office(uow, office_user)
            case = await self._case(uow, case_id, scope)
            assert case.id is not None
            history = await uow.events.list(case.id, include_internal=True)
            evidence = await uow.attachments.list_for_case(case.id)
            complainant: Complainant | None = None
            if case.citizen_id is not None and not case.anonymous:
                citizen = await uow.citizens.get(case.citizen_id)
                if citizen is not None:
                    complainant = await _complainant(uow, citizen)
            await self._audit(
                uow, office_user, now, AUDIT_VIEW, case.tracking_no, {"identity": complainant is not None}
            )
            await uow.commit()
        return OfficeCaseView(
            case=case,
            history=tuple(history),
            evidence=tuple(evidence),
            complainant=complainant,
            suggested_area=case.area,
            excluded_units=_excluded_units(case, history),
            reopen_requested=case.state is CaseState.ANSWERED and pending_reopen_request(history) is not None,
            candidates=candidates_of(case),
        )

    async def case(self, office_user: int, case_id: int) -> Case:
        """The case alone (no history, no identity), to check where it stands before asking
        the office for a reason."""
        async with self.uow() as uow:
            scope = await self._require_office(uow, office_user)
            return await self._case(uow, case_id, scope)

    async def case_by_number(self, office_user: int, tracking_no: str) -> Case:
        async with self.uow() as uow:
            scope = await self._require_office(uow, office_user)
            case = await uow.cases.get_by_tracking_no(tracking_no)
        if case is None or case.id is None or case.state is CaseState.DRAFT:
            raise NotFound(kind="case")
        if not may_see(scope, case.campaign):
            raise NotFound(kind="case")
        return case

    async def evidence(self, office_user: int, case_id: int) -> tuple[Attachment, ...]:
        async with self.uow() as uow:
            scope = await self._require_office(uow, office_user)
            await self._case(uow, case_id, scope)
            return tuple(await uow.attachments.list_for_case(case_id))

    async def find(self, office_user: int, tracking_no: str) -> OfficeCaseView:
        async with self.uow() as uow:
            scope = await self._require_office(uow, office_user)
            case = await uow.cases.get_by_tracking_no(tracking_no)
        if case is None or case.id is None or not may_see(scope, case.campaign):
            raise NotFound(kind="case")
        return await self.view(office_user, case.id)

    async def dead_letters(self, office_user: int, *, limit: int = DEAD_LETTERS_SHOWN) -> DeadLetters:
        """Notifications the sender gave up on (dead) or could not deliver (the chat blocked
        the bot), newest first, with the outbox's counts by state."""
        async with self.uow() as uow:
            await self._require_office(uow, office_user)
            messages = await uow.outbox.list_failed(limit=limit)
            counts = await uow.outbox.count_by_state()
        return DeadLetters(tuple(messages), counts)

    async def members(self, office_user: int) -> Members:
        async with self.uow() as uow:
            scope = await self._require_office(uow, office_user)
            added = await uow.office.list_active()
        # a sub-campaign's office sees its own members; the district's sees everyone
        return Members(
            tuple(sorted(self.admin_ids)),
            tuple(m for m in added if m.user_id not in self.admin_ids and may_see(scope, m.campaign)),
        )

    # -- routing ----------------------------------------------------------------------------------

    async def route(
        self,
        office_user: int,
        case_id: int,
        area_id: str | None = None,
        lead_unit_ids: tuple[str, ...] | list[str] | None = None,
    ) -> Routed:
        """Route (or re-route) a case: to ``area_id`` (default: the case's area) and its lead
        units, or to the lead units named. The unit complained about never leads; by default
        neither does a unit that returned the case. Deadlines run from now; the lead and
        assisting units get the case card, the citizen is told who handles it and by when."""
        now = self.clock.now()
        async with self.uow() as uow:
            scope = await self._require_office(uow, office_user)
            case = await self._case(uow, case_id, scope)
            assert case.id is not None
            if case.state not in ROUTABLE_STATES:
                raise InvalidTransition(state=case.state.value, action=Action.ROUTE.value)
            wanted_area = area_id or case.area
            if wanted_area is None:
                raise UnknownArea(area_id="")
            area = self._area(wanted_area)
            history = await uow.events.list(case.id, include_internal=True)
            if not lead_unit_ids:
                lead_unit_ids = self._local_lead(case, area, history, scope)
            lead = self._leads(case, area, history, lead_unit_ids)
            hidden = case.may_not_see()
            assist = tuple(u for u in area.assist_unit_ids if u not in hidden and u not in lead)
            campaign = owner_of(self.plan.sub_campaigns, lead)
            if scope != DISTRICT:
                # a street's office routes within its own units; above them is the district's
                if campaign != scope:
                    raise OutsideCampaign(campaign=scope)
                assist = ()  # a local case: the district's assisting units are not copied
            case.campaign = campaign
            # routing decides who handles it: candidates still waiting stay kept out, for good
            case.recusals = [replace(r, pending=False) for r in case.recusals]
            previous_area = case.area_final
            case.area_final = area.id
            event, due = await assign(
                uow,
                case,
                area,
                lead,
                assist,
                now,
                deadlines=self.deadlines,
                who=self._office(office_user),
                data={"area": area.id},
            )
            key = CITIZEN_NOTICES[Action.ROUTE]
            assert key is not None
            await tell_citizen(
                uow,
                case,
                key,
                now,
                dedup_key=f"routed:{case.id}:{event.id}",
                params={"lead_units": list(lead), "answer_due_date": due.answer_due.isoformat()},
            )
            details: dict[str, object] = {"area": area.id, "lead": list(lead), "assist": list(assist)}
            if previous_area != area.id:
                details["previous_area"] = previous_area
            await self._audit(uow, office_user, now, AUDIT_ROUTE, case.tracking_no, details)
            await uow.commit()
        return Routed(case, area.id, lead, assist)

    def _local_lead(self, case: Case, area: Area, history: list[CaseEvent], scope: str) -> tuple[str, ...]:
        """A street's case, routed without naming units, goes to the street's own lead for the
        area (core.campaigns.lead_in); () leaves the choice to the district's plan."""
        sub = campaign_by_id(self.plan.sub_campaigns, scope or case.campaign)
        if sub is None:
            return ()
        kept_out = case.may_not_lead() | case.may_not_see() | set(_excluded_units(case, history))
        local = lead_in(sub, area.id, kept_out)
        if local is None and scope:
            raise NoLeadUnit(area_id=area.id)  # the street has nobody left: the district decides
        return (local,) if local is not None else ()

    def _leads(
        self,
        case: Case,
        area: Area,
        history: list[CaseEvent],
        named: tuple[str, ...] | list[str] | None,
    ) -> tuple[str, ...]:
        barred = case.may_not_lead()
        if named:
            lead = tuple(dict.fromkeys(self._unit(u) for u in named))
            for unit_id in lead:
                if unit_id in barred:
                    raise TargetCannotLead(unit_id=unit_id)
            return lead
        excluded = set(_excluded_units(case, history))
        routing = default_routing(area, barred, case.may_not_see())
        lead = tuple(u for u in routing.lead_unit_ids if u not in excluded)
        if not lead:
            raise NoLeadUnit(area_id=area.id)
        return lead

    # -- recusal ----------------------------------------------------------------------------------

    async def mark_target(self, office_user: int, case_id: int, unit_id: str) -> TargetMarked:
        """The office names the unit complained about (SPEC §3), at any time after filing, or to
        settle the candidates a complaint named. The unit and its offices leave the case at once
        (lead or copied), its heads stop leading it, other candidates still waiting are
        released, and notices still queued to those units are withdrawn. When nobody is left to
        lead, an open case goes back to triage. History and audit say who had seen it."""
        unit_id = self._unit(unit_id)
        now = self.clock.now()
        async with self.uow() as uow:
            scope = await self._require_office(uow, office_user)
            case = await self._case(uow, case_id, scope)
            assert case.id is not None
            office = self._office(office_user)
            family = family_recusals(self.plan, unit_id, RecusalReason.OFFICE)
            family_ids = {r.unit_id for r in family}
            decided = [replace(r, pending=False) for r in case.recusals if r.unit_id in family_ids]
            released = [r for r in case.recusals if r.pending and r.unit_id not in family_ids]
            kept = [r for r in case.recusals if not r.pending and r.unit_id not in family_ids]
            before = {r.unit_id: r for r in case.recusals if not r.pending}
            merged = merge([*kept, *decided, *family])
            new = [r for r in merged if before.get(r.unit_id) != r]
            if not new and not released:
                raise AlreadyRecused(unit_id=unit_id)
            new = [replace(r, at=now, by=office.ref) for r in new]
            fresh = {r.unit_id: r for r in new}
            case.recusals = [fresh.get(r.unit_id, r) for r in merged]
            case.target_unit_id = unit_id
            had = [*case.lead_unit_ids, *case.assist_unit_ids]
            barred, hidden = case.may_not_lead(), case.may_not_see()
            lost_lead = [u for u in case.lead_unit_ids if u in barred]
            case.lead_unit_ids = [u for u in case.lead_unit_ids if u not in barred]
            case.assist_unit_ids = [u for u in case.assist_unit_ids if u not in hidden]
            removed = tuple(u for u in had if u not in (*case.lead_unit_ids, *case.assist_unit_ids))
            await uow.cases.update(case)
            await record_recusals(uow, case, released, office, now, lifted=True)
            await record_recusals(uow, case, new, office, now, seen_by=removed)
            withdrawn = 0
            for gone in removed:
                chats = [liaison.user_id for liaison in await uow.liaisons.list_for_unit(gone)]
                withdrawn += await uow.outbox.withdraw_pending(chats, case.tracking_no)
            to_triage = bool(lost_lead) and not case.lead_unit_ids and case.state in SUPERVISABLE_STATES
            if to_triage:
                reason = TriageReason.TARGET_IS_LEAD.value
                await apply_action(uow, case, Action.SEND_TO_TRIAGE, office, now, data={"reason": reason})
            details: dict[str, object] = {"unit": unit_id, "removed": list(removed), "withdrawn": withdrawn}
            if released:
                details["released"] = [r.unit_id for r in released]
            await self._audit(uow, office_user, now, AUDIT_MARK_TARGET, case.tracking_no, details)
            await uow.commit()
        return TargetMarked(case, unit_id, removed, to_triage, withdrawn)

    async def clear_candidates(self, office_user: int, case_id: int) -> Case:
        """None of the candidates is the unit complained about: they are released (and may
        handle the case again); recusals already decided stay."""
        now = self.clock.now()
        async with self.uow() as uow:
            scope = await self._require_office(uow, office_user)
            case = await self._case(uow, case_id, scope)
            released = [r for r in case.recusals if r.pending]
            if not released:
                raise NoCandidates()
            case.recusals = [r for r in case.recusals if not r.pending]
            if case.target_unit_id in {r.unit_id for r in released}:
                case.target_unit_id = None
            await uow.cases.update(case)
            await record_recusals(uow, case, released, self._office(office_user), now, lifted=True)
            await self._audit(
                uow,
                office_user,
                now,
                AUDIT_CLEAR_CANDIDATES,
                case.tracking_no,
                {"released": [r.unit_id for r in released]},
            )
            await uow.commit()
        return case

    async def reclassify(self, office_user: int, case_id: int, area_id: str) -> Case:
        """Correct the case's area (the classifier's guess stays, for the record). The handling
        units stay as they are: re-routing is ``route``."""
        now = self.clock.now()
        area = self._area(area_id)
        async with self.uow() as uow:
            scope = await self._require_office(uow, office_user)
            case = await self._case(uow, case_id, scope)
            assert case.id is not None
            before = case.area
            if before == area.id and case.area_final is not None:
                raise AreaUnchanged(area_id=area.id)
            case.area_final = area.id
            await uow.cases.update(case)
            await uow.events.add(
                CaseEvent(
                    case.id,
                    now,
                    Actor.OFFICE,
                    str(office_user),
                    RECLASSIFY_EVENT,
                    Visibility.INTERNAL,
                    data={"from": before, "to": area.id, "auto": case.area_auto},
                )
            )
            await self._audit(
                uow, office_user, now, AUDIT_RECLASSIFY, case.tracking_no, {"from": before, "to": area.id}
            )
            await uow.commit()
        return case

    async def reject(self, office_user: int, case_id: int, reason: str) -> Case:
        """不予受理: the case ends, and the citizen is told why (the reason is public)."""
        reason = clean_text(reason, limit=MAX_REASON)
        if not reason:
            raise ValidationFailed(field="reason", reason="empty")
        now = self.clock.now()
        async with self.uow() as uow:
            scope = await self._require_office(uow, office_user)
            case = await self._case(uow, case_id, scope)
            assert case.id is not None
            event = await apply_action(uow, case, Action.REJECT, self._office(office_user), now, text=reason)
            key = CITIZEN_NOTICES[Action.REJECT]
            assert key is not None
            await tell_citizen(
                uow, case, key, now, dedup_key=f"rejected:{case.id}:{event.id}", params={"reason": reason}
            )
            await self._audit(uow, office_user, now, AUDIT_REJECT, case.tracking_no, {"reason": reason})
            await uow.commit()
        return case

    # -- outcomes ---------------------------------------------------------------------------------

    async def close_with_outcome(
        self,
        office_user: int,
        case_id: int,
        outcome: Outcome,
        measure: Measure,
        typical: bool | None = None,
    ) -> Case:
        """Record what the case came to (substantiated or not, the measure taken) on an
        answered or closed case; an answered case is closed by it and the citizen told. A
        complaint found not substantiated takes no measure."""
        if outcome is Outcome.NOT_SUBSTANTIATED and measure is not Measure.NONE:
            raise MeasureWithoutSubstance(outcome=outcome.value, measure=measure.value)
        now = self.clock.now()
        async with self.uow() as uow:
            scope = await self._require_office(uow, office_user)
            case = await self._case(uow, case_id, scope)
            assert case.id is not None
            if case.state not in OUTCOME_STATES:
                raise InvalidTransition(state=case.state.value, action=Action.CLOSE.value)
            case.outcome, case.measure = outcome, measure
            if typical is not None:
                case.typical = typical
            data: dict[str, object] = {"outcome": outcome.value, "measure": measure.value}
            if typical is not None:
                data["typical"] = typical
            office = self._office(office_user)
            closing = case.state is CaseState.ANSWERED
            if closing:
                case.closed_at = now
                event = await apply_action(uow, case, Action.CLOSE, office, now, data=data)
                key = CITIZEN_NOTICES[Action.CLOSE]
                assert key is not None
                await tell_citizen(uow, case, key, now, dedup_key=f"closed:{case.id}:{event.id}")
            else:
                await uow.cases.update(case)
                await uow.events.add(
                    CaseEvent(
                        case.id, now, Actor.OFFICE, office.ref, OUTCOME_EVENT, Visibility.INTERNAL, data=data
                    )
                )
            await self._audit(
                uow, office_user, now, AUDIT_OUTCOME, case.tracking_no, {**data, "closed": closing}
            )
            await uow.commit()
        return case

    async def mark_typical(self, office_user: int, case_id: int, typical: bool = True) -> Case:
        """典型案例: the case goes on (or comes off) the notice list of typical cases."""
        now = self.clock.now()
        async with self.uow() as uow:
            scope = await self._require_office(uow, office_user)
            case = await self._case(uow, case_id, scope)
            assert case.id is not None
            if case.typical != typical:
                case.typical = typical
                await uow.cases.update(case)
                await uow.events.add(
                    CaseEvent(
                        case.id,
                        now,
                        Actor.OFFICE,
                        str(office_user),
                        TYPICAL_EVENT,
                        Visibility.INTERNAL,
                        data={"typical": typical},
                    )
                )
            await self._audit(uow, office_user, now, AUDIT_TYPICAL, case.tracking_no, {"typical": typical})
            await uow.commit()
        return case

    # -- supervision ------------------------------------------------------------------------------

    async def supervise(self, office_user: int, case_id: int, text: str) -> Case:
        """督办: a supervision notice with the office's words to the lead units of a case they
        still have to act on; an internal event, and a copy to the office chat."""
        text = clean_text(text, limit=MAX_SUPERVISION)
        if not text:
            raise ValidationFailed(field="text", reason="empty")
        now = self.clock.now()
        async with self.uow() as uow:
            scope = await self._require_office(uow, office_user)
            case = await self._case(uow, case_id, scope)
            assert case.id is not None
            if case.state not in SUPERVISABLE_STATES or not case.lead_unit_ids:
                raise NotSupervisable(state=case.state.value)
            event = await uow.events.add(
                CaseEvent(
                    case.id,
                    now,
                    Actor.OFFICE,
                    str(office_user),
                    SUPERVISION_EVENT,
                    Visibility.INTERNAL,
                    text=text,
                    data={"manual": True, "lead": list(case.lead_unit_ids)},
                )
            )
            params: dict[str, JsonScalar | list[str]] = {
                "tracking_no": case.tracking_no,
                "case_area": case.area,
                "text": text,
                "lead_units": list(case.lead_unit_ids),
            }
            for unit_id in case.lead_unit_ids:
                await tell_unit(
                    uow,
                    unit_id,
                    "office.supervision_notice",
                    now,
                    dedup_key=f"supervise:{event.id}:{unit_id}",
                    params=params,
                )
            await tell_office(
                uow,
                self.office_chat_id,
                "office.supervision_copy",
                now,
                dedup_key=f"supervise:{event.id}:office",
                params=params,
            )
            await self._audit(uow, office_user, now, AUDIT_SUPERVISE, case.tracking_no, {"text": text})
            await uow.commit()
        return case

    async def reopen(self, office_user: int, case_id: int, reason: str) -> Case:
        """Reopen an answered or closed case (a spot check found the handling wanting): it goes
        back to its lead units with fresh deadlines and the office's reason, or to triage when
        it has none; the citizen is told."""
        reason = clean_text(reason, limit=MAX_REASON)
        if not reason:
            raise ValidationFailed(field="reason", reason="empty")
        now = self.clock.now()
        async with self.uow() as uow:
            scope = await self._require_office(uow, office_user)
            case = await self._case(uow, case_id, scope)
            assert case.id is not None
            if case.state not in REOPENABLE_STATES:
                raise InvalidTransition(state=case.state.value, action=Action.REOPEN.value)
            office = self._office(office_user)
            case.closed_at = None
            event = await apply_action(uow, case, Action.REOPEN, office, now, text=reason)
            area: Area | None = None
            if case.area is not None:
                try:
                    area = self.plan.area(case.area)
                except UnknownPlanId:
                    area = None
            barred, hidden = case.may_not_lead(), case.may_not_see()
            lead = tuple(u for u in case.lead_unit_ids if u not in barred)
            if area is None or not lead:
                await apply_action(uow, case, Action.SEND_TO_TRIAGE, office, now, data={"reason": "reopened"})
            else:
                assist = tuple(u for u in case.assist_unit_ids if u not in hidden and u not in lead)
                await assign(uow, case, area, lead, assist, now, deadlines=self.deadlines, who=office)
                for unit_id in lead:
                    await tell_unit(
                        uow,
                        unit_id,
                        "office.reopened_unit",
                        now,
                        dedup_key=f"reopened:{event.id}:{unit_id}",
                        params={"tracking_no": case.tracking_no, "reason": reason},
                    )
            key = CITIZEN_NOTICES[Action.REOPEN]
            assert key is not None
            await tell_citizen(uow, case, key, now, dedup_key=f"reopened:{case.id}:{event.id}")
            await self._audit(uow, office_user, now, AUDIT_REOPEN, case.tracking_no, {"reason": reason})
            await uow.commit()
        return case

    async def spot_check(
        self,
        office_user: int,
        n: int = DEFAULT_SPOT_CHECK,
        *,
        closed_from: datetime | None = None,
        closed_until: datetime | None = None,
    ) -> SpotCheck:
        """随机抽查: ``n`` closed cases picked at random (closed in the period, when given) for
        the office to review. The sample is in the audit trail and in each case's history."""
        if not 1 <= n <= MAX_SPOT_CHECK:
            raise ValidationFailed(field="count", value=n, limit=MAX_SPOT_CHECK)
        now = self.clock.now()
        async with self.uow() as uow:
            scope = await self._require_office(uow, office_user)
            cases = await uow.cases.sample_closed(n, closed_from=closed_from, closed_until=closed_until)
            cases = [c for c in cases if may_see(scope, c.campaign)]
            for case in cases:
                assert case.id is not None
                await uow.events.add(
                    CaseEvent(
                        case.id, now, Actor.OFFICE, str(office_user), SPOT_CHECK_EVENT, Visibility.INTERNAL
                    )
                )
            details: dict[str, object] = {
                "n": n,
                "closed_from": closed_from.isoformat() if closed_from else None,
                "closed_until": closed_until.isoformat() if closed_until else None,
                "cases": [c.tracking_no for c in cases],
            }
            await self._audit(uow, office_user, now, AUDIT_SPOT_CHECK, "", details)
            await uow.commit()
        return SpotCheck(tuple(cases), closed_from, closed_until)

    # -- people -----------------------------------------------------------------------------------

    async def broadcast(self, office_user: int, text: str, unit_id: str | None = None) -> Broadcast:
        """A message from the office to every active liaison, or to one unit's."""
        text = clean_text(text, limit=MAX_BROADCAST)
        if not text:
            raise ValidationFailed(field="text", reason="empty")
        if unit_id is not None:
            unit_id = self._unit(unit_id)
        now = self.clock.now()
        async with self.uow() as uow:
            scope = await self._require_office(uow, office_user)
            # a street's office speaks to its own units only
            sub = campaign_by_id(self.plan.sub_campaigns, scope)
            if sub is not None and unit_id is not None and unit_id not in sub.unit_ids:
                raise OutsideCampaign(campaign=scope)
            if unit_id is None:
                liaisons = await uow.liaisons.list_active()
                if sub is not None:
                    liaisons = [li for li in liaisons if li.unit_id in sub.unit_ids]
                sent = 0
                for liaison in liaisons:
                    sent += await tell_unit_member(uow, liaison.user_id, liaison.unit_id, text, now)
            else:
                sent = await tell_unit(
                    uow,
                    unit_id,
                    "office.broadcast_message",
                    now,
                    params={"text": text, "to_units": [unit_id]},
                )
            details: dict[str, object] = {"recipients": sent, "text": text}
            await self._audit(uow, office_user, now, AUDIT_BROADCAST, unit_id or "*", details)
            await uow.commit()
        return Broadcast(sent, unit_id)

    async def notice_case(
        self, office_user: int, case_id: int, *, positive: bool, text: str, unit_id: str | None = None
    ) -> Broadcast:
        """典型案件通报 (保障措施 四): a typical case, negative or positive, made known to every
        unit's liaisons (or one unit's) with the office's words. It carries the case's number,
        area, handling units and outcome, never the complainant nor the citizen's own words
        (they may name them). The case becomes typical, and the history and audit trail say
        who was told."""
        text = clean_text(text, limit=MAX_BROADCAST)
        if not text:
            raise ValidationFailed(field="text", reason="empty")
        if unit_id is not None:
            unit_id = self._unit(unit_id)
        now = self.clock.now()
        key = "office.case_notice_positive" if positive else "office.case_notice_negative"
        async with self.uow() as uow:
            scope = await self._require_office(uow, office_user)
            case = await self._case(uow, case_id, scope)
            assert case.id is not None
            if not case.typical:
                case.typical = True
                await uow.cases.update(case)
            units = [unit_id] if unit_id else sorted({li.unit_id for li in await uow.liaisons.list_active()})
            event = await uow.events.add(
                CaseEvent(
                    case.id,
                    now,
                    Actor.OFFICE,
                    str(office_user),
                    NOTICE_EVENT,
                    Visibility.INTERNAL,
                    text=text,
                    data={"positive": positive, "to": unit_id or "*", "units": units},
                )
            )
            params: dict[str, JsonScalar | list[str]] = {
                "tracking_no": case.tracking_no,
                "case_area": case.area or "",
                "lead_units": list(case.lead_unit_ids),
                "text": text,
            }
            sent = 0
            for unit in units:
                sent += await tell_unit(
                    uow, unit, key, now, params=params, dedup_key=f"case-notice:{case.id}:{event.id}:{unit}"
                )
            details: dict[str, object] = {"positive": positive, "to": unit_id or "*", "recipients": sent}
            await self._audit(uow, office_user, now, AUDIT_CASE_NOTICE, case.tracking_no, details)
            await uow.commit()
        return Broadcast(sent, unit_id)

    async def add_member(self, office_user: int, user_id: int, campaign: str | None = None) -> OfficeMember:
        """Make ``user_id`` an office member (they are told; their menu changes when they next
        send /start or /office): of ``campaign``'s office (a sub-campaign's id, or DISTRICT),
        by default of the adding member's own. Only the district's office adds to another's."""
        now = self.clock.now()
        async with self.uow() as uow:
            scope = await self._require_office(uow, office_user)
            wanted = scope if campaign is None else campaign
            if wanted != DISTRICT and campaign_by_id(self.plan.sub_campaigns, wanted) is None:
                raise UnknownCampaign(campaign=wanted)
            if not may_see(scope, wanted):
                raise OutsideCampaign(campaign=scope)  # a street's office adds to its own only
            member = await uow.office.add(user_id, added_by=office_user, now=now, campaign=wanted)
            details: dict[str, object] | None = {"campaign": wanted} if wanted else None
            await self._audit(uow, office_user, now, AUDIT_MEMBER_ADD, str(user_id), details)
            await uow.outbox.add(_personal(user_id, "office.notify_member_added", now))
            await uow.commit()
        return member

    async def remove_member(self, office_user: int, user_id: int) -> None:
        """End a run-time member's office role at once (roles are read on every update)."""
        if user_id in self.admin_ids:
            raise ConfigAdmin(user_id=user_id)
        now = self.clock.now()
        async with self.uow() as uow:
            scope = await self._require_office(uow, office_user)
            member = await uow.office.get(user_id)
            if member is None or not member.active or not may_see(scope, member.campaign):
                raise NotAMember(user_id=user_id)
            if not await uow.office.remove(user_id):
                raise NotAMember(user_id=user_id)
            await self._audit(uow, office_user, now, AUDIT_MEMBER_REMOVE, str(user_id))
            await uow.outbox.add(_personal(user_id, "office.notify_member_removed", now))
            await uow.commit()

    # -- the office's own findings ----------------------------------------------------------------

    async def office_finding(
        self,
        office_user: int,
        unit_id: str,
        area_id: str,
        description: str,
        source: Source = Source.INSPECTION,
    ) -> Finding:
        """A case from the office's own supervision (明察暗访, 随机抽查, 专项检查) against
        ``unit_id``: no citizen; it runs through the same workflow as a complaint. Routed to
        the area's lead units, never to the unit found wanting; when that unit is the only
        lead, the case waits in the triage queue for the office to name one."""
        if source not in FINDING_SOURCES:
            raise BadSource(source=source.value)
        description = clean_text(description, limit=MAX_DESCRIPTION)
        if len(description) < MIN_DESCRIPTION:
            raise ValidationFailed(field="description", reason="too_short", min=MIN_DESCRIPTION)
        target = self._unit(unit_id)
        area = self._area(area_id)
        now = self.clock.now()
        async with self.uow() as uow:
            scope = await self._require_office(uow, office_user)
            if not may_see(scope, owner_of(self.plan.sub_campaigns, [target])):
                raise OutsideCampaign(campaign=scope)
            year = now.astimezone(self.clock.tz).year
            number = await uow.counters.next(self.plan.campaign.case_prefix, year)
            case = Case(
                tracking_no=format_tracking_no(self.plan.campaign.case_prefix, year, number),
                state=CaseState.DRAFT,
                source=source,
                description=description,
                created_at=now,
                area_final=area.id,
                target_unit_id=target,
                anonymous=True,
                recusals=list(merge(family_recusals(self.plan, target, RecusalReason.FINDING))),
            )
            # a finding about a street's unit is its campaign's case, as a complaint would be
            case.campaign, routing = route_in_campaign(
                self.plan.sub_campaigns,
                target,
                area.id,
                default_routing(area, case.may_not_lead(), case.may_not_see()),
                case.may_not_lead() | case.may_not_see(),
            )
            await uow.cases.add(case)
            office = self._office(office_user)
            await apply_action(uow, case, Action.SUBMIT, office, now, data={"source": source.value})
            await record_recusals(uow, case, case.recusals, office, now)
            routed = not routing.needs_triage
            if routed:
                await assign(
                    uow,
                    case,
                    area,
                    routing.lead_unit_ids,
                    routing.assist_unit_ids,
                    now,
                    deadlines=self.deadlines,
                    who=office,
                )
            else:
                await apply_action(
                    uow, case, Action.SEND_TO_TRIAGE, office, now, data={"reason": str(routing.triage)}
                )
            details: dict[str, object] = {"source": source.value, "unit": target, "area": area.id}
            await self._audit(uow, office_user, now, AUDIT_FINDING, case.tracking_no, details)
            await uow.commit()
        return Finding(case, routed)


# -- helpers --------------------------------------------------------------------------------------


def _personal(user_id: int, key: str, now: datetime) -> OutboxMessage:
    return Notice(chat_id=user_id, user_id=user_id, text_key=key).to_outbox(now)


async def tell_unit_member(uow: UnitOfWork, user_id: int, unit_id: str, text: str, now: datetime) -> int:
    """One liaison's copy of a broadcast to everyone."""
    notice = Notice(
        chat_id=user_id,
        user_id=user_id,
        text_key="office.broadcast_message",
        params={"text": text, "to_units": [unit_id]},
    )
    return int(await uow.outbox.add(notice.to_outbox(now)))


def _last(history: list[CaseEvent], kind: str) -> CaseEvent | None:
    found = [e for e in history if e.kind == kind]
    return found[-1] if found else None


def _since_last(history: list[CaseEvent], kind: str) -> list[CaseEvent]:
    """The events after the last ``kind`` event (all of them when there is none)."""
    for i in range(len(history) - 1, -1, -1):
        if history[i].kind == kind:
            return history[i + 1 :]
    return list(history)


def pending_reopen_request(history: list[CaseEvent]) -> CaseEvent | None:
    """The citizen's reopen request after the latest answer, unless it was decided."""
    request: CaseEvent | None = None
    for event in _since_last(history, Action.ANSWER.value):
        if event.kind == REOPEN_REQUESTED_EVENT:
            request = event
        elif event.kind in (REOPEN_REFUSED_EVENT, Action.REOPEN.value, Action.CLOSE.value):
            request = None
    return request


async def _complainant(uow: UnitOfWork, citizen: Citizen) -> Complainant:
    """The office's view of a citizen: a Telegram user, or an account of an API key holder
    (named, so the office knows whom to ask about the caller)."""
    via = None
    if citizen.api_key_id is not None:
        key = await uow.api_keys.get(citizen.api_key_id)
        via = key.name if key is not None else f"#{citizen.api_key_id}"
    return Complainant(
        citizen.user_id,
        citizen.phone,
        via=via,
        external_id=citizen.external_id,
        email=citizen.email,
        name=citizen.name,
    )


def _excluded_units(case: Case, history: list[CaseEvent]) -> tuple[str, ...]:
    """Never the default lead: the unit complained about and every other recused unit, and the
    units that returned the case since it was last routed (sending it straight back to them
    would help nobody)."""
    out: list[str] = [case.target_unit_id] if case.target_unit_id else []
    out += sorted(u for u in case.may_not_lead() if u not in out)
    for event in _since_last(history, Action.ROUTE.value):
        unit = event.data.get("unit")
        if event.kind == Action.RETURN.value and isinstance(unit, str) and unit not in out:
            out.append(unit)
    return tuple(out)


def _queue_item(case: Case, history: list[CaseEvent]) -> QueueItem:
    if case.state is CaseState.RETURNED:
        returned = _last(history, Action.RETURN.value)
        unit = returned.data.get("unit") if returned else None
        return QueueItem(
            QueueKind.RETURNED,
            case,
            returned.at if returned else case.created_at,
            suggested_area=case.area,
            reason=returned.text if returned else "",
            units=(unit,) if isinstance(unit, str) else (),
        )
    if case.state is CaseState.EXTENSION_REQUESTED:
        request = _last(history, Action.REQUEST_EXTENSION.value)
        unit = request.data.get("unit") if request else None
        days = request.data.get("days") if request else None
        return QueueItem(
            QueueKind.EXTENSION,
            case,
            request.at if request else case.created_at,
            suggested_area=case.area,
            reason=request.text if request else "",
            units=(unit,) if isinstance(unit, str) else (),
            days=days if isinstance(days, int) else None,
        )
    sent = _last(history, Action.SEND_TO_TRIAGE.value)
    reason = sent.data.get("reason") if sent else None
    return QueueItem(
        QueueKind.TRIAGE,
        case,
        sent.at if sent else case.created_at,
        suggested_area=case.area,
        reason_key=f"triage.reason.{reason}" if isinstance(reason, str) and reason else None,
        candidates=candidates_of(case),
    )


_NAMED_BY_CITIZEN = frozenset({RecusalReason.CHOSEN, RecusalReason.NAMED, RecusalReason.DESCRIPTION})


def candidates_of(case: Case) -> tuple[str, ...]:
    """The units the complaint may be about that the office has yet to decide on (their
    offices and heads follow from them and are not asked about)."""
    return tuple(r.unit_id for r in case.recusals if r.pending and r.reason in _NAMED_BY_CITIZEN)
