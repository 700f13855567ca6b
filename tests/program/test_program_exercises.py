"""The exercise library: strict data, safe pictures, doses by level and graded progression."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from telespine.content.loader import load_sources
from telespine.program import Choices, generate_program
from telespine.program.exercises import (
    PROGRESS_VALUES,
    Dose,
    ExerciseDataError,
    build_up,
    check_svg,
    load_library,
    load_picture,
    parse_library,
    picture_title,
    stage_for,
)
from telespine.triage.types import Disposition

DATA = Path(__file__).resolve().parents[2] / "src" / "telespine" / "program" / "data" / "exercises.yaml"
GOOD_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10">'
    '<title>A line</title><line x1="0" y1="0" x2="9" y2="9"/></svg>'
)


def raw() -> dict:
    return yaml.safe_load(DATA.read_text(encoding="utf-8"))


def test_every_exercise_has_a_picture_steps_a_dose_per_level_and_when_to_stop() -> None:
    lib = load_library()
    for e in lib.exercises:
        assert picture_title(e.picture), e.id
        assert "<svg" in load_picture(e.picture)
        assert 2 <= len(e.steps) <= 6 and e.easier and e.harder and e.stop_if
        top = lib.max_level.for_(e.audience)
        assert [d.level for d in e.doses] == list(range(1, top + 1))


def test_children_get_their_own_gentler_exercises_in_the_parents_voice() -> None:
    lib = load_library()
    adult = {e.id: e for e in lib.for_audience("adult")}
    child = lib.for_audience("pediatric")
    assert child and not {e.id for e in child} & set(adult)
    assert lib.max_level.pediatric < lib.max_level.adult
    for e in child:
        assert e.steps[0].startswith("Your child"), e.id
        # never more than the adult exercise of the same picture at the same level
        twin = next((a for a in adult.values() if a.picture == e.picture), None)
        if twin is not None:
            for d in e.doses:
                t = twin.dose_at(d.level)
                assert d.sets * d.reps <= t.sets * t.reps and d.times_a_day <= t.times_a_day
    for text in lib.stop_when["pediatric"]:
        assert "your child" in text.lower()


def test_library_sources_are_known_keys() -> None:
    known = set(load_sources().sources)
    lib = load_library()
    assert set(lib.sources) <= known
    for e in lib.exercises:
        assert set(e.sources) <= known, e.id


def test_loader_rejects_unknown_keys_and_missing_doses() -> None:
    doc = raw()
    doc["exercises"][0]["video"] = "x.mp4"
    with pytest.raises(ExerciseDataError):
        parse_library(yaml.safe_dump(doc))
    doc = raw()
    doc["exercises"][0]["doses"] = doc["exercises"][0]["doses"][:1]
    with pytest.raises(ExerciseDataError, match="one dose for each level"):
        parse_library(yaml.safe_dump(doc))
    doc = raw()
    doc["progress"]["unknown"]["change"] = 0  # unknown read as better: refused
    with pytest.raises(ExerciseDataError):
        parse_library(yaml.safe_dump(doc))
    doc = raw()
    doc["progress"]["same"]["change"] = 1  # progress never moves above the week's level
    with pytest.raises(ExerciseDataError):
        parse_library(yaml.safe_dump(doc))
    doc = raw()
    doc["exercises"][0]["picture"] = "missing.svg"
    with pytest.raises(ExerciseDataError, match="cannot be read"):
        parse_library(yaml.safe_dump(doc))


@pytest.mark.parametrize(
    ("svg", "problem"),
    [
        ("<svg", "well-formed"),
        ('<html xmlns="http://www.w3.org/1999/xhtml"><title>x</title></html>', "root"),
        ('<svg xmlns="http://www.w3.org/2000/svg"><line/></svg>', "title"),
        (GOOD_SVG.replace("<line", "<script>alert(1)</script><line"), "script"),
        (GOOD_SVG.replace("<line", '<line onclick="x()"'), "onclick"),
        (GOOD_SVG.replace("<line", '<image href="https://example.org/a.png"/><line'), "image"),
        (GOOD_SVG.replace("<line", '<line fill="url(https://example.org/#p)"'), "fill"),
        ('<!DOCTYPE svg [<!ENTITY a "b">]>' + GOOD_SVG, "DOCTYPE"),
        (GOOD_SVG.replace("</svg>", "<!--" + "x" * 30_000 + "--></svg>"), "too large"),
    ],
)
def test_unsafe_or_broken_pictures_are_refused(svg: str, problem: str) -> None:
    with pytest.raises(ExerciseDataError, match=problem):
        check_svg(svg)
    assert check_svg(GOOD_SVG) == GOOD_SVG


def test_dose_text_names_sets_repetitions_hold_and_times_a_day() -> None:
    d = Dose(level=2, sets=2, reps=5, hold_seconds=15, each_side=True, times_a_day=2)
    assert d.text() == "2 sets of 5 on each side. Hold each one for 15 seconds. Twice a day."
    assert Dose(level=1, sets=1, reps=10, each_side=False, times_a_day=1).text() == "1 set of 10. Once a day."


@pytest.mark.parametrize(
    ("week", "progress", "audience", "level"),
    [
        # boundary pairs of the schedule (weeks of the graded activity plan)
        (2, "better", "adult", 1),
        (3, "better", "adult", 2),
        (4, "better", "adult", 2),
        (5, "better", "adult", 3),
        (12, "better", "adult", 3),
        # reported progress holds the level back, never pushes it up
        (5, "same", "adult", 2),
        (3, "same", "adult", 1),
        (5, "unknown", "adult", 2),
        (5, "worse", "adult", 1),
        (1, "worse", "adult", 1),
        # children stop at level 2
        (5, "better", "pediatric", 2),
        (12, "better", "pediatric", 2),
        (5, "same", "pediatric", 1),
        (2, "better", "pediatric", 1),
    ],
)
def test_stage_for_week_and_progress(week: int, progress: str, audience: str, level: int) -> None:
    stage = stage_for(week, progress, audience)  # type: ignore[arg-type]
    assert stage.level == level
    assert stage.use_easier == (progress == "worse")
    assert stage.say


@given(
    week=st.integers(1, 60),
    progress=st.sampled_from(PROGRESS_VALUES),
    audience=st.sampled_from(["adult", "pediatric"]),
)
def test_progress_never_moves_above_the_weeks_level(week: int, progress: str, audience: str) -> None:
    stage = stage_for(week, progress, audience)  # type: ignore[arg-type]
    better = stage_for(week, "better", audience)  # type: ignore[arg-type]
    assert 1 <= stage.level <= better.level == stage.scheduled_level
    assert 1 <= stage.activity_week <= better.activity_week == week
    assert stage.level <= load_library().max_level.for_(audience)  # type: ignore[arg-type]
    # an unknown answer is never treated as better than "the same"
    assert stage_for(week, "unknown", audience).level <= stage_for(week, "same", audience).level  # type: ignore[arg-type]
    # later weeks never give a lower level for the same report
    assert stage_for(week + 1, progress, audience).level >= stage.level  # type: ignore[arg-type]


def test_week_before_the_plan_is_an_error() -> None:
    with pytest.raises(ValueError):
        stage_for(0, "better", "adult")


def test_program_exercises_follow_the_stage() -> None:
    week1 = generate_program({"age_years": 40}, [], Choices(), "adult", Disposition.TELEMEDICINE)
    week5 = generate_program(
        {"age_years": 40}, [], Choices(), "adult", Disposition.TELEMEDICINE, week=5, progress="better"
    )
    worse = generate_program(
        {"age_years": 40}, [], Choices(), "adult", Disposition.TELEMEDICINE, week=5, progress="worse"
    )
    assert week1 and week5 and worse
    assert week1.exercise_level == 1 and week5.exercise_level == 3 and worse.exercise_level == 1
    hug1 = next(e for e in week1.exercises if e.id == "knee_hug")
    hug5 = next(e for e in week5.exercises if e.id == "knee_hug")
    assert hug1.dose != hug5.dose and "2 sets" in hug5.dose
    assert hug1.picture == "knee_hug.svg" and hug1.picture_alt
    assert "worse" in worse.exercise_progress_note and week1.exercise_progress_note == ""


def test_build_up_table_has_one_row_per_level() -> None:
    adult = build_up("adult")
    child = build_up("pediatric")
    assert [r.weeks for r in adult] == ["Weeks 1 to 2", "Weeks 3 to 4", "Week 5 on"]
    assert [r.weeks for r in child] == ["Weeks 1 to 2", "Week 3 on"]
    assert set(child[0].doses) == {e.id for e in load_library().for_audience("pediatric")}


@pytest.mark.parametrize(
    ("week", "progress", "activity_week"),
    [(1, "better", 1), (3, "better", 3), (3, "same", 2), (3, "unknown", 2), (3, "worse", 1), (1, "same", 1)],
)
def test_graded_activity_week_follows_progress(week: int, progress: str, activity_week: int) -> None:
    assert stage_for(week, progress, "adult").activity_week == activity_week  # type: ignore[arg-type]
    prog = generate_program(
        {"age_years": 40},
        [],
        Choices(favourite_activities=["swimming"]),
        "adult",
        Disposition.TELEMEDICINE,
        week=week,
        progress=progress,  # type: ignore[arg-type]
    )
    assert prog is not None and prog.activity_this_week.startswith(f"Week {activity_week}:")


def test_after_the_graded_plan_ends_the_last_week_stays() -> None:
    prog = generate_program(
        {"age_years": 40}, [], Choices(), "adult", Disposition.TELEMEDICINE, week=9, progress="better"
    )
    assert prog is not None and prog.activity_this_week.startswith("Week 4:")
