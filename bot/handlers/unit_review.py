"""复核检查 and 验收, the liaison's side: ``/my_review`` shows its own unit's review findings
(severity, facts, the 整改建议书 each became) and its acceptance (private chat). The notices
of new findings and of the acceptance come through the outbox (core/services/review.py)."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatType

from bot.context import BotContext
from bot.error_replies import error_text
from bot.handlers.cases import formatter
from bot.handlers.office.review import review_service
from bot.i18n import Html
from bot.language import user_language
from bot.replies import reply
from core.errors import DomainError


async def my_review_command(update: Update, context: BotContext) -> None:
    """/my_review: the liaison's unit's findings and acceptance (others: the service refuses)."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None or chat.type != ChatType.PRIVATE:
        return
    deps = context.deps
    lang = await user_language(update, context)
    try:
        state = await review_service(deps).own_unit(user.id)
    except DomainError as error:
        await reply(update, context, error_text(deps, lang, error))
        return
    fmt = formatter(deps, lang)
    if not state.inspected and state.acceptance is None:
        await reply(update, context, fmt.t("review.card_none"))
        return
    if state.acceptance is None:
        accepted = fmt.t("review.status_not_decided")
    elif state.accepted:
        accepted = fmt.t("review.status_accepted")
    else:
        accepted = fmt.t("review.status_refused") + f"（{state.acceptance.note}）"
    lines = [
        fmt.t(
            "review.card_line",
            inspections=state.inspections,
            findings=len(state.findings),
            rectified=sum(1 for f in state.findings if f.recommendation_id is not None),
            accepted=accepted,
        )
    ]
    for f in state.findings:
        line = fmt.t(
            "review.card_finding",
            finding_id=f.id,
            severity=Html(fmt.t(f"review.severity_{f.severity.value}")),
            facts=f.facts[:300],
        )
        if f.recommendation_id is not None:
            line += " " + fmt.t("review.card_rectification", recommendation_id=f.recommendation_id)
        lines.append(line)
    await reply(update, context, "\n".join(lines))
