"""Screening rules 2.4.0: classes of wording a sixth writer's texts (dev_g) showed the rules
missed or over-read. Each class has paraphrases of its own (not the writer's texts) and, beside
it, the everyday wording it must not turn into an emergency."""

from __future__ import annotations

import dataclasses

import pytest

from telespine.care.screening import Screening, screen_message
from telespine.care.screening.matching import get_pipeline


@pytest.mark.parametrize(
    ("text", "concept"),
    [
        # the plain slang for a new erection problem
        ("Since my back went I can't get it up, never had that before", "sexual_dysfunction"),
        ("Can't keep it up since the disc thing started", "sexual_dysfunction"),
        # a belly that beats
        ("There's something in my belly that beats like a heart when I lie down", "pulsating_abdominal_mass"),
        ("My tummy pulsates, you can see it, I'm 74", "pulsating_abdominal_mass"),
        # "back in" is the back itself, not a time long ago
        ("Lying on my back in bed I can feel my stomach throbbing like a pulse", "pulsating_abdominal_mass"),
        # the bladder letting go
        ("Walking to the car my bladder just let go", "bladder_incontinence"),
        ("My bladder gave way in the shop this morning", "bladder_incontinence"),
        # the urge with no flow, said with "but"
        ("I need to pee but nothing comes, since this morning", "bladder_retention"),
        ("Keep trying to wee but nothing, it's been 10 hours", "bladder_retention"),
        # a collapse told as dizziness and the floor, or as being found there
        ("Got dizzy at the sink and hit the floor", "fainting_or_collapse"),
        ("My wife found me on the floor and I don't remember falling", "fainting_or_collapse"),
        # a hard hit in sport slang
        ("Rugby today, got speared into the ground by a big lad", "major_trauma"),
    ],
)
def test_each_new_class_is_read_as_its_red_flag(text: str, concept: str) -> None:
    result = screen_message(text, "adult")
    assert result.needs_review and result.safety_net, text
    assert concept in {m.concept for m in result.flags}, (text, result.flags)


@pytest.mark.parametrize(
    ("text", "concept"),
    [
        # the place told by what it is for, and a one-word sentence before it
        ("Numb in the bit you sit on since yesterday", "saddle_numbness"),
        ("Tingling. Down there, where you sit on a bike seat.", "saddle_numbness"),
    ],
)
def test_the_saddle_said_around_the_word_is_read_at_once(text: str, concept: str) -> None:
    result = screen_message(text, "adult")
    assert result.safety_net, (text, result.flags, result.review)
    assert concept in {m.concept for m in result.flags}, (text, result.flags)


@pytest.mark.parametrize(
    "text",
    [
        # idioms: a street, a tap, a party, a tent
        "Power cut in the whole street last night, no lights till 2am",
        "Cabin fever after three days indoors with the kids",
        "The leaking tap kept me up, plumber tomorrow",
        "Toilet's blocked again, back is fine though",
        # (not "passed out on the sofa": the same words tell a faint, so it nets: an accepted false alarm)
        "Collapsed the tent in the rain and drove home, back ok",
        # (not "chemo finished for my mum today": with no backward family trigger it reads as the
        # writer's cancer; an accepted false alarm, rules 2.4.2)
        # weight lost on purpose
        "Down 3 kg since I started the new diet, happy",
        "Lost 2 lb on the walking plan this week",
        # a limb asleep from how one sat, the cold, a jab; breathless from a run; dizzy giving blood
        "The dog sat on my lap all evening and my legs went dead",
        "My foot went to sleep in the dentist chair, woke up when I got up",
        "Arm is dead from the flu jab, annoying",
        "Out of breath after the hill run, as usual",
        "A bit light-headed giving blood, the nurse said it's normal",
    ],
)
def test_everyday_phrases_of_those_classes_raise_no_net(text: str) -> None:
    result = screen_message(text, "adult")
    assert not result.safety_net, (text, result.flags)


