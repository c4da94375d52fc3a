"""``python -m bot report {digest,scoreboard,export,yearend,classifier} [--period ...] [--now ...] [--area ID]
[--unit ID] [--year YYYY] --out DIR``: the office's reports as files, from cron or by hand.

- ``digest``: the digest text (``.txt`` and ``.html``), its chart (``.png``), its tables
  (``.xlsx`` and one ``.csv`` each). ``--period daily`` (default) or a single day gives the
  daily digest, ``weekly`` or a range of days the weekly one's contents.
- ``scoreboard``: the same four for the unit scoreboard (default: the whole campaign).
- ``export``: cases, events and the scoreboard as one ``.xlsx`` and three ``.csv`` (default:
  the whole campaign), without the complainants' identity, without a row limit.
- ``yearend``: the year-end assessment (``--year``, default the current one): every unit's
  composite and rank with the figures of each part (``.xlsx``), a printable ``.html`` page with
  the ranking chart and a line for each unit's signature, and the chart (``.png``).
- ``classifier``: where the classifier and the office disagree (issue 14): the text (``.txt``,
  ``.html``) and the workbook (confusion matrix, agreement by area, corrections, phrases;
  ``classifier-<period>.xlsx``), by default over the whole campaign.

Reads only (a read-only session); writes nothing to the database.
"""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from bot.cli.common import (
    EXIT_CONFIG,
    EXIT_OK,
    CliExit,
    SubCommand,
    configure_logging,
    ensure_schema_or_exit,
    load_plan_or_exit,
    load_settings,
    parse_now,
)
from bot.i18n import LANGUAGES, Catalogue
from bot.reports.build import Report, Reports, digest_kind_for
from bot.reports.classifier import classifier_bundle, read_classifier
from bot.reports.text import as_html_page, as_plain
from bot.reports.yearend import build_yearend, write_yearend
from bot.settings import Settings
from core.calendar import WorkingDays
from core.deadlines import DeadlineRules
from core.plan import Plan
from core.stats import PERIOD_WORDS, ExportFilter, Period, PeriodKind, parse_period
from core.unit_lookup import find_unit
from storage.db import make_engine, make_session_factory

WHAT = ("digest", "scoreboard", "export", "yearend", "classifier")
DEFAULT_PERIOD = {"digest": PeriodKind.DAILY.value, "scoreboard": PeriodKind.CAMPAIGN.value,
                  "export": PeriodKind.CAMPAIGN.value, "yearend": PeriodKind.CAMPAIGN.value,
                  "classifier": PeriodKind.CAMPAIGN.value}  # fmt: skip


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("what", choices=WHAT, help="which report")
    parser.add_argument(
        "--period",
        help=f"{', '.join(PERIOD_WORDS)}, YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD "
        "(default: daily for digest, campaign otherwise)",
    )
    parser.add_argument(
        "--now",
        metavar="ISO-TIME",
        help="as if it were this time, e.g. 2026-11-23T08:00:00+08:00 (without an offset: local "
        "time in TIMEZONE); default: the current time",
    )
    parser.add_argument("--year", type=int, help="yearend: the year assessed (default: the current one)")
    parser.add_argument("--area", help="only this area (its id in the plan, e.g. conduct)")
    parser.add_argument("--unit", help="only this unit (its id or name in the plan)")
    parser.add_argument("--lang", choices=LANGUAGES, default="zh", help="language of the report (default zh)")
    parser.add_argument("--out", required=True, type=Path, help="directory to write the files into")


@dataclass(frozen=True, slots=True)
class Options:
    what: str
    period: Period
    today: date
    area: str | None
    unit: str | None
    lang: str
    out: Path
    year: int | None = None


def _options(args: argparse.Namespace, settings: Settings, plan: Plan) -> Options:
    try:
        now = parse_now(args.now, settings) if args.now else datetime.now(settings.tz)
    except ValueError as exc:
        raise CliExit(f"--now: not an ISO time ({exc}); e.g. 2026-11-23T08:00:00+08:00", EXIT_CONFIG) from exc
    today = now.astimezone(settings.tz).date()
    try:
        period = parse_period(args.period or DEFAULT_PERIOD[args.what], today, plan.start)
    except ValueError as exc:
        raise CliExit(f"--period: {exc}", EXIT_CONFIG) from exc
    if args.area is not None and args.area not in {a.id for a in plan.areas}:
        known = ", ".join(a.id for a in plan.areas)
        raise CliExit(f"--area: no area {args.area!r} in the plan (areas: {known})", EXIT_CONFIG)
    unit = None
    if args.unit is not None:
        unit = find_unit(plan, args.unit)
        if unit is None:
            raise CliExit(f"--unit: no unit {args.unit!r} in the plan", EXIT_CONFIG)
    return Options(args.what, period, today, args.area, unit, args.lang, args.out, args.year)


def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    configure_logging(settings.log_level)
    plan = load_plan_or_exit(settings.plan_file, settings.campaign_start)
    options = _options(args, settings, plan)
    ensure_schema_or_exit(settings.database_url)
    written = asyncio.run(_report(settings, plan, options))
    for path in written:
        print(path)
    return EXIT_OK


async def _report(settings: Settings, plan: Plan, o: Options) -> list[Path]:
    engine = make_engine(settings.database_url)
    try:
        reports = Reports(
            make_session_factory(engine, read_only=True),
            plan,
            DeadlineRules(WorkingDays(), settings.tz),
            Catalogue.load(),
        )
        await asyncio.to_thread(o.out.mkdir, parents=True, exist_ok=True)
        if o.what == "yearend":
            rules = DeadlineRules(WorkingDays(), settings.tz)
            year = o.year or o.today.year
            yearend = await build_yearend(reports.session_factory, plan, rules, year, o.today)
            return await asyncio.to_thread(write_yearend, yearend, reports.labels(o.lang), o.out)
        if o.what == "export":
            report = await reports.export(
                ExportFilter(o.period, o.area, o.unit), o.today, o.out, lang=o.lang, xlsx=True, with_csv=True
            )
            return [f.path for f in report.files if f.path is not None]
        if o.what == "classifier":
            result = await read_classifier(reports.session_factory, plan, o.period, settings.tz)
            return await asyncio.to_thread(_write, classifier_bundle(result, reports.labels(o.lang)), o.out)
        if o.what == "scoreboard":
            report = await reports.scoreboard(
                o.period, o.today, area=o.area, unit=o.unit, lang=o.lang, with_csv=True
            )
        else:
            report = await reports.digest(
                digest_kind_for(o.period), o.today, period=o.period, lang=o.lang, with_csv=True
            )
        return await asyncio.to_thread(_write, report, o.out)
    finally:
        await engine.dispose()


def _write(report: Report, out: Path) -> list[Path]:
    written = []
    txt = out / f"{report.stem}.txt"
    txt.write_text(as_plain(report.text) + "\n", encoding="utf-8")
    page = out / f"{report.stem}.html"
    page.write_text(as_html_page(report.text, report.title), encoding="utf-8")
    written += [txt, page]
    for file in (report.chart, *report.files):
        if file is None:
            continue
        path = out / file.name
        path.write_bytes(file.read())
        written.append(path)
    return written


COMMAND = SubCommand("report", "write a digest, scoreboard or export as files", configure, run)
