"""The evidence fetch (issue 15): attachments still known only by their Telegram file id are
downloaded into the evidence store (``storage.evidence_store``) and their SHA-256 recorded, a
few at a time, on every instance's periodic job (``bot.evidence_fetch``).

Safe across instances the way the outbox is (``storage.repositories.outbox``): a claim takes
rows nobody holds and counts the try in one statement (PostgreSQL: ``FOR UPDATE SKIP LOCKED``;
SQLite: one UPDATE under the write lock of ``BEGIN IMMEDIATE``), and holds them until its lease
ends, so a crashed fetcher's rows come back by themselves. The download happens outside any
transaction; what it found is then recorded only if the attachment is still the one claimed:
retention may have erased it meanwhile (``storage.repositories.retention`` clears its file id),
and an erased attachment must never get its file back, so the copy just written is deleted
again unless another attachment names the same file.

Nothing here knows Telegram: the caller passes ``download(file_id) -> bytes`` and raises
``FetchRefused`` for a file Telegram will never serve.
"""

from __future__ import annotations

import asyncio
import builtins
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, literal_column, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clock import Clock
from core.evidence_fetch import DEFAULT_CLAIM_LEASE, FetchBackoff, FetchClaim, FetchSummary
from storage.evidence_store import EvidenceStore
from storage.models import AttachmentRow
from storage.repositories._sql import dialect_name

log = logging.getLogger("storage.evidence_fetch")

_T = cast(Table, AttachmentRow.__table__)
# Spelled as in the partial index ix_attachments_to_fetch (a literal, not a bound parameter),
# so the planner can see that the claim's rows are the index's rows.
_NOT_ERASED = _T.c.file_id != literal_column("''")

DEFAULT_BATCH = 10
# Batches per run while they come back full: a backlog (the first run after an upgrade) drains
# at a few dozen files a minute without one run holding the job for long.
DEFAULT_MAX_BATCHES = 5

Download = Callable[[str], Awaitable[bytes]]
"""The file's bytes for a Telegram file id (the bot's getFile and file download)."""


class FetchRefused(Exception):
    """Telegram will never serve this file (a wrong file id, a file too big for the Bot API):
    the fetch gives up on it at once instead of trying again."""


class SqlEvidenceFetchRepository:
    """The fetch's bookkeeping on ``attachments`` (``fetch_attempts``, ``next_fetch_at``,
    ``sha256``); never commits."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def claim(
        self, *, now: datetime, limit: int, lease: timedelta, max_attempts: int
    ) -> builtins.list[FetchClaim]:
        """Up to ``limit`` attachments to fetch now, held until ``now + lease``, oldest first;
        each one's try is counted here."""
        claimable = (
            select(_T.c.id)
            .where(
                _T.c.sha256.is_(None),
                _NOT_ERASED,
                _T.c.fetch_attempts < max_attempts,
                or_(_T.c.next_fetch_at.is_(None), _T.c.next_fetch_at <= now),
            )
            .order_by(_T.c.id)
            .limit(limit)
        )
        if dialect_name(self._session) == "postgresql":
            # as the outbox does: lock the chosen rows, skip those another fetcher holds
            locked = await self._session.execute(claimable.with_for_update(skip_locked=True))
            ids: list[int] = list(locked.scalars())
            if not ids:
                return []
            target: Any = _T.c.id.in_(ids)
        else:
            # SQLite: BEGIN IMMEDIATE (storage.db) makes choosing and claiming one atomic step
            target = _T.c.id.in_(claimable.scalar_subquery())
        stmt = (
            update(_T)
            .where(target)
            .values(fetch_attempts=_T.c.fetch_attempts + 1, next_fetch_at=now + lease)
            .returning(_T.c.id, _T.c.file_id, _T.c.fetch_attempts)
        )
        rows = (await self._session.execute(stmt)).all()
        return sorted(
            (FetchClaim(r.id, r.file_id, r.fetch_attempts) for r in rows), key=lambda c: c.attachment_id
        )

    async def record(self, claim: FetchClaim, sha256: str) -> bool:
        """The local copy's hash on the attachment; False when it is no longer the one claimed
        (erased since, or already fetched)."""
        result = await self._session.execute(
            update(_T)
            .where(_T.c.id == claim.attachment_id, _T.c.file_id == claim.file_id, _T.c.sha256.is_(None))
            .values(sha256=sha256, next_fetch_at=None)
            .returning(_T.c.id)
        )
        return result.first() is not None

    async def failed(self, claim: FetchClaim, *, retry_at: datetime | None, max_attempts: int) -> None:
        """A failed try: the next one not before ``retry_at``; None gives up (the count is
        raised to ``max_attempts``, which the claim no longer takes). Only while the claim is
        still ours: a fetcher that took the row after our lease ran out keeps its own count."""
        values: dict[str, Any] = {"next_fetch_at": retry_at}
        if retry_at is None:
            values["fetch_attempts"] = max(claim.attempts, max_attempts)
        await self._session.execute(
            update(_T)
            .where(_T.c.id == claim.attachment_id, _T.c.fetch_attempts == claim.attempts)
            .values(**values)
        )

    async def names_file(self, sha256: str) -> bool:
        """Whether some attachment has this file as its local copy."""
        stmt = select(_T.c.id).where(_T.c.sha256 == sha256).limit(1)
        return (await self._session.execute(stmt)).first() is not None


