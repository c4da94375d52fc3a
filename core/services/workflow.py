"""Moving a case: the transition, its history event and the notices it causes, in one place so
every service (citizen, liaison, office, the periodic pass) does it the same way."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from core.audit import AuditEntry
from core.cases import Case, CaseEvent, Visibility
from core.deadlines import CaseDeadlines, DeadlineRules
from core.directory import Liaison
from core.notices import Button, JsonScalar, Notice
from core.outbox import OutboxMessage
from core.plan import Area
from core.ports import UnitOfWork
from core.recusal import Recusal
from core.states import Action, Actor, CaseState

# Which actions the citizen sees in the case history, and the notice each one sends them.
# Internal shuffling (returns, extension requests and refusals) stays internal: the citizen is
# told the outcome (re-routed, new deadline), not the deliberation.
CITIZEN_NOTICES: dict[Action, str | None] = {
    Action.SUBMIT: None,  # the receipt is the reply to the confirm button
    Action.SEND_TO_TRIAGE: None,
    Action.ROUTE: "notify.citizen.routed",
    Action.SIGN: "notify.citizen.signed",
    Action.ANSWER: "notify.citizen.answered",
    Action.APPROVE_EXTENSION: "notify.citizen.extended",
    Action.REJECT: "notify.citizen.rejected",
    Action.CLOSE: "notify.citizen.closed",
    Action.REOPEN: "notify.citizen.reopened",
}
INTERNAL_ACTIONS = frozenset({Action.RETURN, Action.REQUEST_EXTENSION, Action.REFUSE_EXTENSION})
# History events (internal: the citizen is not told which units were kept out) and audit
# actions for recusals. The audit trail's actor is the office member, or 0 for the system.
RECUSAL_EVENT = "recusal"
RECUSAL_LIFTED_EVENT = "recusal_lifted"
AUDIT_RECUSAL = "case.recusal"
AUDIT_RECUSAL_LIFTED = "case.recusal_lifted"
SYSTEM_AUDIT_ACTOR = 0


def visibility_of(action: Action) -> Visibility:
    return Visibility.INTERNAL if action in INTERNAL_ACTIONS else Visibility.PUBLIC


@dataclass(frozen=True, slots=True)
class Who:
    """Who acts: the role and a reference (Telegram user id, or "system")."""

    actor: Actor
    ref: str | None = None

    @classmethod
    def system(cls) -> Who:
        return cls(Actor.SYSTEM, "system")

    @classmethod
    def user(cls, actor: Actor, user_id: int) -> Who:
        return cls(actor, str(user_id))


@dataclass(frozen=True, slots=True)
class Move:
    """A transition made in memory (``move``), and what its history event will say once the
    case is stored: a new case is built in its final state and inserted once, with its events
    written in one batch, rather than stored and then updated per transition."""

    action: Action
    who: Who
    before: CaseState
    after: CaseState
    text: str = ""
    data: Mapping[str, object] = field(default_factory=dict)

    def event(self, case_id: int, at: datetime) -> CaseEvent:
        return CaseEvent(
            case_id=case_id,
            at=at,
            actor=self.who.actor,
            actor_ref=self.who.ref,
            kind=self.action.value,
            visibility=visibility_of(self.action),
            text=self.text,
            data={"from": self.before.value, "to": self.after.value, **self.data},
        )


def move(
    case: Case, action: Action, who: Who, *, text: str = "", data: Mapping[str, object] | None = None
) -> Move:
    """Transition ``case`` in memory (raising if the table forbids it); nothing is stored."""
    before, after = case.apply(action, who.actor)
    return Move(action, who, before, after, text, dict(data or {}))


async def apply_action(
    uow: UnitOfWork,
    case: Case,
    action: Action,
    who: Who,
    now: datetime,
    *,
    text: str = "",
    data: dict[str, object] | None = None,
) -> CaseEvent:
    """Transition ``case`` (raising if the table forbids it), store it, append the event."""
    assert case.id is not None, "persist the case before moving it"
    step = move(case, action, who, text=text, data=data)
    await uow.cases.update(case)
    return await uow.events.add(step.event(case.id, now))


async def citizen_chat(uow: UnitOfWork, case: Case) -> int | None:
    """The Telegram chat of the case's citizen (private chat id = user id), if any."""
    if case.citizen_id is None:
        return None
    citizen = await uow.citizens.get(case.citizen_id)
    return citizen.user_id if citizen else None


async def tell_citizen(
    uow: UnitOfWork,
    case: Case,
    key: str,
    now: datetime,
    *,
    buttons: tuple[tuple[Button, ...], ...] = (),
    dedup_key: str | None = None,
    params: Mapping[str, JsonScalar | list[str]] | None = None,
    not_before: datetime | None = None,
) -> bool:
    user_id = await citizen_chat(uow, case)
    if user_id is None:
        return False
    notice = Notice(
        chat_id=user_id,
        user_id=user_id,
        text_key=key,
        params={"tracking_no": case.tracking_no, **(params or {})},
        buttons=buttons,
        dedup_key=dedup_key,
        not_before=not_before,
    )
    return await uow.outbox.add(notice.to_outbox(now))


