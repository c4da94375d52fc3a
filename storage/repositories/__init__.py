"""SQL implementations of the repository ports in ``core.ports``."""

from storage.repositories.api_keys import SqlApiKeyRepository
from storage.repositories.bookkeeping import SqlAuditRepository, SqlCounterRepository, SqlLeaseRepository
from storage.repositories.cases import SqlAttachmentRepository, SqlCaseRepository, SqlEventRepository
from storage.repositories.directory import (
    SqlCitizenRepository,
    SqlInviteRepository,
    SqlLeaderRepository,
    SqlLiaisonRepository,
    SqlOfficeRepository,
    SqlUnitRepository,
    SqlUserRepository,
)
from storage.repositories.outbox import SqlOutboxRepository
from storage.repositories.practices import SqlPracticeRepository
from storage.repositories.reports import SqlReportRepository
from storage.repositories.retention import SqlRetentionRepository
from storage.repositories.review import SqlReviewRepository
from storage.repositories.web_access import SqlWebAccessRepository

__all__ = [
    "SqlApiKeyRepository",
    "SqlAttachmentRepository",
    "SqlAuditRepository",
    "SqlCaseRepository",
    "SqlCitizenRepository",
    "SqlCounterRepository",
    "SqlEventRepository",
    "SqlInviteRepository",
    "SqlLeaderRepository",
    "SqlLeaseRepository",
    "SqlLiaisonRepository",
    "SqlOfficeRepository",
    "SqlOutboxRepository",
    "SqlPracticeRepository",
    "SqlReportRepository",
    "SqlRetentionRepository",
    "SqlReviewRepository",
    "SqlUnitRepository",
    "SqlUserRepository",
    "SqlWebAccessRepository",
]
