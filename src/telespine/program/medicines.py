"""Safe over-the-counter medicine advice from the person's answers, as data-driven rules."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from telespine.datafile import load_yaml_text
from telespine.errors import DataFileError, TelespineError
from telespine.program.models import ByAudience
from telespine.triage.types import Audience

YesNoUnknown = Literal["yes", "no", "unknown"]
Pregnancy = Literal["no", "trimester_1", "trimester_2", "trimester_3", "breastfeeding", "unknown"]
Status = Literal["dose", "ask_first", "avoid"]
MedicineId = Literal["paracetamol", "ibuprofen"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MedicineAnswers(_Strict):
    """The answers medicine advice needs. Missing answers are "unknown", a caution, never "no"."""

    pregnancy: Pregnancy = "unknown"
    stomach_ulcer_or_bleeding: YesNoUnknown = "unknown"
    kidney_disease: YesNoUnknown = "unknown"
    heart_disease: YesNoUnknown = "unknown"
    liver_disease: YesNoUnknown = "unknown"
    blood_thinners: YesNoUnknown = "unknown"
    asthma_worse_with_nsaids: YesNoUnknown = "unknown"
    other_pain_medicines: YesNoUnknown = "unknown"


# The yes/no/unknown answers a medicine rule may list as cautions (every field but pregnancy).
CautionField = Literal[
    "stomach_ulcer_or_bleeding",
    "kidney_disease",
    "heart_disease",
    "liver_disease",
    "blood_thinners",
    "asthma_worse_with_nsaids",
    "other_pain_medicines",
]


# ---- question wording as data ----


class QuestionOption(_Strict):
    """One answer option of a medicine question."""

    value: str
    label: str


class MedicineQuestion(_Strict):
    """One question the assessment asks, in adult and parent wording."""

    field: str
    text: ByAudience
    topic: str
    options: list[QuestionOption] = Field(min_length=2)


class MedicineQuestions(_Strict):
    """The medicine questions file; it must ask exactly the MedicineAnswers fields."""

    version: str
    questions: list[MedicineQuestion]

    @model_validator(mode="after")
    def _matches_model(self) -> MedicineQuestions:
        fields = MedicineAnswers.model_fields
        if [q.field for q in self.questions] != list(fields):
            raise ValueError("questions must cover every MedicineAnswers field, in order")
        for q in self.questions:
            allowed = set(get_args(fields[q.field].annotation))
            values = {o.value for o in q.options}
            if values != allowed:
                raise ValueError(f"{q.field}: options {sorted(values)} != accepted {sorted(allowed)}")
        return self

    def topic(self, field: str) -> str:
        """The short plain name of what a question asks about."""
        return next(q.topic for q in self.questions if q.field == field)


# ---- advice texts as data ----


class AdultMedicineText(_Strict):
    about: str
    dose: list[str] = Field(min_length=1)
    ask_first: str
    pregnancy: str


class ChildMedicineText(_Strict):
    about: str
    ask_first: str
    pregnancy: str


class MedicineText(_Strict):
    name: str
    adult: AdultMedicineText
    pediatric: ChildMedicineText


class AudienceList(_Strict):
    adult: list[str]
    pediatric: list[str]

    def for_(self, audience: Audience) -> list[str]:
        return self.adult if audience == "adult" else self.pediatric


class MedicineRule(_Strict):
    """When one medicine's dose becomes "ask first" or "avoid", with its sources."""

    cautions: list[CautionField]
    older_adult_age: int | None = Field(ge=18)
    breastfeeding_is_caution: bool
    unknown_pregnancy_is_caution: bool
    in_pregnancy: Literal["ask_first", "avoid"]
    sources: list[str] = Field(min_length=1)


class PregnancyRule(_Strict):
    """Which pregnancy answers mean pregnant now."""

    pregnant_stages: list[Literal["trimester_1", "trimester_2", "trimester_3"]] = Field(min_length=1)
    sources: list[str] = Field(min_length=1)


