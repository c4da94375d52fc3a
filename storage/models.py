"""SQLAlchemy tables. Only ``storage`` sees these rows; repositories map them to the core
dataclasses.

Closed sets (states, roles, kinds) are stored as plain strings, not database enums: adding a
value is then a code change, not a migration, and SQLite and PostgreSQL behave alike.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import JSON

# Stable constraint names, so Alembic migrations can refer to them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_N_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on every backend.

    PostgreSQL stores ``timestamptz``. SQLite has no time zones and its driver would silently
    drop the offset, so values are normalised to UTC before they are stored: comparisons in SQL
    (``not_before <= now``) then hold whatever zone the caller's clock uses. Naive datetimes are
    refused because their meaning is a guess.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: pass an aware datetime (use the Clock)")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# JSONB on PostgreSQL (indexable, compact); JSON text elsewhere.
JsonType = JSON().with_variant(JSONB(), "postgresql")
# SQLite only auto-increments an INTEGER PRIMARY KEY, not BIGINT.
IdType = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UtcDateTime(),
        date: Date(),
        dict[str, Any]: JsonType,
    }


class UnitRow(Base):
    __tablename__ = "units"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # the plan's stable id
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class UserRow(Base):
    __tablename__ = "users"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    language: Mapped[str] = mapped_column(String(8), default="zh")
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    first_seen: Mapped[datetime]
    blocked_bot: Mapped[bool] = mapped_column(Boolean, default=False)


class CitizenRow(Base):
    """Complainant identity, apart from the cases so that only office queries join it.

    Either a Telegram user (``user_id``) or an account of a key holder's system filed through
    the Open311 API (``api_key_id`` + ``external_id``, migration 0005): a hotline caller has no
    Telegram id, and the daily limit counts that account as it counts a Telegram user."""

    __tablename__ = "citizens"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.user_id"), unique=True)
    phone: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime]
    api_key_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("api_keys.id"))
    external_id: Mapped[str | None] = mapped_column(String(128))
    email: Mapped[str | None] = mapped_column(String(254))
    name: Mapped[str | None] = mapped_column(String(200))
    # Retention (0014): the citizen's /forget cleared their details; the row stays only as the
    # link of cases still open, and goes when none points at it any more.
    erased_at: Mapped[datetime | None]

    __table_args__ = (
        UniqueConstraint("api_key_id", "external_id"),
        CheckConstraint(
            "(user_id IS NOT NULL) OR (api_key_id IS NOT NULL AND external_id IS NOT NULL)", name="identity"
        ),
    )


class ApiKeyRow(Base):
    """A key the office issued to a partner system for the Open311 API. Only the SHA-256 of the
    key is kept (like invite codes); revoked, never deleted, so audit entries and API
    complainants keep their row."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))  # the holder, e.g. "12345 hotline"
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    created_by: Mapped[int | None] = mapped_column(BigInteger)  # None: the command line
    revoked_at: Mapped[datetime | None]
    revoked_by: Mapped[int | None] = mapped_column(BigInteger)
    last_used_at: Mapped[datetime | None]


