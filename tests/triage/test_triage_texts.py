"""Patient text of the triage data: plain language, parent wording for children, no doses."""

from __future__ import annotations

import re

import pytest

from telespine.content.readability import MAX_GRADE, reading_grade
from telespine.triage import load_questionnaire, load_ruleset
from telespine.triage.advice import load_advice
from telespine.triage.engine import ENGINE_FAILURE, ENGINE_FAILURE_PARENT, safety_net_message
from telespine.triage.types import Audience

RS = load_ruleset()
QN = load_questionnaire()
ADVICE = load_advice()


def _patient_texts() -> list[tuple[str, str]]:
    texts = [(r.id, r.reason) for r in RS.rules]
    texts += [(r.id + ".parent", r.reason_parent) for r in RS.rules if r.audience == "all"]
    texts += [(r.id + ".title", r.title) for r in RS.rules]
    texts += [
        ("safety.unresolved_unknown", RS.unresolved_unknown.reason),
        ("safety.unresolved_unknown.parent", RS.unresolved_unknown_for("pediatric").reason),
        ("safety.engine_failure", ENGINE_FAILURE.reason),
        ("safety.engine_failure.parent", ENGINE_FAILURE_PARENT.reason),
        ("safety.message.adult", safety_net_message("adult")),
        ("safety.message.parent", safety_net_message("pediatric")),
    ]
    audiences: tuple[Audience, ...] = ("adult", "pediatric")
    for disposition, item in ADVICE.dispositions.items():
        for audience in audiences:
            texts.append((f"{disposition}.what.{audience}", item.what.for_(audience)))
    for audience in audiences:
        texts.append((f"footer.{audience}", ADVICE.safety_net_footer.for_(audience)))
    return texts


@pytest.mark.parametrize(("name", "text"), _patient_texts(), ids=[n for n, _ in _patient_texts()])
def test_reason_reads_at_grade_8_or_lower(name: str, text: str) -> None:
    assert reading_grade(text) <= MAX_GRADE, text


@pytest.mark.parametrize("audience", ["adult", "pediatric"])
def test_questions_read_at_grade_8_or_lower(audience: Audience) -> None:
    text = " ".join(f"{q.text_for(audience)} {q.help_for(audience)}" for q in QN.questions)
    assert reading_grade(text) <= MAX_GRADE


def test_child_rule_reasons_address_the_parent() -> None:
    for rule in RS.rules:
        if rule.audience == "pediatric":
            assert "your child" in rule.reason.lower(), rule.id


def test_no_doses_and_no_aspirin_anywhere_in_patient_text() -> None:
    everything = [t for _, t in _patient_texts()]
    everything += [q.text_for(a) + " " + q.help_for(a) for q in QN.questions for a in ("adult", "pediatric")]
    for text in everything:
        assert "aspirin" not in text.lower()
        assert not re.search(r"\d\s*(mg|ml|milligram)", text.lower()), text
