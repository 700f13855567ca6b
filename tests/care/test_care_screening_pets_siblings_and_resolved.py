"""Screening rules 2.6.0: each change as a boundary pair (the harmless reading, and the nearest
text that must still raise the emergency safety net or reach a person).

The changes came from the eleventh and twelfth writers' parts (dev_l, dev_m), where everyday diary
notes raised the emergency net: a pet limping, a sibling's fever, a simile, a diet, a numbness told
as gone, a question after a diary label, a checklist line, a denial of blood.
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
    # an animal as the subject
    (
        "The dog's been limping, vet says it's a thorn.",
        "adult",
        "I've been limping since the dog pulled me over",
        "adult",
    ),
    (
        "Our dog got hit by a bike, poor thing.",
        "adult",
        "the dog knocked me over and I landed on my back",
        "adult",
    ),
    (
        "The cat has been wetting the bed, the vet says it's her age.",
        "adult",
        "I have been wetting the bed",
        "adult",
    ),
    # a brother or sister, named without "my", and another child of the parent's
    (
        "Brother off with a fever. Mia fine.",
        "pediatric",
        "Off school with a fever. Brother fine.",
        "pediatric",
    ),
    # similes and causes
    ("Felt like I'd been hit by a bus after the spin class", "adult", "I was hit by a bus", "adult"),
    ("Had the chills watching that horror film", "adult", "I have the chills and feel hot", "adult"),
    ("Sweating buckets after the spin class, felt great", "adult", "sweating buckets every night", "adult"),
    ("My brain went numb in the budget meeting", "adult", "My leg went numb in the budget meeting", "adult"),
    # weight lost on purpose
    ("Down 2kg on the diet plan, pleased!", "adult", "Down 2kg without trying", "adult"),
    ("Would losing weight help my back?", "adult", "I keep losing weight, is that my back?", "adult"),
    # a question after a diary label
    (
        "Morning check-in: If my leg ever went numb, would that be an emergency?",
        "adult",
        "Morning check-in: my leg went numb, if it ever got worse would that be an emergency?",
        "adult",
    ),
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


def test_a_brother_or_sisters_bedwetting_goes_to_a_person_not_the_emergency_page() -> None:
    """The safety layer still reads what a parent writes about another child (often enough the
    patient): a person reads it at normal priority; the patient's own wetting raises the net."""
    other = screen_message("My other daughter wet the bed last night", "pediatric", kind="diary")
    assert other.needs_review and not other.safety_net
    own = screen_message("My daughter wet the bed last night", "pediatric", kind="diary")
    assert own.safety_net
    assert "bladder_incontinence" in {m.concept for m in own.flags}


def test_a_numbness_told_as_gone_is_read_by_a_person_and_a_worse_one_raises_the_net() -> None:
    gone = screen_message(
        "The pins and needles I had in my foot last month have completely gone", "adult", kind="diary"
    )
    assert gone.needs_review and not gone.safety_net
    worse = screen_message("The pins and needles in my foot have gone worse", "adult", kind="diary")
    assert worse.safety_net
    weak = screen_message(
        "The pins and needles in my foot have completely gone but now my leg is weak", "adult", kind="diary"
    )
    assert weak.safety_net
    both = screen_message("The numbness I had in both feet has completely gone", "adult", kind="diary")
    assert both.safety_net  # both feet: never explained away


def test_a_denial_of_blood_is_a_denial_and_blood_is_read() -> None:
    assert not screen_message("No blood in my wee, no lumps", "adult").needs_review
    assert "symptom_words" in _concepts("there was blood in my wee this morning")


def test_an_animal_elsewhere_in_the_sentence_never_hides_the_writers_own_sign() -> None:
    for text in (
        "walking the dog my legs went numb",
        "Walked the dog and i cant feel my bum",
        "my dog tripped me and I fell down the stairs",
    ):
        assert screen_message(text, "adult").safety_net, text


@pytest.mark.parametrize(
    ("explained", "kept", "audience"),
    [
        (
            "He's been limping in his football boots because they're too small, new ones fixed it.",
            "He's been limping since he fell off the wall, and his boots are too small",
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
    ],
)
def test_an_everyday_cause_beside_a_limp_a_headache_or_a_stiff_neck(
    explained: str, kept: str, audience: Audience
) -> None:
    """The cause explains the word away only where nothing beside it says more (a fall, the worst
    headache, a fever): those still reach a person."""
    assert not screen_message(explained, audience, kind="diary").needs_review
    assert screen_message(kept, audience, kind="diary").needs_review
