"""Liaison use cases (SPEC §3, §5): the unit's inbox, a case card, and acting on a case: sign
for it (签收), answer the citizen (答复), return it as misrouted (退回), add an internal note.
(Extension requests are ``core.services.extensions``.)

Who may do what is decided here, from the data, on every call:
- the user must be an active liaison (``PermissionDenied`` otherwise);
- the case must be one their unit leads or assists on; any other case, existing or not, is
  ``NotFound`` — a liaison of another unit learns nothing from a forged id;
- acting on a case takes a lead unit; an assisting unit sees the card and adds notes only.

Units never learn who complained: every view returned here is redacted (no citizen id, no
Telegram id of the citizen in events or evidence), so a handler cannot leak what it never gets.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum

from core.attachments import Attachment
from core.audit import AuditEntry
from core.cases import Case, CaseEvent, Visibility, WarningColour
from core.clock import Clock
from core.deadlines import CaseDeadlines, DeadlineRules
from core.directory import UnitRole
from core.errors import InvalidTransition, NotFound, PermissionDenied, ValidationFailed
from core.notices import Button, JsonScalar
from core.ports import UnitOfWork, UnitOfWorkFactory
from core.roles import resolve_roles
from core.services.complaints import clean_text
from core.services.follow_up import send_answer
from core.services.workflow import CITIZEN_NOTICES, Who, apply_action, tell_citizen, tell_office, tell_unit
from core.states import Action, Actor, CaseState, allowed_actions

MIN_REPLY = 5
MAX_REPLY = 3000  # the citizen's message adds a header and the question: stay under 4,096
MAX_REASON = 500
MAX_NOTE = 1000
INBOX_PAGE = 8
# A unit's open cases are few (tens, not thousands); the inbox reads up to this many to sort
# them by urgency, which the repository's newest-first order cannot do.
INBOX_SCAN = 500

# What a lead unit still has to act on, and what an assisting unit may want to follow.
LEAD_INBOX_STATES = (CaseState.ASSIGNED, CaseState.SIGNED, CaseState.EXTENSION_REQUESTED)
ASSIST_INBOX_STATES = tuple(s for s in CaseState if s.is_open)

NOTE_EVENT = "note"
REPLY_PENDING_EVENT = "reply_pending"  # REPLY_REVIEW on: the answer waits for the office
REPLY_REFUSED_EVENT = "reply_refused"
REVIEW_APPROVE = "rv:approve:"  # + case id (office)
REVIEW_REFUSE = "rv:refuse:"  # + case id (office)

# Event data keys that could name a person; dropped from every event a unit sees.
_PERSONAL_KEYS = frozenset({"phone", "user_id", "citizen_id", "chat_id", "telegram_id"})
_SEVERITY = {WarningColour.RED: 0, WarningColour.YELLOW: 1, WarningColour.BLUE: 2, WarningColour.NONE: 3}


class LiaisonAction(StrEnum):
    """The buttons of a case card."""

    SIGN = "sign"
    REPLY = "reply"
    EXTENSION = "ext"
    RETURN = "return"
    NOTE = "note"


class NotALiaison(PermissionDenied):
    """The user is no (active) liaison of any unit."""

    key = "liaison.not_liaison"


class LeadUnitOnly(PermissionDenied):
    """An assisting unit tried to act on the case: it may read it and add notes only."""

    key = "liaison.error_lead_only"


class ReplyReviewPending(InvalidTransition):
    key = "liaison.error_no_pending_reply"


@dataclass(frozen=True, slots=True)
class InboxEntry:
    case: Case  # redacted
    role: UnitRole
    colour: WarningColour
    due: date | None  # the deadline running now (sign-for while assigned, else the answer)


@dataclass(frozen=True, slots=True)
class Inbox:
    unit_id: str
    lead: tuple[InboxEntry, ...]
    assist: tuple[InboxEntry, ...]
    page: int
    assist_page: int
    more_lead: bool
    more_assist: bool


@dataclass(frozen=True, slots=True)
class LiaisonCaseView:
    unit_id: str
    case: Case  # redacted
    role: UnitRole
    colour: WarningColour
    history: tuple[CaseEvent, ...]  # internal events included, redacted
    evidence: tuple[Attachment, ...]  # redacted
    actions: tuple[LiaisonAction, ...]
    reply_pending: bool  # an answer waits for the office's review


@dataclass(frozen=True, slots=True)
class Replied:
    case: Case
    pending_review: bool  # True: the office reviews it before the citizen sees it


def redact_case(case: Case) -> Case:
    return replace(case, citizen_id=None, anonymous=True, matched_cues=list(case.matched_cues))


def redact_event(event: CaseEvent) -> CaseEvent:
    data = {k: v for k, v in event.data.items() if k not in _PERSONAL_KEYS}
    ref = None if event.actor is Actor.CITIZEN else event.actor_ref
    return replace(event, actor_ref=ref, data=data)


def redact_attachment(attachment: Attachment) -> Attachment:
    return replace(attachment, added_by=None)


def running_due(case: Case) -> date | None:
    if case.state is CaseState.ASSIGNED:
        return case.sign_due
    if case.state in (CaseState.SIGNED, CaseState.EXTENSION_REQUESTED):
        return case.answer_due
    return None


@dataclass(slots=True)
class LiaisonService:
    uow: UnitOfWorkFactory
    clock: Clock
    deadlines: DeadlineRules
    office_chat_id: int | None = None
    reply_review: bool = False  # settings.REPLY_REVIEW: answers wait for the office
    admin_ids: frozenset[int] = frozenset()

    # -- access --------------------------------------------------------------------------------

    async def _unit_of(self, uow: UnitOfWork, user_id: int) -> str:
        liaison = await uow.liaisons.get_active(user_id)
        if liaison is None:
            raise NotALiaison(role="liaison")
        return liaison.unit_id

    async def _case_for(
        self, uow: UnitOfWork, user_id: int, case_id: int, *, lead: bool, for_update: bool = True
    ) -> tuple[Case, str, UnitRole]:
        """The case if the user's unit is on it; ``lead`` requires a lead unit."""
        unit_id = await self._unit_of(uow, user_id)
        case = await uow.cases.get(case_id, for_update=for_update)
        role = _role(case, unit_id) if case is not None else None
        if case is None or case.id is None or role is None:
            raise NotFound(kind="case")
        if lead and role is not UnitRole.LEAD:
            raise LeadUnitOnly(role="lead_unit")
        return case, unit_id, role

    def _colour(self, case: Case) -> WarningColour:
        if case.sign_due is None or case.answer_due is None:
            return WarningColour.NONE
        today = self.deadlines.local_date(self.clock.now())
        return self.deadlines.case_colour(case.state, CaseDeadlines(case.sign_due, case.answer_due), today)

    def _entry(self, case: Case, role: UnitRole) -> InboxEntry:
        return InboxEntry(redact_case(case), role, self._colour(case), running_due(case))

    # -- reading -------------------------------------------------------------------------------

    async def unit_of(self, user_id: int) -> str:
        """The liaison's unit; ``PermissionDenied`` for anyone else."""
        async with self.uow() as uow:
            return await self._unit_of(uow, user_id)

    async def inbox(
        self, user_id: int, *, page: int = 0, assist_page: int = 0, size: int = INBOX_PAGE
    ) -> Inbox:
        """The unit's open lead cases, most urgent first (overdue, due today, due tomorrow,
        then by deadline), and the open cases it is copied on, newest first."""
        page, assist_page = max(0, page), max(0, assist_page)
        async with self.uow() as uow:
            unit_id = await self._unit_of(uow, user_id)
            lead_cases = await uow.cases.list_for_unit(
                unit_id, states=LEAD_INBOX_STATES, role=UnitRole.LEAD, limit=INBOX_SCAN
            )
            assist_cases = await uow.cases.list_for_unit(
                unit_id,
                states=ASSIST_INBOX_STATES,
                role=UnitRole.ASSIST,
                limit=size + 1,
                offset=assist_page * size,
            )
        # recusal removes a unit from a case's units; this keeps a stray row from showing it
        lead_cases = [c for c in lead_cases if unit_id not in c.may_not_see()]
        assist_cases = [c for c in assist_cases if unit_id not in c.may_not_see()]
        lead = sorted(
            (self._entry(c, UnitRole.LEAD) for c in lead_cases),
            key=lambda e: (_SEVERITY[e.colour], e.due or date.max, e.case.id or 0),
        )
        start = page * size
        return Inbox(
            unit_id=unit_id,
            lead=tuple(lead[start : start + size]),
            assist=tuple(self._entry(c, UnitRole.ASSIST) for c in assist_cases[:size]),
            page=page,
            assist_page=assist_page,
            more_lead=len(lead) > start + size,
            more_assist=len(assist_cases) > size,
        )

    async def view(self, user_id: int, case_id: int) -> LiaisonCaseView:
        """The case card: everything the unit needs, the internal history included, and the
        actions open to this unit now; never who complained."""
        async with self.uow() as uow:
            case, unit_id, role = await self._case_for(uow, user_id, case_id, lead=False, for_update=False)
            assert case.id is not None
            history = await uow.events.list(case.id, include_internal=True)
            evidence = await uow.attachments.list_for_case(case.id)
        return LiaisonCaseView(
            unit_id=unit_id,
            case=redact_case(case),
            role=role,
            colour=self._colour(case),
            history=tuple(redact_event(e) for e in history),
            evidence=tuple(redact_attachment(a) for a in evidence),
            actions=self._actions(case, role, history),
            reply_pending=_pending_reply(history) is not None,
        )

    def _actions(self, case: Case, role: UnitRole, history: list[CaseEvent]) -> tuple[LiaisonAction, ...]:
        if case.state is CaseState.DRAFT:
            return ()
        if role is UnitRole.ASSIST:
            return (LiaisonAction.NOTE,)
        allowed = set(allowed_actions(case.state, Actor.LIAISON))
        out: list[LiaisonAction] = []
        if Action.SIGN in allowed:
            out.append(LiaisonAction.SIGN)
        if Action.ANSWER in allowed:
            out.append(LiaisonAction.REPLY)
        if Action.REQUEST_EXTENSION in allowed and self._may_extend(case, history):
            out.append(LiaisonAction.EXTENSION)
        if Action.RETURN in allowed:
            out.append(LiaisonAction.RETURN)
        out.append(LiaisonAction.NOTE)
        return tuple(out)

    def _may_extend(self, case: Case, history: list[CaseEvent]) -> bool:
        # mirrors ExtensionService.request, which decides for real: one request per case
        if case.answer_due is None or any(e.kind == Action.REQUEST_EXTENSION.value for e in history):
            return False
        today = self.deadlines.local_date(self.clock.now())
        return self.deadlines.may_request_extension(case.answer_due, today, extended=case.extended)

    async def evidence(self, user_id: int, case_id: int) -> tuple[Attachment, ...]:
        """The case's evidence files, for a unit on the case (lead or assist)."""
        return (await self.view(user_id, case_id)).evidence

    # -- acting --------------------------------------------------------------------------------

    async def sign(self, user_id: int, case_id: int) -> Case:
        """签收: the unit takes the case on; the citizen is told who handles it and by when."""
        now = self.clock.now()
        async with self.uow() as uow:
            case, unit_id, _ = await self._case_for(uow, user_id, case_id, lead=True)
            assert case.id is not None
            case.signed_at = now
            await apply_action(
                uow, case, Action.SIGN, Who.user(Actor.LIAISON, user_id), now, data={"unit": unit_id}
            )
            key = CITIZEN_NOTICES[Action.SIGN]
            assert key is not None
            await tell_citizen(
                uow,
                case,
                key,
                now,
                dedup_key=f"signed:{case.id}:{int(now.timestamp())}",
                params={
                    "lead_units": [unit_id],
                    "answer_due_date": case.answer_due.isoformat() if case.answer_due else None,
                },
            )
            await uow.commit()
        return redact_case(case)

    async def reply(self, user_id: int, case_id: int, text: str) -> Replied:
        """答复: the unit's answer to the citizen. It reaches the citizen at once with the
        follow-up question, or, when the office reviews replies (REPLY_REVIEW), waits as an
        internal ``reply_pending`` event until the office approves it."""
        text = clean_text(text, limit=MAX_REPLY)
        if len(text) < MIN_REPLY:
            raise ValidationFailed(field="reply", reason="too_short", min=MIN_REPLY)
        now = self.clock.now()
        async with self.uow() as uow:
            case, unit_id, _ = await self._case_for(uow, user_id, case_id, lead=True)
            assert case.id is not None
            if Action.ANSWER not in allowed_actions(case.state, Actor.LIAISON):
                raise InvalidTransition(state=case.state.value, action=Action.ANSWER.value)
            who = Who.user(Actor.LIAISON, user_id)
            if self.reply_review:
                await uow.events.add(
                    CaseEvent(
                        case.id, now, who.actor, who.ref, REPLY_PENDING_EVENT, Visibility.INTERNAL,
                        text=text, data={"unit": unit_id},
                    )
                )  # fmt: skip
                await tell_office(
                    uow,
                    self.office_chat_id,
                    "liaison.office_reply_pending",
                    now,
                    params={"tracking_no": case.tracking_no, "replying_units": [unit_id], "answer": text},
                    buttons=(
                        (
                            Button("liaison.button_review_approve", f"{REVIEW_APPROVE}{case.id}"),
                            Button("liaison.button_review_refuse", f"{REVIEW_REFUSE}{case.id}"),
                        ),
                    ),
                )
                await uow.commit()
                return Replied(redact_case(case), pending_review=True)
            await self._answer(uow, case, who, unit_id, text, now)
            await uow.commit()
        return Replied(redact_case(case), pending_review=False)

    async def _answer(
        self, uow: UnitOfWork, case: Case, who: Who, unit_id: str, text: str, now: datetime
    ) -> None:
        # a new answer asks the follow-up question afresh (a reopened case is answered again)
        case.answered_at, case.satisfaction, case.satisfaction_comment = now, None, ""
        event = await apply_action(uow, case, Action.ANSWER, who, now, text=text, data={"unit": unit_id})
        await send_answer(uow, case, text, now, event_id=event.id)

    async def review_reply(self, office_user_id: int, case_id: int, approve: bool) -> Case:
        """The office's decision on a reply waiting for review (REPLY_REVIEW on): approved, it
        goes to the citizen as the unit's answer; sent back, the unit is told to revise it."""
        now = self.clock.now()
        async with self.uow() as uow:
            roles = await resolve_roles(uow, office_user_id, self.admin_ids)
            roles.require_office()
            case = await uow.cases.get(case_id, for_update=True)
            if case is None or case.id is None:
                raise NotFound(kind="case")
            history = await uow.events.list(case.id, include_internal=True)
            pending = _pending_reply(history)
            if pending is None or Action.ANSWER not in allowed_actions(case.state, Actor.LIAISON):
                raise ReplyReviewPending()
            unit_id = str(pending.data.get("unit", ""))
            if approve:
                who = Who(Actor.LIAISON, pending.actor_ref)
                await self._answer(uow, case, who, unit_id, pending.text, now)
            else:
                office = Who.user(Actor.OFFICE, office_user_id)
                await uow.events.add(
                    CaseEvent(
                        case.id, now, office.actor, office.ref, REPLY_REFUSED_EVENT, Visibility.INTERNAL
                    )
                )
                for lead in case.lead_unit_ids:
                    await tell_unit(
                        uow,
                        lead,
                        "liaison.reply_sent_back",
                        now,
                        dedup_key=f"reply-refused:{case.id}:{pending.id}:{lead}",
                        params={"tracking_no": case.tracking_no},
                    )
            action = "reply.approve" if approve else "reply.refuse"
            await uow.audit.add(AuditEntry(office_user_id, now, action, case.tracking_no))
            await uow.commit()
        return case

    async def return_case(self, user_id: int, case_id: int, reason: str) -> Case:
        """退回: the unit says the case is not theirs. The office is told why and re-routes it
        from its triage queue (returned cases are listed there); the citizen is not told of
        the internal shuffle, only of the new routing later."""
        reason = clean_text(reason, limit=MAX_REASON)
        if not reason:
            raise ValidationFailed(field="reason", reason="empty")
        now = self.clock.now()
        async with self.uow() as uow:
            case, unit_id, _ = await self._case_for(uow, user_id, case_id, lead=True)
            assert case.id is not None
            await apply_action(
                uow,
                case,
                Action.RETURN,
                Who.user(Actor.LIAISON, user_id),
                now,
                text=reason,
                data={"unit": unit_id},
            )
            params: dict[str, JsonScalar | list[str]] = {
                "tracking_no": case.tracking_no,
                "case_area": case.area,
                "returning_units": [unit_id],
                "reason": reason,
            }
            await tell_office(uow, self.office_chat_id, "liaison.office_returned", now, params=params)
            await uow.commit()
        return redact_case(case)

    async def add_note(self, user_id: int, case_id: int, text: str) -> CaseEvent:
        """An internal note (lead or assisting unit); the citizen never sees it."""
        text = clean_text(text, limit=MAX_NOTE)
        if not text:
            raise ValidationFailed(field="note", reason="empty")
        now = self.clock.now()
        async with self.uow() as uow:
            case, unit_id, role = await self._case_for(uow, user_id, case_id, lead=False)
            assert case.id is not None
            if case.state is CaseState.DRAFT:
                raise NotFound(kind="case")
            event = await uow.events.add(
                CaseEvent(
                    case.id, now, Actor.LIAISON, str(user_id), NOTE_EVENT, Visibility.INTERNAL,
                    text=text, data={"unit": unit_id, "role": role.value},
                )
            )  # fmt: skip
            await uow.commit()
        return redact_event(event)


def _role(case: Case, unit_id: str) -> UnitRole | None:
    # a recused unit never reaches the case, whatever lists it is on (SPEC §3)
    if case.state is CaseState.DRAFT or unit_id in case.may_not_see():
        return None
    if unit_id in case.lead_unit_ids:
        return UnitRole.LEAD
    if unit_id in case.assist_unit_ids:
        return UnitRole.ASSIST
    return None


def _pending_reply(history: list[CaseEvent]) -> CaseEvent | None:
    """The latest reply waiting for review, if no answer or refusal came after it."""
    pending: CaseEvent | None = None
    for event in history:
        if event.kind == REPLY_PENDING_EVENT:
            pending = event
        elif event.kind in (Action.ANSWER.value, REPLY_REFUSED_EVENT):
            pending = None
    return pending
