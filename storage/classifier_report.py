"""The rows of the classifier report (``core.classifier_report``): citizens' cases filed in a
period whose area is decided, with the classifier's pick and the cues that fired.

Office findings are left out (the classifier never ran on them), and so are drafts and cases
still waiting in triage without an area. No citizen column is read: the report must not be
able to say who complained.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.cases import Source
from core.classifier_report import DecidedCase
from core.states import CaseState
from storage.models import CaseRow


async def decided_cases(session: AsyncSession, start: datetime, end: datetime) -> list[DecidedCase]:
    """Cases created in [start, end), oldest first (so a confusion's examples are its first)."""
    query = (
        select(
            CaseRow.tracking_no,
            CaseRow.area_auto,
            CaseRow.area_final,
            CaseRow.confidence,
            CaseRow.matched_cues,
        )
        .where(
            CaseRow.source == Source.CITIZEN.value,
            CaseRow.state != CaseState.DRAFT.value,
            CaseRow.area_final.is_not(None),
            CaseRow.created_at >= start,
            CaseRow.created_at < end,
        )
        .order_by(CaseRow.created_at, CaseRow.id)
    )
    result = await session.execute(query)
    return [
        # area_final is not NULL by the WHERE above
        DecidedCase(no, auto, final or "", confidence, tuple(cues or ()))
        for no, auto, final, confidence, cues in result.all()
    ]
