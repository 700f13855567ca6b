"""Screening rules 2.4.0: classes of wording a sixth writer's texts (dev_g) showed the rules
missed or over-read. Each class has paraphrases of its own (not the writer's texts) and, beside
it, the everyday wording it must not turn into an emergency."""

from __future__ import annotations

import pytest

from telespine.care.screening import screen_message


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
        # idioms: a street, a tap, a party, a tent, a game on television
        "Power cut in the whole street last night, a blackout in the village till 2am",
        "Cabin fever after three days indoors with the kids",
        "The leaking tap kept me up, plumber tomorrow",
        "Toilet's blocked again, back is fine though",
        "Passed out on the sofa after the night shift, slept like a log",
        "Collapsed the tent in the rain and drove home, back ok",
        # a relative's illness told before the relative
        "Chemo finished for my mum today, we celebrated",
        # weight lost on purpose
        "Down 3 kg since I started the new diet, happy",
        "Lost 2 lb on the walking plan this week",
        # a limb asleep from how one sat, the cold, a jab; breathless from a run; dizzy giving blood
        "The dog sat on my lap all evening and my legs went dead",
        "My foot went to sleep in the dentist chair, woke up when I got up",
        "Arm is dead from the flu jab, back a 3",
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
