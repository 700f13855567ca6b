"""Short lessons on thinking and feeling about pain, chosen by STarT Back risk and audience. Pure.

The lessons are data (`program/data/lessons.yaml`, strict: unknown keys are rejected). People
at low risk get none (self-care and reassurance are enough); medium risk gets the core lessons;
high risk adds the lessons on worry and thoughts; `not_assessed` (children, or the tool was not
taken) gets the gentle core set, never nothing. Children's texts speak to the parent.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from telespine.program.models import ByAudience, RiskLevel
from telespine.triage.types import Audience


class LessonDataError(Exception):
    """The lessons file is invalid."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LessonRule(_Strict):
    """One lesson as written in the data file."""

    id: str = Field(pattern=r"^[a-z_]+$")
    risks: list[RiskLevel] = Field(min_length=1)
    minutes: int = Field(ge=1, le=15)
    title: ByAudience
    adult: list[str] = Field(min_length=1, max_length=6)
    pediatric: list[str] = Field(min_length=1, max_length=6)
    try_this: ByAudience
    sources: list[str] = Field(min_length=1)


class LessonFile(_Strict):
    version: str
    sources: list[str] = Field(min_length=1)
    lessons: list[LessonRule] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> LessonFile:
        ids = [lesson.id for lesson in self.lessons]
        if len(ids) != len(set(ids)):
            raise ValueError("lesson ids must be unique")
        if any("low" in lesson.risks for lesson in self.lessons):
            raise ValueError("lessons are for medium or high risk (or not assessed), not low")
        return self


class Lesson(_Strict):
    """A lesson as shown to one person; store `id` and `version` to note that it was read."""

    id: str
    version: str
    title: str
    minutes: int
    paragraphs: list[str]
    try_this: str
    sources: list[str]

    def texts(self) -> list[str]:
        return [self.title, *self.paragraphs, self.try_this]


def parse_lessons(text: str) -> LessonFile:
    """Validate a lessons file; raise LessonDataError on any problem."""
    try:
        return LessonFile.model_validate(yaml.safe_load(text))
    except (yaml.YAMLError, ValidationError) as exc:
        raise LessonDataError(str(exc)) from exc


@cache
def load_lessons() -> LessonFile:
    """The packaged lessons (cached)."""
    path = resources.files("telespine.program").joinpath("data", "lessons.yaml")
    return parse_lessons(path.read_text(encoding="utf-8"))


def _shown(rule: LessonRule, version: str, audience: Audience) -> Lesson:
    return Lesson(
        id=rule.id,
        version=version,
        title=rule.title.for_(audience),
        minutes=rule.minutes,
        paragraphs=list(rule.adult if audience == "adult" else rule.pediatric),
        try_this=rule.try_this.for_(audience),
        sources=sorted(set(rule.sources)),
    )


def lessons_for(risk: RiskLevel, audience: Audience, data: LessonFile | None = None) -> list[Lesson]:
    """The lessons for this risk and audience, in file order (empty for low risk)."""
    lessons = data if data is not None else load_lessons()
    if audience != "adult":
        risk = "not_assessed"  # STarT Back is for adults: a child's risk is never read as low
    return [_shown(rule, lessons.version, audience) for rule in lessons.lessons if risk in rule.risks]


def lesson(lesson_id: str, audience: Audience, data: LessonFile | None = None) -> Lesson:
    """One lesson by id (for a page that shows it); KeyError for an unknown id."""
    lessons = data if data is not None else load_lessons()
    for rule in lessons.lessons:
        if rule.id == lesson_id:
            return _shown(rule, lessons.version, audience)
    raise KeyError(lesson_id)
