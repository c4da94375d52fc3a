"""The retention rules (core.retention): when a closed case's identity is erased, and what
the masking of free text keeps."""

from __future__ import annotations

from datetime import date

import pytest

from core.plan import Plan
from core.retention import PHONE_MASK, RetentionPolicy, scrub_json, scrub_text
from core.states import CaseState

ASSESSMENT = date(2014, 12, 31)
POLICY = RetentionPolicy(assessment=ASSESSMENT, days=180)  # kept until 2015-06-29


@pytest.mark.parametrize(
    ("state", "closed_on", "erase_after"),
    [
        # closed during the campaign: kept until the assessment plus the period
        (CaseState.CLOSED, date(2014, 8, 20), date(2015, 6, 29)),
        (CaseState.REJECTED, date(2014, 7, 25), date(2015, 6, 29)),
        # closed on the assessment's day: the same
        (CaseState.CLOSED, ASSESSMENT, date(2015, 6, 29)),
        # closed after the assessment: its own close plus the period
        (CaseState.CLOSED, date(2015, 2, 1), date(2015, 7, 31)),
        # open cases are never erased by the pass, whatever their dates
        (CaseState.ANSWERED, date(2014, 8, 20), None),
        (CaseState.ASSIGNED, None, None),
        (CaseState.REOPENED, date(2014, 8, 20), None),
        (CaseState.TRIAGE, None, None),
        # final without a close date (should not happen): kept, never guessed
        (CaseState.CLOSED, None, None),
    ],
)
def test_erase_after(state: CaseState, closed_on: date | None, erase_after: date | None) -> None:
    assert POLICY.erase_after(state, closed_on) == erase_after


@pytest.mark.parametrize(
    ("closed_on", "today", "due"),
    [
        (date(2014, 8, 20), date(2015, 6, 29), False),  # the last day kept
        (date(2014, 8, 20), date(2015, 6, 30), True),  # the day after
        (date(2015, 2, 1), date(2015, 6, 30), False),  # closed after the assessment: later
        (date(2015, 2, 1), date(2015, 7, 31), False),
        (date(2015, 2, 1), date(2015, 8, 1), True),
    ],
)
def test_is_due_and_the_pass_cut_agree(closed_on: date, today: date, due: bool) -> None:
    assert POLICY.is_due(CaseState.CLOSED, closed_on, today) is due
    cut = POLICY.closed_before(today)
    assert (cut is not None and closed_on < cut) is due


def test_nothing_is_due_while_the_assessment_period_runs() -> None:
    assert POLICY.closed_before(date(2015, 6, 29)) is None
    assert POLICY.closed_before(date(2015, 6, 30)) == date(2015, 1, 1)


def test_open_case_is_never_due() -> None:
    assert not POLICY.is_due(CaseState.ASSIGNED, date(2014, 1, 1), date(2030, 1, 1))


def test_zero_days_erases_the_day_after_the_assessment() -> None:
    policy = RetentionPolicy(assessment=ASSESSMENT, days=0)
    assert not policy.is_due(CaseState.CLOSED, date(2014, 9, 1), ASSESSMENT)
    assert policy.is_due(CaseState.CLOSED, date(2014, 9, 1), date(2015, 1, 1))


def test_negative_days_are_refused() -> None:
    with pytest.raises(ValueError):
        RetentionPolicy(assessment=ASSESSMENT, days=-1)


def test_the_assessment_defaults_to_the_campaigns_last_day(plan: Plan) -> None:
    assert RetentionPolicy.for_plan(plan, 30).assessment == plan.end
    assert RetentionPolicy.for_plan(plan, 30, date(2014, 12, 20)).assessment == date(2014, 12, 20)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("请回电 13812345678 谢谢", f"请回电 {PHONE_MASK} 谢谢"),
        ("call +86 138-1234-5678 please", f"call {PHONE_MASK} please"),
        ("电话0756-8123456", f"电话{PHONE_MASK}"),
        ("8613812345678", PHONE_MASK),
        # numbers that are not phones stay: the tracking number, dates, sums, an id
        ("ZH-2014-000123", "ZH-2014-000123"),
        ("2014年8月20日 罚款500元", "2014年8月20日 罚款500元"),
        ("receipt 202408201234567890", "receipt 202408201234567890"),
    ],
)
def test_scrub_masks_phone_like_numbers_only(text: str, expected: str) -> None:
    assert scrub_text(text) == expected


def test_scrub_masks_the_complainants_own_details() -> None:
    text = "我是张小明, 邮箱 zxm@example.org, 在窗口被刁难"
    out = scrub_text(text, ["张小明", "zxm@example.org", None, "x"])
    assert "张小明" not in out and "zxm@example.org" not in out
    assert "在窗口被刁难" in out  # the complaint's words stay
    assert scrub_text("x marks", ["x"]) == "x marks"  # one character is not looked for


def test_scrub_json_reaches_nested_strings() -> None:
    value = {"text_params": {"note": "13812345678"}, "list": ["a", "0756-8123456"], "n": 5}
    assert scrub_json(value) == {"text_params": {"note": PHONE_MASK}, "list": ["a", PHONE_MASK], "n": 5}
