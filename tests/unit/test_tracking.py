"""Tracking numbers: canonical round trip, and forged or malformed input refused."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import ValidationFailed
from core.tracking import TrackingNumber, format_tracking_no, parse_tracking_no

prefixes = st.from_regex(r"\A[A-Z]{2,8}\Z")
years = st.integers(min_value=1000, max_value=9999)
sequences = st.integers(min_value=1, max_value=999_999)


@pytest.mark.parametrize(
    ("prefix", "year", "seq", "text"),
    [
        ("ZH", 2026, 123, "ZH-2026-000123"),
        ("ZH", 2014, 1, "ZH-2014-000001"),
        ("ZH", 2014, 999_999, "ZH-2014-999999"),
        ("QPDIST", 2030, 42, "QPDIST-2030-000042"),
    ],
)
def test_format_and_parse(prefix: str, year: int, seq: int, text: str) -> None:
    assert format_tracking_no(prefix, year, seq) == text
    assert parse_tracking_no(text) == TrackingNumber(prefix, year, seq)
    assert str(parse_tracking_no(text)) == text


@given(prefixes, years, sequences)
def test_round_trip(prefix: str, year: int, seq: int) -> None:
    text = format_tracking_no(prefix, year, seq)
    parsed = parse_tracking_no(text)
    assert (parsed.prefix, parsed.year, parsed.sequence) == (prefix, year, seq)
    assert str(parsed) == text
    assert parse_tracking_no(text, prefix=prefix) == parsed


@pytest.mark.parametrize(
    "text",
    [
        "",
        "ZH",
        "ZH-2026-123",  # not zero-padded
        "ZH-2026-0000123",  # seven digits
        "ZH-26-000123",
        "ZH-2026-000000",  # sequences start at 1
        "ZH-0999-000123",
        "zh-2026-000123",  # strict: canonical capitals only
        " ZH-2026-000123",
        "ZH-2026-000123 ",
        "ZH-2026-000123\n",
        "ZH_2026_000123",
        "ZH--2026-000123",
        "ZH-2026-+00123",
        "ZH-2026--00123",
        "Z-2026-000123",
        "ABCDEFGHI-2026-000123",
        "ZH-２０２６-000123",  # full-width digits
        "ZH-2026-00012३",  # Devanagari digit that int() would read
        "ΖΗ-2026-000123",  # Greek capitals that look Latin
        "ZH-2026-000123; DROP TABLE cases",
        "ZH-2026-000123\x00",
        "<b>ZH-2026-000123</b>",
        "case:ZH-2026-000123",
    ],
)
def test_malformed_or_forged_is_refused(text: str) -> None:
    with pytest.raises(ValidationFailed) as err:
        parse_tracking_no(text)
    assert err.value.params == {"field": "tracking_no"}


def test_another_campaigns_number_is_refused_when_the_prefix_is_given() -> None:
    assert parse_tracking_no("QP-2026-000123").prefix == "QP"
    with pytest.raises(ValidationFailed):
        parse_tracking_no("QP-2026-000123", prefix="ZH")


@pytest.mark.parametrize(
    "typed",
    ["zh-2026-000123", "  ZH-2026-000123\n", "ｚｈ－２０２６－０００１２３", "ＺＨ-2026-000123"],
)
def test_lenient_parse_accepts_what_people_type(typed: str) -> None:
    assert parse_tracking_no(typed, lenient=True) == TrackingNumber("ZH", 2026, 123)


@pytest.mark.parametrize("typed", ["ZH 2026 000123", "ZH-2026-123", "ZH-2026-00012३", "ZH—2026—000123"])
def test_lenient_parse_still_refuses_garbage(typed: str) -> None:
    with pytest.raises(ValidationFailed):
        parse_tracking_no(typed, lenient=True)


@given(st.text(max_size=40))
def test_any_text_either_parses_to_itself_or_is_refused(text: str) -> None:
    try:
        parsed = parse_tracking_no(text)
    except ValidationFailed:
        return
    assert str(parsed) == text


@given(st.text(max_size=40))
def test_lenient_parse_refuses_or_returns_the_normalised_text(text: str) -> None:
    try:
        parsed = parse_tracking_no(text, lenient=True)
    except ValidationFailed:
        return
    assert str(parsed) == unicodedata.normalize("NFKC", text).strip().upper()


@given(prefixes, years, sequences, st.text(min_size=1, max_size=5))
def test_anything_appended_is_refused(prefix: str, year: int, seq: int, junk: str) -> None:
    with pytest.raises(ValidationFailed):
        parse_tracking_no(format_tracking_no(prefix, year, seq) + junk)


@pytest.mark.parametrize(
    ("prefix", "year", "seq"),
    [
        ("zh", 2026, 1),
        ("Z", 2026, 1),
        ("ZH1", 2026, 1),
        ("ZH", 999, 1),
        ("ZH", 10000, 1),
        ("ZH", 2026, 0),
        ("ZH", 2026, 1_000_000),
    ],
)
def test_format_refuses_bad_parts(prefix: str, year: int, seq: int) -> None:
    with pytest.raises(ValueError):
        format_tracking_no(prefix, year, seq)
