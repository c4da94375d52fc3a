"""Following one's cases (SPEC §4.3): ``/my``, ``/case <tracking number>``, a tracking number sent
as plain text, and the ``case:`` buttons.

Nobody sees a case that is not theirs: every lookup goes through ``ComplaintService`` with the
caller's own user id, and its "not found" for someone else's case is answered exactly like a
case that does not exist. Callback data is parsed strictly; anything malformed gets the
stale-button answer. Private chats only, so a case never appears in a group.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatType
from telegram.error import BadRequest
from telegram.ext import filters

from bot.case_view import CaseFormatter
from bot.context import BotContext, Deps
from bot.i18n import Html
from bot.language import user_language
from bot.replies import reply
from core.errors import NotFound, ValidationFailed
from core.services.complaints import CitizenCaseView
from core.tracking import parse_tracking_no

log = logging.getLogger(__name__)

PAGE_SIZE = 10
MAX_PAGE = 9_999
MAX_ECHOED = 40  # characters of a bad tracking number echoed back
MAX_TRACKING_TEXT = 40  # longer texts are not tracking numbers (a full-width one is 14 characters)

CALLBACK_PREFIX = "case:"
# Everything under "case:" comes here, malformed data included, so it gets a clear answer.
CALLBACK_PATTERN = rf"^{CALLBACK_PREFIX}"
_VIEW = re.compile(r"case:view:([1-9][0-9]{0,11})(?::([0-9]{1,4}))?", re.ASCII)
_PAGE = re.compile(r"case:page:([0-9]{1,4})", re.ASCII)


def view_data(case_id: int, page: int | None = None) -> str:
    return f"{CALLBACK_PREFIX}view:{case_id}" if page is None else f"{CALLBACK_PREFIX}view:{case_id}:{page}"


def page_data(page: int) -> str:
    return f"{CALLBACK_PREFIX}page:{page}"


@dataclass(frozen=True, slots=True)
class ViewCase:
    case_id: int
    # the list page the button was on; None for a button under a notice, whose message is kept
    from_page: int | None


@dataclass(frozen=True, slots=True)
class ShowPage:
    page: int


def parse_callback(data: str | None) -> ViewCase | ShowPage | None:
    """The button's request, or None for anything we did not make (old, truncated, forged)."""
    if data is None:
        return None
    if m := _VIEW.fullmatch(data):
        page = min(int(m.group(2)), MAX_PAGE) if m.group(2) else None
        return ViewCase(int(m.group(1)), page)
    if m := _PAGE.fullmatch(data):
        return ShowPage(min(int(m.group(1)), MAX_PAGE))
    return None


class _TrackingNumberText(filters.MessageFilter):
    """A message that is nothing but a tracking number (as a person types it)."""

    __slots__ = ()

    def filter(self, message: Message) -> bool:
        text = message.text
        if not text or len(text) > MAX_TRACKING_TEXT:
            return False
        try:
            parse_tracking_no(text, lenient=True)
        except ValidationFailed:
            return False
        return True


TRACKING_NUMBER_TEXT = _TrackingNumberText(name="TrackingNumberText")
"""For the complaint dialog's entry point too (``~TRACKING_NUMBER_TEXT``), so a tracking number
sent on its own looks the case up instead of starting a complaint."""


def formatter(deps: Deps, lang: str) -> CaseFormatter:
    rules = deps.services.deadlines
    return CaseFormatter(
        catalogue=deps.catalogue,
        plan=deps.plan,
        lang=lang,
        tz=deps.clock.tz,
        rules=rules,
        today=rules.local_date(deps.clock.now()),
    )


def example_tracking_no(deps: Deps) -> str:
    return f"{deps.plan.campaign.case_prefix}-{deps.clock.now().year}-000123"


# -- rendering ----------------------------------------------------------------------------------


async def case_list(
    deps: Deps, user_id: int, lang: str, page: int
) -> tuple[str, InlineKeyboardMarkup | None]:
    """A page of the user's cases (newest first) with a button per case and paging buttons.
    A page past the end (forged data, say) shows the first page."""
    service = deps.services.complaints
    cases = await service.my_cases(user_id, limit=PAGE_SIZE + 1, offset=page * PAGE_SIZE)
    if not cases and page > 0:
        page = 0
        cases = await service.my_cases(user_id, limit=PAGE_SIZE + 1, offset=0)
    fmt = formatter(deps, lang)
    if not cases:
        return fmt.t("cases.none"), None
    has_next = len(cases) > PAGE_SIZE
    cases = cases[:PAGE_SIZE]
    paged = has_next or page > 0
    header = fmt.t("cases.list_header_paged", page=page + 1) if paged else fmt.t("cases.list_header")
    items = [fmt.list_item(case, page * PAGE_SIZE + i + 1) for i, case in enumerate(cases)]
    text = "\n\n".join([header, *items, fmt.t("cases.list_footer")])
    rows = [
        [InlineKeyboardButton(fmt.button_label(case), callback_data=view_data(case.id, page))]
        for case in cases
        if case.id is not None
    ]
    nav = []
    if page > 0:
        nav.append(InlineKeyboardButton(fmt.t("cases.button.prev"), callback_data=page_data(page - 1)))
    if has_next:
        nav.append(InlineKeyboardButton(fmt.t("cases.button.next"), callback_data=page_data(page + 1)))
    if nav:
        rows.append(nav)
    return text, InlineKeyboardMarkup(rows)


