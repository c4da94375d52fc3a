"""Good practices (推介典型) and long-term measures (长效机制) with their status history."""

from __future__ import annotations

import builtins
from collections.abc import Collection, Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.attachments import AttachmentKind
from core.errors import NotFound
from core.measures import Evidence, GoodPractice, Measure, MeasureChange, MeasureStatus
from storage.models import GoodPracticeRow, MeasureChangeRow, MeasureRow

_FRESH = {"populate_existing": True}


def _practice(row: GoodPracticeRow) -> GoodPractice:
    return GoodPractice(
        unit_id=row.unit_id,
        title=row.title,
        description=row.description,
        recorded_at=row.recorded_at,
        recorded_by=row.recorded_by,
        case_numbers=list(row.case_numbers),
        report_ids=[int(r) for r in row.report_ids],
        shared_at=row.shared_at,
        shared_to=row.shared_to,
        id=row.id,
    )


def _evidence_json(evidence: Iterable[Evidence]) -> list[dict[str, Any]]:
    return [
        {
            "file_id": e.file_id,
            "file_unique_id": e.file_unique_id,
            "kind": e.kind.value,
            "mime": e.mime,
            "file_name": e.file_name,
            "size": e.size,
        }
        for e in evidence
    ]


def _evidence(data: Iterable[dict[str, Any]]) -> list[Evidence]:
    return [
        Evidence(
            file_id=str(d["file_id"]),
            file_unique_id=str(d.get("file_unique_id", "")),
            kind=AttachmentKind(d.get("kind", AttachmentKind.DOCUMENT.value)),
            mime=d.get("mime"),
            file_name=d.get("file_name"),
            size=d.get("size"),
        )
        for d in data
    ]


def _change(row: MeasureChangeRow) -> MeasureChange:
    return MeasureChange(
        to_status=MeasureStatus(row.to_status),
        at=row.at,
        by=row.by,
        from_status=MeasureStatus(row.from_status) if row.from_status else None,
        note=row.note,
    )


def _change_row(measure_id: int, change: MeasureChange) -> MeasureChangeRow:
    return MeasureChangeRow(
        measure_id=measure_id,
        from_status=change.from_status.value if change.from_status else None,
        to_status=change.to_status.value,
        at=change.at,
        by=change.by,
        note=change.note,
    )


def _measure(row: MeasureRow, history: builtins.list[MeasureChange]) -> Measure:
    return Measure(
        unit_id=row.unit_id,
        title=row.title,
        due=row.due,
        created_at=row.created_at,
        created_by=row.created_by,
        description=row.description,
        status=MeasureStatus(row.status),
        updated_at=row.updated_at,
        evidence=_evidence(row.evidence),
        history=history,
        id=row.id,
    )


class SqlPracticeRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    # -- good practices ---------------------------------------------------------------------

    async def add_practice(self, practice: GoodPractice) -> GoodPractice:
        row = GoodPracticeRow(
            unit_id=practice.unit_id,
            title=practice.title,
            description=practice.description,
            case_numbers=list(practice.case_numbers),
            report_ids=list(practice.report_ids),
            recorded_at=practice.recorded_at,
            recorded_by=practice.recorded_by,
            shared_at=practice.shared_at,
            shared_to=practice.shared_to,
        )
        self._session.add(row)
        await self._session.flush()
        practice.id = row.id
        return _practice(row)

    async def get_practice(self, practice_id: int) -> GoodPractice | None:
        row = await self._session.get(GoodPracticeRow, practice_id, populate_existing=True)
        return _practice(row) if row is not None else None

    async def update_practice(self, practice: GoodPractice) -> None:
        row = await self._session.get(GoodPracticeRow, practice.id)
        if row is None:
            raise NotFound(kind="practice", id=practice.id)
        row.shared_at = practice.shared_at
        row.shared_to = practice.shared_to
        await self._session.flush()

    async def list_practices(self, *, unit_id: str | None = None) -> builtins.list[GoodPractice]:
        stmt = select(GoodPracticeRow)
        if unit_id is not None:
            stmt = stmt.where(GoodPracticeRow.unit_id == unit_id)
        stmt = stmt.order_by(GoodPracticeRow.recorded_at, GoodPracticeRow.id)
        rows = (await self._session.execute(stmt, execution_options=_FRESH)).scalars()
        return [_practice(r) for r in rows]

    # -- long-term measures -----------------------------------------------------------------

    async def add_measure(self, measure: Measure) -> Measure:
        row = MeasureRow(
            unit_id=measure.unit_id,
            title=measure.title,
            description=measure.description,
            due=measure.due,
            status=measure.status.value,
            created_at=measure.created_at,
            created_by=measure.created_by,
            updated_at=measure.updated_at,
            evidence=_evidence_json(measure.evidence),
        )
        self._session.add(row)
        await self._session.flush()
        self._session.add_all([_change_row(row.id, c) for c in measure.history])
        await self._session.flush()
        measure.id = row.id
        return _measure(row, list(measure.history))

    async def get_measure(self, measure_id: int, *, for_update: bool = False) -> Measure | None:
        stmt = select(MeasureRow).where(MeasureRow.id == measure_id)
        if for_update:
            stmt = stmt.with_for_update()
        row = (await self._session.execute(stmt, execution_options=_FRESH)).scalar_one_or_none()
        if row is None:
            return None
        return _measure(row, (await self._histories([row.id])).get(row.id, []))

    async def update_measure(self, measure: Measure, change: MeasureChange) -> None:
        row = await self._session.get(MeasureRow, measure.id)
        if row is None or measure.id is None:
            raise NotFound(kind="measure", id=measure.id)
        row.status = measure.status.value
        row.updated_at = measure.updated_at
        row.evidence = _evidence_json(measure.evidence)
        self._session.add(_change_row(measure.id, change))
        await self._session.flush()

    async def list_measures(
        self, *, unit_id: str | None = None, statuses: Collection[MeasureStatus] | None = None
    ) -> builtins.list[Measure]:
        stmt = select(MeasureRow)
        if unit_id is not None:
            stmt = stmt.where(MeasureRow.unit_id == unit_id)
        if statuses is not None:
            stmt = stmt.where(MeasureRow.status.in_([s.value for s in statuses]))
        stmt = stmt.order_by(MeasureRow.created_at, MeasureRow.id)
        rows = list((await self._session.execute(stmt, execution_options=_FRESH)).scalars())
        histories = await self._histories([r.id for r in rows])
        return [_measure(r, histories.get(r.id, [])) for r in rows]

    async def _histories(self, ids: builtins.list[int]) -> dict[int, builtins.list[MeasureChange]]:
        out: dict[int, builtins.list[MeasureChange]] = {}
        if not ids:
            return out
        stmt = (
            select(MeasureChangeRow)
            .where(MeasureChangeRow.measure_id.in_(ids))
            .order_by(MeasureChangeRow.at, MeasureChangeRow.id)
        )
        for row in (await self._session.execute(stmt)).scalars():
            out.setdefault(row.measure_id, []).append(_change(row))
        return out
