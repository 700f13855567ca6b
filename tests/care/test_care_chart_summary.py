"""The chart at a glance in words (care.chart_summary, issue 11): every finding of the schema has
clinician words, positives come first with a fired rule's finding leading and marked, an unknown
is called out (never a no), and scores read as the instrument reports them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from telespine.care.chart_summary import findings_in_words, load_chart_words, score_text

SCHEMA = Path(__file__).resolve().parents[2] / "src" / "telespine" / "triage" / "findings.schema.json"


def test_every_finding_and_every_value_of_the_schema_has_words() -> None:
    schema = json.loads(SCHEMA.read_text())
    words = load_chart_words()
    assert set(words.findings) == set(schema["properties"])
    for name, prop in schema["properties"].items():
        w = words.findings[name]
        if "enum" in prop:
            assert w.kind in ("context", "level"), name
            assert {str(v) for v in prop["enum"] if v != "unknown"} == set(w.values), name
        elif prop.get("$ref") == "#/$defs/flag":
            assert w.kind == "flag", name
        elif prop.get("$ref") == "#/$defs/course":
            assert w.kind == "course", name
        else:
            assert w.kind == "number", name


def test_positives_first_red_flags_leading_unknowns_called_out() -> None:
    view = findings_in_words(
        {
            "age_years": 52,
            "pain_score": 7.0,
            "night_pain": True,
            "leg_weakness": "progressive",
            "saddle_numbness": True,
            "fever": "unknown",
            "bladder": "normal",
            "trauma": "none",
            "leg_numbness": "none",
            "pregnant": False,
        },
        fired_reads={"saddle_numbness", "bladder"},
    )
    assert [line.name for line in view.positives] == ["saddle_numbness", "night_pain", "leg_weakness"]
    assert [line.red_flag for line in view.positives] == [True, False, False]
    assert view.positives[2].text == "Leg weakness: getting worse over days"
    assert [line.text for line in view.unknowns] == ["Fever (38 C or more, or chills and sweats): not sure"]
    assert {line.name for line in view.negatives} == {"bladder", "trauma", "leg_numbness", "pregnant"}
    assert "Pregnant: no" in [line.text for line in view.negatives]
    assert [line.text for line in view.facts] == ["Age: 52 years", "Worst pain in the last 24 hours: 7/10"]


def test_a_finding_without_words_is_still_listed_and_unknown_is_never_a_no() -> None:
    view = findings_in_words({"new_schema_field": "yes", "bowel": "unknown", "cancer_history": "past"})
    assert [line.text for line in view.facts] == ["new schema field: yes"]
    assert [line.name for line in view.unknowns] == ["bowel"] and view.negatives == []
    assert [line.text for line in view.positives] == ["Cancer history: in the past"]


@pytest.mark.parametrize(
    ("instrument", "value", "shown"),
    [("peg", 13 / 3, "4.3 (0 to 10)"), ("peg", 7.0, "7.0 (0 to 10)"), ("startback", 5.0, "5 (0 to 9)")],
)
def test_scores_as_the_instrument_reports_them(instrument: str, value: float, shown: str) -> None:
    assert score_text(instrument, value) == shown


def test_an_unknown_instrument_still_gives_a_short_number() -> None:
    assert score_text("retired-instrument", 13 / 3) == "4.3"
