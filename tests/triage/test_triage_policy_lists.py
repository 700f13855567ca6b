"""S8: safety properties checked against lists written by hand from POLICY.md, not taken from the engine."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from telespine.triage import evaluate, load_ruleset, triage
from telespine.triage import questionnaire as q
from telespine.triage.findings import FindingSpec, finding_specs
from telespine.triage.types import Audience, Disposition

SPECS = finding_specs()
RS = load_ruleset()

# ---- hand-written from POLICY.md -------------------------------------------------------------------

# Findings read by an adult emergency, urgent or prompt row (POLICY.md "Adult rules").
ADULT_REACH_PROMPT = frozenset(
    {
        # emergency rows
        "saddle_numbness",
        "bladder",
        "bowel",
        "sexual_dysfunction_new",
        "leg_weakness",
        "leg_numbness",
        "both_legs",
        "onset",
        "pain_unrelenting",
        "trauma",
        "pulsating_abdominal_mass",
        "fainting_or_collapse",
        "chest_pain_or_breathlessness",
        "cancer_history",
        "arm_weakness",
        "arm_numbness",
        "walking_difficulty",
        "fever",
        # urgent rows
        "neck_flexion_shock",
        "immunosuppressed",
        "iv_drug_use",
        "recent_infection",
        "recent_spinal_procedure",
        "hemodialysis",
        "long_term_steroids",
        "pain_score",
        "location",
        "pain_worsening",
        "night_pain",
        "headache_vision_change",
        "age_years",
        "osteoporosis",
        # urgent rows new in policy v2 (bilateral sciatica)
        "leg_pain_below_knee",
        # prompt rows
        "unexplained_weight_loss",
        "duration_days",
        "onset_before_40",
        "better_with_exercise_not_rest",
        "morning_stiffness_over_30_min",
        "buttock_pain_alternating",
        "known_inflammatory_condition",
        "pain_changed_character",
    }
)
# Children get every adult rule plus the child rows; only these two are new at prompt or above
# (POLICY.md property 3 names feeling_unwell; painful curvature is a prompt row for children).
PEDIATRIC_REACH_PROMPT = ADULT_REACH_PROMPT | {"feeling_unwell", "spinal_curvature"}
REACH = {"adult": ADULT_REACH_PROMPT, "pediatric": PEDIATRIC_REACH_PROMPT}

# One document per way each emergency row can fire (POLICY.md "Emergency" and the child row).
EMERGENCY_CASES: list[tuple[str, dict[str, Any]]] = [
    ("adult.cauda_equina", {"saddle_numbness": True}),
    ("adult.cauda_equina", {"bladder": "changed"}),
    ("adult.cauda_equina", {"bladder": "retention"}),
    ("adult.cauda_equina", {"bladder": "incontinence"}),
    ("adult.cauda_equina", {"bowel": "incontinence"}),
    ("adult.cauda_equina", {"bowel": "retention"}),
    ("adult.cauda_equina", {"sexual_dysfunction_new": True}),
    ("adult.sudden_neuro_loss", {"leg_weakness": "sudden"}),
    ("adult.sudden_neuro_loss", {"leg_numbness": "sudden"}),
    ("adult.sudden_neuro_loss", {"arm_weakness": "sudden"}),
    ("adult.bilateral_progressive_leg_deficit", {"both_legs": True, "leg_weakness": "progressive"}),
    ("adult.bilateral_progressive_leg_deficit", {"both_legs": True, "leg_numbness": "progressive"}),
    ("adult.severe_acute_pain", {"onset": "sudden", "pain_unrelenting": True}),
    ("adult.major_trauma", {"trauma": "major"}),
    ("adult.aortic_emergency", {"pulsating_abdominal_mass": True}),
    ("adult.aortic_emergency", {"fainting_or_collapse": True}),
    ("adult.chest_or_breathing", {"chest_pain_or_breathlessness": True}),
    ("adult.cancer_with_neurology", {"cancer_history": "current_or_recent", "leg_weakness": "stable"}),
    ("adult.cancer_with_neurology", {"cancer_history": "current_or_recent", "leg_numbness": "stable"}),
    ("adult.cancer_with_neurology", {"cancer_history": "current_or_recent", "arm_weakness": "progressive"}),
    ("adult.cancer_with_neurology", {"cancer_history": "current_or_recent", "arm_numbness": "sudden"}),
    ("adult.cancer_with_neurology", {"cancer_history": "current_or_recent", "walking_difficulty": True}),
    ("adult.infection_with_neurology", {"fever": True, "leg_weakness": "stable"}),
    ("adult.infection_with_neurology", {"fever": True, "arm_weakness": "stable"}),
    ("adult.infection_with_neurology", {"fever": True, "leg_numbness": "stable"}),
    ("adult.infection_with_neurology", {"fever": True, "arm_numbness": "progressive"}),
    ("child.neurology", {"leg_weakness": "progressive"}),
    ("child.neurology", {"leg_numbness": "progressive"}),
]


def _ages(rule_id: str) -> st.SearchStrategy[int | float]:
    """Adult rules apply at every age; child rules under 18 only."""
    if rule_id.startswith("child."):
        return st.one_of(st.integers(0, 17), st.floats(0, 17.999, allow_nan=False))
    return st.one_of(st.integers(0, 120), st.floats(0, 120, allow_nan=False))


NUMBER_RANGES = {
    "age_years": (0, 120),
    "pain_score": (0, 10),
    "duration_days": (0, 500),
    "weeks_on_treatment_without_improvement": (0, 60),
}


def _value(spec: FindingSpec) -> st.SearchStrategy[Any]:
    if spec.kind == "flag":
        return st.sampled_from([True, False, "unknown"])
    if spec.kind in {"course", "enum"}:
        return st.sampled_from(spec.values)
    lo, hi = NUMBER_RANGES[spec.name]
    return st.integers(lo, hi)


others = st.fixed_dictionaries(
    {}, optional={name: _value(spec) for name, spec in SPECS.items() if name != "age_years"}
)


# ---- the lists agree with the engine -----------------------------------------------------------------


@pytest.mark.parametrize("audience", ["adult", "pediatric"])
def test_findings_that_reach_prompt_are_those_of_the_policy(audience: Audience) -> None:
    assert RS.can_reach_prompt(audience) == REACH[audience]


def test_every_policy_finding_is_in_the_schema() -> None:
    assert set(PEDIATRIC_REACH_PROMPT) <= set(SPECS)


def test_every_emergency_rule_has_a_hand_written_case() -> None:
    emergency_ids = {r.id for r in RS.rules if r.level == Disposition.EMERGENCY}
    assert {rule_id for rule_id, _ in EMERGENCY_CASES} == emergency_ids


CASE_IDS = [f"{r}-{sorted(c)}" for r, c in EMERGENCY_CASES]


@pytest.mark.parametrize(("rule_id", "case"), EMERGENCY_CASES, ids=CASE_IDS)
def test_each_emergency_case_alone_fires_its_rule(rule_id: str, case: dict[str, Any]) -> None:
    age = 10 if rule_id.startswith("child.") else 40
    result = triage({"age_years": age, **case})
    assert result.disposition == Disposition.EMERGENCY
    assert rule_id in [r.id for r in result.rules]


# ---- property 1: an emergency case stays emergency whatever else is there --------------------------


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(EMERGENCY_CASES), others, st.data())
def test_emergency_case_with_any_other_findings_is_emergency(
    picked: tuple[str, dict[str, Any]], extra: dict[str, Any], data: st.DataObject
) -> None:
    rule_id, case = picked
    doc = {**extra, **case, "age_years": data.draw(_ages(rule_id))}
    result = triage(doc)
    assert result.disposition == Disposition.EMERGENCY
    assert not result.safety_net
    assert rule_id in [r.id for r in result.rules]


# ---- property 3: unknown is not "no" -------------------------------------------------------------------


def _can_be_unknown(name: str) -> bool:
    spec = SPECS[name]
    return spec.kind in {"flag", "course"} or "unknown" in spec.values


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 120), others, st.data())
def test_unknown_policy_finding_gives_prompt_or_more_urgent(
    age: int, extra: dict[str, Any], data: st.DataObject
) -> None:
    audience: Audience = "pediatric" if age < 18 else "adult"
    name = data.draw(st.sampled_from(sorted(n for n in REACH[audience] if _can_be_unknown(n))))
    result = evaluate({**extra, "age_years": age, name: "unknown"})
    assert result.disposition.level <= Disposition.PROMPT.level
    assert name in result.unresolved


@pytest.mark.parametrize("name", ["feeling_unwell", "spinal_curvature"])
def test_unknown_child_only_findings_reach_prompt_for_children_only(name: str) -> None:
    assert triage({"age_years": 10, name: "unknown"}).disposition == Disposition.PROMPT
    adult = triage({"age_years": 40, name: "unknown"})
    assert adult.disposition == Disposition.TELEMEDICINE and adult.unresolved == [name]


UNSURE_QUESTIONS = [qq for qq in q.load_questionnaire().questions if qq.option("unsure") is not None]


def _no(question: q.Question) -> object:
    if question.kind == "yes_no_unsure":
        return "no"
    if question.kind == "course":
        return "none"
    return next(v for v in ("none", "normal") if question.option(v) is not None)


def _audience(age: float) -> Audience:
    return "pediatric" if age < 18 else "adult"


AGES = [4, 10, 16, 17.9, 18, 35, 60, 90]
UNSURE_CASES = [(qq, age) for qq in UNSURE_QUESTIONS for age in AGES if qq.id in REACH[_audience(age)]]
UNSURE_OTHER = [(qq, age) for qq in UNSURE_QUESTIONS for age in AGES if qq.id not in REACH[_audience(age)]]


@pytest.mark.parametrize(("question", "age"), UNSURE_CASES, ids=[f"{x.id}-{a}" for x, a in UNSURE_CASES])
def test_not_sure_about_a_warning_sign_gives_prompt_or_more_urgent(question: q.Question, age: float) -> None:
    alone = q.result({"age_years": age, question.id: "unsure"})
    # every other warning-sign question answered "no"/"none"/"normal": the unsure answer must still count
    answers: dict[str, object] = {
        other.id: _no(other)
        for other in UNSURE_QUESTIONS
        if other.id != question.id
        and (other.kind != "choice" or any(other.option(v) for v in ("none", "normal")))
    }
    full = q.result({**answers, "age_years": age, question.id: "unsure"})
    for result in (alone, full):
        assert result.disposition.level <= Disposition.PROMPT.level, question.id
        assert question.id in result.unresolved


@pytest.mark.parametrize(("question", "age"), UNSURE_OTHER, ids=[f"{x.id}-{a}" for x, a in UNSURE_OTHER])
def test_not_sure_about_anything_else_is_listed_and_changes_nothing(question: q.Question, age: float) -> None:
    result = q.result({"age_years": age, question.id: "unsure"})
    assert result.unresolved == [question.id]
    assert result.disposition == q.result({"age_years": age}).disposition


# POLICY.md v2 rule 3: the findings that on their own make an emergency rule fire, named by the policy.
POLICY_URGENT_UNKNOWN = frozenset(
    {
        "saddle_numbness",
        "bladder",
        "bowel",
        "sexual_dysfunction_new",
        "leg_weakness",
        "leg_numbness",
        "arm_weakness",
        "trauma",
        "pulsating_abdominal_mass",
        "fainting_or_collapse",
        "chest_pain_or_breathlessness",
    }
)


def test_urgent_unknown_findings_are_exactly_the_policy_list() -> None:
    assert RS.urgent_unknown_findings == POLICY_URGENT_UNKNOWN


@pytest.mark.parametrize("age", [4, 10, 17.9, 18, 40, 85])
@pytest.mark.parametrize("name", sorted(POLICY_URGENT_UNKNOWN))
def test_unknown_emergency_alone_finding_gives_urgent_same_day(name: str, age: float) -> None:
    result = triage({"age_years": age, name: "unknown"})
    assert result.disposition == Disposition.URGENT
    assert result.rules[0].id == "safety.unresolved_unknown_urgent"  # most urgent concern first
    assert [r.id for r in result.rules[1:]] == (["child.young_child"] if age < 5 else [])
    assert result.unresolved == [name]


@pytest.mark.parametrize("name", sorted(POLICY_URGENT_UNKNOWN))
def test_unknown_emergency_alone_finding_raises_a_prompt_result_to_urgent(name: str) -> None:
    # the boundary pair: fever alone is prompt; fever with an unknown emergency sign is urgent
    assert triage({"age_years": 40, "fever": True}).disposition == Disposition.PROMPT
    raised = triage({"age_years": 40, "fever": True, name: "unknown"})
    assert raised.disposition == Disposition.URGENT
    assert raised.rules[0].id == "safety.unresolved_unknown_urgent"


def test_unknown_emergency_alone_finding_does_not_lower_an_emergency() -> None:
    result = triage({"age_years": 40, "saddle_numbness": True, "bladder": "unknown"})
    assert result.disposition == Disposition.EMERGENCY
    assert "safety.unresolved_unknown_urgent" not in [r.id for r in result.rules]
    assert result.unresolved == ["bladder"]


@pytest.mark.parametrize(
    "name", ["both_legs", "fever", "cancer_history", "walking_difficulty", "arm_numbness", "pain_unrelenting"]
)
def test_unknown_finding_that_needs_a_partner_for_emergency_gives_prompt_only(name: str) -> None:
    assert _can_be_unknown(name)
    result = triage({"age_years": 40, name: "unknown"})
    assert result.disposition == Disposition.PROMPT
    assert [r.id for r in result.rules] == ["safety.unresolved_unknown"]


def test_urgent_unknown_speaks_to_the_parent_for_a_child() -> None:
    child = triage({"age_years": 9, "bladder": "unknown"})
    adult = triage({"age_years": 40, "bladder": "unknown"})
    assert "your child" in child.rules[0].reason.lower()
    assert "your child" not in adult.rules[0].reason.lower()


def test_unknown_feeling_unwell_changes_nothing_for_an_adult() -> None:
    # POLICY.md v2: findings that no rule reads for the age group change nothing when unknown
    # (sex cannot be "unknown" in the schema at all)
    result = triage({"age_years": 40, "feeling_unwell": "unknown"})
    assert result.disposition == Disposition.TELEMEDICINE
    assert result.unresolved == ["feeling_unwell"]