async def tell_unit(
    uow: UnitOfWork,
    unit_id: str,
    key: str,
    now: datetime,
    *,
    buttons: tuple[tuple[Button, ...], ...] = (),
    dedup_key: str | None = None,
    params: Mapping[str, JsonScalar | list[str]] | None = None,
    not_before: datetime | None = None,
    roster: dict[str, list[Liaison]] | None = None,
    sink: list[OutboxMessage] | None = None,
) -> int:
    """Tell every active liaison of the unit; returns how many notices were queued. Never
    include the complainant's identity in ``params``: units must not learn who complained.
    ``not_before`` holds a notice back (quiet hours: the periodic pass's reminders wait for the
    morning); each liaison's copy gets its own dedup key, ``f"{dedup_key}:{user_id}"``.
    ``roster``: liaisons already looked up in this unit of work, by unit (filled as it goes),
    so a batch that tells one unit about many cases reads its liaisons once. ``sink``: collect
    the messages there instead of storing them (the caller stores the batch with
    ``outbox.add_many``); the count returned is then of messages collected."""
    queued = 0
    if roster is None:
        liaisons = await uow.liaisons.list_for_unit(unit_id)
    elif unit_id in roster:
        liaisons = roster[unit_id]
    else:
        liaisons = roster[unit_id] = await uow.liaisons.list_for_unit(unit_id)
    for liaison in liaisons:
        notice = Notice(
            chat_id=liaison.user_id,
            user_id=liaison.user_id,
            text_key=key,
            params=params or {},
            buttons=buttons,
            dedup_key=f"{dedup_key}:{liaison.user_id}" if dedup_key else None,
            not_before=not_before,
        )
        queued += await _queue(uow, notice.to_outbox(now), sink)
    return queued


async def roster_for(uow: UnitOfWork, unit_ids: Iterable[str]) -> dict[str, list[Liaison]]:
    """The active liaisons of these units, by unit, read in one query: the ``roster`` to hand
    ``tell_unit`` when one unit of work tells several units."""
    wanted = list(dict.fromkeys(unit_ids))
    roster: dict[str, list[Liaison]] = {unit_id: [] for unit_id in wanted}
    if wanted:
        for liaison in await uow.liaisons.list_for_units(wanted):
            roster[liaison.unit_id].append(liaison)
    return roster


async def _queue(uow: UnitOfWork, message: OutboxMessage, sink: list[OutboxMessage] | None) -> int:
    if sink is not None:
        sink.append(message)
        return 1
    return int(await uow.outbox.add(message))


async def tell_office(
    uow: UnitOfWork,
    office_chat_id: int | None,
    key: str,
    now: datetime,
    *,
    buttons: tuple[tuple[Button, ...], ...] = (),
    dedup_key: str | None = None,
    params: Mapping[str, JsonScalar | list[str]] | None = None,
    not_before: datetime | None = None,
    sink: list[OutboxMessage] | None = None,
) -> bool:
    """A notice to the office chat (``sink`` as for ``tell_unit``)."""
    if office_chat_id is None:
        return False
    notice = Notice(
        chat_id=office_chat_id,
        text_key=key,
        params=params or {},
        buttons=buttons,
        dedup_key=dedup_key,
        not_before=not_before,
    )
    return bool(await _queue(uow, notice.to_outbox(now), sink))


async def tell_campaign_office(
    uow: UnitOfWork,
    campaign: str,
    key: str,
    now: datetime,
    *,
    params: Mapping[str, JsonScalar | list[str]] | None = None,
    sink: list[OutboxMessage] | None = None,
) -> int:
    """The same notice to each member of a street's or township's office, in their private
    chats (a sub-campaign has no office group of its own); nothing for the district's, whose
    office chat ``tell_office`` reaches. Returns how many were queued."""
    if not campaign:
        return 0
    queued = 0
    for member in await uow.office.list_active():
        if member.campaign == campaign:
            notice = Notice(chat_id=member.user_id, text_key=key, params=params or {})
            queued += bool(await _queue(uow, notice.to_outbox(now), sink))
    return queued


def route_in_memory(
    case: Case,
    area: Area,
    lead: Sequence[str],
    assist: Sequence[str],
    now: datetime,
    *,
    deadlines: DeadlineRules,
    who: Who,
    data: Mapping[str, object] | None = None,
) -> tuple[Move, CaseDeadlines]:
    """``assign``'s change to the case, made in memory: the units, fresh deadlines from ``now``
    in the area's working days, and the ``route`` transition. Nothing is stored or sent."""
    due = deadlines.for_assignment(now, sign_for=area.deadlines.sign_for, answer=area.deadlines.answer)
    case.lead_unit_ids, case.assist_unit_ids = list(lead), list(assist)
    case.assigned_at, case.signed_at = now, None
    case.sign_due, case.answer_due = due.sign_due, due.answer_due
    step = move(case, Action.ROUTE, who, data={"lead": list(lead), "assist": list(assist), **(data or {})})
    return step, due


