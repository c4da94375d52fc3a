"""The year-end report (年终绩效评估, issue 14): every unit's composite score and rank for a
year, each part with the figures it rests on, as a workbook, a printable HTML page with the
ranking chart, and the chart alone. ``python -m bot report yearend --year 2014 --out DIR``.

The figures are the scoreboard's for the year (storage.stats, the chat's /scoreboard), so each
traces back to cases and reports; accountability records are counted by the day they were
recorded. The page is signed off under the office's name; each unit's line carries the names
of its 一把手 and 分管领导 bound during the year (``/invite UNIT 一把手``), who sign it.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from matplotlib.figure import Figure
from openpyxl import Workbook
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.reports.charts import _empty, _png, _wrap
from bot.reports.labels import Labels
from core.assessment import Part, UnitAssessment, assess
from core.deadlines import DeadlineRules
from core.directory import LEADER_ROLES, InviteRole, leader_names
from core.measures import GoodPractice, Measure, UnitMeasures, tally  # 长效机制, 推介典型 (issue 14)
from core.plan import Plan
from core.review import FindingSeverity, latest_acceptance  # 复核检查, 验收 (issue 14)
from core.stats import Period, PeriodKind
from storage.repositories.directory import SqlLeaderRepository
from storage.repositories.practices import SqlPracticeRepository
from storage.repositories.reports import SqlReportRepository
from storage.repositories.review import SqlReviewRepository  # 复核检查, 验收 (issue 14)
from storage.stats import StatsReader


@dataclass(frozen=True, slots=True)
class YearEnd:
    year: int
    period: Period
    today: date
    ranking: tuple[UnitAssessment, ...]
    # unit → role → name of the 一把手 / 分管领导 who held it during the year (none bound: absent)
    leaders: dict[str, dict[InviteRole, str]] = field(default_factory=dict)
    # 长效机制 due or proposed in the year, their tally per unit (done / total without the
    # dropped, overdue at ``today``), and the 特色做法 recorded in the year (issue 14)
    measures: tuple[Measure, ...] = ()
    measure_tally: dict[str, UnitMeasures] = field(default_factory=dict)
    practices: tuple[GoodPractice, ...] = ()
    # 验收 (issue 14): each unit's acceptance as it stands at the end of the year: True accepted,
    # False 不予验收, absent not decided; and whether the campaign was accepted as a whole
    acceptance: dict[str, bool] = field(default_factory=dict)
    campaign_accepted: bool = False


async def build_yearend(
    session_factory: async_sessionmaker[AsyncSession],
    plan: Plan,
    rules: DeadlineRules,
    year: int,
    today: date,
) -> YearEnd:
    last = min(date(year, 12, 31), today)
    period = Period(date(year, 1, 1), max(last, date(year, 1, 1)), PeriodKind.RANGE)
    start = datetime(year, 1, 1, tzinfo=rules.tz).astimezone(UTC)
    end = datetime(year + 1, 1, 1, tzinfo=rules.tz).astimezone(UTC)
    async with session_factory() as session:
        board = await StatsReader(session, rules, plan).scoreboard(period, today)
        records = await SqlReportRepository(session).list_accountability()
        bindings = await SqlLeaderRepository(session).list_all()
        all_measures = await SqlPracticeRepository(session).list_measures()
        all_practices = await SqlPracticeRepository(session).list_practices()
        review = SqlReviewRepository(session)  # issue 14
        inspections = {i.id: i.inspected_on for i in await review.list_inspections()}
        findings = await review.list_findings()
        acceptances = await review.list_unit_acceptances()
        campaign = await review.latest_campaign_acceptance()
    counts: dict[str, int] = {}
    for record in records:
        if start <= record.recorded_at < end:
            counts[record.unit_id] = counts.get(record.unit_id, 0) + 1
    # 复核检查 findings count in the year of their inspection (issue 14)
    severities: dict[str, list[FindingSeverity]] = {}
    for finding in findings:
        day = inspections.get(finding.inspection_id)
        if day is not None and day.year == year:
            severities.setdefault(finding.unit_id, []).append(finding.severity)
    decided = latest_acceptance(a for a in acceptances if a.decided_at < end)
    ranking = tuple(assess(board.rows, counts, plan.assessment, severities))
    measures = tuple(m for m in all_measures if m.due.year == year or start <= m.created_at < end)
    practices = tuple(p for p in all_practices if start <= p.recorded_at < end)
    return YearEnd(
        year,
        period,
        today,
        ranking,
        leader_names(bindings, start, end),
        measures=measures,
        measure_tally=tally(measures, last, rules.wd),
        practices=practices,
        acceptance={u: a.accepted for u, a in decided.items()},
        campaign_accepted=campaign is not None and campaign.decided_at < end,
    )


def _measures_line(labels: Labels, report: YearEnd, unit: str) -> str:
    """The unit's 长效机制 done / total and 特色做法 count, for its line in the ranking."""
    counted = report.measure_tally.get(unit)
    done, total = (counted.done, counted.total) if counted else (0, 0)
    count = sum(1 for p in report.practices if p.unit_id == unit)
    return (
        labels.p("practices.yearend_measures", done=done, total=total)
        + labels.p("cases.list_separator")
        + labels.p("practices.yearend_practices", count=count)
        + labels.p("cases.list_separator")
        + _acceptance_label(labels, report, unit)  # 验收 (issue 14)
    )


