"""Reports put together: the statistics (``storage.stats``), their text, chart and tables.

One entry point per product: ``digest`` (daily or weekly, SPEC §6), ``scoreboard``
(绩效评估), ``export`` (cases, events and the scoreboard) and ``public`` (/stats, SPEC §4.3).
The office commands, the scheduled digest job and ``python -m bot report`` all use these, so a
digest looks the same in the chat, in the office group and on disk.

Reads go through a read-only session (on SQLite they never hold up the bot's writes); charts
are drawn in a worker thread, and a long export yields to the event loop between pages.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import date, timedelta, tzinfo
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.i18n import Catalogue, escape
from bot.reports import charts, tables, text
from bot.reports.labels import Labels
from bot.reports.tables import CSV_MIME, XLSX_MIME, CsvWriter, Rows, Table, XlsxWriter
from core.campaign_work import CampaignWork, campaign_work
from core.campaigns import campaign_by_id
from core.deadlines import DeadlineRules
from core.measures import GoodPractice, Measure, is_overdue, measures_in, practices_in
from core.plan import Plan
from core.stats import DailyDigest, ExportFilter, Period, PeriodKind, PublicStats, WeeklyDigest, week_of
from storage.repositories.practices import SqlPracticeRepository
from storage.repositories.review import SqlReviewRepository
from storage.stats import StatsReader

PNG_MIME = "image/png"
YIELD_EVERY = 500  # rows written between two yields to the event loop


class ReportKind(StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"


class ExportTooLarge(Exception):
    """More rows than a chat export may carry; the CLI has no limit."""

    def __init__(self, rows: int, limit: int) -> None:
        super().__init__(f"{rows} rows, more than {limit}")
        self.rows, self.limit = rows, limit


@dataclass(frozen=True, slots=True)
class ReportFile:
    name: str
    mime: str
    data: bytes | None = None  # in memory (charts, small workbooks) ...
    path: Path | None = None  # ... or on disk (exports)

    def read(self) -> bytes:
        if self.data is not None:
            return self.data
        assert self.path is not None
        return self.path.read_bytes()


@dataclass(frozen=True, slots=True)
class Report:
    stem: str  # file names start with it: digest-daily-2026-11-23
    title: str  # plain text, for captions and the HTML page
    text: str  # HTML message text
    chart: ReportFile | None = None
    files: tuple[ReportFile, ...] = ()
    rows: int = 0  # exports: cases + events written


def digest_kind_for(period: Period) -> ReportKind:
    """A one-day period gets the daily digest; anything longer the weekly one's contents."""
    return ReportKind.DAILY if period.days == 1 else ReportKind.WEEKLY


