"""care.auto_reply: the automatic reply texts (strict data), voices, the number and the check offer."""

from __future__ import annotations

import pytest

from telespine.care.auto_reply import (
    AutoReplyError,
    compose_reply,
    fallback_reply,
    load_auto_reply,
    offers_check,
    parse_auto_reply,
)
from telespine.care.checks import CheckAnswerError, check_answers, check_updates
from telespine.care.screening import Screening
from telespine.content.readability import reading_grade

OK = Screening(status="ok", audience="adult", flags=[], modifiers=[], ignored=[], rules_version="t")
FAILED = Screening(status="error", audience="adult", flags=[], modifiers=[], ignored=[], rules_version="t")


def test_packaged_texts_load_cite_known_sources_and_read_plainly() -> None:
    from importlib import resources

    import yaml

    texts = load_auto_reply()
    registry = resources.files("telespine.content").joinpath("sources.yaml").read_text(encoding="utf-8")
    known = set(yaml.safe_load(registry)["sources"])
    assert set(texts.sources) <= known
    for voiced in (texts.received, texts.emergency, texts.flagged, texts.check_offer):
        for audience in ("adult", "pediatric"):
            assert reading_grade(voiced.for_(audience)) <= 8, voiced.for_(audience)
        assert "child" in voiced.pediatric and "child" not in voiced.adult


def test_the_loader_refuses_duplicate_keys_unknown_keys_and_a_written_number() -> None:
    from importlib import resources

    text = resources.files("telespine.care").joinpath("data/auto_reply.yaml").read_text(encoding="utf-8")
    with pytest.raises(AutoReplyError, match="duplicate key"):
        parse_auto_reply(text + '\nversion: "2"\n')
    with pytest.raises(AutoReplyError):
        parse_auto_reply(text + "\nsurprise: 1\n")
    with pytest.raises(AutoReplyError):
        parse_auto_reply(text.replace("Call {emergency_number}", "Call 911", 1))


def test_reply_voice_number_and_signs() -> None:
    adult = compose_reply("Can I change my visit?", OK, "adult", ["Sign one", "Sign two"], "112")
    assert "Call 112" in adult.body and "{emergency_number}" not in adult.body and "911" not in adult.body
    assert "- Sign one\n- Sign two" in adult.body and "not read in real time" in adult.body
    assert not adult.offers_check and not adult.flagged
    parent = compose_reply("His leg hurts", OK, "pediatric", ["A sign"], "999")
    assert "your child" in parent.body and "Call 999" in parent.body and parent.offers_check


@pytest.mark.parametrize(
    ("text", "offer"),
    [
        ("My back hurts more today", True),
        ("pins and needles in my foot", True),
        ("I feel numb", True),
        ("Can I move my visit to Friday?", False),
        ("Thanks for the plan!", False),
    ],
)
def test_the_check_is_offered_for_a_body_symptom(text: str, offer: bool) -> None:
    assert offers_check(text, OK) is offer


def test_the_check_is_offered_when_screening_is_unsure_or_failed() -> None:
    assert offers_check("Thanks!", FAILED) and offers_check("Thanks!", None)
    reply = compose_reply("Thanks!", None, "adult", [], "911")
    assert reply.flagged and reply.offers_check and "warning sign" in reply.body


def test_fallback_reply_has_the_number() -> None:
    assert "call 000 now" in fallback_reply("adult", "000").body


def test_check_answers_missing_is_unknown_never_no() -> None:
    answers = check_answers({"fever": "no", "bladder_bowel": "yes", "walking": "not sure"})
    assert (
        answers["fever"] == "no"
        and answers["walking"] == "unknown"
        and answers["saddle_numbness"] == "unknown"
    )
    updates = check_updates(answers)
    assert updates["bladder"] == "incontinence" and updates["saddle_numbness"] == "unknown"
    assert "fever" not in updates
    assert check_updates(check_answers(dict.fromkeys(answers, "no"))) == {}
    with pytest.raises(CheckAnswerError):
        check_answers({"nope": "yes"})
    with pytest.raises(CheckAnswerError):
        check_answers({"fever": "maybe"})
