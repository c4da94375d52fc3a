"""Citizen use cases (SPEC §4): file a complaint, list one's cases, view one case.

A citizen only ever reaches their own cases: every lookup is by (citizen, case), and a case
that is not theirs is reported exactly like one that does not exist, so forged ids learn nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time

from core.api_keys import ApiAccount
from core.attachments import Attachment, AttachmentKind
from core.cases import NEW_CASE, Case, CaseEvent, Source
from core.clock import Clock
from core.confidence_triage import low_confidence_needs_triage
from core.deadlines import DeadlineRules
from core.errors import NotFound, RateLimited, ValidationFailed
from core.notices import JsonScalar
from core.outbox import OutboxMessage
from core.plan import Area, Plan
from core.ports import UnitOfWork, UnitOfWorkFactory
from core.recusal import TargetFinding, find_targets
from core.routing import Routing, TriageReason, route, route_in_campaign
from core.services.workflow import (
    Move,
    Who,
    case_card,
    first_routing_tag,
    move,
    recusal_records,
    roster_for,
    route_in_memory,
    tell_assigned_units,
    tell_campaign_office,
    tell_office,
)
from core.states import Action, Actor, CaseState
from core.text import clean_text  # the character policy; imported from here too
from core.tracking import format_tracking_no

# Limits told to the citizen up front (SPEC §4.1, §10). Telegram bots can download files of
# at most 20 MB, so larger evidence could never be looked at.
MAX_DESCRIPTION = 2000
MIN_DESCRIPTION = 5
MAX_FIELD = 200
MAX_EVIDENCE = 10
MAX_FILE_BYTES = 20 * 1024 * 1024
ALLOWED_DOCUMENT_TYPES = frozenset(
    {
        "application/pdf",
        "image/jpeg",
        "image/png",
        "image/webp",
        "image/heic",
        "application/msword",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.ms-excel",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "text/plain",
        "audio/ogg",
        "audio/mpeg",
        "audio/mp4",
        "video/mp4",
    }
)


@dataclass(frozen=True, slots=True)
class Evidence:
    file_id: str
    file_unique_id: str
    kind: AttachmentKind
    mime: str | None = None
    size: int | None = None
    file_name: str | None = None


def check_evidence(item: Evidence) -> None:
    """Raise ``ValidationFailed`` for a file we will not keep (too big, unexpected type)."""
    if item.size is not None and item.size > MAX_FILE_BYTES:
        raise ValidationFailed(field="evidence", reason="too_big", limit_mb=MAX_FILE_BYTES // (1024 * 1024))
    if item.kind is AttachmentKind.DOCUMENT and item.mime not in ALLOWED_DOCUMENT_TYPES:
        raise ValidationFailed(field="evidence", reason="type", mime=item.mime or "?")


@dataclass(frozen=True, slots=True)
class ComplaintDraft:
    """What the dialog collected. ``area`` is the citizen's final choice (None: not sure)."""

    description: str
    area: str | None
    area_auto: str | None = None
    confidence: float | None = None
    margin: float | None = None  # the classifier's best share minus the runner-up's
    cues: tuple[str, ...] = ()
    target_text: str = ""
    target_unit_id: str | None = None
    place: str = ""
    occurred: str = ""
    evidence: tuple[Evidence, ...] = ()
    anonymous: bool = True
    phone: str | None = None
    # one per confirm press (the dialog's draft id): the same key files the same case once
    submission_key: str | None = None


@dataclass(frozen=True, slots=True)
class Filed:
    case: Case
    routing: Routing
    again: bool = False  # the same submission came twice: this is the case it filed the first time


@dataclass(frozen=True, slots=True)
class CitizenCaseView:
    case: Case
    history: tuple[CaseEvent, ...]
    evidence_count: int


