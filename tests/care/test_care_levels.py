"""care.levels: the level each view shows from the engine's result, floors and an override."""

from __future__ import annotations

import datetime as dt

import pytest

from telespine.care.levels import FloorView, OverrideView, active_floor, is_red_flag_level, shown_levels

T0 = dt.datetime(2026, 3, 2, 12, tzinfo=dt.UTC)


def floor(level: str, minutes: int = 0, cleared: bool = False, source: str = "message") -> FloorView:
    return FloorView(
        level=level, source=source, raised_at=T0 + dt.timedelta(minutes=minutes), cleared=cleared
    )


def test_no_floor_no_override_is_the_engines_result() -> None:
    levels = shown_levels("telemedicine", [], None)
    assert (levels.patient, levels.clinician, levels.floor) == ("telemedicine", "telemedicine", None)
    assert not levels.held_by_floor


def test_a_milder_result_never_goes_below_an_active_floor() -> None:
    levels = shown_levels("telemedicine", [floor("emergency")], None)
    assert levels.patient == levels.clinician == "emergency" and levels.held_by_floor


def test_a_cleared_floor_no_longer_holds() -> None:
    levels = shown_levels("telemedicine", [floor("emergency", cleared=True)], None)
    assert levels.patient == levels.clinician == "telemedicine" and levels.floor is None


def test_a_floor_below_the_engines_result_changes_nothing() -> None:
    levels = shown_levels("emergency", [floor("prompt")], None)
    assert levels.patient == "emergency" and not levels.held_by_floor


def test_the_most_urgent_active_floor_holds_and_the_earliest_of_equals() -> None:
    floors = [
        floor("prompt", 0),
        floor("emergency", 5),
        floor("emergency", 1),
        floor("emergency", 0, cleared=True),
    ]
    held = active_floor(floors)
    assert held is not None and held.level == "emergency" and held.raised_at == T0 + dt.timedelta(minutes=1)


def test_a_clinician_lowering_override_shows_only_to_clinicians_and_never_below_a_floor() -> None:
    lower = OverrideView("telemedicine", on_latest_version=True)
    levels = shown_levels("prompt", [], lower)
    assert (levels.patient, levels.clinician) == ("prompt", "telemedicine")
    held = shown_levels("prompt", [floor("urgent")], lower)
    assert (held.patient, held.clinician) == ("urgent", "urgent")


def test_an_override_of_an_older_version_counts_only_through_its_floor() -> None:
    old = OverrideView("emergency", on_latest_version=False)
    assert shown_levels("telemedicine", [], old).patient == "telemedicine"
    kept = shown_levels("telemedicine", [floor("emergency", source="override")], old)
    assert kept.patient == kept.clinician == "emergency"


@pytest.mark.parametrize(
    ("level", "red"),
    [
        ("emergency", True),
        ("urgent", True),
        ("prompt", True),
        ("routine", False),
        ("telemedicine", False),
        ("??", True),
    ],
)
def test_red_flag_levels_boundary(level: str, red: bool) -> None:
    assert is_red_flag_level(level) is red  # an unknown value counts as emergency


def test_an_unknown_floor_level_counts_as_emergency() -> None:
    assert shown_levels("telemedicine", [floor("garbled")], None).patient == "garbled"
