"""Cases, their append-only history, and their files."""

from __future__ import annotations

import builtins
import functools
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import Integer, Select, Table, and_, bindparam, column, func, insert, select, true
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from core.attachments import Attachment, AttachmentKind
from core.audit import AuditEntry
from core.cases import Case, CaseEvent, Measure, Outcome, Satisfaction, Source, Visibility
from core.directory import UnitRole
from core.errors import NotFound
from core.recusal import Recusal, RecusalReason, RecusalScope
from core.states import Actor, CaseState
from storage.db import RIDE_ALONG_OPTION
from storage.models import (
    AttachmentRow,
    AuditRow,
    CaseEventRow,
    CaseRecusalRow,
    CaseRow,
    CaseUnitRow,
    CitizenRow,
    UtcDateTime,
)
from storage.repositories._sql import bound, dialect_name, insert_on, params
from storage.repositories.bookkeeping import audit_row
from storage.repositories.directory import citizen_params, citizen_upsert

# Columns copied one to one between Case and CaseRow (enums by value).
_SCALARS = (
    "tracking_no",
    "description",
    "created_at",
    "area_auto",
    "area_final",
    "confidence",
    "citizen_id",
    "anonymous",
    "target_unit_id",
    "target_text",
    "place",
    "occurred",
    "assigned_at",
    "sign_due",
    "signed_at",
    "answer_due",
    "answered_at",
    "extended",
    "closed_at",
    "typical",
    "satisfaction_comment",
    "submission_key",
    "campaign",
)
_ENUMS = ("state", "source", "outcome", "measure", "satisfaction")

# Where a deadline is running, and which one (SPEC §3).
SIGN_DUE_STATES = (CaseState.ASSIGNED,)
ANSWER_DUE_STATES = (CaseState.SIGNED, CaseState.EXTENSION_REQUESTED)


def _write_case(case: Case, row: CaseRow) -> None:
    for name in _SCALARS:
        setattr(row, name, getattr(case, name))
    for name in _ENUMS:
        value = getattr(case, name)
        setattr(row, name, None if value is None else value.value)
    row.matched_cues = list(case.matched_cues)


def _case_values(case: Case) -> dict[str, Any]:
    """The case's own columns, as ``_write_case`` sets them (for Core statements)."""
    values: dict[str, Any] = {name: getattr(case, name) for name in _SCALARS}
    for name in _ENUMS:
        value = getattr(case, name)
        values[name] = None if value is None else value.value
    values["matched_cues"] = list(case.matched_cues)
    return values


def _read_case(row: CaseRow) -> Case:
    units = sorted(row.units, key=lambda u: u.position)
    return Case(
        **{name: getattr(row, name) for name in _SCALARS},
        state=CaseState(row.state),
        source=Source(row.source),
        outcome=Outcome(row.outcome) if row.outcome else None,
        measure=Measure(row.measure) if row.measure else None,
        satisfaction=Satisfaction(row.satisfaction) if row.satisfaction else None,
        matched_cues=list(row.matched_cues or []),
        lead_unit_ids=[u.unit_id for u in units if u.role == UnitRole.LEAD],
        assist_unit_ids=[u.unit_id for u in units if u.role == UnitRole.ASSIST],
        recusals=[_read_recusal(r) for r in row.recusals],
        id=row.id,
    )


def _read_recusal(row: CaseRecusalRow) -> Recusal:
    return Recusal(
        unit_id=row.unit_id,
        scope=RecusalScope(row.scope),
        reason=RecusalReason(row.reason),
        matched=row.matched,
        via=row.via,
        pending=row.pending,
        at=row.at,
        by=row.by,
    )


def _sync_recusals(row: CaseRow, recusals: Sequence[Recusal], fallback_at: datetime) -> None:
    """One row per recused unit, changed in place (a recusal is lifted by leaving it out)."""
    wanted = {r.unit_id: r for r in recusals}
    for existing in list(row.recusals):
        if existing.unit_id not in wanted:
            row.recusals.remove(existing)
    have = {r.unit_id: r for r in row.recusals}
    for unit_id, r in wanted.items():
        target = have.get(unit_id)
        if target is None:
            target = CaseRecusalRow(unit_id=unit_id)
            row.recusals.append(target)
        target.scope, target.reason, target.matched = r.scope.value, r.reason.value, r.matched
        target.via, target.pending, target.by = r.via, r.pending, r.by
        target.at = r.at or target.at or fallback_at


