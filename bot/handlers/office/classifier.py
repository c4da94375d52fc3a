"""``/classifier [period]`` (office, issue 14): where the classifier and the office disagree.

The reply is a short text (decided cases, the agreement rate, the top confusions area → area,
the phrases most often in disagreement) and the workbook as a document. Default period: the
whole campaign. The rows carry tracking numbers only, never who complained.
"""

from __future__ import annotations

from telegram import InputFile, Update

from bot.context import BotContext, roles_of
from bot.handlers.office.access import command_text, office_only
from bot.replies import reply
from bot.reports.classifier import classifier_bundle, read_classifier
from bot.reports.job import reports_for
from bot.reports.text import split_message
from core.stats import PeriodKind, parse_period

MAX_ECHOED = 40


@office_only
async def classifier_command(update: Update, context: BotContext, user_id: int, lang: str) -> None:
    deps = context.deps
    today = deps.services.deadlines.local_date(deps.clock.now())
    word = command_text(update).strip() or PeriodKind.CAMPAIGN.value
    try:
        period = parse_period(word, today, deps.plan.start)
    except ValueError:
        shown = word if len(word) <= MAX_ECHOED else word[: MAX_ECHOED - 1] + "…"
        await reply(update, context, deps.catalogue.t(lang, "classifier_report.bad_period", text=shown))
        return
    reports = reports_for(deps)
    # as /export: a street's office reports on its own campaign's cases, the district's on all
    scope = (await roles_of(context, user_id)).office_scope
    result = await read_classifier(
        reports.session_factory, deps.plan, period, reports.tz, campaign=scope or None
    )
    report = classifier_bundle(result, reports.labels(lang))
    for part in split_message(report.text):
        await reply(update, context, part)
    chat = update.effective_chat
    if chat is None:
        return
    for file in report.files:
        await context.bot.send_document(
            chat.id, InputFile(file.read(), filename=file.name), caption=report.title
        )
