"""Property tests of the policy's hard safety properties over generated findings documents."""

from __future__ import annotations

from typing import Any

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from telespine.triage import evaluate, load_ruleset, triage
from telespine.triage.findings import FindingSpec, finding_specs
from telespine.triage.types import Disposition, TriageResult, audience_for_age

SPECS = finding_specs()
NUMBER_RANGES = {
    "age_years": (0, 120),
    "pain_score": (0, 10),
    "duration_days": (0, 500),
    "weeks_on_treatment_without_improvement": (0, 60),
}
NOT_PRESENT = (None, False, "none", "normal")
COURSE_ORDER = ["none", "stable", "progressive", "sudden"]


def _number(name: str) -> st.SearchStrategy[float | int]:
    lo, hi = NUMBER_RANGES[name]
    return st.one_of(st.integers(lo, hi), st.floats(lo, hi, allow_nan=False, allow_infinity=False))


def _value(spec: FindingSpec) -> st.SearchStrategy[Any]:
    if spec.kind == "flag":
        return st.sampled_from([True, False, "unknown"])
    if spec.kind in {"course", "enum"}:
        return st.sampled_from(spec.values)
    return _number(spec.name)


def _present(spec: FindingSpec) -> st.SearchStrategy[Any]:
    """Values that count as a present finding (never absent, none, normal or unknown)."""
    if spec.kind == "flag":
        return st.just(True)
    if spec.kind in {"course", "enum"}:
        return st.sampled_from([v for v in spec.values if v not in {"none", "normal", "unknown"}])
    return _number(spec.name)


findings_docs = st.fixed_dictionaries(
    {"age_years": _number("age_years")},
    optional={name: _value(spec) for name, spec in SPECS.items() if name != "age_years"},
)
OTHER_NAMES = [n for n in SPECS if n != "age_years"]
COURSES = [n for n, s in SPECS.items() if s.kind == "course"]


@settings(max_examples=150, deadline=None)
@given(findings_docs)
def test_every_valid_document_gets_exactly_one_disposition(doc: dict[str, Any]) -> None:
    result = triage(doc)
    assert isinstance(result.disposition, Disposition)
    assert not result.safety_net
    expected = Disposition.most_urgent([r.level for r in result.rules])
    assert result.disposition == expected
    assert result.audience == audience_for_age(doc["age_years"])
    # the engine builds its result without re-validation: it must equal a validated one
    assert TriageResult.model_validate_json(result.model_dump_json()) == result


@settings(max_examples=100, deadline=None)
@given(findings_docs)
def test_deterministic_whatever_the_key_order(doc: dict[str, Any]) -> None:
    first = evaluate(doc)
    again = evaluate(dict(reversed(list(doc.items()))))
    assert first == again == triage(doc)


@settings(max_examples=150, deadline=None)
@given(findings_docs, st.data())
def test_adding_a_present_finding_never_makes_it_less_urgent(
    doc: dict[str, Any], data: st.DataObject
) -> None:
    name = data.draw(st.sampled_from(OTHER_NAMES))
    assume(doc.get(name) in NOT_PRESENT)
    value = data.draw(_present(SPECS[name]))
    before, after = evaluate(doc), evaluate({**doc, name: value})
    assert after.disposition.level <= before.disposition.level


@settings(max_examples=120, deadline=None)
@given(findings_docs, st.data())
def test_a_worse_course_never_makes_it_less_urgent(doc: dict[str, Any], data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(COURSES))
    current = doc.get(name, "none")
    assume(current in COURSE_ORDER[:-1])
    worse = data.draw(st.sampled_from(COURSE_ORDER[COURSE_ORDER.index(current) + 1 :]))
    before, after = evaluate(doc), evaluate({**doc, name: worse})
    assert after.disposition.level <= before.disposition.level


@settings(max_examples=120, deadline=None)
@given(findings_docs, st.integers(0, 10), st.integers(0, 10))
def test_raising_the_pain_score_never_makes_it_less_urgent(doc: dict[str, Any], a: int, b: int) -> None:
    low, high = min(a, b), max(a, b)
    assert (
        evaluate({**doc, "pain_score": high}).disposition.level
        <= evaluate({**doc, "pain_score": low}).disposition.level
    )


@settings(max_examples=150, deadline=None)
@given(findings_docs, st.data())
def test_unknown_is_never_telemedicine_for_findings_that_reach_prompt(
    doc: dict[str, Any], data: st.DataObject
) -> None:
    audience = audience_for_age(doc["age_years"])
    reach = sorted(
        n
        for n in load_ruleset().can_reach_prompt(audience)
        if SPECS[n].kind in {"flag", "course"} or "unknown" in SPECS[n].values
    )
    name = data.draw(st.sampled_from(reach))
    result = evaluate({**doc, name: "unknown"})
    assert result.disposition.level <= Disposition.PROMPT.level
    assert name in result.unresolved


@settings(max_examples=100, deadline=None)
@given(findings_docs)
def test_emergency_rule_means_emergency_whatever_else(doc: dict[str, Any]) -> None:
    result = evaluate({**doc, "saddle_numbness": True})
    assert result.disposition == Disposition.EMERGENCY
