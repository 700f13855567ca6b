"""The plan to cut down and stop pain medicine, dated from the day it starts. Pure.

Built on `medicine_advice()`: a medicine with a dose gets the dated steps to cut down and stop;
one that needs a pharmacist's or doctor's word first gets that line; one to avoid says so.
Children's plans speak to the parent and never name an amount (the advice has none either).
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from importlib import resources
from string import Template

import yaml
from pydantic import BaseModel, ConfigDict, Field

from telespine.program.medicines import MedicineAdvice
from telespine.triage.types import Audience


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Step(_Strict):
    from_day: int = Field(ge=1)
    to_day: int | None = Field(default=None, ge=1)
    text: str


class VoicePlan(_Strict):
    steps: list[Step] = Field(min_length=1)
    ask_first: str
    avoid: str
    nsaid_limit: str


class WatchFor(_Strict):
    id: str
    adult: str
    pediatric: str


class MedicinePlanTexts(_Strict):
    version: str
    sources: list[str] = Field(min_length=1)
    adult: VoicePlan
    pediatric: VoicePlan
    watch_for: list[WatchFor] = Field(min_length=1)


@cache
def load_medicine_plan_texts() -> MedicinePlanTexts:
    """The packaged texts of the stop plan (cached)."""
    path = resources.files("telespine.program").joinpath("data", "medicine_plan.yaml")
    text = path.read_text(encoding="utf-8")
    return MedicinePlanTexts.model_validate(yaml.safe_load(text))


class MedicineSteps(_Strict):
    medicine: str
    name: str
    status: str
    lines: list[str]


class StopPlan(_Strict):
    """The dated steps for each medicine, what to watch for, and the sources."""

    version: str
    audience: Audience
    starts_on: dt.date
    stop_by: dt.date
    medicines: list[MedicineSteps]
    nsaid_limit: str
    watch_for: list[str]
    sources: list[str]

    def texts(self) -> list[str]:
        out = [line for m in self.medicines for line in m.lines]
        return [*out, self.nsaid_limit, *self.watch_for]


def _when(start: dt.date, day: int) -> str:
    return (start + dt.timedelta(days=day - 1)).strftime("%a %d %b")


def _dated(voice: VoicePlan, name: str, start: dt.date) -> list[str]:
    out = []
    for step in voice.steps:
        dates = {"from": _when(start, step.from_day), "to": _when(start, step.to_day or step.from_day)}
        out.append(Template(step.text).safe_substitute(name=name, **dates))
    return out


def stop_plan(advice: MedicineAdvice, starts_on: dt.date) -> StopPlan:
    """The plan to cut down and stop each medicine of the advice, from the day it starts."""
    texts = load_medicine_plan_texts()
    audience = advice.audience
    voice = texts.adult if audience == "adult" else texts.pediatric
    last = max(s.from_day for s in voice.steps)
    items: list[MedicineSteps] = []
    for item in advice.items:
        name = item.name.split(" (")[0].lower()
        if item.status == "avoid":
            lines = [Template(voice.avoid).safe_substitute(name=name)]
        elif item.status == "dose" and audience == "adult":
            lines = _dated(voice, name, starts_on)
        elif audience == "pediatric":
            # a child's medicine is always "ask first": the amount comes from the pharmacist
            lines = [Template(voice.ask_first).safe_substitute(name=name), *_dated(voice, name, starts_on)]
        else:
            lines = [Template(voice.ask_first).safe_substitute(name=name)]
        items.append(MedicineSteps(medicine=item.id, name=name, status=item.status, lines=lines))
    watch = [w.adult if audience == "adult" else w.pediatric for w in texts.watch_for]
    return StopPlan(
        version=texts.version,
        audience=audience,
        starts_on=starts_on,
        stop_by=starts_on + dt.timedelta(days=last - 1),
        medicines=items,
        nsaid_limit=voice.nsaid_limit,
        watch_for=watch,
        sources=sorted(set(texts.sources) | set(advice.sources)),
    )
