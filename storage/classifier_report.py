"""The rows of the classifier report (``core.classifier_report``): citizens' cases filed in a
period whose area is decided, with the classifier's pick and the cues that fired.

Office findings are left out (the classifier never ran on them), and so are drafts and cases
still waiting in triage without an area. No citizen column is read: the report must not be
able to say who complained.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.cases import Source
from core.classifier_report import DecidedCase
from core.states import CaseState
from storage.models import CaseRow


async def decided_cases(
    session: AsyncSession, start: datetime, end: datetime, *, campaign: str | None = None
) -> list[DecidedCase]:
    """Cases created in [start, end), oldest first (so a confusion's examples are its first);
    with ``campaign``, that (sub-)campaign's cases only ("" the district's own)."""
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
    if campaign is not None:
        query = query.where(CaseRow.campaign == campaign)
    result = await session.execute(query)
    return [
        # area_final is not NULL by the WHERE above
        DecidedCase(no, auto, final or "", confidence, tuple(cues or ()))
        for no, auto, final, confidence, cues in result.all()
    ]


class SqlDecidedCases:
    """``core.services.classifier_report.DecidedCaseSource`` on the database: one (read-only)
    session per call."""

    def __init__(
        self, session_factory: async_sessionmaker[AsyncSession], *, campaign: str | None = None
    ) -> None:
        self.session_factory = session_factory
        self.campaign = campaign  # a street's office sees its own campaign's cases, the district every case

    async def decided_cases(self, start: datetime, end: datetime) -> list[DecidedCase]:
        async with self.session_factory() as session:
            return await decided_cases(session, start, end, campaign=self.campaign)
