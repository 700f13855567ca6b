"""Each rule with named cases, including boundary pairs (69/70, 6/7, 17/18, 28/29 days ...)."""

from __future__ import annotations

from typing import Any

import pytest

from telespine.triage import load_ruleset, triage

A = 40  # a plain adult age, away from every age boundary
CUR = {"cancer_history": "current_or_recent"}
IBP4 = {
    "onset_before_40": True,
    "onset": "gradual",
    "better_with_exercise_not_rest": True,
    "morning_stiffness_over_30_min": True,
}

# (case name, rule id, findings, does the rule fire?)
CASES: list[tuple[str, str, dict[str, Any], bool]] = [
    ("cauda-equina-saddle-numbness", "adult.cauda_equina", {"age_years": A, "saddle_numbness": True}, True),
    (
        "cauda-equina-saddle-numbness-unknown",
        "adult.cauda_equina",
        {"age_years": A, "saddle_numbness": "unknown"},
        False,
    ),
    ("cauda-equina-bladder-changed", "adult.cauda_equina", {"age_years": A, "bladder": "changed"}, True),
    ("cauda-equina-bladder-normal", "adult.cauda_equina", {"age_years": A, "bladder": "normal"}, False),
    ("cauda-equina-bowel-retention", "adult.cauda_equina", {"age_years": A, "bowel": "retention"}, True),
    (
        "cauda-equina-new-sexual-dysfunction",
        "adult.cauda_equina",
        {"age_years": A, "sexual_dysfunction_new": True},
        True,
    ),
    ("sudden-leg-weakness", "adult.sudden_neuro_loss", {"age_years": A, "leg_weakness": "sudden"}, True),
    ("sudden-leg-numbness", "adult.sudden_neuro_loss", {"age_years": A, "leg_numbness": "sudden"}, True),
    # policy v2: sudden arm weakness is a sudden neurological loss; sudden arm numbness is not
    ("sudden-arm-weakness", "adult.sudden_neuro_loss", {"age_years": A, "arm_weakness": "sudden"}, True),
    (
        "progressive-arm-weakness-is-not-sudden",
        "adult.sudden_neuro_loss",
        {"age_years": A, "arm_weakness": "progressive"},
        False,
    ),
    (
        "sudden-arm-numbness-is-not-sudden-loss",
        "adult.sudden_neuro_loss",
        {"age_years": A, "arm_numbness": "sudden"},
        False,
    ),
    (
        "progressive-leg-weakness-is-not-sudden",
        "adult.sudden_neuro_loss",
        {"age_years": A, "leg_weakness": "progressive"},
        False,
    ),
    (
        "both-legs-progressive-weakness",
        "adult.bilateral_progressive_leg_deficit",
        {"age_years": A, "both_legs": True, "leg_weakness": "progressive"},
        True,
    ),
    (
        "both-legs-stable-weakness",
        "adult.bilateral_progressive_leg_deficit",
        {"age_years": A, "both_legs": True, "leg_weakness": "stable"},
        False,
    ),
    (
        "one-leg-progressive-weakness",
        "adult.bilateral_progressive_leg_deficit",
        {"age_years": A, "leg_weakness": "progressive"},
        False,
    ),
    (
        "sudden-onset-unrelenting-pain",
        "adult.severe_acute_pain",
        {"age_years": A, "onset": "sudden", "pain_unrelenting": True},
        True,
    ),
    (
        "gradual-onset-unrelenting-pain",
        "adult.severe_acute_pain",
        {"age_years": A, "onset": "gradual", "pain_unrelenting": True},
        False,
    ),
    ("major-trauma", "adult.major_trauma", {"age_years": A, "trauma": "major"}, True),
    ("minor-trauma-is-not-major", "adult.major_trauma", {"age_years": A, "trauma": "minor"}, False),
    (
        "pulsating-abdominal-mass",
        "adult.aortic_emergency",
        {"age_years": A, "pulsating_abdominal_mass": True},
        True,
    ),
    ("fainting-with-pain", "adult.aortic_emergency", {"age_years": A, "fainting_or_collapse": True}, True),
    ("no-mass-no-fainting", "adult.aortic_emergency", {"age_years": A, "fainting_or_collapse": False}, False),
    ("chest-pain", "adult.chest_or_breathing", {"age_years": A, "chest_pain_or_breathlessness": True}, True),
    (
        "no-chest-pain",
        "adult.chest_or_breathing",
        {"age_years": A, "chest_pain_or_breathlessness": False},
        False,
    ),
    (
        "current-cancer-stable-arm-numbness",
        "adult.cancer_with_neurology",
        {"age_years": A, **CUR, "arm_numbness": "stable"},
        True,
    ),
    (
        "current-cancer-walking-difficulty",
        "adult.cancer_with_neurology",
        {"age_years": A, **CUR, "walking_difficulty": True},
        True,
    ),
    (
        "past-cancer-stable-arm-numbness",
        "adult.cancer_with_neurology",
        {"age_years": A, "cancer_history": "past", "arm_numbness": "stable"},
        False,
    ),
    (
        "fever-stable-leg-weakness",
        "adult.infection_with_neurology",
        {"age_years": A, "fever": True, "leg_weakness": "stable"},
        True,
    ),
    # policy v2: numbness counts as well as weakness
    (
        "fever-stable-leg-numbness",
        "adult.infection_with_neurology",
        {"age_years": A, "fever": True, "leg_numbness": "stable"},
        True,
    ),
    (
        "fever-stable-arm-numbness",
        "adult.infection_with_neurology",
        {"age_years": A, "fever": True, "arm_numbness": "stable"},
        True,
    ),
    (
        "no-fever-stable-leg-numbness",
        "adult.infection_with_neurology",
        {"age_years": A, "fever": False, "leg_numbness": "stable"},
        False,
    ),
    (
        "fever-unknown-stable-arm-numbness",
        "adult.infection_with_neurology",
        {"age_years": A, "fever": "unknown", "arm_numbness": "stable"},
        False,
    ),
    (
        "progressive-arm-numbness",
        "adult.progressive_neuro_deficit",
        {"age_years": A, "arm_numbness": "progressive"},
        True,
    ),
    (
        "sudden-arm-weakness-counts-as-progressive",
        "adult.progressive_neuro_deficit",
        {"age_years": A, "arm_weakness": "sudden"},
        True,
    ),
    (
        "stable-arm-numbness-is-not-progressive",
        "adult.progressive_neuro_deficit",
        {"age_years": A, "arm_numbness": "stable"},
        False,
    ),
    (
        "neck-flexion-shock",
        "adult.progressive_neuro_deficit",
        {"age_years": A, "neck_flexion_shock": True},
        True,
    ),
    (
        "walking-difficulty-adult",
        "adult.progressive_neuro_deficit",
        {"age_years": A, "walking_difficulty": True},
        True,
    ),
    (
        "fever-with-dialysis",
        "adult.spinal_infection",
        {"age_years": A, "fever": True, "hemodialysis": True},
        True,
    ),
    ("dialysis-without-fever", "adult.spinal_infection", {"age_years": A, "hemodialysis": True}, False),
    ("fever-pain-6", "adult.fever_severe_pain", {"age_years": A, "fever": True, "pain_score": 6}, False),
    ("fever-pain-7", "adult.fever_severe_pain", {"age_years": A, "fever": True, "pain_score": 7}, True),
    (
        "current-cancer-low-back-pain-6",
        "adult.cancer_concerning_pain",
        {"age_years": A, **CUR, "location": "low_back", "pain_score": 6},
        False,
    ),
    (
        "current-cancer-low-back-pain-7",
        "adult.cancer_concerning_pain",
        {"age_years": A, **CUR, "location": "low_back", "pain_score": 7},
        True,
    ),
    (
        "current-cancer-mid-back",
        "adult.cancer_concerning_pain",
        {"age_years": A, **CUR, "location": "mid_back"},
        True,
    ),
    (
        "past-cancer-mid-back",
        "adult.cancer_concerning_pain",
        {"age_years": A, "cancer_history": "past", "location": "mid_back"},
        False,
    ),
    (
        "headache-vision-age-49",
        "adult.giant_cell_arteritis",
        {"age_years": 49, "headache_vision_change": True},
        False,
    ),
    (
        "headache-vision-age-50",
        "adult.giant_cell_arteritis",
        {"age_years": 50, "headache_vision_change": True},
        True,
    ),
    (
        "osteoporosis-sudden-pain-6",
        "adult.fragility_fracture_severe_pain",
        {"age_years": A, "osteoporosis": True, "onset": "sudden", "pain_score": 6},
        False,
    ),
    (
        "osteoporosis-sudden-pain-7",
        "adult.fragility_fracture_severe_pain",
        {"age_years": A, "osteoporosis": True, "onset": "sudden", "pain_score": 7},
        True,
    ),
    (
        "steroids-minor-trauma-pain-7",
        "adult.fragility_fracture_severe_pain",
        {"age_years": A, "long_term_steroids": True, "trauma": "minor", "pain_score": 7},
        True,
    ),
    # policy v2: age 70 and over counts as a fragility risk for the urgent rule too
    (
        "age-70-sudden-pain-7",
        "adult.fragility_fracture_severe_pain",
        {"age_years": 70, "onset": "sudden", "pain_score": 7},
        True,
    ),
    (
        "age-69-sudden-pain-7",
        "adult.fragility_fracture_severe_pain",
        {"age_years": 69, "onset": "sudden", "pain_score": 7},
        False,
    ),
    (
        "age-75-minor-trauma-pain-7",
        "adult.fragility_fracture_severe_pain",
        {"age_years": 75, "trauma": "minor", "pain_score": 7},
        True,
    ),
    (
        "age-75-minor-trauma-pain-6",
        "adult.fragility_fracture_severe_pain",
        {"age_years": 75, "trauma": "minor", "pain_score": 6},
        False,
    ),
    (
        "osteoporosis-gradual-no-trauma-pain-9",
        "adult.fragility_fracture_severe_pain",
        {"age_years": A, "osteoporosis": True, "onset": "gradual", "pain_score": 9},
        False,
    ),
    ("fever", "adult.fever", {"age_years": A, "fever": True}, True),
    ("no-fever", "adult.fever", {"age_years": A, "fever": False}, False),
    ("weight-loss", "adult.weight_loss", {"age_years": A, "unexplained_weight_loss": True}, True),
    (
        "weight-loss-unknown",
        "adult.weight_loss",
        {"age_years": A, "unexplained_weight_loss": "unknown"},
        False,
    ),
    ("current-cancer", "adult.cancer_history", {"age_years": A, **CUR}, True),
    ("past-cancer-alone", "adult.cancer_history", {"age_years": A, "cancer_history": "past"}, False),
    (
        "past-cancer-night-pain",
        "adult.cancer_history",
        {"age_years": A, "cancer_history": "past", "night_pain": True},
        True,
    ),
    # policy v2: past cancer with pain 7 or more
    (
        "past-cancer-pain-7",
        "adult.cancer_history",
        {"age_years": A, "cancer_history": "past", "pain_score": 7},
        True,
    ),
    (
        "past-cancer-pain-6",
        "adult.cancer_history",
        {"age_years": A, "cancer_history": "past", "pain_score": 6},
        False,
    ),
    (
        "no-cancer-pain-7",
        "adult.cancer_history",
        {"age_years": A, "cancer_history": "none", "pain_score": 7},
        False,
    ),
    # policy v2: bilateral sciatica (urgent)
    (
        "both-legs-pain-below-knee",
        "adult.bilateral_sciatica",
        {"age_years": A, "both_legs": True, "leg_pain_below_knee": True},
        True,
    ),
    (
        "one-leg-pain-below-knee",
        "adult.bilateral_sciatica",
        {"age_years": A, "both_legs": False, "leg_pain_below_knee": True},
        False,
    ),
    (
        "both-legs-no-pain-below-knee",
        "adult.bilateral_sciatica",
        {"age_years": A, "both_legs": True, "leg_pain_below_knee": False},
        False,
    ),
    (
        "both-legs-unknown-pain-below-knee",
        "adult.bilateral_sciatica",
        {"age_years": A, "both_legs": "unknown", "leg_pain_below_knee": True},
        False,
    ),
    # policy v2: severe unrelenting pain (urgent), pain_score >= 7 inclusive
    (
        "unrelenting-pain-7",
        "adult.severe_unrelenting_pain",
        {"age_years": A, "pain_unrelenting": True, "pain_score": 7},
        True,
    ),
    (
        "unrelenting-pain-6",
        "adult.severe_unrelenting_pain",
        {"age_years": A, "pain_unrelenting": True, "pain_score": 6},
        False,
    ),
    (
        "relenting-pain-9",
        "adult.severe_unrelenting_pain",
        {"age_years": A, "pain_unrelenting": False, "pain_score": 9},
        False,
    ),
    # policy v2: severe pain 8 or more (prompt)
    ("pain-8", "adult.severe_pain", {"age_years": A, "pain_score": 8}, True),
    ("pain-7", "adult.severe_pain", {"age_years": A, "pain_score": 7}, False),
    ("pain-10-child", "adult.severe_pain", {"age_years": 12, "pain_score": 10}, True),
    # policy v2: headache or vision change at any age (prompt); 50 and over is urgent
    (
        "headache-vision-prompt-age-49",
        "adult.headache_vision_change",
        {"age_years": 49, "headache_vision_change": True},
        True,
    ),
    (
        "headache-vision-prompt-age-20",
        "adult.headache_vision_change",
        {"age_years": 20, "headache_vision_change": True},
        True,
    ),
    (
        "no-headache-vision-prompt",
        "adult.headache_vision_change",
        {"age_years": 49, "headache_vision_change": False},
        False,
    ),
    ("injects-drugs", "adult.infection_risk", {"age_years": A, "iv_drug_use": True}, True),
    (
        "recent-spinal-procedure",
        "adult.infection_risk",
        {"age_years": A, "recent_spinal_procedure": True},
        True,
    ),
    ("no-infection-risk", "adult.infection_risk", {"age_years": A, "immunosuppressed": False}, False),
    ("age-69-sudden-onset", "adult.fracture_risk", {"age_years": 69, "onset": "sudden"}, False),
    ("age-70-sudden-onset", "adult.fracture_risk", {"age_years": 70, "onset": "sudden"}, True),
    ("age-70-gradual-no-trauma", "adult.fracture_risk", {"age_years": 70, "onset": "gradual"}, False),
    (
        "osteoporosis-minor-trauma",
        "adult.fracture_risk",
        {"age_years": A, "osteoporosis": True, "trauma": "minor"},
        True,
    ),
    ("stable-leg-weakness", "adult.stable_weakness", {"age_years": A, "leg_weakness": "stable"}, True),
    (
        "stable-leg-numbness-is-not-weakness",
        "adult.stable_weakness",
        {"age_years": A, "leg_numbness": "stable"},
        False,
    ),
    (
        "inflammatory-duration-90",
        "adult.inflammatory_back_pain",
        {"age_years": 28, "duration_days": 90, **IBP4},
        False,
    ),
    (
        "inflammatory-duration-91",
        "adult.inflammatory_back_pain",
        {"age_years": 28, "duration_days": 91, **IBP4},
        True,
    ),
    (
        "inflammatory-age-49",
        "adult.inflammatory_back_pain",
        {"age_years": 49, "duration_days": 200, **IBP4},
        True,
    ),
    (
        "inflammatory-age-50",
        "adult.inflammatory_back_pain",
        {"age_years": 50, "duration_days": 200, **IBP4},
        False,
    ),
    (
        "inflammatory-three-features",
        "adult.inflammatory_back_pain",
        {
            "age_years": 28,
            "duration_days": 200,
            "onset_before_40": True,
            "onset": "gradual",
            "better_with_exercise_not_rest": True,
        },
        False,
    ),
    (
        "known-inflammatory-worsening",
        "adult.inflammatory_flare",
        {"age_years": A, "known_inflammatory_condition": True, "pain_worsening": True},
        True,
    ),
    (
        "known-inflammatory-unchanged",
        "adult.inflammatory_flare",
        {"age_years": A, "known_inflammatory_condition": True},
        False,
    ),
    (
        "worsening-and-night-pain",
        "adult.severe_pain_not_eased_by_rest",
        {"age_years": A, "pain_worsening": True, "night_pain": True},
        True,
    ),
    (
        "worsening-without-night-pain",
        "adult.severe_pain_not_eased_by_rest",
        {"age_years": A, "pain_worsening": True},
        False,
    ),
    (
        "treatment-11-weeks",
        "adult.no_improvement_on_treatment",
        {"age_years": A, "weeks_on_treatment_without_improvement": 11},
        False,
    ),
    (
        "treatment-12-weeks",
        "adult.no_improvement_on_treatment",
        {"age_years": A, "weeks_on_treatment_without_improvement": 12},
        True,
    ),
    ("stable-leg-numbness", "adult.stable_numbness", {"age_years": A, "leg_numbness": "stable"}, True),
    (
        "progressive-leg-numbness-is-not-stable",
        "adult.stable_numbness",
        {"age_years": A, "leg_numbness": "progressive"},
        False,
    ),
    (
        "curvature-changed-pain",
        "adult.curvature_changed_pain",
        {"age_years": A, "spinal_curvature": True, "pain_changed_character": True},
        True,
    ),
    (
        "curvature-usual-pain",
        "adult.curvature_changed_pain",
        {"age_years": A, "spinal_curvature": True},
        False,
    ),
    (
        "one-sided-neck-pain-arm-swelling",
        "adult.thoracic_outlet",
        {"age_years": A, "one_sided_neck_shoulder_pain": True, "arm_swelling_or_color_change": True},
        True,
    ),
    (
        "one-sided-neck-pain-stable-arm-numbness",
        "adult.thoracic_outlet",
        {"age_years": A, "one_sided_neck_shoulder_pain": True, "arm_numbness": "stable"},
        True,
    ),
    (
        "one-sided-neck-pain-alone",
        "adult.thoracic_outlet",
        {"age_years": A, "one_sided_neck_shoulder_pain": True},
        False,
    ),
    ("night-pain-age-49", "adult.cancer_risk_night_pain", {"age_years": 49, "night_pain": True}, False),
    ("night-pain-age-50", "adult.cancer_risk_night_pain", {"age_years": 50, "night_pain": True}, True),
    (
        "night-pain-cancer-risk-factors",
        "adult.cancer_risk_night_pain",
        {"age_years": 30, "night_pain": True, "cancer_risk_factors": True},
        True,
    ),
    (
        "mid-back-42-days",
        "adult.persistent_thoracic_pain",
        {"age_years": A, "location": "mid_back", "duration_days": 42},
        False,
    ),
    (
        "mid-back-43-days",
        "adult.persistent_thoracic_pain",
        {"age_years": A, "location": "mid_back", "duration_days": 43},
        True,
    ),
    (
        "low-back-100-days",
        "adult.persistent_thoracic_pain",
        {"age_years": A, "location": "low_back", "duration_days": 100},
        False,
    ),
    ("pregnant", "adult.pregnancy", {"age_years": 30, "pregnant": True}, True),
    ("not-pregnant", "adult.pregnancy", {"age_years": 30, "pregnant": False}, False),
    # pediatric
    (
        "child-17-progressive-leg-weakness",
        "child.neurology",
        {"age_years": 17, "leg_weakness": "progressive"},
        True,
    ),
    (
        "adult-18-progressive-leg-weakness",
        "child.neurology",
        {"age_years": 18, "leg_weakness": "progressive"},
        False,
    ),
    ("child-stable-leg-numbness", "child.neurology", {"age_years": 10, "leg_numbness": "stable"}, False),
    ("child-17-fever", "child.fever", {"age_years": 17, "fever": True}, True),
    ("adult-18-fever", "child.fever", {"age_years": 18, "fever": True}, False),
    ("child-limp", "child.cannot_walk", {"age_years": 11, "walking_difficulty": True}, True),
    (
        "adult-18-walking-difficulty",
        "child.cannot_walk",
        {"age_years": 18, "walking_difficulty": True},
        False,
    ),
    ("child-weight-loss", "child.systemic", {"age_years": 12, "unexplained_weight_loss": True}, True),
    (
        "child-unwell-with-night-pain",
        "child.systemic",
        {"age_years": 12, "feeling_unwell": True, "night_pain": True},
        True,
    ),
    ("child-unwell-without-night-pain", "child.systemic", {"age_years": 12, "feeling_unwell": True}, False),
    ("child-age-4", "child.young_child", {"age_years": 4}, True),
    ("child-age-4.9", "child.young_child", {"age_years": 4.9}, True),
    ("child-age-5", "child.young_child", {"age_years": 5}, False),
    ("child-night-pain", "child.night_pain", {"age_years": 14, "night_pain": True}, True),
    ("adult-18-night-pain", "child.night_pain", {"age_years": 18, "night_pain": True}, False),
    ("child-pain-6", "child.severe_pain", {"age_years": 12, "pain_score": 6}, False),
    ("child-pain-7", "child.severe_pain", {"age_years": 12, "pain_score": 7}, True),
    (
        "child-morning-stiffness",
        "child.stiffness",
        {"age_years": 12, "morning_stiffness_over_30_min": True},
        True,
    ),
    (
        "adult-18-morning-stiffness",
        "child.stiffness",
        {"age_years": 18, "morning_stiffness_over_30_min": True},
        False,
    ),
    ("child-curvature", "child.painful_curvature", {"age_years": 13, "spinal_curvature": True}, True),
    ("child-no-curvature", "child.painful_curvature", {"age_years": 13, "spinal_curvature": False}, False),
    (
        "child-stable-arm-numbness",
        "child.numbness_weakness",
        {"age_years": 12, "arm_numbness": "stable"},
        True,
    ),
    (
        "child-progressive-arm-numbness-is-not-stable",
        "child.numbness_weakness",
        {"age_years": 12, "arm_numbness": "progressive"},
        False,
    ),
    ("child-28-days", "child.lasting_pain", {"age_years": 12, "duration_days": 28}, False),
    ("child-29-days", "child.lasting_pain", {"age_years": 12, "duration_days": 29}, True),
    (
        "athlete-21-days",
        "child.athletes_back",
        {"age_years": 15, "hyperextension_sport": True, "duration_days": 21},
        False,
    ),
    (
        "athlete-22-days",
        "child.athletes_back",
        {"age_years": 15, "hyperextension_sport": True, "duration_days": 22},
        True,
    ),
]


