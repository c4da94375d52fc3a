"""Retention and erasure (issue 15; 个人信息保护法 §19 and §47): the periodic pass erases the
complainant's identity and evidence files from cases past their date (``core.retention``), and
a citizen's ``/forget`` erases it from their closed cases at once; for their open cases the
office is told (never a unit) and decides.

Each erasure runs in one unit of work: the rows (``uow.retention``), then the local evidence
files no remaining row uses (``EvidenceFiles.delete``), then the commit. Files go before the
commit on purpose: should the commit fail, the next pass erases the rows again and finds the
files already gone, whereas files kept after a committed erasure would have lost the hash that
names them and stay on disk for ever.

Every erasure is on the audit trail, one entry per case (target: its tracking number), and no
entry names the person: the pass is actor 0, and so is a citizen's own /forget (an audit entry
with their Telegram id would itself be the identity that was to go).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Protocol

from core.audit import AuditEntry
from core.clock import Clock
from core.errors import NotFound
from core.notices import Button, JsonScalar, Notice
from core.ports import UnitOfWork, UnitOfWorkFactory
from core.retention import (
    AUDIT_FORGET_DECIDE,
    AUDIT_FORGET_ERASE,
    AUDIT_FORGET_REQUEST,
    AUDIT_RETENTION_ERASE,
    SYSTEM_ACTOR,
    ErasableCase,
    Erased,
    ErasureRequest,
    ForgetDecision,
    RetentionPolicy,
)
from core.roles import resolve_roles
from core.services.workflow import tell_office

log = logging.getLogger("core.retention")

DEFAULT_BATCH = 100
# A pass erases at most this many batches; the rest waits for the next pass (a minute later),
# so the first pass after the date does not hold the lease for an hour.
DEFAULT_MAX_BATCHES = 20

# Callback data of the office's buttons on a /forget with open cases: prefix + request id.
CALLBACK_FORGET_ERASE = "fgt:e:"
CALLBACK_FORGET_KEEP = "fgt:k:"


class EvidenceFiles(Protocol):
    """The local evidence store (``storage.evidence_store.EvidenceStore``): files by SHA-256."""

    def delete(self, sha: str) -> bool:
        """True if a file was there and is gone."""
        ...


@dataclass(frozen=True, slots=True)
class Forgotten:
    """What a /forget did, for the citizen's reply."""

    known: bool  # False: the bot kept nothing about this user as a complainant
    erased: tuple[str, ...] = ()  # closed cases whose identity is gone
    evidence: int = 0  # evidence items erased with them
    pending: tuple[str, ...] = ()  # open cases: the office decides
    request_id: int | None = None


@dataclass(frozen=True, slots=True)
class Decided:
    request: ErasureRequest
    erased: tuple[str, ...]  # cases erased now ("erase now"), or nothing yet ("keep")


