"""Unit reports (self-inspection, rectification plans and reports) and recommendations."""

from __future__ import annotations

import builtins
from collections.abc import Collection
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import NotFound
from core.reports import (
    AccountabilityOutcome,
    AccountabilityRecord,
    Person,
    Recommendation,
    RecommendationStatus,
    ReportKind,
    ReportStatus,
    UnitReport,
)
from storage.models import AccountabilityRow, RecommendationRow, UnitReportRow

_FRESH = {"populate_existing": True}
_REPORT_FIELDS = (
    "unit_id",
    "phase_id",
    "submitted_at",
    "submitted_by",
    "recommendation_id",
    "due",
    "late",
    "inspected",
    "total",
    "problems",
    "measures",
    "reason_below_target",
    "review_note",
    "reviewed_at",
    "reviewed_by",
)
_REC_FIELDS = ("unit_id", "problems", "issued_at", "issued_by", "plan_due", "report_due")


def _report(row: UnitReportRow) -> UnitReport:
    fields: dict[str, Any] = {name: getattr(row, name) for name in _REPORT_FIELDS}
    return UnitReport(**fields, kind=ReportKind(row.kind), status=ReportStatus(row.status), id=row.id)


def _write_report(report: UnitReport, row: UnitReportRow) -> None:
    for name in _REPORT_FIELDS:
        setattr(row, name, getattr(report, name))
    row.kind = report.kind.value
    row.status = report.status.value


def _rec(row: RecommendationRow) -> Recommendation:
    fields: dict[str, Any] = {name: getattr(row, name) for name in _REC_FIELDS}
    return Recommendation(**fields, status=RecommendationStatus(row.status), id=row.id)


def _write_rec(rec: Recommendation, row: RecommendationRow) -> None:
    for name in _REC_FIELDS:
        setattr(row, name, getattr(rec, name))
    row.status = rec.status.value


class SqlReportRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, report: UnitReport) -> UnitReport:
        row = UnitReportRow()
        _write_report(report, row)
        self._session.add(row)
        await self._session.flush()
        report.id = row.id
        return report

    async def get(self, report_id: int) -> UnitReport | None:
        row = await self._session.get(UnitReportRow, report_id, populate_existing=True)
        return _report(row) if row else None

    async def update(self, report: UnitReport) -> None:
        row = await self._session.get(UnitReportRow, report.id) if report.id is not None else None
        if row is None:
            raise NotFound(kind="report", id=report.id)
        _write_report(report, row)
        await self._session.flush()

    async def list(
        self,
        *,
        unit_id: str | None = None,
        kind: ReportKind | None = None,
        phase_id: str | None = None,
        recommendation_id: int | None = None,
    ) -> builtins.list[UnitReport]:
        stmt = select(UnitReportRow)
        if unit_id is not None:
            stmt = stmt.where(UnitReportRow.unit_id == unit_id)
        if kind is not None:
            stmt = stmt.where(UnitReportRow.kind == kind.value)
        if phase_id is not None:
            stmt = stmt.where(UnitReportRow.phase_id == phase_id)
        if recommendation_id is not None:
            stmt = stmt.where(UnitReportRow.recommendation_id == recommendation_id)
        stmt = stmt.order_by(UnitReportRow.submitted_at, UnitReportRow.id)
        return [_report(r) for r in (await self._session.execute(stmt, execution_options=_FRESH)).scalars()]

    async def add_recommendation(self, rec: Recommendation) -> Recommendation:
        row = RecommendationRow()
        _write_rec(rec, row)
        self._session.add(row)
        await self._session.flush()
        rec.id = row.id
        return rec

    async def get_recommendation(self, rec_id: int) -> Recommendation | None:
        row = await self._session.get(RecommendationRow, rec_id, populate_existing=True)
        return _rec(row) if row else None

    async def update_recommendation(self, rec: Recommendation) -> None:
        row = await self._session.get(RecommendationRow, rec.id) if rec.id is not None else None
        if row is None:
            raise NotFound(kind="recommendation", id=rec.id)
        _write_rec(rec, row)
        await self._session.flush()

    async def list_recommendations(
        self, *, unit_id: str | None = None, statuses: Collection[RecommendationStatus] | None = None
    ) -> builtins.list[Recommendation]:
        stmt = select(RecommendationRow)
        if unit_id is not None:
            stmt = stmt.where(RecommendationRow.unit_id == unit_id)
        if statuses is not None:
            stmt = stmt.where(RecommendationRow.status.in_([s.value for s in statuses]))
        stmt = stmt.order_by(RecommendationRow.issued_at, RecommendationRow.id)
        return [_rec(r) for r in (await self._session.execute(stmt, execution_options=_FRESH)).scalars()]

    async def add_accountability(self, record: AccountabilityRecord) -> AccountabilityRecord:
        row = AccountabilityRow(
            unit_id=record.unit_id,
            facts=record.facts,
            outcome=record.outcome.value,
            people=[{"role": p.role, "name": p.name} for p in record.people],
            case_numbers=list(record.case_numbers),
            recorded_at=record.recorded_at,
            recorded_by=record.recorded_by,
        )
        self._session.add(row)
        await self._session.flush()
        return _accountability(row)

    async def list_accountability(self, *, unit_id: str | None = None) -> builtins.list[AccountabilityRecord]:
        stmt = select(AccountabilityRow)
        if unit_id is not None:
            stmt = stmt.where(AccountabilityRow.unit_id == unit_id)
        stmt = stmt.order_by(AccountabilityRow.recorded_at, AccountabilityRow.id)
        return [_accountability(r) for r in (await self._session.execute(stmt)).scalars()]


def _accountability(row: AccountabilityRow) -> AccountabilityRecord:
    return AccountabilityRecord(
        unit_id=row.unit_id,
        facts=row.facts,
        outcome=AccountabilityOutcome(row.outcome),
        recorded_at=row.recorded_at,
        people=[Person(str(p.get("role", "")), str(p.get("name", ""))) for p in row.people],
        case_numbers=list(row.case_numbers),
        recorded_by=row.recorded_by,
        id=row.id,
    )
