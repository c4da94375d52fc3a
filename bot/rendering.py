"""Outbox messages into Bot API calls, in the recipient's language (the payload convention of
``core.notices``).

Rendering happens at send time, not when the row is written, so a user who switched with
``/lang`` in between gets the new language, and texts are rendered by the catalogue of the
running version. Everything here is pure: the sender looks the language up and makes the call.
"""

from __future__ import annotations

import base64
import binascii
import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Final, TypeGuard

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, LinkPreviewOptions
from telegram.constants import ParseMode

from bot.case_view import area_label, format_day, unit_name
from bot.i18n import DEFAULT_LANG, LANGUAGES, Catalogue, Html, escape
from core.outbox import OutboxMessage
from core.plan import Plan

# Payload keys the convention gives a meaning; everything else goes to the method as is.
CONVENTION_KEYS: Final = frozenset(
    {"text_key", "text_params", "caption_key", "caption_params", "buttons", "user_id", "files"}
)
# Methods whose message body is ``text``; for the others (sendPhoto, sendDocument...) a rendered
# ``text_key`` becomes the ``caption``.
TEXT_METHODS: Final = frozenset({"sendMessage", "editMessageText"})
# The catalogue's separator for ``*_keys`` lists (the first of these keys it has); the
# fallbacks keep a catalogue without one readable.
LIST_SEPARATOR_KEYS: Final = ("list.separator", "cases.list_separator")
FALLBACK_SEPARATORS: Final = {"zh": "、", "en": ", "}


@dataclass(frozen=True, slots=True)
class PlanTerms:
    """Plan references in notice parameters, rendered in the reader's language: ``*_units``
    (unit ids → names), ``*_area`` (area id → its short name), ``*_date`` (ISO date → a date as
    people read it). Without a plan (``None``) such values are shown as they are."""

    plan: Plan

    def render(self, catalogue: Catalogue, lang: str, name: str, value: object) -> Html | None:
        """The rendered value, or None when ``name`` is not a plan reference."""
        if name.endswith("_units"):
            if not isinstance(value, list | tuple):
                raise RenderError(f"parameter {name} must be a list of unit ids, not {value!r}")
            names = (escape(unit_name(self.plan, lang, str(u))) for u in value)
            return Html(separator(catalogue, lang).join(names))
        if name.endswith("_area"):
            area = value if isinstance(value, str) else None
            return escape(area_label(self.plan, catalogue, lang, area))
        if name.endswith("_date") and isinstance(value, str):
            try:
                day = date.fromisoformat(value)
            except ValueError as exc:
                raise RenderError(f"parameter {name} must be an ISO date, not {value!r}") from exc
            return escape(format_day(catalogue, lang, day))
        return None


class RenderError(ValueError):
    """The payload does not follow the convention: sending it again would fail again."""


@dataclass(frozen=True, slots=True)
class ApiCall:
    """A Bot API method (``sendMessage``) and its parameters, ``chat_id`` included. Values are
    JSON values or python-telegram-bot objects (the keyboard)."""

    method: str
    params: dict[str, Any]


def recipient_user(message: OutboxMessage) -> int | None:
    """Whose language the message is in: ``payload["user_id"]``, None for group chats."""
    value = message.payload.get("user_id")
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


def language_of(stored: str | None) -> str:
    """The stored language when it is one we speak, the default language otherwise."""
    return stored if stored in LANGUAGES else DEFAULT_LANG


def render(
    message: OutboxMessage, catalogue: Catalogue, lang: str, terms: PlanTerms | None = None
) -> ApiCall:
    """The call to make for ``message`` in ``lang``. Raises ``RenderError`` for a malformed
    payload."""
    payload = message.payload
    params: dict[str, Any] = {k: v for k, v in payload.items() if k not in CONVENTION_KEYS}
    params["chat_id"] = message.chat_id
    body = "text" if message.method in TEXT_METHODS else "caption"
    if "text_key" in payload:
        params[body] = _text(catalogue, lang, payload["text_key"], payload.get("text_params"), "text", terms)
    if "caption_key" in payload:
        params["caption"] = _text(
            catalogue, lang, payload["caption_key"], payload.get("caption_params"), "caption", terms
        )
    # files made by the bot itself (a digest's chart and workbook) travel in the row as base64:
    # {"files": {"photo": {"filename": ..., "mime": ..., "base64": ...}}}
    for field, spec in _files(payload.get("files")).items():
        params[field] = spec
    if "buttons" in payload and "reply_markup" not in payload:
        params["reply_markup"] = keyboard(catalogue, lang, payload["buttons"])
    # what the application's Defaults give replies: HTML, no link previews
    if ("text" in params or "caption" in params) and "parse_mode" not in params:
        params["parse_mode"] = ParseMode.HTML
    if message.method in TEXT_METHODS and "link_preview_options" not in params:
        params["link_preview_options"] = LinkPreviewOptions(is_disabled=True)
    return ApiCall(message.method, params)


