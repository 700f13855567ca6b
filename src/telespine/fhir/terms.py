"""Code systems, canonical URLs and the terminology data (data/codes.yaml) of the FHIR mapping."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict

# Canonical base of telespine's own FHIR artefacts. `.invalid` never resolves: these are names,
# not addresses (a deployment serves the same resources under /fhir/).
CANONICAL = "http://telespine.invalid/fhir"
QUESTION_SYSTEM = f"{CANONICAL}/CodeSystem/assessment-question"
ANSWER_SYSTEM = f"{CANONICAL}/CodeSystem/assessment-answer"
RULE_SYSTEM = f"{CANONICAL}/CodeSystem/triage-rule"
DISPOSITION_SYSTEM = f"{CANONICAL}/CodeSystem/disposition"
INSTRUMENT_SYSTEM = f"{CANONICAL}/CodeSystem/instrument"
PROFILE_ID_SYSTEM = f"{CANONICAL}/NamingSystem/profile-id"
ASSESSMENT_ID_SYSTEM = f"{CANONICAL}/NamingSystem/assessment-id"
USER_ID_SYSTEM = f"{CANONICAL}/NamingSystem/user-id"

SDC_CALCULATED = "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-calculatedExpression"
ITEM_CONTROL = "http://hl7.org/fhir/StructureDefinition/questionnaire-itemControl"
MIN_VALUE = "http://hl7.org/fhir/StructureDefinition/minValue"
MAX_VALUE = "http://hl7.org/fhir/StructureDefinition/maxValue"
ORDINAL_VALUE = "http://hl7.org/fhir/StructureDefinition/ordinalValue"
UNIT_EXT = "http://hl7.org/fhir/StructureDefinition/questionnaire-unit"


def instrument_item_system(instrument_id: str) -> str:
    return f"{CANONICAL}/CodeSystem/instrument-{instrument_id}-item"


def instrument_answer_system(instrument_id: str) -> str:
    return f"{CANONICAL}/CodeSystem/instrument-{instrument_id}-answer"


def assessment_questionnaire_url(audience: str) -> str:
    return f"{CANONICAL}/Questionnaire/assessment-{audience}"


def instrument_questionnaire_url(instrument_id: str) -> str:
    return f"{CANONICAL}/Questionnaire/instrument-{instrument_id}"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Code(_Strict):
    code: str
    display: str


class InstrumentCodes(_Strict):
    panel: Code | None = None
    scales: dict[str, Code] = {}
    items: dict[str, Code] = {}
    answers: dict[str, Code] = {}


class Terms(_Strict):
    version: str
    systems: dict[str, str]
    instruments: dict[str, InstrumentCodes]
    condition: dict[str, Code]
    lumbar_imaging: dict[str, dict[str, str]]

    def system(self, name: str) -> str:
        return self.systems[name]

    def instrument(self, instrument_id: str) -> InstrumentCodes:
        return self.instruments.get(instrument_id, InstrumentCodes())

    def imaging_systems(self) -> dict[str, dict[str, str]]:
        """System URL -> {code: display} of the lumbar spine imaging orders."""
        return {self.systems[name]: codes for name, codes in self.lumbar_imaging.items()}


@cache
def load_terms() -> Terms:
    """The terminology file, checked strictly (cached)."""
    text = resources.files("telespine.fhir").joinpath("data/codes.yaml").read_text("utf-8")
    raw: Any = yaml.safe_load(text)
    return Terms.model_validate(raw)
