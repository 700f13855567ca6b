"""Lessons on thinking and feeling about pain: chosen by risk and audience, plain, sourced, parent voice."""

from __future__ import annotations

import pytest
import yaml

from telespine.content.checks import dose_problems
from telespine.content.loader import load_sources
from telespine.content.readability import MAX_GRADE, reading_grade
from telespine.program.lessons import LessonDataError, lesson, lessons_for, load_lessons, parse_lessons


def ids(risk: str, audience: str = "adult") -> list[str]:
    return [x.id for x in lessons_for(risk, audience)]  # type: ignore[arg-type]


def test_low_risk_gets_no_lessons_medium_the_core_high_all() -> None:
    assert ids("low") == []
    medium, high = ids("medium"), ids("high")
    assert {"hurt_and_harm", "slow_breathing", "pacing", "sleep_and_pain"} <= set(medium)
    assert set(medium) < set(high)
    assert {"worry_and_pain", "helpful_thoughts"} <= set(high) - set(medium)


def test_not_assessed_is_never_treated_as_low() -> None:
    assert ids("not_assessed") and set(ids("not_assessed")) <= set(ids("medium"))


def test_children_get_the_gentle_set_in_the_parents_voice_whatever_the_risk() -> None:
    for risk in ("low", "medium", "high", "not_assessed"):
        child = lessons_for(risk, "pediatric")  # type: ignore[arg-type]
        assert [x.id for x in child] == ids("not_assessed")
        for x in child:
            text = " ".join(x.texts()).lower()
            assert "your child" in text, x.id


@pytest.mark.parametrize("audience", ["adult", "pediatric"])
def test_every_lesson_reads_at_grade_8_or_lower_and_names_no_dose(audience: str) -> None:
    for x in (
        lessons_for("high", "adult") if audience == "adult" else lessons_for("not_assessed", "pediatric")
    ):
        text = " ".join(t if t.endswith((".", "?", "!")) else t + "." for t in x.texts())
        assert reading_grade(text) <= MAX_GRADE, (x.id, reading_grade(text))
        assert not dose_problems(text)
    every = [lesson(rule.id, audience) for rule in load_lessons().lessons]  # type: ignore[arg-type]
    for x in every:
        text = " ".join(t if t.endswith((".", "?", "!")) else t + "." for t in x.texts())
        assert reading_grade(text) <= MAX_GRADE, (x.id, reading_grade(text))


def test_every_lesson_cites_known_sources_and_carries_its_version() -> None:
    known = set(load_sources().sources)
    data = load_lessons()
    assert set(data.sources) <= known
    for rule in data.lessons:
        assert set(rule.sources) <= known, rule.id
    assert all(x.version == data.version and x.sources for x in lessons_for("high", "adult"))


def test_loader_is_strict() -> None:
    doc = load_lessons().model_dump()
    doc["lessons"][0]["video"] = "x"
    with pytest.raises(LessonDataError):
        parse_lessons(yaml.safe_dump(doc))
    doc = load_lessons().model_dump()
    doc["lessons"][0]["risks"] = ["low"]
    with pytest.raises(LessonDataError, match="not low"):
        parse_lessons(yaml.safe_dump(doc))
    with pytest.raises(KeyError):
        lesson("nope", "adult")
