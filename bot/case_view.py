"""A case as people read it: list lines, the case card, deadlines with their colour, the history.

Shared by the citizen's ``/my`` and case view and, later, the liaison's and the office's views,
so a case looks the same to everyone. Pure formatting over the catalogue and the plan: no
Telegram, no storage. What goes in is already filtered for the reader (the citizen's history
holds public events only, and nothing here ever prints who complained); the history is filtered
once more anyway, because a mistake upstream must not reach a citizen.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo

from bot.i18n import Catalogue, Html, escape
from bot.log_json import set_case_number
from core.cases import Case, CaseEvent, Visibility, WarningColour
from core.deadlines import CaseDeadlines, Deadline, DeadlineRules, pending_deadlines
from core.plan import Plan, UnknownPlanId
from core.states import Action, CaseState

# Telegram refuses messages over 4096 characters (counted after HTML parsing, so measuring the
# HTML source is on the safe side); keep a margin for the lines added around a card.
MAX_MESSAGE = 3900
MAX_DESCRIPTION_SHOWN = 1500  # the description may be 2,000 characters; the card shows a part
MAX_EVENT_TEXT = 600  # a long answer is cut in the history; the full text went out as a notice


def area_label(plan: Plan, catalogue: Catalogue, lang: str, area_id: str | None) -> str:
    """The area's short name (``area.name.<id>`` in the catalogue), else the plan's title: a
    district whose plan has other areas still sees something true."""
    if area_id is None:
        return catalogue.t(lang, "cases.area_unknown")
    if catalogue.has(f"area.name.{area_id}", lang):
        return catalogue.t(lang, f"area.name.{area_id}")
    try:
        area = plan.area(area_id)
    except UnknownPlanId:
        return area_id
    return (area.title_en or area.title) if lang == "en" else area.title


def unit_name(plan: Plan, lang: str, unit_id: str) -> str:
    try:
        unit = plan.unit(unit_id)
    except UnknownPlanId:
        return unit_id  # a unit dropped from the plan since: its id still says which
    return (unit.name_en or unit.name) if lang == "en" else unit.name


def shown_area(case: Case) -> str | None:
    """The area people decided on; the classifier's guess only once somebody has routed the
    case on it (while the office triages a "not sure", the guess would mislead)."""
    if case.area_final is not None:
        return case.area_final
    return None if case.state in (CaseState.SUBMITTED, CaseState.TRIAGE) else case.area_auto


def case_deadlines(case: Case) -> CaseDeadlines | None:
    if case.sign_due is None or case.answer_due is None:
        return None
    return CaseDeadlines(sign_due=case.sign_due, answer_due=case.answer_due)


@dataclass(frozen=True, slots=True)
class NextDeadline:
    kind: Deadline
    due: date
    colour: WarningColour


def next_deadline(case: Case, rules: DeadlineRules, today: date) -> NextDeadline | None:
    """The soonest deadline still running, with the case's colour (the most urgent one, which
    is the soonest deadline's)."""
    deadlines = case_deadlines(case)
    if deadlines is None:
        return None
    pending = pending_deadlines(case.state, deadlines)
    if not pending:
        return None
    kind, due = min(pending.items(), key=lambda item: item[1])
    return NextDeadline(kind, due, rules.case_colour(case.state, deadlines, today))


def format_day(catalogue: Catalogue, lang: str, day: date) -> str:
    """A date as people read it in ``lang`` ("2026年11月24日（周二）", "Tue 24 Nov 2026")."""
    months = catalogue.t(lang, "cases.months").split()
    weekdays = catalogue.t(lang, "cases.weekdays").split()
    return catalogue.t(
        lang,
        "cases.date",
        year=day.year,
        month=months[day.month - 1] if len(months) == 12 else str(day.month),
        day=day.day,
        weekday=weekdays[day.weekday()] if len(weekdays) == 7 else "",
    )


