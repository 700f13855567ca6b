"""The written plan: its content checked in the PDF text (pypdf) and in the HTML."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from typing import Any

import pytest
from pypdf import PdfReader

from telespine.instruments import load_instrument
from telespine.program.plan import (
    PlanAnswersError,
    build_plan,
    parse_answers,
    render_html,
    render_pdf,
    safety_net_plan,
)
from telespine.triage import safety_net, triage

NOW = datetime(2026, 5, 4, 9, 30, tzinfo=UTC)
ADULT = {"age_years": 40, "location": "low_back", "onset": "gradual", "duration_days": 6, "pain_score": 5}
CHILD = {"age_years": 10, "location": "low_back", "onset": "gradual", "duration_days": 6, "pain_score": 4}
ALL_NO = {
    "pregnancy": "no",
    "stomach_ulcer_or_bleeding": "no",
    "kidney_disease": "no",
    "heart_disease": "no",
    "liver_disease": "no",
    "blood_thinners": "no",
    "asthma_worse_with_nsaids": "no",
    "other_pain_medicines": "no",
}
SB = [i.id for i in load_instrument("startback").items]
LOW = {**dict.fromkeys(SB[:8], "disagree"), SB[8]: "slightly"}
HIGH = {**dict.fromkeys(SB[:8], "agree"), SB[8]: "very_much"}


def answers(startback: dict[str, str] | None = None, **medicines: str) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "medicines": {**ALL_NO, **medicines},
        "choices": {
            "favourite_activities": ["cycling"],
            "goal": "Cycle to work again",
            "work_or_school": "desk_work",
            "smokes": "no",
        },
        "questionnaires": [{"instrument": "peg", "responses": {"pain": 6, "enjoyment": 5, "activity": 7}}],
    }
    if startback:
        doc["questionnaires"].append({"instrument": "startback", "responses": startback})
    return doc


def pdf_text(findings: dict[str, Any], doc: dict[str, Any]) -> str:
    plan = build_plan(findings, triage(findings), parse_answers(doc), NOW)
    reader = PdfReader(io.BytesIO(render_pdf(plan)))
    # Collapse line breaks: the PDF wraps sentences across lines.
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


@pytest.fixture(scope="module")
def adult_low() -> str:
    return pdf_text(ADULT, answers(LOW))


@pytest.fixture(scope="module")
def adult_high() -> str:
    return pdf_text(ADULT, answers(HIGH))


@pytest.fixture(scope="module")
def adult_kidney() -> str:
    return pdf_text(ADULT, answers(LOW, kidney_disease="yes"))


@pytest.fixture(scope="module")
def child() -> str:
    return pdf_text(
        CHILD,
        {
            "medicines": ALL_NO,
            "choices": {"work_or_school": "school"},
            "questionnaires": [{"instrument": "nrs", "responses": {"pain": 4}}],
        },
    )


def test_low_versus_high_startback(adult_low: str, adult_high: str) -> None:
    assert "Low risk" in adult_low and "low risk that your back pain" in adult_low
    assert "psychologically informed care" not in adult_low
    assert "High risk" in adult_high and "psychologically informed care" in adult_high
    assert "Keele University" in adult_low  # licence notice shown with the score


def test_adult_plan_content(adult_low: str) -> None:
    assert "cared for at home, with telemedicine" in adult_low
    assert "Warning signs to watch for" in adult_low
    assert "emergency department" in adult_low
    assert "Cycle to work again" in adult_low and "cycling" in adult_low
    assert "Knee to chest stretch" in adult_low
    assert "1,200 mg" in adult_low and "4 g" in adult_low  # no cautions: doses shown
    assert "every 30 minutes" in adult_low  # desk work
    assert "Smoking" not in adult_low
    # Follow-up: questionnaires repeated at 6 weeks (42 days after the plan date).
    assert "15 Jun 2026" in adult_low and "Six-week review" in adult_low
    assert "STarT Back Screening Tool" in adult_low


def test_nsaid_caution_removes_the_dose(adult_low: str, adult_kidney: str) -> None:
    assert "1,200 mg" not in adult_kidney
    assert "Ask a pharmacist or doctor before you take them" in adult_kidney
    assert "Kidney disease" in adult_kidney
    assert "4 g" in adult_kidney  # paracetamol is still fine
    assert "Kidney disease" not in adult_low


def test_child_plan_is_for_the_parent(child: str, adult_low: str) -> None:
    assert "Your child's back pain plan" in child
    assert "for the parent or carer" in child
    assert "Knee hug" in child and "Knee to chest stretch" not in child
    assert " mg" not in child and "1,200" not in child
    assert "age and weight" in child
    assert "Do not give aspirin to a child or teenager under 16" in child
    assert "aspirin" not in adult_low.lower()
    assert "Let the school know" in child


def test_emergency_plan_has_only_safety_advice() -> None:
    text = pdf_text({"age_years": 40, "saddle_numbness": True}, answers(LOW))
    assert "Go to an emergency department now" in text
    assert "A self-care plan is not right for now" in text
    assert "Exercises" not in text and " mg" not in text and "Follow-up" not in text
    assert "Warning signs to watch for" in text


def test_routine_plan_is_while_you_wait_and_pregnancy_avoids_nsaids() -> None:
    findings = {"age_years": 30, "sex": "female", "pregnant": True}
    plan = build_plan(findings, triage(findings), parse_answers(answers(LOW)), NOW)
    html = render_html(plan)
    assert plan.program is not None and "While you wait" in plan.program.framing
    assert "Do not take ibuprofen or other NSAIDs while you are pregnant" in html
    assert "1,200 mg" not in html and "midwife" in html


@pytest.mark.parametrize(
    "disposition_findings",
    [
        {"age_years": 40, "fever": True},  # prompt
        {"age_years": 40, "leg_weakness": "progressive"},  # urgent
    ],
)
def test_no_program_or_medicines_for_prompt_or_urgent(disposition_findings: dict[str, Any]) -> None:
    plan = build_plan(disposition_findings, triage(disposition_findings), parse_answers(answers()), NOW)
    assert plan.program is None and plan.medicines is None and plan.followup == []
    assert plan.reasons


def test_unresolved_answers_are_listed() -> None:
    findings = {"age_years": 40, "fever": "unknown"}
    html = render_html(build_plan(findings, triage(findings), parse_answers(answers()), NOW))
    # No call is promised: no phone number is on record (tests/program/test_program_plan_promises.py)
    assert "Some answers were" in html and "will call you" not in html and "fever" in html


def test_engine_safety_net_gives_an_emergency_plan() -> None:
    result = safety_net("boom", age=40)
    plan = build_plan(ADULT, result, parse_answers(answers(LOW)), NOW)
    assert plan.disposition.value == "emergency" and plan.program is None and plan.safety_net
    html = render_html(plan)
    assert "could not finish your assessment safely" in html
    assert "emergency department" in safety_net_plan(NOW).action


def test_user_text_is_escaped() -> None:
    doc = answers()
    doc["choices"]["goal"] = "<script>alert(1)</script>"
    html = render_html(build_plan(ADULT, triage(ADULT), parse_answers(doc), NOW))
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_answers_schema_is_strict() -> None:
    with pytest.raises(PlanAnswersError):
        parse_answers({"medicine": {}})
    with pytest.raises(PlanAnswersError):
        parse_answers({"questionnaires": [{"instrument": "nrs", "responses": {"pain": True}}]})
    child_startback = parse_answers(answers(LOW))
    with pytest.raises(PlanAnswersError):
        build_plan(CHILD, triage(CHILD), child_startback, NOW)  # STarT Back is for adults
    with pytest.raises(PlanAnswersError):
        build_plan(ADULT, triage(ADULT), parse_answers(answers(LOW)), NOW, enabled_instruments={"nrs", "peg"})
    with pytest.raises(PlanAnswersError):
        build_plan(ADULT, triage(ADULT), parse_answers(answers({"q1": "agree"})), NOW)


def test_startback_switched_off_leaves_it_out_of_the_follow_up() -> None:
    plan = build_plan(ADULT, triage(ADULT), parse_answers(answers()), NOW, enabled_instruments={"nrs", "peg"})
    six_weeks = next(f for f in plan.followup if f.questionnaires)
    assert six_weeks.on == date(2026, 6, 15)
    assert not any("STarT" in q for q in six_weeks.questionnaires)
    assert plan.program is not None and plan.program.risk == "not_assessed"
