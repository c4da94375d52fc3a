"""Extensions of the answer deadline (SPEC §3): a lead unit asks, the office decides.

One extension per case, asked for no later than the due day, of at most the area's extension
length in working days. **A refused request uses up the one chance too**: the rule is "one
extension request per case", so a unit cannot wear the office down by asking again and again;
if circumstances really change, the office can still talk to the unit outside this flow.

Role checks (is this user an office member?) belong to the caller (the bot knows the config
admins); this service checks what only the data can tell: that a liaison belongs to a lead unit
of the case. A case that is not the liaison's unit's is reported exactly like one that does not
exist, so forged ids learn nothing.

The request itself, the reason and the refusal are internal; the citizen is only told the
outcome that concerns them, a later deadline.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from core.audit import AuditEntry
from core.cases import Case, CaseEvent
from core.clock import Clock
from core.deadlines import DeadlineRules
from core.errors import ActionNotAllowed, InvalidTransition, NotFound, ValidationFailed
from core.notices import Button
from core.plan import Area, Plan
from core.ports import UnitOfWork, UnitOfWorkFactory
from core.services.complaints import clean_text
from core.services.workflow import CITIZEN_NOTICES, Who, apply_action, tell_citizen, tell_office, tell_unit
from core.states import Action, Actor, CaseState

MAX_REASON = 500
CALLBACK_APPROVE = "ext:approve:"  # + case id
CALLBACK_REFUSE = "ext:refuse:"  # + case id


class ExtensionAlreadyUsed(ActionNotAllowed):
    """The case had its one extension request (granted or refused)."""

    key = "extension.error_used"


class ExtensionTooLate(ActionNotAllowed):
    """The answer deadline has passed."""

    key = "extension.error_late"


class ExtensionDays(ValidationFailed):
    """Days outside 1..the area's limit; ``params["limit"]`` says the most."""

    key = "extension.error_days"


@dataclass(frozen=True, slots=True)
class ExtensionRequested:
    case: Case
    days: int
    proposed_due: date  # the answer due date if the office approves


@dataclass(frozen=True, slots=True)
class ExtensionDecided:
    case: Case
    old_due: date
    new_due: date  # equal to old_due when refused


