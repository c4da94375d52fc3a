"""The evidence fetch on a real database (issue 15; storage/evidence_fetch.py), SQLite and
PostgreSQL: attachments still known only by their Telegram file id are downloaded into the
evidence store once each, their SHA-256 recorded; failures back off and give up; erased
attachments are never fetched, not even one erased while its download was under way; and two
fetchers never take the same attachment."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.attachments import Attachment, AttachmentKind
from core.cases import Case, Source
from core.clock import FixedClock
from core.evidence_fetch import DEFAULT_CLAIM_LEASE, FetchBackoff
from core.ports import UnitOfWorkFactory
from core.states import CaseState
from storage.evidence_fetch import EvidenceFetcher, FetchRefused, SqlEvidenceFetchRepository
from storage.evidence_store import EvidenceStore
from storage.models import AttachmentRow

TZ = "Asia/Shanghai"
MIN = timedelta(minutes=1)


class FakeTelegram:
    """``download(file_id)`` over a dict of files; counts the downloads of each file id."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.downloads: list[str] = []
        self.error: Exception | None = None

    async def download(self, file_id: str) -> bytes:
        self.downloads.append(file_id)
        await asyncio.sleep(0)  # a real download yields: let another fetcher run meanwhile
        if self.error is not None:
            raise self.error
        return self.files[file_id]


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 12, 7, 10, 0), TZ)


@pytest.fixture
def store(tmp_path: Path) -> EvidenceStore:
    return EvidenceStore(tmp_path / "evidence")


async def add_case(uow_factory: UnitOfWorkFactory, number: str, file_ids: list[str]) -> int:
    """A case with one photo per file id; returns the case id."""
    at = datetime(2026, 11, 2, 9).astimezone()
    async with uow_factory() as uow:
        case = Case(number, CaseState.TRIAGE, Source.CITIZEN, "窗口不给办", at)
        await uow.cases.add(case)
        assert case.id is not None
        for n, file_id in enumerate(file_ids):
            await uow.attachments.add(
                Attachment(file_id, f"uniq-{file_id}-{n}", AttachmentKind.PHOTO, at, case_id=case.id)
            )
        await uow.commit()
    return case.id


async def rows(session_factory: async_sessionmaker[AsyncSession]) -> list[AttachmentRow]:
    async with session_factory() as session:
        return list((await session.scalars(select(AttachmentRow).order_by(AttachmentRow.id))).all())


def fetcher(
    session_factory: async_sessionmaker[AsyncSession], store: EvidenceStore, clock: FixedClock, **kw: object
) -> EvidenceFetcher:
    return EvidenceFetcher(session_factory, store, clock, **kw)  # type: ignore[arg-type]


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def test_every_attachment_is_fetched_once_and_its_sha256_recorded(
    sql_uow: UnitOfWorkFactory,
    session_factory: async_sessionmaker[AsyncSession],
    store: EvidenceStore,
    clock: FixedClock,
) -> None:
    files = {"ph-1": b"window photo", "ph-2": b"receipt scan", "ph-3": b"window photo"}
    await add_case(sql_uow, "ZH-2026-000001", ["ph-1", "ph-2"])
    await add_case(sql_uow, "ZH-2026-000002", ["ph-3"])  # the same photo sent again
    telegram = FakeTelegram(files)

    done = await fetcher(session_factory, store, clock, batch_size=2).run(telegram.download)

    assert (done.fetched, done.retry, done.gave_up, done.dropped) == (3, 0, 0, 0)
    assert sorted(telegram.downloads) == ["ph-1", "ph-2", "ph-3"]
    found = await rows(session_factory)
    assert [r.sha256 for r in found] == [sha(files[r.file_id]) for r in found]
    assert all(r.fetch_attempts == 1 and r.next_fetch_at is None for r in found)
    # one file per content; each holds the bytes Telegram gave
    assert sorted(s for s, _ in store.iter_files()) == sorted({sha(b) for b in files.values()})
    assert all(store.read(r.sha256 or "") == files[r.file_id] for r in found)

    again = await fetcher(session_factory, store, clock).run(telegram.download)
    assert again.claimed == 0 and len(telegram.downloads) == 3


