"""Case states and the transition table (SPEC §3).

States and actions are a closed set; which actor may take which action from which state is
data in ``TRANSITIONS``, not scattered ``if`` statements. Human-readable labels live in the
text catalogue (``bot/locales``), keyed by the enum value.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from core.errors import ActionNotAllowed, InvalidTransition


class CaseState(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    TRIAGE = "triage"
    ASSIGNED = "assigned"
    SIGNED = "signed"
    EXTENSION_REQUESTED = "extension_requested"
    ANSWERED = "answered"
    RETURNED = "returned"
    REOPENED = "reopened"
    CLOSED = "closed"
    REJECTED = "rejected"

    @property
    def is_final(self) -> bool:
        return self in FINAL_STATES

    @property
    def is_open(self) -> bool:
        """Open cases are those a deadline still runs on or someone still has to act on."""
        return self not in FINAL_STATES and self is not CaseState.DRAFT


FINAL_STATES = frozenset({CaseState.CLOSED, CaseState.REJECTED})


class Actor(StrEnum):
    CITIZEN = "citizen"
    LIAISON = "liaison"
    OFFICE = "office"
    SYSTEM = "system"


class Action(StrEnum):
    SUBMIT = "submit"
    SEND_TO_TRIAGE = "send_to_triage"
    ROUTE = "route"
    REJECT = "reject"
    SIGN = "sign"
    RETURN = "return"
    REQUEST_EXTENSION = "request_extension"
    APPROVE_EXTENSION = "approve_extension"
    REFUSE_EXTENSION = "refuse_extension"
    ANSWER = "answer"
    CLOSE = "close"
    REOPEN = "reopen"


@dataclass(frozen=True, slots=True)
class Transition:
    action: Action
    source: CaseState
    target: CaseState
    actors: frozenset[Actor]


def _t(action: Action, sources: tuple[CaseState, ...], target: CaseState, *actors: Actor) -> list[Transition]:
    return [Transition(action, s, target, frozenset(actors)) for s in sources]


S = CaseState
A = Actor

# The whole workflow. Read top to bottom it is the life of a case.
TRANSITIONS: tuple[Transition, ...] = tuple(
    _t(Action.SUBMIT, (S.DRAFT,), S.SUBMITTED, A.CITIZEN, A.OFFICE)
    # low confidence, "not sure", or the complained-about unit would handle it: a person decides
    + _t(Action.SEND_TO_TRIAGE, (S.SUBMITTED, S.RETURNED, S.REOPENED), S.TRIAGE, A.SYSTEM, A.OFFICE)
    # the office finds the only lead unit is the unit complained about: back for re-routing
    + _t(Action.SEND_TO_TRIAGE, (S.ASSIGNED, S.SIGNED, S.EXTENSION_REQUESTED), S.TRIAGE, A.OFFICE)
    + _t(Action.ROUTE, (S.SUBMITTED, S.TRIAGE, S.RETURNED, S.REOPENED), S.ASSIGNED, A.SYSTEM, A.OFFICE)
    # reassign (改派): the office moves a case a unit already holds; deadlines start afresh
    + _t(Action.ROUTE, (S.ASSIGNED, S.SIGNED, S.EXTENSION_REQUESTED), S.ASSIGNED, A.OFFICE)
    + _t(Action.REJECT, (S.SUBMITTED, S.TRIAGE, S.RETURNED), S.REJECTED, A.OFFICE)
    + _t(Action.SIGN, (S.ASSIGNED,), S.SIGNED, A.LIAISON)
    # 退回: the unit says the case is not theirs; the office re-routes
    + _t(Action.RETURN, (S.ASSIGNED, S.SIGNED), S.RETURNED, A.LIAISON)
    + _t(Action.REQUEST_EXTENSION, (S.SIGNED,), S.EXTENSION_REQUESTED, A.LIAISON)
    + _t(Action.APPROVE_EXTENSION, (S.EXTENSION_REQUESTED,), S.SIGNED, A.OFFICE)
    + _t(Action.REFUSE_EXTENSION, (S.EXTENSION_REQUESTED,), S.SIGNED, A.OFFICE)
    # the answer deadline keeps running while the office weighs an extension request
    + _t(Action.ANSWER, (S.SIGNED, S.EXTENSION_REQUESTED), S.ANSWERED, A.LIAISON)
    # satisfied citizen, follow-up timeout (system) or the office closing with an outcome
    + _t(Action.CLOSE, (S.ANSWERED,), S.CLOSED, A.CITIZEN, A.SYSTEM, A.OFFICE)
    # 不满意 → the office agrees to reopen; a spot check may reopen a closed case too
    + _t(Action.REOPEN, (S.ANSWERED, S.CLOSED), S.REOPENED, A.OFFICE)
)

_BY_KEY: dict[tuple[CaseState, Action], Transition] = {(t.source, t.action): t for t in TRANSITIONS}


def allowed_actions(state: CaseState, actor: Actor | None = None) -> list[Action]:
    """Actions that may be taken from ``state`` (by ``actor`` when given), in table order."""
    return [
        t.action
        for t in TRANSITIONS
        if t.source is state and (actor is None or actor in t.actors)
    ]


def transition(state: CaseState, action: Action, actor: Actor) -> CaseState:
    """The state after ``actor`` takes ``action`` in ``state``; raises if the table forbids it."""
    t = _BY_KEY.get((state, action))
    if t is None:
        raise InvalidTransition(state=state.value, action=action.value)
    if actor not in t.actors:
        raise ActionNotAllowed(state=state.value, action=action.value, actor=actor.value)
    return t.target