@dataclass(slots=True)
class ExtensionService:
    uow: UnitOfWorkFactory
    plan: Plan
    clock: Clock
    deadlines: DeadlineRules
    office_chat_id: int | None = None

    def _area(self, case: Case) -> Area:
        if case.area is None:
            raise InvalidTransition(state=case.state.value, action=Action.REQUEST_EXTENSION.value)
        return self.plan.area(case.area)

    async def request(self, user_id: int, case_id: int, days: int, reason: str) -> ExtensionRequested:
        """A liaison of a lead unit asks for ``days`` more working days, with a reason; the
        office chat gets the request with approve/refuse buttons."""
        reason = clean_text(reason, limit=MAX_REASON)
        if not reason:
            raise ValidationFailed(field="reason", reason="empty")
        now = self.clock.now()
        async with self.uow() as uow:
            liaison = await uow.liaisons.get_active(user_id)
            case = await uow.cases.get(case_id, for_update=True)
            if liaison is None or case is None or liaison.unit_id not in case.lead_unit_ids:
                raise NotFound(kind="case")
            assert case.id is not None and case.answer_due is not None
            if case.extended or await _requested_before(uow, case.id):
                raise ExtensionAlreadyUsed()
            if not self.deadlines.may_request_extension(
                case.answer_due, self.deadlines.local_date(now), extended=case.extended
            ):
                raise ExtensionTooLate(due_date=case.answer_due.isoformat())
            limit = self._area(case).deadlines.extension
            if not 1 <= days <= limit:
                raise ExtensionDays(field="extension_days", value=days, limit=limit)
            proposed = self.deadlines.extend(case.answer_due, days, limit=limit)
            await apply_action(
                uow,
                case,
                Action.REQUEST_EXTENSION,
                Who.user(Actor.LIAISON, user_id),
                now,
                text=reason,
                data={"days": days, "unit": liaison.unit_id, "proposed_due": proposed.isoformat()},
            )
            await tell_office(
                uow,
                self.office_chat_id,
                "extension.office_request",
                now,
                dedup_key=f"ext-request:{case.id}",
                params={
                    "tracking_no": case.tracking_no,
                    "case_area": case.area,
                    "requesting_units": [liaison.unit_id],
                    "days": days,
                    "reason": reason,
                    "answer_due_date": case.answer_due.isoformat(),
                    "proposed_due_date": proposed.isoformat(),
                },
                buttons=(
                    (
                        Button("extension.button_approve", f"{CALLBACK_APPROVE}{case.id}"),
                        Button("extension.button_refuse", f"{CALLBACK_REFUSE}{case.id}"),
                    ),
                ),
            )
            await uow.commit()
        return ExtensionRequested(case, days, proposed)

    async def approve(self, user_id: int, case_id: int) -> ExtensionDecided:
        """The office grants the request: the answer deadline moves by the requested working
        days (holidays counted out), the citizen and the lead units are told the new date.
        The periodic pass's reminders follow, as their keys carry the due date."""
        now = self.clock.now()
        async with self.uow() as uow:
            case, request = await self._pending(uow, case_id)
            assert case.id is not None and case.answer_due is not None
            days = request.data.get("days")
            if not isinstance(days, int):
                raise InvalidTransition(state=case.state.value, action=Action.APPROVE_EXTENSION.value)
            old_due = case.answer_due
            new_due = self.deadlines.extend(old_due, days, limit=self._area(case).deadlines.extension)
            case.answer_due, case.extended = new_due, True
            await apply_action(
                uow,
                case,
                Action.APPROVE_EXTENSION,
                Who.user(Actor.OFFICE, user_id),
                now,
                data={"days": days, "old_due": old_due.isoformat(), "new_due": new_due.isoformat()},
            )
            citizen_key = CITIZEN_NOTICES[Action.APPROVE_EXTENSION]
            assert citizen_key is not None
            await tell_citizen(
                uow,
                case,
                citizen_key,
                now,
                dedup_key=f"ext-approved:{case.id}:citizen",
                params={"answer_due_date": new_due.isoformat(), "days": days},
            )
            for unit_id in case.lead_unit_ids:
                await tell_unit(
                    uow,
                    unit_id,
                    "extension.unit_approved",
                    now,
                    dedup_key=f"ext-approved:{case.id}:{unit_id}",
                    params={
                        "tracking_no": case.tracking_no,
                        "days": days,
                        "answer_due_date": new_due.isoformat(),
                    },
                )
            details: dict[str, object] = {"days": days, "new_due": new_due.isoformat()}
            await self._audit(uow, user_id, "extension.approve", case, details)
            await uow.commit()
        return ExtensionDecided(case, old_due, new_due)

    async def refuse(self, user_id: int, case_id: int, reason: str) -> ExtensionDecided:
        """The office refuses, with a reason the lead units see; the deadline stands and the
        case goes back to "signed". The case has used its one request."""
        reason = clean_text(reason, limit=MAX_REASON)
        if not reason:
            raise ValidationFailed(field="reason", reason="empty")
        now = self.clock.now()
        async with self.uow() as uow:
            case, _ = await self._pending(uow, case_id)
            assert case.id is not None and case.answer_due is not None
            await apply_action(
                uow, case, Action.REFUSE_EXTENSION, Who.user(Actor.OFFICE, user_id), now, text=reason
            )
            for unit_id in case.lead_unit_ids:
                await tell_unit(
                    uow,
                    unit_id,
                    "extension.unit_refused",
                    now,
                    dedup_key=f"ext-refused:{case.id}:{unit_id}",
                    params={
                        "tracking_no": case.tracking_no,
                        "reason": reason,
                        "answer_due_date": case.answer_due.isoformat(),
                    },
                )
            await self._audit(uow, user_id, "extension.refuse", case, {"reason": reason})
            await uow.commit()
        return ExtensionDecided(case, case.answer_due, case.answer_due)

    async def _pending(self, uow: UnitOfWork, case_id: int) -> tuple[Case, CaseEvent]:
        """The case, locked, with its open request; raises if there is none (a stale button:
        someone else decided already)."""
        case = await uow.cases.get(case_id, for_update=True)
        if case is None or case.id is None:
            raise NotFound(kind="case")
        if case.state is not CaseState.EXTENSION_REQUESTED:
            raise InvalidTransition(state=case.state.value, action=Action.APPROVE_EXTENSION.value)
        history = await uow.events.list(case.id, include_internal=True)
        requests = [e for e in history if e.kind == Action.REQUEST_EXTENSION.value]
        if not requests:
            raise InvalidTransition(state=case.state.value, action=Action.APPROVE_EXTENSION.value)
        return case, requests[-1]

    async def _audit(
        self, uow: UnitOfWork, user_id: int, action: str, case: Case, details: dict[str, object]
    ) -> None:
        entry = AuditEntry(
            actor_id=user_id, at=self.clock.now(), action=action, target=case.tracking_no, details=details
        )
        await uow.audit.add(entry)


async def _requested_before(uow: UnitOfWork, case_id: int) -> bool:
    history = await uow.events.list(case_id, include_internal=True)
    return any(e.kind == Action.REQUEST_EXTENSION.value for e in history)