def case_card(
    case: Case, area: Area, lead: Sequence[str], due: CaseDeadlines
) -> dict[str, JsonScalar | list[str]]:
    """What a routed case's notice tells its units (never who complained)."""
    return {
        "tracking_no": case.tracking_no,
        "case_area": area.id,
        "lead_units": list(lead),
        "description": case.description,
        "target": case.target_text,
        "place": case.place,
        "occurred": case.occurred,
        "sign_due_date": due.sign_due.isoformat(),
        "answer_due_date": due.answer_due.isoformat(),
    }


async def tell_assigned_units(
    uow: UnitOfWork,
    lead: Sequence[str],
    assist: Sequence[str],
    card: Mapping[str, JsonScalar | list[str]],
    tag: str,
    now: datetime,
    *,
    roster: dict[str, list[Liaison]] | None = None,
    sink: list[OutboxMessage] | None = None,
) -> None:
    """The case card to every lead unit (new case) and assisting unit (copy), keyed by ``tag``
    (``roster`` and ``sink`` as for ``tell_unit``)."""
    for units, key, prefix in ((lead, "notify.unit.new_case", "new"), (assist, "notify.unit.copied", "cc")):
        for unit_id in units:
            await tell_unit(
                uow, unit_id, key, now, dedup_key=f"{prefix}:{tag}", params=card, roster=roster, sink=sink
            )


def first_routing_tag(case: Case) -> str:
    """The dedup tag of a case's first routing's notices (the historic ``new:<id>``)."""
    assert case.id is not None
    return str(case.id)


async def assign(
    uow: UnitOfWork,
    case: Case,
    area: Area,
    lead: Sequence[str],
    assist: Sequence[str],
    now: datetime,
    *,
    deadlines: DeadlineRules,
    who: Who,
    data: dict[str, object] | None = None,
) -> tuple[CaseEvent, CaseDeadlines]:
    """Route ``case`` (SPEC §3): the lead and assisting units, fresh sign-for and answer
    deadlines counted from ``now`` in the area's working days, the ``route`` event, and the case
    card to every lead unit (new case) and assisting unit (copy). Used for the office's routing
    and re-routing; a citizen's complaint is routed the same way in memory before it is first
    stored (``route_in_memory``, ``tell_assigned_units``), so both look the same to units.

    The caller has chosen the units: it keeps the unit complained about out of them. The first
    routing of a case keeps the notices' historic dedup keys; a later one (after a return or a
    reopen) is keyed by its own route event, so it is told again."""
    assert case.id is not None, "persist the case before routing it"
    first = case.assigned_at is None
    step, due = route_in_memory(case, area, lead, assist, now, deadlines=deadlines, who=who, data=data)
    await uow.cases.update(case)
    event = await uow.events.add(step.event(case.id, now))
    tag = first_routing_tag(case) if first else f"{case.id}:{event.id}"
    await tell_assigned_units(uow, lead, assist, case_card(case, area, lead, due), tag, now)
    return event, due


def recusal_records(
    case: Case,
    recusals: Sequence[Recusal],
    who: Who,
    now: datetime,
    *,
    lifted: bool = False,
    seen_by: Sequence[str] = (),
    case_id: int | None = None,
) -> tuple[list[CaseEvent], list[AuditEntry]]:
    """The history events and audit entries ``record_recusals`` stores, built in memory.
    ``case_id``: the events' case id, when not the case's own (``NEW_CASE``, for a case stored
    with them)."""
    case_id = case.id if case_id is None else case_id
    assert case_id is not None, "persist the case before recording recusals"
    kind = RECUSAL_LIFTED_EVENT if lifted else RECUSAL_EVENT
    action = AUDIT_RECUSAL_LIFTED if lifted else AUDIT_RECUSAL
    actor_id = int(who.ref) if who.ref and who.ref.isdigit() else SYSTEM_AUDIT_ACTOR
    events: list[CaseEvent] = []
    entries: list[AuditEntry] = []
    for recusal in recusals:
        data = recusal.to_data()
        if recusal.unit_id in seen_by:
            data["had_seen"] = True
        events.append(
            CaseEvent(
                case_id=case_id,
                at=now,
                actor=who.actor,
                actor_ref=who.ref,
                kind=kind,
                visibility=Visibility.INTERNAL,
                data=data,
            )
        )
        entries.append(AuditEntry(actor_id, now, action, case.tracking_no, dict(data)))
    return events, entries


async def record_recusals(
    uow: UnitOfWork,
    case: Case,
    recusals: Sequence[Recusal],
    who: Who,
    now: datetime,
    *,
    lifted: bool = False,
    seen_by: Sequence[str] = (),
) -> None:
    """Put each recusal (or its lifting) on the case's history and the audit trail. The case's
    own ``recusals`` are the caller's to set. ``seen_by``: the units that had the case before it
    was taken from them, so the record says who saw what when (cards already sent stay sent)."""
    events, entries = recusal_records(case, recusals, who, now, lifted=lifted, seen_by=seen_by)
    await uow.events.add_many(events)
    await uow.audit.add_many(entries)
