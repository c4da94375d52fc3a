"""Tables for spreadsheets: cases, events, the scoreboard and the digests' figures, written as
XLSX (openpyxl: one sheet per table, Chinese headers, a filter on the header row, the header
row frozen, column widths to fit) and CSV (UTF-8 with a BOM, so Excel reads Chinese right).

The case table never holds the complainant's identity (``core.stats.CaseRecord`` has none).
Text that people typed is written as text, never as a formula: a description starting with
``=`` stays a string in the XLSX and is prefixed with ``'`` in the CSV (formula injection).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from bot.reports.labels import Labels
from core.measures import SHARED_TO_ALL, GoodPractice, Measure
from core.reports import RecommendationStatus
from core.stats import (
    CaseRecord,
    DailyDigest,
    DeliveryStatus,
    EventRecord,
    Ratio,
    Scoreboard,
    WeeklyDigest,
)

MAX_CELL_TEXT = 32_000  # Excel's limit is 32,767 characters per cell
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MIME = "text/csv"


class Kind(StrEnum):
    TEXT = "text"  # written as text (typed by people: never a formula)
    INT = "int"
    FLOAT = "float"
    RATE = "rate"  # a Ratio: its rate as a percentage
    DATE = "date"
    DATETIME = "datetime"
    BOOL = "bool"


@dataclass(frozen=True, slots=True)
class Column:
    key: str  # header: catalogue key export.col.<key>
    width: float
    kind: Kind = Kind.TEXT


@dataclass(frozen=True, slots=True)
class Table:
    name: str  # file stem and catalogue key export.sheet.<name>
    columns: tuple[Column, ...]


def _c(key: str, width: float, kind: Kind = Kind.TEXT) -> Column:
    return Column(key, width, kind)


CASES = Table(
    "cases",
    (
        _c("tracking_no", 17), _c("state", 11), _c("source", 10), _c("area", 26), _c("area_auto", 26),
        _c("confidence", 9, Kind.FLOAT), _c("lead_units", 24), _c("assist_units", 30), _c("target_unit", 18),
        _c("target_text", 24), _c("place", 18), _c("occurred", 14), _c("description", 60),
        _c("created_at", 17, Kind.DATETIME), _c("assigned_at", 17, Kind.DATETIME),
        _c("sign_due", 12, Kind.DATE), _c("signed_at", 17, Kind.DATETIME),
        _c("answer_due", 12, Kind.DATE), _c("answered_at", 17, Kind.DATETIME),
        _c("extended", 8, Kind.BOOL), _c("closed_at", 17, Kind.DATETIME),
        _c("outcome", 12), _c("measure", 12), _c("typical", 8, Kind.BOOL),
        _c("satisfaction", 10), _c("satisfaction_comment", 30),
    ),
)  # fmt: skip
EVENTS = Table(
    "events",
    (
        _c("tracking_no", 17), _c("at", 17, Kind.DATETIME), _c("actor", 12), _c("kind", 18),
        _c("visibility", 8), _c("text", 60),
    ),
)  # fmt: skip
SCOREBOARD = Table(
    "scoreboard",
    (
        _c("unit", 24), _c("received", 8, Kind.INT),
        _c("sign_matured", 9, Kind.INT), _c("signed_on_time", 9, Kind.INT), _c("sign_rate", 10, Kind.RATE),
        _c("answer_matured", 9, Kind.INT), _c("answered_on_time", 9, Kind.INT),
        _c("answer_rate", 10, Kind.RATE),
        _c("answered", 9, Kind.INT), _c("satisfied", 7, Kind.INT), _c("basically", 9, Kind.INT),
        _c("unsatisfied", 8, Kind.INT), _c("no_response", 8, Kind.INT), _c("pending", 8, Kind.INT),
        _c("satisfaction_rate", 10, Kind.RATE), _c("reopened", 9, Kind.INT), _c("reopen_rate", 10, Kind.RATE),
        _c("self_report", 12), _c("recommendations", 10, Kind.INT), _c("rect_on_time", 11, Kind.INT),
        _c("rect_due", 11, Kind.INT), _c("rect_rate", 10, Kind.RATE),
    ),
)  # fmt: skip
NEW_CASES = Table("new_cases", (_c("area", 28), _c("unit", 24), _c("count", 8, Kind.INT)))
WARNINGS = Table(
    "warnings",
    (
        _c("unit", 24), _c("red", 8, Kind.INT), _c("yellow", 8, Kind.INT), _c("blue", 8, Kind.INT),
        _c("supervised", 9, Kind.INT), _c("escalated", 9, Kind.INT),
    ),
)  # fmt: skip
TREND = Table("trend", (_c("day", 12, Kind.DATE), _c("count", 8, Kind.INT), _c("previous_day", 12, Kind.DATE),
                        _c("previous_count", 8, Kind.INT)))  # fmt: skip
SELF_REPORTS = Table(
    "self_reports",
    (_c("unit", 24), _c("self_report", 12), _c("inspected", 10, Kind.INT), _c("total", 10, Kind.INT)),
)
RECTIFICATION = Table(
    "rectification",
    (
        _c("unit", 24), _c("recommendations", 10, Kind.INT),
        *(_c(f"rec_{s.value}", 10, Kind.INT) for s in RecommendationStatus),
        *(_c(f"plan_{s.value}", 10, Kind.INT) for s in DeliveryStatus),
        *(_c(f"report_{s.value}", 10, Kind.INT) for s in DeliveryStatus),
        _c("rect_rate", 10, Kind.RATE),
    ),
)  # fmt: skip
NOTICES = Table(
    "notices",
    (
        _c("notice_kind", 12), _c("tracking_no", 17), _c("area", 26), _c("lead_units", 24),
        _c("answer_due", 12, Kind.DATE), _c("overdue_days", 10, Kind.INT),
        _c("outcome", 12), _c("measure", 12),
    ),
)  # fmt: skip
HOTSPOTS = Table("hotspots", (_c("target", 28), _c("area", 28), _c("count", 8, Kind.INT)))
# 推介典型 and 长效机制 (issue 14): two sheets of the /export workbook
PRACTICES = Table(
    "practices",
    (
        _c("unit", 24), _c("practice_title", 28), _c("practice_text", 60), _c("basis_cases", 20),
        _c("practice_state", 10), _c("recorded_at", 17, Kind.DATETIME), _c("recorded_by", 14, Kind.INT),
        _c("shared_at", 17, Kind.DATETIME), _c("shared_to", 18),
    ),
)  # fmt: skip
MEASURES = Table(
    "measures",
    (
        _c("unit", 24), _c("measure_title", 28), _c("measure_text", 40), _c("measure_status", 10),
        _c("measure_due", 12, Kind.DATE), _c("measure_overdue", 8, Kind.BOOL),
        _c("proposed_at", 17, Kind.DATETIME), _c("updated_at", 17, Kind.DATETIME),
        _c("evidence_files", 8, Kind.INT),
    ),
)  # fmt: skip

Rows = Iterable[Sequence[Any]]


# -- rows -----------------------------------------------------------------------------------------


def _opt(labels: Labels, prefix: str, value: str | None) -> str:
    if not value:
        return ""
    key = f"{prefix}.{value}"
    return labels.p(key) if labels.catalogue.has(key) else value


def case_row(c: CaseRecord, labels: Labels) -> list[Any]:
    return [
        c.tracking_no,
        _opt(labels, "state", c.state),
        _opt(labels, "export.source", c.source),
        labels.area(c.area) if c.area else "",
        labels.area(c.area_auto) if c.area_auto else "",
        c.confidence,
        labels.units(c.lead_units),
        labels.units(c.assist_units),
        labels.unit(c.target_unit) if c.target_unit else "",
        c.target_text,
        c.place,
        c.occurred,
        c.description,
        labels.local(c.created_at),
        labels.local(c.assigned_at),
        c.sign_due,
        labels.local(c.signed_at),
        c.answer_due,
        labels.local(c.answered_at),
        c.extended,
        labels.local(c.closed_at),
        _opt(labels, "export.outcome", c.outcome),
        _opt(labels, "export.measure", c.measure),
        c.typical,
        _opt(labels, "cases.satisfaction", c.satisfaction),
        c.satisfaction_comment,
    ]


def event_row(e: EventRecord, labels: Labels) -> list[Any]:
    return [
        e.tracking_no,
        labels.local(e.at),
        _opt(labels, "export.actor", e.actor),
        _opt(labels, "cases.event", e.kind),
        _opt(labels, "export.visibility", e.visibility),
        e.text,
    ]


def scoreboard_rows(board: Scoreboard, labels: Labels) -> Iterator[list[Any]]:
    for r in board.rows:
        c, rect = r.cases, r.rectification
        on_time = rect.on_time
        yield [
            labels.unit(r.unit), c.received,
            c.sign_due, c.signed_on_time, c.sign_rate,
            c.answer_due, c.answered_on_time, c.answer_rate,
            c.answered, c.satisfied, c.basically, c.unsatisfied, c.no_response, c.pending,
            c.satisfaction_rate, c.reopened, c.reopen_rate,
            labels.p(f"scoreboard.self_report.{r.self_report.value}"),
            rect.recommendations, on_time.num, on_time.den, on_time,
        ]  # fmt: skip


def practice_row(p: GoodPractice, labels: Labels) -> list[Any]:
    """One 推介典型: who recorded it is an office member's Telegram id, as in the audit trail
    (never a complainant's)."""
    if p.shared_to is None:
        shared_to = ""
    elif p.shared_to == SHARED_TO_ALL:
        shared_to = labels.p("web.reports.practices.shared_to_all")
    else:
        shared_to = labels.unit(p.shared_to)
    return [
        labels.unit(p.unit_id),
        p.title,
        p.description,
        " ".join(p.case_numbers),
        labels.p("web.reports.practices.shared" if p.shared_at else "practices.not_shared"),
        labels.local(p.recorded_at),
        p.recorded_by,
        labels.local(p.shared_at),
        shared_to,
    ]


def measure_row(m: Measure, overdue: bool, labels: Labels) -> list[Any]:
    """One 长效机制; ``overdue`` from core.measures.is_overdue (it needs the working days)."""
    return [
        labels.unit(m.unit_id),
        m.title,
        m.description,
        labels.p(f"practices.status.{m.status.value}"),
        m.due,
        overdue,
        labels.local(m.created_at),
        labels.local(m.updated_at),
        len(m.evidence),
    ]


def daily_tables(digest: DailyDigest, labels: Labels) -> list[tuple[Table, Rows]]:
    new = [[labels.area(m.area), labels.unit(m.unit), m.count] for m in digest.new_by_area_unit]
    warn = [
        [labels.unit(u.unit), u.warnings.red, u.warnings.yellow, u.warnings.blue, u.warnings.supervised,
         u.warnings.escalated]
        for u in digest.warnings_by_unit
    ]  # fmt: skip
    w = digest.warnings
    warn.append([labels.p("export.total"), w.red, w.yellow, w.blue, w.supervised, w.escalated])
    return [(NEW_CASES, new), (WARNINGS, warn)]


def weekly_tables(digest: WeeklyDigest, labels: Labels) -> list[tuple[Table, Rows]]:
    trend = digest.trend
    days, previous = digest.period.dates(), digest.period.previous().dates()
    trend_rows = [
        [d, n, p, m] for d, n, p, m in zip(days, trend.per_day, previous, trend.previous_per_day, strict=True)
    ]
    reports = [
        [labels.unit(u.unit), labels.p(f"scoreboard.self_report.{u.status.value}"), u.inspected, u.total]
        for u in digest.self_reports.units
    ]
    rect_rows = []
    for row in digest.scoreboard.rows:
        rect = row.rectification
        if not rect.recommendations:
            continue
        rect_rows.append(
            [
                labels.unit(row.unit),
                rect.recommendations,
                *(rect.by_status.get(s, 0) for s in RecommendationStatus),
                *(rect.plans.get(s, 0) for s in DeliveryStatus),
                *(rect.reports.get(s, 0) for s in DeliveryStatus),
                rect.on_time,
            ]
        )
    notices = [
        [
            labels.p(f"export.notice_kind.{e.kind.value}"),
            e.tracking_no,
            labels.area(e.area),
            labels.units(e.lead_units),
            e.due,
            e.overdue_days,
            _opt(labels, "export.outcome", e.outcome),
            _opt(labels, "export.measure", e.measure),
        ]
        for e in (*digest.notices.escalated, *digest.notices.typical)
    ]
    hotspots = [
        [
            labels.unit(h.target_unit) if h.target_unit else h.target_text,
            labels.area(h.area),
            h.count,
        ]
        for h in digest.hotspots
    ]
    return [
        (TREND, trend_rows),
        (SCOREBOARD, scoreboard_rows(digest.scoreboard, labels)),
        (SELF_REPORTS, reports),
        (RECTIFICATION, rect_rows),
        (NOTICES, notices),
        (HOTSPOTS, hotspots),
    ]


# -- cells ----------------------------------------------------------------------------------------


def _text(value: object) -> str:
    text = ILLEGAL_CHARACTERS_RE.sub("", str(value))
    return text[:MAX_CELL_TEXT]


def _csv_value(value: object, kind: Kind, labels: Labels) -> str:
    if value is None:
        return ""
    if kind is Kind.RATE and isinstance(value, Ratio):
        return "" if value.rate is None else f"{value.rate * 100:.1f}%"
    if isinstance(value, bool):
        return labels.p("export.yes" if value else "export.no")
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:.2f}"
    text = _text(value)
    return "'" + text if text.startswith(FORMULA_START) else text


