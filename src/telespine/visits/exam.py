"""The virtual spine examination as data (visits/data/exam.yaml): strict loading, the patient's
steps in plain words (the parent's wording for a child), and what the recorded results add to
the findings document. Pure: no database, web or clock.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

DATA = Path(__file__).parent / "data"
FindingValue = str | bool


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ExamResult(_Strict):
    id: str
    label: str
    neuro: bool = False
    unknown: bool = False
    updates: dict[str, FindingValue] = Field(default_factory=dict)


class ExamStep(_Strict):
    id: str
    title: str
    patient: str
    parent: str
    picture: str
    sources: list[str] = Field(min_length=1)
    results: list[ExamResult] = Field(min_length=2)

    def result(self, result_id: str) -> ExamResult | None:
        return next((r for r in self.results if r.id == result_id), None)

    def text_for(self, audience: Literal["adult", "pediatric"]) -> str:
        return self.parent if audience == "pediatric" else self.patient

    def svg(self) -> str:
        return (DATA / "pictures" / self.picture).read_text(encoding="utf-8")


class ExamLimits(_Strict):
    sources: list[str]
    clinician: list[str]
    patient: str


class Exam(_Strict):
    version: str
    steps: list[ExamStep]
    limits: ExamLimits

    def step(self, step_id: str) -> ExamStep | None:
        return next((s for s in self.steps if s.id == step_id), None)


class ExamError(ValueError):
    """Recorded results that do not match the exam (an unknown step or result)."""


@lru_cache(maxsize=1)
def load_exam() -> Exam:
    """The exam (checked: unique ids, pictures exist, updates name findings of the schema)."""
    exam = Exam.model_validate(yaml.safe_load((DATA / "exam.yaml").read_text(encoding="utf-8")))
    ids = [s.id for s in exam.steps]
    if len(ids) != len(set(ids)):
        raise ExamError("duplicate step ids")
    import json

    schema = json.loads((Path(__file__).parents[1] / "triage" / "findings.schema.json").read_text("utf-8"))
    props: dict[str, Any] = schema["properties"]
    for step in exam.steps:
        if not (DATA / "pictures" / step.picture).is_file():
            raise ExamError(f"{step.id}: no picture {step.picture}")
        for result in step.results:
            for key in result.updates:
                if key not in props:
                    raise ExamError(f"{step.id}.{result.id}: unknown finding {key}")
    return exam


def exam_updates(results: dict[str, str]) -> tuple[dict[str, FindingValue], list[str], list[str]]:
    """(findings updates, neurological result labels, steps not examined) for recorded results
    {step id: result id}. A step without a result, or marked not done, is listed as not examined:
    an unknown, never a normal."""
    exam = load_exam()
    updates: dict[str, FindingValue] = {}
    neuro: list[str] = []
    for step_id, result_id in results.items():
        step = exam.step(step_id)
        result = step.result(result_id) if step is not None else None
        if step is None or result is None:
            raise ExamError(f"unknown exam result {step_id}={result_id}")
        updates.update(result.updates)
        if result.neuro:
            neuro.append(f"{step.title.split(':')[0].split(' (')[0]}: {result.label}")
    missing = []
    for s in exam.steps:
        chosen = s.result(results[s.id]) if s.id in results else None
        if chosen is None or chosen.unknown:
            missing.append(s.id)
    return updates, neuro, missing