def case_text(
    deps: Deps, lang: str, view: CitizenCaseView, back_page: int
) -> tuple[Html, InlineKeyboardMarkup]:
    fmt = formatter(deps, lang)
    text = fmt.case_view(view.case, view.history, evidence_count=view.evidence_count)
    back = InlineKeyboardButton(fmt.t("cases.button.back"), callback_data=page_data(back_page))
    return text, InlineKeyboardMarkup([[back]])


# -- commands and messages ----------------------------------------------------------------------


async def my_command(update: Update, context: BotContext) -> None:
    """/my: the first page of the user's cases."""
    user = update.effective_user
    if user is None:
        return
    lang = await user_language(update, context)
    text, markup = await case_list(context.deps, user.id, lang, 0)
    await reply(update, context, text, reply_markup=markup)


async def case_command(update: Update, context: BotContext) -> None:
    """/case ZH-2026-000123: that case, if it is the user's."""
    lang = await user_language(update, context)
    deps = context.deps
    typed = " ".join(context.args or []).strip()
    if not typed:
        text = deps.catalogue.t(lang, "cases.case_usage", example=example_tracking_no(deps))
        await reply(update, context, text)
        return
    await _show_by_tracking_no(update, context, lang, typed)


async def tracking_number_message(update: Update, context: BotContext) -> None:
    """A message that is just a tracking number: that case, if it is the user's."""
    message = update.effective_message
    if message is None or not message.text:
        return
    lang = await user_language(update, context)
    await _show_by_tracking_no(update, context, lang, message.text)


async def _show_by_tracking_no(update: Update, context: BotContext, lang: str, typed: str) -> None:
    deps = context.deps
    user = update.effective_user
    if user is None:
        return
    try:
        number = parse_tracking_no(typed, lenient=True)
    except ValidationFailed:
        shown = typed if len(typed) <= MAX_ECHOED else typed[: MAX_ECHOED - 1] + "…"
        text = deps.catalogue.t(lang, "cases.bad_tracking_no", text=shown, example=example_tracking_no(deps))
        await reply(update, context, text)
        return
    try:
        view = await deps.services.complaints.find_own(user.id, str(number))
    except NotFound:
        await reply(update, context, deps.catalogue.t(lang, "cases.not_found"))
        return
    text, markup = case_text(deps, lang, view, back_page=0)
    await reply(update, context, text, reply_markup=markup)


# -- buttons ------------------------------------------------------------------------------------


async def case_button(update: Update, context: BotContext) -> None:
    """``case:view:<id>[:<page>]`` and ``case:page:<n>``: re-checks ownership on every press."""
    query = update.callback_query
    user = update.effective_user
    if query is None or user is None:
        return
    deps = context.deps
    lang = await user_language(update, context)
    request = parse_callback(query.data)
    chat = update.effective_chat
    if request is None or chat is None or chat.type != ChatType.PRIVATE:
        await query.answer(deps.catalogue.t(lang, "fallback.stale_button"), show_alert=True)
        return
    markup: InlineKeyboardMarkup | None
    if isinstance(request, ShowPage):
        text, markup = await case_list(deps, user.id, lang, request.page)
    else:
        try:
            view = await deps.services.complaints.view(user.id, request.case_id)
        except NotFound:
            # the same answer whether the case does not exist or is somebody else's
            await query.answer(deps.catalogue.t(lang, "cases.not_found"), show_alert=True)
            return
        text, markup = case_text(deps, lang, view, request.from_page or 0)
        if request.from_page is None:
            # a button under a notice: the notice (an answer, a new deadline) stays readable
            await query.answer()
            await reply(update, context, text, reply_markup=markup)
            return
    await query.answer()
    await _replace_or_send(update, context, text, markup)


async def _replace_or_send(
    update: Update, context: BotContext, text: str, markup: InlineKeyboardMarkup | None
) -> None:
    """Edit the message the button is on; a message we cannot edit (too old, not text) gets a
    new one."""
    query = update.callback_query
    assert query is not None
    if isinstance(query.message, Message) and query.message.text is not None:
        try:
            await query.edit_message_text(text, reply_markup=markup)
            return
        except BadRequest as exc:
            if "not modified" in exc.message.lower():
                return  # the same button pressed twice: it already shows what was asked for
            log.info("could not edit the case message (%s); sending a new one", exc.message)
    await reply(update, context, text, reply_markup=markup)
