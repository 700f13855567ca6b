"""Screening rules 2.3.0: classes of wording a fifth writer's texts (dev_f) showed the rules
missed or over-read, each with paraphrases of its class and the everyday phrases it must not
match."""

from __future__ import annotations

import pytest

from telespine.care.screening import screen_message


@pytest.mark.parametrize(
    ("text", "audience", "concept"),
    [
        # the bowels going on their own
        ("My bowels went without warning when I bent down", "adult", "bowel_incontinence"),
        ("His bowels opened by themselves at school and he didn't notice", "pediatric", "bowel_incontinence"),
        # intimacy without feeling
        ("We tried to be intimate and I couldn't feel anything, that's new", "adult", "sexual_dysfunction"),
        ("When we made love last night I felt nothing, I was numb", "adult", "sexual_dysfunction"),
        # "without feeling" and the inner legs
        ("My bottom and inner legs are without feeling since Monday", "adult", "saddle_numbness"),
        ("My bum has been without any feeling all day", "adult", "saddle_numbness"),
        # a hesitant stream
        ("My wee has been hesitant today, took ages to start", "adult", "bladder_changed"),
        ("It takes ages to get going when I pee now", "adult", "bladder_changed"),
        # a fall told with its height
        ("He fell about 4m off the scaffolding at work", "adult", "major_trauma"),
        ("She fell from 3 metres onto her back", "pediatric", "major_trauma"),
        ("I fell 10 ft off a ladder yesterday", "adult", "major_trauma"),
        ("Fell off the top of the climbing frame onto his back", "pediatric", "major_trauma"),
        # a limp told in the past tense, self-harm told by a parent
        ("She limped all the way home from school and her back hurts", "pediatric", "walking_difficulty"),
        ("My son has been hurting himself because of the pain", "pediatric", "crisis"),
        # weight lost "about a stone"
        ("I've lost about a stone in two months and my back aches", "adult", "unexplained_weight_loss"),
    ],
)
def test_each_new_class_is_read_as_its_red_flag(text: str, audience: str, concept: str) -> None:
    result = screen_message(text, audience)  # type: ignore[arg-type]
    assert result.needs_review and result.safety_net, text
    assert concept in {m.concept for m in result.flags}, (text, result.flags)


@pytest.mark.parametrize(
    "text",
    [
        "Weighed myself: up 1 kg since Christmas, oops. Back ok.",
        "Weighed myself this morning, same as last week.",
        "We had an intimate dinner, I couldn't feel happier",
        "The queue took ages so I had a wee at the pub",
        "I fell 2 feet off the bottom step, just a bump",
        "I'm 2 m tall and walked 5 km today",
        "Walked 20 minutes today, felt good.",
    ],
)
def test_everyday_phrases_of_those_classes_raise_no_net(text: str) -> None:
    result = screen_message(text, "adult")
    assert not result.safety_net, (text, result.flags)


@pytest.mark.parametrize(
    "text",
    [
        "Sat in the cinema for hours, my bum went numb by the end but it was fine as soon as I stood up.",
        "Had a numb leg when I stood up from my desk but it went in seconds.",
    ],
)
def test_a_contrast_that_introduces_the_explanation_moves_numbness_to_a_person_not_lower(text: str) -> None:
    result = screen_message(text, "adult")
    assert not result.safety_net, (text, result.flags)
    # the safety layer still reads it: a person sees it at normal priority
    assert result.needs_review and any(m.concept.startswith("safety_") for m in result.review), text


@pytest.mark.parametrize(
    "text",
    [
        # a blocker after the explanation, or a contrast that brings in someone or something else
        "My bum went numb but it was fine as soon as I stood, now it's numb again",
        "My bum is numb but my wife was fine as soon as she stood",
        "My bum went numb but it was fine as soon as I stood, but it keeps coming back",
        "Both legs went numb, but then fine, but now they are numb again",
        # a febrile reading is never explained away, and the contrast is for numbness only
        "He had a temperature of 39 but that's long gone",
        "I've got a temperature but it's all gone now",
    ],
)
def test_the_contrast_never_explains_past_a_later_blocker_or_another_subject(text: str) -> None:
    result = screen_message(text, "adult")
    assert result.safety_net, (text, result.flags)


@pytest.mark.parametrize(
    "text",
    [
        "I am 77 years of age and I am pleased to report no deterioration.",
        "I'm 65 and retired, walking 5 km a day. Back is a niggle, nothing more.",
        "I smoke 20 a day, have for years. Back aches in the afternoons.",
    ],
)
def test_an_age_or_smoking_alone_asks_for_no_review(text: str) -> None:
    assert not screen_message(text, "adult").needs_review, text


@pytest.mark.parametrize(
    "text",
    [
        "I'm 74 and tripped on the kerb yesterday",
        "I'm 82 and had a little tumble in the garden",
        "At 88 I sat down rather heavily on the garden wall and have been sore since",
        "I'm 77 and it came on suddenly when I coughed",
        "I'm 62 and my back wakes me at about 3am most nights",
        "I'm 67 and I haven't managed a drop since last night",
        "I smoke 20 a day and the pain wakes me at night",
        "I am 70, no falls, but I slipped on the step",
    ],
)
def test_an_age_or_smoking_beside_what_it_combines_with_asks_for_review(text: str) -> None:
    assert screen_message(text, "adult").needs_review, text


@pytest.mark.parametrize(
    ("text", "audience"),
    [
        ("The office is at fever pitch with the merger, I'm stressed", "adult"),
        ("I feel numb about the whole thing honestly. Back ok though.", "adult"),
        ("I'm burning up in this heatwave, 34 degrees in the office. Back is fine.", "adult"),
        ("He had his tonsils out 2 years ago, no other operations.", "pediatric"),
        ("Slept on my arm and woke with a dead hand, came back in a few minutes. Back fine.", "adult"),
    ],
)
def test_everyday_uses_of_symptom_words_raise_no_net(text: str, audience: str) -> None:
    result = screen_message(text, audience)  # type: ignore[arg-type]
    assert not result.safety_net, (text, result.flags)


@pytest.mark.parametrize(
    ("text", "audience"),
    [
        ("I'm burning up with a fever in this heatwave", "adult"),
        ("He's 3 years old and his back hurts", "pediatric"),
        ("My hand went numb, came back in a few minutes", "adult"),
        ("My hand went dead again, came back in a few minutes", "adult"),
        # "came back in" is no "back in 2019" (historical)
        ("The numbness in my hand came back in a few minutes", "adult"),
    ],
)
def test_the_same_words_about_a_real_finding_still_count(text: str, audience: str) -> None:
    assert screen_message(text, audience).needs_review, text  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "audience", "concept"),
    [
        ("I've lost a stone in two months without dieting", "adult", "unexplained_weight_loss"),
        ("My son's shoulders don't look level in photos and his back aches", "pediatric", "spinal_curvature"),
        ("When I lift my arm my hand goes pale and cold", "adult", "arm_swelling_or_colour_change"),
        ("My right arm has gone puffy and bluish", "adult", "arm_swelling_or_colour_change"),
    ],
)
def test_findings_read_at_normal_priority_or_above(text: str, audience: str, concept: str) -> None:
    result = screen_message(text, audience)  # type: ignore[arg-type]
    assert result.needs_review, text
    assert concept in {m.concept for m in [*result.flags, *result.modifiers, *result.review]}, text


def test_an_arm_colour_change_sets_its_finding_without_the_emergency_net() -> None:
    result = screen_message("My right arm has gone puffy and bluish when I hang washing", "adult")
    assert result.findings_update().get("arm_swelling_or_color_change") is True
    assert not result.safety_net
