"""In-memory fakes of the repositories and the unit of work (Cosmic Python style), for service
tests without a database.

``FakeStore`` is "the database": share one between several ``FakeUnitOfWork`` objects (or use
``fake_uow_factory(store)``) to see what one operation left for the next. A unit of work left
without ``commit()`` restores the store as it was when the block began, like the real one.

The same contract tests run against these fakes and against SQLite/PostgreSQL
(tests/integration/test_repositories.py), so what passes here behaves the same for real.
"""

from __future__ import annotations

import builtins
import copy
import dataclasses
import random
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from types import TracebackType
from typing import Any, Self, TypeVar

from core.api_keys import ApiAccount, ApiKey
from core.attachments import Attachment
from core.audit import AuditEntry
from core.cases import Case, CaseEvent, Visibility
from core.directory import (
    Citizen,
    InviteCode,
    InviteRole,
    Liaison,
    OfficeMember,
    UnitLeader,
    UnitRecord,
    UnitRole,
    UserRecord,
)
from core.errors import NotFound
from core.measures import GoodPractice, Measure, MeasureChange, MeasureStatus  # issue 14
from core.outbox import OutboxMessage, OutboxState
from core.ports import UnitOfWorkFactory
from core.reports import AccountabilityRecord, Recommendation, RecommendationStatus, ReportKind, UnitReport
from core.retention import (  # issue 15
    ErasableCase,
    Erased,
    ErasureRequest,
    ForgetDecision,
    scrub_json,
    scrub_text,
)
from core.review import CampaignAcceptance, ReviewFinding, ReviewInspection, UnitAcceptance  # issue 14
from core.states import CaseState
from core.web_access import WebLink, WebSession

T = TypeVar("T")

SIGN_DUE_STATES = (CaseState.ASSIGNED,)
ANSWER_DUE_STATES = (CaseState.SIGNED, CaseState.EXTENSION_REQUESTED)


def _copy(obj: T) -> T:
    return copy.deepcopy(obj)


def _stored(obj: T) -> T:
    """What the database would keep: a copy, with datetimes checked and turned into UTC (the
    SQL layer refuses naive datetimes and returns aware UTC ones; so do the fakes, so a service
    that forgets ``astimezone`` for display fails in its unit tests too)."""
    stored = copy.deepcopy(obj)
    if dataclasses.is_dataclass(stored) and not isinstance(stored, type):
        for f in dataclasses.fields(stored):
            value = getattr(stored, f.name)
            if isinstance(value, datetime):
                setattr(stored, f.name, _utc(value))
    return stored


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value!r}: pass an aware datetime (use the Clock)")
    return value.astimezone(UTC)


@dataclass
class FakeStore:
    cases: dict[int, Case] = field(default_factory=dict)
    events: list[CaseEvent] = field(default_factory=list)
    units: dict[str, UnitRecord] = field(default_factory=dict)
    users: dict[int, UserRecord] = field(default_factory=dict)
    citizens: dict[int, Citizen] = field(default_factory=dict)
    liaisons: list[Liaison] = field(default_factory=list)
    leaders: list[UnitLeader] = field(default_factory=list)
    office: dict[int, OfficeMember] = field(default_factory=dict)
    invites: dict[str, InviteCode] = field(default_factory=dict)
    outbox: dict[int, OutboxMessage] = field(default_factory=dict)
    reports: dict[int, UnitReport] = field(default_factory=dict)
    recommendations: dict[int, Recommendation] = field(default_factory=dict)
    accountability: dict[int, AccountabilityRecord] = field(default_factory=dict)
    attachments: dict[int, Attachment] = field(default_factory=dict)
    audit: list[AuditEntry] = field(default_factory=list)
    counters: dict[tuple[str, int], int] = field(default_factory=dict)
    leases: dict[str, tuple[str, datetime]] = field(default_factory=dict)
    api_keys: dict[int, tuple[str, ApiKey]] = field(default_factory=dict)  # id -> (hash, key)
    web_links: dict[str, WebLink] = field(default_factory=dict)  # hash -> link
    web_sessions: dict[str, WebSession] = field(default_factory=dict)  # hash -> session
    practices: dict[int, GoodPractice] = field(default_factory=dict)  # issue 14
    # issue 14: 复核检查 and 验收
    review_inspections: dict[int, ReviewInspection] = field(default_factory=dict)
    review_findings: dict[int, ReviewFinding] = field(default_factory=dict)
    unit_acceptances: dict[int, UnitAcceptance] = field(default_factory=dict)
    campaign_acceptances: dict[int, CampaignAcceptance] = field(default_factory=dict)
    measures: dict[int, Measure] = field(default_factory=dict)  # issue 14, with their history
    # issue 15: /forget requests, and when each case's identity was erased (cases.identity_erased_at)
    erasure_requests: dict[int, ErasureRequest] = field(default_factory=dict)
    erased_cases: dict[int, datetime] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)

    def next_id(self, kind: str) -> int:
        self.ids[kind] = self.ids.get(kind, 0) + 1
        return self.ids[kind]

    # The real tables have foreign keys; the fakes check the same references, so a service test
    # that forgets e.g. users.upsert or units.sync fails here rather than in production.

    def require(self, what: str, key: object, table: Collection[object]) -> None:
        if key is not None and key not in table:
            raise ValueError(f"{what} {key!r} does not exist (a foreign key would refuse it)")

    def require_units(self, *unit_ids: str | None) -> None:
        for unit_id in unit_ids:
            self.require("unit", unit_id, self.units)

    def snapshot(self) -> FakeStore:
        return copy.deepcopy(self)

    def restore(self, snapshot: FakeStore) -> None:
        for f in dataclasses.fields(self):
            setattr(self, f.name, copy.deepcopy(getattr(snapshot, f.name)))


class _Repo:
    def __init__(self, store: FakeStore) -> None:
        self.store = store


