"""The liaison's screens (SPEC §5): the inbox and the case card with the buttons this unit has
now. The views come from ``LiaisonService`` already stripped of the complainant's identity;
the buttons are handled in ``bot.handlers.liaison``."""

from __future__ import annotations

from typing import Final

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.case_view import CaseFormatter, unit_name
from bot.context import Deps
from bot.handlers.staff_ui import actor_name, event_text, formatter, plain
from bot.i18n import Html
from core.cases import CaseEvent, Satisfaction, WarningColour
from core.deadlines import Deadline
from core.directory import UnitRole
from core.services.liaison import Inbox, InboxEntry, LiaisonAction, LiaisonCaseView
from core.states import CaseState

CALLBACK_PREFIX: Final = "lc:"

MAX_HISTORY_TEXT = 300  # characters of an event's text on the card (the whole text is kept)

_MARKS = {
    WarningColour.RED: "liaison.mark_red",
    WarningColour.YELLOW: "liaison.mark_yellow",
    WarningColour.BLUE: "liaison.mark_blue",
    WarningColour.NONE: "liaison.mark_none",
}

# case event kinds this feature writes; the rest are named by bot.case_view's catalogue entries
_OWN_EVENT_KINDS = frozenset(
    {"reply_pending", "reply_refused", "reopen_requested", "reopen_refused", "follow_up_comment"}
    | {"supervision", "escalated"}
)


def inbox_data(page: int = 0, assist_page: int = 0) -> str:
    return f"{CALLBACK_PREFIX}inbox:{page}:{assist_page}"


def case_data(action: str, case_id: int) -> str:
    return f"{CALLBACK_PREFIX}{action}:{case_id}"


def render_inbox(deps: Deps, lang: str, inbox: Inbox) -> tuple[str, InlineKeyboardMarkup | None]:
    fmt = formatter(deps, lang)
    unit = unit_name(deps.plan, lang, inbox.unit_id)
    paged = inbox.page > 0 or inbox.more_lead
    title = "liaison.inbox_title_paged" if paged else "liaison.inbox_title"
    parts = [fmt.t(title, unit=unit, page=inbox.page + 1)]
    if inbox.lead:
        parts.extend(_inbox_line(fmt, entry) for entry in inbox.lead)
    else:
        parts.append(fmt.t("liaison.inbox_empty"))
    if inbox.assist or inbox.assist_page > 0:
        parts.append(fmt.t("liaison.assist_title"))
        parts.extend(_inbox_line(fmt, entry) for entry in inbox.assist)
    rows: list[list[InlineKeyboardButton]] = []
    for entry in (*inbox.lead, *inbox.assist):
        if entry.case.id is not None:
            label = plain(
                fmt.t(
                    "liaison.button_case",
                    mark=fmt.t(_MARKS[entry.colour]),
                    tracking_no=entry.case.tracking_no,
                )
            )
            rows.append([InlineKeyboardButton(label, callback_data=case_data("view", entry.case.id))])
    nav: list[InlineKeyboardButton] = []
    if inbox.page > 0:
        nav.append(_nav(fmt, "cases.button.prev", inbox_data(inbox.page - 1, inbox.assist_page)))
    if inbox.more_lead:
        nav.append(_nav(fmt, "cases.button.next", inbox_data(inbox.page + 1, inbox.assist_page)))
    if inbox.assist_page > 0:
        nav.append(_nav(fmt, "liaison.button_assist_prev", inbox_data(inbox.page, inbox.assist_page - 1)))
    if inbox.more_assist:
        nav.append(_nav(fmt, "liaison.button_assist_next", inbox_data(inbox.page, inbox.assist_page + 1)))
    if nav:
        rows.append(nav)
    if rows:
        parts.append(fmt.t("liaison.inbox_footer"))
    return "\n\n".join(parts), InlineKeyboardMarkup(rows) if rows else None