@dataclass(frozen=True, slots=True)
class CaseFormatter:
    """Formats cases in one language for one reader's day and time zone."""

    catalogue: Catalogue
    plan: Plan
    lang: str
    tz: tzinfo
    rules: DeadlineRules
    today: date

    def t(self, key: str, /, **params: object) -> str:
        return self.catalogue.t(self.lang, key, **params)

    # -- small pieces ---------------------------------------------------------------------------

    def format_date(self, day: date) -> str:
        return format_day(self.catalogue, self.lang, day)

    def format_datetime(self, at: datetime) -> str:
        local = at.astimezone(self.tz)
        day = Html(self.format_date(local.date()))
        return self.t("cases.datetime", date=day, time=local.strftime("%H:%M"))

    def state(self, state: CaseState) -> str:
        return self.t(f"state.{state.value}")

    def area(self, area_id: str | None) -> str:
        return area_label(self.plan, self.catalogue, self.lang, area_id)

    def units(self, unit_ids: Iterable[str]) -> str:
        names = [unit_name(self.plan, self.lang, u) for u in unit_ids]
        if not names:
            return self.t("cases.units_none")
        return self.t("cases.list_separator").join(names)

    def deadline(self, kind: Deadline, due: date, colour: WarningColour | None = None) -> Html:
        """``Answer due: Mon 30 Nov 2026  🔵 one working day left`` (HTML)."""
        line = Html(self.t(f"cases.deadline.{kind.value}", date=Html(self.format_date(due))))
        if colour is None or colour is WarningColour.NONE:
            return line
        warning = self.t(f"cases.colour.{colour.value}")
        return Html(self.t("cases.deadline.with_colour", deadline=line, colour=warning))

    def event(self, kind: str) -> str:
        """The history label of an event kind (``cases.event.<kind>``; a kind added by a later
        service without a label reads "other" rather than a raw key)."""
        key = f"cases.event.{kind}"
        return self.t(key if self.catalogue.has(key, self.lang) else "cases.event.other")

    # -- a case in a list -----------------------------------------------------------------------

    def list_item(self, case: Case, index: int) -> Html:
        """Number, state, area, filing time, and the next deadline with its colour."""
        lines = [
            self.t(
                "cases.list_item",
                index=index,
                tracking_no=case.tracking_no,
                state=self.state(case.state),
                area=self.area(shown_area(case)),
                filed=Html(self.format_datetime(case.created_at)),
            )
        ]
        upcoming = next_deadline(case, self.rules, self.today)
        if upcoming is not None:
            deadline = self.deadline(upcoming.kind, upcoming.due, upcoming.colour)
            lines.append(self.t("cases.list_deadline", deadline=deadline))
        return Html("\n".join(lines))

    def button_label(self, case: Case) -> str:
        """Plain text (buttons are not HTML)."""
        template = self.catalogue.raw(self.lang, "cases.button.view") or "{tracking_no} · {state}"
        return template.format(tracking_no=case.tracking_no, state=self.state(case.state))

    # -- one case -------------------------------------------------------------------------------

    def deadline_lines(self, case: Case) -> list[Html]:
        """The deadlines still running, each with its own colour."""
        deadlines = case_deadlines(case)
        if deadlines is None:
            return []
        lines = []
        for kind, due in sorted(pending_deadlines(case.state, deadlines).items(), key=lambda kv: kv[1]):
            line = self.deadline(kind, due, self.rules.colour(due, self.today))
            if kind is Deadline.ANSWER and case.extended:
                line = Html(line + escape(self.t("cases.deadline.extended")))
            lines.append(line)
        return lines

    def staff_history_line(
        self, event: CaseEvent, *, section: str, own_kinds: frozenset[str], who: str, detail: str
    ) -> str:
        """One entry of the history as a unit or the office reads it (internal ones marked).
        ``section`` is the catalogue section (``liaison``/``office``) with its own labels for
        the event kinds in ``own_kinds``; ``who`` and ``detail`` are already rendered."""
        name = self.t(f"{section}.event.{event.kind}") if event.kind in own_kinds else self.event(event.kind)
        internal = self.t(f"{section}.internal_mark") if event.visibility is Visibility.INTERNAL else ""
        line = self.t(
            f"{section}.history_line",
            at=Html(self.format_datetime(event.at)),
            event=name,
            who=Html(who),
            internal=Html(internal),
        )
        if detail:
            line += "\n" + self.t("cases.history.detail", text=detail)
        return line

    def staff_card(
        self, case: Case, *, evidence_count: int, notes: Sequence[str], history: Sequence[str], title_key: str
    ) -> Html:
        """The card, notes for the reader and the whole history, fitted into one message: the
        oldest entries give way first (the newest say where the case stands), then the
        description is shortened."""
        text = Html("")
        for description_limit in (MAX_DESCRIPTION_SHOWN, 500, 150):
            card = self.card(case, evidence_count=evidence_count, description_limit=description_limit)
            shown = list(history)
            while True:
                lines = [card, "", *notes, "", self.t(title_key)]
                if len(shown) < len(history):
                    lines.append(self.t("cases.history.earlier", count=len(history) - len(shown)))
                text = Html("\n".join([*lines, *shown]))
                if len(text) <= MAX_MESSAGE or not shown:
                    break
                shown.pop(0)
            if len(text) <= MAX_MESSAGE:
                break
        return text

    def card(
        self, case: Case, *, evidence_count: int, description_limit: int = MAX_DESCRIPTION_SHOWN
    ) -> Html:
        """The case's facts: number, state, area, handling units, when filed, what and where,
        deadlines, evidence, description. Nothing about who complained: the same card is shown
        to units. The update that shows one case's card is about that case: its log lines
        carry the case's number from here on (LOG_FORMAT=json)."""
        set_case_number(case.tracking_no)
        lines = [
            self.t("cases.card.title", tracking_no=case.tracking_no),
            self.t("cases.card.state", state=self.state(case.state)),
            self.t("cases.card.area", area=self.area(shown_area(case))),
            self.t("cases.card.lead", units=self.units(case.lead_unit_ids)),
            self.t("cases.card.filed", at=Html(self.format_datetime(case.created_at))),
        ]
        optional = (("target", case.target_text), ("place", case.place), ("occurred", case.occurred))
        for field, value in optional:
            if value:
                lines.append(self.t(f"cases.card.{field}", value=value))
        lines.extend(self.deadline_lines(case))
        lines.append(self.t("cases.card.evidence", count=evidence_count))
        description = case.description
        if len(description) > description_limit:
            description = description[:description_limit].rstrip() + self.t("cases.card.truncated")
        lines.append("")
        lines.append(self.t("cases.card.description", text=description))
        return Html("\n".join(lines))

    def history_lines(self, events: Sequence[CaseEvent], *, public_only: bool = True) -> list[Html]:
        """One entry per event, oldest first: time, what happened, and its public text (the
        unit's answer, a rejection's reason, the units a case went to)."""
        out: list[Html] = []
        for event in events:
            if public_only and event.visibility is not Visibility.PUBLIC:
                continue
            at = Html(self.format_datetime(event.at))
            entry = self.t("cases.history.line", at=at, event=self.event(event.kind))
            for detail in self._event_details(event):
                entry += "\n" + self.t("cases.history.detail", text=detail)
            out.append(Html(entry))
        return out

    def _event_details(self, event: CaseEvent) -> list[Html]:
        """The public details under a history entry, as HTML lines."""
        if event.kind == Action.ROUTE.value:
            lead = event.data.get("lead")
            if isinstance(lead, list) and lead:
                return [escape(self.units(str(u) for u in lead))]
        if event.kind == Action.APPROVE_EXTENSION.value:
            new_due = _iso_date(event.data.get("new_due"))
            if new_due is not None:
                return [Html(self.t("cases.history.new_due", date=Html(self.format_date(new_due))))]
        parts: list[Html] = []
        rating = event.data.get("satisfaction")
        if isinstance(rating, str) and self.catalogue.has(f"cases.satisfaction.{rating}", self.lang):
            parts.append(Html(self.t("cases.history.rating", level=self.t(f"cases.satisfaction.{rating}"))))
        text = event.text.strip()
        if len(text) > MAX_EVENT_TEXT:
            text = text[:MAX_EVENT_TEXT].rstrip() + self.t("cases.card.truncated")
        if text:
            parts.append(escape(text))
        return parts

    def case_view(
        self, case: Case, history: Sequence[CaseEvent], *, evidence_count: int, public_only: bool = True
    ) -> Html:
        """Card and history in one message under Telegram's limit: the oldest history entries
        give way first (the newest say where the case stands), then the description shrinks."""
        entries = self.history_lines(history, public_only=public_only)
        text = Html("")
        for description_limit in (MAX_DESCRIPTION_SHOWN, 500, 150):
            card = self.card(case, evidence_count=evidence_count, description_limit=description_limit)
            shown = list(entries)
            while True:
                text = _join_view(self, card, shown, hidden=len(entries) - len(shown))
                if len(text) <= MAX_MESSAGE or not shown:
                    break
                shown.pop(0)
            if len(text) <= MAX_MESSAGE:
                break
        return text


def _iso_date(value: object) -> date | None:
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _join_view(fmt: CaseFormatter, card: Html, shown: Sequence[Html], *, hidden: int) -> Html:
    lines = [card, "", fmt.t("cases.history.title")]
    if hidden:
        lines.append(fmt.t("cases.history.earlier", count=hidden))
    lines.extend(shown)
    if not shown and not hidden:
        lines.append(fmt.t("cases.history.none"))
    return Html("\n".join(lines))