# -- XLSX -----------------------------------------------------------------------------------------

HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", start_color="DDEBF7")
PERCENT_FORMAT = "0.0%"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
DATE_FORMAT = "yyyy-mm-dd"


class SheetWriter:
    """One sheet of a write-only workbook: the header on ``__init__``, rows by ``append``
    (streamed to disk by openpyxl, so a large export does not sit in memory), the filter set
    on ``close``."""

    def __init__(self, ws: WriteOnlyWorksheet, table: Table, labels: Labels) -> None:
        self.ws, self.table, self.labels = ws, table, labels
        self.rows = 0
        for i, col in enumerate(table.columns, start=1):
            ws.column_dimensions[get_column_letter(i)].width = col.width
        ws.freeze_panes = "A2"
        header = []
        for col in table.columns:
            cell = WriteOnlyCell(ws, value=labels.p(f"export.col.{col.key}"))
            cell.font, cell.fill = HEADER_FONT, HEADER_FILL
            cell.alignment = Alignment(wrap_text=True, vertical="center")
            header.append(cell)
        ws.append(header)

    def append(self, row: Sequence[Any]) -> None:
        cells: list[Any] = []
        for col, value in zip(self.table.columns, row, strict=True):
            cells.append(self._cell(col.kind, value))
        self.ws.append(cells)
        self.rows += 1

    def _cell(self, kind: Kind, value: Any) -> Any:
        if value is None:
            return None
        if kind is Kind.RATE:
            cell = WriteOnlyCell(self.ws, value=value.rate if isinstance(value, Ratio) else value)
            cell.number_format = PERCENT_FORMAT
            return cell
        if kind is Kind.DATETIME and isinstance(value, datetime):
            cell = WriteOnlyCell(self.ws, value=value)
            cell.number_format = DATETIME_FORMAT
            return cell
        if kind is Kind.DATE and isinstance(value, date):
            cell = WriteOnlyCell(self.ws, value=value)
            cell.number_format = DATE_FORMAT
            return cell
        if kind is Kind.BOOL:
            return self.labels.p("export.yes" if value else "export.no")
        if isinstance(value, str):
            text = _text(value)
            if text.startswith("="):
                # openpyxl would store it as a formula; people's text stays text
                cell = WriteOnlyCell(self.ws, value=text)
                cell.data_type = "s"
                return cell
            return text
        return value

    def close(self) -> None:
        last = get_column_letter(len(self.table.columns))
        self.ws.auto_filter.ref = f"A1:{last}{self.rows + 1}"


