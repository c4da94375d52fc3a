"""The text catalogue: complete in both languages, escaping what users type."""

from __future__ import annotations

import pytest

import core.errors as errors
from bot.commands import CITIZEN_COMMANDS
from bot.i18n import DEFAULT_LANG, LANGUAGES, Catalogue, Html, escape, language_for
from core.states import CaseState


def domain_error_keys() -> set[str]:
    return {
        cls.key
        for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, errors.DomainError)
    }


def test_both_languages_have_the_same_keys(catalogue: Catalogue) -> None:
    zh, en = catalogue.keys("zh"), catalogue.keys("en")
    assert zh - en == set(), "missing in en.toml"
    assert en - zh == set(), "missing in zh.toml"


# Keys whose texts may pick different parameters per language (the code passes all of them).
LANGUAGE_SPECIFIC_PLACEHOLDERS = {"start.area_line": {"number", "numeral", "plain"}}


def test_both_languages_use_the_same_placeholders(catalogue: Catalogue) -> None:
    for key in catalogue.keys(DEFAULT_LANG):
        zh, en = catalogue.placeholders("zh", key), catalogue.placeholders("en", key)
        if key in LANGUAGE_SPECIFIC_PLACEHOLDERS:
            assert zh | en <= LANGUAGE_SPECIFIC_PLACEHOLDERS[key], key
        else:
            assert zh == en, key


@pytest.mark.parametrize("state", list(CaseState))
def test_every_case_state_has_a_label(catalogue: Catalogue, state: CaseState) -> None:
    for lang in LANGUAGES:
        assert catalogue.has(f"state.{state.value}", lang)


def test_every_domain_error_has_a_text(catalogue: Catalogue) -> None:
    keys = domain_error_keys()
    assert "error.not_allowed" in keys
    for key in keys:
        for lang in LANGUAGES:
            assert catalogue.has(key, lang), (lang, key)


def test_every_menu_command_has_a_description(catalogue: Catalogue) -> None:
    for command in CITIZEN_COMMANDS:
        for lang in LANGUAGES:
            description = catalogue.raw(lang, command.description_key)
            assert description and len(description) <= 256  # Telegram's limit


def test_parameters_are_escaped_and_html_passes_through() -> None:
    cat = Catalogue({"zh": {"k": "<b>{name}</b> {list} {n}"}})
    text = cat.t("zh", "k", name="<script>&", list=Html("<i>x</i>"), n=3)
    assert text == "<b>&lt;script&gt;&amp;</b> <i>x</i> 3"


def test_a_key_missing_in_english_falls_back_to_chinese_and_an_unknown_key_shows_itself() -> None:
    cat = Catalogue({"zh": {"only.zh": "中文"}, "en": {}})
    assert cat.t("en", "only.zh") == "中文"
    assert cat.t("en", "no.such.key") == "no.such.key"


def test_a_missing_parameter_stays_visible_instead_of_crashing() -> None:
    cat = Catalogue({"zh": {"k": "电话 {phone}"}})
    assert cat.t("zh", "k", other=1) == "电话 {phone}"


def test_escape_leaves_quotes_alone() -> None:
    assert escape('say "hi" & <go>') == 'say "hi" &amp; &lt;go&gt;'


@pytest.mark.parametrize(
    ("stored", "telegram", "expected"),
    [
        ("en", "zh-hans", "en"),  # /lang wins over Telegram
        ("zh", "en", "zh"),
        (None, "en", "en"),
        (None, "en-GB", "en"),
        (None, "EN-us", "en"),
        (None, "zh-hans", "zh"),
        (None, "ru", "zh"),  # the campaign's language by default
        (None, None, "zh"),
        ("fr", "en", "en"),  # a stored value we do not support is ignored
    ],
)
def test_language_choice(stored: str | None, telegram: str | None, expected: str) -> None:
    assert language_for(stored, telegram) == expected
