"""The exercise library: pictures, steps, doses by level, and graded progression over the weeks.

Pure. The data is `program/data/exercises.yaml` (strict: unknown keys are rejected); the
pictures are SVG line drawings in `program/pictures/`, checked when loaded (well-formed, an
<svg> root with a <title>, no script, no event handler, no link to anything outside the file).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from functools import cache
from importlib import resources
from typing import Literal
from xml.parsers import expat

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from telespine.program.models import ByAudience
from telespine.program.safexml import XMLRefused, parse_text
from telespine.triage.types import Audience

Progress = Literal["better", "same", "worse", "unknown"]
PROGRESS_VALUES: tuple[Progress, ...] = ("better", "same", "worse", "unknown")
SVG_NS = "{http://www.w3.org/2000/svg}"
MAX_PICTURE_BYTES = 20_000


class ExerciseDataError(Exception):
    """The exercise file or one of its pictures is invalid."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Dose(_Strict):
    """How much at one level: sets of repetitions, each held for a time, some times a day."""

    level: int = Field(ge=1, le=3)
    sets: int = Field(ge=1, le=5)
    reps: int = Field(ge=1, le=30)
    hold_seconds: int | None = Field(default=None, ge=1, le=60)
    each_side: bool
    times_a_day: int = Field(ge=1, le=4)

    def text(self) -> str:
        """The dose in plain words."""
        side = " on each side" if self.each_side else ""
        sets = "1 set" if self.sets == 1 else f"{self.sets} sets"
        out = f"{sets} of {self.reps}{side}."
        if self.hold_seconds:
            out += f" Hold each one for {self.hold_seconds} seconds."
        words = {1: "Once a day.", 2: "Twice a day."}
        times = words.get(self.times_a_day, f"{self.times_a_day} times a day.")
        return f"{out} {times}"


class LibraryExercise(_Strict):
    """One exercise of the library as written in the data file."""

    id: str = Field(pattern=r"^[a-z_]+$")
    audience: Audience
    name: str = Field(min_length=1)
    picture: str = Field(pattern=r"^[a-z_]+\.svg$")
    steps: list[str] = Field(min_length=2, max_length=6)
    doses: list[Dose] = Field(min_length=1)
    easier: str = Field(min_length=1)
    harder: str = Field(min_length=1)
    stop_if: list[str] = Field(min_length=1)
    sources: list[str] = Field(min_length=1)

    def dose_at(self, level: int) -> Dose:
        """The dose of the highest level not above `level`."""
        return max((d for d in self.doses if d.level <= level), key=lambda d: d.level)


class Level(_Strict):
    """A level of the progression and the week it starts (by the graded activity plan's weeks)."""

    level: int = Field(ge=1, le=3)
    from_week: int = Field(ge=1)
    name: ByAudience


class ProgressRule(_Strict):
    """How one kind of reported progress moves the week's level, and what the person is told."""

    change: int = Field(le=0)  # progress never moves anyone above the week's level
    say: ByAudience


class MaxLevel(_Strict):
    adult: int = Field(ge=1, le=3)
    pediatric: int = Field(ge=1, le=3)

    def for_(self, audience: Audience) -> int:
        return self.adult if audience == "adult" else self.pediatric


class ExerciseLibrary(_Strict):
    """The whole exercise file."""

    version: str
    sources: list[str] = Field(min_length=1)
    levels: list[Level] = Field(min_length=1)
    max_level: MaxLevel
    progress: dict[Progress, ProgressRule]
    stop_when: dict[Audience, list[str]]
    exercises: list[LibraryExercise] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> ExerciseLibrary:
        numbers = [lv.level for lv in self.levels]
        if numbers != list(range(1, len(numbers) + 1)):
            raise ValueError("levels must be 1, 2, 3 ... in order")
        weeks = [lv.from_week for lv in self.levels]
        if weeks[0] != 1 or weeks != sorted(set(weeks)):
            raise ValueError("level 1 starts in week 1 and later levels start later")
        if set(self.progress) != set(PROGRESS_VALUES):
            raise ValueError(f"progress must cover exactly {list(PROGRESS_VALUES)}")
        if self.progress["better"].change != 0:
            raise ValueError("'better' keeps the week's level")
        if self.progress["unknown"].change > self.progress["same"].change:
            raise ValueError("an unknown answer must not move further than 'the same' (never read as better)")
        if set(self.stop_when) != {"adult", "pediatric"}:
            raise ValueError("stop_when needs adult and pediatric texts")
        ids = [e.id for e in self.exercises]
        if len(ids) != len(set(ids)):
            raise ValueError("exercise ids must be unique")
        for e in self.exercises:
            top = self.max_level.for_(e.audience)
            if [d.level for d in e.doses] != list(range(1, top + 1)):
                raise ValueError(f"{e.id}: needs one dose for each level 1 to {top}")
        for audience in ("adult", "pediatric"):
            if not any(e.audience == audience for e in self.exercises):
                raise ValueError(f"no exercise for {audience}")
        return self

    def for_audience(self, audience: Audience) -> list[LibraryExercise]:
        """The exercises of one audience, in file order (children get only their own)."""
        return [e for e in self.exercises if e.audience == audience]

    def level(self, number: int) -> Level:
        return next(lv for lv in self.levels if lv.level == number)