class XlsxWriter:
    def __init__(self, labels: Labels) -> None:
        self.labels = labels
        self.workbook = Workbook(write_only=True)

    def sheet(self, table: Table) -> SheetWriter:
        title = self.labels.p(f"export.sheet.{table.name}")[:31]  # Excel's limit for sheet names
        return SheetWriter(self.workbook.create_sheet(title), table, self.labels)

    def add(self, table: Table, rows: Rows) -> int:
        sheet = self.sheet(table)
        for row in rows:
            sheet.append(row)
        sheet.close()
        return sheet.rows

    def save(self, target: IO[bytes] | str) -> None:
        self.workbook.save(target)

    def to_bytes(self) -> bytes:
        buf = io.BytesIO()
        self.save(buf)
        return buf.getvalue()


def xlsx_bytes(tables: Iterable[tuple[Table, Rows]], labels: Labels) -> bytes:
    writer = XlsxWriter(labels)
    for table, rows in tables:
        writer.add(table, rows)
    return writer.to_bytes()


# -- CSV ------------------------------------------------------------------------------------------


class CsvWriter:
    """One table as CSV: UTF-8 with a byte-order mark (Excel on Windows otherwise guesses the
    local code page and shows Chinese as mojibake), CRLF line ends as Excel writes them."""

    def __init__(self, out: IO[str], table: Table, labels: Labels) -> None:
        self.table, self.labels = table, labels
        self.writer = csv.writer(out, lineterminator="\r\n")
        self.writer.writerow([labels.p(f"export.col.{c.key}") for c in table.columns])
        self.rows = 0

    def append(self, row: Sequence[Any]) -> None:
        self.writer.writerow(
            [_csv_value(v, c.kind, self.labels) for c, v in zip(self.table.columns, row, strict=True)]
        )
        self.rows += 1


def csv_bytes(table: Table, rows: Rows, labels: Labels) -> bytes:
    buf = io.StringIO()
    writer = CsvWriter(buf, table, labels)
    for row in rows:
        writer.append(row)
    return buf.getvalue().encode("utf-8-sig")
