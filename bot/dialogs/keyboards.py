"""The complaint dialog's keyboards: layout and labels only.

Every builder takes ``label`` (a catalogue key under ``complaint.button`` → text in the user's
language) and ``press`` (an action such as ``"skip"`` or ``"pick:conduct"`` → the button's
callback data). The dialog owns the callback-data scheme, so stale and forged buttons are
checked in one place (``bot.dialogs.complaint.entry``); this module never sees a draft.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, KeyboardButton, ReplyKeyboardMarkup

Label = Callable[[str], str]
Press = Callable[[str], str]

# Telegram clients cut long labels themselves; this only bounds what we send (unit names can
# be very long, e.g. an office "of the District Discipline Commission").
MAX_LABEL = 60


def short(text: str, limit: int = MAX_LABEL) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _button(label: Label, press: Press, action: str, key: str | None = None) -> InlineKeyboardButton:
    return InlineKeyboardButton(label(key or action), callback_data=press(action))


def _rows(*rows: Sequence[InlineKeyboardButton]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([list(row) for row in rows if row])


def describe(label: Label, press: Press, *, can_keep: bool) -> InlineKeyboardMarkup | None:
    """Only when a description is already there (the citizen came back to it)."""
    return _rows([_button(label, press, "keep")]) if can_keep else None


def out_of_scope(label: Label, press: Press) -> InlineKeyboardMarkup:
    return _rows([_button(label, press, "anyway", "file_anyway")], [_button(label, press, "back")])


def area_proposed(label: Label, press: Press) -> InlineKeyboardMarkup:
    return _rows(
        [_button(label, press, "ok", "confirm_area")],
        [_button(label, press, "other", "other_area"), _button(label, press, "unsure")],
        [_button(label, press, "back")],
    )


def area_list(label: Label, press: Press, areas: Sequence[tuple[str, str]]) -> InlineKeyboardMarkup:
    """``areas``: (area id, button text), one per row, then "not sure" and back."""
    rows = [
        [InlineKeyboardButton(short(text), callback_data=press(f"pick:{area_id}"))] for area_id, text in areas
    ]
    return _rows(*rows, [_button(label, press, "unsure")], [_button(label, press, "back")])


def unit(
    label: Label,
    press: Press,
    suggestions: Sequence[str],
    *,
    typed: bool,
    can_keep: bool,
) -> InlineKeyboardMarkup:
    """One button per suggested unit (by position in ``suggestions``). After the citizen typed
    something, "none of these" keeps their text; before, "skip" leaves the field empty."""
    rows = [
        [InlineKeyboardButton(short(name), callback_data=press(f"pick:{i}"))]
        for i, name in enumerate(suggestions)
    ]
    last = [_button(label, press, "none")] if typed and suggestions else [_button(label, press, "skip")]
    if can_keep:
        last.insert(0, _button(label, press, "keep"))
    return _rows(*rows, last, [_button(label, press, "back")])


def optional_field(label: Label, press: Press, *, can_keep: bool) -> InlineKeyboardMarkup:
    first = [_button(label, press, "keep")] if can_keep else []
    return _rows([*first, _button(label, press, "skip")], [_button(label, press, "back")])


def evidence(label: Label, press: Press, *, count: int) -> InlineKeyboardMarkup:
    go_on = _button(label, press, "done") if count else _button(label, press, "skip", "skip_evidence")
    return _rows([go_on], [_button(label, press, "back")])


def identity(label: Label) -> ReplyKeyboardMarkup:
    """A reply keyboard: Telegram's contact button only exists there. The other two answers
    come back as their label's text."""
    return ReplyKeyboardMarkup(
        [
            [KeyboardButton(label("share_phone"), request_contact=True)],
            [KeyboardButton(label("anonymous"))],
            [KeyboardButton(label("back"))],
        ],
        resize_keyboard=True,
        one_time_keyboard=True,
    )


def summary(label: Label, press: Press) -> InlineKeyboardMarkup:
    return _rows(
        [_button(label, press, "submit")],
        [_button(label, press, "edit"), _button(label, press, "cancel")],
        [_button(label, press, "back")],
    )


EDITABLE_FIELDS = ("description", "area", "unit", "place", "time", "evidence", "identity")


def edit(label: Label, press: Press) -> InlineKeyboardMarkup:
    fields = [_button(label, press, f"field:{name}", f"edit_{name}") for name in EDITABLE_FIELDS]
    pairs = [fields[i : i + 2] for i in range(0, len(fields), 2)]
    return _rows(*pairs, [_button(label, press, "back", "back_to_summary")])
