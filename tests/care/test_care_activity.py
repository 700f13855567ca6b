"""The activity rule: a sustained fall in daily steps with rising diary pain asks for a review."""

from __future__ import annotations

import datetime as dt

import pytest

from telespine.care.activity import evaluate_activity, load_activity_rules
from telespine.care.diary import CaseState, DiaryEntry
from telespine.care.escalation import load_escalation_rules
from telespine.care.wearables import DailySteps
from telespine.content.loader import load_sources

TODAY = dt.date(2026, 6, 10)  # a Wednesday
NOW = dt.datetime(2026, 6, 10, 12, 0, tzinfo=dt.UTC)  # the frozen clock
CASE = CaseState(case_id="c1", findings={"age_years": 40}, treatment_started_on=dt.date(2026, 5, 1))
NO_FLAGS = {q.id: "no" for q in load_escalation_rules().red_flag_check}


def steps(before: int, after: int, recent_days: int = 7, base_days: int = 14) -> list[DailySteps]:
    out = [DailySteps(day=TODAY - dt.timedelta(days=i), steps=after) for i in range(recent_days)]
    out += [DailySteps(day=TODAY - dt.timedelta(days=7 + i), steps=before) for i in range(base_days)]
    return out


def pains(before: int, after: int) -> list[DiaryEntry]:
    days = [(TODAY - dt.timedelta(days=i), after) for i in (0, 2, 4)]
    days += [(TODAY - dt.timedelta(days=i), before) for i in (8, 12, 16)]
    return [
        DiaryEntry(day=d, pain=p, function=5, medicine_use="none", red_flag_check=NO_FLAGS) for d, p in days
    ]


def fired(
    step_list: list[DailySteps], entries: list[DiaryEntry], now: dt.datetime = NOW, case: CaseState = CASE
):
    return evaluate_activity(case, step_list, entries, now)


def test_rule_file_is_strict_and_cites_known_sources() -> None:
    rules = load_activity_rules()
    known = set(load_sources().sources)
    assert set(rules.sources) <= known
    assert all(set(r.sources) <= known for r in rules.rules)
    with pytest.raises(ValueError):
        type(rules).model_validate({**rules.model_dump(), "extra": 1})


def test_fall_with_rising_pain_asks_for_review() -> None:
    [esc] = fired(steps(6000, 3000), pains(4, 6))
    assert esc.rule_id == "care.activity_down_pain_up" and esc.action == "review"
    assert esc.key == "c1:care.activity_down_pain_up:2026-06-08"  # Monday of the local week
    assert "6000/day" in esc.details and "3000/day" in esc.details and "4.0 -> 6.0" in esc.details


@pytest.mark.parametrize(
    ("after", "fires"),
    [(4200, True), (4201, False)],  # 30% of 6000 is 1800: 4200 is the boundary
)
def test_fall_boundary_pair(after: int, fires: bool) -> None:
    assert bool(fired(steps(6000, after), pains(4, 6))) is fires


def test_pain_rise_boundary_pair() -> None:
    assert fired(steps(6000, 3000), pains(4, 5))  # +1.0
    # +0.67: entries 4,4,4 before; 5,5,4 after
    entries = pains(4, 5)
    entries[2] = entries[2].model_copy(update={"pain": 4})
    assert not fired(steps(6000, 3000), entries)


def test_fewer_steps_alone_or_more_pain_alone_do_not_fire() -> None:
    assert not fired(steps(6000, 3000), pains(5, 5))
    assert not fired(steps(6000, 6000), pains(3, 8))


def test_too_little_data_does_not_fire() -> None:
    assert not fired(steps(6000, 3000, recent_days=3), pains(4, 6))
    assert not fired(steps(6000, 3000, base_days=6), pains(4, 6))
    assert not fired(steps(6000, 3000), pains(4, 6)[3:])  # no recent pain entries


def test_baseline_pain_of_the_case_is_used_without_earlier_entries() -> None:
    case = CASE.model_copy(update={"baseline_pain": 3.0})
    assert fired(steps(6000, 3000), pains(4, 5)[:3], case=case)
    assert not fired(steps(6000, 3000), pains(4, 5)[:3])  # no baseline at all: nothing to compare


def test_days_after_the_patients_today_are_ignored_and_the_zone_sets_today() -> None:
    future = [DailySteps(day=TODAY + dt.timedelta(days=i), steps=0) for i in range(1, 8)]
    assert not fired(steps(6000, 6000) + future, pains(4, 6))
    # At 23:30 UTC on the 9th it is already the 10th in Auckland, so the windows move by a day.
    late = dt.datetime(2026, 6, 9, 23, 30, tzinfo=dt.UTC)
    assert not fired(steps(6000, 3000), pains(4, 6), now=late)  # UTC: today is the 9th
    auckland = CASE.model_copy(update={"timezone": "Pacific/Auckland"})
    assert fired(steps(6000, 3000), pains(4, 6), now=late, case=auckland)


def test_key_is_stable_within_a_week_and_new_the_next_week() -> None:
    a = fired(steps(6000, 3000), pains(4, 6))[0].key
    thursday = NOW + dt.timedelta(days=1)
    shifted = [DailySteps(day=s.day + dt.timedelta(days=1), steps=s.steps) for s in steps(6000, 3000)]
    moved = [e.model_copy(update={"day": e.day + dt.timedelta(days=1)}) for e in pains(4, 6)]
    assert fired(shifted, moved, now=thursday)[0].key == a
    next_week = NOW + dt.timedelta(days=7)
    shifted = [DailySteps(day=s.day + dt.timedelta(days=7), steps=s.steps) for s in steps(6000, 3000)]
    moved = [e.model_copy(update={"day": e.day + dt.timedelta(days=7)}) for e in pains(4, 6)]
    assert fired(shifted, moved, now=next_week)[0].key.endswith("2026-06-15")


def test_naive_clock_is_refused() -> None:
    with pytest.raises(ValueError):
        fired(steps(6000, 3000), pains(4, 6), now=dt.datetime(2026, 6, 10, 12, 0))
