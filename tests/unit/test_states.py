"""The transition table: who may do what from which state, and nothing else."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.cases import Case, Source
from core.errors import ActionNotAllowed, InvalidTransition
from core.states import (
    FINAL_STATES,
    TRANSITIONS,
    Action,
    Actor,
    CaseState,
    Transition,
    allowed_actions,
    transition,
)

S = CaseState
ALLOWED = [(t, actor) for t in TRANSITIONS for actor in sorted(t.actors)]
FORBIDDEN_ACTOR = [(t, actor) for t in TRANSITIONS for actor in Actor if actor not in t.actors]
IN_TABLE = {(t.source, t.action) for t in TRANSITIONS}
NOT_IN_TABLE = [(s, a) for s in CaseState for a in Action if (s, a) not in IN_TABLE]


@pytest.mark.parametrize(("row", "actor"), ALLOWED, ids=[f"{t.source}-{t.action}-{a}" for t, a in ALLOWED])
def test_every_row_is_allowed_for_its_actors(row: Transition, actor: Actor) -> None:
    t = row
    assert transition(t.source, t.action, actor) is t.target


@pytest.mark.parametrize(
    ("row", "actor"), FORBIDDEN_ACTOR, ids=[f"{t.source}-{t.action}-{a}" for t, a in FORBIDDEN_ACTOR]
)
def test_every_row_is_refused_for_other_actors(row: Transition, actor: Actor) -> None:
    t = row
    with pytest.raises(ActionNotAllowed) as err:
        transition(t.source, t.action, actor)
    assert err.value.key == "error.not_allowed"
    assert err.value.params == {"state": t.source.value, "action": t.action.value, "actor": actor.value}


@pytest.mark.parametrize(("state", "action"), NOT_IN_TABLE, ids=[f"{s}-{a}" for s, a in NOT_IN_TABLE])
@pytest.mark.parametrize("actor", list(Actor))
def test_pairs_outside_the_table_are_invalid_for_everyone(
    state: CaseState, action: Action, actor: Actor
) -> None:
    with pytest.raises(InvalidTransition) as err:
        transition(state, action, actor)
    assert err.value.key == "error.invalid_transition"
    assert err.value.params == {"state": state.value, "action": action.value}


def test_the_table_has_no_duplicate_rows() -> None:
    assert len(IN_TABLE) == len(TRANSITIONS)


def test_every_actor_has_something_to_do_and_every_action_is_used() -> None:
    assert {a for t in TRANSITIONS for a in t.actors} == set(Actor)
    assert {t.action for t in TRANSITIONS} == set(Action)


def test_final_states_only_leave_by_reopening_a_closed_case() -> None:
    assert allowed_actions(S.REJECTED) == []
    assert allowed_actions(S.CLOSED) == [Action.REOPEN]
    assert allowed_actions(S.CLOSED, Actor.OFFICE) == [Action.REOPEN]
    for actor in (Actor.CITIZEN, Actor.LIAISON, Actor.SYSTEM):
        assert allowed_actions(S.CLOSED, actor) == []
    assert transition(S.CLOSED, Action.REOPEN, Actor.OFFICE) is S.REOPENED


@pytest.mark.parametrize(
    ("state", "actor", "actions"),
    [
        (S.DRAFT, Actor.CITIZEN, [Action.SUBMIT]),
        (S.SUBMITTED, Actor.SYSTEM, [Action.SEND_TO_TRIAGE, Action.ROUTE]),
        (S.SUBMITTED, Actor.OFFICE, [Action.SEND_TO_TRIAGE, Action.ROUTE, Action.REJECT]),
        (S.SUBMITTED, Actor.CITIZEN, []),
        (S.ASSIGNED, Actor.LIAISON, [Action.SIGN, Action.RETURN]),
        # reassign, or back to triage when the only lead turns out to be complained about
        (S.ASSIGNED, Actor.OFFICE, [Action.SEND_TO_TRIAGE, Action.ROUTE]),
        (S.SIGNED, Actor.LIAISON, [Action.RETURN, Action.REQUEST_EXTENSION, Action.ANSWER]),
        (
            S.EXTENSION_REQUESTED,
            Actor.OFFICE,
            [Action.SEND_TO_TRIAGE, Action.ROUTE, Action.APPROVE_EXTENSION, Action.REFUSE_EXTENSION],
        ),
        (S.EXTENSION_REQUESTED, Actor.LIAISON, [Action.ANSWER]),
        (S.ANSWERED, Actor.CITIZEN, [Action.CLOSE]),
        (S.ANSWERED, Actor.OFFICE, [Action.CLOSE, Action.REOPEN]),
        (S.RETURNED, Actor.OFFICE, [Action.SEND_TO_TRIAGE, Action.ROUTE, Action.REJECT]),
        (S.REOPENED, Actor.OFFICE, [Action.SEND_TO_TRIAGE, Action.ROUTE]),
    ],
)
def test_allowed_actions_by_actor(state: CaseState, actor: Actor, actions: list[Action]) -> None:
    assert allowed_actions(state, actor) == actions


@pytest.mark.parametrize("state", list(CaseState))
def test_allowed_actions_agree_with_transition(state: CaseState) -> None:
    for actor in Actor:
        for action in Action:
            if action in allowed_actions(state, actor):
                transition(state, action, actor)
            else:
                with pytest.raises((InvalidTransition, ActionNotAllowed)):
                    transition(state, action, actor)


def _reachable(start: CaseState) -> set[CaseState]:
    seen = {start}
    todo = [start]
    while todo:
        s = todo.pop()
        for t in TRANSITIONS:
            if t.source is s and t.target not in seen:
                seen.add(t.target)
                todo.append(t.target)
    return seen


def test_every_state_is_reachable_from_a_draft() -> None:
    assert _reachable(S.DRAFT) == set(CaseState)


@pytest.mark.parametrize("state", [s for s in CaseState if s not in FINAL_STATES])
def test_no_open_state_is_a_dead_end(state: CaseState) -> None:
    assert _reachable(state) & FINAL_STATES


@pytest.mark.parametrize(
    ("state", "is_final", "is_open"),
    [
        (S.DRAFT, False, False),
        (S.SUBMITTED, False, True),
        (S.ASSIGNED, False, True),
        (S.EXTENSION_REQUESTED, False, True),
        (S.RETURNED, False, True),
        (S.CLOSED, True, False),
        (S.REJECTED, True, False),
    ],
)
def test_final_and_open(state: CaseState, is_final: bool, is_open: bool) -> None:
    assert state.is_final is is_final
    assert state.is_open is is_open


def _case(state: CaseState = S.DRAFT) -> Case:
    return Case(
        tracking_no="ZH-2014-000001",
        state=state,
        source=Source.CITIZEN,
        description="窗口工作人员推诿",
        created_at=datetime(2014, 9, 26, 2, tzinfo=UTC),
    )


def test_case_apply_walks_the_life_of_a_case() -> None:
    case = _case()
    steps = [
        (Action.SUBMIT, Actor.CITIZEN, S.SUBMITTED),
        (Action.ROUTE, Actor.SYSTEM, S.ASSIGNED),
        (Action.SIGN, Actor.LIAISON, S.SIGNED),
        (Action.REQUEST_EXTENSION, Actor.LIAISON, S.EXTENSION_REQUESTED),
        (Action.APPROVE_EXTENSION, Actor.OFFICE, S.SIGNED),
        (Action.ANSWER, Actor.LIAISON, S.ANSWERED),
        (Action.REOPEN, Actor.OFFICE, S.REOPENED),
        (Action.SEND_TO_TRIAGE, Actor.SYSTEM, S.TRIAGE),
        (Action.ROUTE, Actor.OFFICE, S.ASSIGNED),
        (Action.RETURN, Actor.LIAISON, S.RETURNED),
        (Action.ROUTE, Actor.OFFICE, S.ASSIGNED),
        (Action.SIGN, Actor.LIAISON, S.SIGNED),
        (Action.ANSWER, Actor.LIAISON, S.ANSWERED),
        (Action.CLOSE, Actor.CITIZEN, S.CLOSED),
    ]
    for action, actor, after in steps:
        before = case.state
        assert case.apply(action, actor) == (before, after)
        assert case.state is after


@pytest.mark.parametrize(
    ("state", "action", "actor", "error"),
    [
        (S.ASSIGNED, Action.SIGN, Actor.CITIZEN, ActionNotAllowed),
        (S.ASSIGNED, Action.ANSWER, Actor.LIAISON, InvalidTransition),  # must sign first
        (S.REJECTED, Action.REOPEN, Actor.OFFICE, InvalidTransition),
        (S.ANSWERED, Action.REOPEN, Actor.CITIZEN, ActionNotAllowed),  # the office decides
    ],
)
def test_case_apply_refused_leaves_the_case_unchanged(
    state: CaseState, action: Action, actor: Actor, error: type[Exception]
) -> None:
    case = _case(state)
    with pytest.raises(error):
        case.apply(action, actor)
    assert case.state is state
