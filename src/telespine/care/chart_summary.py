"""The chart at a glance (issue 11): a findings document in words for a clinician. Pure.

`findings_in_words(findings, fired_reads)` sorts every finding into positives (present: a flag
that is true, a weakness or numbness of any course, an injury, a changed bladder ...), unknowns
(the person was not sure: never read as "no") and negatives, with facts about the person and
the pain (age, site, onset, length, worst pain) apart. A positive that a fired rule reads is
marked `red_flag`. Words come from `care/data/chart_findings.yaml` (strict; a test keeps it in
step with the findings schema).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from telespine.datafile import load_yaml_file

DATA = Path(__file__).parent / "data" / "chart_findings.yaml"
COURSE_ORDER = ("stable", "progressive", "sudden")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FindingWords(_Strict):
    kind: Literal["context", "flag", "course", "level", "number"]
    label: str = Field(min_length=1)
    unit: str | None = None
    values: dict[str, str] = {}
    negative: list[str] = []

    @model_validator(mode="after")
    def _check(self) -> FindingWords:
        if self.kind in ("context", "level") and not self.values:
            raise ValueError(f"{self.label}: a {self.kind} finding needs its values in words")
        if self.kind == "level" and not self.negative:
            raise ValueError(f"{self.label}: a level finding names its negative values")
        if any(v not in self.values for v in self.negative):
            raise ValueError(f"{self.label}: a negative value has no words")
        return self


class ChartWords(_Strict):
    version: str
    courses: dict[str, str]
    findings: dict[str, FindingWords]

    @model_validator(mode="after")
    def _courses(self) -> ChartWords:
        if set(self.courses) != set(COURSE_ORDER):
            raise ValueError(f"courses must be exactly {', '.join(COURSE_ORDER)}")
        return self


@lru_cache(maxsize=1)
def load_chart_words(path: Path = DATA) -> ChartWords:
    return ChartWords.model_validate(load_yaml_file(path))


@dataclass(frozen=True)
class Line:
    name: str  # the finding's name in the findings document
    text: str
    red_flag: bool = False  # a positive that a fired rule reads


@dataclass
class FindingsView:
    facts: list[Line] = field(default_factory=list)
    positives: list[Line] = field(default_factory=list)
    unknowns: list[Line] = field(default_factory=list)
    negatives: list[Line] = field(default_factory=list)


def _number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return f"{value:g}" if isinstance(value, float) else str(value)


def findings_in_words(findings: dict[str, Any], fired_reads: set[str] | None = None) -> FindingsView:
    """The findings sorted for a glance: positives first (fired rules' findings leading), then
    what the person was unsure of, then what they said no to; facts apart. A finding the words
    file does not know (a schema change not yet described) is listed by name, never dropped."""
    words = load_chart_words()
    reads = fired_reads or set()
    view = FindingsView()
    for name, value in findings.items():
        w = words.findings.get(name)
        label = w.label if w is not None else name.replace("_", " ")
        if value == "unknown":
            view.unknowns.append(Line(name, f"{label}: not sure"))
            continue
        if w is None:
            view.facts.append(Line(name, f"{label}: {value}"))
        elif w.kind == "number":
            unit = w.unit or ""
            sep = "" if unit.startswith("/") else " "
            view.facts.append(Line(name, f"{label}: {_number(value)}{sep}{unit}".rstrip()))
        elif w.kind == "context":
            view.facts.append(Line(name, f"{label}: {w.values.get(str(value), str(value))}"))
        elif w.kind == "flag":
            if value is True:
                view.positives.append(Line(name, label, name in reads))
            else:
                view.negatives.append(Line(name, f"{label}: no"))
        elif w.kind == "course":
            if value in words.courses:
                view.positives.append(Line(name, f"{label}: {words.courses[value]}", name in reads))
            else:
                view.negatives.append(Line(name, f"{label}: none"))
        elif str(value) in w.negative:
            view.negatives.append(Line(name, f"{label}: {w.values[str(value)]}"))
        else:
            view.positives.append(
                Line(name, f"{label}: {w.values.get(str(value), str(value))}", name in reads)
            )
    view.positives.sort(key=lambda line: not line.red_flag)  # stable: the rest keep their order
    return view


def score_text(instrument_id: str, value: float) -> str:
    """A questionnaire score as the instrument reports it: a sum as a whole number, a mean to one
    decimal (PEG 13/3 is 4.3, never 4.333333333333333), with the scale's range."""
    from telespine.instruments import load_instrument

    try:
        inst = load_instrument(instrument_id)
        scale = next(s for s in inst.scales if s.id == inst.primary_scale)
    except Exception:  # an instrument no longer shipped: still a readable number
        return f"{round(value, 1):g}"
    shown = f"{round(value):d}" if scale.method == "sum" else f"{value:.1f}"
    return f"{shown} ({_number(scale.min)} to {_number(scale.max)})"