class WebLinkRow(Base):
    """A one-time sign-in link to the dashboard (``core.web_access``): its SHA-256 only."""

    __tablename__ = "web_links"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class WebSessionRow(Base):
    """A dashboard session: the cookie's secret as its SHA-256, ended rather than deleted (the
    audit trail names it)."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(String(16))

    # "end every session of this user" (/web off, a removed liaison)
    __table_args__ = (Index("ix_web_sessions_user_id_ended_at", "user_id", "ended_at"),)


class OfficeMemberRow(Base):
    __tablename__ = "office_members"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    added_by: Mapped[int | None] = mapped_column(BigInteger)
    added_at: Mapped[datetime]
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Sub-campaigns (0015): the campaign whose office this member is; "" the district's
    campaign: Mapped[str] = mapped_column(String(64), default="", server_default="")


class LiaisonRow(Base):
    __tablename__ = "liaisons"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.user_id"))
    unit_id: Mapped[str] = mapped_column(String(64), ForeignKey("units.id"), index=True)
    joined_at: Mapped[datetime]
    removed_at: Mapped[datetime | None]

    __table_args__ = (
        # One unit at a time: at most one open binding per user. Past bindings stay as history.
        Index(
            "uq_liaisons_active_user",
            "user_id",
            unique=True,
            sqlite_where=text("removed_at IS NULL"),
            postgresql_where=text("removed_at IS NULL"),
        ),
    )


class CaseRow(Base):
    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    tracking_no: Mapped[str] = mapped_column(String(32), unique=True)
    state: Mapped[str] = mapped_column(String(24))
    source: Mapped[str] = mapped_column(String(24))
    description: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    area_auto: Mapped[str | None] = mapped_column(String(32))
    area_final: Mapped[str | None] = mapped_column(String(32))
    confidence: Mapped[float | None] = mapped_column(Float)
    matched_cues: Mapped[list[str]] = mapped_column(JsonType, default=list)
    citizen_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("citizens.id"))
    anonymous: Mapped[bool] = mapped_column(Boolean, default=True)
    target_unit_id: Mapped[str | None] = mapped_column(String(64), ForeignKey("units.id"), index=True)
    target_text: Mapped[str] = mapped_column(Text, default="")
    place: Mapped[str] = mapped_column(Text, default="")
    occurred: Mapped[str] = mapped_column(Text, default="")
    assigned_at: Mapped[datetime | None]
    sign_due: Mapped[date | None]
    signed_at: Mapped[datetime | None]
    answer_due: Mapped[date | None]
    answered_at: Mapped[datetime | None]
    extended: Mapped[bool] = mapped_column(Boolean, default=False)
    closed_at: Mapped[datetime | None] = mapped_column(index=True)
    outcome: Mapped[str | None] = mapped_column(String(32))
    measure: Mapped[str | None] = mapped_column(String(32))
    typical: Mapped[bool] = mapped_column(Boolean, default=False)
    satisfaction: Mapped[str | None] = mapped_column(String(16))
    satisfaction_comment: Mapped[str] = mapped_column(Text, default="")
    # The citizen's confirm press: a double tap or a retried update files one case, not two.
    submission_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    # Sub-campaigns (0015): the street's or township's campaign the case belongs to; "" the
    # district's. Indexed: a sub-campaign's office lists its own cases only.
    campaign: Mapped[str] = mapped_column(String(64), default="", server_default="", index=True)
    # Retention (0014, core.retention): when the complainant's identity was erased from this
    # case (past the retention date, or by their /forget); the case itself stays for statistics.
    identity_erased_at: Mapped[datetime | None]

    units: Mapped[list[CaseUnitRow]] = relationship(
        back_populates="case", cascade="all, delete-orphan", lazy="selectin", order_by="CaseUnitRow.position"
    )
    recusals: Mapped[list[CaseRecusalRow]] = relationship(
        back_populates="case",
        cascade="all, delete-orphan",
        lazy="selectin",
        order_by="CaseRecusalRow.unit_id",
    )

    __table_args__ = (
        # The periodic pass: "open cases in state S whose deadline is on or before D".
        Index("ix_cases_state_sign_due", "state", "sign_due"),
        Index("ix_cases_state_answer_due", "state", "answer_due"),
        Index("ix_cases_state_answered_at", "state", "answered_at"),
        # The dashboard's case list (storage/case_list.py): newest first, seek-paged on
        # (created_at, id), whole or in one state (the first serves "since" queries too).
        Index("ix_cases_created_at_id", "created_at", "id"),
        Index("ix_cases_state_created_at_id", "state", "created_at", "id"),
        Index("ix_cases_area_final_created_at", "area_final", "created_at"),
        Index("ix_cases_citizen_id_created_at", "citizen_id", "created_at"),
        # Statistics (storage/stats.py): each scoreboard rate looks at the cases whose deadline
        # fell, or whose answer came, in the period; these make "in the period" a range scan.
        Index("ix_cases_sign_due", "sign_due"),
        Index("ix_cases_answer_due", "answer_due"),
        Index("ix_cases_answered_at", "answered_at"),
        # The 通报 list's typical cases: a handful among a million rows.
        Index(
            "ix_cases_typical",
            "id",
            sqlite_where=text("typical = 1"),  # how SQLAlchemy spells a true boolean there
            postgresql_where=text("typical"),
        ),
    )


class CaseUnitRow(Base):
    """Which units handle (lead) or are copied on (assist) a case: rows, so "cases of unit X"
    is an index lookup."""

    __tablename__ = "case_units"

    case_id: Mapped[int] = mapped_column(IdType, ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    unit_id: Mapped[str] = mapped_column(String(64), ForeignKey("units.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(8))
    position: Mapped[int] = mapped_column(Integer, default=0)  # keeps the plan's order of units

    case: Mapped[CaseRow] = relationship(back_populates="units")

    __table_args__ = (
        CheckConstraint("role IN ('lead', 'assist')", name="role"),
        Index("ix_case_units_unit_id_role_case_id", "unit_id", "role", "case_id"),
    )


class CaseRecusalRow(Base):
    """A unit kept out of a case (回避, core.recusal): the unit complained about and its offices
    (scope full: they never see it), its heads (scope lead: they may not lead). Each recusal,
    its lifting and who did it are also events in the case's history and the audit trail."""

    __tablename__ = "case_recusals"

    case_id: Mapped[int] = mapped_column(IdType, ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    unit_id: Mapped[str] = mapped_column(String(64), ForeignKey("units.id"), primary_key=True)
    scope: Mapped[str] = mapped_column(String(8))
    reason: Mapped[str] = mapped_column(String(16))
    matched: Mapped[str] = mapped_column(Text, default="")
    via: Mapped[str | None] = mapped_column(String(64))
    pending: Mapped[bool] = mapped_column(Boolean, default=False)
    at: Mapped[datetime]
    by: Mapped[str | None] = mapped_column(String(64))

    case: Mapped[CaseRow] = relationship(back_populates="recusals")

    __table_args__ = (
        CheckConstraint("scope IN ('full', 'lead')", name="scope"),
        # "the cases this unit is kept out of", for the office's and the audit's questions
        Index("ix_case_recusals_unit_id", "unit_id"),
    )


class CaseEventRow(Base):
    """Append-only: the repository has no update or delete."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    case_id: Mapped[int] = mapped_column(IdType, ForeignKey("cases.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(16))
    actor_ref: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(48))
    visibility: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)

    __table_args__ = (
        Index("ix_case_events_case_id_at", "case_id", "at"),
        # Statistics: events of one kind in a period (escalations for the 通报 list, reopens).
        Index("ix_case_events_kind_at", "kind", "at"),
    )


class UnitReportRow(Base):
    __tablename__ = "unit_reports"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    unit_id: Mapped[str] = mapped_column(String(64), ForeignKey("units.id"))
    kind: Mapped[str] = mapped_column(String(32))
    phase_id: Mapped[str] = mapped_column(String(64))
    recommendation_id: Mapped[int | None] = mapped_column(
        IdType, ForeignKey("rectification_recommendations.id"), index=True
    )
    submitted_at: Mapped[datetime]
    submitted_by: Mapped[int | None] = mapped_column(BigInteger)
    due: Mapped[date | None]
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    inspected: Mapped[int | None] = mapped_column(Integer)
    total: Mapped[int | None] = mapped_column(Integer)
    problems: Mapped[str] = mapped_column(Text, default="")
    measures: Mapped[str] = mapped_column(Text, default="")
    reason_below_target: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16))
    review_note: Mapped[str] = mapped_column(Text, default="")
    reviewed_at: Mapped[datetime | None]
    reviewed_by: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (
        Index("ix_unit_reports_unit_id_kind", "unit_id", "kind"),
        Index("ix_unit_reports_phase_id_kind", "phase_id", "kind"),
    )


class RecommendationRow(Base):
    """整改建议书."""

    __tablename__ = "rectification_recommendations"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    unit_id: Mapped[str] = mapped_column(String(64), ForeignKey("units.id"), index=True)
    problems: Mapped[str] = mapped_column(Text)
    issued_at: Mapped[datetime]
    issued_by: Mapped[int | None] = mapped_column(BigInteger)
    plan_due: Mapped[date]
    report_due: Mapped[date]
    status: Mapped[str] = mapped_column(String(24), index=True)



class AccountabilityRow(Base):
    """案件查办: an accountability record against a unit (core.reports.AccountabilityRecord)."""

    __tablename__ = "accountability_records"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    unit_id: Mapped[str] = mapped_column(String(64), ForeignKey("units.id"), index=True)
    facts: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(24))
    people: Mapped[list[dict[str, str]]] = mapped_column(JsonType, default=list)
    case_numbers: Mapped[list[str]] = mapped_column(JsonType, default=list)
    recorded_at: Mapped[datetime]
    recorded_by: Mapped[int | None] = mapped_column(BigInteger)

class AttachmentRow(Base):
    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    case_id: Mapped[int | None] = mapped_column(
        IdType, ForeignKey("cases.id", ondelete="CASCADE"), index=True
    )
    report_id: Mapped[int | None] = mapped_column(
        IdType, ForeignKey("unit_reports.id", ondelete="CASCADE"), index=True
    )
    file_id: Mapped[str] = mapped_column(String(256))
    file_unique_id: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16))
    mime: Mapped[str | None] = mapped_column(String(128))
    size: Mapped[int | None] = mapped_column(BigInteger)
    file_name: Mapped[str | None] = mapped_column(String(255))
    added_by: Mapped[int | None] = mapped_column(BigInteger)
    at: Mapped[datetime]
    # issue 15 (evidence store, migration 0012): the SHA-256 of the office's local copy
    # (storage.evidence_store); NULL until the bot has fetched the file
    sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    # issue 15 (evidence fetch, migration 0017; storage/evidence_fetch.py): tries at fetching
    # the file from Telegram, counted when a fetcher claims the row (so a fetch that kills its
    # process still counts), and when the next try may start: a claim holds it until its lease
    # ends, a failure sets it by the backoff (core.evidence_fetch). next_fetch_at NULL: due
    # (never tried), or nothing more to do (fetched, or given up at the tries' limit).
    fetch_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_fetch_at: Mapped[datetime | None]


# The evidence fetch (issue 15, migration 0017) looks for the attachments still without a local
# copy and not erased (retention clears file_id): a partial index, so the fetched and erased
# rows of past years cost it nothing.
Index(
    "ix_attachments_to_fetch",
    AttachmentRow.id,
    sqlite_where=text("sha256 IS NULL AND file_id <> ''"),
    postgresql_where=text("sha256 IS NULL AND file_id <> ''"),
)


class InviteCodeRow(Base):
    """Only the SHA-256 of a code is kept: a leaked database does not leak usable codes."""

    __tablename__ = "invite_codes"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    unit_id: Mapped[str] = mapped_column(String(64), ForeignKey("units.id"), index=True)
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    used_by: Mapped[int | None] = mapped_column(BigInteger)
    # what the code binds its holder to (core.directory.InviteRole): the unit's liaison, its
    # 一把手 or its 分管领导 (migration 0009)
    role: Mapped[str] = mapped_column(String(24), server_default="liaison")


class OutboxRow(Base):
    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    method: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]]
    # Unique but nullable: both backends allow many NULLs, so only keyed messages dedupe.
    dedup_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime]
    not_before: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None]

    __table_args__ = (Index("ix_outbox_state_not_before", "state", "not_before"),)


class TrackingCounterRow(Base):
    __tablename__ = "tracking_counters"

    prefix: Mapped[str] = mapped_column(String(16), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_value: Mapped[int] = mapped_column(Integer)


class AuditRow(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor_id: Mapped[int] = mapped_column(BigInteger, index=True)
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(128), default="")
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)

    # The audit viewer's filters (storage/audit_view.py), each seek-paged on (at, id).
    __table_args__ = (
        Index("ix_audit_log_action_at_id", "action", "at", "id"),
        Index("ix_audit_log_target_at_id", "target", "at", "id"),
        Index("ix_audit_log_actor_id_at_id", "actor_id", "at", "id"),
    )


class JobLeaseRow(Base):
    """Named expiring locks for periodic passes shared by several instances."""

    __tablename__ = "job_leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    until: Mapped[datetime]


# Dialog persistence for python-telegram-bot's BasePersistence (SPEC §4.1: resumable dialogs).


class DialogConversationRow(Base):
    __tablename__ = "dialog_conversations"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(128), primary_key=True)  # JSON of the key tuple
    state: Mapped[Any] = mapped_column(JsonType)
    updated_at: Mapped[datetime]


class DialogUserDataRow(Base):
    __tablename__ = "dialog_user_data"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    data: Mapped[dict[str, Any]]
    updated_at: Mapped[datetime]


class DialogChatDataRow(Base):
    __tablename__ = "dialog_chat_data"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    data: Mapped[dict[str, Any]]
    updated_at: Mapped[datetime]


class DialogBotDataRow(Base):
    """One row per blob: "bot_data" and "callback_data"."""

    __tablename__ = "dialog_bot_data"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    data: Mapped[Any] = mapped_column(JsonType)
    updated_at: Mapped[datetime]


# Flood control shared by every instance on one PostgreSQL (bot/throttle.py): one row per user,
# the current fixed window and how many updates the instances let through in it. One row per
# user (not per window) keeps the table as small as the user list with no clean-up job.


class UpdateThrottleRow(Base):
    __tablename__ = "update_throttle"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    window_start: Mapped[datetime]
    count: Mapped[int] = mapped_column(Integer)


# The deployment's send budget (bot/send_budget.py, storage/send_budget.py): messages counted per
# scope ("all", "group:<chat id>") and slot. Slots of "all" are ninths of a second on the
# database's clock; a group's are milliseconds (a sliding minute is summed under a lock). Rows
# older than their window are deleted as claims go; on PostgreSQL the table is UNLOGGED (a lost
# count after a crash only lets one second's messages through unchecked).
class SendBudgetRow(Base):
    __tablename__ = "send_budget"

    scope: Mapped[str] = mapped_column(String(64), primary_key=True)
    slot: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    used: Mapped[int] = mapped_column(Integer)


# A unit's 一把手 and 分管领导 bound to Telegram accounts by an invite of that role (保障措施 一;
# core.directory.UnitLeader). One open binding per unit and role; an ended one stays as history.
class UnitLeaderRow(Base):
    __tablename__ = "unit_leaders"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    unit_id: Mapped[str] = mapped_column(String(64), ForeignKey("units.id"), index=True)
    role: Mapped[str] = mapped_column(String(24))
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.user_id"), index=True)
    name: Mapped[str] = mapped_column(String(128), server_default="")
    bound_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]

    __table_args__ = (
        Index(
            "uq_unit_leaders_active_role",
            "unit_id",
            "role",
            unique=True,
            sqlite_where=text("ended_at IS NULL"),
            postgresql_where=text("ended_at IS NULL"),
        ),
    )


# Retention and erasure (issue 15, migration 0014; core.retention, storage/repositories/
# retention.py). The pass looks for final cases whose identity is still kept, by close date: a
# partial index, so the erased cases of past years cost it nothing.
Index(
    "ix_cases_closed_at_kept",
    CaseRow.closed_at,
    sqlite_where=text("identity_erased_at IS NULL"),
    postgresql_where=text("identity_erased_at IS NULL"),
)


class ErasureRequestRow(Base):
    """A citizen's /forget while some of their cases were open: the office decides (erase now,
    or keep until closed). ``citizen_id`` is set to NULL when the citizen row goes, so the
    request keeps only the case numbers and the decision."""

    __tablename__ = "erasure_requests"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    citizen_id: Mapped[int | None] = mapped_column(
        IdType, ForeignKey("citizens.id", ondelete="SET NULL"), index=True
    )
    requested_at: Mapped[datetime]
    cases: Mapped[list[str]] = mapped_column(JsonType, default=list)
    decision: Mapped[str | None] = mapped_column(String(8))
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[int | None] = mapped_column(BigInteger)


# Good practices (推介典型) and long-term measures (长效机制) (issue 14, migration 0011;
# core.measures, storage/repositories/practices.py). A measure's evidence files are kept on its
# row as Telegram file ids (JSON), its status changes as rows of their own.
class GoodPracticeRow(Base):
    __tablename__ = "good_practices"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    unit_id: Mapped[str] = mapped_column(String(64), ForeignKey("units.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    case_numbers: Mapped[list[str]] = mapped_column(JsonType, default=list)
    report_ids: Mapped[list[int]] = mapped_column(JsonType, default=list)
    recorded_at: Mapped[datetime]
    recorded_by: Mapped[int | None] = mapped_column(BigInteger)
    shared_at: Mapped[datetime | None]
    shared_to: Mapped[str | None] = mapped_column(String(64))


class MeasureRow(Base):
    __tablename__ = "long_term_measures"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    unit_id: Mapped[str] = mapped_column(String(64), ForeignKey("units.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    due: Mapped[date]
    status: Mapped[str] = mapped_column(String(16), index=True)
    created_at: Mapped[datetime]
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[datetime | None]
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JsonType, default=list)


class MeasureChangeRow(Base):
    __tablename__ = "measure_changes"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    measure_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("long_term_measures.id", ondelete="CASCADE"), index=True
    )
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime]
    by: Mapped[int | None] = mapped_column(BigInteger)
    note: Mapped[str] = mapped_column(Text, default="")


# 复核检查 and 验收 (issue 14, migration 0010; core.review, storage/repositories/review.py).
# An inspection names its units on its row (JSON: a handful per inspection); each finding is a
# row of its own, linked to the 整改建议书 it became. Acceptance rows are history: the newest
# of a unit (or of the campaign) counts.
class ReviewInspectionRow(Base):
    __tablename__ = "review_inspections"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    bodies: Mapped[str] = mapped_column(String(500))
    inspected_on: Mapped[date]
    unit_ids: Mapped[list[str]] = mapped_column(JsonType, default=list)
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_at: Mapped[datetime]
    recorded_by: Mapped[int | None] = mapped_column(BigInteger)


class ReviewFindingRow(Base):
    __tablename__ = "review_findings"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    inspection_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("review_inspections.id", ondelete="CASCADE"), index=True
    )
    unit_id: Mapped[str] = mapped_column(String(64), ForeignKey("units.id"), index=True)
    severity: Mapped[str] = mapped_column(String(16))
    facts: Mapped[str] = mapped_column(Text)
    case_numbers: Mapped[list[str]] = mapped_column(JsonType, default=list)
    recommendation_id: Mapped[int | None] = mapped_column(
        IdType, ForeignKey("rectification_recommendations.id"), index=True
    )
    recorded_at: Mapped[datetime]


class UnitAcceptanceRow(Base):
    __tablename__ = "unit_acceptances"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    unit_id: Mapped[str] = mapped_column(String(64), ForeignKey("units.id"), index=True)
    accepted: Mapped[bool] = mapped_column(Boolean)
    decided_at: Mapped[datetime]
    decided_by: Mapped[int | None] = mapped_column(BigInteger)
    note: Mapped[str] = mapped_column(Text, default="")


class CampaignAcceptanceRow(Base):
    __tablename__ = "campaign_acceptances"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    decided_at: Mapped[datetime]
    decided_by: Mapped[int | None] = mapped_column(BigInteger)
    exceptions: Mapped[list[str]] = mapped_column(JsonType, default=list)
    note: Mapped[str] = mapped_column(Text, default="")


# The case list's text search and the scoreboard at a million cases (issue 13, migration
# 0013). Trigram GIN indexes answer the list's
# LIKE '%word%' on the three searched columns (on SQLite, where no index serves such a pattern,
# they are plain ones, kept so that one set of models describes both); the lead rows of
# case_units as (case_id, unit_id) serve the scoreboard's per-unit join from the index alone.
for _column in ("description", "place", "target_text"):
    Index(
        f"ix_cases_{_column}_trgm",
        CaseRow.__table__.c[_column],
        postgresql_using="gin",
        postgresql_ops={_column: "gin_trgm_ops"},
    )
Index(
    "ix_case_units_lead_case_id_unit_id",
    CaseUnitRow.case_id,
    CaseUnitRow.unit_id,
    sqlite_where=text("role = 'lead'"),
    postgresql_where=text("role = 'lead'"),
)


# Scoreboard-perf helper (issue 13, migration 0016). The campaign-long scoreboard at a million
# cases: its per-unit figures per local day, a cache of storage.stats rebuilt by the periodic
# pass (storage/scoreboard_daily.py), and which days it holds in which time zone. ``area`` is
# "" for cases without one (a key column cannot be NULL).
class ScoreboardDailyRow(Base):
    __tablename__ = "scoreboard_daily"

    unit_id: Mapped[str] = mapped_column(String(64), primary_key=True)  # a lead unit
    area: Mapped[str] = mapped_column(String(32), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True, index=True)
    received: Mapped[int] = mapped_column(Integer)
    sign_due: Mapped[int] = mapped_column(Integer)
    signed_on_time: Mapped[int] = mapped_column(Integer)
    answer_due: Mapped[int] = mapped_column(Integer)
    answered_on_time: Mapped[int] = mapped_column(Integer)
    answered: Mapped[int] = mapped_column(Integer)
    satisfied: Mapped[int] = mapped_column(Integer)
    basically: Mapped[int] = mapped_column(Integer)
    unsatisfied: Mapped[int] = mapped_column(Integer)
    no_response: Mapped[int] = mapped_column(Integer)
    pending: Mapped[int] = mapped_column(Integer)
    reopened: Mapped[int] = mapped_column(Integer)


class ScoreboardDailyRefreshRow(Base):
    """One row: scoreboard_daily holds the local days before ``through``, counted in ``zone``."""

    __tablename__ = "scoreboard_daily_refresh"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    zone: Mapped[str] = mapped_column(String(64))
    through: Mapped[date]
    refreshed_at: Mapped[datetime]


# The case list's text search for two-character words (0016): their distinct two-character
# substrings in a GIN index; PostgreSQL only (the function is created by the migration there).
Index(
    "ix_cases_text_bigrams",
    func.case_text_bigrams(*(CaseRow.__table__.c[c] for c in ("description", "place", "target_text"))),
    postgresql_using="gin",
).ddl_if(dialect="postgresql")