@dataclass(slots=True)
class ComplaintService:
    uow: UnitOfWorkFactory
    plan: Plan
    clock: Clock
    deadlines: DeadlineRules
    daily_limit: int = 5
    office_chat_id: int | None = None
    _areas: dict[str, Area] = field(init=False)

    def __post_init__(self) -> None:
        self._areas = {a.id: a for a in self.plan.areas}

    def _start_of_day(self, now: datetime) -> datetime:
        local = now.astimezone(self.clock.tz)
        return datetime.combine(local.date(), time.min, tzinfo=self.clock.tz)

    async def remaining_today(self, user_id: int) -> int:
        """How many more cases the user may file today (the per-user daily limit)."""
        now = self.clock.now()
        async with self.uow() as uow:
            used = await uow.cases.count_for_user_since(user_id, self._start_of_day(now))
        return max(0, self.daily_limit - used)

    async def file(
        self,
        user_id: int | None,
        draft: ComplaintDraft,
        *,
        account: ApiAccount | None = None,
        user_recorded: bool = False,
    ) -> Filed:
        """Commit the complaint: tracking number, routing, deadlines, history, evidence, and the
        notices to the units (or the office for triage), all in one transaction.

        The complainant is the Telegram user ``user_id``, or (``user_id`` None) ``account``: a
        key holder's account through the Open311 API, which is counted by the daily limit the
        same way and has no Telegram chat to be told anything in (``tell_citizen`` skips it).

        ``user_recorded``: the caller has stored the Telegram user and their private chat
        already (the complaint dialog does at its entry, ``bot.language.remember_user``), so
        the filing skips that statement; user rows are never deleted (erasure masks the
        citizen, core.services.retention), so the row is still there when the dialog ends."""
        if (user_id is None) == (account is None):
            raise ValueError("file for a Telegram user or for an API account, exactly one")
        description = clean_text(draft.description, limit=MAX_DESCRIPTION)
        if len(description) < MIN_DESCRIPTION:
            raise ValidationFailed(field="description", reason="too_short")
        if draft.area is not None and draft.area not in self._areas:
            raise ValidationFailed(field="area", reason="unknown")
        if len(draft.evidence) > MAX_EVIDENCE:
            raise ValidationFailed(field="evidence", reason="too_many", limit=MAX_EVIDENCE)
        for item in draft.evidence:
            check_evidence(item)
        target_unit_id = draft.target_unit_id
        if target_unit_id is not None:
            self.plan.unit(target_unit_id)  # raises for an id the plan does not know

        filer = str(user_id) if account is None else f"api:{account.api_key_id}:{account.external_id}"
        key = f"{filer}:{draft.submission_key}" if draft.submission_key else None
        finding = find_targets(
            self.plan, chosen_unit_id=target_unit_id, target_text=draft.target_text, description=description
        )
        if target_unit_id is None:
            target_unit_id = finding.target_unit_id

        area = self._areas.get(draft.area) if draft.area else None
        phone = clean_text(draft.phone, limit=32) if not draft.anonymous and draft.phone else None
        now = self.clock.now()
        async with self.uow() as uow:
            # an API account's citizen first; a Telegram user's is found or made by the case's
            # own statement (add_within_limit's ``citizen``)
            citizen_id: int | None = None
            new_citizen: tuple[int, str | None] | None = None
            if account is not None:
                citizen_id = (await uow.citizens.get_or_create_account(account, now=now)).id
                assert citizen_id is not None
                # an API filing's history names the key it came through, never the person
                citizen_who = Who(Actor.CITIZEN, f"api:{account.api_key_id}")
            else:
                assert user_id is not None
                if not user_recorded:
                    await uow.users.upsert(user_id, now=now, chat_id=user_id)
                new_citizen = (user_id, phone)
                citizen_who = Who.user(Actor.CITIZEN, user_id)
            year = now.astimezone(self.clock.tz).year
            number = await uow.counters.next(self.plan.campaign.case_prefix, year)
            case = Case(
                tracking_no=format_tracking_no(self.plan.campaign.case_prefix, year, number),
                state=CaseState.DRAFT,
                source=Source.CITIZEN,
                description=description,
                created_at=now,
                area_auto=draft.area_auto,
                area_final=draft.area,
                confidence=draft.confidence,
                matched_cues=list(draft.cues),
                citizen_id=citizen_id,
                anonymous=draft.anonymous,
                target_unit_id=target_unit_id,
                target_text=clean_text(draft.target_text, limit=MAX_FIELD),
                place=clean_text(draft.place, limit=MAX_FIELD),
                occurred=clean_text(draft.occurred, limit=MAX_FIELD),
                recusals=list(finding.recusals),
                submission_key=key,
            )
            # The case is built in its final state (submitted, then routed or sent to triage)
            # and stored once, its history and notices in one batch each: a filing is a handful
            # of statements however many units it reaches.
            routing = route(area, case.may_not_lead(), case.may_not_see(), target_unclear=case.target_pending)
            # a complaint about a street's or township's unit is its own campaign's case
            case.campaign, routing = route_in_campaign(
                self.plan.sub_campaigns,
                case.target_unit_id,
                area.id if area else None,
                routing,
                case.may_not_lead() | case.may_not_see(),
            )
            if not routing.needs_triage and self._low_confidence(draft):
                routing = Routing((), (), TriageReason.LOW_CONFIDENCE)
            submitted = move(case, Action.SUBMIT, citizen_who, data={"evidence": len(draft.evidence)})
            dispatched, card = self._dispatch(case, area, routing, now, finding)
            recusal_events, audit_entries = recusal_records(
                case, case.recusals, Who.system(), now, case_id=NEW_CASE
            )
            history = [submitted.event(NEW_CASE, now), *recusal_events, dispatched.event(NEW_CASE, now)]
            # The guards (a second press of the same confirm, the daily limit) are checked by
            # the insert itself; the tracking number it took goes back with the rollback. The
            # history and the audit entries are stored with the case (one statement on
            # PostgreSQL).
            since = self._start_of_day(now)
            stored = await uow.cases.add_within_limit(
                case,
                since=since,
                limit=self.daily_limit,
                history=history,
                audit=audit_entries,
                citizen=new_citizen,
            )
            if not stored:
                earlier = await uow.cases.get_by_submission_key(key) if key is not None else None
                if earlier is not None and earlier.citizen_id == case.citizen_id:
                    return Filed(earlier, _routing_of(earlier), again=True)
                # (a key is the user's id and the dialog's draft id: nobody else's case has it)
                raise RateLimited(limit=self.daily_limit)
            assert case.id is not None
            for item in draft.evidence:
                await uow.attachments.add(
                    Attachment(
                        file_id=item.file_id,
                        file_unique_id=item.file_unique_id,
                        kind=item.kind,
                        at=now,
                        case_id=case.id,
                        mime=item.mime,
                        size=item.size,
                        file_name=item.file_name,
                        added_by=user_id,
                    )
                )
            await uow.outbox.add_many(await self._notices(uow, case, routing, card, now))
            await uow.commit()
        return Filed(case, routing)

    def _low_confidence(self, draft: ComplaintDraft) -> bool:
        """The classifier was unsure and the citizen's pick does not settle it (see
        ``core.confidence_triage``): the office triages the case first."""
        return low_confidence_needs_triage(
            picked=draft.area,
            area_auto=draft.area_auto,
            confidence=draft.confidence,
            margin=draft.margin,
            threshold=self.plan.classifier.threshold,
            min_margin=self.plan.classifier.min_margin,
        )

    def _dispatch(
        self, case: Case, area: Area | None, routing: Routing, now: datetime, finding: TargetFinding
    ) -> tuple[Move, dict[str, JsonScalar | list[str]] | None]:
        """Route to the lead units, or hand the case to the office's triage queue (in memory);
        returns the transition and, when routed, the card for the units."""
        system = Who.system()
        if routing.needs_triage or area is None:
            # nobody is copied before the office has decided who leads
            case.lead_unit_ids, case.assist_unit_ids = [], []
            data: dict[str, object] = {"reason": str(routing.triage)}
            if finding.candidates:
                data["candidates"] = list(finding.candidates)
            return move(case, Action.SEND_TO_TRIAGE, system, data=data), None
        step, due = route_in_memory(
            case,
            area,
            routing.lead_unit_ids,
            routing.assist_unit_ids,
            now,
            deadlines=self.deadlines,
            who=system,
        )
        return step, case_card(case, area, case.lead_unit_ids, due)

    async def _notices(
        self,
        uow: UnitOfWork,
        case: Case,
        routing: Routing,
        card: dict[str, JsonScalar | list[str]] | None,
        now: datetime,
    ) -> list[OutboxMessage]:
        """The case card to every liaison of its units (their liaisons read in one query), or
        the office's triage notice."""
        notices: list[OutboxMessage] = []
        if card is None:
            params: dict[str, JsonScalar | list[str]] = {
                "tracking_no": case.tracking_no,
                "reason_key": f"triage.reason.{routing.triage}",
            }
            await tell_office(
                uow, self.office_chat_id, "notify.office.triage", now, params=params, sink=notices
            )
            # a street's case waits for its own office too, which has no group chat
            await tell_campaign_office(
                uow, case.campaign, "notify.office.triage", now, params=params, sink=notices
            )
            return notices
        roster = await roster_for(uow, [*case.lead_unit_ids, *case.assist_unit_ids])
        await tell_assigned_units(
            uow,
            case.lead_unit_ids,
            case.assist_unit_ids,
            card,
            first_routing_tag(case),
            now,
            roster=roster,
            sink=notices,
        )
        return notices

    async def my_cases(self, user_id: int, *, limit: int = 20, offset: int = 0) -> list[Case]:
        async with self.uow() as uow:
            citizen = await uow.citizens.get_by_user(user_id)
            if citizen is None or citizen.id is None:
                return []
            return await uow.cases.list_for_citizen(citizen.id, limit=limit, offset=offset)

    async def view(self, user_id: int, case_id: int) -> CitizenCaseView:
        """The citizen's view of their own case: the case and its public history only."""
        async with self.uow() as uow:
            citizen = await uow.citizens.get_by_user(user_id)
            case = await uow.cases.get(case_id)
            if citizen is None or case is None or case.citizen_id != citizen.id:
                raise NotFound(kind="case")
            history = await uow.events.list(case_id, include_internal=False)
            evidence = await uow.attachments.list_for_case(case_id)
        return CitizenCaseView(case, tuple(history), len(evidence))

    async def find_own(self, user_id: int, tracking_no: str) -> CitizenCaseView:
        """Look a case up by tracking number, again only among the citizen's own."""
        async with self.uow() as uow:
            case = await uow.cases.get_by_tracking_no(tracking_no)
        if case is None or case.id is None:
            raise NotFound(kind="case")
        return await self.view(user_id, case.id)


def _routing_of(case: Case) -> Routing:
    """The routing a filed case got, read back from it (for a submission that came twice)."""
    if case.lead_unit_ids:
        return Routing(tuple(case.lead_unit_ids), tuple(case.assist_unit_ids))
    reason = TriageReason.TARGET_UNCLEAR if case.target_pending else TriageReason.NOT_SURE
    if case.area is not None and not case.target_pending:
        reason = TriageReason.TARGET_IS_LEAD
    return Routing((), (), reason)