class ChildrenRule(_Strict):
    """The ages that make someone a child and that rule out aspirin."""

    under_age: int = Field(ge=1)
    no_aspirin_under_age: int = Field(ge=1)
    sources: list[str] = Field(min_length=1)


class MedicineRules(_Strict):
    """The decision rules of the medicine file."""

    medicines: dict[MedicineId, MedicineRule]
    pregnancy: PregnancyRule
    children: ChildrenRule

    @model_validator(mode="after")
    def _every_medicine(self) -> MedicineRules:
        if set(self.medicines) != set(get_args(MedicineId)):
            raise ValueError(f"rules must cover exactly {sorted(get_args(MedicineId))}")
        return self


class MedicineTexts(_Strict):
    """The medicine advice file."""

    version: str
    general: AudienceList
    warnings: AudienceList
    sources: list[str] = Field(min_length=1)
    medicines: dict[MedicineId, MedicineText]
    rules: MedicineRules

    @model_validator(mode="after")
    def _texts_match_rules(self) -> MedicineTexts:
        if set(self.medicines) != set(self.rules.medicines):
            raise ValueError("every medicine needs texts and rules")
        age = str(self.rules.children.no_aspirin_under_age)
        aspirin = [w for w in self.warnings.pediatric if "aspirin" in w.lower()]
        # The parent's warning must exist and state the age the rule uses.
        if not aspirin or not all(age in w for w in aspirin):
            raise ValueError(f"the pediatric aspirin warning must say under {age}")
        return self

    def all_sources(self) -> list[str]:
        """The file's sources and those of every rule, sorted."""
        rules = self.rules
        keys = set(self.sources) | set(rules.pregnancy.sources) | set(rules.children.sources)
        for rule in rules.medicines.values():
            keys |= set(rule.sources)
        return sorted(keys)


class MedicineDataError(TelespineError):
    """A medicine data file is invalid."""


def _load(name: str) -> object:
    text = resources.files("telespine.program").joinpath("data", name).read_text(encoding="utf-8")
    return load_yaml_text(text, name)


@cache
def load_medicine_questions() -> MedicineQuestions:
    """The questions the web form and CLI ask before medicine advice (cached)."""
    try:
        return MedicineQuestions.model_validate(_load("medicine_questions.yaml"))
    except (DataFileError, ValidationError) as exc:
        raise MedicineDataError(str(exc)) from exc


@cache
def load_medicine_texts() -> MedicineTexts:
    """The medicine advice texts and doses (cached)."""
    try:
        return MedicineTexts.model_validate(_load("medicines.yaml"))
    except (DataFileError, ValidationError) as exc:
        raise MedicineDataError(str(exc)) from exc


# ---- the advice ----


class Caution(_Strict):
    """One reason to check with a pharmacist or doctor; `answer` is yes, unknown or from findings."""

    id: str
    text: str
    answer: Literal["yes", "unknown", "findings"]


class MedicineItem(_Strict):
    """Advice on one medicine: take it at the shown dose, ask first, or avoid it."""

    id: MedicineId
    name: str
    status: Status
    about: str
    advice: list[str]
    dose: list[str]
    cautions: list[Caution]


class MedicineAdvice(_Strict):
    """All medicine advice for one person."""

    version: str
    audience: Audience
    general: list[str]
    items: list[MedicineItem]
    warnings: list[str]
    sources: list[str]

    def suggestion_texts(self) -> list[str]:
        """Every text that suggests what to take (everything except the warnings)."""
        out = list(self.general)
        for item in self.items:
            out += [item.name, item.about, *item.advice, *item.dose]
        return out

    def texts(self) -> list[str]:
        """Every patient-facing text, warnings included."""
        out = self.suggestion_texts() + list(self.warnings)
        for item in self.items:
            out += [c.text for c in item.cautions]
        return out