def _acceptance_label(labels: Labels, report: YearEnd, unit: str) -> str:
    accepted = report.acceptance.get(unit)
    if accepted is None:
        return labels.p("review.yearend_not_decided")
    return labels.p("review.yearend_accepted" if accepted else "review.yearend_refused")


def _measure_sheets(book: Workbook, report: YearEnd, labels: Labels) -> None:
    """Two sheets: every measure of the year (status, due, files), every practice."""
    sheet = book.create_sheet(labels.p("practices.sheet_measures"))
    sheet.append(
        [labels.p(f"practices.col_{c}") for c in ("unit", "title", "status", "due", "updated", "files")]
    )
    for m in report.measures:
        updated = labels.local(m.updated_at or m.created_at)
        status = labels.p(f"practices.status.{m.status.value}")
        sheet.append([labels.unit(m.unit_id), m.title, status, m.due, updated, len(m.evidence)])
    sheet = book.create_sheet(labels.p("practices.sheet_practices"))
    sheet.append(
        [labels.p(f"practices.col_{c}") for c in ("unit", "title", "text", "cases", "recorded", "shared")]
    )
    for p in report.practices:
        cases = " ".join(p.case_numbers)
        row = [labels.unit(p.unit_id), p.title, p.description, cases, labels.local(p.recorded_at)]
        sheet.append([*row, labels.local(p.shared_at)])


def _basis(labels: Labels, part: Part, assessment: UnitAssessment) -> str:
    scored = assessment.part(part)
    if scored.basis is None:
        return labels.p("yearend.nothing_to_rate")
    if part is Part.ACCOUNTABILITY:
        return labels.p("yearend.records", count=scored.basis.num)
    if part is Part.REVIEW:  # issue 14
        return labels.p("review.yearend_findings", count=scored.basis.num)
    return f"{scored.basis.num}/{scored.basis.den}"