@dataclass(slots=True)
class EvidenceFetcher:
    """One run: claim a batch, download each file, store it, record its hash; again while the
    batches come back full, up to ``max_batches``."""

    session_factory: async_sessionmaker[AsyncSession]
    store: EvidenceStore
    clock: Clock
    backoff: FetchBackoff = field(default_factory=FetchBackoff)
    batch_size: int = DEFAULT_BATCH
    max_batches: int = DEFAULT_MAX_BATCHES
    lease: timedelta = DEFAULT_CLAIM_LEASE

    async def run(self, download: Download, now: datetime | None = None) -> FetchSummary:
        summary = FetchSummary()
        for _ in range(self.max_batches):
            at = now if now is not None else self.clock.now()
            async with self.session_factory() as session:
                claims = await SqlEvidenceFetchRepository(session).claim(
                    now=at, limit=self.batch_size, lease=self.lease, max_attempts=self.backoff.max_attempts
                )
                await session.commit()
            for claim in claims:
                await self._fetch(claim, download, summary, now)
            if len(claims) < self.batch_size:
                break
        if summary.claimed:
            log.info(
                "evidence fetch: %d fetched, %d to retry, %d given up, %d erased meanwhile",
                summary.fetched,
                summary.retry,
                summary.gave_up,
                summary.dropped,
            )
        return summary

    async def _fetch(
        self, claim: FetchClaim, download: Download, summary: FetchSummary, now: datetime | None
    ) -> None:
        try:
            data = await download(claim.file_id)
            sha = await self.store.put(data)
        except FetchRefused as refused:
            await self._failed(claim, summary, refused, now, permanent=True)
            return
        except Exception as error:  # Telegram, the network or the disk: try again later
            await self._failed(claim, summary, error, now, permanent=False)
            return
        async with self.session_factory() as session:
            repo = SqlEvidenceFetchRepository(session)
            if await repo.record(claim, sha):
                await session.commit()
                summary.fetched += 1
                if not await asyncio.to_thread(self.store.exists, sha):
                    # retention deleted the same content for an erased case between our put
                    # and our record (the file was not named then): this row names it now
                    await self.store.put(data)
                return
            still_named = await repo.names_file(sha)
            await session.commit()
        # erased while it was downloading: the copy goes too (unless another row names it)
        if not still_named:
            await asyncio.to_thread(self.store.delete, sha)
        summary.dropped += 1

    async def _failed(
        self,
        claim: FetchClaim,
        summary: FetchSummary,
        error: BaseException,
        now: datetime | None,
        *,
        permanent: bool,
    ) -> None:
        at = now if now is not None else self.clock.now()
        retry_at = self.backoff.retry_at(claim.attempts, at, permanent=permanent)
        async with self.session_factory() as session:
            await SqlEvidenceFetchRepository(session).failed(
                claim, retry_at=retry_at, max_attempts=self.backoff.max_attempts
            )
            await session.commit()
        # the attachment's row id and the error's kind only: neither the file id (it fetches
        # the file) nor the error's text (a URL in it may carry the bot's token)
        if retry_at is None:
            summary.gave_up += 1
            log.warning(
                "evidence fetch: attachment %d given up after %d tries (%s)",
                claim.attachment_id,
                claim.attempts,
                type(error).__name__,
            )
        else:
            summary.retry += 1
            log.info(
                "evidence fetch: attachment %d failed (try %d, %s); next try at %s",
                claim.attachment_id,
                claim.attempts,
                type(error).__name__,
                retry_at.isoformat(),
            )
