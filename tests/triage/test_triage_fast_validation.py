"""The fast findings check (jsonschema-rs) gives exactly the reference answer and error message.

validate_findings trusts jsonschema-rs only when it says "valid"; every other document goes to
the reference path (Python jsonschema), which words the error. These tests compare the two on
many generated documents: valid ones, near misses and hostile values.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from telespine.triage import findings as fm
from telespine.triage.findings import FindingsError, finding_specs, validate_findings

SPECS = finding_specs()
NAMES = list(SPECS)
ALL_ENUM_VALUES = sorted({v for s in SPECS.values() for v in s.values})


def outcome(fn: Any, doc: object) -> tuple[Any, ...]:
    """("ok", result) or ("error", field, problem), so two validators can be compared."""
    try:
        return ("ok", fn(doc))
    except FindingsError as exc:
        return ("error", exc.field, exc.problem)


def reference(doc: object) -> dict[str, Any]:
    """The validation before the fast path: type check, then Python jsonschema only."""
    if not isinstance(doc, dict):
        raise FindingsError("(document)", "findings must be a JSON object")
    return fm._validate_reference(doc)


def _same(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    # NaN != NaN, so compare accepted documents through their JSON text (allow_nan keeps NaN visible)
    if a[0] == b[0] == "ok":

        def text(value: object) -> str:
            return json.dumps(value, sort_keys=True, default=repr)

        return text(a[1]) == text(b[1])
    return a == b


def good_value(spec: fm.FindingSpec) -> st.SearchStrategy[Any]:
    if spec.kind == "flag":
        return st.sampled_from([True, False, "unknown"])
    if spec.kind in {"course", "enum"}:
        return st.sampled_from(spec.values)
    prop = fm.findings_schema()["properties"][spec.name]
    low, high = prop.get("minimum", 0), prop.get("maximum", 400)
    return st.one_of(st.integers(low, high), st.floats(low, high, allow_nan=False))


ANY_VALUE = st.one_of(
    st.booleans(),
    st.none(),
    st.integers(),
    st.integers(min_value=10**18, max_value=10**40),
    st.integers(min_value=-(10**40), max_value=-(10**18)),
    st.floats(),  # includes NaN, infinities, -0.0 and huge numbers
    st.sampled_from([0, 1, 0.0, 1.0, -1, 10, 10.5, 120, 120.0, 120.0000001, -0.0]),
    st.sampled_from([*ALL_ENUM_VALUES, "Unknown", "TRUE", "true", "yes", "", " none"]),
    st.text(max_size=8),
    st.lists(st.sampled_from([True, "unknown", 1]), max_size=2),
    st.dictionaries(st.sampled_from(["a", "fever"]), st.booleans(), max_size=2),
)

KEYS = st.one_of(
    st.sampled_from(NAMES),
    st.sampled_from(["fevr", "Fever", "age", "", "id", "findings", "age_years "]),
    st.text(max_size=6),
)


@st.composite
def near_valid(draw: st.DrawFn) -> dict[Any, Any]:
    """A valid document with a few changes: a wrong value, an unknown key, a missing age."""
    names = draw(st.lists(st.sampled_from(NAMES), max_size=12, unique=True))
    doc: dict[Any, Any] = {"age_years": draw(good_value(SPECS["age_years"]))}
    for name in names:
        doc[name] = draw(good_value(SPECS[name]))
    for _ in range(draw(st.integers(0, 3))):
        doc[draw(KEYS)] = draw(ANY_VALUE)
    if draw(st.integers(0, 9)) == 0:
        doc.pop("age_years", None)
    return doc


@st.composite
def valid(draw: st.DrawFn) -> dict[str, Any]:
    names = draw(st.lists(st.sampled_from(NAMES), max_size=len(NAMES), unique=True))
    doc: dict[str, Any] = {"age_years": draw(good_value(SPECS["age_years"]))}
    for name in names:
        doc[name] = draw(good_value(SPECS[name]))
    return doc


def test_fast_validator_is_in_use() -> None:
    assert fm._fast_is_valid() is not None


def test_a_valid_document_never_reaches_the_reference_validator(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(doc: object) -> dict[str, Any]:
        raise AssertionError("reference path used for a valid document")

    monkeypatch.setattr(fm, "_validate_reference", fail)
    doc = {"age_years": 41, "fever": True, "leg_weakness": "progressive", "bladder": "unknown"}
    out = validate_findings(doc)
    assert out == doc
    assert out is not doc  # a copy, as before


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid())
def test_valid_documents_are_accepted_as_before(doc: dict[str, Any]) -> None:
    assert _same(outcome(validate_findings, doc), outcome(reference, doc))
    assert outcome(validate_findings, doc)[0] == "ok"


@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(near_valid())
def test_near_misses_give_the_same_answer_and_message(doc: dict[Any, Any]) -> None:
    assert _same(outcome(validate_findings, doc), outcome(reference, doc))


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.dictionaries(st.one_of(KEYS, st.integers()), ANY_VALUE, max_size=6), ANY_VALUE))
def test_arbitrary_values_give_the_same_answer_and_message(doc: object) -> None:
    assert _same(outcome(validate_findings, doc), outcome(reference, doc))


@pytest.mark.parametrize(
    ("doc", "field", "problem"),
    [
        ({"age_years": 40, "fevr": True}, "fevr", "unknown finding (not in the findings schema)"),
        ({"fever": True}, "age_years", "required finding is missing"),
        ({"age_years": 40, "fever": 1}, "fever", 'value 1 is not allowed; use one of true, false, "unknown"'),
        ({"age_years": 121}, "age_years", "value 121 is above the maximum 120"),
        ({"age_years": -1}, "age_years", "value -1 is below the minimum 0"),
        ({"age_years": True}, "age_years", "value true must be of type number"),
        ({"age_years": math.nan}, "age_years", "value must be a finite number"),
        ({"age_years": 30, "pain_score": math.inf}, "pain_score", "value inf is above the maximum 10"),
        ({"age_years": 10**400}, "age_years", f"value {10**400} is above the maximum 120"),
        ({1: True, "age_years": 3}, "1", "unknown finding (not in the findings schema)"),
    ],
)
def test_error_messages_are_the_detailed_ones(doc: dict[Any, Any], field: str, problem: str) -> None:
    with pytest.raises(FindingsError) as info:
        validate_findings(doc)
    assert (info.value.field, info.value.problem) == (field, problem)
    assert outcome(reference, doc) == ("error", field, problem)
