"""Statistics in the chat: the public ``/stats`` (SPEC §4.3) and the office's ``/digest``,
``/scoreboard`` and ``/export`` (SPEC §6).

``/stats`` is for everyone and shows totals only (counts and rates per area and unit, never a
case's text or a person); it is cached for five minutes so a crowd asking at once costs one query
set. The office commands check the caller's role first, then answer with the text, the chart
as a photo and the workbook (or CSV files) as documents. Arguments, in any order: a period
(``daily``, ``weekly``, ``this_week``, ``campaign``, ``YYYY-MM-DD`` or
``YYYY-MM-DD..YYYY-MM-DD``), an area id, a unit (id or name), and ``csv``.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from telegram import InputFile, Update

from bot.context import BotContext, Deps, roles_of
from bot.i18n import escape
from bot.language import user_language
from bot.replies import reply
from bot.reports.build import ExportTooLarge, Report, digest_kind_for
from bot.reports.job import reports_for
from bot.reports.text import split_message
from core.plan import Plan, UnknownPlanId
from core.stats import ExportFilter, Period, PeriodKind, PublicStats, parse_period

log = logging.getLogger(__name__)

PUBLIC_CACHE_SECONDS = 300.0  # campaign-long totals are a full aggregation; minutes-old is fine
# A chat export holds at most this many rows (cases + events): Telegram takes documents up to
# 50 MB, and an office member wants a file, not a wait. The CLI has no limit.
MAX_CHAT_EXPORT_ROWS = 200_000
MAX_ECHOED = 40

# (database, day) -> (monotonic time, statistics); one lock per key so a crowd waits for one query
_public_cache: dict[tuple[str, date], tuple[float, PublicStats]] = {}
_public_locks: dict[tuple[str, date], asyncio.Lock] = {}


def _today(deps: Deps) -> date:
    return deps.services.deadlines.local_date(deps.clock.now())


# -- arguments ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReportArgs:
    period: Period
    area: str | None = None
    unit: str | None = None
    csv: bool = False


class BadArgument(ValueError):
    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


def _unit_id(plan: Plan, typed: str) -> str | None:
    try:
        return plan.unit(typed).id
    except UnknownPlanId:
        unit = plan.units_by_name().get(typed)
        return unit.id if unit is not None else None


def parse_args(tokens: Sequence[str], *, today: date, plan: Plan, default: str) -> ReportArgs:
    """Period, area, unit and ``csv`` in any order; raises BadArgument for anything else."""
    period = parse_period(default, today, plan.start)
    area = unit = None
    csv = False
    areas = {a.id for a in plan.areas}
    for token in tokens:
        word = token.strip()
        if not word:
            continue
        if word.lower() == "csv":
            csv = True
        elif word in areas:
            area = word
        elif (found := _unit_id(plan, word)) is not None:
            unit = found
        else:
            try:
                period = parse_period(word, today, plan.start)
            except ValueError:
                raise BadArgument(word) from None
    return ReportArgs(period, area, unit, csv)


def _short(text: str) -> str:
    return text if len(text) <= MAX_ECHOED else text[: MAX_ECHOED - 1] + "…"


# -- public /stats ------------------------------------------------------------------------------


async def public_stats(deps: Deps, today: date) -> PublicStats:
    """The public figures, computed at most once per PUBLIC_CACHE_SECONDS, database and day."""
    key = (deps.settings.database_url, today)
    lock = _public_locks.setdefault(key, asyncio.Lock())
    async with lock:
        cached = _public_cache.get(key)
        if cached is not None and time.monotonic() - cached[0] < PUBLIC_CACHE_SECONDS:
            return cached[1]
        stats = await reports_for(deps).public_stats(today)
        for old in [k for k in _public_cache if k[1] != today]:  # yesterday's are of no use
            _public_cache.pop(old, None)
            _public_locks.pop(old, None)
        _public_cache[key] = (time.monotonic(), stats)
        return stats


async def stats_command(update: Update, context: BotContext) -> None:
    """/stats: this week's and the campaign's totals, by area and by unit, for everyone."""
    deps = context.deps
    lang = await user_language(update, context)
    stats = await public_stats(deps, _today(deps))
    for part in split_message(reports_for(deps).public_text(stats, lang)):
        await reply(update, context, part)


# -- office commands ------------------------------------------------------------------------------


async def _office_or_refuse(update: Update, context: BotContext, lang: str) -> bool:
    user = update.effective_user
    if user is None:
        return False
    if (await roles_of(context, user.id)).office:
        return True
    await reply(update, context, context.deps.catalogue.t(lang, "digest.office_only"))
    return False


async def _office_scope(update: Update, context: BotContext) -> str | None:
    """The campaign a street's office member's reports cover; None for the district's office."""
    user = update.effective_user
    assert user is not None  # _office_or_refuse
    return (await roles_of(context, user.id)).office_scope or None


