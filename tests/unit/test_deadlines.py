"""Deadlines, three-colour warnings, supervision, escalation, reminders and quiet hours."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.calendar import ChineseCalendarSource, WorkingDays
from core.cases import WarningColour
from core.deadlines import (
    CaseDeadlines,
    Deadline,
    DeadlineRules,
    QuietHours,
    Reminder,
    ReminderKind,
    pending_deadlines,
    worst_colour,
)
from core.errors import ValidationFailed
from core.states import CaseState

D = date
SH = ZoneInfo("Asia/Shanghai")
RULES = DeadlineRules(WorkingDays(ChineseCalendarSource()), "Asia/Shanghai")
C = WarningColour


def at(y: int, m: int, d: int, hh: int = 10, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=SH)


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


# --- deadlines from assignment -------------------------------------------------------------


@pytest.mark.parametrize(
    ("assigned_at", "answer", "sign_due", "answer_due"),
    [
        # the Friday before National Day 2014: Sun 09-28 (调休) is day 1, then 09-29, 09-30,
        # the holiday week is skipped, Sat 10-11 (调休) counts
        (at(2014, 9, 26), 5, D(2014, 9, 28), D(2014, 10, 9)),
        (at(2014, 9, 26), 10, D(2014, 9, 28), D(2014, 10, 15)),
        (at(2014, 9, 26), 15, D(2014, 9, 28), D(2014, 10, 22)),
        (at(2014, 9, 26, 23, 59), 5, D(2014, 9, 28), D(2014, 10, 9)),
        # assigned on the 调休 Sunday itself: a working day, counted from the day after
        (at(2014, 9, 28), 5, D(2014, 9, 29), D(2014, 10, 10)),
        (at(2014, 9, 28), 10, D(2014, 9, 29), D(2014, 10, 16)),
        (at(2014, 9, 28), 15, D(2014, 9, 29), D(2014, 10, 23)),
        # assigned during the holiday: counts from the first working day after it
        (at(2014, 10, 3), 5, D(2014, 10, 8), D(2014, 10, 13)),
        (at(2014, 10, 7, 18), 15, D(2014, 10, 8), D(2014, 10, 27)),
        # Spring Festival 2015
        (at(2015, 2, 17), 5, D(2015, 2, 25), D(2015, 3, 2)),  # Sat 02-28 counts
    ],
)
def test_deadlines_skip_holidays_and_count_make_up_days(
    assigned_at: datetime, answer: int, sign_due: date, answer_due: date
) -> None:
    assert RULES.for_assignment(assigned_at, sign_for=1, answer=answer) == CaseDeadlines(sign_due, answer_due)


@pytest.mark.parametrize(
    ("day_off", "last_workday"),
    [
        (at(2014, 9, 27), at(2014, 9, 26)),  # Saturday before the 调休 Sunday
        (at(2014, 10, 1), at(2014, 9, 30)),  # National Day
        (at(2014, 10, 5, 22), at(2014, 9, 30, 8)),
        (at(2015, 2, 21), at(2015, 2, 17)),  # Spring Festival
        (at(2014, 11, 9), at(2014, 11, 7)),  # an ordinary Sunday
    ],
)
@pytest.mark.parametrize("answer", [5, 10, 15])
def test_case_assigned_on_a_day_off_counts_from_the_next_working_day(
    day_off: datetime, last_workday: datetime, answer: int
) -> None:
    # day 1 is the first working day after the day off, exactly as for a case assigned on
    # the last working day before it
    got = RULES.for_assignment(day_off, sign_for=1, answer=answer)
    assert got == RULES.for_assignment(last_workday, sign_for=1, answer=answer)
    assert got.sign_due == RULES.wd.next_workday(day_off.date())


def test_assignment_day_is_read_in_the_campaign_time_zone() -> None:
    # 2014-09-28 16:30 UTC is already Monday 09-29 00:30 in Shanghai
    utc = datetime(2014, 9, 28, 16, 30, tzinfo=UTC)
    assert RULES.for_assignment(utc, sign_for=1, answer=5) == CaseDeadlines(D(2014, 9, 30), D(2014, 10, 11))
    naive_local = datetime(2014, 9, 28, 16, 30)
    assert RULES.for_assignment(naive_local, sign_for=1, answer=5).sign_due == D(2014, 9, 29)


@pytest.mark.parametrize(("sign_for", "answer"), [(0, 5), (1, 0), (-1, 5)])
def test_deadlines_need_at_least_one_working_day(sign_for: int, answer: int) -> None:
    with pytest.raises(ValueError):
        RULES.for_assignment(at(2014, 9, 26), sign_for=sign_for, answer=answer)


# --- extension -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("due", "days", "limit", "new_due"),
    [
        (D(2014, 10, 9), 5, 5, D(2014, 10, 15)),  # over the 调休 Saturday 10-11
        (D(2014, 10, 9), 1, 5, D(2014, 10, 10)),
        (D(2014, 9, 30), 1, 5, D(2014, 10, 8)),  # over the holiday
        (D(2014, 9, 30), 15, 15, D(2014, 10, 27)),
    ],
)
def test_extension_adds_working_days_up_to_the_same_length(
    due: date, days: int, limit: int, new_due: date
) -> None:
    assert RULES.extend(due, days, limit=limit) == new_due


@pytest.mark.parametrize(("days", "limit"), [(0, 5), (-1, 5), (6, 5), (11, 10)])
def test_extension_beyond_the_answer_length_is_refused(days: int, limit: int) -> None:
    with pytest.raises(ValidationFailed) as err:
        RULES.extend(D(2014, 10, 9), days, limit=limit)
    assert err.value.params["field"] == "extension_days"
    assert err.value.key == "error.validation"


@pytest.mark.parametrize(
    ("today", "extended", "allowed"),
    [
        (D(2014, 10, 8), False, True),
        (D(2014, 10, 9), False, True),  # due by the end of the day: still before the deadline
        (D(2014, 10, 10), False, False),
        (D(2014, 10, 8), True, False),  # one extension per case
    ],
)
def test_extension_is_asked_for_once_and_before_the_deadline(
    today: date, extended: bool, allowed: bool
) -> None:
    assert RULES.may_request_extension(D(2014, 10, 9), today, extended=extended) is allowed


# --- three colours -------------------------------------------------------------------------


def _colours(due: date, first: date, last: date) -> dict[date, WarningColour]:
    return {d: RULES.colour(due, d) for d in days(first, last)}


def test_colours_day_by_day_for_a_case_due_after_national_day() -> None:
    # assigned Fri 2014-09-26, 5 working days: due Thu 10-09
    due = RULES.for_assignment(at(2014, 9, 26), sign_for=1, answer=5).answer_due
    assert due == D(2014, 10, 9)
    expected = dict.fromkeys(days(D(2014, 9, 26), D(2014, 10, 7)), C.NONE)
    expected |= {D(2014, 10, 8): C.BLUE, D(2014, 10, 9): C.YELLOW}
    expected |= dict.fromkeys(days(D(2014, 10, 10), D(2014, 10, 20)), C.RED)
    assert _colours(due, D(2014, 9, 26), D(2014, 10, 20)) == expected


def test_blue_is_raised_before_the_holiday_not_during_it() -> None:
    # due on the first working day after the holiday: the last working day before it is
    # the one with one working day left; the holiday itself shows no colour
    due = D(2014, 10, 8)
    expected = {D(2014, 9, 29): C.NONE, D(2014, 9, 30): C.BLUE}
    expected |= dict.fromkeys(days(D(2014, 10, 1), D(2014, 10, 7)), C.NONE)
    expected |= {D(2014, 10, 8): C.YELLOW, D(2014, 10, 9): C.RED}
    assert _colours(due, D(2014, 9, 29), D(2014, 10, 9)) == expected


@pytest.mark.parametrize(
    ("due", "today", "colour"),
    [
        (D(2014, 10, 13), D(2014, 10, 11), C.BLUE),  # the 调休 Saturday is a working day
        (D(2014, 10, 13), D(2014, 10, 12), C.NONE),  # Sunday
        (D(2014, 10, 13), D(2014, 10, 10), C.NONE),  # two working days left
        (D(2015, 2, 25), D(2015, 2, 17), C.BLUE),
        (D(2015, 2, 25), D(2015, 2, 20), C.NONE),
        (D(2015, 2, 16), D(2015, 2, 15), C.BLUE),  # 调休 Sunday
    ],
)
def test_colour_follows_working_days(due: date, today: date, colour: WarningColour) -> None:
    assert RULES.colour(due, today) is colour


@pytest.mark.parametrize(
    ("state", "today", "colour"),
    [
        # sign due 09-28, answer due 10-09
        (CaseState.ASSIGNED, D(2014, 9, 26), C.BLUE),  # signing is due next working day
        (CaseState.ASSIGNED, D(2014, 9, 29), C.RED),  # not signed in time
        (CaseState.SIGNED, D(2014, 9, 29), C.NONE),  # signed: only the answer deadline runs
        (CaseState.EXTENSION_REQUESTED, D(2014, 10, 9), C.YELLOW),
        (CaseState.ANSWERED, D(2014, 10, 20), C.NONE),
        (CaseState.RETURNED, D(2014, 10, 20), C.NONE),
    ],
)
def test_case_colour_is_the_worst_of_its_running_deadlines(
    state: CaseState, today: date, colour: WarningColour
) -> None:
    deadlines = CaseDeadlines(D(2014, 9, 28), D(2014, 10, 9))
    assert RULES.case_colour(state, deadlines, today) is colour


def test_worst_colour() -> None:
    assert worst_colour([]) is C.NONE
    assert worst_colour([C.BLUE, C.RED, C.YELLOW]) is C.RED
    assert worst_colour([C.NONE, C.BLUE]) is C.BLUE


@pytest.mark.parametrize(
    ("state", "running"),
    [
        (CaseState.DRAFT, set()),
        (CaseState.SUBMITTED, set()),
        (CaseState.TRIAGE, set()),
        (CaseState.ASSIGNED, {Deadline.SIGN, Deadline.ANSWER}),
        (CaseState.SIGNED, {Deadline.ANSWER}),
        (CaseState.EXTENSION_REQUESTED, {Deadline.ANSWER}),
        (CaseState.ANSWERED, set()),
        (CaseState.RETURNED, set()),
        (CaseState.REOPENED, set()),
        (CaseState.CLOSED, set()),
        (CaseState.REJECTED, set()),
    ],
)
def test_pending_deadlines_by_state(state: CaseState, running: set[Deadline]) -> None:
    assert set(pending_deadlines(state, CaseDeadlines(D(2014, 9, 28), D(2014, 10, 9)))) == running


# --- supervision and escalation --------------------------------------------------------------


@pytest.mark.parametrize(
    ("due", "supervision", "escalation"),
    [
        # due the last day before National Day: 督办 on the first day after it,
        # 通报 five working days later (10-08, 09, 10, Sat 10-11, 10-13)
        (D(2014, 9, 30), D(2014, 10, 8), D(2014, 10, 13)),
        (D(2014, 10, 10), D(2014, 10, 11), D(2014, 10, 16)),  # Friday → the 调休 Saturday
        (D(2014, 9, 26), D(2014, 9, 28), D(2014, 10, 9)),  # → the 调休 Sunday
        (D(2015, 2, 17), D(2015, 2, 25), D(2015, 3, 2)),  # Spring Festival, Sat 02-28 counts
        (D(2014, 11, 7), D(2014, 11, 10), D(2014, 11, 14)),  # ordinary weekend
    ],
)
def test_supervision_and_escalation_days(due: date, supervision: date, escalation: date) -> None:
    assert RULES.supervision_day(due) == supervision
    assert RULES.escalation_day(due) == escalation
    assert RULES.overdue_by(due, supervision) == 1
    assert RULES.overdue_by(due, escalation) == 5
    assert RULES.overdue_by(due, due) == 0
    assert RULES.overdue_by(due, due - timedelta(days=3)) == 0


def test_escalation_threshold_is_configurable() -> None:
    rules = DeadlineRules(RULES.wd, "Asia/Shanghai", escalate_after=2)
    assert rules.escalation_day(D(2014, 9, 30)) == D(2014, 10, 9)
    with pytest.raises(ValueError):
        DeadlineRules(RULES.wd, "Asia/Shanghai", escalate_after=0)


@pytest.mark.parametrize(
    ("today", "supervision_cutoff", "escalation_cutoff"),
    [
        (D(2014, 10, 13), D(2014, 10, 12), D(2014, 10, 7)),
        (D(2014, 10, 8), D(2014, 10, 7), D(2014, 9, 25)),  # 10-08, 09-30, 29, 28, 26
        (D(2014, 10, 4), D(2014, 9, 29), D(2014, 9, 24)),  # a holiday: the latest day is 09-30
    ],
)
def test_cutoffs_for_sql(today: date, supervision_cutoff: date, escalation_cutoff: date) -> None:
    assert RULES.supervision_cutoff(today) == supervision_cutoff
    assert RULES.escalation_cutoff(today) == escalation_cutoff


cal_dates = st.dates(min_value=D(2004, 1, 1), max_value=D(2026, 12, 1))


@given(cal_dates, st.integers(min_value=-20, max_value=40))
def test_cutoffs_agree_with_the_day_by_day_rules(today: date, offset: int) -> None:
    due = today - timedelta(days=offset)
    assert (RULES.supervision_day(due) <= today) is (due <= RULES.supervision_cutoff(today))
    assert (RULES.escalation_day(due) <= today) is (due <= RULES.escalation_cutoff(today))


@given(cal_dates, st.integers(min_value=1, max_value=30), st.sampled_from(list(CaseState)))
def test_nothing_is_due_beyond_the_horizon(today: date, ahead: int, state: CaseState) -> None:
    due = RULES.reminder_horizon(today) + timedelta(days=ahead)
    assert RULES.reminders_due(1, state, CaseDeadlines(due, due), today) == []
    assert RULES.colour(due, today) is C.NONE


# --- reminders -------------------------------------------------------------------------------


def test_reminder_key_is_stable_and_names_everything() -> None:
    r = Reminder(42, Deadline.ANSWER, ReminderKind.BLUE, D(2014, 10, 9))
    assert r.key == "42:answer:blue:2014-10-09"
    assert r.key == Reminder(42, Deadline.ANSWER, ReminderKind.BLUE, D(2014, 10, 9)).key


def test_daily_pass_sends_each_reminder_once_on_its_day() -> None:
    """A case assigned Fri 2014-09-26 that nobody signs: run the pass twice every day."""
    deadlines = RULES.for_assignment(at(2014, 9, 26), sign_for=1, answer=5)
    outbox: dict[str, date] = {}  # key -> first day; a unique key refuses repeats
    attempts = 0
    for today in days(D(2014, 9, 26), D(2014, 10, 31)):
        for _ in range(2):
            for r in RULES.reminders_due(42, CaseState.ASSIGNED, deadlines, today):
                attempts += 1
                outbox.setdefault(r.key, today)
    assert outbox == {
        "42:sign:yellow:2014-09-28": D(2014, 9, 28),
        "42:sign:supervision:2014-09-28": D(2014, 9, 29),
        "42:answer:blue:2014-10-09": D(2014, 10, 8),
        "42:answer:yellow:2014-10-09": D(2014, 10, 9),
        "42:answer:supervision:2014-10-09": D(2014, 10, 10),
        "42:answer:escalation:2014-10-09": D(2014, 10, 15),
        # three working days after the 通报 step: Thu 16, Fri 17, Mon 20
        "42:answer:leader:2014-10-09": D(2014, 10, 20),
    }
    assert attempts > len(outbox)  # the pass did repeat itself; the keys kept it to one each


@pytest.mark.parametrize(
    ("today", "keys"),
    [
        (D(2014, 9, 26), []),  # no blue for signing: the assignment notice just said it
        (D(2014, 9, 27), []),
        (D(2014, 10, 8), ["7:answer:blue:2014-10-09"]),
        (D(2014, 10, 9), ["7:answer:yellow:2014-10-09"]),
        (D(2014, 10, 10), ["7:answer:supervision:2014-10-09"]),
        # a pass that missed days catches up on supervision and escalation, not on colours
        (D(2014, 10, 17), ["7:answer:supervision:2014-10-09", "7:answer:escalation:2014-10-09"]),
        # ... and on the leaders' step
        (
            D(2014, 10, 20),
            [
                "7:answer:supervision:2014-10-09",
                "7:answer:escalation:2014-10-09",
                "7:answer:leader:2014-10-09",
            ],
        ),
    ],
)
def test_reminders_of_a_signed_case(today: date, keys: list[str]) -> None:
    deadlines = CaseDeadlines(D(2014, 9, 28), D(2014, 10, 9))
    assert [r.key for r in RULES.reminders_due(7, CaseState.SIGNED, deadlines, today)] == keys


def test_an_extension_earns_fresh_reminders_for_the_new_due_date() -> None:
    old = CaseDeadlines(D(2014, 9, 28), D(2014, 10, 9))
    new = CaseDeadlines(old.sign_due, RULES.extend(old.answer_due, 5, limit=5))
    assert new.answer_due == D(2014, 10, 15)
    before = [r.key for r in RULES.reminders_due(7, CaseState.SIGNED, old, D(2014, 10, 8))]
    after = [r.key for r in RULES.reminders_due(7, CaseState.SIGNED, new, D(2014, 10, 14))]
    assert before == ["7:answer:blue:2014-10-09"]
    assert after == ["7:answer:blue:2014-10-15"]
    assert RULES.reminders_due(7, CaseState.SIGNED, new, D(2014, 10, 10)) == []


@pytest.mark.parametrize("state", [CaseState.ANSWERED, CaseState.CLOSED, CaseState.RETURNED])
def test_no_reminders_once_the_unit_is_done_or_off_the_case(state: CaseState) -> None:
    deadlines = CaseDeadlines(D(2014, 9, 28), D(2014, 10, 9))
    assert RULES.reminders_due(7, state, deadlines, D(2014, 10, 20)) == []


# --- follow-up -------------------------------------------------------------------------------


def test_follow_up_expires_three_calendar_days_after_the_answer() -> None:
    answered = at(2014, 9, 30, 15)
    assert RULES.follow_up_expires(answered) == at(2014, 10, 3, 15)  # holidays do not matter


# --- quiet hours -----------------------------------------------------------------------------

NIGHT = QuietHours(time(21, 0), time(8, 0))
LUNCH = QuietHours(time(12, 0), time(14, 0))
NONE = QuietHours(time(0, 0), time(0, 0))


@pytest.mark.parametrize(
    ("quiet", "hhmm", "inside"),
    [
        (NIGHT, (20, 59), False),
        (NIGHT, (21, 0), True),
        (NIGHT, (23, 59), True),
        (NIGHT, (0, 0), True),
        (NIGHT, (7, 59), True),
        (NIGHT, (8, 0), False),
        (NIGHT, (12, 0), False),
        (LUNCH, (11, 59), False),
        (LUNCH, (12, 0), True),
        (LUNCH, (13, 59), True),
        (LUNCH, (14, 0), False),
        (NONE, (0, 0), False),
        (NONE, (23, 0), False),
    ],
)
def test_quiet_hours_contains(quiet: QuietHours, hhmm: tuple[int, int], inside: bool) -> None:
    assert quiet.contains(at(2014, 9, 30, *hhmm)) is inside


@pytest.mark.parametrize(
    ("quiet", "when", "allowed"),
    [
        (NIGHT, at(2014, 9, 30, 22, 30), at(2014, 10, 1, 8)),  # evening: tomorrow morning
        (NIGHT, at(2014, 12, 31, 23, 0), at(2015, 1, 1, 8)),  # across the year end
        (NIGHT, at(2014, 10, 1, 3, 0), at(2014, 10, 1, 8)),  # small hours: this morning
        (NIGHT, at(2014, 10, 1, 10, 0), at(2014, 10, 1, 10)),  # daytime: now
        (LUNCH, at(2014, 10, 1, 12, 30), at(2014, 10, 1, 14)),
        (LUNCH, at(2014, 10, 1, 14, 0), at(2014, 10, 1, 14)),
    ],
)
def test_quiet_hours_next_allowed(quiet: QuietHours, when: datetime, allowed: datetime) -> None:
    got = quiet.next_allowed(when)
    assert got == allowed
    assert got.tzinfo is not None
    assert not quiet.contains(got)


def test_quiet_hours_read_in_their_time_zone() -> None:
    night = QuietHours(time(21, 0), time(8, 0), SH)
    utc = datetime(2014, 9, 30, 14, 0, tzinfo=UTC)  # 22:00 in Shanghai
    assert night.contains(utc)
    assert night.next_allowed(utc) == at(2014, 10, 1, 8)
    assert not NIGHT.contains(utc)  # without a zone, the datetime's own wall clock


@given(st.datetimes(min_value=datetime(2014, 1, 1), max_value=datetime(2030, 1, 1)))
def test_next_allowed_is_never_quiet_and_never_early(when: datetime) -> None:
    for quiet in (NIGHT, LUNCH, NONE):
        got = quiet.next_allowed(when)
        assert got >= when
        assert not quiet.contains(got)
        assert got - when <= timedelta(hours=11)


@pytest.mark.parametrize(
    ("text", "quiet"),
    [
        ("21:00-08:00", NIGHT),
        (" 21:00 - 8:00 ", NIGHT),
        ("12:00-14:00", LUNCH),
    ],
)
def test_quiet_hours_parse(text: str, quiet: QuietHours) -> None:
    assert QuietHours.parse(text) == quiet


@pytest.mark.parametrize(
    "text", ["", "21:00", "21-08", "25:00-08:00", "21:00-08:60", "21:00-08:00-09:00", "２１:00-08:00"]
)
def test_quiet_hours_parse_refuses_malformed(text: str) -> None:
    with pytest.raises(ValueError):
        QuietHours.parse(text)


# The leaders' step: ``leader_after`` working days after the 通报 step, counted over the
# calendar like every deadline (make-up Saturdays count, holiday weeks do not).
@pytest.mark.parametrize(
    ("due", "leader_day"),
    [
        # 5 + 3 working days after Thu 2014-10-09: 10, 11 (make-up Saturday), 13, 14, 15 | 16, 17, 20
        (D(2014, 10, 9), D(2014, 10, 20)),
        # due Tue 2014-09-30: the National Day week (Oct 1-7) counts nothing; Sep 28 and Oct 11
        # were make-up working days: 8, 9, 10, 11, 13 | 14, 15, 16
        (D(2014, 9, 30), D(2014, 10, 16)),
        # an ordinary week: due Mon 2014-11-03 → Mon 11-10 (5), then 11, 12, 13
        (D(2014, 11, 3), D(2014, 11, 13)),
    ],
)
def test_leader_day_comes_leader_after_working_days_after_the_escalation(due: date, leader_day: date) -> None:
    assert RULES.leader_day(due) == leader_day
    assert RULES.wd.working_days_between(RULES.escalation_day(due), leader_day) == RULES.leader_after


def test_the_leaders_step_is_only_for_the_answer_and_only_from_its_day() -> None:
    due = D(2014, 11, 3)
    running = CaseDeadlines(due, due)
    kinds = lambda today: {  # noqa: E731
        (r.deadline, r.kind) for r in RULES.reminders_due(7, CaseState.ASSIGNED, running, today)
    }
    assert (Deadline.ANSWER, ReminderKind.LEADER) not in kinds(D(2014, 11, 12))
    assert (Deadline.ANSWER, ReminderKind.LEADER) in kinds(D(2014, 11, 13))
    assert (Deadline.SIGN, ReminderKind.LEADER) not in kinds(D(2014, 12, 31))
    # answered: nothing runs any more
    assert RULES.reminders_due(7, CaseState.ANSWERED, running, D(2014, 12, 31)) == []


def test_leader_after_must_be_a_working_day_at_least() -> None:
    with pytest.raises(ValueError, match="leader_after"):
        DeadlineRules(RULES.wd, "Asia/Shanghai", leader_after=0)
