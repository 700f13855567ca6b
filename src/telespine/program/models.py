"""Pydantic models of the program rules (data) and of the program they produce."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from telespine.triage.types import Audience, Disposition

RiskLevel = Literal["low", "medium", "high", "not_assessed"]
RISK_LEVELS: tuple[RiskLevel, ...] = ("low", "medium", "high", "not_assessed")
WorkOrSchool = Literal["desk_work", "standing_work", "physical_work", "home_or_not_working", "school"]
ALL_AUDIENCES: list[Audience] = ["adult", "pediatric"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ByAudience(_Strict):
    """A text in its adult form and its form addressed to a parent or carer."""

    adult: str
    pediatric: str

    def for_(self, audience: Audience) -> str:
        """The text for this audience."""
        return self.adult if audience == "adult" else self.pediatric


class When(_Strict):
    """When a block applies; every condition given must hold (a closed set, no expressions)."""

    audiences: list[Audience] = Field(default_factory=lambda: list(ALL_AUDIENCES), min_length=1)
    risks: list[RiskLevel] = Field(default_factory=lambda: list(RISK_LEVELS), min_length=1)
    work_or_school: list[WorkOrSchool] | None = None
    smokes: bool | None = None
    mood_flag: bool | None = None
    findings_true: list[str] = []


class Block(_Strict):
    """Some advice points and their sources, shown when `when` holds."""

    when: When = When()
    points: list[str] = Field(min_length=1)
    sources: list[str] = Field(min_length=1)


class SectionRule(_Strict):
    """One section of the program, made of conditional blocks."""

    id: str = Field(pattern=r"^[a-z_]+$")
    title: ByAudience
    blocks: list[Block] = Field(min_length=1)


class GradedWeek(_Strict):
    """One week of the graded activity plan; `$activity` is the person's chosen activity."""

    week: int = Field(ge=1, le=12)
    adult: str
    pediatric: str


class GradedActivity(_Strict):
    """Rules of the graded activity plan built from the person's own choices."""

    default_activity: ByAudience
    intro: ByAudience
    weeks: list[GradedWeek] = Field(min_length=1)
    goal: ByAudience
    sources: list[str] = Field(min_length=1)


class Exercises(_Strict):
    """When to stop, in general; the exercises themselves are the library (data/exercises.yaml)."""

    stop_if: ByAudience


class Framing(_Strict):
    """The opening sentence of the plan, for each disposition that gets a program."""

    telemedicine: ByAudience
    routine: ByAudience


class ProgramRules(_Strict):
    """The whole program rule file."""

    version: str
    framing: Framing
    sections: list[SectionRule] = Field(min_length=1)
    graded_activity: GradedActivity
    exercises: Exercises


# The person's own choices, as the answers file and the web form carry them.
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]


class Choices(_Strict):
    """What the person chose: favourite activities, work or school demands, their goal, smoking."""

    favourite_activities: list[ShortText] = Field(default=[], max_length=5)
    work_or_school: WorkOrSchool | None = None
    goal: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] | None = None
    smokes: Literal["yes", "no", "unknown"] = "unknown"


class ProgramSection(_Strict):
    """A section of a generated program."""

    id: str
    title: str
    points: list[str]
    sources: list[str]


class Exercise(_Strict):
    """An exercise as shown to the person, at the level of the program's week."""

    id: str
    name: str
    how: list[str]
    dose: str
    picture: str | None = None  # file name in program/pictures (telespine.program.exercises.load_picture)
    picture_alt: str = ""
    level: int = 1
    easier: str = ""
    harder: str = ""
    stop_if: list[str] = []


class Program(_Strict):
    """A personal self-care program: what to read, do and try, with its sources."""

    version: str
    audience: Audience
    disposition: Disposition
    risk: RiskLevel
    framing: str
    sections: list[ProgramSection]
    activity_intro: str
    graded_plan: list[str]
    goal: str | None
    exercises: list[Exercise]
    exercise_stop_if: str
    sources: list[str]
    exercise_week: int = 1
    exercise_level: int = 1
    exercise_level_name: str = ""
    exercise_progress_note: str = ""
    exercise_stop_when: list[str] = []
    activity_this_week: str = ""  # the graded plan's line to follow now (the last one after its end)

    def texts(self) -> list[str]:
        """Every patient-facing sentence of the program (for reading-grade checks and search)."""
        out = [self.framing, self.activity_intro, self.exercise_stop_if, *self.graded_plan]
        for s in self.sections:
            out += [s.title, *s.points]
        for e in self.exercises:
            out += [e.name, *e.how, e.dose, e.easier, e.harder, *e.stop_if]
        out += [self.exercise_progress_note, *self.exercise_stop_when]
        if self.goal:
            out.append(self.goal)
        return [t for t in out if t]
