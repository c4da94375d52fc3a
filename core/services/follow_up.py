"""回访 (SPEC §3): the citizen rates the answer 满意 / 基本满意 / 不满意, may add a comment, and
when unsatisfied may ask for the case to be reopened, which the office decides.

The rating belongs to the current answer: it closes the case when the citizen is (basically)
satisfied; "unsatisfied" is recorded and the case stays answered until the office decides on a
reopen request (or closes it). A reopened case is routed again to its lead units with fresh
deadlines, and its next answer asks the question again (``LiaisonService.reply`` clears the
previous rating; the history keeps every rating as a ``follow_up`` or ``close`` event).

Only the case's own citizen can rate it: a case that is not theirs is reported exactly like one
that does not exist, so forged callback data learns nothing. The 3-day "no response" timeout is
the periodic pass's (``core.services.periodic``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from core.audit import AuditEntry
from core.cases import Case, CaseEvent, Satisfaction, Visibility
from core.clock import Clock
from core.deadlines import DeadlineRules
from core.errors import ActionNotAllowed, NotFound, ValidationFailed
from core.notices import Button, JsonScalar
from core.plan import Plan, UnknownPlanId
from core.ports import UnitOfWork, UnitOfWorkFactory
from core.roles import resolve_roles
from core.services.complaints import clean_text
from core.services.workflow import CITIZEN_NOTICES, Who, apply_action, tell_citizen, tell_office, tell_unit
from core.states import Action, Actor, CaseState

CALLBACK_PREFIX = "fu:"  # fu:<case id>:<choice>
REOPEN_APPROVE = "ro:approve:"  # + case id (office)
REOPEN_REFUSE = "ro:refuse:"  # + case id (office)
RATINGS = (Satisfaction.SATISFIED, Satisfaction.BASICALLY, Satisfaction.UNSATISFIED)
CLOSING = frozenset({Satisfaction.SATISFIED, Satisfaction.BASICALLY})
MAX_COMMENT = 500

# Case event kinds written here (besides the ``close`` and ``reopen`` transitions).
RATED_EVENT = "follow_up"  # an "unsatisfied" rating (a closing rating is in the close event)
COMMENT_EVENT = "follow_up_comment"
REOPEN_REQUESTED_EVENT = "reopen_requested"
REOPEN_REFUSED_EVENT = "reopen_refused"


class FollowUpDone(ActionNotAllowed):
    """The case is not waiting for this citizen's rating (rated already, or closed)."""

    key = "follow_up.error_done"


class ReopenNotPossible(ActionNotAllowed):
    """A reopen is asked for only after an "unsatisfied" rating, once per answer."""

    key = "follow_up.error_reopen"


class NoReopenRequest(ActionNotAllowed):
    """The office pressed a stale button: the request was decided already."""

    key = "follow_up.error_no_request"


@dataclass(frozen=True, slots=True)
class Rated:
    case: Case
    closed: bool  # satisfied / basically: the case is closed now


def follow_up_buttons(case_id: int) -> tuple[tuple[Button, ...], ...]:
    return (
        tuple(
            Button(f"follow_up.button_{s.value}", f"{CALLBACK_PREFIX}{case_id}:{s.value}") for s in RATINGS
        ),
    )


async def send_answer(
    uow: UnitOfWork, case: Case, answer: str, now: datetime, *, event_id: int | None
) -> bool:
    """Queue the unit's answer to the citizen together with the follow-up question, in the
    same transaction as the answer itself. One message per answer event."""
    assert case.id is not None
    return await tell_citizen(
        uow,
        case,
        "follow_up.answered",
        now,
        buttons=follow_up_buttons(case.id),
        dedup_key=f"answer:{case.id}:{event_id}",
        params={"answer": answer, "lead_units": list(case.lead_unit_ids)},
    )