def _wanted_units(lead: Sequence[str], assist: Sequence[str]) -> dict[str, tuple[str, int]]:
    """unit id → (role, position); a unit listed as both lead and assist is lead."""
    wanted: dict[str, tuple[str, int]] = {}
    for unit_id in lead:
        wanted.setdefault(unit_id, (UnitRole.LEAD.value, len(wanted)))
    for unit_id in assist:
        wanted.setdefault(unit_id, (UnitRole.ASSIST.value, len(wanted)))
    return wanted


def _sync_units(row: CaseRow, lead: Sequence[str], assist: Sequence[str]) -> None:
    # Diff in place rather than replacing the collection, so an unchanged (case, unit) pair is
    # not deleted and re-inserted under the same primary key.
    wanted = _wanted_units(lead, assist)
    for existing in list(row.units):
        if existing.unit_id not in wanted:
            row.units.remove(existing)
    have = {u.unit_id: u for u in row.units}
    for unit_id, (role, position) in wanted.items():
        if unit_id in have:
            have[unit_id].role, have[unit_id].position = role, position
        else:
            row.units.append(CaseUnitRow(unit_id=unit_id, role=role, position=position))


_CASES = cast(Table, CaseRow.__table__)
_UNITS = cast(Table, CaseUnitRow.__table__)
_RECUSALS = cast(Table, CaseRecusalRow.__table__)
_EVENTS = cast(Table, CaseEventRow.__table__)
_AUDIT = cast(Table, AuditRow.__table__)


@functools.cache
def _filing_statement(dialect: str, columns: tuple[str, ...], citizen: bool | None = None) -> Any:
    """``add_within_limit``'s INSERT ... SELECT ... WHERE, built once per back end from bound
    parameters (``v_<column>``, ``f_citizen_id``, ``f_since``, ``f_limit``): built per filing,
    with a literal per column, it cost a third of the submit step's Python (bench_dialog).

    On PostgreSQL the same statement also stores the case's units, recusals, history and audit
    entries (``_with_children``), and with ``citizen`` (not None: whether it sets the phone)
    finds or makes the case's citizen first (``citizen_upsert``, parameters ``p_*``): one round
    trip where there were six. It then returns one row, (the citizen's id, the case's or
    NULL)."""
    cases = _CASES
    upsert = citizen_upsert(dialect, citizen).cte("filing_citizen") if citizen is not None else None
    citizen_id = bindparam("f_citizen_id") if upsert is None else select(upsert.c.id).scalar_subquery()
    filed = (
        select(func.count())
        .select_from(cases)
        .where(cases.c.citizen_id == citizen_id, cases.c.created_at >= bindparam("f_since"))
        .scalar_subquery()
    )
    values = [
        (
            citizen_id
            if k == "citizen_id" and upsert is not None
            else bindparam(f"v_{k}", type_=cases.c[k].type)
        ).label(k)
        for k in columns
    ]
    row = select(*values).where(filed < bindparam("f_limit"))
    stmt = (
        insert_on(dialect)(cases)
        .from_select(list(columns), row)
        .on_conflict_do_nothing(index_elements=[cases.c.submission_key])
        .returning(cases.c.id)
    )
    return _with_children(stmt, upsert) if dialect == "postgresql" else stmt


PG_DIALECT = postgresql.dialect()
RIDE_ALONG = {RIDE_ALONG_OPTION: True}


def _event_row(event: CaseEvent) -> dict[str, Any]:
    """An event as a ``case_events`` row's values, its case id aside."""
    return {
        "at": event.at,
        "actor": event.actor.value,
        "actor_ref": event.actor_ref,
        "kind": event.kind,
        "visibility": event.visibility.value,
        "text": event.text,
        "data": dict(event.data),
    }


