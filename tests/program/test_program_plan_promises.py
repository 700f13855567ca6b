"""The written plan promises no call it cannot keep (issue 10, part 6): "a clinician will call
you" only when a clinic has the case and a phone number is on record (callback=True)."""

from __future__ import annotations

from datetime import UTC, datetime

from telespine.program.plan import build_plan, parse_answers, render_html
from telespine.triage import triage

NOW = datetime(2026, 5, 4, 9, 30, tzinfo=UTC)
# "not sure" about a warning sign: the result lists it as unresolved
UNSURE = {
    "age_years": 40,
    "location": "low_back",
    "onset": "gradual",
    "duration_days": 6,
    "pain_score": 5,
    "saddle_numbness": "unknown",
}


def test_a_plan_without_a_callback_never_promises_a_call() -> None:
    result = triage(UNSURE)
    assert result.unresolved
    html = render_html(build_plan(UNSURE, result, parse_answers({}), NOW))
    assert "will call you" not in html and "Go over them with a doctor" in html
    with_number = render_html(build_plan(UNSURE, result, parse_answers({}), NOW, callback=True))
    assert "A clinician will call you to go over them" in with_number