def parse_library(text: str) -> ExerciseLibrary:
    """Validate the text of an exercise file; raise ExerciseDataError on any problem."""
    try:
        library = ExerciseLibrary.model_validate(yaml.safe_load(text))
    except (yaml.YAMLError, ValidationError) as exc:
        raise ExerciseDataError(str(exc)) from exc
    for e in library.exercises:
        load_picture(e.picture)
    return library


@cache
def load_library() -> ExerciseLibrary:
    """The packaged exercise library (cached)."""
    text = resources.files("telespine.program").joinpath("data", "exercises.yaml").read_text(encoding="utf-8")
    return parse_library(text)


def check_svg(text: str) -> str:
    """Return the SVG text when it is a safe, self-contained drawing; else raise ExerciseDataError."""
    if len(text.encode("utf-8")) > MAX_PICTURE_BYTES:
        raise ExerciseDataError("picture too large")
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        raise ExerciseDataError("picture must not declare a DOCTYPE or entities")
    try:
        root = parse_text(text)
    except XMLRefused as exc:
        raise ExerciseDataError("picture must not declare a DOCTYPE or entities") from exc
    except (ET.ParseError, expat.ExpatError) as exc:
        raise ExerciseDataError(f"picture is not well-formed XML: {exc}") from exc
    if root.tag != f"{SVG_NS}svg":
        raise ExerciseDataError("picture root must be an SVG <svg> element")
    if root.find(f"{SVG_NS}title") is None or not (root.findtext(f"{SVG_NS}title") or "").strip():
        raise ExerciseDataError("picture needs a <title> (its text alternative)")
    for el in root.iter():
        tag = el.tag.removeprefix(SVG_NS)
        if tag in ("script", "foreignObject", "image", "use", "a", "style"):
            raise ExerciseDataError(f"picture must not contain <{tag}>")
        for name, value in el.attrib.items():
            local = name.rsplit("}", 1)[-1].lower()
            if local.startswith("on") or local == "href" or "url(" in value:
                raise ExerciseDataError(f"picture attribute {local!r} is not allowed")
    return text


@cache
def load_picture(name: str) -> str:
    """The checked SVG text of a packaged picture."""
    path = resources.files("telespine.program").joinpath("pictures", name)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, ValueError) as exc:
        raise ExerciseDataError(f"picture {name!r} cannot be read") from exc
    return check_svg(text)


def picture_title(name: str) -> str:
    """The text alternative of a picture (its <title>)."""
    root = parse_text(load_picture(name))
    return (root.findtext(f"{SVG_NS}title") or "").strip()


# ---- graded progression ----


class Stage(_Strict):
    """The exercise level for one week and one report of progress, with what the person is told."""

    week: int
    progress: Progress
    scheduled_level: int
    level: int
    level_name: str
    say: str
    use_easier: bool
    activity_week: int  # which week of the graded activity plan to follow now


def stage_for(
    week: int, progress: Progress, audience: Audience, library: ExerciseLibrary | None = None
) -> Stage:
    """The level for this week of the plan and the progress reported; pure.

    The week's level comes from the graded plan's weeks; reported progress can only hold it
    back (never push it up); children stop at their own, lower top level.
    """
    lib = library if library is not None else load_library()
    if week < 1:
        raise ValueError("week numbers start at 1")
    if progress not in PROGRESS_VALUES:
        raise ValueError(f"progress must be one of {list(PROGRESS_VALUES)}")
    top = lib.max_level.for_(audience)
    scheduled = min(top, max(lv.level for lv in lib.levels if lv.from_week <= week))
    rule = lib.progress[progress]
    level = max(1, min(top, scheduled + rule.change))
    # The graded activity plan moves the same way: better follows this week, the same or unknown
    # repeats last week, worse starts again from week 1.
    activity_week = 1 if progress == "worse" else max(1, week + max(rule.change, -1))
    return Stage(
        week=week,
        progress=progress,
        scheduled_level=scheduled,
        level=level,
        level_name=lib.level(level).name.for_(audience),
        say=rule.say.for_(audience),
        use_easier=progress == "worse",
        activity_week=activity_week,
    )


class WeekPlan(_Strict):
    """One row of the 'how it builds up' table: the weeks of a level and its dose per exercise."""

    level: int
    level_name: str
    weeks: str
    doses: dict[str, str]


def build_up(audience: Audience, library: ExerciseLibrary | None = None) -> list[WeekPlan]:
    """How the exercises build up over the weeks when things keep getting better."""
    lib = library if library is not None else load_library()
    top = lib.max_level.for_(audience)
    rows: list[WeekPlan] = []
    levels = [lv for lv in lib.levels if lv.level <= top]
    for i, lv in enumerate(levels):
        nxt = levels[i + 1].from_week if i + 1 < len(levels) else None
        if nxt is None:
            weeks = f"Week {lv.from_week} on"
        elif nxt - lv.from_week == 1:
            weeks = f"Week {lv.from_week}"
        else:
            weeks = f"Weeks {lv.from_week} to {nxt - 1}"
        rows.append(
            WeekPlan(
                level=lv.level,
                level_name=lv.name.for_(audience),
                weeks=weeks,
                doses={e.id: e.dose_at(lv.level).text() for e in lib.for_audience(audience)},
            )
        )
    return rows
