"""The visit note is pre-filled concisely: main complaint, positives, unknowns called out, the
disposition with the rules, and the newest score per questionnaire as the instrument reports it."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from telespine.store.repo_care import note_template


def test_note_template_is_concise_and_calls_out_unknowns() -> None:
    version = SimpleNamespace(
        findings={
            "schema_version": "1",
            "age_years": 58,
            "location": "low_back",
            "onset": "gradual",
            "duration_days": 3,
            "pain_score": 7,
            "fever": True,
            "bladder": "unknown",
            "saddle_numbness": False,
            "leg_weakness": "none",
        },
        result={"rules": [{"id": "adult.fever", "title": "Fever with back pain"}]},
        disposition="prompt",
    )
    scores = [
        SimpleNamespace(
            instrument_id="peg", primary=13 / 3, taken_at=dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
        ),
        SimpleNamespace(instrument_id="peg", primary=5.0, taken_at=dt.datetime(2026, 11, 20, tzinfo=dt.UTC)),
    ]
    note = note_template(version, scores)  # type: ignore[arg-type]
    s = note["subjective"]
    assert s.startswith("Reported at assessment: Age 58. low back, onset gradual, 3 days, pain 7/10.")
    assert "Positive: fever." in s and "Unknown (not asked or not sure): bladder." in s
    assert "saddle" not in s and "leg weakness" not in s and "schema" not in s  # no dump of every answer
    assert (
        note["assessment"]
        == "Triage result: prompt. Rules: Fever with back pain. Scores: peg 5 (2026-11-20)."
    )
    assert "4.333" not in note["assessment"]