@pytest.mark.parametrize(("rule_id", "findings", "fires"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_rule_case(rule_id: str, findings: dict[str, Any], fires: bool) -> None:
    result = triage(findings)
    fired = {r.id for r in result.rules}
    assert (rule_id in fired) == fires
    if fires:
        assert result.disposition.level <= load_ruleset().by_id(rule_id).level.level


def test_every_rule_has_a_firing_and_a_non_firing_case() -> None:
    firing = {c[1] for c in CASES if c[3]}
    quiet = {c[1] for c in CASES if not c[3]}
    ids = {r.id for r in load_ruleset().rules}
    assert firing == ids
    assert quiet == ids


def test_case_names_are_unique() -> None:
    names = [c[0] for c in CASES]
    assert len(names) == len(set(names))


@pytest.mark.parametrize(
    ("findings", "expected"),
    [
        pytest.param(
            {"age_years": 69, "onset": "sudden"}, "telemedicine", id="disposition-age-69-sudden-onset"
        ),
        pytest.param({"age_years": 70, "onset": "sudden"}, "prompt", id="disposition-age-70-sudden-onset"),
        pytest.param({"age_years": 17, "duration_days": 29}, "routine", id="disposition-age-17-29-days"),
        pytest.param({"age_years": 18, "duration_days": 29}, "telemedicine", id="disposition-age-18-29-days"),
        pytest.param(
            {"age_years": 30, "fever": True, "pain_score": 6}, "prompt", id="disposition-fever-pain-6"
        ),
        pytest.param(
            {"age_years": 30, "fever": True, "pain_score": 7}, "urgent", id="disposition-fever-pain-7"
        ),
        # policy v2 boundary pairs at the level of the disposition
        pytest.param({"age_years": 40, "pain_score": 7}, "telemedicine", id="disposition-pain-7"),
        pytest.param({"age_years": 40, "pain_score": 8}, "prompt", id="disposition-pain-8"),
        pytest.param(
            {"age_years": 49, "headache_vision_change": True},
            "prompt",
            id="disposition-headache-49",
        ),
        pytest.param(
            {"age_years": 50, "headache_vision_change": True},
            "urgent",
            id="disposition-headache-50",
        ),
        pytest.param(
            {"age_years": 40, "arm_weakness": "progressive"},
            "urgent",
            id="disposition-arm-progressive",
        ),
        pytest.param({"age_years": 40, "arm_weakness": "sudden"}, "emergency", id="disposition-arm-sudden"),
        pytest.param({"age_years": 40, "arm_numbness": "sudden"}, "urgent", id="disposition-arm-numb-sudden"),
        pytest.param(
            {"age_years": 40, "leg_pain_below_knee": True},
            "telemedicine",
            id="disposition-sciatica-one-leg",
        ),
        pytest.param(
            {"age_years": 40, "leg_pain_below_knee": True, "both_legs": True},
            "urgent",
            id="disposition-sciatica-both-legs",
        ),
        pytest.param(
            {"age_years": 40, "pain_unrelenting": True, "pain_score": 6},
            "telemedicine",
            id="disposition-unrelenting-6",
        ),
        pytest.param(
            {"age_years": 40, "pain_unrelenting": True, "pain_score": 7},
            "urgent",
            id="disposition-unrelenting-7",
        ),
        pytest.param(
            {"age_years": 40, "cancer_history": "past", "pain_score": 6},
            "telemedicine",
            id="disposition-past-cancer-6",
        ),
        pytest.param(
            {"age_years": 40, "cancer_history": "past", "pain_score": 7},
            "prompt",
            id="disposition-past-cancer-7",
        ),
        pytest.param(
            {"age_years": 69, "onset": "sudden", "pain_score": 7},
            "telemedicine",
            id="disposition-69-sudden-7",
        ),
        pytest.param(
            {"age_years": 70, "onset": "sudden", "pain_score": 7},
            "urgent",
            id="disposition-70-sudden-7",
        ),
        pytest.param(
            {"age_years": 40, "fever": True, "leg_numbness": "stable"},
            "emergency",
            id="disposition-fever-leg-numbness",
        ),
        pytest.param({"age_years": 40, "bladder": "unknown"}, "urgent", id="disposition-bladder-unknown"),
        pytest.param({"age_years": 40, "both_legs": "unknown"}, "prompt", id="disposition-both-legs-unknown"),
    ],
)
def test_disposition_boundary(findings: dict[str, Any], expected: str) -> None:
    assert triage(findings).disposition.value == expected
