"""The classifier report (issue 14) put together: where the classifier and the office disagree.

``read_classifier`` asks ``core.services.classifier_report`` for a period's report (the decided
cases read through its port, ``storage.classifier_report.SqlDecidedCases``: the tracking
number, the two areas and the cues, never who complained); ``classifier_text`` is the short
chat text and ``classifier_workbook`` the XLSX (confusion matrix, agreement per area, confusions with their
example cases and cues, the phrases most often in disagreement). The bot's ``/classifier``, the
web page ``/reports/classifier`` and ``python -m bot report classifier`` all use these, so the
three show the same figures.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from datetime import tzinfo
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.reports.build import Report, ReportFile
from bot.reports.labels import Labels
from bot.reports.tables import HEADER_FILL, HEADER_FONT, MAX_CELL_TEXT, PERCENT_FORMAT, XLSX_MIME
from core.classifier_report import NONE_AREA
from core.plan import Plan
from core.services.classifier_report import TOP_PHRASES, ClassifierReportService, ClassifierResult
from core.stats import Period
from storage.classifier_report import SqlDecidedCases


async def read_classifier(
    session_factory: async_sessionmaker[AsyncSession],
    plan: Plan,
    period: Period,
    tz: tzinfo,
    *,
    campaign: str | None = None,
) -> ClassifierResult:
    """The report over citizens' cases created in ``period`` (local days in ``tz``), through
    the service and its port on ``session_factory`` (read-only in the bot, the web and the CLI);
    ``campaign`` as in ``/export``: a sub-campaign's office sees its own cases only."""
    source = SqlDecidedCases(session_factory, campaign=campaign)
    return await ClassifierReportService(source, plan, tz).report(period)


# -- names ----------------------------------------------------------------------------------------


def area_name(labels: Labels, area: str) -> str:
    if area == NONE_AREA:
        return labels.p("classifier_report.none_area")
    return labels.area(area)


def stem(period: Period) -> str:
    first, last = period.first.isoformat(), period.last.isoformat()
    return f"classifier-{first}" if first == last else f"classifier-{first}_{last}"


# -- chat text ------------------------------------------------------------------------------------


def classifier_text(result: ClassifierResult, labels: Labels) -> str:
    """HTML: the count, the agreement rate, the top confusions and the top phrases."""
    r = result.report
    lines = [labels.t("classifier_report.title", period=labels.period(result.period))]
    if r.total == 0:
        lines.append(labels.t("classifier_report.empty"))
        return "\n".join(lines)
    lines.append(
        labels.t("classifier_report.summary", total=r.total, agreed=r.agreed, percent=labels.percent(r.rate))
    )
    confusions = result.top_confusions()
    if confusions:
        lines += ["", labels.t("classifier_report.confusions")]
        lines += [
            labels.t(
                "classifier_report.confusion_line",
                classifier=area_name(labels, c.classifier),
                office=area_name(labels, c.office),
                count=c.count,
                examples="、".join(c.examples),
            )
            for c in confusions
        ]
    phrases = result.phrases[:TOP_PHRASES]
    if phrases:
        lines += ["", labels.t("classifier_report.phrases")]
        lines += [labels.t("classifier_report.phrase_line", phrase=p, count=n) for p, n in phrases]
    elif confusions:
        lines += ["", labels.t("classifier_report.no_phrases")]
    return "\n".join(lines)


# -- workbook -------------------------------------------------------------------------------------


def _value(ws: WriteOnlyWorksheet, value: Any) -> Any:
    if isinstance(value, str):
        text = ILLEGAL_CHARACTERS_RE.sub("", value)[:MAX_CELL_TEXT]
        cell = WriteOnlyCell(ws, value=text)
        cell.data_type = "s"  # cues and names are text, never a formula
        return cell
    return value


def _sheet(
    wb: Workbook,
    title: str,
    header: Sequence[str],
    rows: Iterable[Sequence[Any]],
    widths: Sequence[float],
    *,
    percent_columns: frozenset[int] = frozenset(),
) -> None:
    ws = wb.create_sheet(title[:31])  # Excel's limit for sheet names
    for i, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = "B2"
    cells = []
    for name in header:
        cell = WriteOnlyCell(ws, value=name)
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        cells.append(cell)
    ws.append(cells)
    for row in rows:
        out = []
        for i, value in enumerate(row):
            if i in percent_columns and value is not None:
                cell = WriteOnlyCell(ws, value=value)
                cell.number_format = PERCENT_FORMAT
                out.append(cell)
            else:
                out.append(_value(ws, value))
        ws.append(out)


def matrix_rows(result: ClassifierResult, labels: Labels) -> list[list[Any]]:
    """One row per classifier area: its name, then the count per office area, then the total."""
    r = result.report
    rows: list[list[Any]] = []
    for auto in r.areas:
        counts = [r.cell(auto, final) for final in r.areas]
        rows.append([area_name(labels, auto), *counts, sum(counts)])
    return rows


def classifier_workbook(result: ClassifierResult, labels: Labels) -> bytes:
    r = result.report
    wb = Workbook(write_only=True)
    names = [area_name(labels, a) for a in r.areas]
    p = labels.p
    _sheet(
        wb,
        p("classifier_report.sheet_matrix"),
        [p("classifier_report.col_corner"), *names, p("classifier_report.col_total")],
        matrix_rows(result, labels),
        [26, *[12.0] * len(names), 10],
    )
    _sheet(
        wb,
        p("classifier_report.sheet_areas"),
        [p(f"classifier_report.col_{k}") for k in ("area", "picked", "agreed", "rate")],
        [[area_name(labels, a.area), a.total, a.agreed, a.rate] for a in r.per_area],
        [26, 12, 12, 10],
        percent_columns=frozenset({3}),
    )  # fmt: skip
    _sheet(
        wb,
        p("classifier_report.sheet_confusions"),
        [p(f"classifier_report.col_{k}") for k in ("classifier", "office", "count", "examples", "cues")],
        [
            [area_name(labels, c.classifier), area_name(labels, c.office), c.count, "、".join(c.examples),
             "、".join(f"{cue}（{n}）" for cue, n in c.cues)]
            for c in r.confusions
        ],
        [26, 26, 8, 50, 50],
    )  # fmt: skip
    _sheet(
        wb,
        p("classifier_report.sheet_phrases"),
        [p("classifier_report.col_phrase"), p("classifier_report.col_count")],
        [[cue, n] for cue, n in result.phrases],
        [30, 10],
    )
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def classifier_bundle(result: ClassifierResult, labels: Labels) -> Report:
    """Text and workbook as a ``Report`` (what the chat and the CLI send or write)."""
    name = stem(result.period)
    title = labels.p("classifier_report.title", period=labels.period(result.period))
    data = classifier_workbook(result, labels)
    files = (ReportFile(f"{name}.xlsx", XLSX_MIME, data),)
    return Report(name, title, classifier_text(result, labels), None, files)