def _files(specs: object) -> dict[str, InputFile]:
    if specs is None:
        return {}
    if not isinstance(specs, Mapping):
        raise RenderError(f"files must be an object, not {specs!r}")
    files: dict[str, InputFile] = {}
    for field, spec in specs.items():
        if not isinstance(spec, Mapping) or not isinstance(spec.get("base64"), str):
            raise RenderError(f"file {field!r} needs base64 content")
        try:
            content = base64.b64decode(spec["base64"], validate=True)
        except (binascii.Error, ValueError) as exc:
            raise RenderError(f"file {field!r} is not valid base64") from exc
        filename = spec.get("filename")
        files[str(field)] = InputFile(content, filename=filename if isinstance(filename, str) else None)
    return files


def fill_params(
    catalogue: Catalogue, lang: str, params: Mapping[str, object], terms: PlanTerms | None = None
) -> dict[str, object]:
    """The parameters for a catalogue text: ``*_key`` values rendered from the catalogue,
    ``*_keys`` lists rendered and joined with the list separator (both available under their
    own name and under the name without the suffix, so a template may say ``{state}`` or
    ``{state_key}``), ``None`` as an empty string. Plain strings are escaped by the catalogue."""
    out: dict[str, object] = {}
    derived: dict[str, object] = {}
    for name, value in params.items():
        plan_term = terms.render(catalogue, lang, name, value) if terms is not None else None
        if plan_term is not None:
            out[name] = plan_term
            continue
        if name.endswith("_keys"):
            if not isinstance(value, list | tuple):
                raise RenderError(f"parameter {name} must be a list of catalogue keys, not {value!r}")
            rendered: object = Html(separator(catalogue, lang).join(catalogue.t(lang, str(k)) for k in value))
            derived[name.removesuffix("_keys")] = rendered
        elif name.endswith("_key"):
            if not isinstance(value, str):
                raise RenderError(f"parameter {name} must be a catalogue key, not {value!r}")
            rendered = Html(catalogue.t(lang, value))
            derived[name.removesuffix("_key")] = rendered
        elif value is None:
            rendered = ""
        elif isinstance(value, list | tuple):
            # plain values in a list: escaped one by one, joined like a list of keys
            rendered = Html(separator(catalogue, lang).join(escape(v) for v in value))
        else:
            rendered = value
        out[name] = rendered
    for name, value in derived.items():
        out.setdefault(name, value)
    return out


def separator(catalogue: Catalogue, lang: str) -> str:
    for key in LIST_SEPARATOR_KEYS:
        for language in (lang, DEFAULT_LANG):
            text = catalogue.raw(language, key)
            if text:
                return text
    return FALLBACK_SEPARATORS.get(lang, ", ")


def keyboard(catalogue: Catalogue, lang: str, rows: object) -> InlineKeyboardMarkup:
    """``[[{"label_key", "label_params", "data" | "url"}, ...], ...]`` as inline buttons."""
    if not _is_list(rows):
        raise RenderError(f"buttons must be rows of buttons, not {rows!r}")
    markup: list[list[InlineKeyboardButton]] = []
    for row in rows:
        if not _is_list(row):
            raise RenderError(f"a row of buttons must be a list, not {row!r}")
        markup.append([_button(catalogue, lang, spec) for spec in row])
    return InlineKeyboardMarkup(markup)


def _button(catalogue: Catalogue, lang: str, spec: object) -> InlineKeyboardButton:
    if not isinstance(spec, Mapping) or not isinstance(spec.get("label_key"), str):
        raise RenderError(f"a button needs a label_key: {spec!r}")
    # A label is plain text, not HTML: undo the escaping the catalogue gives parameters, or a
    # unit called "A&B" would read "A&amp;B" on the button.
    label = html.unescape(_text(catalogue, lang, spec["label_key"], spec.get("label_params"), "label"))
    data, url = spec.get("data"), spec.get("url")
    if isinstance(data, str):
        return InlineKeyboardButton(label, callback_data=data)
    if isinstance(url, str):
        return InlineKeyboardButton(label, url=url)
    raise RenderError(f"a button needs callback data or a url: {spec!r}")


def _text(
    catalogue: Catalogue, lang: str, key: object, params: object, what: str, terms: PlanTerms | None = None
) -> str:
    if not isinstance(key, str):
        raise RenderError(f"the {what} key must be a string, not {key!r}")
    if params is None:
        params = {}
    if not isinstance(params, Mapping):
        raise RenderError(f"the {what} parameters must be an object, not {params!r}")
    return catalogue.t(lang, key, **fill_params(catalogue, lang, params, terms))


def _is_list(value: object) -> TypeGuard[Sequence[object]]:
    return isinstance(value, Sequence) and not isinstance(value, str | bytes)
