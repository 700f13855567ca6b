"""Screening rules 2.2.0: explanations across commas, conditional questions, new review words,
the rule file's schema and its strict loading."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

from telespine.care.screening import load_screening_rules, screen_message
from telespine.care.screening.schema import SCHEMA_FILE, schema_text
from telespine.datafile import load_yaml_text


def test_the_rule_file_schema_is_fresh_and_the_file_follows_it() -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == schema_text(), (
        "screening.schema.json is stale: run python -m telespine.care.screening.schema"
    )
    text = resources.files("telespine.care").joinpath("data/screening.yaml").read_text(encoding="utf-8")
    jsonschema.validate(load_yaml_text(text, "screening.yaml"), json.loads(schema_text()))


def test_the_rules_carry_their_version_and_review_date() -> None:
    rules = load_screening_rules()
    assert rules.version == "2.6.0"
    assert screen_message("my back is a bit sore").rules_version == "2.6.0"
    assert rules.reviewed[:4].isdigit()


def test_every_explanation_cites_known_sources_and_names_real_concepts() -> None:
    import yaml

    sources = Path(__file__).parents[2] / "src" / "telespine" / "content" / "sources.yaml"
    known = set(yaml.safe_load(sources.read_text(encoding="utf-8"))["sources"])
    rules = load_screening_rules()
    ids = {c.id for c in rules.concepts}
    assert rules.explanations
    for explanation in rules.explanations:
        assert set(explanation.sources) <= known, explanation.id
        assert set(explanation.concepts) <= ids, explanation.id


@pytest.mark.parametrize(
    ("text", "audience"),
    [
        # a numbness that went at once, told after a comma
        # (rules 2.2.1: the safety layer still reads explained numbness: see
        # test_an_explanation_never_cancels_the_safety_layer)
        ("My leg went a bit tingly sitting on it, then fine.", "adult"),
        # an illness that has passed, a normal temperature figure, cold and heat from outside
        ("He had a temperature last week with a cold, all gone now.", "pediatric"),
        ("Thermometer says 36.5 so I don't think it's a fever, just a warm room.", "adult"),
        ("Felt shivery waiting in the rain, warmed up once I got home.", "adult"),
        ("The heating is on full and I'm roasting.", "adult"),
        # a short steroid course
        ("I was on steroids for about two weeks last year for a chest infection, that's all.", "adult"),
        # questions that suppose a symptom, programmes, reported questions, other people
        ("If he ever got a fever, do we come in?", "pediatric"),
        ("Watched a documentary about cauda equina, scary stuff.", "adult"),
        ("The GP asked about weight loss and night sweats and I said no to both.", "adult"),
        # everyday phrases that share body words
        ("I can't stand sitting at my desk all day.", "adult"),
        ("I was bursting for a wee on the bus but made it.", "adult"),
        ("I've gone a bit numb to the whole thing, honestly.", "adult"),
        ("Got a dead arm from my brother messing about.", "pediatric"),
        ("Back didn't come up at all today. Went to Brownies.", "pediatric"),
        ("Stiff for ten minutes first thing, then fine.", "adult"),
        ("Bus seats are the worst. Stood the whole way home.", "adult"),
        ("I don't smoke and never have.", "adult"),
    ],
)
def test_everyday_texts_are_not_flagged(text: str, audience: str) -> None:
    result = screen_message(text, audience)  # type: ignore[arg-type]
    assert result.status == "ok"
    assert not result.needs_review, [(m.concept, m.text) for m in [*result.flags, *result.review]]


def test_a_question_that_supposes_a_safety_sign_goes_to_a_person_without_the_net() -> None:
    """Rules 2.6.0: a conditional question never hides the safety layer ("if anything my legs got
    weaker, is that normal?" reads like one): a person reads it at normal priority."""
    result = screen_message("If his legs ever got weak would that be an emergency?", "pediatric")
    assert result.needs_review and not result.safety_net


@pytest.mark.parametrize(
    ("text", "audience"),
    [
        # an explanation never reaches past a blocker, nor a figure of the mention's own
        ("My leg went numb, then fine, but now it keeps coming back.", "adult"),
        ("temp 38.6 this morning even though it was 36.9 last night", "adult"),
        # exercise explains tired legs, never legs giving way; a cause never explains the saddle area
        ("My legs gave way after the gym and I fell.", "adult"),
        ("My bum went numb on the long drive and it's still numb now.", "adult"),
        # a plain "if" report still counts
        ("If I walk far my legs give way, is that normal?", "adult"),
        # new wording
        ("I can't tell if the shower water is hot or cold on my backside.", "adult"),
        ("I don't get the feeling that I need to go, I only find out I've gone because I'm wet.", "adult"),
        ("ive pooed a bit without feeling it coming", "adult"),
        ("Things aren't working downstairs since my back went.", "adult"),
        ("Honestly some days I don't see the point in going on.", "adult"),
        ("Lying in the bath I saw a drumbeat above my navel.", "adult"),
        ("everything from the waist down feels like it's fizzing", "adult"),
        ("My wife thinks my bowels might not be right since this started.", "adult"),
    ],
)
def test_red_flags_raise_the_net(text: str, audience: str) -> None:
    result = screen_message(text, audience)  # type: ignore[arg-type]
    assert result.safety_net, [(m.concept, m.reasons) for m in result.ignored]


@pytest.mark.parametrize(
    ("text", "audience", "concept"),
    [
        ("I've smoked 20 a day since I was 15 and the pain wakes me at night.", "adult", "smoking"),
        (
            "Sixteen weeks of the programme, every session, and the back is exactly where it was.",
            "adult",
            "no_improvement_on_treatment",
        ),
        ("Took 16 co-codamol yesterday because nothing else was touching it.", "adult", "painkiller_count"),
        ("Still got the ache between my shoulder blades.", "adult", "thoracic_pain_long"),
        ("Up three times last night with his back, poor lad.", "pediatric", "night_pain"),
        ("It takes him over an hour every morning to loosen up.", "pediatric", "morning_stiffness"),
        (
            "At the pool I noticed one shoulder blade sticks out and her waist looks uneven.",
            "pediatric",
            "spinal_curvature",
        ),
        ("A 9 today. Couldn't get to work.", "adult", "severe_pain_score"),
    ],
)
def test_review_words_send_the_text_to_a_person(text: str, audience: str, concept: str) -> None:
    result = screen_message(text, audience)  # type: ignore[arg-type]
    assert result.needs_review
    assert concept in {m.concept for m in [*result.review, *result.modifiers, *result.flags]}


def test_a_painkiller_count_within_a_days_dose_is_not_read() -> None:
    result = screen_message("Took 2 paracetamol at lunch, helped.", "adult")
    assert not result.needs_review


def test_exercise_never_explains_away_weak_or_numb_legs() -> None:
    for text in (
        "My legs went heavy and weak after the walk.",
        "legs like jelly and weak after the hill walk",
    ):
        assert screen_message(text, "adult").safety_net, text
    # tired legs after a hike take the net off, but the safety layer still sends them to a person
    # (rules 2.2.1)
    tired = screen_message("My legs are heavy and tired after the hike.", "adult")
    assert tired.needs_review and not tired.safety_net


@pytest.mark.parametrize(
    "text",
    [
        "I hit my head when I fell and I've been sick twice",
        "Someone drove into the back of me at the lights",
        "It's like my bottom is made of rubber",
        "I keep going dizzy and my vision goes grey",
    ],
)
def test_head_injury_shunts_and_lay_sensations_raise_the_net(text: str) -> None:
    assert screen_message(text, "adult").safety_net


def test_a_racing_heart_goes_to_a_person_at_normal_priority() -> None:
    result = screen_message("My heart is going like the clappers and my back is killing me", "adult")
    assert result.needs_review and "safety_wellbeing" in {m.concept for m in result.review}


# Rules 2.2.1: the safety regressions of 2.2.0 a reviewer found, each with paraphrases of its class


@pytest.mark.parametrize(
    ("text", "audience"),
    [
        # a report about another person never hides the writer's (or the child's) own emergency
        ("Someone at work noticed I can't feel my bum and I've wet myself", "adult"),
        (
            "I was on the bus with people on their phones and I wet myself without noticing"
            " and can't feel my bum",
            "adult",
        ),
        ("Someone at school saw him wet himself and he can't feel his bottom", "pediatric"),
        ("I read on the forum that I should tell you I can't feel my bum", "adult"),
        ("Someone on the train said I looked pale and now I can't feel my bum", "adult"),
        ("Someone i know said my legs look weak and they are both numb", "adult"),
        ("People online told me to write in, I can't feel my bottom and I've wet the bed", "adult"),
        ("Someone at nursery noticed she can't feel her bottom and she's wet herself", "pediatric"),
        # "but he's fine now" never explains away a fever with a febrile reading, nor one that
        # medicine brought down
        ("He's got a temperature of 39.5 and his back really hurts but he's fine now", "pediatric"),
        ("He has a fever of 39 and his back hurts, but he's fine now he's had calpol", "pediatric"),
        ("I've got a fever of 39 but I'm fine now", "adult"),
        ("She had a temperature of 38.5 but she's fine now", "pediatric"),
        ("My temperature was 101 but I'm fine now after paracetamol", "adult"),
        ("He's got a fever, but it went down with calpol", "pediatric"),
        ("Temp of 38.9 last night, all gone now", "adult"),
        ("Boiling hot with a temperature of 39, the heating is on", "adult"),
        ("Fever and sweats at night, the heating's on", "adult"),
        ("He's got a temperature and he's shivering, we were out in the cold", "pediatric"),
        # numbness that lasted a while did not go at once
        ("Both legs numb from the waist down, fine after a while", "adult"),
        ("Both legs went dead, once i shook them they were ok", "adult"),
        ("My legs went numb from the waist down, back after a while", "adult"),
        ("Both my legs went numb, after a shake they were ok", "adult"),
        ("I can't feel my bum, fine once I stood up after a while", "adult"),
        # a hedged mention keeps its flag when a phrase would explain it ("maybe" is never a no)
        ("I don't think I have a fever, but I'm fine now", "adult"),
        ("I might have a fever, I think, but he's fine now", "pediatric"),
        ("Maybe both legs are numb, fine after a while", "adult"),
        ("Maybe both legs are numb, then fine", "adult"),
        ("I think both my legs are numb, back to normal", "adult"),
        ("Not sure if he has a fever, all gone now", "pediatric"),
    ],
)
def test_the_regressions_of_2_2_0_raise_the_net_again(text: str, audience: str) -> None:
    result = screen_message(text, audience)  # type: ignore[arg-type]
    assert result.needs_review and result.safety_net, (
        [(m.concept, m.reasons) for m in result.ignored],
        [m.concept for m in result.review],
    )


@pytest.mark.parametrize(
    ("text", "concept"),
    [
        ("Numb bum from the bleachers at the match, then fine once I walked about.", "safety_saddle"),
        ("My hands went numb holding the wheel on the long drive, fine after a shake.", "safety_arms"),
        ("My legs went numb under the cat, then it's fine when she moves.", "safety_legs"),
        ("legs like jelly after the hill walk on saturday, back was grand", "safety_legs"),
    ],
)
def test_an_explanation_never_cancels_the_safety_layer(text: str, concept: str) -> None:
    """The safety_* concepts are a backstop: an explanation takes the emergency net off a
    numbness that went at once, but a person still reads it (normal priority)."""
    result = screen_message(text, "adult")
    assert result.needs_review and not result.safety_net
    assert concept in {m.concept for m in result.review}


@pytest.mark.parametrize(
    "text",
    [
        "Someone on the forum said their legs gave way, that's not happening to me.",
        "People online say you can't feel your bum with cauda equina.",
    ],
)
def test_a_strangers_story_goes_to_a_person(text: str) -> None:
    """A stranger's story is FAMILY again (not hypothetical): the safety layer still reads it."""
    result = screen_message(text, "adult")
    assert result.needs_review
    assert {m.concept for m in result.review} & {"safety_legs", "safety_saddle"}


def test_a_normal_reading_still_explains_a_hedged_fever_and_a_phrase_still_explains_a_plain_one() -> None:
    assert not screen_message("Thermometer says 36.5 so I don't think it's a fever.", "adult").needs_review
    assert not screen_message("He had a fever last week, all gone now", "pediatric").needs_review
