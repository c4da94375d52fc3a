"""The dashboard's case list (``core.case_list``): filtered, newest first, seek-paged.

Two statements per page whatever the table's size: the page's cases from an index range scan
on (created_at, id) (or (state, created_at, id)), stopping at the page's size plus one, and
their units in one lookup. Only the columns a row shows are read, never identity.
"""

from __future__ import annotations

from datetime import date, tzinfo
from typing import Any

from sqlalchemy import Text, and_, bindparam, exists, func, or_, select, tuple_
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from core.case_list import (
    ANSWER_STATES,
    PAGE_SIZE,
    SIGN_STATES,
    CaseFilter,
    CaseListItem,
    CasePage,
    Cursor,
    like_pattern,
)
from core.states import CaseState
from storage.models import CaseRow, CaseUnitRow

EXCERPT = 80  # characters of the description a row shows
TRIGRAM = 3  # pg_trgm finds no trigram in a LIKE word shorter than this
_C = CaseRow.__table__.c
_U = CaseUnitRow.__table__.c


def _values(states: tuple[CaseState, ...]) -> list[str]:
    return [s.value for s in states]


def overdue_condition(today: date) -> ColumnElement[bool]:
    """A running deadline missed before ``today`` (core.deadlines.pending_deadlines)."""
    return or_(
        and_(_C.state.in_(_values(SIGN_STATES)), _C.sign_due < today),
        and_(_C.state.in_(_values(ANSWER_STATES)), _C.answer_due < today),
    )


def conditions(flt: CaseFilter, *, today: date, tz: tzinfo, dialect: str) -> list[ColumnElement[bool]]:
    """The filter as WHERE conditions; ``dialect`` picks the text search's form."""
    where: list[ColumnElement[bool]] = [_C.state != CaseState.DRAFT.value]
    if flt.state is not None:
        where.append(_C.state == flt.state.value)
    if flt.area is not None:
        where.append(func.coalesce(_C.area_final, _C.area_auto) == flt.area)
    if flt.unit is not None:
        where.append(exists().where(_U.case_id == _C.id, _U.unit_id == flt.unit))
    if flt.campaign is not None:
        where.append(_C.campaign == flt.campaign)
    if flt.overdue:
        where.append(overdue_condition(today))
    start, end = flt.created_bounds(tz)
    if start is not None:
        where.append(_C.created_at >= start)
    if end is not None:
        where.append(_C.created_at < end)
    if flt.query:
        number = flt.tracking_no
        if number is not None:
            where.append(_C.tracking_no == number)
        else:
            where.extend(_text_search(flt.query, dialect))
    return where


def bigrams(text: str) -> list[str]:
    """The distinct two-character substrings of ``text``, as the migration's
    ``case_text_bigrams`` makes them (characters are code points on both sides)."""
    return sorted({text[i : i + 2] for i in range(len(text) - 1)})


def _text_search(query: str, dialect: str) -> list[ColumnElement[bool]]:
    """The query's text in the description, the place or the named unit.

    On PostgreSQL (issue 13, migration 0016): a two-character word, the usual length of a
    Chinese word, has no trigram, so 0013's pg_trgm indexes return every row for it, and the
    planner, which does not know that, takes them (a second at a million cases). For such
    short words ``strpos`` says the same as the escaped ``LIKE`` (a literal, case-sensitive
    substring) without offering the trigram indexes; and every query of two characters or more
    also asks the bigram GIN index for the rows holding all its two-character substrings, a
    superset of the matches that the substring test then narrows. The planner weighs that
    index with its statistics: for a word on every row it still walks created_at instead."""
    columns = (_C.description, _C.place, _C.target_text)
    if dialect != "postgresql":
        pattern = like_pattern(query)
        return [or_(*(c.like(pattern, escape="\\") for c in columns))]
    where: list[ColumnElement[bool]] = []
    pairs = bigrams(query)
    if pairs:
        where.append(
            func.case_text_bigrams(*columns).op("@>")(bindparam("q_bigrams", pairs, type_=ARRAY(Text)))
        )
    if len(query) < TRIGRAM:
        where.append(or_(*(func.strpos(c, query) > 0 for c in columns)))
    else:
        pattern = like_pattern(query)
        where.append(or_(*(c.like(pattern, escape="\\") for c in columns)))
    return where


class CaseListReader:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def page(self, flt: CaseFilter, *, today: date, tz: tzinfo, size: int = PAGE_SIZE) -> CasePage:
        where = conditions(flt, today=today, tz=tz, dialect=self._session.get_bind().dialect.name)
        if flt.after is not None:
            # a row comparison PostgreSQL turns into one index range; the bind carries the
            # column's type so SQLite compares the stored form
            after = tuple_(
                bindparam("after_at", flt.after.created_at, type_=_C.created_at.type),
                bindparam("after_id", flt.after.case_id, type_=_C.id.type),
            )
            where.append(tuple_(_C.created_at, _C.id) < after)
        stmt = (
            select(
                _C.id,
                _C.tracking_no,
                _C.state,
                _C.created_at,
                func.coalesce(_C.area_final, _C.area_auto).label("area"),
                func.substr(_C.description, 1, EXCERPT).label("excerpt"),
                _C.sign_due,
                _C.answer_due,
            )
            .where(*where)
            .order_by(_C.created_at.desc(), _C.id.desc())
            .limit(size + 1)
        )
        rows = (await self._session.execute(stmt)).all()
        shown = rows[:size]
        units = await self._units([r.id for r in shown])
        items = tuple(_item(r, units.get(r.id, ([], []))) for r in shown)
        more = len(rows) > size
        last = shown[-1] if shown else None
        return CasePage(items, Cursor(last.created_at, last.id) if more and last is not None else None)

    async def _units(self, case_ids: list[int]) -> dict[int, tuple[list[str], list[str]]]:
        out: dict[int, tuple[list[str], list[str]]] = {}
        if not case_ids:
            return out
        stmt = (
            select(_U.case_id, _U.unit_id, _U.role)
            .where(_U.case_id.in_(case_ids))
            .order_by(_U.case_id, _U.position)
        )
        for row in (await self._session.execute(stmt)).all():
            lead, assist = out.setdefault(int(row.case_id), ([], []))
            (lead if row.role == "lead" else assist).append(str(row.unit_id))
        return out


def _item(row: Any, units: tuple[list[str], list[str]]) -> CaseListItem:
    return CaseListItem(
        id=row.id,
        tracking_no=row.tracking_no,
        state=CaseState(row.state),
        created_at=row.created_at,
        area=row.area,
        description=row.excerpt or "",
        lead_unit_ids=tuple(units[0]),
        assist_unit_ids=tuple(units[1]),
        sign_due=row.sign_due,
        answer_due=row.answer_due,
    )
