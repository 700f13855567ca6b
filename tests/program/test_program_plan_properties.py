"""Properties of whole plans over generated findings and answers (hypothesis)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, get_args

from hypothesis import given, settings
from hypothesis import strategies as st

from telespine.program.medicines import MedicineAnswers
from telespine.program.models import Choices
from telespine.program.plan import PlanAnswers, build_plan, render_html
from telespine.triage import triage

NOW = datetime(2026, 5, 4, 9, 30, tzinfo=UTC)
DOSE = re.compile(r"\d\s*(mg|g|ml)\b", re.IGNORECASE)
OPIOIDS = re.compile(r"opioid|codeine|tramadol|morphine", re.IGNORECASE)
FLAG = st.sampled_from([True, False, "unknown"])

findings_st = st.fixed_dictionaries(
    {"age_years": st.integers(0, 100)},
    optional={
        "sex": st.sampled_from(["female", "male", "other"]),
        "pregnant": FLAG,
        "pain_score": st.integers(0, 10),
        "leg_pain_below_knee": FLAG,
        "fever": FLAG,
        "night_pain": FLAG,
        "location": st.sampled_from(["low_back", "mid_back", "neck_upper_back", "whole_back"]),
        "duration_days": st.integers(0, 200),
    },
)
medicines_st = st.fixed_dictionaries(
    {f: st.sampled_from(list(get_args(info.annotation))) for f, info in MedicineAnswers.model_fields.items()}
).map(lambda d: MedicineAnswers(**d))
choices_st = st.builds(
    Choices,
    favourite_activities=st.lists(st.sampled_from(["walking", "swimming", "football", "yoga"]), max_size=3),
    smokes=st.sampled_from(["yes", "no", "unknown"]),
)


def plan_html(findings: dict[str, Any], medicines: MedicineAnswers, choices: Choices) -> tuple[str, Any]:
    plan = build_plan(findings, triage(findings), PlanAnswers(medicines=medicines, choices=choices), NOW)
    return render_html(plan), plan


@settings(max_examples=100, deadline=None)
@given(findings_st, medicines_st, choices_st)
def test_child_plans_never_show_doses_or_suggest_aspirin(
    findings: dict[str, Any], medicines: MedicineAnswers, choices: Choices
) -> None:
    findings["age_years"] = findings["age_years"] % 18
    html, plan = plan_html(findings, medicines, choices)
    assert plan.audience == "pediatric"
    assert not DOSE.search(html)
    for sentence in re.findall(r"[^.>]*aspirin[^.<]*", html, flags=re.IGNORECASE):
        assert sentence.strip().startswith("Do not give aspirin")


@settings(max_examples=100, deadline=None)
@given(findings_st, medicines_st, choices_st)
def test_plans_never_mention_opioids_and_only_low_urgency_gets_a_program(
    findings: dict[str, Any], medicines: MedicineAnswers, choices: Choices
) -> None:
    html, plan = plan_html(findings, medicines, choices)
    assert not OPIOIDS.search(html)
    low_urgency = plan.disposition.value in ("telemedicine", "routine")
    assert (plan.program is not None) == low_urgency
    assert (plan.medicines is not None) == low_urgency
    assert "Warning signs to watch for" in html
