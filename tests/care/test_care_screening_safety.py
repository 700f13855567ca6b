"""Screening rules 2.1.0: the safety layer, lemmas, limited context triggers, everyday phrases."""

from __future__ import annotations

import pytest

from telespine.care.screening import Pipeline, get_pipeline, load_screening_rules, screen_message
from telespine.care.screening.terms import lemma


@pytest.fixture(scope="module")
def pipeline() -> Pipeline:
    return get_pipeline()


@pytest.mark.parametrize(
    ("word", "base"),
    [
        ("tingled", "tingle"),
        ("tingling", "tingle"),
        ("numbness", "numb"),
        ("legs", "leg"),
        ("fell", "fall"),
        ("dragging", "drag"),
        ("collapsed", "collapse"),
        ("wiping", "wipe"),
        ("buckled", "buckle"),
        ("pulsating", "pulse"),
    ],
)
def test_lemma_gives_one_form_per_word(word: str, base: str) -> None:
    assert lemma(word) == base


@pytest.mark.parametrize(
    ("text", "layer"),
    [
        # wordings no red-flag concept reads; the safety layer still sends them to a person
        ("my fanny has gone all tingly", "safety_saddle"),
        ("my toes catch on the carpet all the time now", "safety_legs"),
        ("my knee keeps folding under me", "safety_legs"),
        ("my thigh has gone heavy like lead", "safety_legs"),
        ("my chest feels crushed like an elephant is sitting on it", "safety_chest_breathing"),
        ("I keep stumbling over nothing", "safety_falls"),
        ("nothing comes out when I go to the washroom", "safety_bladder_bowel"),
        ("I took a tumble down the stairs", "safety_trauma"),
        ("my bits are all buzzy", "safety_saddle"),
    ],
)
def test_the_safety_layer_reads_what_no_concept_reads(text: str, layer: str, pipeline: Pipeline) -> None:
    result = screen_message(text, "adult", pipeline=pipeline)
    assert result.needs_review, result
    said = {m.concept: m for m in [*result.flags, *result.review]}
    assert layer in said, said
    mention = said[layer]
    if layer in ("safety_falls", "safety_wellbeing"):
        # no emergency finding suggested: a person reads it at normal priority
        assert mention.kind == "review" and not result.safety_net
    else:
        # the finding it suggests is unknown (POLICY.md rule 3: at least urgent), and unsure
        assert mention.kind == "red_flag" and mention.uncertain and result.safety_net
        assert set(mention.sets.values()) == {"unknown"}
        assert result.findings_update() == mention.sets


def test_a_safety_hit_retriages_to_at_least_urgent(pipeline: Pipeline) -> None:
    from telespine.care.retriage import retriage_message
    from telespine.triage.types import Disposition

    result = screen_message("my fanny has gone all tingly", "adult", pipeline=pipeline)
    done = retriage_message({"age_years": 40}, result)
    assert done.findings_after["saddle_numbness"] == "unknown"
    assert not Disposition.URGENT.more_urgent_than(done.result.disposition)
    assert done.needs_review


@pytest.mark.parametrize(
    "text",
    [
        "no tingling down there at all",
        "I haven't lost bladder control.",
        "my legs are not weak",
        "I had a car crash years ago, nothing since",
    ],
)
def test_the_safety_layer_reads_context_like_every_mention(text: str, pipeline: Pipeline) -> None:
    result = screen_message(text, "adult", pipeline=pipeline)
    assert not [m for m in result.review if m.concept.startswith("safety_")], result.review
    assert not result.flags, result.flags


def test_a_question_that_supposes_a_safety_sign_is_read_by_a_person(pipeline: Pipeline) -> None:
    """Rules 2.6.0: a supposition in a question may be a report ("if anything my legs got weaker,
    is that normal?"): the safety layer sends it to a person at normal priority, no net."""
    result = screen_message(
        "What if my legs gave way, would that be an emergency?", "adult", pipeline=pipeline
    )
    assert [m for m in result.review if m.concept.startswith("safety_")]
    assert not result.flags and not result.safety_net


def test_a_safety_span_does_not_hide_a_hedge_from_a_concept(pipeline: Pipeline) -> None:
    """The layer's words hold negations ("can't", "haven't"): they must not swallow ConText's
    triggers. "I can't tell if I can feel the toilet paper" stays a hedged saddle numbness."""
    result = screen_message("I can't tell if I can feel the toilet paper.", "adult", pipeline=pipeline)
    flags = [m for m in result.flags if m.concept == "saddle_numbness"]
    assert flags and flags[0].uncertain


@pytest.mark.parametrize(
    "text",
    [
        "I can't go to work this week.",
        "It won't go away.",
        "my legs are dead after the gym",
        "legs are dead from leg day",
        "numb from boredom in this meeting",
        "I need the accident at work form signed for my employer.",
        "Could you fill in the accident at work paperwork?",
        "can i get a fit note for work please",
        "the video link wont open on my phone, just spins",
        "bought a lumbar roll for the car, worth it",
        "Sat on the floor playing with the grandkids, getting up was the hard part.",
        "Walked 20 minutes today, felt good.",
        "Did my breathing exercises before bed.",
    ],
)
def test_everyday_phrases_stay_unflagged(text: str, pipeline: Pipeline) -> None:
    result = screen_message(text, "adult", pipeline=pipeline)
    assert not result.needs_review, (result.flags, result.review)


def test_an_explanation_limited_to_some_concepts_never_explains_legs_giving_way(pipeline: Pipeline) -> None:
    """ "after the gym" explains dead legs, not legs that give way (allowed_types), even when the
    two mentions cover the same words (spaCy shares their ConText modifiers)."""
    assert screen_message("my legs gave way after the gym", "adult", pipeline=pipeline).safety_net
    assert not screen_message("my legs are dead after the gym", "adult", pipeline=pipeline).needs_review


def test_every_safety_concept_sets_only_unknown_or_nothing() -> None:
    layer = [c for c in load_screening_rules().concepts if c.safety]
    assert len(layer) >= 11
    for concept in layer:
        assert all(n.lemma for n in concept.near[:1]), concept.id
        if concept.kind == "red_flag":
            assert concept.sets and set(concept.sets.values()) == {"unknown"}, concept.id
        else:
            assert concept.kind == "review" and not concept.sets, concept.id


def test_a_context_rule_must_name_known_concepts() -> None:
    from importlib import resources

    import yaml

    from telespine.care.screening.rules import ScreeningRules

    text = resources.files("telespine.care").joinpath("data/screening.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    data["context"].append(
        {"literal": "x", "category": "NEGATED_EXISTENCE", "direction": "FORWARD", "allowed_types": ["nope"]}
    )
    with pytest.raises(ValueError, match="no concept"):
        ScreeningRules.model_validate(data)


@pytest.mark.parametrize(
    "text",
    [
        "My husband can't pass urine since this morning",
        "My friend fell off a ladder",
        "My mum's legs keep giving way",
    ],
)
def test_the_safety_layer_reads_a_relative_or_carer_at_normal_priority(text: str, pipeline: Pipeline) -> None:
    """A red flag about someone else sets no finding (family), but the one writing is often the
    patient's carer, or the patient: the safety layer sends it to a person at normal priority."""
    result = screen_message(text, "adult", pipeline=pipeline)
    assert not result.flags
    assert result.needs_review and not result.safety_net
    assert any(m.concept.startswith("safety_") for m in result.review)