@dataclass(slots=True)
class RetentionService:
    uow: UnitOfWorkFactory
    clock: Clock
    policy: RetentionPolicy
    evidence: EvidenceFiles | None = None
    office_chat_id: int | None = None
    admin_ids: frozenset[int] = field(default_factory=frozenset)
    batch_size: int = DEFAULT_BATCH
    max_batches: int = DEFAULT_MAX_BATCHES

    # -- the periodic pass ------------------------------------------------------------------

    def cutoff(self, today: date) -> datetime | None:
        """Final cases closed before this instant are past their date on ``today`` (local)."""
        day = self.policy.closed_before(today)
        return None if day is None else datetime.combine(day, time(), tzinfo=self.clock.tz)

    async def run_pass(self, now: datetime | None = None) -> Erased:
        """Erase, in batches, the cases past their date, and the closed cases of a /forget.
        Returns what was done (counts only)."""
        now = now if now is not None else self.clock.now()
        closed_before = self.cutoff(now.astimezone(self.clock.tz).date())
        total = Erased([])
        for _ in range(self.max_batches):
            async with self.uow() as uow:
                due = await uow.retention.list_due(closed_before, limit=self.batch_size)
                if not due:
                    break
                done = await self._erase(uow, due, now, actor=SYSTEM_ACTOR, action=AUDIT_RETENTION_ERASE)
                await uow.commit()
            total.merge(done)
            if len(due) < self.batch_size:
                break
        if total.cases:
            log.info(
                "retention: erased %d cases, %d evidence rows, %d files, %d citizens",
                len(total.cases),
                total.evidence,
                total.files,
                total.citizens,
            )
        return total

    async def _erase(
        self,
        uow: UnitOfWork,
        cases: Sequence[ErasableCase],
        now: datetime,
        *,
        actor: int,
        action: str,
        reason: str = "retention",
    ) -> Erased:
        """The cases' identity and evidence, then every citizen no case points at any more."""
        done, hashes = await uow.retention.erase_cases([c.case_id for c in cases], now=now)
        citizens = {c.citizen_id for c in cases if c.citizen_id is not None}
        done.merge(await uow.retention.purge_citizens(citizens, now=now))
        done.files = self._delete_files(hashes)
        erased = set(done.cases)
        await uow.audit.add_many(
            [
                AuditEntry(
                    actor_id=actor,
                    at=now,
                    action=action,
                    target=case.tracking_no,
                    details={
                        "reason": reason,
                        "closed_at": case.closed_at.isoformat() if case.closed_at else None,
                    },
                )
                for case in cases
                if case.tracking_no in erased
            ]
        )
        return done

    def _delete_files(self, hashes: Sequence[str]) -> int:
        if self.evidence is None:
            return 0
        deleted = 0
        for sha in hashes:
            try:
                deleted += self.evidence.delete(sha)
            except OSError:
                # the row no longer names the file; say so (no identity in a hash) and go on
                log.exception("retention: evidence file %s could not be deleted", sha)
        return deleted

    # -- /forget ----------------------------------------------------------------------------

    async def kept_for(self, user_id: int) -> tuple[int, int] | None:
        """What /forget would erase: (closed cases, open cases) of this user as a complainant;
        None when the bot keeps nothing about them as one."""
        async with self.uow() as uow:
            citizen = await uow.citizens.get_by_user(user_id)
            if citizen is None or citizen.id is None:
                return None
            cases = await uow.retention.list_for_citizen(citizen.id)
        closed = sum(1 for c in cases if c.state.is_final)
        return closed, len(cases) - closed

    async def forget(self, user_id: int) -> Forgotten:
        """The citizen's /forget: their closed cases erased now; for open ones their details
        are cleared (the bot no longer keeps their phone) and the office decides whether the
        cases go on without them now or keep the link until each is closed."""
        now = self.clock.now()
        async with self.uow() as uow:
            citizen = await uow.citizens.get_by_user(user_id)
            if citizen is None or citizen.id is None:
                return Forgotten(known=False)
            cases = await uow.retention.list_for_citizen(citizen.id)
            closed = [c for c in cases if c.state.is_final]
            still_open = [c for c in cases if not c.state.is_final]
            done = Erased([])
            if closed:
                done = await self._erase(
                    uow, closed, now, actor=SYSTEM_ACTOR, action=AUDIT_FORGET_ERASE, reason="forget"
                )
            request: ErasureRequest | None = None
            if still_open:
                done.merge(await uow.retention.forget_citizen(citizen.id, now=now))
                numbers = [c.tracking_no for c in still_open]
                request = await uow.retention.add_request(citizen.id, numbers, now=now)
                await self._tell_office(uow, request, now)
            else:
                # nothing left that needs the link: the row goes (purge found it unused
                # already when there were closed cases; a citizen with no case at all too)
                done.merge(await uow.retention.purge_citizens([citizen.id], now=now))
            await uow.audit.add(
                AuditEntry(
                    actor_id=SYSTEM_ACTOR,
                    at=now,
                    action=AUDIT_FORGET_REQUEST,
                    target=f"erasure:{request.id}" if request else "",
                    details={
                        "by": "citizen",
                        "erased": list(done.cases),
                        "open": [c.tracking_no for c in still_open],
                        "evidence": done.evidence,
                        "files": done.files,
                    },
                )
            )
            await uow.commit()
        return Forgotten(
            known=True,
            erased=tuple(done.cases),
            evidence=done.evidence,
            pending=tuple(c.tracking_no for c in still_open),
            request_id=request.id if request else None,
        )

    async def _tell_office(self, uow: UnitOfWork, request: ErasureRequest, now: datetime) -> None:
        """The office chat, or else every office member: case numbers only, never who."""
        buttons = (
            (
                Button("forget.office_erase_now", f"{CALLBACK_FORGET_ERASE}{request.id}"),
                Button("forget.office_keep", f"{CALLBACK_FORGET_KEEP}{request.id}"),
            ),
        )
        params: dict[str, JsonScalar | list[str]] = {
            "request_id": request.id,
            "cases": ", ".join(request.cases),
        }
        key = f"forget:{request.id}"
        if await tell_office(
            uow,
            self.office_chat_id,
            "forget.office_request",
            now,
            buttons=buttons,
            dedup_key=f"{key}:office",
            params=params,
        ):
            return
        members = set(self.admin_ids) | {m.user_id for m in await uow.office.list_active()}
        for member in sorted(members):
            notice = Notice(
                chat_id=member,
                user_id=member,
                text_key="forget.office_request",
                params=params,
                buttons=buttons,
                dedup_key=f"{key}:{member}",
            )
            await uow.outbox.add(notice.to_outbox(now))

    async def decide(self, office_user: int, request_id: int, decision: ForgetDecision) -> Decided | None:
        """The office's answer to a /forget with open cases. None: decided already (another
        member, or a second press). "Erase now": the open cases go on without their
        complainant (no more notices to them, no rating: the follow-up closes as no
        response). "Keep": the pass erases each case as soon as it is final."""
        now = self.clock.now()
        async with self.uow() as uow:
            roles = await resolve_roles(uow, office_user, self.admin_ids)
            roles.require_office()
            if await uow.retention.get_request(request_id) is None:
                raise NotFound(kind="erasure_request")
            request = await uow.retention.decide_request(request_id, decision, by=office_user, now=now)
            if request is None:
                return None
            erased: tuple[str, ...] = ()
            citizen = await uow.citizens.get(request.citizen_id) if request.citizen_id is not None else None
            if citizen is not None and citizen.user_id is not None:
                # the citizen learns the decision; no case number, so this message in their
                # chat does not tie them to the cases once these are erased
                notice = Notice(
                    chat_id=citizen.user_id,
                    user_id=citizen.user_id,
                    text_key=f"forget.decided_{decision.value}",
                    dedup_key=f"forget:{request_id}:decided",
                )
                await uow.outbox.add(notice.to_outbox(now))
            if decision is ForgetDecision.ERASE_NOW and request.citizen_id is not None:
                cases = await uow.retention.list_for_citizen(request.citizen_id)
                if cases:
                    done = await self._erase(
                        uow, cases, now, actor=office_user, action=AUDIT_FORGET_ERASE, reason="forget"
                    )
                    erased = tuple(done.cases)
                else:
                    await uow.retention.purge_citizens([request.citizen_id], now=now)
            await uow.audit.add(
                AuditEntry(
                    actor_id=office_user,
                    at=now,
                    action=AUDIT_FORGET_DECIDE,
                    target=f"erasure:{request_id}",
                    details={
                        "decision": decision.value,
                        "cases": list(request.cases),
                        "erased": list(erased),
                    },
                )
            )
            await uow.commit()
        return Decided(request=request, erased=erased)
