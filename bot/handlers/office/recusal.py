"""The office's side of recusal (回避, SPEC §3): what the office card and the triage queue say
about the units kept out of a case, and the buttons that mark the unit complained about or
settle the candidates a complaint named (``core.services.office.mark_target`` /
``clear_candidates`` do the work and check the office role again).

Buttons: ``of:target:<case>`` opens the unit picker, ``of:tgt:<case>:<unit>`` asks to confirm,
``of:tgtok:<case>:<unit>`` marks it, ``of:notgt:<case>`` releases the candidates.
"""

from __future__ import annotations

import re
from typing import Final

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.case_view import CaseFormatter, unit_name
from bot.context import Deps
from bot.handlers.office.access import ID, MAX_CALLBACK_DATA, PLAN_ID
from bot.handlers.staff_ui import button, plain
from core.cases import Case, CaseEvent
from core.services.office import OfficeCaseView, TargetMarked

TARGET_BUTTON: Final = re.compile(rf"of:(tgt|tgtok):({ID}):({PLAN_ID})", re.ASCII)


RECUSAL_KINDS: Final = frozenset({"recusal", "recusal_lifted"})


def _name(deps: Deps, lang: str, unit_id: str) -> str:
    return unit_name(deps.plan, lang, unit_id)


def card_notes(fmt: CaseFormatter, view: OfficeCaseView) -> list[str]:
    """The units kept out of the case, and the candidates still waiting for the office."""
    notes: list[str] = []
    decided = [r.unit_id for r in view.case.recusals if not r.pending]
    if decided:
        notes.append(fmt.t("office.recusal.card_recused", units=fmt.units(decided)))
    if view.candidates:
        notes.append(fmt.t("office.recusal.card_candidates", units=fmt.units(view.candidates)))
    return notes


def queue_note(fmt: CaseFormatter, candidates: tuple[str, ...]) -> str | None:
    return fmt.t("office.recusal.queue_candidates", units=fmt.units(candidates)) if candidates else None


def card_rows(deps: Deps, lang: str, view: OfficeCaseView) -> list[list[InlineKeyboardButton]]:
    """ "It is X" for each candidate and "none of them"; otherwise "mark the unit"."""
    case_id = view.case.id
    assert case_id is not None
    if not view.candidates:
        return [[button(deps, lang, "office.recusal.button_mark", f"of:target:{case_id}")]]
    buttons = [
        button(deps, lang, "office.recusal.button_is", f"of:tgt:{case_id}:{u}", unit=_name(deps, lang, u))
        for u in view.candidates
        if len(f"of:tgtok:{case_id}:{u}".encode()) <= MAX_CALLBACK_DATA
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append([button(deps, lang, "office.recusal.button_none", f"of:notgt:{case_id}")])
    return rows


def picker(deps: Deps, lang: str, case: Case) -> tuple[str, InlineKeyboardMarkup]:
    """Every unit not already kept out wholly, two to a row."""
    assert case.id is not None
    hidden = case.may_not_see()
    buttons = [
        InlineKeyboardButton(plain(_name(deps, lang, unit.id)), callback_data=f"of:tgt:{case.id}:{unit.id}")
        for unit in deps.plan.units
        if unit.id not in hidden and len(f"of:tgtok:{case.id}:{unit.id}".encode()) <= MAX_CALLBACK_DATA
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append([button(deps, lang, "office.button_back", f"of:view:{case.id}")])
    text = deps.catalogue.t(lang, "office.recusal.pick", tracking_no=case.tracking_no)
    return text, InlineKeyboardMarkup(rows)


def confirm(deps: Deps, lang: str, case: Case, unit_id: str) -> tuple[str, InlineKeyboardMarkup]:
    assert case.id is not None
    markup = InlineKeyboardMarkup(
        [
            [
                button(deps, lang, "office.recusal.button_confirm", f"of:tgtok:{case.id}:{unit_id}"),
                button(deps, lang, "office.button_back", f"of:view:{case.id}"),
            ]
        ]
    )
    text = deps.catalogue.t(
        lang, "office.recusal.confirm", unit=_name(deps, lang, unit_id), tracking_no=case.tracking_no
    )
    return text, markup


def marked_text(deps: Deps, lang: str, result: TargetMarked) -> str:
    """What marking did, for the callback's alert (plain text, at most 200 characters)."""
    t = deps.catalogue.t
    unit = _name(deps, lang, result.unit_id)
    parts = [t(lang, "office.recusal.marked", unit=unit, tracking_no=result.case.tracking_no)]
    if result.removed:
        names = "、".join(_name(deps, lang, u) for u in result.removed)
        parts.append(t(lang, "office.recusal.marked_removed", units=names))
    if result.withdrawn:
        parts.append(t(lang, "office.recusal.marked_withdrawn", count=result.withdrawn))
    if result.to_triage:
        parts.append(t(lang, "office.recusal.marked_triage"))
    return plain(" ".join(parts))[:200]


def history_detail(fmt: CaseFormatter, event: CaseEvent) -> str | None:
    """The line under a recusal event: which unit, how far, and why."""
    if event.kind not in RECUSAL_KINDS:
        return None
    data = event.data
    unit, scope, reason = data.get("unit"), data.get("scope"), data.get("reason")
    if not (isinstance(unit, str) and isinstance(scope, str) and isinstance(reason, str)):
        return None
    matched = data.get("matched")
    key = "office.recusal.detail_matched" if isinstance(matched, str) and matched else "office.recusal.detail"
    text = fmt.t(
        key,
        unit=fmt.units([unit]),
        scope=fmt.t(f"office.recusal.scope.{scope}"),
        reason=fmt.t(f"office.recusal.reason.{reason}"),
        matched=matched if isinstance(matched, str) else "",
    )
    if data.get("had_seen"):
        text += fmt.t("office.recusal.had_seen")
    return plain(text)
