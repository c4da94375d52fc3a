"""Erasure of complainants' identity (issue 15; ``core.ports.RetentionRepository``).

Where a citizen's identity lives, and what happens to it here:
- ``citizens``: phone, name, email, external id and the Telegram id. The row is deleted once
  no case points at it (``purge_citizens``); a /forget with open cases clears the details and
  keeps the row as those cases' link (``forget_citizen``).
- ``cases``: ``citizen_id`` (the link), ``submission_key`` (it starts with the filer's Telegram
  id or API account), and free text the citizen or the office typed (description, unit, place,
  time, the rating comment), where a phone number may have been written: phone-like numbers
  and the citizen's own details are masked, the words stay (the case is the campaign's
  evidence; the person is what goes).
- ``case_events``: the citizen's own events name them (``actor_ref`` is their Telegram id) and
  texts may quote a phone: the reference is cleared, texts and data masked. This is the one
  exception to the history being append-only; only identity changes.
- ``attachments``: Telegram file ids (a file id fetches the photo of the complainant's ID card
  as well as anything else), file names, the uploader's id, the local copy's SHA-256. Cleared;
  kind, type and size stay, so the evidence counts are unchanged. The local files themselves
  are deleted by the service (``deps.evidence``), for the hashes returned here.
- ``outbox``: messages to the citizen's chat about an erased case (the tracking number with
  the chat id is the link) are deleted; other rows of that chat are masked.
- ``audit_log``: entries about an erased case (target = its tracking number) are masked.
- dialog state (``dialog_user_data``, ``dialog_chat_data``, ``dialog_conversations``): a draft
  in progress holds the phone the citizen shared; masked when the citizen goes.
The lookups are by key (case ids, chat ids, tracking numbers), never a scan of a whole table.
"""

from __future__ import annotations

import builtins
from collections.abc import Collection, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Text, cast, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.retention import (
    ErasableCase,
    Erased,
    ErasureRequest,
    ForgetDecision,
    scrub_json,
    scrub_text,
)
from core.states import FINAL_STATES, Actor, CaseState
from storage.models import (
    AttachmentRow,
    AuditRow,
    CaseEventRow,
    CaseRow,
    CitizenRow,
    DialogChatDataRow,
    DialogConversationRow,
    DialogUserDataRow,
    ErasureRequestRow,
    OutboxRow,
)
from storage.repositories._sql import dialect_name

_FINAL = [s.value for s in FINAL_STATES]
# The local copy's hash (migration 0012, the evidence store), looked up so this module works
# before and after that column lands.
_SHA: Any = AttachmentRow.__table__.c.get("sha256")
_TEXTS = ("description", "target_text", "place", "occurred", "satisfaction_comment")


def _known(citizen: CitizenRow | None) -> tuple[str, ...]:
    """The citizen's own details, looked for verbatim in free text."""
    if citizen is None:
        return ()
    return tuple(v for v in (citizen.phone, citizen.email, citizen.name, citizen.external_id) if v)


def _request(row: ErasureRequestRow) -> ErasureRequest:
    return ErasureRequest(
        id=row.id,
        citizen_id=row.citizen_id,
        requested_at=row.requested_at,
        cases=tuple(row.cases),
        decision=ForgetDecision(row.decision) if row.decision else None,
        decided_at=row.decided_at,
        decided_by=row.decided_by,
    )


class SqlRetentionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    # -- what is due ------------------------------------------------------------------------

    async def list_due(self, closed_before: datetime | None, *, limit: int) -> builtins.list[ErasableCase]:
        found: dict[int, ErasableCase] = {}
        if closed_before is not None:
            # Two range queries rather than one with OR, so each uses its index: closed cases
            # by close date (the partial index over the cases not yet erased), and rejected
            # ones (不予受理), which have no close date: their last event, the rejection,
            # stands for the day they ended (few of them, found through the state index).
            by_close = (
                select(CaseRow.id, CaseRow.tracking_no, CaseRow.state, CaseRow.citizen_id, CaseRow.closed_at)
                .where(
                    CaseRow.identity_erased_at.is_(None),
                    CaseRow.closed_at < closed_before,
                    CaseRow.state.in_(_FINAL),
                )
                .order_by(CaseRow.closed_at, CaseRow.id)
                .limit(limit)
            )
            for case_id, number, state, citizen_id, at in (await self._session.execute(by_close)).all():
                found[case_id] = ErasableCase(case_id, number, CaseState(state), citizen_id, _aware(at))
        if closed_before is not None and len(found) < limit:
            last_event = (
                select(func.max(CaseEventRow.at)).where(CaseEventRow.case_id == CaseRow.id).scalar_subquery()
            )
            rejected = (
                select(CaseRow.id, CaseRow.tracking_no, CaseRow.state, CaseRow.citizen_id, last_event)
                .where(
                    CaseRow.state == CaseState.REJECTED.value,
                    CaseRow.closed_at.is_(None),
                    CaseRow.identity_erased_at.is_(None),
                    last_event < closed_before,
                )
                .order_by(CaseRow.id)
                .limit(limit - len(found))
            )
            for case_id, number, state, citizen_id, at in (await self._session.execute(rejected)).all():
                found[case_id] = ErasableCase(case_id, number, CaseState(state), citizen_id, _aware(at))
        if len(found) < limit:
            # the cases named in a /forget, once final: erased at once, whatever the date,
            # whatever the office decided about them while open (requests are few: read all)
            numbers = await self._requested_numbers()
            if numbers:
                requested = (
                    select(
                        CaseRow.id, CaseRow.tracking_no, CaseRow.state, CaseRow.citizen_id, CaseRow.closed_at
                    )
                    .where(
                        CaseRow.identity_erased_at.is_(None),
                        CaseRow.state.in_(_FINAL),
                        CaseRow.tracking_no.in_(numbers),
                    )
                    .order_by(CaseRow.id)
                    .limit(limit - len(found))
                )
                for case_id, number, state, citizen_id, closed in (
                    await self._session.execute(requested)
                ).all():
                    found.setdefault(
                        case_id, ErasableCase(case_id, number, CaseState(state), citizen_id, _aware(closed))
                    )
        return list(found.values())

    async def _requested_numbers(self) -> builtins.list[str]:
        stmt = select(ErasureRequestRow.cases).where(ErasureRequestRow.citizen_id.is_not(None))
        return sorted({n for cases in (await self._session.scalars(stmt)).all() for n in cases})

    async def list_for_citizen(self, citizen_id: int) -> builtins.list[ErasableCase]:
        stmt = (
            select(CaseRow.id, CaseRow.tracking_no, CaseRow.state, CaseRow.citizen_id, CaseRow.closed_at)
            .where(CaseRow.citizen_id == citizen_id, CaseRow.identity_erased_at.is_(None))
            .order_by(CaseRow.id)
        )
        return [
            ErasableCase(case_id, number, CaseState(state), cid, _aware(at))
            for case_id, number, state, cid, at in (await self._session.execute(stmt)).all()
        ]

    # -- erasing cases ----------------------------------------------------------------------

    async def erase_cases(
        self, case_ids: Collection[int], *, now: datetime
    ) -> tuple[Erased, builtins.list[str]]:
        if not case_ids:
            return Erased([]), []
        stmt = (
            select(CaseRow)
            .where(CaseRow.id.in_(list(case_ids)), CaseRow.identity_erased_at.is_(None))
            .order_by(CaseRow.id)
            .execution_options(populate_existing=True)
        )
        if dialect_name(self._session) == "postgresql":
            stmt = stmt.with_for_update(of=CaseRow)
        cases = list((await self._session.scalars(stmt)).all())
        if not cases:
            return Erased([]), []
        citizen_ids = {c.citizen_id for c in cases if c.citizen_id is not None}
        citizens = {
            row.id: row
            for row in (await self._session.scalars(select(CitizenRow).where(CitizenRow.id.in_(citizen_ids))))
        }
        known = {c.id: _known(citizens.get(c.citizen_id)) if c.citizen_id else () for c in cases}
        done = Erased([c.tracking_no for c in cases])
        for case in cases:
            for column in _TEXTS:
                setattr(case, column, scrub_text(getattr(case, column) or "", known[case.id]))
            case.citizen_id = None
            case.submission_key = None
            case.identity_erased_at = now
        ids = [c.id for c in cases]
        done.scrubbed += await self._erase_history(ids, known)
        done.evidence, hashes = await self._erase_evidence(ids)
        users = [row.user_id for row in citizens.values() if row.user_id is not None]
        done.scrubbed += await self._erase_messages(users, [c.tracking_no for c in cases])
        done.scrubbed += await self._mask_audit(
            [c.tracking_no for c in cases], [k for c in cases for k in known[c.id]]
        )
        await self._session.flush()
        return done, hashes

    async def _erase_history(self, case_ids: Sequence[int], known: dict[int, tuple[str, ...]]) -> int:
        changed = 0
        rows = await self._session.scalars(select(CaseEventRow).where(CaseEventRow.case_id.in_(case_ids)))
        for event in rows:
            words = known.get(event.case_id, ())
            text, data = scrub_text(event.text or "", words), scrub_json(event.data or {}, words)
            ref = None if event.actor == Actor.CITIZEN.value else event.actor_ref
            if text != event.text or data != event.data or ref != event.actor_ref:
                event.text, event.data, event.actor_ref = text, _json_dict(data), ref
                changed += 1
        return changed

    async def _erase_evidence(self, case_ids: Sequence[int]) -> tuple[int, builtins.list[str]]:
        """Clear the attachments' file ids; return the local files no other row still uses."""
        rows = list(
            await self._session.scalars(select(AttachmentRow).where(AttachmentRow.case_id.in_(case_ids)))
        )
        hashes = {sha for row in rows if (sha := getattr(row, "sha256", None))}
        for row in rows:
            row.file_id = ""
            row.file_unique_id = ""
            row.file_name = None
            row.added_by = None
            if _SHA is not None:
                row.sha256 = None  # type: ignore[attr-defined,unused-ignore]
        await self._session.flush()
        if not hashes or _SHA is None:
            return len(rows), []
        # one photo sent for two cases is one file: it goes with the last case that used it
        still: set[str] = set((await self._session.scalars(select(_SHA).where(_SHA.in_(hashes)))).all())
        return len(rows), sorted(hashes - still)

    async def _erase_messages(self, user_ids: Sequence[int], numbers: Sequence[str]) -> int:
        """Delete the citizen's messages about these cases (their chat id next to a tracking
        number is the very link the erasure removes)."""
        if not user_ids or not numbers:
            return 0
        about = or_(*(cast(OutboxRow.payload, Text).contains(n, autoescape=True) for n in numbers))
        result = await self._session.execute(
            delete(OutboxRow).where(OutboxRow.chat_id.in_(user_ids), about).returning(OutboxRow.id)
        )
        return len(result.all())

    async def _mask_audit(self, numbers: Sequence[str], known: Sequence[str]) -> int:
        changed = 0
        for row in await self._session.scalars(select(AuditRow).where(AuditRow.target.in_(numbers))):
            details = scrub_json(row.details or {}, known)
            if details != row.details:
                row.details = _json_dict(details)
                changed += 1
        return changed

    # -- citizens ---------------------------------------------------------------------------

    async def purge_citizens(self, citizen_ids: Collection[int], *, now: datetime) -> Erased:
        done = Erased([])
        if not citizen_ids:
            return done
        used = set(
            (
                await self._session.scalars(
                    select(CaseRow.citizen_id).where(CaseRow.citizen_id.in_(list(citizen_ids))).distinct()
                )
            ).all()
        )
        gone = [cid for cid in citizen_ids if cid not in used]
        if not gone:
            return done
        for row in await self._session.scalars(select(CitizenRow).where(CitizenRow.id.in_(gone))):
            done.scrubbed += await self._mask_person(row)
            await self._session.execute(
                update(ErasureRequestRow)
                .where(ErasureRequestRow.citizen_id == row.id)
                .values(citizen_id=None)
            )
            await self._session.delete(row)
            done.citizens += 1
        await self._session.flush()
        return done

    async def forget_citizen(self, citizen_id: int, *, now: datetime) -> Erased:
        done = Erased([])
        row = await self._session.get(CitizenRow, citizen_id, populate_existing=True)
        if row is None:
            return done
        done.scrubbed += await self._mask_person(row)
        row.phone = row.email = row.name = None
        row.erased_at = now
        await self._session.flush()
        return done

    async def _mask_person(self, citizen: CitizenRow) -> int:
        """The citizen's details out of the rest of their own chat: dialog drafts (a filing in
        progress holds the phone they shared), the messages queued or sent to them."""
        known = _known(citizen)
        changed = 0
        if citizen.user_id is None:
            return changed
        user = citizen.user_id
        blobs: Iterable[Any] = (
            await self._session.scalars(select(DialogUserDataRow).where(DialogUserDataRow.user_id == user))
        ).all()
        blobs = [
            *blobs,
            *(
                await self._session.scalars(
                    select(DialogChatDataRow).where(DialogChatDataRow.chat_id == user)
                )
            ).all(),
        ]
        for blob in blobs:
            data = scrub_json(blob.data, known)
            if data != blob.data:
                blob.data = data
                changed += 1
        # a conversation's key is the JSON of (chat id, user id); its state is a step number,
        # or a step and a draft for a nested dialog
        key = str(user)
        conversations = await self._session.scalars(
            select(DialogConversationRow).where(DialogConversationRow.key.contains(key, autoescape=True))
        )
        for conversation in conversations:
            state = scrub_json(conversation.state, known)
            if state != conversation.state:
                conversation.state = state
                changed += 1
        for message in await self._session.scalars(select(OutboxRow).where(OutboxRow.chat_id == user)):
            payload = scrub_json(message.payload, known)
            if payload != message.payload:
                message.payload = _json_dict(payload)
                changed += 1
        return changed

    # -- /forget requests -------------------------------------------------------------------

    async def add_request(self, citizen_id: int, cases: Sequence[str], *, now: datetime) -> ErasureRequest:
        row = ErasureRequestRow(citizen_id=citizen_id, requested_at=now, cases=list(cases))
        self._session.add(row)
        await self._session.flush()
        return _request(row)

    async def get_request(self, request_id: int) -> ErasureRequest | None:
        row = await self._session.get(ErasureRequestRow, request_id, populate_existing=True)
        return _request(row) if row else None

    async def decide_request(
        self, request_id: int, decision: ForgetDecision, *, by: int, now: datetime
    ) -> ErasureRequest | None:
        # one statement, so two office members pressing at once decide it once
        result = await self._session.execute(
            update(ErasureRequestRow)
            .where(ErasureRequestRow.id == request_id, ErasureRequestRow.decision.is_(None))
            .values(decision=decision.value, decided_at=now, decided_by=by)
            .returning(ErasureRequestRow.id)
        )
        if result.first() is None:
            return None
        return await self.get_request(request_id)


def _aware(at: datetime | None) -> datetime | None:
    """A coalesce() bypasses the column's type: SQLite gives back its stored text (UTC)."""
    if at is None:
        return None
    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def _json_dict(value: object) -> dict[str, Any]:
    assert isinstance(value, dict)
    return value