def workbook(report: YearEnd, labels: Labels, parts: Sequence[Part]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = labels.p("yearend.sheet_ranking")
    head = [labels.p("yearend.col_rank"), labels.p("yearend.col_unit"), labels.p("yearend.col_composite")]
    for part in parts:
        head += [labels.p(f"yearend.part.{part.value}"), labels.p("yearend.col_basis")]
    head += [labels.p(f"role.{role.value}") for role in LEADER_ROLES]
    head.append(labels.p("review.yearend_col_acceptance"))  # issue 14
    sheet.append(head)
    for a in report.ranking:
        row: list[object] = [a.rank, labels.unit(a.unit), a.composite]
        for part in parts:
            row += [round(a.part(part).points, 2), _basis(labels, part, a)]
        row += [report.leaders.get(a.unit, {}).get(role, "") for role in LEADER_ROLES]
        row.append(_acceptance_label(labels, report, a.unit))  # 验收 (issue 14)
        sheet.append(row)
    weights = book.create_sheet(labels.p("yearend.sheet_weights"))
    weights.append([labels.p("yearend.col_part"), labels.p("yearend.col_weight")])
    for part, weight in ((p.part, p.weight) for p in (report.ranking[0].parts if report.ranking else ())):
        weights.append([labels.p(f"yearend.part.{part.value}"), weight])
    _measure_sheets(book, report, labels)  # issue 14
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def chart(report: YearEnd, labels: Labels) -> bytes:
    ranked = list(report.ranking)

    def draw(fig: Figure) -> None:
        ax = fig.subplots()
        ax.set_title(labels.p("yearend.chart_title", year=report.year))
        if not ranked:
            _empty(ax, labels.p("digest.none"))
            return
        names = [_wrap(labels.unit(a.unit), 12) for a in ranked][::-1]
        values = [a.composite for a in ranked][::-1]
        ax.barh(names, values, color="#1f3b63")
        ax.set_xlim(0, 100)
        for y, value in enumerate(values):
            ax.text(value + 1, y, f"{value:.1f}", va="center", fontsize=8)

    return _png(draw, (8.0, max(3.0, 0.35 * len(ranked) + 1)))


def page(report: YearEnd, labels: Labels, parts: Sequence[Part], png: bytes) -> str:
    e = html.escape
    head = "".join(f"<th>{e(labels.p(f'yearend.part.{p.value}'))}</th>" for p in parts)
    rows = []
    for a in report.ranking:
        cells = "".join(
            f"<td class=num>{a.part(p).points:.1f}<br><small>{e(_basis(labels, p, a))}</small></td>"
            for p in parts
        )
        held = report.leaders.get(a.unit, {})
        names = "<br>".join(
            f"<small>{e(labels.p(f'role.{role.value}'))}</small> {e(held[role])}"
            for role in LEADER_ROLES
            if role in held
        )
        rows.append(
            f"<tr><td class=num>{a.rank}</td><td>{e(labels.unit(a.unit))}</td>"
            f"<td class=num><b>{a.composite:.1f}</b></td>{cells}"
            f"<td><small>{e(_measures_line(labels, report, a.unit))}</small></td>"  # issue 14
            f"<td class=sign>{names}</td></tr>"
        )
    weights = labels.p("cases.list_separator").join(
        f"{labels.p(f'yearend.part.{p.part.value}')} {p.weight}"
        for p in (report.ranking[0].parts if report.ranking else ())
    )
    title = labels.p("yearend.title", year=report.year)
    first, last = labels.date(report.period.first), labels.date(report.period.last)
    span = labels.p("yearend.period", first=first, last=last)
    chart_src = "data:image/png;base64," + base64.b64encode(png).decode()
    return f"""<!doctype html>
<html lang="{"zh-CN" if labels.lang == "zh" else "en"}"><head><meta charset="utf-8"><title>{e(title)}</title>
<style>
body {{ font-family: "Noto Sans CJK SC", sans-serif; margin: 2rem; color: #1c2733; }}
table {{ border-collapse: collapse; width: 100%; font-size: 10pt; }}
th, td {{ border: 1px solid #999; padding: .25rem .4rem; vertical-align: top; }}
th {{ background: #eef2f7; }} td.num {{ text-align: right; }} td.sign {{ width: 7rem; }}
small {{ color: #556; }} @media print {{ body {{ margin: 1cm; }} img {{ max-width: 100%; }} }}
</style></head><body>
<h1>{e(title)}</h1>
<p>{e(span)}</p>
<p>{e(labels.p("yearend.weights", weights=weights))}</p>
<table><thead><tr><th>{e(labels.p("yearend.col_rank"))}</th><th>{e(labels.p("yearend.col_unit"))}</th>
<th>{e(labels.p("yearend.col_composite"))}</th>{head}<th>{e(labels.p("practices.sheet_measures"))}</th>
<th>{e(labels.p("yearend.col_sign"))}</th></tr></thead>
<tbody>{"".join(rows)}</tbody></table>
<p><img src="{chart_src}" alt="{e(labels.p("yearend.chart_title", year=report.year))}"></p>
<p>{e(labels.p("yearend.note"))}</p>
<p>{e(labels.p("yearend.signed", date=labels.date(report.today)))}</p>
</body></html>
"""


def write_yearend(report: YearEnd, labels: Labels, out: Path) -> list[Path]:
    parts = [p.part for p in report.ranking[0].parts] if report.ranking else []
    stem = f"yearend-{report.year}"
    png = chart(report, labels)
    files = {
        out / f"{stem}.xlsx": workbook(report, labels, parts),
        out / f"{stem}.png": png,
        out / f"{stem}.html": page(report, labels, parts, png).encode(),
    }
    for path, content in files.items():
        path.write_bytes(content)
    return list(files)
