"""The Open311 API's reads (web/open311): citizens' cases, newest first, filtered and paged.

Only the columns ``core.open311.public_request`` may show leave here, plus which API key filed
each case (so the filing holder can read its description back); the citizen's identity is
joined for that key id only and never leaves this module.
"""

from __future__ import annotations

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.cases import Source
from core.open311 import STATES_OF, PublicRequest, RequestQuery, public_request
from core.states import CaseState
from storage.models import CaseRow, CitizenRow
from storage.repositories.cases import _read_case

_FILED = frozenset(s for s in CaseState if s is not CaseState.DRAFT)


class Open311Reader:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    def _select(self) -> Select[CaseRow, int | None]:
        # Office findings (明察暗访, 抽查) are the office's own supervision, not anyone's service
        # request: the API lists what citizens filed, by the bot or by a key holder.
        return (
            select(CaseRow, CitizenRow.api_key_id)
            .outerjoin(CitizenRow, CitizenRow.id == CaseRow.citizen_id)
            .where(CaseRow.source == Source.CITIZEN.value)
        )

    async def page(self, query: RequestQuery, *, reader_key: int | None = None) -> list[PublicRequest]:
        stmt = self._select()
        if query.tracking_nos:
            stmt = stmt.where(CaseRow.tracking_no.in_(query.tracking_nos))
        if query.area is not None:
            stmt = stmt.where(func.coalesce(CaseRow.area_final, CaseRow.area_auto) == query.area)
        if query.start is not None:
            stmt = stmt.where(CaseRow.created_at >= query.start)
        if query.end is not None:
            stmt = stmt.where(CaseRow.created_at < query.end)
        states = STATES_OF[query.status] if query.status is not None else _FILED
        stmt = stmt.where(CaseRow.state.in_(sorted(s.value for s in states)))
        stmt = stmt.order_by(CaseRow.created_at.desc(), CaseRow.id.desc())
        stmt = stmt.limit(query.page_size).offset(query.offset)
        rows = (await self._session.execute(stmt)).all()
        return [
            public_request(_read_case(row[0]), filed_by_key=row[1], reader_key=reader_key) for row in rows
        ]

    async def get(self, tracking_no: str, *, reader_key: int | None = None) -> PublicRequest | None:
        stmt = self._select().where(
            CaseRow.tracking_no == tracking_no, CaseRow.state.in_(sorted(s.value for s in _FILED))
        )
        row = (await self._session.execute(stmt)).first()
        if row is None:
            return None
        return public_request(_read_case(row[0]), filed_by_key=row[1], reader_key=reader_key)
