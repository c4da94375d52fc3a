"""The text catalogue: every user-facing string, by key, in Simplified Chinese and English.

Texts are HTML (we send with ``ParseMode.HTML``). Parameters are escaped on the way in, because
most of them come from users (names, complaint text, unit names typed by hand); a caller that
has already built safe HTML (for instance a list made of other catalogue entries) wraps it in
``Html`` to pass it through unchanged.
"""

from __future__ import annotations

import html
import string
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Final

DEFAULT_LANG: Final = "zh"
LANGUAGES: Final = ("zh", "en")
LOCALES_DIR: Final = Path(__file__).parent / "locales"


class Html(str):
    """A string that is already safe HTML; the catalogue does not escape it again."""

    __slots__ = ()


def escape(value: object) -> Html:
    """Escape text for Telegram's HTML parse mode (``<``, ``>`` and ``&``)."""
    if isinstance(value, Html):
        return value
    # quotes need no escaping outside attributes, and we never put user text in one
    return Html(html.escape(str(value), quote=False))


def language_for(stored: str | None, telegram_code: str | None) -> str:
    """The user's language: the stored choice (``/lang``), else Telegram's language_code.

    Telegram's code is a IETF tag such as ``en``, ``en-GB`` or ``zh-hans``; English speakers get
    English, everybody else the default (the campaign is a Chinese district's).
    """
    if stored in LANGUAGES:
        return stored
    if telegram_code and telegram_code.lower().startswith("en"):
        return "en"
    return DEFAULT_LANG


class CatalogueError(Exception):
    pass


class Catalogue:
    """Texts by language and dotted key (``start.intro``), loaded from TOML tables."""

    def __init__(self, texts: Mapping[str, Mapping[str, str]]) -> None:
        if DEFAULT_LANG not in texts:
            raise CatalogueError(f"the default language {DEFAULT_LANG!r} is missing")
        self._texts = {lang: dict(entries) for lang, entries in texts.items()}

    @classmethod
    def load(cls, directory: Path = LOCALES_DIR, languages: Iterable[str] = LANGUAGES) -> Catalogue:
        texts: dict[str, dict[str, str]] = {}
        for lang in languages:
            path = directory / f"{lang}.toml"
            try:
                with path.open("rb") as fh:
                    data = tomllib.load(fh)
            except (OSError, tomllib.TOMLDecodeError) as exc:
                raise CatalogueError(f"{path}: {exc}") from exc
            texts[lang] = _flatten(data, path)
        return cls(texts)

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(self._texts)

    def keys(self, lang: str = DEFAULT_LANG) -> frozenset[str]:
        return frozenset(self._texts.get(lang, {}))

    def has(self, key: str, lang: str = DEFAULT_LANG) -> bool:
        return key in self._texts.get(lang, {})

    def t(self, lang: str, key: str, /, **params: Any) -> str:
        """The text for ``key`` in ``lang`` (falling back to the default language) with
        ``params`` escaped and filled in. An unknown key returns the key itself, so a missing
        text shows up as a visible bug rather than a crash in front of a user."""
        template = self._texts.get(lang, {}).get(key)
        if template is None:
            template = self._texts[DEFAULT_LANG].get(key)
        if template is None:
            return key
        if not params:
            return template
        return template.format_map(_Escaped(params))

    def raw(self, lang: str, key: str) -> str | None:
        """The unformatted template, or None; for tests and tools."""
        return self._texts.get(lang, {}).get(key)

    def placeholders(self, lang: str, key: str) -> frozenset[str]:
        template = self.raw(lang, key) or ""
        return frozenset(name for _, name, _, _ in string.Formatter().parse(template) if name)


class _Escaped(dict[str, Any]):
    """format_map mapping: escapes text values; numbers and dates format as usual; a
    placeholder the caller did not pass stays visible instead of raising."""

    def __getitem__(self, key: str) -> Any:
        value = super().__getitem__(key)
        if isinstance(value, str):
            return escape(value)
        return value

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _flatten(data: Mapping[str, Any], path: Path, prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in data.items():
        key = f"{prefix}{name}"
        if isinstance(value, Mapping):
            out.update(_flatten(value, path, key + "."))
        elif isinstance(value, str):
            out[key] = value
        else:
            raise CatalogueError(f"{path}: {key} must be text, got {type(value).__name__}")
    return out