async def test_a_failing_download_waits_longer_each_time_and_is_given_up_after_the_last_try(
    sql_uow: UnitOfWorkFactory,
    session_factory: async_sessionmaker[AsyncSession],
    store: EvidenceStore,
    clock: FixedClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await add_case(sql_uow, "ZH-2026-000001", ["ph-secret-id"])
    telegram = FakeTelegram({"ph-secret-id": b"photo"})
    telegram.error = ConnectionError("api.telegram.org unreachable")
    backoff = FetchBackoff(max_attempts=3)
    run = fetcher(session_factory, store, clock, backoff=backoff).run

    first = await run(telegram.download)
    (row,) = await rows(session_factory)
    assert first.retry == 1 and row.fetch_attempts == 1
    assert row.next_fetch_at == clock.now() + backoff.delay(1)

    clock.advance(backoff.delay(1) - MIN)  # not yet
    assert (await run(telegram.download)).claimed == 0
    clock.advance(MIN)
    assert (await run(telegram.download)).retry == 1
    (row,) = await rows(session_factory)
    assert row.fetch_attempts == 2 and row.next_fetch_at == clock.now() + backoff.delay(2)

    clock.advance(backoff.delay(2))
    with caplog.at_level(logging.INFO, logger="storage.evidence_fetch"):
        last = await run(telegram.download)
    assert last.gave_up == 1
    (row,) = await rows(session_factory)
    assert row.sha256 is None and row.fetch_attempts == 3
    given_up = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert given_up == [f"evidence fetch: attachment {row.id} given up after 3 tries (ConnectionError)"]
    # the log never names the file (its id fetches it) nor repeats the error's text
    assert not [
        r for r in caplog.records if "ph-secret-id" in r.getMessage() or "unreachable" in r.getMessage()
    ]

    clock.advance(timedelta(days=30))
    telegram.error = None
    assert (await run(telegram.download)).claimed == 0
    assert len(telegram.downloads) == 3 and list(store.iter_files()) == []


async def test_a_file_telegram_refuses_is_given_up_at_once(
    sql_uow: UnitOfWorkFactory,
    session_factory: async_sessionmaker[AsyncSession],
    store: EvidenceStore,
    clock: FixedClock,
) -> None:
    await add_case(sql_uow, "ZH-2026-000001", ["ph-bad", "ph-good"])
    telegram = FakeTelegram({"ph-good": b"fine"})
    real = telegram.download

    async def download(file_id: str) -> bytes:
        if file_id == "ph-bad":
            raise FetchRefused("BadRequest")
        return await real(file_id)

    done = await fetcher(session_factory, store, clock).run(download)

    assert (done.fetched, done.gave_up) == (1, 1)
    bad, good = await rows(session_factory)
    assert bad.sha256 is None and bad.fetch_attempts == FetchBackoff().max_attempts
    assert good.sha256 == sha(b"fine")
    clock.advance(timedelta(days=2))
    assert (await fetcher(session_factory, store, clock).run(download)).claimed == 0


async def test_an_erased_attachment_is_never_fetched(
    sql_uow: UnitOfWorkFactory,
    session_factory: async_sessionmaker[AsyncSession],
    store: EvidenceStore,
    clock: FixedClock,
) -> None:
    case_id = await add_case(sql_uow, "ZH-2026-000001", ["ph-1"])
    async with sql_uow() as uow:
        await uow.retention.erase_cases([case_id], now=clock.now())
        await uow.commit()
    telegram = FakeTelegram({"ph-1": b"photo"})

    done = await fetcher(session_factory, store, clock).run(telegram.download)

    assert done.claimed == 0 and telegram.downloads == []
    (row,) = await rows(session_factory)
    assert row.file_id == "" and row.sha256 is None and row.fetch_attempts == 0


async def test_an_attachment_erased_while_it_downloads_keeps_no_copy(
    sql_uow: UnitOfWorkFactory,
    session_factory: async_sessionmaker[AsyncSession],
    store: EvidenceStore,
    clock: FixedClock,
) -> None:
    shared, own = b"the same photo, sent for both cases", b"only the erased case's"
    await add_case(sql_uow, "ZH-2026-000002", ["ph-kept"])  # fetched first: names the shared file
    erased = await add_case(sql_uow, "ZH-2026-000001", ["ph-own", "ph-shared"])
    telegram = FakeTelegram({"ph-kept": shared, "ph-own": own, "ph-shared": shared})
    real = telegram.download

    async def download(file_id: str) -> bytes:
        data = await real(file_id)
        if file_id == "ph-own":  # retention erases the case between the claim and the record
            async with sql_uow() as uow:
                await uow.retention.erase_cases([erased], now=clock.now())
                await uow.commit()
        return data

    done = await fetcher(session_factory, store, clock, batch_size=3).run(download)

    assert sorted(telegram.downloads) == ["ph-kept", "ph-own", "ph-shared"]
    assert (done.fetched, done.dropped) == (1, 2)
    kept, first, second = await rows(session_factory)
    assert kept.sha256 == sha(shared)
    assert (first.file_id, first.sha256, second.file_id, second.sha256) == ("", None, "", None)
    # the erased case's own photo is gone from disk; the shared one stays for the other case
    assert not store.exists(sha(own))
    assert store.read(sha(shared)) == shared


async def test_two_fetchers_at_once_download_each_file_once(
    sql_uow: UnitOfWorkFactory,
    session_factory: async_sessionmaker[AsyncSession],
    store: EvidenceStore,
    clock: FixedClock,
) -> None:
    names = [f"ph-{n}" for n in range(12)]
    for n in range(0, 12, 3):
        await add_case(sql_uow, f"ZH-2026-{n + 1:06d}", names[n : n + 3])
    telegram = FakeTelegram({name: name.encode() for name in names})

    one, two = await asyncio.gather(
        fetcher(session_factory, store, clock, batch_size=2).run(telegram.download),
        fetcher(session_factory, store, clock, batch_size=2).run(telegram.download),
    )

    assert one.fetched + two.fetched == 12
    assert sorted(telegram.downloads) == sorted(names)  # none twice
    assert all(r.sha256 == sha(r.file_id.encode()) for r in await rows(session_factory))


async def test_a_claim_keeps_others_off_until_its_lease_runs_out(
    sql_uow: UnitOfWorkFactory,
    session_factory: async_sessionmaker[AsyncSession],
    clock: FixedClock,
) -> None:
    await add_case(sql_uow, "ZH-2026-000001", ["ph-1", "ph-2", "ph-3"])

    async def claim(at: datetime, limit: int = 10) -> list[int]:
        async with session_factory() as session:
            claims = await SqlEvidenceFetchRepository(session).claim(
                now=at, limit=limit, lease=DEFAULT_CLAIM_LEASE, max_attempts=6
            )
            await session.commit()
        return [c.attempts for c in claims]

    assert await claim(clock.now(), limit=2) == [1, 1]  # a fetcher takes two, then dies
    assert await claim(clock.now() + MIN) == [1]  # another gets only the third
    # each comes back when its own claim's lease runs out, its try counted again
    assert await claim(clock.now() + DEFAULT_CLAIM_LEASE) == [2, 2]
    assert await claim(clock.now() + MIN + DEFAULT_CLAIM_LEASE) == [2]


@pytest.mark.postgres
async def test_on_postgresql_a_claim_skips_rows_another_transaction_holds(
    backend: str,
    sql_uow: UnitOfWorkFactory,
    session_factory: async_sessionmaker[AsyncSession],
    clock: FixedClock,
) -> None:
    if backend != "postgres":
        pytest.skip("SQLite has one writer: BEGIN IMMEDIATE makes a second claimer wait, not skip")
    await add_case(sql_uow, "ZH-2026-000001", ["ph-1", "ph-2", "ph-3"])
    args = {"now": clock.now(), "lease": DEFAULT_CLAIM_LEASE, "max_attempts": 6}
    async with session_factory() as first, session_factory() as second:
        held = await SqlEvidenceFetchRepository(first).claim(limit=2, **args)  # type: ignore[arg-type]
        # while the first has not committed, the second neither waits nor takes its rows
        other = await asyncio.wait_for(
            SqlEvidenceFetchRepository(second).claim(limit=10, **args),  # type: ignore[arg-type]
            timeout=5,
        )
        await first.commit()
        await second.commit()
    assert len(held) == 2 and len(other) == 1
    assert {c.attachment_id for c in held}.isdisjoint({c.attachment_id for c in other})