@dataclass(frozen=True)
class _Child:
    """A kind of row a new case is stored with (``add_within_limit``)."""

    table: Table
    columns: tuple[str, ...]  # its columns but the case's id
    param: str  # PostgreSQL: the JSON array parameter its rows come in
    with_id: bool = True  # it has a case_id column

    @functools.cached_property
    def statement(self) -> Any:
        """The Core executemany that stores them (SQLite; and ``SqlEventRepository.add_many``)."""
        return insert(self.table)

    def rows(self, case_id: int, rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{"case_id": case_id, **r} for r in rows] if self.with_id else list(rows)


_HISTORY = _Child(_EVENTS, ("at", "actor", "actor_ref", "kind", "visibility", "text", "data"), "f_history")
_CHILDREN = (
    _Child(_UNITS, ("unit_id", "role", "position"), "f_units"),
    _Child(_RECUSALS, ("unit_id", "scope", "reason", "matched", "via", "pending", "at", "by"), "f_recusals"),
    _HISTORY,
    _Child(_AUDIT, ("actor_id", "at", "action", "target", "details"), "f_audit", with_id=False),
)


def _with_children(case_insert: Any, citizen: Any = None) -> Any:
    """PostgreSQL: ``case_insert`` (RETURNING the new id) as a data-modifying CTE, with one
    more per kind of row stored with the case (``_CHILDREN``), each reading its rows from a
    JSON array parameter (``jsonb_to_recordset``) in the array's order (each row's ``n``, from
    ``_json_rows``), so the history's ids keep it. Every one joins the new case: a case the
    guards refused stores nothing else either. One statement, one snapshot, one round trip
    where there were five."""
    new = case_insert.cte("new_case")
    stmt = select(new.c.id) if citizen is None else select(citizen.c.id, select(new.c.id).scalar_subquery())
    for child in _CHILDREN:
        table, columns = child.table, child.columns
        rows = (
            func.jsonb_to_recordset(bindparam(child.param, type_=JSONB))
            .table_valued(column("n", Integer()), *(column(c, table.c[c].type) for c in columns))
            .render_derived(name=f"{table.name}_rows", with_types=True)
        )
        own = [new.c.id] if child.with_id else []
        copy = (
            select(*own, *(rows.c[c] for c in columns)).select_from(new.join(rows, true())).order_by(rows.c.n)
        )
        names = ["case_id", *columns] if child.with_id else list(columns)
        stmt = stmt.add_cte(insert(table).from_select(names, copy).cte(f"new_{table.name}"))
    return stmt


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        utc = UtcDateTime().process_bind_param(value, PG_DIALECT)  # aware ones only, as a column
        assert utc is not None
        return utc.isoformat()
    return value


