"""Digest, scoreboard and public statistics as message text (HTML, from the catalogue).

Names (units, areas, targets as citizens wrote them) are escaped by the catalogue; numbers are
numbers. The public text holds aggregates only: counts and rates per area and unit, never a
case's text, a tracking number or a person.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from bot.i18n import Html, escape
from bot.reports.labels import Labels, plain
from core.campaign_work import CampaignWork
from core.reports import RecommendationStatus
from core.review import FindingSeverity
from core.stats import (
    HOTSPOT_MIN_CASES,
    CaseMetrics,
    Count,
    DailyDigest,
    DeliveryStatus,
    NoticeEntry,
    NoticeKind,
    PeriodStats,
    PublicStats,
    Scoreboard,
    ScoreRow,
    SelfReportStatus,
    WeeklyDigest,
)

# Telegram's limit is 4096 characters after parsing; the HTML source is longer, so this is safe.
MAX_MESSAGE = 4000
SCOREBOARD_LINES_IN_DIGEST = 8  # the weekly digest lists the busiest units; the XLSX has them all


def split_message(text: str, limit: int = MAX_MESSAGE) -> list[str]:
    """Cut a long text into messages at line breaks (a line never splits an HTML tag)."""
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:  # a single monstrous line: cut it hard
            if current:
                parts.append(current)
                current = ""
            parts.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            parts.append(current)
            current = line
        else:
            current = candidate
    if current:
        parts.append(current)
    return parts


def _items(labels: Labels, counts: Iterable[Count], name: Callable[[str | None], str]) -> Html:
    sep = labels.t("digest.item_separator")
    lines = [labels.t("digest.item", name=name(c.key), count=c.count) for c in counts]
    return Html(sep.join(lines) if lines else labels.t("digest.none"))


# -- daily ----------------------------------------------------------------------------------------


def daily_text(digest: DailyDigest, labels: Labels, *, escalate_after: int) -> str:
    t = labels.t
    w = digest.warnings
    lines = [
        t("digest.daily_title", date=labels.date(digest.today)),
        "",
        t("digest.new_header", period=labels.period(digest.period), count=digest.new_total),
    ]
    if digest.new_total:
        lines.append(t("digest.by_area", items=_items(labels, digest.new_by_area, labels.area)))
        lines.append(t("digest.by_unit", items=_items(labels, digest.new_by_unit, labels.unit)))
    lines += [
        "",
        t("digest.deadlines_header", date=labels.date(digest.today)),
        t("digest.red", count=w.red, supervised=w.supervised, escalated=w.escalated, days=escalate_after),
        t("digest.yellow", count=w.yellow),
        t("digest.blue", count=w.blue),
    ]
    if digest.warnings_by_unit:
        lines += ["", t("digest.units_header")]
        for u in digest.warnings_by_unit:
            c = u.warnings
            lines.append(
                t("digest.unit_warning", unit=labels.unit(u.unit), red=c.red, yellow=c.yellow, blue=c.blue)
            )
    return "\n".join(lines)


# -- weekly ---------------------------------------------------------------------------------------


def _change(labels: Labels, current: int, previous: int) -> Html:
    if not previous:
        return Html("")
    if current == previous:
        return labels.h("digest.change_same")
    percent = round(abs(current - previous) * 100 / previous)
    return labels.h("digest.change_up" if current > previous else "digest.change_down", percent=percent)


def _satisfaction_line(labels: Labels, m: CaseMetrics) -> str:
    return labels.t(
        "digest.satisfaction",
        answered=m.answered,
        satisfied=m.satisfied,
        basically=m.basically,
        unsatisfied=m.unsatisfied,
        no_response=m.no_response,
        pending=m.pending,
        rate=labels.rate(m.satisfaction_rate),
    )


def _notice_line(labels: Labels, e: NoticeEntry) -> str:
    common = {"tracking_no": e.tracking_no, "area": labels.area(e.area), "units": labels.units(e.lead_units)}
    if e.kind is NoticeKind.ESCALATED:
        return labels.t(
            "digest.escalated_line",
            **common,
            due=labels.date(e.due) if e.due else "—",
            overdue=e.overdue_days if e.overdue_days is not None else "—",
        )
    outcome = labels.p(f"export.outcome.{e.outcome}") if e.outcome else ""
    measure = labels.p(f"export.measure.{e.measure}") if e.measure else ""
    result = labels.p("cases.list_separator").join(x for x in (outcome, measure) if x)
    return labels.t("digest.typical_line", **common, result=result or "—")


def weekly_text(digest: WeeklyDigest, labels: Labels, *, escalate_after: int) -> str:
    t = labels.t
    m = digest.totals
    trend = digest.trend
    lines = [
        t("digest.weekly_title", period=labels.period(digest.period)),
        "",
        t(
            "digest.trend",
            count=trend.total,
            previous=trend.previous_total,
            change=_change(labels, trend.total, trend.previous_total),
        ),
        t("digest.on_time", sign_rate=labels.rate(m.sign_rate), answer_rate=labels.rate(m.answer_rate)),
        _satisfaction_line(labels, m),
        t("digest.reopen", rate=labels.rate(m.reopen_rate)),
        "",
    ]
    cov = digest.self_reports
    late = cov.with_status(SelfReportStatus.LATE)
    missing = cov.with_status(SelfReportStatus.MISSING)
    lines.append(
        t(
            "digest.self_reports",
            due=labels.date(cov.due) if cov.due else "—",
            coverage=labels.rate(cov.coverage),
            late=len(late),
            missing=len(missing),
        )
    )
    if missing:
        lines.append(t("digest.self_reports_missing", units=labels.units(u.unit for u in missing)))
    rect = digest.rectification
    statuses = Html(
        labels.t("digest.item_separator").join(
            t("digest.item", name=labels.p(f"digest.rec_status.{s.value}"), count=rect.by_status.get(s, 0))
            for s in RecommendationStatus
            if rect.by_status.get(s, 0)
        )
        or t("digest.none")
    )
    lines.append(t("digest.rectification", count=rect.recommendations, statuses=statuses))
    if rect.recommendations:
        lines.append(
            t(
                "digest.rectification_delivery",
                plan_on_time=rect.plans.get(DeliveryStatus.ON_TIME, 0),
                plan_late=rect.plans.get(DeliveryStatus.LATE, 0),
                plan_overdue=rect.plans.get(DeliveryStatus.OVERDUE, 0),
                report_on_time=rect.reports.get(DeliveryStatus.ON_TIME, 0),
                report_late=rect.reports.get(DeliveryStatus.LATE, 0),
                report_overdue=rect.reports.get(DeliveryStatus.OVERDUE, 0),
                rate=labels.rate(rect.on_time),
            )
        )
    lines += ["", t("digest.notices_header")]
    n = digest.notices
    lines.append(t("digest.escalated", days=escalate_after, count=n.escalated_total))
    lines += [_notice_line(labels, e) for e in n.escalated[:10]]
    if n.escalated_total > min(10, len(n.escalated)):
        lines.append(t("digest.more", count=n.escalated_total - min(10, len(n.escalated))))
    lines.append(t("digest.typical", count=n.typical_total))
    lines += [_notice_line(labels, e) for e in n.typical[:10]]
    if n.typical_total > min(10, len(n.typical)):
        lines.append(t("digest.more", count=n.typical_total - min(10, len(n.typical))))
    lines += ["", t("digest.hotspots_header", min=HOTSPOT_MIN_CASES)]
    if digest.hotspots:
        for h in digest.hotspots:
            target = (
                labels.unit(h.target_unit)
                if h.target_unit
                else labels.p("digest.as_written", text=h.target_text)
            )
            lines.append(t("digest.hotspot_line", target=target, area=labels.area(h.area), count=h.count))
    else:
        lines.append(t("digest.none"))
    busiest = sorted(
        (r for r in digest.scoreboard.rows if _active(r)),
        key=lambda r: (-r.cases.received - r.cases.answer_due, r.unit),
    )[:SCOREBOARD_LINES_IN_DIGEST]
    lines += ["", t("digest.scoreboard_header")]
    lines += [_score_line(labels, r) for r in busiest] or [t("digest.none")]
    return "\n".join(lines)


# -- scoreboard -----------------------------------------------------------------------------------


def _active(row: ScoreRow) -> bool:
    c = row.cases
    return bool(c.received or c.sign_due or c.answer_due or c.answered or row.rectification.recommendations)


def _score_line(labels: Labels, row: ScoreRow) -> str:
    c = row.cases
    return labels.t(
        "scoreboard.line",
        unit=labels.unit(row.unit),
        received=c.received,
        sign=labels.percent(c.sign_rate.rate),
        answer=labels.percent(c.answer_rate.rate),
        satisfaction=labels.percent(c.satisfaction_rate.rate),
        reopen=labels.percent(c.reopen_rate.rate),
        self_report=labels.p(f"scoreboard.self_report.{row.self_report.value}"),
        rectification=labels.percent(row.rectification.on_time.rate),
    )


def scoreboard_text(board: Scoreboard, labels: Labels) -> str:
    active = [r for r in board.rows if _active(r)]
    quiet = [r for r in board.rows if not _active(r)]
    lines = [labels.t("scoreboard.title", period=labels.period(board.period)), ""]
    lines += [_score_line(labels, r) for r in active] or [labels.t("digest.none")]
    if quiet:
        lines += [
            "",
            labels.t("scoreboard.quiet", count=len(quiet), units=labels.units(r.unit for r in quiet)),
        ]
    lines += ["", labels.t("scoreboard.legend")]
    return "\n".join(lines)


# -- public /stats --------------------------------------------------------------------------------


def _public_row(labels: Labels, name: str, m: CaseMetrics) -> str:
    return labels.t(
        "stats.row",
        name=name,
        received=m.received,
        answer_rate=labels.rate(m.answer_rate),
        satisfaction_rate=labels.rate(m.satisfaction_rate),
    )


def _has_figures(m: CaseMetrics) -> bool:
    return bool(m.received or m.answer_due or m.rated)


def _public_section(labels: Labels, header: str, s: PeriodStats) -> list[str]:
    m = s.total
    lines = [
        header,
        labels.t(
            "stats.total_line",
            received=m.received,
            answer_rate=labels.rate(m.answer_rate),
            satisfaction_rate=labels.rate(m.satisfaction_rate),
        ),
    ]
    areas: Sequence[CaseMetrics] = [a for a in s.by_area if _has_figures(a)]
    units: Sequence[CaseMetrics] = [u for u in s.by_unit if _has_figures(u)]
    if areas:
        lines.append(labels.t("stats.by_area"))
        lines += [_public_row(labels, labels.area(a.key), a) for a in areas]
    if units:
        lines.append(labels.t("stats.by_unit"))
        lines += [_public_row(labels, labels.unit(u.key), u) for u in units]
    return lines


def public_text(stats: PublicStats, labels: Labels) -> str:
    """/stats: aggregates only (SPEC §4.3)."""
    week, campaign = stats.week, stats.campaign
    lines = [labels.t("stats.title", date=labels.date(stats.today)), ""]
    lines += _public_section(
        labels,
        labels.t("stats.week", first=labels.date(week.period.first), last=labels.date(week.period.last)),
        week,
    )
    lines.append("")
    lines += _public_section(
        labels, labels.t("stats.campaign", first=labels.date(campaign.period.first)), campaign
    )
    lines += ["", labels.t("stats.footer")]
    return "\n".join(lines)


def as_plain(text: str) -> str:
    """A message text for a .txt file."""
    return plain(text)


def as_html_page(text: str, title: str) -> str:
    """A message text as a small HTML page (line breaks kept)."""
    body = text.replace("\n", "<br>\n")
    return (
        '<!DOCTYPE html>\n<html lang="zh"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title></head>\n<body>\n{body}\n</body></html>\n"
    )


MAX_OVERDUE_MEASURES = 10  # listed by name in the digest; the rest are counted


def campaign_work_text(work: CampaignWork, labels: Labels) -> str:
    """The weekly digest's section on review inspections, good practices and long-term
    measures (core.campaign_work); empty while the campaign has none of them."""
    if work.empty:
        return ""
    t = labels.t
    severities = Html(
        labels.t("digest.item_separator").join(
            t("digest.item", name=labels.p(f"review.severity_{s.value}"), count=work.by_severity[s])
            for s in FindingSeverity
            if work.by_severity.get(s)
        )
        or t("digest.none")
    )
    lines = [
        t("digest.work.header"),
        t(
            "digest.work.review",
            inspections=work.inspections,
            units=work.units_inspected,
            findings=work.findings,
            severities=severities,
        ),
        t("digest.work.unrectified", count=work.findings_unrectified),
        t("digest.work.practices", recorded=work.practices_recorded, shared=work.practices_shared),
        t(
            "digest.work.measures",
            done=work.measures_done,
            open=work.measures_open,
            overdue=len(work.overdue),
        ),
    ]
    lines += [
        t(
            "digest.work.overdue_item",
            unit=labels.unit(m.unit_id),
            measure_id=m.id or "",
            title=m.title,
            due=labels.date(m.due),
        )
        for m in work.overdue[:MAX_OVERDUE_MEASURES]
    ]
    if len(work.overdue) > MAX_OVERDUE_MEASURES:
        lines.append(t("digest.work.more", count=len(work.overdue) - MAX_OVERDUE_MEASURES))
    return "\n".join(lines)