@dataclass(slots=True)
class Reports:
    session_factory: async_sessionmaker[AsyncSession]  # read-only (storage.stats.read_only_factory)
    plan: Plan
    rules: DeadlineRules
    catalogue: Catalogue

    @property
    def tz(self) -> tzinfo:
        return self.rules.tz

    def labels(self, lang: str) -> Labels:
        return Labels(self.catalogue, self.plan, lang, self.tz)

    async def _read(self, work: Callable[[StatsReader], Any], campaign: str | None = None) -> Any:
        async with self.session_factory() as session:
            return await work(StatsReader(session, self.rules, self.plan, campaign=campaign))

    # -- digests -------------------------------------------------------------------------------

    async def digest(
        self,
        kind: ReportKind,
        today: date,
        *,
        period: Period | None = None,
        lang: str = "zh",
        with_csv: bool = False,
        campaign: str | None = None,
    ) -> Report:
        """The daily digest (new cases of ``period``, default yesterday; deadlines as of
        ``today``) or the weekly one (``period``, default the previous Monday..Sunday).
        ``campaign``: a street's office's own (its cases and units only); None the district."""
        labels = self.labels(lang)
        escalate = self.rules.escalate_after
        if kind is ReportKind.DAILY:
            day = period or Period.day(today - timedelta(days=1), PeriodKind.DAILY)
            daily: DailyDigest = await self._read(lambda r: r.daily_digest_for(day, today), campaign)
            body = text.daily_text(daily, labels, escalate_after=escalate)
            png = await asyncio.to_thread(charts.daily_chart, daily, labels)
            sheets = tables.daily_tables(daily, labels)
            stem = f"digest-daily-{today.isoformat()}"
            title = labels.p("digest.daily_chart_title", date=labels.date(today))
        else:
            week = period or week_of(today - timedelta(days=7))
            weekly: WeeklyDigest = await self._read(lambda r: r.weekly_digest(today, week), campaign)
            body = text.weekly_text(weekly, labels, escalate_after=escalate)
            work = text.campaign_work_text(await self._campaign_work(week, today, campaign), labels)
            body = f"{body}\n\n{work}" if work else body
            png = await asyncio.to_thread(charts.weekly_chart, weekly, labels)
            sheets = tables.weekly_tables(weekly, labels)
            stem = f"digest-weekly-{_stem(week)}"
            title = labels.p("digest.weekly_chart_title", period=labels.period(week))
        return self._bundle(stem, title, self._headed(body, campaign, lang), png, sheets, labels, with_csv)

    def _headed(self, body: str, campaign: str | None, lang: str) -> str:
        """A street's report says whose it is first: the same title as the district's would
        otherwise pass for the district's figures."""
        sub = campaign_by_id(self.plan.sub_campaigns, campaign) if campaign else None
        if sub is None:
            return body
        name = sub.name_en if lang == "en" and sub.name_en else sub.name
        return f"<b>{escape(name)}</b>\n{body}"

    def _bundle(
        self,
        stem: str,
        title: str,
        body: str,
        png: bytes,
        sheets: list[tuple[Table, Rows]],
        labels: Labels,
        with_csv: bool,
    ) -> Report:
        materialised = [(table, list(rows)) for table, rows in sheets]
        files = [ReportFile(f"{stem}.xlsx", XLSX_MIME, tables.xlsx_bytes(materialised, labels))]
        if with_csv:
            files += [
                ReportFile(f"{stem}-{table.name}.csv", CSV_MIME, tables.csv_bytes(table, rows, labels))
                for table, rows in materialised
            ]
        return Report(stem, title, body, ReportFile(f"{stem}.png", PNG_MIME, png), tuple(files))

    # -- scoreboard ----------------------------------------------------------------------------

    async def scoreboard(
        self,
        period: Period,
        today: date,
        *,
        area: str | None = None,
        unit: str | None = None,
        lang: str = "zh",
        with_csv: bool = False,
        campaign: str | None = None,
    ) -> Report:
        labels = self.labels(lang)
        board = await self._read(lambda r: r.scoreboard(period, today, area=area, unit=unit), campaign)
        body = self._headed(text.scoreboard_text(board, labels), campaign, lang)
        png = await asyncio.to_thread(charts.scoreboard_chart, board, labels)
        stem = f"scoreboard-{_stem(period)}"
        title = labels.p("scoreboard.chart_title", period=labels.period(period))
        sheets: list[tuple[Table, Rows]] = [(tables.SCOREBOARD, tables.scoreboard_rows(board, labels))]
        return self._bundle(stem, title, body, png, sheets, labels, with_csv)

    # -- exports -------------------------------------------------------------------------------

    async def export(
        self,
        flt: ExportFilter,
        today: date,
        out_dir: Path,
        *,
        lang: str = "zh",
        xlsx: bool = True,
        with_csv: bool = False,
        max_rows: int | None = None,
    ) -> Report:
        """Cases, events and the scoreboard of ``flt`` into ``out_dir``: one XLSX with a sheet
        each (and the period's practices and measures) and/or one CSV each (of the first three).
        Raises ExportTooLarge past ``max_rows`` (cases + events)."""
        labels = self.labels(lang)
        stem = "export-" + "-".join(x for x in (_stem(flt.period), flt.area, flt.unit) if x)
        await asyncio.to_thread(out_dir.mkdir, parents=True, exist_ok=True)
        async with self.session_factory() as session:
            reader = StatsReader(session, self.rules, self.plan)
            if max_rows is not None:
                counted = await reader.count_cases(flt) + await reader.count_events(flt)
                if counted > max_rows:
                    raise ExportTooLarge(counted, max_rows)
            board = await reader.scoreboard(flt.period, today, area=flt.area, unit=flt.unit)
            sources: list[tuple[Table, Callable[[], AsyncIterator[list[Any]]]]] = [
                (tables.CASES, lambda: _rows(reader.iter_cases(flt), tables.case_row, labels)),
                (tables.EVENTS, lambda: _rows(reader.iter_events(flt), tables.event_row, labels)),
                (tables.SCOREBOARD, lambda: _list(tables.scoreboard_rows(board, labels))),
            ]
            # 推介典型 and 长效机制 of the period (issue 14): the workbook's last two sheets; no
            # CSV of them (the CSV files are the case tables a script reads, as before)
            practices, measures = await self._practices_and_measures(session, flt)
            wd = self.rules.wd
            xlsx_sources = [
                *sources,
                (tables.PRACTICES, lambda: _list([tables.practice_row(p, labels) for p in practices])),
                (tables.MEASURES,
                 lambda: _list([tables.measure_row(m, is_overdue(m, today, wd), labels) for m in measures])),
            ]  # fmt: skip
            files: list[ReportFile] = []
            counts: dict[str, int] = {}
            if xlsx:
                writer = XlsxWriter(labels)
                for table, make in xlsx_sources:
                    sheet = writer.sheet(table)
                    async for row in make():
                        sheet.append(row)
                    sheet.close()
                    counts[table.name] = sheet.rows
                path = out_dir / f"{stem}.xlsx"
                await asyncio.to_thread(writer.save, str(path))
                files.append(ReportFile(path.name, XLSX_MIME, path=path))
            if with_csv:
                for table, make in sources:
                    path = out_dir / f"{stem}-{table.name}.csv"
                    with path.open("w", encoding="utf-8-sig", newline="") as fh:
                        csv_writer = CsvWriter(fh, table, labels)
                        async for row in make():
                            csv_writer.append(row)
                    counts[table.name] = csv_writer.rows
                    files.append(ReportFile(path.name, CSV_MIME, path=path))
        cases, events = counts.get("cases", 0), counts.get("events", 0)
        title = labels.p("export.title", period=labels.period(flt.period))
        body = labels.t(
            "export.caption",
            period=labels.period(flt.period),
            area=labels.area(flt.area) if flt.area else labels.p("export.all"),
            unit=labels.unit(flt.unit) if flt.unit else labels.p("export.all"),
            cases=cases,
            events=events,
        )
        return Report(stem, title, body, None, tuple(files), rows=cases + events)

    async def _practices_and_measures(
        self, session: AsyncSession, flt: ExportFilter
    ) -> tuple[list[GoodPractice], list[Measure]]:
        """The export's practices (recorded in the period) and measures (alive in it), of its
        unit, or of its campaign's units for a street's office. The area filter does not apply:
        neither belongs to a task area."""
        units: set[str] | None = None
        if flt.campaign:
            sub = campaign_by_id(self.plan.sub_campaigns, flt.campaign)
            units = set(sub.unit_ids) if sub is not None else set()
        if flt.unit is not None:
            units = {flt.unit} if units is None else units & {flt.unit}
        start, end = flt.period.start(self.tz), flt.period.end(self.tz)
        repo = SqlPracticeRepository(session)
        practices = practices_in(await repo.list_practices(), start, end, units)
        measures = measures_in(await repo.list_measures(), start, end, units)
        return practices, measures

    async def _campaign_work(self, week: Period, today: date, campaign: str | None) -> CampaignWork:
        """Review inspections, practices and measures for the weekly digest (issue 14), of the
        campaign's units for a street's office."""
        sub = campaign_by_id(self.plan.sub_campaigns, campaign) if campaign else None
        units = (set(sub.unit_ids) if sub is not None else set()) if campaign else None
        async with self.session_factory() as session:
            review, practices = SqlReviewRepository(session), SqlPracticeRepository(session)
            return campaign_work(
                week,
                today,
                self.tz,
                self.rules.wd,
                inspections=await review.list_inspections(),
                findings=await review.list_findings(),
                practices=await practices.list_practices(),
                measures=await practices.list_measures(),
                units=units,
            )

    # -- public ----------------------------------------------------------------------------------

    async def public_stats(self, today: date) -> PublicStats:
        stats: PublicStats = await self._read(lambda r: r.public_stats(today))
        return stats

    def public_text(self, stats: PublicStats, lang: str) -> str:
        return text.public_text(stats, self.labels(lang))


def _stem(period: Period) -> str:
    return (
        period.first.isoformat()
        if period.days == 1
        else f"{period.first.isoformat()}_{period.last.isoformat()}"
    )


async def _rows(
    records: AsyncIterator[Any], to_row: Callable[[Any, Labels], list[Any]], labels: Labels
) -> AsyncIterator[list[Any]]:
    n = 0
    async for record in records:
        yield to_row(record, labels)
        n += 1
        if n % YIELD_EVERY == 0:
            await asyncio.sleep(0)  # let the bot answer others while a long export runs


async def _list(rows: Rows) -> AsyncIterator[list[Any]]:
    for row in rows:
        yield list(row)
