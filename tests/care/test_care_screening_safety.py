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
    assert layer in {m.concept for m in result.review}
    assert not result.safety_net  # a person at normal priority; the reply offers the red-flag check
    assert result.findings_update() == {}  # the layer sets no finding


@pytest.mark.parametrize(
    "text",
    [
        "no tingling down there at all",
        "I haven't lost bladder control.",
        "my legs are not weak",
        "What if my legs gave way, would that be an emergency?",
        "My mum's legs keep giving way, she's 90",
        "I had a car crash years ago, nothing since",
    ],
)
def test_the_safety_layer_reads_context_like_every_mention(text: str, pipeline: Pipeline) -> None:
    result = screen_message(text, "adult", pipeline=pipeline)
    assert not [m for m in result.review if m.concept.startswith("safety_")], result.review
    assert not result.flags, result.flags


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
    """"after the gym" explains dead legs, not legs that give way (allowed_types), even when the
    two mentions cover the same words (spaCy shares their ConText modifiers)."""
    assert screen_message("my legs gave way after the gym", "adult", pipeline=pipeline).safety_net
    assert not screen_message("my legs are dead after the gym", "adult", pipeline=pipeline).needs_review


def test_every_safety_concept_is_a_review_concept_that_sets_nothing() -> None:
    layer = [c for c in load_screening_rules().concepts if c.safety]
    assert len(layer) >= 9
    assert all(c.kind == "review" and not c.sets and all(n.lemma for n in c.near[:1]) for c in layer)


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