def _nav(fmt: CaseFormatter, key: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(plain(fmt.t(key)), callback_data=data)


def _inbox_line(fmt: CaseFormatter, entry: InboxEntry) -> str:
    case = entry.case
    line = fmt.t(
        "liaison.inbox_line",
        mark=fmt.t(_MARKS[entry.colour]),
        tracking_no=case.tracking_no,
        state=fmt.state(case.state),
        area=fmt.area(case.area),
    )
    if entry.due is not None:
        kind = Deadline.SIGN if case.state is CaseState.ASSIGNED else Deadline.ANSWER
        deadline = fmt.deadline(kind, entry.due, entry.colour)
        line += "\n" + fmt.t("liaison.inbox_deadline", deadline=deadline)
    return line


def render_card(deps: Deps, lang: str, view: LiaisonCaseView) -> tuple[Html, InlineKeyboardMarkup]:
    """The card (the same facts citizens see, from ``bot.case_view``), which unit the reader is,
    the whole history with internal entries marked, and the buttons this unit has now."""
    fmt = formatter(deps, lang)
    role_key = "liaison.card_role_lead" if view.role is UnitRole.LEAD else "liaison.card_role_assist"
    notes = [fmt.t(role_key, unit=unit_name(deps.plan, lang, view.unit_id))]
    if view.reply_pending:
        notes.append(fmt.t("liaison.card_reply_pending"))
    notes.append(fmt.t("liaison.card_identity"))
    entries = [_history_line(fmt, deps, lang, e) for e in view.history]
    text = fmt.staff_card(
        view.case,
        evidence_count=len(view.evidence),
        notes=notes,
        history=entries,
        title_key="liaison.history_title",
    )
    return text, card_keyboard(fmt, view)


def _history_line(fmt: CaseFormatter, deps: Deps, lang: str, event: CaseEvent) -> str:
    # who acted, by role or unit: never a person's id (and never the complainant)
    who = fmt.t("liaison.who", name=actor_name(fmt, deps, lang, event, "liaison"))
    return fmt.staff_history_line(
        event, section="liaison", own_kinds=_OWN_EVENT_KINDS, who=who, detail=_detail(fmt, event)
    )


def _detail(fmt: CaseFormatter, event: CaseEvent) -> str:
    satisfaction = event.data.get("satisfaction")
    if isinstance(satisfaction, str) and satisfaction in {s.value for s in Satisfaction}:
        return plain(fmt.t(f"follow_up.level_{satisfaction}"))
    lead = event.data.get("lead")
    if event.kind == "route" and isinstance(lead, list) and lead:
        return fmt.units(str(u) for u in lead)
    return event_text(fmt, event, MAX_HISTORY_TEXT)


def card_keyboard(fmt: CaseFormatter, view: LiaisonCaseView) -> InlineKeyboardMarkup:
    case_id = view.case.id
    assert case_id is not None

    def button(key: str, action: str, **params: object) -> InlineKeyboardButton:
        return InlineKeyboardButton(plain(fmt.t(key, **params)), callback_data=case_data(action, case_id))

    acts = set(view.actions)
    rows: list[list[InlineKeyboardButton]] = []
    first = [
        button(f"liaison.button_{a.value}", a.value)
        for a in (LiaisonAction.SIGN, LiaisonAction.REPLY)
        if a in acts
    ]
    second = [
        button(f"liaison.button_{a.value}", a.value)
        for a in (LiaisonAction.EXTENSION, LiaisonAction.RETURN)
        if a in acts
    ]
    third = [button("liaison.button_note", "note")] if LiaisonAction.NOTE in acts else []
    if view.evidence:
        third.append(button("liaison.button_files", "files", count=len(view.evidence)))
    rows = [row for row in (first, second, third) if row]
    rows.append([InlineKeyboardButton(plain(fmt.t("liaison.button_back")), callback_data=inbox_data())])
    return InlineKeyboardMarkup(rows)