@dataclass(slots=True)
class FollowUpService:
    uow: UnitOfWorkFactory
    plan: Plan
    clock: Clock
    deadlines: DeadlineRules
    admin_ids: frozenset[int] = frozenset()
    office_chat_id: int | None = None

    async def _own_case(self, uow: UnitOfWork, user_id: int, case_id: int) -> Case:
        citizen = await uow.citizens.get_by_user(user_id)
        case = await uow.cases.get(case_id, for_update=True)
        if citizen is None or case is None or case.id is None or case.citizen_id != citizen.id:
            raise NotFound(kind="case")
        return case

    async def rate(self, user_id: int, case_id: int, satisfaction: Satisfaction) -> Rated:
        """Record the citizen's rating of the current answer; a (basically) satisfied citizen
        closes the case."""
        if satisfaction not in RATINGS:
            raise ValidationFailed(field="satisfaction", value=satisfaction.value)
        now = self.clock.now()
        async with self.uow() as uow:
            case = await self._own_case(uow, user_id, case_id)
            assert case.id is not None
            if case.state is not CaseState.ANSWERED or case.satisfaction is not None:
                raise FollowUpDone()
            case.satisfaction = satisfaction
            citizen = Who.user(Actor.CITIZEN, user_id)
            data: dict[str, object] = {"satisfaction": satisfaction.value}
            closed = satisfaction in CLOSING
            if closed:
                case.closed_at = now
                await apply_action(uow, case, Action.CLOSE, citizen, now, data=data)
            else:
                await uow.cases.update(case)
                await uow.events.add(
                    CaseEvent(
                        case.id, now, Actor.CITIZEN, citizen.ref, RATED_EVENT, Visibility.PUBLIC, data=data
                    )
                )
            for unit_id in case.lead_unit_ids:
                await tell_unit(
                    uow,
                    unit_id,
                    "follow_up.unit_rated",
                    now,
                    dedup_key=f"rated:{case.id}:{_answer_stamp(case)}:{unit_id}",
                    params={
                        "tracking_no": case.tracking_no,
                        "level_key": f"follow_up.level_{satisfaction.value}",
                    },
                )
            await uow.commit()
        return Rated(case, closed)

    async def comment(self, user_id: int, case_id: int, text: str) -> Case:
        """The optional comment that goes with a rating; it joins the case history (the units
        see it, never who wrote it)."""
        text = clean_text(text, limit=MAX_COMMENT)
        if not text:
            raise ValidationFailed(field="comment", reason="empty")
        now = self.clock.now()
        async with self.uow() as uow:
            case = await self._own_case(uow, user_id, case_id)
            assert case.id is not None
            if case.satisfaction not in RATINGS or case.satisfaction_comment:
                raise FollowUpDone()
            case.satisfaction_comment = text
            await uow.cases.update(case)
            who = Who.user(Actor.CITIZEN, user_id)
            await uow.events.add(
                CaseEvent(case.id, now, Actor.CITIZEN, who.ref, COMMENT_EVENT, Visibility.PUBLIC, text=text)
            )
            await uow.commit()
        return case

    async def request_reopen(self, user_id: int, case_id: int) -> Case:
        """An unsatisfied citizen asks for the case to be handled again; the office chat gets
        the request with approve/refuse buttons. Once per answer."""
        now = self.clock.now()
        async with self.uow() as uow:
            case = await self._own_case(uow, user_id, case_id)
            assert case.id is not None
            if case.state is not CaseState.ANSWERED or case.satisfaction is not Satisfaction.UNSATISFIED:
                raise ReopenNotPossible()
            history = await uow.events.list(case.id, include_internal=True)
            answer = _last(history, Action.ANSWER.value)
            if _after(history, answer, REOPEN_REQUESTED_EVENT) is not None:
                raise ReopenNotPossible()
            who = Who.user(Actor.CITIZEN, user_id)
            await uow.events.add(
                CaseEvent(case.id, now, Actor.CITIZEN, who.ref, REOPEN_REQUESTED_EVENT, Visibility.PUBLIC)
            )
            params: dict[str, JsonScalar | list[str]] = {
                "tracking_no": case.tracking_no,
                "case_area": case.area,
                "lead_units": list(case.lead_unit_ids),
                "answer": answer.text if answer is not None else "",
                "comment": case.satisfaction_comment,
            }
            await tell_office(
                uow,
                self.office_chat_id,
                "follow_up.office_reopen_request",
                now,
                dedup_key=f"reopen-request:{case.id}:{answer.id if answer else 0}",
                params=params,
                buttons=(
                    (
                        Button("follow_up.button_reopen_approve", f"{REOPEN_APPROVE}{case.id}"),
                        Button("follow_up.button_reopen_refuse", f"{REOPEN_REFUSE}{case.id}"),
                    ),
                ),
            )
            await uow.commit()
        return case

    async def reopen_decision(self, office_user_id: int, case_id: int, approve: bool) -> Case:
        """The office decides a reopen request. Approved: the case is reopened and routed again
        to its lead units with fresh deadlines (or to triage when it has none). Refused: the
        case is closed and the citizen told. Audited either way."""
        now = self.clock.now()
        async with self.uow() as uow:
            roles = await resolve_roles(uow, office_user_id, self.admin_ids)
            roles.require_office()
            case = await uow.cases.get(case_id, for_update=True)
            if case is None or case.id is None:
                raise NotFound(kind="case")
            history = await uow.events.list(case.id, include_internal=True)
            request = _after(history, _last(history, Action.ANSWER.value), REOPEN_REQUESTED_EVENT)
            if case.state is not CaseState.ANSWERED or request is None:
                raise NoReopenRequest()
            office = Who.user(Actor.OFFICE, office_user_id)
            if approve:
                await apply_action(uow, case, Action.REOPEN, office, now)
                await self._route_again(uow, case, now)
                key = CITIZEN_NOTICES[Action.REOPEN]
                assert key is not None
                await tell_citizen(uow, case, key, now, dedup_key=f"reopened:{case.id}:{request.id}")
            else:
                await uow.events.add(
                    CaseEvent(
                        case.id, now, Actor.OFFICE, office.ref, REOPEN_REFUSED_EVENT, Visibility.INTERNAL
                    )
                )
                case.closed_at = now
                await apply_action(uow, case, Action.CLOSE, office, now, data={"reopen": "refused"})
                await tell_citizen(
                    uow,
                    case,
                    "follow_up.reopen_refused",
                    now,
                    dedup_key=f"reopen-refused:{case.id}:{request.id}",
                )
            action = "reopen.approve" if approve else "reopen.refuse"
            await uow.audit.add(AuditEntry(office_user_id, now, action, case.tracking_no))
            await uow.commit()
        return case

    async def _route_again(self, uow: UnitOfWork, case: Case, now: datetime) -> None:
        assert case.id is not None
        system = Who.system()
        try:
            area = self.plan.area(case.area) if case.area else None
        except UnknownPlanId:
            area = None
        if area is None or not case.lead_unit_ids:
            await apply_action(uow, case, Action.SEND_TO_TRIAGE, system, now, data={"reason": "reopened"})
            await tell_office(
                uow,
                self.office_chat_id,
                "notify.office.triage",
                now,
                params={"tracking_no": case.tracking_no, "reason_key": "follow_up.triage_reason"},
            )
            return
        deadlines = self.deadlines.for_assignment(
            now, sign_for=area.deadlines.sign_for, answer=area.deadlines.answer
        )
        case.assigned_at = now
        case.sign_due, case.answer_due = deadlines.sign_due, deadlines.answer_due
        case.signed_at = None
        data: dict[str, object] = {"lead": list(case.lead_unit_ids), "assist": list(case.assist_unit_ids)}
        event = await apply_action(uow, case, Action.ROUTE, system, now, data=data)
        params: dict[str, JsonScalar | list[str]] = {
            "tracking_no": case.tracking_no,
            "case_area": area.id,
            "sign_due_date": deadlines.sign_due.isoformat(),
            "answer_due_date": deadlines.answer_due.isoformat(),
        }
        for unit_id in case.lead_unit_ids:
            await tell_unit(
                uow, unit_id, "follow_up.unit_reopened", now, dedup_key=f"reopen:{event.id}", params=params
            )


def _answer_stamp(case: Case) -> str:
    """Tells one answer of a case from the next (a reopened case is answered again)."""
    return str(int(case.answered_at.timestamp())) if case.answered_at else "0"


def _last(history: list[CaseEvent], kind: str) -> CaseEvent | None:
    found = [e for e in history if e.kind == kind]
    return found[-1] if found else None


def _after(history: list[CaseEvent], anchor: CaseEvent | None, kind: str) -> CaseEvent | None:
    """The latest ``kind`` event after ``anchor`` (the whole history when None), unless a
    reopen decision came after it."""
    started = anchor is None
    found: CaseEvent | None = None
    for event in history:
        if not started:
            started = event.id == anchor.id if anchor is not None else True
            continue
        if event.kind == kind:
            found = event
        elif event.kind in (REOPEN_REFUSED_EVENT, Action.REOPEN.value):
            found = None
    return found
