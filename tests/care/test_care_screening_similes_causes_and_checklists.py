"""Screening rules 2.6.0 (similes, everyday causes, checklist answers): each change as a boundary
pair (the harmless reading, and the nearest text that must still raise the emergency safety
net), and the review's probes of the first 2.6.0.

The changes came from the eleventh and twelfth writers' parts (dev_l, dev_m), where everyday diary
notes raised the emergency net: a pet limping, a simile, a diet, a numbness told as gone, a
checklist line, a denial of blood, tight boots, a screen headache, a stiff neck from sleeping.
A review of the first 2.6.0 found that a pet or a sibling as a FAMILY trigger, a diary label
before a question, and loose "gone" and diet phrases hid real signs in unpunctuated texts; those
were removed or narrowed, and its probes are kept below.
"""

from __future__ import annotations

import pytest

from telespine.care.screening import screen_message
from telespine.triage.types import Audience


def _concepts(text: str, audience: Audience = "adult") -> set[str]:
    result = screen_message(text, audience, kind="diary")
    return {m.concept for m in [*result.flags, *result.review]}


# (harmless text, its audience, the text beside it that must raise the net, its audience)
PAIRS: list[tuple[str, Audience, str, Audience]] = [
    # "childs" was corrected to "chills" (a fever)
    (
        "Day 5 (childs back) she did her swimming lesson",
        "pediatric",
        "He has the chills and a temperature",
        "pediatric",
    ),
    # a pet's limp: the limp word inside the phrase only
    (
        "The dog's been limping, vet says it's a thorn.",
        "adult",
        "I've been limping since the dog pulled me over",
        "adult",
    ),
    # similes and causes
    ("Felt like I'd been hit by a bus after the spin class", "adult", "I was hit by a bus", "adult"),
    ("Had the chills watching that horror film", "adult", "I have the chills and feel hot", "adult"),
    ("Sweating buckets after the spin class, felt great", "adult", "sweating buckets every night", "adult"),
    # weight lost on purpose
    ("Down 2kg on the diet plan, pleased!", "adult", "Down 2kg without trying", "adult"),
    ("Would losing weight help my back?", "adult", "I keep losing weight, is that my back?", "adult"),
    # a checklist line "none" ends a near rule's window
    (
        "- Numbness: none\n- Bladder - normal\n- Fever: no",
        "adult",
        "- Numbness: none\n- Bladder - can't go",
        "adult",
    ),
]


@pytest.mark.parametrize(("harmless", "h_audience", "flagged", "f_audience"), PAIRS)
def test_the_everyday_reading_leaves_the_net_down_and_its_neighbour_raises_it(
    harmless: str, h_audience: Audience, flagged: str, f_audience: Audience
) -> None:
    calm = screen_message(harmless, h_audience, kind="diary")
    assert not calm.safety_net, [m.concept for m in calm.flags]
    raised = screen_message(flagged, f_audience, kind="diary")
    assert raised.safety_net, flagged


def test_a_numbness_told_as_gone_leaves_the_net_down_and_a_worse_one_raises_it() -> None:
    gone = screen_message(
        "The pins and needles I had in my foot last month have completely gone now", "adult", kind="diary"
    )
    assert not gone.safety_net  # (rules 2.0.0 read "gone now" as a denial: nothing is raised)
    for text in (
        "The pins and needles in my foot have gone worse",
        "The pins and needles in my foot have completely gone now but my leg is weak",
        "The numbness I had in both feet has completely gone now",
        "The pins and needles in my foot have completely gone up my leg now",
        "tingly toes have gone completely numb now",
    ):
        assert screen_message(text, "adult", kind="diary").safety_net, text


def test_a_denial_of_blood_is_a_denial_and_blood_is_read() -> None:
    assert not screen_message("No blood in my wee, no lumps", "adult").needs_review
    assert "symptom_words" in _concepts("there was blood in my wee this morning")


@pytest.mark.parametrize(
    ("explained", "kept", "audience"),
    [
        (
            "He's been limping in his football boots because they're too small, new ones fixed it.",
            "He's been limping since he fell off the wall, and his boots are too small",
            "pediatric",
        ),
        (
            "He's been limping in his football boots because they're too small, new ones fixed it.",
            "limping, new trainers, knee looks puffy and he seems unwell",
            "pediatric",
        ),
        (
            "Headache from the screen today, took paracetamol",
            "Worst headache of my life from the screen",
            "adult",
        ),
        (
            "She woke with a stiff neck from a funny position, gone by lunch",
            "She has a stiff neck and a fever, slept funny",
            "pediatric",
        ),
        (
            "She woke with a stiff neck from a funny position, gone by lunch",
            "stiff neck slept funny, spots that dont fade under a glass",
            "pediatric",
        ),
    ],
)
def test_an_everyday_cause_beside_a_limp_a_headache_or_a_stiff_neck(
    explained: str, kept: str, audience: Audience
) -> None:
    """The cause explains the word away only where nothing beside it says more (a fall, a swelling,
    the worst headache, a fever, a rash): those still reach a person."""
    assert not screen_message(explained, audience, kind="diary").needs_review
    assert screen_message(kept, audience, kind="diary").needs_review


