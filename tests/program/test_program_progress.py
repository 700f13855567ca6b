"""program.progress.program_week: the plan's week follows the check-ins (each calendar week with
one moves the person on, the calendar caps it) and progress is the latest pain against the one
before; boundary pairs named for what they test."""

from __future__ import annotations

import datetime as dt

from telespine.program.exercises import stage_for
from telespine.program.progress import CheckinPoint, program_week

START = dt.date(2026, 3, 2)


def _day(n: int) -> dt.date:
    return START + dt.timedelta(days=n)


def test_no_check_in_stays_in_week_one_whatever_the_calendar() -> None:
    w = program_week(START, _day(40), [])
    assert (w.week, w.progress, w.calendar_week) == (1, "unknown", 6)


def test_each_week_with_a_check_in_moves_one_week_on() -> None:
    pts = [CheckinPoint(_day(6), 6), CheckinPoint(_day(13), 5), CheckinPoint(_day(20), 4)]
    assert program_week(START, _day(21), pts).week == 4
    assert program_week(START, _day(21), pts[:1]).week == 2  # stopped checking in after week 1


def test_two_check_ins_in_one_week_count_once() -> None:
    pts = [CheckinPoint(_day(1), 6), CheckinPoint(_day(3), 5)]
    assert program_week(START, _day(10), pts).week == 2


def test_the_calendar_caps_the_week() -> None:
    pts = [CheckinPoint(_day(d), 5) for d in (0, 1, 2)]
    assert program_week(START, _day(2), pts).week == 1  # still the first calendar week


def test_check_ins_after_today_are_ignored() -> None:
    assert program_week(START, _day(8), [CheckinPoint(_day(30), 1)]).week == 1


def test_pain_down_one_point_is_better_and_down_less_is_the_same() -> None:
    one = [CheckinPoint(_day(6), 6), CheckinPoint(_day(13), 5)]
    assert program_week(START, _day(14), one).progress == "better"
    assert program_week(START, _day(14), [CheckinPoint(_day(13), 6)], baseline_pain=6.5).progress == "same"


def test_pain_up_one_point_is_worse() -> None:
    pts = [CheckinPoint(_day(6), 4), CheckinPoint(_day(13), 5)]
    assert program_week(START, _day(14), pts).progress == "worse"


def test_the_first_check_in_compares_with_the_pain_at_the_start() -> None:
    assert program_week(START, _day(7), [CheckinPoint(_day(6), 3)], baseline_pain=6).progress == "better"
    assert program_week(START, _day(7), [CheckinPoint(_day(6), 3)]).progress == "unknown"


def test_a_check_in_fourteen_days_old_counts_and_fifteen_days_old_does_not() -> None:
    pts = [CheckinPoint(_day(6), 6), CheckinPoint(_day(13), 4)]
    assert program_week(START, _day(27), pts).progress == "better"
    assert program_week(START, _day(28), pts).progress == "unknown"


def test_worse_goes_back_to_the_gentle_start_and_unknown_never_moves_up() -> None:
    better = program_week(START, _day(35), [CheckinPoint(_day(7 * k), 7 - k) for k in range(5)])
    assert better.week == 6 and stage_for(better.week, better.progress, "adult").level == 3
    worse = program_week(START, _day(35), [CheckinPoint(_day(7 * k), 3 + k) for k in range(5)])
    assert stage_for(worse.week, worse.progress, "adult").level == 1
    stale = program_week(START, _day(60), [CheckinPoint(_day(7 * k), 7 - k) for k in range(5)])
    assert stage_for(stale.week, stale.progress, "adult").level < 3