def _json_rows(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows for a JSON array parameter, numbered (``n``) in order; datetimes as ISO 8601 in
    UTC."""
    return [{"n": n, **{k: _json_value(v) for k, v in row.items()}} for n, row in enumerate(rows)]


_COUNT_FOR_USER_SINCE = (
    select(func.count())
    .select_from(CaseRow)
    .join(CitizenRow, CitizenRow.id == CaseRow.citizen_id)
    .where(
        CitizenRow.user_id == bound(cast(Table, CitizenRow.__table__), "c_", "user_id")["user_id"],
        CaseRow.created_at >= bound(_CASES, "c_", "created_at")["created_at"],
    )
)


class SqlCaseRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def _one(self, stmt: Select[Any], for_update: bool) -> CaseRow | None:
        if for_update:
            stmt = stmt.with_for_update()
        result = await self._session.execute(stmt.execution_options(populate_existing=True))
        row: CaseRow | None = result.scalar_one_or_none()
        return row

    async def _many(self, stmt: Select[Any]) -> list[Case]:
        result = await self._session.execute(stmt.execution_options(populate_existing=True))
        return [_read_case(row) for row in result.scalars()]

    async def add(self, case: Case) -> Case:
        row = CaseRow()
        _write_case(case, row)
        row.units = []
        row.recusals = []
        _sync_units(row, case.lead_unit_ids, case.assist_unit_ids)
        _sync_recusals(row, case.recusals, case.created_at)
        self._session.add(row)
        await self._session.flush()
        case.id = row.id
        return case

    async def add_within_limit(
        self,
        case: Case,
        *,
        since: datetime,
        limit: int,
        history: Sequence[CaseEvent] = (),
        audit: Sequence[AuditEntry] = (),
        citizen: tuple[int, str | None] | None = None,
    ) -> bool:
        # The guards are part of the INSERT (INSERT ... SELECT ... WHERE, ON CONFLICT DO NOTHING)
        # rather than queries before it: a citizen's filing costs no extra round trip, and the
        # unique submission key still decides between two presses that race (the second waits
        # for the first on PostgreSQL, then stores nothing). Core statements, not the ORM: the
        # ORM cannot insert from a SELECT, and nothing here needs the row in the session.
        dialect = dialect_name(self._session)
        found: dict[str, Any] = {}
        sets_phone: bool | None = None  # not None: the citizen is found in the case's statement
        if citizen is not None:
            user_id, phone = citizen
            found = citizen_params(user_id, case.created_at, phone)
            if dialect == "postgresql":
                sets_phone = phone is not None
            else:
                upsert = citizen_upsert(dialect, phone is not None)
                case.citizen_id = (await self._session.execute(upsert, found)).one().id
        values = _case_values(case)
        stmt = _filing_statement(dialect, tuple(values), sets_phone)
        params = {f"v_{k}": v for k, v in values.items()}
        params.update(f_citizen_id=case.citizen_id, f_since=since, f_limit=limit)
        if sets_phone is not None:
            params.update(found)
        units = [
            {"unit_id": unit_id, "role": role, "position": position}
            for unit_id, (role, position) in _wanted_units(case.lead_unit_ids, case.assist_unit_ids).items()
        ]
        recusals = [
            {
                "unit_id": r.unit_id,
                "scope": r.scope.value,
                "reason": r.reason.value,
                "matched": r.matched,
                "via": r.via,
                "pending": r.pending,
                "at": r.at or case.created_at,
                "by": r.by,
            }
            for r in {r.unit_id: r for r in case.recusals}.values()  # one row per unit, as _sync_recusals
        ]
        children: tuple[list[dict[str, Any]], ...] = (
            units,
            recusals,
            [_event_row(e) for e in history],
            [audit_row(e) for e in audit],
        )
        if dialect == "postgresql":  # all of them ride in the one statement (_with_children)
            params.update(
                (child.param, _json_rows(rows)) for child, rows in zip(_CHILDREN, children, strict=True)
            )
        result = await self._session.execute(stmt, params)
        case_id: int | None
        if sets_phone is None:
            case_id = result.scalar_one_or_none()
        else:
            found_id, new_id = result.one()
            case.citizen_id, case_id = cast(int, found_id), cast("int | None", new_id)
        if case_id is None:
            return False
        case.id = case_id
        for event in history:
            event.case_id = case_id
        if dialect != "postgresql":  # SQLite: with the transaction's next statement or COMMIT
            for child, rows in zip(_CHILDREN, children, strict=True):
                if rows:
                    await self._session.execute(
                        child.statement, child.rows(case_id, rows), execution_options=RIDE_ALONG
                    )
        return True

    async def get(self, case_id: int, *, for_update: bool = False) -> Case | None:
        row = await self._one(select(CaseRow).where(CaseRow.id == case_id), for_update)
        return _read_case(row) if row else None

    async def get_by_tracking_no(self, tracking_no: str, *, for_update: bool = False) -> Case | None:
        row = await self._one(select(CaseRow).where(CaseRow.tracking_no == tracking_no), for_update)
        return _read_case(row) if row else None

    async def get_many(self, case_ids: Sequence[int], *, for_update: bool = False) -> builtins.list[Case]:
        if not case_ids:
            return []
        stmt = select(CaseRow).where(CaseRow.id.in_(list(case_ids))).order_by(CaseRow.id)
        if for_update:
            stmt = stmt.with_for_update()
        return await self._many(stmt)

    async def get_by_submission_key(self, key: str) -> Case | None:
        row = await self._one(select(CaseRow).where(CaseRow.submission_key == key), False)
        return _read_case(row) if row else None

    async def _row(self, case_id: int | None) -> CaseRow:
        row = await self._session.get(CaseRow, case_id) if case_id is not None else None
        if row is None:
            raise NotFound(kind="case", id=case_id)
        return row

    async def update(self, case: Case) -> None:
        row = await self._row(case.id)
        _write_case(case, row)
        _sync_units(row, case.lead_unit_ids, case.assist_unit_ids)
        _sync_recusals(row, case.recusals, case.created_at)
        await self._session.flush()

    async def set_units(self, case_id: int, lead: Sequence[str], assist: Sequence[str]) -> None:
        row = await self._row(case_id)
        _sync_units(row, lead, assist)
        await self._session.flush()

    async def list_for_citizen(self, citizen_id: int, *, limit: int = 50, offset: int = 0) -> list[Case]:
        stmt = (
            select(CaseRow)
            .where(CaseRow.citizen_id == citizen_id)
            .order_by(CaseRow.created_at.desc(), CaseRow.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return await self._many(stmt)

    async def count_for_citizen_since(self, citizen_id: int, since: datetime) -> int:
        stmt = select(func.count()).where(CaseRow.citizen_id == citizen_id, CaseRow.created_at >= since)
        return int((await self._session.execute(stmt)).scalar_one())

    async def count_for_user_since(self, user_id: int, since: datetime) -> int:
        # on every /new (the daily limit, before the citizen types anything): built once
        stmt = _COUNT_FOR_USER_SINCE
        values = params("c_", user_id=user_id, created_at=since)
        return int((await self._session.execute(stmt, values)).scalar_one())

    async def list_for_unit(
        self,
        unit_id: str,
        *,
        states: Collection[CaseState] | None = None,
        role: UnitRole | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[Case]:
        link = [CaseUnitRow.case_id == CaseRow.id, CaseUnitRow.unit_id == unit_id]
        if role is not None:
            link.append(CaseUnitRow.role == role.value)
        stmt = select(CaseRow).join(CaseUnitRow, and_(*link))
        if states is not None:
            stmt = stmt.where(CaseRow.state.in_([s.value for s in states]))
        stmt = stmt.order_by(CaseRow.created_at.desc(), CaseRow.id.desc()).limit(limit).offset(offset)
        return await self._many(stmt)

    async def list_in_states(self, states: Collection[CaseState], *, limit: int = 100) -> list[Case]:
        stmt = (
            select(CaseRow)
            .where(CaseRow.state.in_([s.value for s in states]))
            .order_by(CaseRow.created_at, CaseRow.id)
            .limit(limit)
        )
        return await self._many(stmt)

    async def list_due(self, until: date) -> list[Case]:
        # Two queries, each served by its (state, due) index, rather than one OR.
        signing = await self._many(
            select(CaseRow).where(
                CaseRow.state.in_([s.value for s in SIGN_DUE_STATES]), CaseRow.sign_due <= until
            )
        )
        answering = await self._many(
            select(CaseRow).where(
                CaseRow.state.in_([s.value for s in ANSWER_DUE_STATES]), CaseRow.answer_due <= until
            )
        )
        return sorted(signing + answering, key=_running_due)

    async def list_awaiting_follow_up(self, answered_before: datetime) -> list[Case]:
        stmt = (
            select(CaseRow)
            .where(
                CaseRow.state == CaseState.ANSWERED.value,
                CaseRow.satisfaction.is_(None),
                CaseRow.answered_at < answered_before,
            )
            .order_by(CaseRow.answered_at, CaseRow.id)
        )
        return await self._many(stmt)

    async def sample_closed(
        self, n: int, *, closed_from: datetime | None = None, closed_until: datetime | None = None
    ) -> list[Case]:
        # random() is the same function in SQLite and PostgreSQL; the closed_at index narrows
        # the rows to the period before they are shuffled
        stmt = select(CaseRow).where(CaseRow.state == CaseState.CLOSED.value)
        if closed_from is not None:
            stmt = stmt.where(CaseRow.closed_at >= closed_from)
        if closed_until is not None:
            stmt = stmt.where(CaseRow.closed_at < closed_until)
        return await self._many(stmt.order_by(func.random()).limit(max(0, n)))


def _running_due(case: Case) -> tuple[date, int]:
    due = case.sign_due if case.state in SIGN_DUE_STATES else case.answer_due
    return (due or date.max, case.id or 0)


def _read_event(row: CaseEventRow) -> CaseEvent:
    return CaseEvent(
        case_id=row.case_id,
        at=row.at,
        actor=Actor(row.actor),
        actor_ref=row.actor_ref,
        kind=row.kind,
        visibility=Visibility(row.visibility),
        text=row.text,
        data=dict(row.data or {}),
        id=row.id,
    )


class SqlEventRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, event: CaseEvent) -> CaseEvent:
        row = CaseEventRow(
            case_id=event.case_id,
            at=event.at,
            actor=event.actor.value,
            actor_ref=event.actor_ref,
            kind=event.kind,
            visibility=event.visibility.value,
            text=event.text,
            data=dict(event.data),
        )
        self._session.add(row)
        await self._session.flush()
        event.id = row.id
        return event

    async def list(self, case_id: int, *, include_internal: bool) -> builtins.list[CaseEvent]:
        stmt = select(CaseEventRow).where(CaseEventRow.case_id == case_id)
        if not include_internal:
            stmt = stmt.where(CaseEventRow.visibility == Visibility.PUBLIC.value)
        result = await self._session.execute(stmt.order_by(CaseEventRow.at, CaseEventRow.id))
        return [_read_event(row) for row in result.scalars()]

    async def add_many(self, events: Sequence[CaseEvent]) -> None:
        if not events:
            return
        await self._session.execute(
            _HISTORY.statement, [{"case_id": e.case_id, **_event_row(e)} for e in events]
        )

    async def list_kinds(self, case_ids: Sequence[int], kinds: Sequence[str]) -> builtins.list[CaseEvent]:
        if not case_ids or not kinds:
            return []
        stmt = select(CaseEventRow).where(
            CaseEventRow.case_id.in_(list(case_ids)), CaseEventRow.kind.in_(list(kinds))
        )
        result = await self._session.execute(stmt.order_by(CaseEventRow.at, CaseEventRow.id))
        return [_read_event(row) for row in result.scalars()]


_ATTACHMENT_FIELDS = ("case_id", "report_id", "file_id", "file_unique_id", "mime", "size", "file_name")


def _read_attachment(row: AttachmentRow) -> Attachment:
    fields: dict[str, Any] = {name: getattr(row, name) for name in _ATTACHMENT_FIELDS}
    return Attachment(
        **fields,
        kind=AttachmentKind(row.kind),
        at=row.at,
        added_by=row.added_by,
        id=row.id,
        sha256=row.sha256,
    )


class SqlAttachmentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, attachment: Attachment) -> Attachment:
        row = AttachmentRow(
            **{name: getattr(attachment, name) for name in _ATTACHMENT_FIELDS},
            kind=attachment.kind.value,
            at=attachment.at,
            added_by=attachment.added_by,
        )
        self._session.add(row)
        await self._session.flush()
        attachment.id = row.id
        return attachment

    async def list_for_case(self, case_id: int) -> list[Attachment]:
        stmt = select(AttachmentRow).where(AttachmentRow.case_id == case_id).order_by(AttachmentRow.id)
        return [_read_attachment(r) for r in (await self._session.execute(stmt)).scalars()]

    async def list_for_report(self, report_id: int) -> list[Attachment]:
        stmt = select(AttachmentRow).where(AttachmentRow.report_id == report_id).order_by(AttachmentRow.id)
        return [_read_attachment(r) for r in (await self._session.execute(stmt)).scalars()]