@pytest.mark.parametrize(
    "text",
    [
        # the same classes with the red flag still there: the explanations must not reach them
        "The dog sat on my lap and now both legs are weak and keep giving way",
        "Out of breath after the hill run and my chest is tight and painful",
        "I gave blood and then fainted and fell on the floor",
        "Lost a stone without dieting, no idea why",
        "I'm a carer for my dad and now I wet myself too",
        "Collapsed in the kitchen this morning, my back is agony",
    ],
)
def test_the_red_flag_beside_an_explanation_still_raises_the_net(text: str) -> None:
    result = screen_message(text, "adult")
    assert result.needs_review and result.safety_net, (text, result.flags)


@pytest.mark.parametrize(
    "text",
    [
        "Fell in the snow, can't feel my legs",
        "Slipped on the ice, my legs went dead, sitting on the floor",
        "Gave blood and felt light-headed, then I fell and hit the floor",
    ],
)
def test_an_injury_or_a_fall_beside_the_cause_keeps_the_net(text: str) -> None:
    result = screen_message(text, "adult")
    assert result.safety_net, (text, result.flags, result.ignored)


def _rules_only(text: str, audience: str = "adult") -> Screening:
    """The rules' screening with the learned review layer off."""
    rules = dataclasses.replace(get_pipeline(), review=None)
    return screen_message(text, audience, pipeline=rules)  # type: ignore[arg-type]


def _rules_only_net(text: str, audience: str = "adult") -> bool:
    return _rules_only(text, audience).safety_net


@pytest.mark.parametrize(
    ("text", "audience"),
    [
        # beside the idioms: the same words saying a real faint, fever or accident (review of 2.4.0)
        ("I had a blackout in the kitchen.", "adult"),
        ("Had a blackout in the car park, came to with people around me.", "adult"),
        ("I passed out in front of the kids this morning", "adult"),
        ("She passed out in bed and we couldn't wake her", "pediatric"),
        ("Hot and cold over the last two days, shivering, back worse", "adult"),
        ("He had a wee accident with no warning at school", "pediatric"),
        # the relative after the writer's own red flag
        ("My legs are numb and weak and I wet myself, I'm scared of my husband finding out", "adult"),
        ("I wet myself in front of my husband", "adult"),
        ("Can't feel my bum when I wipe, waiting for my partner to take me to A&E", "adult"),
        # a spinal injection, a calf, a normal diet
        ("Since the jab in my back yesterday my legs feel dead", "adult"),
        ("Out of breath at training today and my calf is swollen", "adult"),
        ("I've lost weight this month, about 6 kg, my diet is normal", "adult"),
    ],
)
def test_the_rules_alone_still_net_a_red_flag_beside_the_new_idioms(text: str, audience: str) -> None:
    # with the learned layer off: the model must not be what keeps these from under-triage
    assert _rules_only_net(text, audience), text


@pytest.mark.parametrize(
    "text",
    [
        # a backward trigger after a first terminator once reached the whole sentence (rules 2.4.2)
        "I wet myself this morning, the pain has gone",
        "I have a fever, osteoporosis runs in the family",
        "Yesterday I wet myself, the headache went away",
        # the second review of 2.4.1: a street, a jab, a seat, a run
        "had a blackout in the street on my way to the shop",
        "I had a blackout in the street and woke up on the pavement",
        "arm feels dead after the covid jab and I can't lift it",
        "my legs have gone dead at the cinema and I can't move them",
        "short of breath after the run, lips gone blue",
        "short of breath after a run, heart fluttering",
    ],
)
def test_the_second_reviews_wordings_net_with_the_rules_alone(text: str) -> None:
    assert _rules_only_net(text), text


def test_a_procedure_told_before_a_relative_stays_the_writers() -> None:
    result = _rules_only("I had an epidural last week, came down for my sister")
    assert "recent_spinal_procedure" in {m.concept for m in result.flags}
