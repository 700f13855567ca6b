"""Screening rules 2.5.1, found on the tenth writer's part once it became development data: a
checklist answered one line at a time ("Fever: no" then "Pain 2" on the next line), a checklist
answer that is unsure or a bare yes, a pregnancy told by the baby or its date, and a collapse told
by what was seen. Each case is a paraphrase written for this test, not a data row; the rules are
checked with the learned review layer off, so the model cannot hide a rule fault."""

from __future__ import annotations

import dataclasses

import pytest

from telespine.care.findings_merge import merge_findings
from telespine.care.screening import Screening, screen_message
from telespine.care.screening.matching import get_pipeline
from telespine.triage import triage

BASELINE = {"age_years": 40, "location": "low_back", "duration_days": 14, "pain_score": 4}


def _rules_only(text: str, audience: str = "adult", kind: str = "diary") -> Screening:
    rules = dataclasses.replace(get_pipeline(), review=None)
    return screen_message(text, audience, pipeline=rules, kind=kind)  # type: ignore[arg-type]


# --- a denial at the end of a line -------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Fever: no\nPain 2",
        "Fever - no\nNumb - no\nWeak - no\nPeeing - fine\nPain - 2\nNotes: new trainers, comfy",
        "Temp: none\nLegs: fine\nSlept ok",
        "Fever: no\nBladder: fine\nBowels: normal",
    ],
)
def test_a_denial_that_ends_its_line_answers_the_label_before_it(text: str) -> None:
    result = _rules_only(text)
    assert not result.needs_review, (text, result.flags, result.review)


@pytest.mark.parametrize(
    "text",
    [
        "Day 3: no\nfever since lunch",  # the "no" answers "Day 3"; the fever on the next line stands
        "Mon: no. Fever since lunch",
        "Fever: no\nnumb legs since this morning",
        "Fever: yes\nPain 3",
    ],
)
def test_what_the_next_line_says_is_still_read(text: str) -> None:
    assert _rules_only(text).safety_net, text


@pytest.mark.parametrize(
    "text",
    [
        "I've lost control of my bladder - no\nidea why",
        "Wet myself - no\ncontrol",
        "Leaking urine - no\nnot since yesterday",
    ],
)
def test_a_no_that_runs_on_to_the_next_line_denies_nothing_before_it(text: str) -> None:
    # the next line is no checklist item (no label and separator, no number): "no" belongs to it
    assert _rules_only(text).safety_net, text


# --- an unsure or bare-yes checklist answer -------------------------------------------------


@pytest.mark.parametrize(
    ("text", "finding"),
    [
        ("Bladder: not sure", "bladder"),
        ("Peeing - unsure\nPain 3", "bladder"),
        ("Bowels: dunno", "bowel"),
        ("Groin: not sure really", "saddle_numbness"),
        ("Legs: yes", "leg_weakness"),
        ("Bladder - yes\nBowels - fine", "bladder"),
    ],
)
def test_an_unsure_checklist_answer_is_unknown_and_same_day(text: str, finding: str) -> None:
    result = _rules_only(text)
    assert result.safety_net, text
    update = result.findings_update()
    assert update.get(finding) == "unknown", update
    # POLICY.md property 3: unknown on a finding that alone fires an emergency rule is same day
    assert triage(merge_findings(BASELINE, update)).disposition.value in ("urgent", "emergency")


@pytest.mark.parametrize(
    "text",
    ["Bladder: fine", "Bowels - normal", "Legs: ok\nBladder: no", "Walking: yes, 20 minutes by the canal"],
)
def test_a_plain_checklist_answer_is_no_flag(text: str) -> None:
    assert not _rules_only(text).safety_net, text


# --- pregnancy and collapse -------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["Our baby is due in March, back aches by evening", "Wk 37, baby has dropped, back sore"]
)
def test_a_pregnancy_told_by_the_baby_goes_to_a_person(text: str) -> None:
    result = _rules_only(text, kind="message")
    assert result.needs_review and "pregnancy" in [m.concept for m in result.review], text
    assert not result.safety_net


def test_someone_elses_due_date_is_not_the_patients_pregnancy() -> None:
    assert not _rules_only("My sister has her baby due next week so I'm driving a lot, back 3").needs_review


def test_eyes_rolled_back_is_a_collapse_and_rolling_ones_eyes_is_not() -> None:
    seen = _rules_only("He stood up, went down and his eyes rolled back for a few seconds", kind="message")
    assert "fainting_or_collapse" in [m.concept for m in seen.flags]
    look = _rules_only("She rolled her eyes at me when I said no phone at dinner. Back fine", "pediatric")
    assert not look.needs_review


# --- another person's story, and road and animal injuries ----------------------------------
# A review of 2.5.1 found that FAMILY triggers after a diary label ("Mon - friend noticed ...") or
# around company ("with my husband there", "visiting Dad ... on chemo myself") took the writer's
# own red flags; those triggers were removed before release. These must stay the writer's.


@pytest.mark.parametrize(
    "text",
    [
        "Wed: I collapsed in the kitchen",
        "My legs went numb carrying the shopping for my wife",
        "I had chemo in March, my wife drove me",
        "Sun: Dad drove. I blacked out for a minute in the car",
        "Mon - friend noticed numbness around my bottom",
        "Mon: Friend noticed numb bum when wiping",
        "Mon: mum says numb groin and can't pee",
        "Had a spinal injection last week with my husband there. Now fever 39 and shivering",
        "Visiting Dad in hospital while on chemo myself, fever of 38.5 tonight",
    ],
)
def test_the_writers_own_report_beside_another_person_stands(text: str) -> None:
    assert _rules_only(text).safety_net, text


def test_a_risk_factor_told_beside_company_still_combines_with_fever() -> None:
    update = _rules_only(
        "Had a spinal injection last week with my husband there. Now fever 39"
    ).findings_update()
    assert update.get("recent_spinal_procedure") is True and update.get("fever") is True
    assert triage(merge_findings(BASELINE, update)).disposition.value == "urgent"


@pytest.mark.parametrize(
    "text",
    [
        "We were hit at the junction on Friday in the car, now my back is sore",
        "The horse fell on me in the yard, landed across my hips",
        "I haven't been able to raise my left arm since this morning",
        "Back pain that goes round to the front of my chest",
    ],
)
def test_a_road_or_animal_injury_an_arm_that_will_not_lift_and_pain_into_the_chest(text: str) -> None:
    assert _rules_only(text, kind="message").safety_net, text


@pytest.mark.parametrize(
    "text",
    [
        "I have been able to lift my arm higher since the stretches",
        "I was able to lift my grandson today, arms fine",
    ],
)
def test_an_arm_that_lifts_is_no_weakness(text: str) -> None:
    assert not _rules_only(text, kind="message").needs_review, text
