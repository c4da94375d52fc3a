"""Launch (安排部署) and the phases of the campaign (SPEC §2, §6).

The office launches the campaign: every unit's liaisons get a briefing (the plan's title,
their unit's duties under it, the phases with their dates and deliverables). Phases then open
on their plan dates, or earlier when the office opens one; when a phase opens every unit's
liaisons are told, and for the self-inspection phase that notice is the task itself (what to
hand in, by when, the coverage target).

Nothing is stored besides what happened: the plan's dates say which phases run, the audit
trail records who launched or opened what, and each briefing and phase notice carries a dedup
key, so launching twice, opening a phase the periodic pass opens again the next minute, or two
instances doing it at once, sends nothing twice. Launching again later reaches exactly the
liaisons who joined since (and a liaison who moved to another unit gets that unit's duties).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Protocol

from core.audit import AuditEntry
from core.calendar import WorkingDays
from core.clock import Clock
from core.errors import ActionNotAllowed, NotFound
from core.notices import Button, JsonScalar, Notice
from core.outbox import OutboxMessage
from core.plan import Deliverable, Phase, Plan, Producer
from core.ports import UnitOfWork, UnitOfWorkFactory
from core.roles import resolve_roles
from core.services.reports import CALLBACK_START_SELF_INSPECTION, effective_due, self_inspection_target

AUDIT_LAUNCH = "campaign.launch"
AUDIT_OPEN_PHASE = "campaign.open_phase"


class PhaseState(StrEnum):
    UPCOMING = "upcoming"
    OPEN = "open"
    CLOSED = "closed"


class PhaseOver(ActionNotAllowed):
    """The phase ended already; opening it would announce a past task."""

    key = "campaign.error_phase_over"


def phase_state(plan: Plan, today: date, opened: Collection[str] = ()) -> dict[str, PhaseState]:
    """Every phase's state on ``today``, by plan dates (start and end inclusive); ``opened``
    names phases the office opened before their start date. Pure, for the periodic pass."""
    states: dict[str, PhaseState] = {}
    for phase in plan.phases:
        if today > phase.end:
            states[phase.id] = PhaseState.CLOSED
        elif today >= phase.start or phase.id in opened:
            states[phase.id] = PhaseState.OPEN
        else:
            states[phase.id] = PhaseState.UPCOMING
    return states


def phases_opening(plan: Plan, today: date) -> list[Phase]:
    """Phases running on ``today`` by their dates: what the periodic pass announces (once)."""
    return [phase for phase in plan.phases if phase.contains(today)]


@dataclass(frozen=True, slots=True)
class UnitDuties:
    """What the plan asks of one unit: the task areas it leads (牵头), implements (具体实施) or
    assists on (配合), and the deliverables every unit hands in (by phase)."""

    unit_id: str
    lead_area_ids: tuple[str, ...]
    implementing_area_ids: tuple[str, ...]
    assist_area_ids: tuple[str, ...]
    unit_deliverables: tuple[tuple[str, str], ...]  # (phase id, deliverable id) handed in by units


def unit_duties(plan: Plan, unit_id: str) -> UnitDuties:
    plan.unit(unit_id)  # an unknown unit is NotFound, not an empty list of duties
    return UnitDuties(
        unit_id=unit_id,
        lead_area_ids=tuple(a.id for a in plan.areas if unit_id in a.lead_unit_ids),
        implementing_area_ids=tuple(a.id for a in plan.areas if a.implementing_unit_id == unit_id),
        assist_area_ids=tuple(a.id for a in plan.areas if unit_id in a.assist_unit_ids),
        unit_deliverables=tuple(
            (phase.id, d.id) for phase in plan.phases for d in phase.deliverables if d.by is Producer.UNITS
        ),
    )


class BriefingRenderer(Protocol):
    """Writes the launch briefing for one unit in one language, as safe HTML. The bot supplies
    it (it owns the texts); the domain decides who gets which duties."""

    def __call__(self, plan: Plan, duties: UnitDuties, lang: str) -> str: ...


@dataclass(frozen=True, slots=True)
class Launched:
    units: int  # units with at least one active liaison
    liaisons: int
    briefed: int  # briefings queued now (0: everyone had theirs already)


@dataclass(frozen=True, slots=True)
class PhaseOpened:
    phase: Phase
    state_before: PhaseState
    told: int  # liaisons told now (0: they had been told already)


@dataclass(slots=True)
class CampaignService:
    uow: UnitOfWorkFactory
    plan: Plan
    clock: Clock
    working_days: WorkingDays
    # None where only phases are announced (the periodic pass); launching needs one
    render_briefing: BriefingRenderer | None = None
    office_chat_id: int | None = None
    office_admin_ids: frozenset[int] = frozenset()
    # phase announcements this process made today (a shortcut for the periodic pass, which
    # asks every minute; the dedup keys are what guarantee once). Per day, so a liaison who
    # joins during a phase gets its notice from the next day's first pass at the latest.
    _announced: set[str] = field(init=False, default_factory=set)

    def today(self, now: datetime | None = None) -> date:
        return (now or self.clock.now()).astimezone(self.clock.tz).date()

    @property
    def _unit_ids(self) -> frozenset[str]:
        return frozenset(unit.id for unit in self.plan.units)

    def states(self, today: date | None = None) -> dict[str, PhaseState]:
        return phase_state(self.plan, today or self.today())

    def _key(self, *parts: object) -> str:
        # the campaign and its start date: a re-based run of the same plan is a new campaign
        return ":".join([self.plan.campaign.id, self.plan.start.isoformat(), *map(str, parts)])

    async def _require_office(self, uow: UnitOfWork, user_id: int) -> None:
        (await resolve_roles(uow, user_id, self.office_admin_ids)).require_office()

    # -- launch -----------------------------------------------------------------------------

    async def launch(self, office_user_id: int) -> Launched:
        """安排部署: brief every active liaison of every unit; audited."""
        now = self.clock.now()
        async with self.uow() as uow:
            await self._require_office(uow, office_user_id)
            liaisons = await uow.liaisons.list_active()
            # a unit the plan no longer names has no duties under it (its liaisons stay bound
            # for their old cases): nothing to brief them on
            liaisons = [x for x in liaisons if x.unit_id in self._unit_ids]
            briefed = 0
            for liaison in liaisons:
                briefed += await self._brief(uow, liaison.user_id, liaison.unit_id, now)
            units = len({liaison.unit_id for liaison in liaisons})
            await uow.audit.add(
                AuditEntry(
                    actor_id=office_user_id,
                    at=now,
                    action=AUDIT_LAUNCH,
                    target=self.plan.campaign.id,
                    details={"units": units, "liaisons": len(liaisons), "briefed": briefed},
                )
            )
            await uow.commit()
        return Launched(units=units, liaisons=len(liaisons), briefed=briefed)

    async def brief_liaison(self, uow: UnitOfWork, user_id: int, unit_id: str) -> bool:
        """Queue the briefing for one liaison (e.g. one who joins after the launch), inside the
        caller's unit of work; False when they had it already."""
        return await self._brief(uow, user_id, unit_id, self.clock.now())

    async def _brief(self, uow: UnitOfWork, user_id: int, unit_id: str, now: datetime) -> bool:
        if self.render_briefing is None:
            raise RuntimeError("CampaignService.render_briefing is needed to brief liaisons")
        lang = await _language(uow, user_id)
        text = self.render_briefing(self.plan, unit_duties(self.plan, unit_id), lang)
        message = OutboxMessage(
            chat_id=user_id,
            method="sendMessage",
            # rendered now, in the liaison's language: a briefing is a document, not a status
            payload={"text": text, "user_id": user_id},
            created_at=now,
            dedup_key=self._key("briefing", unit_id, user_id),
        )
        return await uow.outbox.add(message)

    # -- phases -----------------------------------------------------------------------------

    async def open_phase(self, office_user_id: int, phase_id: str) -> PhaseOpened:
        """The office opens a phase (before its date, or to make sure everyone was told); every
        unit's liaisons get the phase notice; audited. An ended phase cannot be opened."""
        now = self.clock.now()
        async with self.uow() as uow:
            await self._require_office(uow, office_user_id)
            phase = self.plan.phase(phase_id)
            before = self.states(self.today(now))[phase.id]
            if before is PhaseState.CLOSED:
                raise PhaseOver(phase=phase.id, end_date=phase.end.isoformat())
            told = await self._announce(uow, phase, now, None)
            await uow.audit.add(
                AuditEntry(
                    actor_id=office_user_id,
                    at=now,
                    action=AUDIT_OPEN_PHASE,
                    target=phase.id,
                    details={"state_before": before.value, "told": told},
                )
            )
            await uow.commit()
        return PhaseOpened(phase=phase, state_before=before, told=told)

    async def open_phases_due(self, now: datetime | None = None, not_before: datetime | None = None) -> int:
        """For the periodic pass (its ``PhaseJob``): announce every phase running today by its
        plan dates (once: dedup keys). ``not_before`` holds the notices back during quiet hours.
        Returns the liaisons told now."""
        now = now or self.clock.now()
        today = self.today(now)
        self._announced = {key for key in self._announced if key.endswith(today.isoformat())}
        told = 0
        for phase in phases_opening(self.plan, today):
            key = self._key("phase", phase.id, today.isoformat())
            if key in self._announced:
                continue
            async with self.uow() as uow:
                told += await self._announce(uow, phase, now, not_before)
                await uow.commit()
            self._announced.add(key)
        return told

    async def _announce(
        self, uow: UnitOfWork, phase: Phase, now: datetime, not_before: datetime | None
    ) -> int:
        """The phase notice to every active liaison (for self-inspection: the task itself, with
        its due date and a button that starts the report) and a copy to the office chat."""
        params: dict[str, JsonScalar | list[str]] = {
            "start_date": phase.start.isoformat(),
            "end_date": phase.end.isoformat(),
        }
        key = "campaign.notify_phase_opened"
        buttons: tuple[tuple[Button, ...], ...] = ()
        task = _self_inspection(self.plan)
        if task is not None and task[0].id == phase.id:
            due = task[1].due
            assert due is not None
            params["due_date"] = effective_due(due, self.working_days).isoformat()
            params["coverage"] = round((phase.coverage_target or 0) * 100)
            key = "self_inspection.notify_task"
            buttons = ((Button("self_inspection.button_start", CALLBACK_START_SELF_INSPECTION),),)
        told = 0
        liaisons = await uow.liaisons.list_active()
        for liaison in liaisons:
            lang = await _language(uow, liaison.user_id)
            notice = Notice(
                chat_id=liaison.user_id,
                user_id=liaison.user_id,
                text_key=key,
                params={**params, **_names(phase, task[1] if task else None, lang)},
                buttons=buttons,
                dedup_key=self._key("phase", phase.id, liaison.unit_id, liaison.user_id),
                not_before=not_before,
            )
            told += await uow.outbox.add(notice.to_outbox(now))
        if self.office_chat_id is not None:
            # the office chat is a group: it reads the default language
            office = Notice(
                chat_id=self.office_chat_id,
                text_key="campaign.notify_phase_opened_office",
                params={**params, **_names(phase, None, "zh"), "liaisons": len(liaisons)},
                dedup_key=self._key("phase", phase.id, "office"),
                not_before=not_before,
            )
            await uow.outbox.add(office.to_outbox(now))
        return told


async def _language(uow: UnitOfWork, user_id: int) -> str:
    """The user's stored language as the catalogue knows it (zh unless they chose English)."""
    user = await uow.users.get(user_id)
    return "en" if user is not None and user.language == "en" else "zh"


def _names(phase: Phase, deliverable: Deliverable | None, lang: str) -> dict[str, JsonScalar | list[str]]:
    """Plan names in the recipient's language (the catalogue gives both languages the same
    placeholders)."""
    english = lang == "en"
    names: dict[str, JsonScalar | list[str]] = {
        "phase": (phase.name_en or phase.name) if english else phase.name
    }
    if deliverable is not None:
        names["deliverable"] = (deliverable.name_en or deliverable.name) if english else deliverable.name
    return names


def _self_inspection(plan: Plan) -> tuple[Phase, Deliverable] | None:
    try:
        return self_inspection_target(plan)
    except NotFound:
        return None
