"""Screening rules 2.0.0: wording other people use, the review layer, priorities and threads."""

from __future__ import annotations

import dataclasses
import threading

import pytest

from telespine.care.screening import Pipeline, Screening, get_pipeline, screen_message


@pytest.fixture(scope="module")
def pipeline() -> Pipeline:
    return get_pipeline()


def _flags(text: str, audience: str = "adult") -> set[str]:
    return {m.concept for m in screen_message(text, audience).flags}  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "concept"),
    [
        ("when she wipes she says she can't feel the paper", "saddle_numbness"),
        ("my bum has gone all fuzzy and dead since yesterday", "saddle_numbness"),
        ("i cant really feel the loo seat when i sit", "saddle_numbness"),
        ("He's had two accidents in his pants at school this week", "bladder_incontinence"),
        ("my left leg keeps giving way on the stairs", "leg_weakness_progressive"),
        ("there's a throbbing in my belly like a heartbeat", "pulsating_abdominal_mass"),
        ("got tackled hard at rugby and landed flat on my back", "major_trauma"),
        ("came off my motorbike on the motorway on Friday", "major_trauma"),
        ("temp was 38.9 last night", "fever"),
        ("he's running 102 and shivering", "fever"),
        ("she feels really hot to the touch", "fever"),
        ("I inject heroin, have done for a few years", "iv_drug_use"),
        ("I'm on methotrexate for my arthritis", "immunosuppressed"),
        ("I go for dialysis three times a week", "hemodialysis"),
        ("I've been on prednisolone for my lungs", "long_term_steroids"),
        ("I had a microdiscectomy in the spring", "recent_spinal_procedure"),
        ("the GP gave me antibiotics for a kidney infection", "recent_infection"),
        ("I was told I have osteoporosis a while back", "osteoporosis"),
        ("I can't feel my foot, it came on suddenly", "leg_numbness_sudden"),
        ("my lips and tongue are swelling up", "crisis"),
    ],
)
def test_lay_wording_is_read_as_the_red_flag(text: str, concept: str, pipeline: Pipeline) -> None:
    assert concept in _flags(text)


@pytest.mark.parametrize(
    ("text", "audience"),
    [
        ("My 3 year old keeps holding her back and crying", "pediatric"),
        ("pain is 9/10 today", "adult"),
        ("it's a solid 8 this morning", "adult"),
        ("he wakes up at night with his back", "pediatric"),
        ("she's stiff for an hour every morning", "pediatric"),
        ("her back has been sore for about a month now", "pediatric"),
        ("my legs just feel off, hard to describe", "adult"),
    ],
)
def test_the_review_layer_sends_it_to_a_person_at_normal_priority(
    text: str, audience: str, pipeline: Pipeline
) -> None:
    result = screen_message(text, audience)  # type: ignore[arg-type]
    assert result.needs_review, result
    assert not result.safety_net  # a person reads it; the emergency signs are not shown for this


@pytest.mark.parametrize(
    "text",
    [
        "I can't go to work like this",
        "it just won't go away",
        "I dont have a fever",
        "she isnt numb anywhere",
        "no fever, no chills, no numbness, no trouble with pee or poo",
        "I don't have any numbness or tingling in my legs",
        "The numbness in my foot is gone now",
        "I lost 5kg on purpose, dieting since January",
        "I broke my back in a car crash when I was 19, this is different",
        "Walked 20 minutes today, felt good.",
        "Physio today. New exercises. Sore after, expected.",
        "Pain 6. Carried shopping. Lesson learned.",
        "Did exercises x2. Walked 30 min. 3/10.",
        "My chest is not tight.",
    ],
)
def test_everyday_and_denied_texts_are_not_flagged(text: str, pipeline: Pipeline) -> None:
    result = screen_message(text, pipeline=dataclasses.replace(pipeline, review=None))  # the rules
    assert result.status == "ok", result.error
    assert not result.needs_review, (result.flags, result.review)


def test_a_hedge_stays_unknown_never_no(pipeline: Pipeline) -> None:
    result = screen_message("not sure if he fell or not, he came home sore", "pediatric")
    assert result.needs_review
    [mention] = [m for m in result.modifiers if m.concept == "minor_trauma"]
    assert mention.uncertain and mention.sets == {"trauma": "unknown"}


def test_a_past_cancer_is_past_and_read_by_a_person(pipeline: Pipeline) -> None:
    result = screen_message("I had breast cancer ten years ago. The pain wakes me at night now.")
    assert result.findings_update()["cancer_history"] == "past"
    assert result.needs_review and not result.safety_net


def test_a_text_the_rules_cannot_read_goes_to_a_person_at_normal_priority(pipeline: Pipeline) -> None:
    result = screen_message("Mein Sohn kann seit gestern nicht laufen")
    assert result.status == "unrecognised_language"
    assert result.needs_review and not result.safety_net


def test_a_red_flag_raises_the_safety_net(pipeline: Pipeline) -> None:
    result = screen_message("I wet myself this morning and didn't notice")
    assert result.needs_review and result.safety_net


def test_a_stored_screening_loads_with_its_computed_fields_and_without_them(pipeline: Pipeline) -> None:
    result = screen_message("my 2 year old won't walk", "pediatric")
    doc = result.model_dump(mode="json")
    assert doc["needs_review"] is True and "safety_net" in doc
    assert Screening.model_validate(doc) == result
    old = {k: v for k, v in doc.items() if k not in ("review", "needs_review", "safety_net")}
    assert Screening.model_validate(old).needs_review == bool(result.flags)


def test_misspelt_words_read_as_the_rule_words(pipeline: Pipeline) -> None:
    assert "saddle_numbness" in _flags("my gorin is numm since this morning")
    assert "fever" in _flags("had a high temprature all night")


def test_screening_from_many_threads_gives_the_same_results(pipeline: Pipeline) -> None:
    texts = [
        "I can't feel my groin",
        "pain is 9/10",
        "Walked 20 minutes today, felt good.",
        "temp was 39.1 and my legs are weak",
    ] * 5
    expected = [screen_message(t).model_dump() for t in texts]
    results: list[list[dict[str, object]]] = []
    barrier = threading.Barrier(4)

    def worker() -> None:
        barrier.wait()
        results.append([screen_message(t).model_dump() for t in texts])

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [expected] * 4