async def _args_or_explain(
    update: Update, context: BotContext, lang: str, default: str, usage_key: str
) -> ReportArgs | None:
    deps = context.deps
    try:
        return parse_args(list(context.args or []), today=_today(deps), plan=deps.plan, default=default)
    except BadArgument as bad:
        text = deps.catalogue.t(lang, "digest.bad_arg", text=_short(bad.text))
        await reply(update, context, text + "\n\n" + deps.catalogue.t(lang, usage_key))
        return None


async def send_report(update: Update, context: BotContext, report: Report) -> None:
    """The text, then the chart as a photo, then each file as a document."""
    chat = update.effective_chat
    if chat is None:
        return
    for part in split_message(report.text):
        await reply(update, context, part)
    caption = str(escape(report.title))
    if report.chart is not None:
        await context.bot.send_photo(
            chat.id, InputFile(report.chart.read(), filename=report.chart.name), caption=caption
        )
    for file in report.files:
        await context.bot.send_document(chat.id, InputFile(file.read(), filename=file.name), caption=caption)


async def digest_command(update: Update, context: BotContext) -> None:
    """/digest [period] (office): yesterday's daily digest, or the weekly one for ``weekly`` or
    a range of several days."""
    deps = context.deps
    lang = await user_language(update, context)
    if not await _office_or_refuse(update, context, lang):
        return
    args = await _args_or_explain(update, context, lang, PeriodKind.DAILY.value, "digest.usage")
    if args is None:
        return
    await reply(update, context, deps.catalogue.t(lang, "digest.working"))
    kind = digest_kind_for(args.period)
    # "weekly" and a range of days report on that period; "daily" and one day on that day;
    # a street's office gets its own campaign's, the district's office the whole district's
    report = await reports_for(deps).digest(
        kind, _today(deps), period=args.period, lang=lang, with_csv=args.csv,
        campaign=await _office_scope(update, context),
    )  # fmt: skip
    await send_report(update, context, report)


async def scoreboard_command(update: Update, context: BotContext) -> None:
    """/scoreboard [period] [area] [unit] [csv] (office): 绩效评估, by default the campaign's."""
    deps = context.deps
    lang = await user_language(update, context)
    if not await _office_or_refuse(update, context, lang):
        return
    args = await _args_or_explain(update, context, lang, PeriodKind.CAMPAIGN.value, "scoreboard.usage")
    if args is None:
        return
    report = await reports_for(deps).scoreboard(
        args.period, _today(deps), area=args.area, unit=args.unit, lang=lang, with_csv=args.csv,
        campaign=await _office_scope(update, context),
    )  # fmt: skip
    await send_report(update, context, report)


async def export_command(update: Update, context: BotContext) -> None:
    """/export [period] [area] [unit] [csv] (office): cases, events and the scoreboard as one
    XLSX (or three CSV files). Never the complainants' identity."""
    deps = context.deps
    lang = await user_language(update, context)
    if not await _office_or_refuse(update, context, lang):
        return
    args = await _args_or_explain(update, context, lang, PeriodKind.CAMPAIGN.value, "export.usage")
    if args is None:
        return
    await reply(update, context, deps.catalogue.t(lang, "digest.working"))
    # a street's office exports its own campaign's cases, the district's every case
    flt = ExportFilter(args.period, args.area, args.unit, campaign=await _office_scope(update, context))
    with tempfile.TemporaryDirectory(prefix="export-") as tmp:
        try:
            report = await reports_for(deps).export(
                flt,
                _today(deps),
                Path(tmp),
                lang=lang,
                xlsx=not args.csv,
                with_csv=args.csv,
                max_rows=MAX_CHAT_EXPORT_ROWS,
            )
        except ExportTooLarge as too_large:
            text = deps.catalogue.t(lang, "export.too_large", rows=too_large.rows, max=too_large.limit)
            await reply(update, context, text)
            return
        chat = update.effective_chat
        assert chat is not None
        for file in report.files:
            data = await asyncio.to_thread(file.read)
            await context.bot.send_document(chat.id, InputFile(data, filename=file.name), caption=report.text)
