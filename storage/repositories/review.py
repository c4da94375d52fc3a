"""复核检查 and 验收 (issue 14; core.review): inspections, their findings per unit, and the
acceptance records of each unit and of the campaign as a whole (history rows: newest counts)."""

from __future__ import annotations

import builtins

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import NotFound
from core.review import (
    CampaignAcceptance,
    FindingSeverity,
    ReviewFinding,
    ReviewInspection,
    UnitAcceptance,
)
from storage.models import (
    CampaignAcceptanceRow,
    ReviewFindingRow,
    ReviewInspectionRow,
    UnitAcceptanceRow,
)


def _inspection(row: ReviewInspectionRow) -> ReviewInspection:
    return ReviewInspection(
        bodies=row.bodies,
        inspected_on=row.inspected_on,
        unit_ids=[str(u) for u in row.unit_ids],
        recorded_at=row.recorded_at,
        recorded_by=row.recorded_by,
        note=row.note,
        id=row.id,
    )


def _finding(row: ReviewFindingRow) -> ReviewFinding:
    return ReviewFinding(
        inspection_id=row.inspection_id,
        unit_id=row.unit_id,
        severity=FindingSeverity(row.severity),
        facts=row.facts,
        recorded_at=row.recorded_at,
        case_numbers=[str(n) for n in row.case_numbers],
        recommendation_id=row.recommendation_id,
        id=row.id,
    )


def _unit_acceptance(row: UnitAcceptanceRow) -> UnitAcceptance:
    return UnitAcceptance(
        unit_id=row.unit_id,
        accepted=row.accepted,
        decided_at=row.decided_at,
        decided_by=row.decided_by,
        note=row.note,
        id=row.id,
    )


def _campaign_acceptance(row: CampaignAcceptanceRow) -> CampaignAcceptance:
    return CampaignAcceptance(
        decided_at=row.decided_at,
        decided_by=row.decided_by,
        exceptions=[str(u) for u in row.exceptions],
        note=row.note,
        id=row.id,
    )


class SqlReviewRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_inspection(self, inspection: ReviewInspection) -> ReviewInspection:
        row = ReviewInspectionRow(
            bodies=inspection.bodies,
            inspected_on=inspection.inspected_on,
            unit_ids=list(inspection.unit_ids),
            note=inspection.note,
            recorded_at=inspection.recorded_at,
            recorded_by=inspection.recorded_by,
        )
        self.session.add(row)
        await self.session.flush()
        inspection.id = row.id
        return _inspection(row)

    async def get_inspection(self, inspection_id: int) -> ReviewInspection | None:
        row = await self.session.get(ReviewInspectionRow, inspection_id)
        return _inspection(row) if row is not None else None

    async def list_inspections(self) -> builtins.list[ReviewInspection]:
        rows = await self.session.scalars(
            select(ReviewInspectionRow).order_by(ReviewInspectionRow.inspected_on, ReviewInspectionRow.id)
        )
        return [_inspection(r) for r in rows]

    async def add_finding(self, finding: ReviewFinding) -> ReviewFinding:
        row = ReviewFindingRow(
            inspection_id=finding.inspection_id,
            unit_id=finding.unit_id,
            severity=finding.severity.value,
            facts=finding.facts,
            case_numbers=list(finding.case_numbers),
            recommendation_id=finding.recommendation_id,
            recorded_at=finding.recorded_at,
        )
        self.session.add(row)
        await self.session.flush()
        finding.id = row.id
        return _finding(row)

    async def get_finding(self, finding_id: int, *, for_update: bool = False) -> ReviewFinding | None:
        # for_update: two presses of one finding's button queue on its row (PostgreSQL; SQLite's
        # write lock does the same), so the second sees the first's recommendation
        row = await self.session.get(
            ReviewFindingRow, finding_id, populate_existing=True, with_for_update=for_update or None
        )
        return _finding(row) if row is not None else None

    async def list_findings(
        self, *, unit_id: str | None = None, inspection_id: int | None = None
    ) -> builtins.list[ReviewFinding]:
        query = select(ReviewFindingRow).order_by(ReviewFindingRow.id)
        if unit_id is not None:
            query = query.where(ReviewFindingRow.unit_id == unit_id)
        if inspection_id is not None:
            query = query.where(ReviewFindingRow.inspection_id == inspection_id)
        return [_finding(r) for r in await self.session.scalars(query)]

    async def link_recommendation(self, finding_id: int, recommendation_id: int) -> None:
        row = await self.session.get(ReviewFindingRow, finding_id)
        if row is None:
            raise NotFound(kind="finding", id=finding_id)
        row.recommendation_id = recommendation_id
        await self.session.flush()

    async def add_unit_acceptance(self, acceptance: UnitAcceptance) -> UnitAcceptance:
        row = UnitAcceptanceRow(
            unit_id=acceptance.unit_id,
            accepted=acceptance.accepted,
            decided_at=acceptance.decided_at,
            decided_by=acceptance.decided_by,
            note=acceptance.note,
        )
        self.session.add(row)
        await self.session.flush()
        acceptance.id = row.id
        return _unit_acceptance(row)

    async def list_unit_acceptances(self, *, unit_id: str | None = None) -> builtins.list[UnitAcceptance]:
        query = select(UnitAcceptanceRow).order_by(UnitAcceptanceRow.decided_at, UnitAcceptanceRow.id)
        if unit_id is not None:
            query = query.where(UnitAcceptanceRow.unit_id == unit_id)
        return [_unit_acceptance(r) for r in await self.session.scalars(query)]

    async def add_campaign_acceptance(self, acceptance: CampaignAcceptance) -> CampaignAcceptance:
        row = CampaignAcceptanceRow(
            decided_at=acceptance.decided_at,
            decided_by=acceptance.decided_by,
            exceptions=list(acceptance.exceptions),
            note=acceptance.note,
        )
        self.session.add(row)
        await self.session.flush()
        acceptance.id = row.id
        return _campaign_acceptance(row)

    async def latest_campaign_acceptance(self) -> CampaignAcceptance | None:
        row = await self.session.scalar(
            select(CampaignAcceptanceRow)
            .order_by(CampaignAcceptanceRow.decided_at.desc(), CampaignAcceptanceRow.id.desc())
            .limit(1)
        )
        return _campaign_acceptance(row) if row is not None else None
