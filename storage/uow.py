"""The SQL unit of work: one session, one transaction, every repository on it."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.ports import (
    ApiKeyRepository,
    AttachmentRepository,
    AuditRepository,
    CaseRepository,
    CitizenRepository,
    CounterRepository,
    EventRepository,
    InviteRepository,
    LeaderRepository,
    LeaseRepository,
    LiaisonRepository,
    OfficeRepository,
    OutboxRepository,
    PracticeRepository,
    ReportRepository,
    RetentionRepository,
    ReviewRepository,
    UnitOfWorkFactory,
    UnitRepository,
    UserRepository,
    WebAccessRepository,
)
from storage.repositories import (
    SqlApiKeyRepository,
    SqlAttachmentRepository,
    SqlAuditRepository,
    SqlCaseRepository,
    SqlCitizenRepository,
    SqlCounterRepository,
    SqlEventRepository,
    SqlInviteRepository,
    SqlLeaderRepository,
    SqlLeaseRepository,
    SqlLiaisonRepository,
    SqlOfficeRepository,
    SqlOutboxRepository,
    SqlPracticeRepository,
    SqlReportRepository,
    SqlRetentionRepository,
    SqlReviewRepository,
    SqlUnitRepository,
    SqlUserRepository,
    SqlWebAccessRepository,
)


class SqlUnitOfWork:
    """``async with SqlUnitOfWork(factory) as uow: ...; await uow.commit()``.

    Leaving the block without ``commit()`` rolls back. The same object may be entered again
    afterwards (a fresh session each time) but not while it is in use: concurrent tasks each
    need their own, which is why services take a factory (``lambda: SqlUnitOfWork(sf)``).
    """

    cases: CaseRepository
    events: EventRepository
    units: UnitRepository
    users: UserRepository
    citizens: CitizenRepository
    liaisons: LiaisonRepository
    leaders: LeaderRepository
    office: OfficeRepository
    invites: InviteRepository
    outbox: OutboxRepository
    reports: ReportRepository
    attachments: AttachmentRepository
    audit: AuditRepository
    counters: CounterRepository
    leases: LeaseRepository
    api_keys: ApiKeyRepository
    web: WebAccessRepository
    retention: RetentionRepository  # issue 15
    practices: PracticeRepository  # issue 14: good practices, long-term measures
    review: ReviewRepository  # issue 14: review inspections, acceptance

    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._session_factory = session_factory
        self._session: AsyncSession | None = None

    @property
    def session(self) -> AsyncSession:
        """For storage-level queries that are not a repository's (statistics, exports)."""
        if self._session is None:
            raise RuntimeError("unit of work used outside `async with`")
        return self._session

    async def __aenter__(self) -> Self:
        if self._session is not None:
            raise RuntimeError("unit of work entered twice; create one per task")
        session = self._session = self._session_factory()
        self.cases = SqlCaseRepository(session)
        self.events = SqlEventRepository(session)
        self.units = SqlUnitRepository(session)
        self.users = SqlUserRepository(session)
        self.citizens = SqlCitizenRepository(session)
        self.liaisons = SqlLiaisonRepository(session)
        self.leaders = SqlLeaderRepository(session)
        self.office = SqlOfficeRepository(session)
        self.invites = SqlInviteRepository(session)
        self.outbox = SqlOutboxRepository(session)
        self.reports = SqlReportRepository(session)
        self.attachments = SqlAttachmentRepository(session)
        self.audit = SqlAuditRepository(session)
        self.counters = SqlCounterRepository(session)
        self.leases = SqlLeaseRepository(session)
        self.api_keys = SqlApiKeyRepository(session)
        self.web = SqlWebAccessRepository(session)
        self.retention = SqlRetentionRepository(session)  # issue 15
        self.practices = SqlPracticeRepository(session)  # issue 14
        self.review = SqlReviewRepository(session)  # issue 14: 复核检查, 验收
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session, self._session = self.session, None
        try:
            await session.rollback()  # a no-op after commit(); undoes anything uncommitted
        finally:
            await session.close()

    async def commit(self) -> None:
        await self.session.commit()

    async def rollback(self) -> None:
        await self.session.rollback()


def sql_uow_factory(session_factory: async_sessionmaker[AsyncSession]) -> UnitOfWorkFactory:
    """What services take: a fresh ``SqlUnitOfWork`` per call."""
    return lambda: SqlUnitOfWork(session_factory)
