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
