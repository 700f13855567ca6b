"""One definition per idea: the audiences and which dispositions telemedicine can serve."""

from __future__ import annotations

import pytest

from telespine.program import PROGRAM_DISPOSITIONS
from telespine.triage.types import AUDIENCES, Disposition, audience_for_age, is_audience


def test_the_audiences_are_the_adult_and_the_parent_of_a_child() -> None:
    assert AUDIENCES == ("adult", "pediatric")
    assert all(is_audience(a) for a in AUDIENCES)
    assert not is_audience("child") and not is_audience(None) and not is_audience("Adult")
    assert audience_for_age(17.99) == "pediatric" and audience_for_age(18) == "adult"


@pytest.mark.parametrize(
    ("disposition", "allowed"),
    [
        (Disposition.EMERGENCY, False),
        (Disposition.URGENT, False),
        (Disposition.PROMPT, False),
        (Disposition.ROUTINE, True),
        (Disposition.TELEMEDICINE, True),
    ],
)
def test_only_routine_and_telemedicine_allow_telemedicine(disposition: Disposition, allowed: bool) -> None:
    assert disposition.allows_telemedicine is allowed


def test_program_dispositions_follow_allows_telemedicine() -> None:
    assert set(PROGRAM_DISPOSITIONS) == {d for d in Disposition if d.allows_telemedicine}
