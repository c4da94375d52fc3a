"""Rectification (整改, SPEC §5, §6) in the bot: three dialogs and a button.

``issue``: the office issues a recommendation (整改建议书), ``/rectify UNIT_ID`` (private chat)::

    PROBLEMS → PLAN_DUE → REPORT_DUE → CONFIRM       buttons rx:day:<step>:<YYYY-MM-DD>,
                                                    rx:back:<step>, rx:keep:<step>,
                                                    rx:cancel, rx:confirm

``answer``: the unit answers, ``/rectification`` or the button under the recommendation (``rc:open:<id>``)::

    PICK (its open recommendations) → TEXT → FILE → CONFIRM
                                                    buttons rc:pick:<id>, rc:back:<step>,
                                                    rc:keep:<step>, rc:cancel, rc:confirm

``review``: the office reviews every submitted report (rectification plans and reports, and the
self-inspection reports too) from the buttons under it in the office chat:
``rq:accept:<report_id>`` accepts at once; ``rq:back:<report_id>`` asks for the reason (a reply
to the bot's question, which reaches the bot in a group with privacy mode on) and sends it back.

Roles are checked when a dialog starts and on every button; the services check them again in
their transaction, and a recommendation or report id of another unit is answered like one that
does not exist, whatever the button data says. What the three share (the turn, drafts in
``user_data``, stale buttons, timeouts) is in ``talk``.
"""

from __future__ import annotations

from typing import Any

from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from bot.context import BotContext
from bot.dialogs.rectification import answer, issue, review
from bot.dialogs.rectification.answer import ANSWER_KEY, ANSWER_NAME, ANSWER_PREFIX, AnswerDraft
from bot.dialogs.rectification.issue import ISSUE_KEY, ISSUE_NAME, ISSUE_PREFIX, IssueDraft, parse_day
from bot.dialogs.rectification.review import REVIEW_KEY, REVIEW_NAME, ReviewDraft
from bot.dialogs.rectification.talk import TIMEOUT_MINUTES, stale_button
from core.services.reports import CALLBACK_ACCEPT

__all__ = [
    "ANSWER_KEY",
    "ANSWER_NAME",
    "ANSWER_PREFIX",
    "ISSUE_KEY",
    "ISSUE_NAME",
    "ISSUE_PREFIX",
    "REVIEW_KEY",
    "REVIEW_NAME",
    "TIMEOUT_MINUTES",
    "AnswerDraft",
    "IssueDraft",
    "ReviewDraft",
    "handlers",
    "parse_day",
]


def handlers(*, persistent: bool, private: filters.BaseFilter) -> list[BaseHandler[Any, BotContext, Any]]:
    """The three dialogs and the accept button, in registration order."""
    return [
        issue.conversation(persistent=persistent, private=private),
        CommandHandler("rectify", issue.rectify_in_group, filters=~filters.ChatType.PRIVATE),
        answer.conversation(persistent=persistent, private=private),
        review.send_back_conversation(persistent=persistent),
        CallbackQueryHandler(review.review_accept, pattern=rf"^{CALLBACK_ACCEPT}\d+\Z"),
        # review buttons with data we never made (forged or mangled): a clear answer
        CallbackQueryHandler(stale_button, pattern=r"^(rq|rc|rx):"),
    ]
