"""The generated rule function (triage/compiled.py) fires exactly what the closures fire.

evaluate() uses one generated function per age group instead of the closures of rules.py; this
compares the two on generated documents, valid ones and ones with odd values (a bool where a
number goes, floats, "unknown" everywhere), and the whole result with the former evaluate.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from telespine.triage import evaluate, load_ruleset
from telespine.triage.compiled import fire_function
from telespine.triage.findings import UNKNOWN, finding_specs
from telespine.triage.types import Audience, Disposition, TriageResult

SPECS = finding_specs()


def value_for(name: str) -> st.SearchStrategy[Any]:
    spec = SPECS[name]
    odd = st.sampled_from([True, False, UNKNOWN, 0, 1, 1.5, "none", "sudden", None])
    if spec.kind == "flag":
        good: st.SearchStrategy[Any] = st.sampled_from([True, False, UNKNOWN])
    elif spec.kind in {"course", "enum"}:
        good = st.sampled_from(spec.values)
    else:
        good = st.one_of(st.integers(0, 130), st.floats(0, 130, allow_nan=False), st.just(UNKNOWN))
    return st.one_of(good, good, good, odd)


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    names = draw(st.lists(st.sampled_from([n for n in SPECS if n != "age_years"]), max_size=25, unique=True))
    doc: dict[str, Any] = {"age_years": draw(st.one_of(st.integers(0, 120), st.floats(0, 120)))}
    for name in names:
        doc[name] = draw(value_for(name))
    return doc


def closures(doc: dict[str, Any], audience: Audience) -> list[Any]:
    rs = load_ruleset()
    return [r.fired_for(audience) for r in rs.candidates(audience, doc) if r.test(doc)]


def former_evaluate(findings: dict[str, Any]) -> TriageResult:
    """evaluate() as it was before the generated function (closures, the same unknown rule)."""
    rs = load_ruleset()
    audience: Audience = "pediatric" if findings["age_years"] < 18 else "adult"
    fired = closures(findings, audience)
    unresolved = sorted(name for name, value in findings.items() if value == UNKNOWN)
    level = fired[0].level if fired else Disposition.TELEMEDICINE
    if unresolved and level.level > Disposition.URGENT.level:
        if any(name in rs.urgent_unknown_findings for name in unresolved):
            fired.insert(0, rs.unresolved_unknown_urgent_for(audience))
            level = Disposition.URGENT
        elif level.level > Disposition.PROMPT.level and any(
            name in rs.can_reach_prompt(audience) for name in unresolved
        ):
            fired.insert(0, rs.unresolved_unknown_for(audience))
            level = Disposition.PROMPT
    return TriageResult(
        disposition=level,
        audience=audience,
        rules=fired,
        unresolved=unresolved,
        ruleset=rs.ref,
        safety_net=False,
        error=None,
    )


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents(), st.sampled_from(["adult", "pediatric"]))
def test_the_generated_function_fires_what_the_closures_fire(doc: dict[str, Any], audience: Audience) -> None:
    rs = load_ruleset()
    assert fire_function(rs, audience)(doc) == closures(doc, audience)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
def test_evaluate_gives_the_former_result(doc: dict[str, Any]) -> None:
    got = evaluate(doc)
    assert got == former_evaluate(doc)
    assert got.model_dump() == former_evaluate(doc).model_dump()
