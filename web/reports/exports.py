"""Exports from the dashboard: the chat's ``/export`` files (``bot.reports.build.Reports.export``:
cases, events and the scoreboard, never the complainant's identity) for a period, area and
unit, as a download.

Office only, as in the chat (``/export`` refuses liaisons): a unit's liaison gets its own cases
on the case list, not a bulk file. The workbook is written to a temporary directory and
streamed from there; the directory goes when the response has been sent.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from bot.reports.build import ExportTooLarge
from bot.reports.tables import CSV_MIME, XLSX_MIME
from core.stats import ExportFilter
from web.reports.common import ReportContext
from web.reports.filters import ReportFilter

# As the chat's limit (bot.handlers.stats.MAX_CHAT_EXPORT_ROWS): a browser download of more
# than this is better made on the server with `python -m bot report export`.
MAX_WEB_EXPORT_ROWS = 200_000


class ExportFormat(StrEnum):
    XLSX = "xlsx"
    CSV_CASES = "csv_cases"
    CSV_EVENTS = "csv_events"
    CSV_SCOREBOARD = "csv_scoreboard"

    @property
    def table(self) -> str | None:
        return None if self is ExportFormat.XLSX else self.value.removeprefix("csv_")


@dataclass(frozen=True, slots=True)
class Download:
    path: Path
    name: str  # the file name the browser saves (in the viewer's language)
    mime: str
    directory: Path  # to remove after sending

    def cleanup(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


async def make_download(
    ctx: ReportContext, flt: ReportFilter, fmt: ExportFormat, lang: str, campaign: str | None = None
) -> Download:
    """The file of ``fmt`` for ``flt`` (of ``campaign``'s cases only, for a street's office);
    raises ExportTooLarge past MAX_WEB_EXPORT_ROWS."""
    directory = Path(tempfile.mkdtemp(prefix="web-export-"))
    try:
        report = await ctx.reports.export(
            ExportFilter(flt.period, flt.area, flt.unit, campaign=campaign),
            ctx.today(),
            directory,
            lang=lang,
            xlsx=fmt is ExportFormat.XLSX,
            with_csv=fmt is not ExportFormat.XLSX,
            max_rows=MAX_WEB_EXPORT_ROWS,
        )
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    if fmt is ExportFormat.XLSX:
        file = report.files[0]
        suffix, mime = ".xlsx", XLSX_MIME
    else:
        wanted = f"-{fmt.table}.csv"
        file = next(f for f in report.files if f.name.endswith(wanted))
        suffix, mime = wanted, CSV_MIME
    assert file.path is not None
    stem = report.stem.removeprefix("export-")
    name = ctx.labels(lang).p("web.reports.export_file", stem=stem) + suffix
    return Download(file.path, name, mime, directory)


__all__ = ["MAX_WEB_EXPORT_ROWS", "Download", "ExportFormat", "ExportTooLarge", "make_download"]
