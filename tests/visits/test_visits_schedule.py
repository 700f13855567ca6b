"""Free slots from weekly hours and exceptions in the clinic's time zone (frozen clock)."""

from __future__ import annotations

import datetime as dt

import pytest

from telespine.visits import HoursError, free_slots, local_label, parse_spans

UTC = dt.UTC
WEEK = {"mon": parse_spans("09:00-10:00"), "tue": parse_spans("09:00-10:00, 14:00-14:40")}


def test_slots_follow_weekly_hours_in_the_clinics_zone() -> None:
    now = dt.datetime(2026, 6, 1, 0, 0, tzinfo=UTC)  # a Monday; London is UTC+1 in summer
    slots = free_slots(WEEK, {}, "Europe/London", [], now, days=1)
    assert slots == [
        dt.datetime(2026, 6, 1, 8, 0, tzinfo=UTC),
        dt.datetime(2026, 6, 1, 8, 20, tzinfo=UTC),
        dt.datetime(2026, 6, 1, 8, 40, tzinfo=UTC),
        dt.datetime(2026, 6, 2, 8, 0, tzinfo=UTC),
        dt.datetime(2026, 6, 2, 8, 20, tzinfo=UTC),
        dt.datetime(2026, 6, 2, 8, 40, tzinfo=UTC),
        dt.datetime(2026, 6, 2, 13, 0, tzinfo=UTC),
        dt.datetime(2026, 6, 2, 13, 20, tzinfo=UTC),
    ]
    assert local_label(slots[0], "Europe/London") == "Mon 1 Jun 2026, 09:00 (Europe/London)"
    assert local_label(slots[0], "America/New_York") == "Mon 1 Jun 2026, 04:00 (America/New_York)"


def test_same_wall_hours_move_in_utc_across_the_dst_change() -> None:
    winter = free_slots(WEEK, {}, "Europe/London", [], dt.datetime(2026, 1, 5, tzinfo=UTC), days=0)
    summer = free_slots(WEEK, {}, "Europe/London", [], dt.datetime(2026, 6, 1, tzinfo=UTC), days=0)
    assert winter[0].hour == 9 and summer[0].hour == 8


def test_spring_forward_gap_and_half_hour_zones_keep_real_slots_on_the_utc_grid() -> None:
    week = {"sun": parse_spans("01:00-03:00")}
    now = dt.datetime(2026, 3, 29, 0, 0, tzinfo=UTC)  # London skips 01:00-02:00 that Sunday
    slots = free_slots(week, {}, "Europe/London", [], now, days=0, lead_minutes=0)
    # 01:00 does not exist that night: the span starts when the clocks have gone forward
    assert slots == [dt.datetime(2026, 3, 29, 1, m, tzinfo=UTC) for m in (0, 20, 40)]
    assert local_label(slots[0], "Europe/London") == "Sun 29 Mar 2026, 02:00 (Europe/London)"
    india = free_slots(
        {"mon": parse_spans("09:00-10:00")},
        {},
        "Asia/Kolkata",
        [],
        dt.datetime(2026, 6, 1, tzinfo=UTC) - dt.timedelta(hours=6),
        days=1,
        lead_minutes=0,
    )
    assert india and all((s.hour * 60 + s.minute) % 20 == 0 for s in india)  # 09:00 IST is 03:30 UTC
    assert india[0] == dt.datetime(2026, 6, 1, 3, 40, tzinfo=UTC)


def test_exceptions_replace_a_day_and_bookings_and_lead_time_remove_slots() -> None:
    now = dt.datetime(2026, 6, 1, 7, 30, tzinfo=UTC)
    day_off = {dt.date(2026, 6, 2): []}
    slots = free_slots(
        WEEK, day_off, "Europe/London", [dt.datetime(2026, 6, 1, 8, 40, tzinfo=UTC)], now, days=1
    )
    assert slots == []  # 08:00 and 08:20 are within the hour's lead time, 08:40 is booked, Tuesday off
    extra = {dt.date(2026, 6, 6): parse_spans("10:00-10:20")}  # a Saturday clinic
    assert free_slots(WEEK, extra, "Europe/London", [], now, days=5)[-1] == dt.datetime(
        2026, 6, 6, 9, 0, tzinfo=UTC
    )


@pytest.mark.parametrize("text", ["9-12", "12:00-09:00", "09:00-11:00, 10:00-12:00", "25:00-26:00"])
def test_unreadable_hours_are_refused(text: str) -> None:
    with pytest.raises(HoursError):
        parse_spans(text)


def test_unknown_zone_is_refused() -> None:
    with pytest.raises(HoursError):
        free_slots(WEEK, {}, "Mars/Olympus", [], dt.datetime(2026, 6, 1, tzinfo=UTC))
