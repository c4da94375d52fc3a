"""What the domain needs from storage, as Protocols (Cosmic Python's "abstract repository").

Services depend on these, never on SQLAlchemy. ``storage.uow.SqlUnitOfWork`` is the real
implementation; ``tests.fakes.FakeUnitOfWork`` is the in-memory one for service tests.

Rules every implementation keeps:
- Repositories take and return core dataclasses, never ORM rows.
- Repositories never commit; the service calls ``await uow.commit()``. Leaving
  ``async with uow:`` without a commit rolls everything back.
- A returned object is a copy: changing it changes nothing until it is passed back
  (``cases.update(case)``, ``reports.update(report)``...).
- Datetimes are timezone-aware; they come back in UTC (compare them, or ``astimezone`` them for
  display). Dates (deadlines) are plain ``date``.
- One unit of work per operation: a ``UnitOfWork`` is not shared between concurrent tasks;
  services get a ``UnitOfWorkFactory`` and call it once per use case.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Collection, Sequence
from datetime import date, datetime, timedelta
from types import TracebackType
from typing import Protocol, Self

from core.api_keys import ApiAccount, ApiKey
from core.attachments import Attachment
from core.audit import AuditEntry
from core.cases import Case, CaseEvent
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
from core.measures import GoodPractice, Measure, MeasureChange, MeasureStatus  # issue 14
from core.outbox import OutboxMessage, OutboxState
from core.reports import AccountabilityRecord, Recommendation, RecommendationStatus, ReportKind, UnitReport
from core.retention import ErasableCase, Erased, ErasureRequest, ForgetDecision
from core.review import CampaignAcceptance, ReviewFinding, ReviewInspection, UnitAcceptance  # issue 14
from core.states import CaseState
from core.web_access import WebLink, WebSession


class CaseRepository(Protocol):
    async def add(self, case: Case) -> Case:
        """Insert ``case`` with its lead/assist units; sets and returns ``case.id``."""
        ...

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
        """``add``, unless ``case.submission_key`` filed a case already or the case's citizen filed
        ``limit`` cases or more at or after ``since``: then nothing is stored and it returns
        False (the caller finds out which, e.g. with ``get_by_submission_key``). The checks are
        part of the insert, so they cost no round trip of their own; of two concurrent calls
        with the same key at most one stores (the other waits for it, then stores nothing).

        ``history`` (the new case's first events, in order; built with ``NEW_CASE`` for their
        case id, which this sets) and ``audit`` are stored with the case, or not at all: on
        PostgreSQL in the same statement. ``citizen`` (a Telegram user id, a phone or None):
        the case's citizen, found or made as ``CitizenRepository.get_or_create`` does, in the
        same statement on PostgreSQL; ``case.citizen_id`` is set to it, also when the case is
        refused."""
        ...

    async def get(self, case_id: int, *, for_update: bool = False) -> Case | None:
        """``for_update`` locks the row until the transaction ends (PostgreSQL ``FOR UPDATE``;
        SQLite transactions are serialised anyway). Use it before changing a case's state so
        two liaisons pressing "sign" at once cannot both succeed."""
        ...

    async def get_by_tracking_no(self, tracking_no: str, *, for_update: bool = False) -> Case | None: ...

    async def get_many(self, case_ids: Sequence[int], *, for_update: bool = False) -> list[Case]:
        """The cases with these ids that exist, in id order (one query: the periodic pass reads
        its due cases in batches). ``for_update`` locks them all."""
        ...

    async def get_by_submission_key(self, key: str) -> Case | None:
        """The case a confirm press filed (``Case.submission_key``), if it was filed already."""
        ...

    async def update(self, case: Case) -> None:
        """Write every field of ``case`` back, units included. Raises ``NotFound``."""
        ...

    async def set_units(self, case_id: int, lead: Sequence[str], assist: Sequence[str]) -> None:
        """Replace the case's lead and assisting units (a unit is never both: lead wins)."""
        ...

    async def list_for_citizen(self, citizen_id: int, *, limit: int = 50, offset: int = 0) -> list[Case]:
        """Newest first."""
        ...

    async def count_for_citizen_since(self, citizen_id: int, since: datetime) -> int:
        """Cases the citizen filed at or after ``since`` (the per-user daily limit)."""
        ...

    async def count_for_user_since(self, user_id: int, since: datetime) -> int:
        """The same for the citizen of Telegram user ``user_id`` (0 if none), in one query."""
        ...

    async def list_for_unit(
        self,
        unit_id: str,
        *,
        states: Collection[CaseState] | None = None,
        role: UnitRole | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[Case]:
        """Cases the unit leads or assists on (``role`` narrows it), newest first."""
        ...

    async def list_in_states(self, states: Collection[CaseState], *, limit: int = 100) -> list[Case]:
        """Oldest first: a queue (e.g. triage, returned, extension requests)."""
        ...

    async def list_due(self, until: date) -> list[Case]:
        """Cases whose running deadline is on or before ``until``: ``sign_due`` while assigned,
        ``answer_due`` while signed or waiting for an extension. Soonest deadline first.
        This is what the periodic pass computes warnings and reminders from."""
        ...

    async def list_awaiting_follow_up(self, answered_before: datetime) -> list[Case]:
        """Answered cases with no satisfaction recorded, answered before the given time."""
        ...

    async def sample_closed(
        self, n: int, *, closed_from: datetime | None = None, closed_until: datetime | None = None
    ) -> list[Case]:
        """随机抽查: up to ``n`` closed cases picked at random (``ORDER BY random()``), closed
        at or after ``closed_from`` and before ``closed_until`` when given."""
        ...


class EventRepository(Protocol):
    async def add(self, event: CaseEvent) -> CaseEvent:
        """Append to the case history (there is no update or delete); sets ``event.id``."""
        ...

    async def list(self, case_id: int, *, include_internal: bool) -> builtins.list[CaseEvent]:
        """In order of time. ``include_internal=False`` is the citizen's view."""
        ...

    async def add_many(self, events: Sequence[CaseEvent]) -> None:
        """Append several at once (one round trip; their ids are not needed)."""
        ...

    async def list_kinds(self, case_ids: Sequence[int], kinds: Sequence[str]) -> builtins.list[CaseEvent]:
        """The events of these kinds on these cases, in order of time (one query for a batch)."""
        ...


class UnitRepository(Protocol):
    async def sync(self, units: Sequence[UnitRecord]) -> None:
        """Make the table match the plan: insert or update these, deactivate the others."""
        ...

    async def get(self, unit_id: str) -> UnitRecord | None: ...

    async def list(self, *, include_inactive: bool = False) -> builtins.list[UnitRecord]: ...


class UserRepository(Protocol):
    async def get(self, user_id: int) -> UserRecord | None: ...

    async def upsert(
        self,
        user_id: int,
        *,
        now: datetime,
        chat_id: int | None = None,
        language: str | None = None,
        first_language: str | None = None,
    ) -> UserRecord:
        """Create on first sight (language: ``language``, else ``first_language``, else "zh");
        afterwards only the given fields change (``first_language`` never does), in one
        statement. Callers that must not override a /lang choice pass ``language=None``."""
        ...

    async def set_language(self, user_id: int, language: str) -> None: ...

    async def set_blocked(self, user_id: int, blocked: bool) -> None: ...


class CitizenRepository(Protocol):
    async def get(self, citizen_id: int) -> Citizen | None: ...

    async def get_by_user(self, user_id: int) -> Citizen | None: ...

    async def get_or_create(self, user_id: int, *, now: datetime, phone: str | None = None) -> Citizen:
        """The user must already exist (``users.upsert``). ``phone``: stored as well (the
        citizen chose to share it), in the same statement; None leaves the phone as it is."""
        ...

    async def set_phone(self, citizen_id: int, phone: str | None) -> None: ...

    async def get_or_create_account(self, account: ApiAccount, *, now: datetime) -> Citizen:
        """The citizen behind an API key holder's account (``core.api_keys``), created on first
        use; contact details given (not None) replace the stored ones, None keeps them."""
        ...


class LiaisonRepository(Protocol):
    async def get_active(self, user_id: int) -> Liaison | None: ...

    async def add(self, user_id: int, unit_id: str, *, now: datetime) -> Liaison:
        """Bind the user to the unit, ending any current binding (one unit at a time)."""
        ...

    async def remove(self, user_id: int, *, now: datetime) -> bool:
        """End the user's current binding; False when there was none."""
        ...

    async def list_for_unit(self, unit_id: str) -> list[Liaison]:
        """Active liaisons of the unit."""
        ...

    async def list_for_units(self, unit_ids: Sequence[str]) -> list[Liaison]:
        """Active liaisons of all these units in one query, by unit id, then in the order they
        joined (each unit's as ``list_for_unit`` gives them)."""
        ...

    async def list_active(self) -> list[Liaison]: ...


class LeaderRepository(Protocol):
    """A unit's 一把手 and 分管领导 (``core.directory.UnitLeader``): one holder per unit and role."""

    async def bind(
        self, unit_id: str, role: InviteRole, user_id: int, *, name: str, now: datetime
    ) -> UnitLeader | None:
        """Make ``user_id`` the holder, ending the current holder's binding; returns that
        previous holder (None if there was none, or it was this user already)."""
        ...

    async def end(self, unit_id: str, role: InviteRole, *, now: datetime) -> UnitLeader | None:
        """End the current binding; returns it (None when there was none)."""
        ...

    async def list_active(self, unit_ids: Sequence[str] | None = None) -> list[UnitLeader]:
        """Current holders (of these units), by unit then role."""
        ...

    async def list_all(self) -> list[UnitLeader]:
        """Every binding ever made, ended ones too, in the order made (the year-end report
        names who held a role during the year)."""
        ...


class OfficeRepository(Protocol):
    async def get(self, user_id: int) -> OfficeMember | None: ...

    async def is_member(self, user_id: int) -> bool:
        """Active member added at run time (config admins are checked by the caller)."""
        ...

    async def add(
        self, user_id: int, *, added_by: int | None, now: datetime, campaign: str = ""
    ) -> OfficeMember:
        """Add or re-activate, as a member of ``campaign``'s office ("" the district's)."""
        ...

    async def remove(self, user_id: int) -> bool: ...

    async def list_active(self) -> list[OfficeMember]: ...


class InviteRepository(Protocol):
    async def add(
        self,
        code_hash: str,
        unit_id: str,
        *,
        created_by: int | None,
        now: datetime,
        expires_at: datetime,
        role: InviteRole = InviteRole.LIAISON,
    ) -> InviteCode: ...

    async def get(self, code_hash: str) -> InviteCode | None:
        """To tell "unknown" from "used" or "expired" after a failed ``consume``."""
        ...

    async def consume(self, code_hash: str, user_id: int, *, now: datetime) -> InviteCode | None:
        """Atomically mark an unused, unexpired code used; None if it is not (anymore).
        Of two concurrent calls with the same code at most one succeeds."""
        ...

    async def list_open(self, *, now: datetime, unit_id: str | None = None) -> list[InviteCode]: ...


class ApiKeyRepository(Protocol):
    """Keys for the Open311 API, by hash only (``core.api_keys``). Revoked, never deleted."""

    async def add(self, key_hash: str, name: str, *, created_by: int | None, now: datetime) -> ApiKey: ...

    async def get(self, key_id: int) -> ApiKey | None: ...

    async def get_by_hash(self, key_hash: str) -> ApiKey | None: ...

    async def list_all(self) -> list[ApiKey]:
        """Every key ever issued, newest first (there are a handful)."""
        ...

    async def revoke(self, key_id: int, *, by: int | None, now: datetime) -> bool:
        """False when the key does not exist or was revoked already (the first revocation's
        time and author stay)."""
        ...

    async def touch(self, key_id: int, *, now: datetime) -> None:
        """Record a successful use (``last_used_at``)."""
        ...


class WebAccessRepository(Protocol):
    """The dashboard's sign-in links and sessions, by hash only (``core.web_access``)."""

    async def add_link(
        self, token_hash: str, user_id: int, *, now: datetime, expires_at: datetime
    ) -> WebLink: ...

    async def get_link(self, token_hash: str) -> WebLink | None: ...

    async def consume_link(self, token_hash: str, *, now: datetime) -> WebLink | None:
        """Atomically mark an unused, unexpired link used; None if it is not (anymore). Of two
        concurrent calls with the same link at most one succeeds."""
        ...

    async def add_session(self, token_hash: str, user_id: int, *, now: datetime) -> WebSession: ...

    async def get_session(self, token_hash: str) -> WebSession | None: ...

    async def touch_session(self, session_id: int, *, now: datetime) -> None: ...

    async def end_session(self, session_id: int, *, now: datetime, reason: str) -> bool:
        """End a live session; False if it had ended already."""
        ...

    async def end_sessions_of(self, user_id: int, *, now: datetime, reason: str) -> int:
        """End every session of the user still open; how many were."""
        ...


class OutboxRepository(Protocol):
    async def add(self, message: OutboxMessage) -> bool:
        """Enqueue; False (and nothing stored) when ``dedup_key`` was already used.
        Sets ``message.id`` when stored."""
        ...

    async def claim_batch(
        self, worker_id: str, *, now: datetime, limit: int, lease: timedelta
    ) -> list[OutboxMessage]:
        """Lease up to ``limit`` pending messages whose ``not_before`` has come and that no
        live lease holds, oldest first; counts an attempt on each. No message is handed to two
        claimers whose leases overlap. Commit right after claiming, send, then mark the
        outcome in a new unit of work; a crashed sender's lease simply runs out."""
        ...

    async def mark_sent(self, message_id: int, *, now: datetime) -> None: ...

    async def add_many(self, messages: Sequence[OutboxMessage]) -> list[str | None]:
        """Enqueue several at once (each dropped if its ``dedup_key`` was used, also within
        the call); returns the dedup keys of those stored (None for one without a key), in no
        particular order. Does not set their ids."""
        ...

    async def release_claims(self, worker_id: str) -> int:
        """Pending messages claimed by ``worker_id`` become claimable at once (a sender that
        stopped cleanly, or a restarted one under the same identity); returns how many."""
        ...

    async def withdraw_pending(self, chat_ids: Collection[int], tracking_no: str) -> int:
        """Take back the pending messages to these chats about case ``tracking_no`` (their
        readers lost sight of it); returns how many. A message being sent may still go."""
        ...

    async def mark_failed(self, message_id: int, *, error: str, retry_at: datetime) -> None:
        """Stays pending; tried again at ``retry_at`` (back-off or Telegram's RetryAfter)."""
        ...

    async def mark_dead(self, message_id: int, *, error: str) -> None: ...

    async def mark_blocked(self, message_id: int, *, error: str) -> None: ...

    async def get(self, message_id: int) -> OutboxMessage | None: ...

    async def next_due(self) -> datetime | None:
        """The earliest ``not_before`` among pending messages (the sender may sleep till then)."""
        ...

    async def claim_chat_heads(
        self,
        worker_id: str,
        *,
        now: datetime,
        limit: int,
        lease: timedelta,
        exclude_chats: Collection[int] = (),
    ) -> list[OutboxMessage]:
        """Like ``claim_batch``, but keeps each chat's order: only the first message of a chat's
        queue is handed out, so a chat gets at most one message per claim and none while an
        earlier one is leased or waiting to be retried. A chat's queue is its pending messages
        that are due or were tried before, by id; messages scheduled for later (``not_before``
        in the future, never tried) do not hold anything back. ``exclude_chats``: chats the
        caller cannot send to right now (it is pacing them); their heads stay unclaimed."""
        ...

    async def list_failed(self, *, limit: int = 50) -> list[OutboxMessage]:
        """Dead and blocked messages, newest first: what the office sees as undelivered."""
        ...

    async def count_by_state(self) -> dict[OutboxState, int]:
        """How many messages are in each state (every state present, 0 when none)."""
        ...


class ReportRepository(Protocol):
    async def add(self, report: UnitReport) -> UnitReport: ...

    async def get(self, report_id: int) -> UnitReport | None: ...

    async def update(self, report: UnitReport) -> None: ...

    async def list(
        self,
        *,
        unit_id: str | None = None,
        kind: ReportKind | None = None,
        phase_id: str | None = None,
        recommendation_id: int | None = None,
    ) -> builtins.list[UnitReport]:
        """Oldest first."""
        ...

    async def add_recommendation(self, rec: Recommendation) -> Recommendation: ...

    async def get_recommendation(self, rec_id: int) -> Recommendation | None: ...

    async def update_recommendation(self, rec: Recommendation) -> None: ...

    async def list_recommendations(
        self, *, unit_id: str | None = None, statuses: Collection[RecommendationStatus] | None = None
    ) -> builtins.list[Recommendation]: ...

    async def add_accountability(self, record: AccountabilityRecord) -> AccountabilityRecord: ...

    async def list_accountability(self, *, unit_id: str | None = None) -> builtins.list[AccountabilityRecord]:
        """Oldest first."""
        ...


class AttachmentRepository(Protocol):
    async def add(self, attachment: Attachment) -> Attachment: ...

    async def list_for_case(self, case_id: int) -> list[Attachment]: ...

    async def list_for_report(self, report_id: int) -> list[Attachment]: ...


class AuditRepository(Protocol):
    async def add(self, entry: AuditEntry) -> AuditEntry: ...

    async def add_many(self, entries: Sequence[AuditEntry]) -> None:
        """Append several at once (one round trip; their ids are not set)."""
        ...

    async def list_recent(self, *, limit: int = 50, actor_id: int | None = None) -> list[AuditEntry]:
        """Newest first."""
        ...


class CounterRepository(Protocol):
    async def next(self, prefix: str, year: int) -> int:
        """1, 2, 3... per (prefix, year); never the same number twice, even concurrently. The
        number is only taken if the transaction commits (PostgreSQL holds the counter row
        until then, so tracking numbers have no gaps)."""
        ...


class LeaseRepository(Protocol):
    """Named, expiring locks so a periodic pass runs on one instance at a time."""

    async def try_acquire(self, name: str, holder: str, *, now: datetime, ttl: timedelta) -> bool:
        """True if ``holder`` now holds ``name`` until ``now + ttl`` (free, expired, or already
        its own). Commit to make it visible to other instances."""
        ...

    async def release(self, name: str, holder: str) -> None: ...

    async def holder(self, name: str) -> tuple[str, datetime] | None:
        """Who holds ``name`` and until when, as last committed (None: nobody took it, or it
        was released). A read: nothing is locked or written."""
        ...


# Retention and erasure (issue 15; core.retention, core.services.retention).
class RetentionRepository(Protocol):
    """Erases complainants' identity from cases, keeping the anonymised cases for statistics.
    The one place allowed to rewrite history rows (an event's actor, a phone in a text): the
    law's "kept no longer than needed" outranks append-only, and only identity changes."""

    async def list_due(self, closed_before: datetime | None, *, limit: int) -> builtins.list[ErasableCase]:
        """Final cases whose identity is still there, oldest first: those closed (or
        rejected) before ``closed_before`` (None: none by date), and those of citizens who
        asked to be forgotten, whatever the date."""
        ...

    async def list_for_citizen(self, citizen_id: int) -> builtins.list[ErasableCase]:
        """Every case of the citizen whose identity is still there, open ones too."""
        ...

    async def erase_cases(
        self, case_ids: Collection[int], *, now: datetime
    ) -> tuple[Erased, builtins.list[str]]:
        """Detach the cases from their citizens and mask identity in their texts, history and
        evidence rows (file ids cleared). Returns what was done and the SHA-256 of local
        evidence files no remaining attachment uses (the caller deletes them)."""
        ...

    async def purge_citizens(self, citizen_ids: Collection[int], *, now: datetime) -> Erased:
        """Citizens no case points at any more: their phone, name and email masked wherever
        else they occur (dialog state, outbox, audit) and the row deleted. Citizens with cases
        left keep their row."""
        ...

    async def forget_citizen(self, citizen_id: int, *, now: datetime) -> Erased:
        """/forget with cases still open: the citizen's details masked everywhere and cleared
        from their row (``erased_at`` set); the row stays as the open cases' link, so they are
        still told of their cases until the office decides."""
        ...

    async def add_request(
        self, citizen_id: int, cases: Sequence[str], *, now: datetime
    ) -> ErasureRequest: ...

    async def get_request(self, request_id: int) -> ErasureRequest | None: ...

    async def decide_request(
        self, request_id: int, decision: ForgetDecision, *, by: int, now: datetime
    ) -> ErasureRequest | None:
        """Record the office's decision; None if it was decided already (a second press)."""
        ...


# Review inspections and acceptance (issue 14: 复核检查, 验收; core.review).
class ReviewRepository(Protocol):
    async def add_inspection(self, inspection: ReviewInspection) -> ReviewInspection: ...

    async def get_inspection(self, inspection_id: int) -> ReviewInspection | None: ...

    async def list_inspections(self) -> builtins.list[ReviewInspection]:
        """By inspection day, then id."""
        ...

    async def add_finding(self, finding: ReviewFinding) -> ReviewFinding: ...

    async def get_finding(self, finding_id: int, *, for_update: bool = False) -> ReviewFinding | None: ...

    async def list_findings(
        self, *, unit_id: str | None = None, inspection_id: int | None = None
    ) -> builtins.list[ReviewFinding]:
        """Oldest first."""
        ...

    async def link_recommendation(self, finding_id: int, recommendation_id: int) -> None:
        """The 整改建议书 the finding became."""
        ...

    async def add_unit_acceptance(self, acceptance: UnitAcceptance) -> UnitAcceptance: ...

    async def list_unit_acceptances(self, *, unit_id: str | None = None) -> builtins.list[UnitAcceptance]:
        """Oldest first (the newest of a unit counts)."""
        ...

    async def add_campaign_acceptance(self, acceptance: CampaignAcceptance) -> CampaignAcceptance: ...

    async def latest_campaign_acceptance(self) -> CampaignAcceptance | None: ...


# Good practices and long-term measures (issue 14: 推介典型, 长效机制; core.measures).
class PracticeRepository(Protocol):
    async def add_practice(self, practice: GoodPractice) -> GoodPractice: ...

    async def get_practice(self, practice_id: int) -> GoodPractice | None: ...

    async def update_practice(self, practice: GoodPractice) -> None:
        """Store its shared_at / shared_to."""
        ...

    async def list_practices(self, *, unit_id: str | None = None) -> builtins.list[GoodPractice]:
        """Oldest first."""
        ...

    async def add_measure(self, measure: Measure) -> Measure:
        """Stores the measure and its history rows (the creation's)."""
        ...

    async def get_measure(self, measure_id: int, *, for_update: bool = False) -> Measure | None:
        """With its history, oldest change first."""
        ...

    async def update_measure(self, measure: Measure, change: MeasureChange) -> None:
        """Store status, updated_at and evidence, and append ``change`` to the history."""
        ...

    async def list_measures(
        self, *, unit_id: str | None = None, statuses: Collection[MeasureStatus] | None = None
    ) -> builtins.list[Measure]:
        """Oldest first, each with its history."""
        ...


class UnitOfWork(Protocol):
    """``async with uow:`` opens a transaction; ``await uow.commit()`` makes it stick;
    leaving without commit (or by an exception) rolls back."""

    @property
    def cases(self) -> CaseRepository: ...
    @property
    def events(self) -> EventRepository: ...
    @property
    def units(self) -> UnitRepository: ...
    @property
    def users(self) -> UserRepository: ...
    @property
    def citizens(self) -> CitizenRepository: ...
    @property
    def liaisons(self) -> LiaisonRepository: ...
    @property
    def leaders(self) -> LeaderRepository: ...
    @property
    def office(self) -> OfficeRepository: ...
    @property
    def invites(self) -> InviteRepository: ...
    @property
    def outbox(self) -> OutboxRepository: ...
    @property
    def reports(self) -> ReportRepository: ...
    @property
    def attachments(self) -> AttachmentRepository: ...
    @property
    def audit(self) -> AuditRepository: ...
    @property
    def counters(self) -> CounterRepository: ...
    @property
    def leases(self) -> LeaseRepository: ...
    @property
    def api_keys(self) -> ApiKeyRepository: ...
    @property
    def web(self) -> WebAccessRepository: ...
    # retention and erasure (issue 15)
    @property
    def retention(self) -> RetentionRepository: ...

    # good practices and long-term measures (issue 14)
    @property
    def practices(self) -> PracticeRepository: ...

    # review inspections and acceptance (issue 14: 复核检查, 验收)
    @property
    def review(self) -> ReviewRepository: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None: ...

    async def rollback(self) -> None: ...


UnitOfWorkFactory = Callable[[], UnitOfWork]
"""Services receive this and call it once per use case (a fresh unit of work each time)."""