# The review of the first 2.6.0: texts whose sign that version hid (read as another's, as a
# supposition, or explained away). Each must raise the net.
REVIEW_PROBES: list[tuple[str, Audience]] = [
    ("Dog's fine wet the bed again last night", "adult"),
    ("Dog started barking at 2am woke up with numb bum cant pee", "adult"),
    ("the dog keeps jumping on the bed legs numb and weak", "adult"),
    ("Tripped over the dog's toy landed hard on back cant move legs", "adult"),
    ("the cat was on the bed all night woke with no feeling down below", "adult"),
    ("Lab was shut had fever of 39 all night after chemo", "adult"),
    ("the dog was barking all night he woke up screaming cant feel his legs", "pediatric"),
    ("our dog got out he ran after it fell off the wall landed on his back", "pediatric"),
    ("Sister here writing for him he fell off the ladder hit his back cant feel legs", "adult"),
    ("Brother's stag do at the weekend groin been numb ever since", "adult"),
    ("Uncle died last month lost 2 stone without trying", "adult"),
    ("Brother pushed her off the trampoline she landed on her neck cant feel her legs", "pediatric"),
    ("My other son noticed he cant feel his bum when he wipes", "pediatric"),
    ("Day 4 - if anything my legs got weaker, is that normal?", "adult"),
    ("Check-in: if it helps, I wet myself twice and my groin went numb, what should I do?", "adult"),
    (
        "Sorry to bother you - if I'm honest I wet myself last night and my groin went numb, should I ring?",
        "adult",
    ),
    ("The pins and needles in my foot have gone up my leg", "adult"),
    ("numbness in my leg, the feeling has completely gone", "adult"),
    ("Lost a stone in 6 weeks, my diet is healthy", "adult"),
    ("Weight dropping off me nothing different in my diet", "adult"),
    ("Lost a stone which the physio says is good for my back, no idea how", "adult"),
    ("my brain went numb and so did my groin", "adult"),
]


@pytest.mark.parametrize(("text", "audience"), REVIEW_PROBES)
def test_the_reviews_probes_raise_the_net(text: str, audience: Audience) -> None:
    assert screen_message(text, audience, kind="diary").safety_net, text


def test_a_question_that_reports_with_if_is_not_a_supposition() -> None:
    """ "If anything", "if I'm honest", "if it helps" are fillers: the sign after them counts."""
    for text in (
        "If anything my legs got weaker this week, is that normal?",
        "If I'm honest I wet myself last night, should I worry?",
    ):
        assert screen_message(text, "adult").safety_net, text
    supposed = screen_message("If he ever got a fever, do we come in?", "pediatric")
    assert not supposed.needs_review


@pytest.mark.parametrize(
    "text",
    [
        "Wee: none since yesterday",
        "Passed urine: none since 6am",
        "Pee: none all day and bloated",
        "Pee - nothing since this morning",
    ],
)
def test_a_checklist_answer_of_no_urine_since_a_time_is_retention(text: str) -> None:
    """The review of 2.6.0 found these missed by every earlier rule set: retention, an emergency."""
    result = screen_message(text, "adult", kind="diary")
    assert result.safety_net
    assert result.findings_update().get("bladder") == "retention"


def test_a_checklist_denial_of_wee_problems_is_not_retention() -> None:
    for text in ("Wee: none", "Bladder problems: none", "Wee accidents: none since Monday"):
        assert "bladder_retention" not in _concepts(text), text


def test_a_sudden_worst_ever_headache_raises_the_net_and_a_screen_headache_does_not() -> None:
    """A thunderclap headache is an emergency outside the back (the `crisis` concept, no finding)."""
    for text in ("Thunderclap headache in the meeting", "sudden worst headache of my life, came on at once"):
        assert screen_message(text, "adult").safety_net, text
    assert not screen_message("Headache from the screen today, took paracetamol", "adult").needs_review


@pytest.mark.parametrize(
    "text",
    [
        "If I ever wet myself do I come in?",
        "What do I do if I wet myself?",
        "what would happen if my legs went weak?",
    ],
)
def test_a_question_that_supposes_a_sign_still_reaches_a_person(text: str) -> None:
    """The second review of 2.6.0: ConText's own "if" and the longer starts ("what would happen
    if") hid the safety layer in a question; a person reads it at normal priority."""
    result = screen_message(text, "adult")
    assert result.needs_review and not result.safety_net


def test_the_fillers_match_as_the_pipeline_splits_them() -> None:
    """ "im" is split into "i m", "I'm" into "i 'm": each filler as written must match a text."""
    for text in (
        "If im honest my legs got weaker, is that normal?",
        "If I'm honest my legs got weaker, is that normal?",
    ):
        assert screen_message(text, "adult").safety_net, text


@pytest.mark.parametrize(
    "text", ["Pee: nothing for me to report", "Wee: none today, bowels fine", "Water: none since breakfast"]
)
def test_a_checklist_no_with_no_length_of_time_is_not_retention(text: str) -> None:
    assert "bladder_retention" not in _concepts(text), text