def _effective_pregnancy(
    answers: MedicineAnswers, findings: Mapping[str, object], rule: PregnancyRule
) -> Pregnancy:
    """Combine the medicine answer with the findings: a pregnant finding wins, male means no."""
    if findings.get("pregnant") is True and answers.pregnancy not in rule.pregnant_stages:
        return rule.pregnant_stages[0] if answers.pregnancy in ("no", "unknown") else answers.pregnancy
    if findings.get("pregnant") == "unknown" and answers.pregnancy in ("no", "unknown"):
        # The findings are less sure than the answer: stay careful.
        return "unknown"
    if answers.pregnancy == "unknown" and findings.get("sex") == "male":
        return "no"
    return answers.pregnancy


def _cautions(
    answers: MedicineAnswers,
    fields: list[CautionField],
    questions: MedicineQuestions,
) -> list[Caution]:
    out: list[Caution] = []
    for field in fields:
        value = getattr(answers, field)
        if value == "yes":
            out.append(Caution(id=field, text=questions.topic(field).capitalize(), answer="yes"))
        elif value == "unknown":
            # Unknown is a caution, never a no (house rule).
            out.append(Caution(id=field, text=f"Not sure about {questions.topic(field)}", answer="unknown"))
    return out


def medicine_advice(
    answers: MedicineAnswers,
    findings: Mapping[str, object],
    audience: Audience,
) -> MedicineAdvice:
    """Medicine advice from the answers, the findings (age, sex, pregnancy) and the audience."""
    texts = load_medicine_texts()
    rules = texts.rules
    questions = load_medicine_questions()
    raw_age = findings.get("age_years")
    # An age we cannot read is None: it counts as old enough for every age caution.
    age = float(raw_age) if isinstance(raw_age, int | float) and not isinstance(raw_age, bool) else None
    if age is not None and age < rules.children.under_age:
        audience = "pediatric"  # a child never gets an adult dose, whatever the caller said
    pregnancy = _effective_pregnancy(answers, findings, rules.pregnancy)
    pregnant = pregnancy in rules.pregnancy.pregnant_stages

    cautions: dict[MedicineId, list[Caution]] = {}
    for med_id, rule in rules.medicines.items():
        found = _cautions(answers, rule.cautions, questions)
        older = rule.older_adult_age
        if older is not None and (age is None or age >= older):
            found.append(Caution(id=f"age_{older}_or_over", text=f"Age {older} or over", answer="findings"))
        if pregnancy == "breastfeeding" and rule.breastfeeding_is_caution:
            found.append(Caution(id="pregnancy", text="Breastfeeding", answer="yes"))
        elif pregnancy == "unknown" and rule.unknown_pregnancy_is_caution:
            found.append(Caution(id="pregnancy", text="Not sure about pregnancy", answer="unknown"))
        elif pregnant:
            found.append(Caution(id="pregnancy", text="Pregnancy", answer="yes"))
        cautions[med_id] = found

    items: list[MedicineItem] = []
    plan: tuple[tuple[MedicineId, list[Caution]], ...] = (
        ("paracetamol", cautions["paracetamol"]),
        ("ibuprofen", cautions["ibuprofen"]),
    )
    for med_id, med_cautions in plan:
        med = texts.medicines[med_id]
        in_pregnancy = rules.medicines[med_id].in_pregnancy
        status: Status
        advice: list[str] = []
        dose: list[str] = []
        if audience == "pediatric":
            # Children never get a dose: a pharmacist works it out from age and weight.
            about = med.pediatric.about
            if pregnant:
                status, advice = in_pregnancy, [med.pediatric.pregnancy]
            else:
                status, advice = "ask_first", [med.pediatric.ask_first]
        else:
            about = med.adult.about
            if pregnant:
                status, advice = in_pregnancy, [med.adult.pregnancy]
            elif med_cautions:
                status, advice = "ask_first", [med.adult.ask_first]
            else:
                status, dose = "dose", list(med.adult.dose)
        items.append(
            MedicineItem(
                id=med_id,
                name=med.name,
                status=status,
                about=about,
                advice=advice,
                dose=dose,
                cautions=med_cautions,
            )
        )
    return MedicineAdvice(
        version=texts.version,
        audience=audience,
        general=texts.general.for_(audience),
        items=items,
        warnings=texts.warnings.for_(audience),
        sources=texts.all_sources(),
    )