class FakeCaseRepository(_Repo):
    async def add(self, case: Case) -> Case:
        if any(c.tracking_no == case.tracking_no for c in self.store.cases.values()):
            raise ValueError(f"duplicate tracking number {case.tracking_no}")
        stored = self._checked(case)
        case.id = stored.id = self.store.next_id("case")
        self.store.cases[case.id] = stored
        return case

    def _checked(self, case: Case) -> Case:
        stored = _stored(case)
        stored.lead_unit_ids, stored.assist_unit_ids = _split_units(case.lead_unit_ids, case.assist_unit_ids)
        self.store.require_units(case.target_unit_id, *stored.lead_unit_ids, *stored.assist_unit_ids)
        self.store.require_units(*(r.unit_id for r in stored.recusals))
        # as the table keeps them: one per unit, ordered by unit, stamped when first stored
        old = self.store.cases.get(case.id) if case.id is not None else None
        first_at = {r.unit_id: r.at for r in old.recusals} if old else {}
        stored.recusals = sorted(
            (
                replace(r, at=_utc(r.at or first_at.get(r.unit_id) or case.created_at))
                for r in {r.unit_id: r for r in stored.recusals}.values()
            ),
            key=lambda r: r.unit_id,
        )
        if case.submission_key is not None and any(
            c.submission_key == case.submission_key and c.id != case.id for c in self.store.cases.values()
        ):
            raise ValueError(f"duplicate submission key {case.submission_key}")
        self.store.require("citizen", case.citizen_id, self.store.citizens)
        return stored

    async def add_within_limit(
        self,
        case: Case,
        *,
        since: datetime,
        limit: int,
        history: Sequence[CaseEvent] = (),
        audit: Sequence[AuditEntry] = (),
        citizen: tuple[int, str | None] | None = None,
    ) -> bool:
        if citizen is not None:
            user_id, phone = citizen
            found = await FakeCitizenRepository(self.store).get_or_create(
                user_id, now=case.created_at, phone=phone
            )
            case.citizen_id = found.id
        if case.submission_key is not None and any(
            c.submission_key == case.submission_key for c in self.store.cases.values()
        ):
            return False
        citizen_id = case.citizen_id
        if citizen_id is not None and await self.count_for_citizen_since(citizen_id, since) >= limit:
            return False
        await self.add(case)
        assert case.id is not None
        for event in history:
            event.case_id = case.id
        await FakeEventRepository(self.store).add_many(history)
        await FakeAuditRepository(self.store).add_many(audit)
        return True

    async def get(self, case_id: int, *, for_update: bool = False) -> Case | None:
        case = self.store.cases.get(case_id)
        return _copy(case) if case else None

    async def get_by_tracking_no(self, tracking_no: str, *, for_update: bool = False) -> Case | None:
        for case in self.store.cases.values():
            if case.tracking_no == tracking_no:
                return _copy(case)
        return None

    async def get_many(self, case_ids: Sequence[int], *, for_update: bool = False) -> builtins.list[Case]:
        return [_copy(self.store.cases[i]) for i in sorted(set(case_ids)) if i in self.store.cases]

    async def get_by_submission_key(self, key: str) -> Case | None:
        for case in self.store.cases.values():
            if case.submission_key == key:
                return _copy(case)
        return None

    async def update(self, case: Case) -> None:
        if case.id is None or case.id not in self.store.cases:
            raise NotFound(kind="case", id=case.id)
        self.store.cases[case.id] = self._checked(case)

    async def set_units(self, case_id: int, lead: Sequence[str], assist: Sequence[str]) -> None:
        if case_id not in self.store.cases:
            raise NotFound(kind="case", id=case_id)
        case = self.store.cases[case_id]
        case.lead_unit_ids, case.assist_unit_ids = _split_units(lead, assist)
        self.store.require_units(*case.lead_unit_ids, *case.assist_unit_ids)

    def _newest_first(self, cases: list[Case]) -> list[Case]:
        return sorted(cases, key=lambda c: (c.created_at, c.id or 0), reverse=True)

    async def list_for_citizen(self, citizen_id: int, *, limit: int = 50, offset: int = 0) -> list[Case]:
        found = [c for c in self.store.cases.values() if c.citizen_id == citizen_id]
        return [_copy(c) for c in self._newest_first(found)[offset : offset + limit]]

    async def count_for_citizen_since(self, citizen_id: int, since: datetime) -> int:
        return sum(
            1 for c in self.store.cases.values() if c.citizen_id == citizen_id and c.created_at >= since
        )

    async def count_for_user_since(self, user_id: int, since: datetime) -> int:
        ids = {c.id for c in self.store.citizens.values() if c.user_id == user_id}
        return sum(1 for c in self.store.cases.values() if c.citizen_id in ids and c.created_at >= since)

    async def list_for_unit(
        self,
        unit_id: str,
        *,
        states: Collection[CaseState] | None = None,
        role: UnitRole | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[Case]:
        def matches(c: Case) -> bool:
            if states is not None and c.state not in states:
                return False
            lead, assist = unit_id in c.lead_unit_ids, unit_id in c.assist_unit_ids
            if role is UnitRole.LEAD:
                return lead
            if role is UnitRole.ASSIST:
                return assist
            return lead or assist

        found = [c for c in self.store.cases.values() if matches(c)]
        return [_copy(c) for c in self._newest_first(found)[offset : offset + limit]]

    async def list_in_states(self, states: Collection[CaseState], *, limit: int = 100) -> list[Case]:
        found = sorted(
            (c for c in self.store.cases.values() if c.state in states),
            key=lambda c: (c.created_at, c.id or 0),
        )
        return [_copy(c) for c in found[:limit]]

    async def list_due(self, until: date) -> list[Case]:
        found = [c for c in self.store.cases.values() if (_running_due(c) or date.max) <= until]
        return [_copy(c) for c in sorted(found, key=lambda c: (_running_due(c) or date.max, c.id or 0))]

    async def list_awaiting_follow_up(self, answered_before: datetime) -> list[Case]:
        found = [
            c
            for c in self.store.cases.values()
            if c.state is CaseState.ANSWERED
            and c.satisfaction is None
            and c.answered_at is not None
            and c.answered_at < answered_before
        ]
        return [_copy(c) for c in sorted(found, key=lambda c: (c.answered_at, c.id or 0))]

    async def sample_closed(
        self, n: int, *, closed_from: datetime | None = None, closed_until: datetime | None = None
    ) -> list[Case]:
        found = [
            c
            for c in self.store.cases.values()
            if c.state is CaseState.CLOSED
            and c.closed_at is not None
            and (closed_from is None or c.closed_at >= closed_from)
            and (closed_until is None or c.closed_at < closed_until)
        ]
        return [_copy(c) for c in random.sample(found, min(max(0, n), len(found)))]


def _split_units(lead: Sequence[str], assist: Sequence[str]) -> tuple[list[str], list[str]]:
    lead_ids = list(dict.fromkeys(lead))
    return lead_ids, [u for u in dict.fromkeys(assist) if u not in lead_ids]


def _running_due(case: Case) -> date | None:
    if case.state in SIGN_DUE_STATES:
        return case.sign_due
    if case.state in ANSWER_DUE_STATES:
        return case.answer_due
    return None


class FakeEventRepository(_Repo):
    async def add(self, event: CaseEvent) -> CaseEvent:
        self.store.require("case", event.case_id, self.store.cases)
        stored = _stored(event)
        event.id = stored.id = self.store.next_id("event")
        self.store.events.append(stored)
        return event

    async def list(self, case_id: int, *, include_internal: bool) -> builtins.list[CaseEvent]:
        found = [
            e
            for e in self.store.events
            if e.case_id == case_id and (include_internal or e.visibility is Visibility.PUBLIC)
        ]
        return [_copy(e) for e in sorted(found, key=lambda e: (e.at, e.id or 0))]

    async def add_many(self, events: Sequence[CaseEvent]) -> None:
        for event in events:
            await self.add(_copy(event))

    async def list_kinds(self, case_ids: Sequence[int], kinds: Sequence[str]) -> builtins.list[CaseEvent]:
        found = [e for e in self.store.events if e.case_id in case_ids and e.kind in kinds]
        return [_copy(e) for e in sorted(found, key=lambda e: (e.at, e.id or 0))]


class FakeUnitRepository(_Repo):
    async def sync(self, units: Sequence[UnitRecord]) -> None:
        wanted = {u.id for u in units}
        for unit in units:
            self.store.units[unit.id] = _copy(unit)
        for unit_id, unit in self.store.units.items():
            if unit_id not in wanted:
                unit.active = False

    async def get(self, unit_id: str) -> UnitRecord | None:
        unit = self.store.units.get(unit_id)
        return _copy(unit) if unit else None

    async def list(self, *, include_inactive: bool = False) -> builtins.list[UnitRecord]:
        return [_copy(u) for _, u in sorted(self.store.units.items()) if include_inactive or u.active]


class FakeUserRepository(_Repo):
    async def get(self, user_id: int) -> UserRecord | None:
        user = self.store.users.get(user_id)
        return _copy(user) if user else None

    async def upsert(
        self,
        user_id: int,
        *,
        now: datetime,
        chat_id: int | None = None,
        language: str | None = None,
        first_language: str | None = None,
    ) -> UserRecord:
        now = _utc(now)
        user = self.store.users.get(user_id)
        if user is None:
            user = self.store.users[user_id] = UserRecord(
                user_id=user_id, first_seen=now, language=language or first_language or "zh", chat_id=chat_id
            )
        else:
            if chat_id is not None:
                user.chat_id = chat_id
            if language is not None:
                user.language = language
        return _copy(user)

    async def set_language(self, user_id: int, language: str) -> None:
        if user_id in self.store.users:
            self.store.users[user_id].language = language

    async def set_blocked(self, user_id: int, blocked: bool) -> None:
        if user_id in self.store.users:
            self.store.users[user_id].blocked_bot = blocked


class FakeCitizenRepository(_Repo):
    async def get(self, citizen_id: int) -> Citizen | None:
        citizen = self.store.citizens.get(citizen_id)
        return _copy(citizen) if citizen else None

    async def get_by_user(self, user_id: int) -> Citizen | None:
        for citizen in self.store.citizens.values():
            if citizen.user_id == user_id:
                return _copy(citizen)
        return None

    async def get_or_create(self, user_id: int, *, now: datetime, phone: str | None = None) -> Citizen:
        now = _utc(now)
        existing = await self.get_by_user(user_id)
        if existing:
            assert existing.id is not None
            if phone is not None:
                await self.set_phone(existing.id, phone)
                existing.phone = phone
            return existing
        self.store.require("user", user_id, self.store.users)
        citizen = Citizen(id=self.store.next_id("citizen"), user_id=user_id, created_at=now, phone=phone)
        assert citizen.id is not None
        self.store.citizens[citizen.id] = citizen
        return _copy(citizen)

    async def set_phone(self, citizen_id: int, phone: str | None) -> None:
        if citizen_id in self.store.citizens:
            self.store.citizens[citizen_id].phone = phone

    async def get_or_create_account(self, account: ApiAccount, *, now: datetime) -> Citizen:
        self.store.require("api key", account.api_key_id, self.store.api_keys)
        for citizen in self.store.citizens.values():
            if (citizen.api_key_id, citizen.external_id) == (account.api_key_id, account.external_id):
                for name in ("phone", "email", "name"):
                    if getattr(account, name) is not None:
                        setattr(citizen, name, getattr(account, name))
                return _copy(citizen)
        citizen = Citizen(
            id=self.store.next_id("citizen"),
            user_id=None,
            created_at=_utc(now),
            phone=account.phone,
            api_key_id=account.api_key_id,
            external_id=account.external_id,
            email=account.email,
            name=account.name,
        )
        assert citizen.id is not None
        self.store.citizens[citizen.id] = citizen
        return _copy(citizen)


class FakeLiaisonRepository(_Repo):
    async def get_active(self, user_id: int) -> Liaison | None:
        for liaison in self.store.liaisons:
            if liaison.user_id == user_id and liaison.removed_at is None:
                return _copy(liaison)
        return None

    async def add(self, user_id: int, unit_id: str, *, now: datetime) -> Liaison:
        now = _utc(now)
        self.store.require("user", user_id, self.store.users)
        self.store.require_units(unit_id)
        await self.remove(user_id, now=now)
        liaison = Liaison(user_id=user_id, unit_id=unit_id, joined_at=now, id=self.store.next_id("liaison"))
        self.store.liaisons.append(liaison)
        return _copy(liaison)

    async def remove(self, user_id: int, *, now: datetime) -> bool:
        removed = False
        for liaison in self.store.liaisons:
            if liaison.user_id == user_id and liaison.removed_at is None:
                liaison.removed_at, removed = _utc(now), True
        return removed

    async def list_for_unit(self, unit_id: str) -> list[Liaison]:
        return [_copy(x) for x in self.store.liaisons if x.unit_id == unit_id and x.removed_at is None]

    async def list_for_units(self, unit_ids: Sequence[str]) -> list[Liaison]:
        found = [x for x in self.store.liaisons if x.unit_id in unit_ids and x.removed_at is None]
        return [_copy(x) for x in sorted(found, key=lambda x: (x.unit_id, x.joined_at, x.id or 0))]

    async def list_active(self) -> list[Liaison]:
        active = [x for x in self.store.liaisons if x.removed_at is None]
        return [_copy(x) for x in sorted(active, key=lambda x: (x.unit_id, x.joined_at, x.id or 0))]


class FakeLeaderRepository(_Repo):
    def _current(self, unit_id: str, role: InviteRole) -> UnitLeader | None:
        for leader in self.store.leaders:
            if leader.unit_id == unit_id and leader.role is role and leader.ended_at is None:
                return leader
        return None

    async def bind(
        self, unit_id: str, role: InviteRole, user_id: int, *, name: str, now: datetime
    ) -> UnitLeader | None:
        now = _utc(now)
        self.store.require("user", user_id, self.store.users)
        self.store.require_units(unit_id)
        current = self._current(unit_id, role)
        if current is not None and current.user_id == user_id:
            current.name = name or current.name
            return None
        if current is not None:
            current.ended_at = now
        self.store.leaders.append(
            UnitLeader(unit_id, role, user_id, now, name=name, id=self.store.next_id("leader"))
        )
        return _copy(current) if current is not None else None

    async def end(self, unit_id: str, role: InviteRole, *, now: datetime) -> UnitLeader | None:
        current = self._current(unit_id, role)
        if current is None:
            return None
        current.ended_at = _utc(now)
        return _copy(current)

    async def list_active(self, unit_ids: Sequence[str] | None = None) -> list[UnitLeader]:
        found = [
            x
            for x in self.store.leaders
            if x.ended_at is None and (unit_ids is None or x.unit_id in unit_ids)
        ]
        return [_copy(x) for x in sorted(found, key=lambda x: (x.unit_id, x.role.value))]

    async def list_all(self) -> list[UnitLeader]:
        return [_copy(x) for x in sorted(self.store.leaders, key=lambda x: (x.bound_at, x.id or 0))]


class FakeOfficeRepository(_Repo):
    async def get(self, user_id: int) -> OfficeMember | None:
        member = self.store.office.get(user_id)
        return _copy(member) if member else None

    async def is_member(self, user_id: int) -> bool:
        member = self.store.office.get(user_id)
        return member is not None and member.active

    async def add(
        self, user_id: int, *, added_by: int | None, now: datetime, campaign: str = ""
    ) -> OfficeMember:
        now = _utc(now)
        member = self.store.office[user_id] = OfficeMember(
            user_id=user_id, added_at=now, added_by=added_by, campaign=campaign
        )
        return _copy(member)

    async def remove(self, user_id: int) -> bool:
        member = self.store.office.get(user_id)
        if member is None or not member.active:
            return False
        member.active = False
        return True

    async def list_active(self) -> list[OfficeMember]:
        return [_copy(m) for _, m in sorted(self.store.office.items()) if m.active]


class FakeInviteRepository(_Repo):
    async def add(
        self,
        code_hash: str,
        unit_id: str,
        *,
        created_by: int | None,
        now: datetime,
        expires_at: datetime,
        role: InviteRole = InviteRole.LIAISON,
    ) -> InviteCode:
        if code_hash in self.store.invites:
            raise ValueError("duplicate invite code")
        self.store.require_units(unit_id)
        invite = InviteCode(
            code_hash=code_hash,
            unit_id=unit_id,
            created_at=now,
            expires_at=expires_at,
            created_by=created_by,
            id=self.store.next_id("invite"),
            role=role,
        )
        invite = self.store.invites[code_hash] = _stored(invite)
        return _copy(invite)

    async def get(self, code_hash: str) -> InviteCode | None:
        invite = self.store.invites.get(code_hash)
        return _copy(invite) if invite else None

    async def consume(self, code_hash: str, user_id: int, *, now: datetime) -> InviteCode | None:
        invite = self.store.invites.get(code_hash)
        if invite is None or not invite.usable(now):
            return None
        invite.used_at, invite.used_by = _utc(now), user_id
        return _copy(invite)

    async def list_open(self, *, now: datetime, unit_id: str | None = None) -> list[InviteCode]:
        found = [
            i
            for i in self.store.invites.values()
            if i.usable(now) and (unit_id is None or i.unit_id == unit_id)
        ]
        return [_copy(i) for i in sorted(found, key=lambda i: (i.created_at, i.id or 0))]


class FakeOutboxRepository(_Repo):
    async def add(self, message: OutboxMessage) -> bool:
        if message.dedup_key is not None and any(
            m.dedup_key == message.dedup_key for m in self.store.outbox.values()
        ):
            return False
        stored = _stored(message)
        stored.not_before = stored.not_before or stored.created_at
        message.id = stored.id = self.store.next_id("outbox")
        self.store.outbox[message.id] = stored
        return True

    async def claim_batch(
        self, worker_id: str, *, now: datetime, limit: int, lease: timedelta
    ) -> list[OutboxMessage]:
        def claimable(m: OutboxMessage) -> bool:
            return (
                m.state is OutboxState.PENDING
                and m.not_before is not None
                and m.not_before <= now
                and (m.claimed_until is None or m.claimed_until <= now)
            )

        chosen = sorted(
            (m for m in self.store.outbox.values() if claimable(m)), key=lambda m: (m.not_before, m.id or 0)
        )[:limit]
        for m in chosen:
            m.claimed_by, m.claimed_until, m.attempts = worker_id, _utc(now + lease), m.attempts + 1
        return [_copy(m) for m in chosen]

    async def add_many(self, messages: Sequence[OutboxMessage]) -> list[str | None]:
        return [m.dedup_key for m in messages if await self.add(_copy(m))]

    async def release_claims(self, worker_id: str) -> int:
        outbox = self.store.outbox.values()
        found = [m for m in outbox if m.claimed_by == worker_id and m.state is OutboxState.PENDING]
        for m in found:
            m.claimed_by = m.claimed_until = None
        return len(found)

    async def withdraw_pending(self, chat_ids: Collection[int], tracking_no: str) -> int:
        found = [
            m
            for m in self.store.outbox.values()
            if m.state is OutboxState.PENDING
            and m.chat_id in chat_ids
            and isinstance(params := m.payload.get("text_params"), dict)
            and params.get("tracking_no") == tracking_no
        ]
        for m in found:
            m.state = OutboxState.WITHDRAWN
        return len(found)

    def _set(self, message_id: int, **values: Any) -> None:
        message = self.store.outbox.get(message_id)
        if message is None:
            return
        for name, value in {"claimed_by": None, "claimed_until": None, **values}.items():
            setattr(message, name, _utc(value) if isinstance(value, datetime) else value)

    async def mark_sent(self, message_id: int, *, now: datetime) -> None:
        self._set(message_id, state=OutboxState.SENT, sent_at=now, last_error=None)

    async def mark_failed(self, message_id: int, *, error: str, retry_at: datetime) -> None:
        self._set(message_id, state=OutboxState.PENDING, last_error=error, not_before=retry_at)

    async def mark_dead(self, message_id: int, *, error: str) -> None:
        self._set(message_id, state=OutboxState.DEAD, last_error=error)

    async def mark_blocked(self, message_id: int, *, error: str) -> None:
        self._set(message_id, state=OutboxState.BLOCKED, last_error=error)

    async def get(self, message_id: int) -> OutboxMessage | None:
        message = self.store.outbox.get(message_id)
        return _copy(message) if message else None

    async def next_due(self) -> datetime | None:
        dues = [
            max(m.not_before or m.created_at, m.claimed_until or m.created_at)
            for m in self.store.outbox.values()
            if m.state is OutboxState.PENDING
        ]
        return min(dues, default=None)

    async def claim_chat_heads(
        self,
        worker_id: str,
        *,
        now: datetime,
        limit: int,
        lease: timedelta,
        exclude_chats: Collection[int] = (),
    ) -> list[OutboxMessage]:
        heads: dict[int, OutboxMessage] = {}
        for m in sorted(self.store.outbox.values(), key=lambda m: m.id or 0):
            queued = m.attempts > 0 or (m.not_before is not None and m.not_before <= now)
            if m.state is OutboxState.PENDING and queued and m.chat_id not in heads:
                heads[m.chat_id] = m
        chosen = sorted(
            (
                m
                for m in heads.values()
                if m.not_before is not None
                and m.not_before <= now
                and (m.claimed_until is None or m.claimed_until <= now)
                and m.chat_id not in exclude_chats
            ),
            key=lambda m: (m.not_before, m.id or 0),
        )[:limit]
        for m in chosen:
            m.claimed_by, m.claimed_until, m.attempts = worker_id, _utc(now + lease), m.attempts + 1
        return [_copy(m) for m in chosen]

    async def list_failed(self, *, limit: int = 50) -> builtins.list[OutboxMessage]:
        failed = [m for m in self.store.outbox.values() if m.state in (OutboxState.DEAD, OutboxState.BLOCKED)]
        return [_copy(m) for m in sorted(failed, key=lambda m: m.id or 0, reverse=True)[:limit]]

    async def count_by_state(self) -> dict[OutboxState, int]:
        counts = dict.fromkeys(OutboxState, 0)
        for m in self.store.outbox.values():
            counts[m.state] += 1
        return counts


class FakeReportRepository(_Repo):
    async def add(self, report: UnitReport) -> UnitReport:
        stored = self._checked(report)
        report.id = stored.id = self.store.next_id("report")
        self.store.reports[report.id] = stored
        return report

    def _checked(self, report: UnitReport) -> UnitReport:
        self.store.require_units(report.unit_id)
        self.store.require("recommendation", report.recommendation_id, self.store.recommendations)
        return _stored(report)

    async def get(self, report_id: int) -> UnitReport | None:
        report = self.store.reports.get(report_id)
        return _copy(report) if report else None

    async def update(self, report: UnitReport) -> None:
        if report.id is None or report.id not in self.store.reports:
            raise NotFound(kind="report", id=report.id)
        self.store.reports[report.id] = self._checked(report)

    async def list(
        self,
        *,
        unit_id: str | None = None,
        kind: ReportKind | None = None,
        phase_id: str | None = None,
        recommendation_id: int | None = None,
    ) -> builtins.list[UnitReport]:
        found = [
            r
            for r in self.store.reports.values()
            if (unit_id is None or r.unit_id == unit_id)
            and (kind is None or r.kind is kind)
            and (phase_id is None or r.phase_id == phase_id)
            and (recommendation_id is None or r.recommendation_id == recommendation_id)
        ]
        return [_copy(r) for r in sorted(found, key=lambda r: (r.submitted_at, r.id or 0))]

    async def add_recommendation(self, rec: Recommendation) -> Recommendation:
        self.store.require_units(rec.unit_id)
        stored = _stored(rec)
        rec.id = stored.id = self.store.next_id("recommendation")
        self.store.recommendations[rec.id] = stored
        return rec

    async def get_recommendation(self, rec_id: int) -> Recommendation | None:
        rec = self.store.recommendations.get(rec_id)
        return _copy(rec) if rec else None

    async def update_recommendation(self, rec: Recommendation) -> None:
        if rec.id is None or rec.id not in self.store.recommendations:
            raise NotFound(kind="recommendation", id=rec.id)
        self.store.recommendations[rec.id] = _stored(rec)

    async def list_recommendations(
        self, *, unit_id: str | None = None, statuses: Collection[RecommendationStatus] | None = None
    ) -> builtins.list[Recommendation]:
        found = [
            r
            for r in self.store.recommendations.values()
            if (unit_id is None or r.unit_id == unit_id) and (statuses is None or r.status in statuses)
        ]
        return [_copy(r) for r in sorted(found, key=lambda r: (r.issued_at, r.id or 0))]

    async def add_accountability(self, record: AccountabilityRecord) -> AccountabilityRecord:
        self.store.require_units(record.unit_id)
        stored = _stored(record)
        record.id = stored.id = self.store.next_id("accountability")
        self.store.accountability[stored.id] = stored
        return _copy(stored)

    async def list_accountability(self, *, unit_id: str | None = None) -> builtins.list[AccountabilityRecord]:
        found = [r for r in self.store.accountability.values() if unit_id is None or r.unit_id == unit_id]
        return [_copy(r) for r in sorted(found, key=lambda r: (r.recorded_at, r.id or 0))]


class FakeAttachmentRepository(_Repo):
    async def add(self, attachment: Attachment) -> Attachment:
        self.store.require("case", attachment.case_id, self.store.cases)
        self.store.require("report", attachment.report_id, self.store.reports)
        stored = _stored(attachment)
        attachment.id = stored.id = self.store.next_id("attachment")
        self.store.attachments[attachment.id] = stored
        return attachment

    async def list_for_case(self, case_id: int) -> list[Attachment]:
        return [_copy(a) for _, a in sorted(self.store.attachments.items()) if a.case_id == case_id]

    async def list_for_report(self, report_id: int) -> list[Attachment]:
        return [_copy(a) for _, a in sorted(self.store.attachments.items()) if a.report_id == report_id]


class FakeAuditRepository(_Repo):
    async def add(self, entry: AuditEntry) -> AuditEntry:
        stored = _stored(entry)
        entry.id = stored.id = self.store.next_id("audit")
        self.store.audit.append(stored)
        return entry

    async def add_many(self, entries: Sequence[AuditEntry]) -> None:
        for entry in entries:
            await self.add(_copy(entry))

    async def list_recent(self, *, limit: int = 50, actor_id: int | None = None) -> list[AuditEntry]:
        found = [e for e in self.store.audit if actor_id is None or e.actor_id == actor_id]
        found.sort(key=lambda e: (e.at, e.id or 0), reverse=True)
        return [_copy(e) for e in found[:limit]]


class FakeCounterRepository(_Repo):
    async def next(self, prefix: str, year: int) -> int:
        value = self.store.counters.get((prefix, year), 0) + 1
        self.store.counters[(prefix, year)] = value
        return value


class FakeLeaseRepository(_Repo):
    async def try_acquire(self, name: str, holder: str, *, now: datetime, ttl: timedelta) -> bool:
        current = self.store.leases.get(name)
        if current is not None and current[0] != holder and current[1] > now:
            return False
        self.store.leases[name] = (holder, _utc(now + ttl))
        return True

    async def release(self, name: str, holder: str) -> None:
        current = self.store.leases.get(name)
        if current is not None and current[0] == holder:
            del self.store.leases[name]

    async def holder(self, name: str) -> tuple[str, datetime] | None:
        return self.store.leases.get(name)


class FakeApiKeyRepository(_Repo):
    async def add(self, key_hash: str, name: str, *, created_by: int | None, now: datetime) -> ApiKey:
        if any(stored == key_hash for stored, _ in self.store.api_keys.values()):
            raise ValueError("duplicate key hash (a unique constraint would refuse it)")
        key = ApiKey(id=self.store.next_id("api_key"), name=name, created_at=_utc(now), created_by=created_by)
        self.store.api_keys[key.id] = (key_hash, key)
        return _copy(key)

    async def get(self, key_id: int) -> ApiKey | None:
        found = self.store.api_keys.get(key_id)
        return _copy(found[1]) if found else None

    async def get_by_hash(self, key_hash: str) -> ApiKey | None:
        for stored, key in self.store.api_keys.values():
            if stored == key_hash:
                return _copy(key)
        return None

    async def list_all(self) -> builtins.list[ApiKey]:
        return [_copy(key) for _, key in sorted(self.store.api_keys.values(), key=lambda p: -p[1].id)]

    async def revoke(self, key_id: int, *, by: int | None, now: datetime) -> bool:
        found = self.store.api_keys.get(key_id)
        if found is None or found[1].revoked_at is not None:
            return False
        found[1].revoked_at, found[1].revoked_by = _utc(now), by
        return True

    async def touch(self, key_id: int, *, now: datetime) -> None:
        found = self.store.api_keys.get(key_id)
        if found is not None:
            found[1].last_used_at = _utc(now)


class FakeWebAccessRepository(_Repo):
    async def add_link(
        self, token_hash: str, user_id: int, *, now: datetime, expires_at: datetime
    ) -> WebLink:
        if token_hash in self.store.web_links:
            raise ValueError("duplicate link hash (a unique constraint would refuse it)")
        link = WebLink(self.store.next_id("web_link"), user_id, _utc(now), _utc(expires_at))
        self.store.web_links[token_hash] = link
        return _copy(link)

    async def get_link(self, token_hash: str) -> WebLink | None:
        found = self.store.web_links.get(token_hash)
        return _copy(found) if found else None

    async def consume_link(self, token_hash: str, *, now: datetime) -> WebLink | None:
        found = self.store.web_links.get(token_hash)
        if found is None or not found.usable(_utc(now)):
            return None
        found.used_at = _utc(now)
        return _copy(found)

    async def add_session(self, token_hash: str, user_id: int, *, now: datetime) -> WebSession:
        session = WebSession(self.store.next_id("web_session"), user_id, _utc(now), _utc(now))
        self.store.web_sessions[token_hash] = session
        return _copy(session)

    async def get_session(self, token_hash: str) -> WebSession | None:
        found = self.store.web_sessions.get(token_hash)
        return _copy(found) if found else None

    def _by_id(self, session_id: int) -> WebSession | None:
        return next((s for s in self.store.web_sessions.values() if s.id == session_id), None)

    async def touch_session(self, session_id: int, *, now: datetime) -> None:
        found = self._by_id(session_id)
        if found is not None:
            found.last_seen_at = _utc(now)

    async def end_session(self, session_id: int, *, now: datetime, reason: str) -> bool:
        found = self._by_id(session_id)
        if found is None or found.ended_at is not None:
            return False
        found.ended_at, found.end_reason = _utc(now), reason
        return True

    async def end_sessions_of(self, user_id: int, *, now: datetime, reason: str) -> int:
        ended = 0
        for session in self.store.web_sessions.values():
            if session.user_id == user_id and session.ended_at is None:
                session.ended_at, session.end_reason = _utc(now), reason
                ended += 1
        return ended


# Review inspections and acceptance (issue 14: 复核检查, 验收).
class FakeReviewRepository(_Repo):
    async def add_inspection(self, inspection: ReviewInspection) -> ReviewInspection:
        self.store.require_units(*inspection.unit_ids)
        stored = _stored(inspection)
        inspection.id = stored.id = self.store.next_id("review_inspection")
        self.store.review_inspections[stored.id] = stored
        return copy.deepcopy(stored)

    async def get_inspection(self, inspection_id: int) -> ReviewInspection | None:
        return copy.deepcopy(self.store.review_inspections.get(inspection_id))

    async def list_inspections(self) -> builtins.list[ReviewInspection]:
        found = sorted(self.store.review_inspections.values(), key=lambda i: (i.inspected_on, i.id or 0))
        return copy.deepcopy(found)

    async def add_finding(self, finding: ReviewFinding) -> ReviewFinding:
        self.store.require_units(finding.unit_id)
        self.store.require("review_inspection", finding.inspection_id, self.store.review_inspections)
        stored = _stored(finding)
        finding.id = stored.id = self.store.next_id("review_finding")
        self.store.review_findings[stored.id] = stored
        return copy.deepcopy(stored)

    async def get_finding(self, finding_id: int, *, for_update: bool = False) -> ReviewFinding | None:
        return copy.deepcopy(self.store.review_findings.get(finding_id))

    async def list_findings(
        self, *, unit_id: str | None = None, inspection_id: int | None = None
    ) -> builtins.list[ReviewFinding]:
        found = [
            f
            for f in self.store.review_findings.values()
            if (unit_id is None or f.unit_id == unit_id)
            and (inspection_id is None or f.inspection_id == inspection_id)
        ]
        return copy.deepcopy(sorted(found, key=lambda f: f.id or 0))

    async def link_recommendation(self, finding_id: int, recommendation_id: int) -> None:
        stored = self.store.review_findings.get(finding_id)
        if stored is None:
            raise NotFound(kind="finding", id=finding_id)
        self.store.require("recommendation", recommendation_id, self.store.recommendations)
        stored.recommendation_id = recommendation_id

    async def add_unit_acceptance(self, acceptance: UnitAcceptance) -> UnitAcceptance:
        self.store.require_units(acceptance.unit_id)
        stored = _stored(acceptance)
        acceptance.id = stored.id = self.store.next_id("unit_acceptance")
        self.store.unit_acceptances[stored.id] = stored
        return copy.deepcopy(stored)

    async def list_unit_acceptances(self, *, unit_id: str | None = None) -> builtins.list[UnitAcceptance]:
        found = [a for a in self.store.unit_acceptances.values() if unit_id is None or a.unit_id == unit_id]
        return copy.deepcopy(sorted(found, key=lambda a: (a.decided_at, a.id or 0)))

    async def add_campaign_acceptance(self, acceptance: CampaignAcceptance) -> CampaignAcceptance:
        stored = _stored(acceptance)
        acceptance.id = stored.id = self.store.next_id("campaign_acceptance")
        self.store.campaign_acceptances[stored.id] = stored
        return copy.deepcopy(stored)

    async def latest_campaign_acceptance(self) -> CampaignAcceptance | None:
        found = sorted(self.store.campaign_acceptances.values(), key=lambda a: (a.decided_at, a.id or 0))
        return copy.deepcopy(found[-1]) if found else None


# Good practices and long-term measures (issue 14).
class FakePracticeRepository(_Repo):
    async def add_practice(self, practice: GoodPractice) -> GoodPractice:
        self.store.require_units(practice.unit_id)
        stored = _stored(practice)
        practice.id = stored.id = self.store.next_id("practice")
        self.store.practices[stored.id] = stored
        return copy.deepcopy(stored)

    async def get_practice(self, practice_id: int) -> GoodPractice | None:
        return copy.deepcopy(self.store.practices.get(practice_id))

    async def update_practice(self, practice: GoodPractice) -> None:
        stored = self.store.practices.get(practice.id or 0)
        if stored is None:
            raise NotFound(kind="practice", id=practice.id)
        stored.shared_at = _utc(practice.shared_at) if practice.shared_at else None
        stored.shared_to = practice.shared_to

    async def list_practices(self, *, unit_id: str | None = None) -> builtins.list[GoodPractice]:
        found = [p for p in self.store.practices.values() if unit_id is None or p.unit_id == unit_id]
        return copy.deepcopy(sorted(found, key=lambda p: (p.recorded_at, p.id or 0)))

    async def add_measure(self, measure: Measure) -> Measure:
        self.store.require_units(measure.unit_id)
        stored = _stored(measure)
        measure.id = stored.id = self.store.next_id("measure")
        self.store.measures[stored.id] = stored
        return copy.deepcopy(stored)

    async def get_measure(self, measure_id: int, *, for_update: bool = False) -> Measure | None:
        return copy.deepcopy(self.store.measures.get(measure_id))

    async def update_measure(self, measure: Measure, change: MeasureChange) -> None:
        stored = self.store.measures.get(measure.id or 0)
        if stored is None:
            raise NotFound(kind="measure", id=measure.id)
        stored.status = measure.status
        stored.updated_at = _utc(measure.updated_at) if measure.updated_at else None
        stored.evidence = list(measure.evidence)
        stored.history.append(replace(change, at=_utc(change.at)))

    async def list_measures(
        self, *, unit_id: str | None = None, statuses: Collection[MeasureStatus] | None = None
    ) -> builtins.list[Measure]:
        found = [
            m
            for m in self.store.measures.values()
            if (unit_id is None or m.unit_id == unit_id) and (statuses is None or m.status in statuses)
        ]
        return copy.deepcopy(sorted(found, key=lambda m: (m.created_at, m.id or 0)))


class FakeUnitOfWork:
    """Implements ``core.ports.UnitOfWork`` over a ``FakeStore``.

    ``commits`` counts commits, so a test can assert that a service committed (or did not).
    """

    def __init__(self, store: FakeStore | None = None) -> None:
        self.store = store if store is not None else FakeStore()
        self.commits = 0
        self._snapshot: FakeStore | None = None
        s = self.store
        self.cases = FakeCaseRepository(s)
        self.events = FakeEventRepository(s)
        self.units = FakeUnitRepository(s)
        self.users = FakeUserRepository(s)
        self.citizens = FakeCitizenRepository(s)
        self.liaisons = FakeLiaisonRepository(s)
        self.leaders = FakeLeaderRepository(s)
        self.office = FakeOfficeRepository(s)
        self.invites = FakeInviteRepository(s)
        self.outbox = FakeOutboxRepository(s)
        self.reports = FakeReportRepository(s)
        self.attachments = FakeAttachmentRepository(s)
        self.audit = FakeAuditRepository(s)
        self.counters = FakeCounterRepository(s)
        self.leases = FakeLeaseRepository(s)
        self.api_keys = FakeApiKeyRepository(s)
        self.web = FakeWebAccessRepository(s)
        self.retention = FakeRetentionRepository(s)  # issue 15
        self.practices = FakePracticeRepository(s)  # issue 14
        self.review = FakeReviewRepository(s)  # issue 14: 复核检查, 验收

    async def __aenter__(self) -> Self:
        if self._snapshot is not None:
            raise RuntimeError("unit of work entered twice; create one per task")
        self._snapshot = self.store.snapshot()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.rollback()
        self._snapshot = None

    async def commit(self) -> None:
        self._snapshot = self.store.snapshot()
        self.commits += 1

    async def rollback(self) -> None:
        if self._snapshot is not None:
            self.store.restore(self._snapshot)


def fake_uow_factory(store: FakeStore | None = None) -> UnitOfWorkFactory:
    """A fresh ``FakeUnitOfWork`` per call, all over the same store."""
    shared = store if store is not None else FakeStore()
    return lambda: FakeUnitOfWork(shared)


# -- retention and erasure (issue 15) ----------------------------------------------------------


class FakeRetentionRepository(_Repo):
    """``core.ports.RetentionRepository`` over the store: the same erasure as
    storage/repositories/retention.py, on the tables the fakes have (no dialog state)."""

    def _erasable(self, case: Case) -> ErasableCase:
        assert case.id is not None
        closed = case.closed_at
        if closed is None and case.state is CaseState.REJECTED:
            closed = max((e.at for e in self.store.events if e.case_id == case.id), default=None)
        return ErasableCase(case.id, case.tracking_no, case.state, case.citizen_id, closed)

    def _kept(self) -> list[Case]:
        return [c for i, c in sorted(self.store.cases.items()) if i not in self.store.erased_cases]

    async def list_due(self, closed_before: datetime | None, *, limit: int) -> builtins.list[ErasableCase]:
        found: dict[int, ErasableCase] = {}
        final = [self._erasable(c) for c in self._kept() if c.state.is_final]
        if closed_before is not None:
            by_date = [c for c in final if c.closed_at is not None and c.closed_at < _utc(closed_before)]
            for c in sorted(by_date, key=lambda c: (c.closed_at, c.case_id)):
                found[c.case_id] = c
        requests = [r for r in self.store.erasure_requests.values() if r.citizen_id is not None]
        numbers = {n for r in requests for n in r.cases}
        for c in final:
            if c.tracking_no in numbers:
                found.setdefault(c.case_id, c)
        return list(found.values())[:limit]

    async def list_for_citizen(self, citizen_id: int) -> builtins.list[ErasableCase]:
        return [self._erasable(c) for c in self._kept() if c.citizen_id == citizen_id]

    def _known(self, citizen_id: int | None) -> tuple[str, ...]:
        citizen = self.store.citizens.get(citizen_id) if citizen_id is not None else None
        if citizen is None:
            return ()
        return tuple(v for v in (citizen.phone, citizen.email, citizen.name, citizen.external_id) if v)

    async def erase_cases(
        self, case_ids: Collection[int], *, now: datetime
    ) -> tuple[Erased, builtins.list[str]]:
        cases = [c for c in self._kept() if c.id in set(case_ids)]
        done = Erased([c.tracking_no for c in cases])
        hashes: set[str] = set()
        for case in cases:
            assert case.id is not None
            known = self._known(case.citizen_id)
            citizen = self.store.citizens.get(case.citizen_id) if case.citizen_id is not None else None
            user = citizen.user_id if citizen is not None else None
            for name in ("description", "target_text", "place", "occurred", "satisfaction_comment"):
                setattr(case, name, scrub_text(getattr(case, name) or "", known))
            case.citizen_id = None
            case.submission_key = None
            self.store.erased_cases[case.id] = _utc(now)
            for event in self.store.events:
                if event.case_id == case.id:
                    event.text = scrub_text(event.text, known)
                    event.data = scrub_json(event.data, known)  # type: ignore[assignment]
                    if event.actor.value == "citizen":
                        event.actor_ref = None
            for attachment in self.store.attachments.values():
                if attachment.case_id == case.id:
                    if sha := getattr(attachment, "sha256", None):
                        hashes.add(sha)
                        attachment.sha256 = None  # type: ignore[attr-defined,unused-ignore]
                    attachment.file_id = attachment.file_unique_id = ""
                    attachment.file_name = attachment.added_by = None
                    done.evidence += 1
            if user is not None:
                for key, message in list(self.store.outbox.items()):
                    if message.chat_id == user and case.tracking_no in repr(message.payload):
                        del self.store.outbox[key]
                        done.scrubbed += 1
        still = {getattr(a, "sha256", None) for a in self.store.attachments.values()}
        return done, sorted(hashes - still)

    async def purge_citizens(self, citizen_ids: Collection[int], *, now: datetime) -> Erased:
        done = Erased([])
        used = {c.citizen_id for c in self.store.cases.values()}
        for citizen_id in citizen_ids:
            if citizen_id in used or citizen_id not in self.store.citizens:
                continue
            self._mask_person(citizen_id)
            del self.store.citizens[citizen_id]
            for request in self.store.erasure_requests.values():
                if request.citizen_id == citizen_id:
                    self.store.erasure_requests[request.id] = replace(request, citizen_id=None)
            done.citizens += 1
        return done

    def _mask_person(self, citizen_id: int) -> None:
        citizen = self.store.citizens[citizen_id]
        known = self._known(citizen_id)
        for message in self.store.outbox.values():
            if citizen.user_id is not None and message.chat_id == citizen.user_id:
                message.payload = scrub_json(message.payload, known)  # type: ignore[assignment]

    async def forget_citizen(self, citizen_id: int, *, now: datetime) -> Erased:
        if citizen_id in self.store.citizens:
            self._mask_person(citizen_id)
            citizen = self.store.citizens[citizen_id]
            citizen.phone = citizen.email = citizen.name = None
        return Erased([])

    async def add_request(self, citizen_id: int, cases: Sequence[str], *, now: datetime) -> ErasureRequest:
        self.store.require("citizen", citizen_id, self.store.citizens)
        request = ErasureRequest(
            id=self.store.next_id("erasure_request"),
            citizen_id=citizen_id,
            requested_at=_utc(now),
            cases=tuple(cases),
        )
        self.store.erasure_requests[request.id] = request
        return request

    async def get_request(self, request_id: int) -> ErasureRequest | None:
        return self.store.erasure_requests.get(request_id)

    async def decide_request(
        self, request_id: int, decision: ForgetDecision, *, by: int, now: datetime
    ) -> ErasureRequest | None:
        request = self.store.erasure_requests.get(request_id)
        if request is None or request.decision is not None:
            return None
        decided = replace(request, decision=decision, decided_at=_utc(now), decided_by=by)
        self.store.erasure_requests[request_id] = decided
        return decided
