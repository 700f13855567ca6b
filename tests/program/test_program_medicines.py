"""Medicine advice rules, proved over generated inputs with hypothesis."""

from __future__ import annotations

import re
from typing import Any, get_args

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from telespine.program.medicines import (
    MedicineAdvice,
    MedicineAnswers,
    MedicineQuestions,
    load_medicine_questions,
    medicine_advice,
)
from telespine.triage.types import audience_for_age

DOSE = re.compile(r"\d\s*(mg|g|ml|mcg)\b", re.IGNORECASE)
OPIOIDS = re.compile(r"opioid|codeine|tramadol|morphine|oxycodone|dihydrocodeine", re.IGNORECASE)
FIELDS = list(MedicineAnswers.model_fields)
# The expected rules, written out here so that a change to medicines.yaml must change a test too.
NSAID_CAUTION_FIELDS = (
    "stomach_ulcer_or_bleeding",
    "kidney_disease",
    "heart_disease",
    "liver_disease",
    "blood_thinners",
    "asthma_worse_with_nsaids",
    "other_pain_medicines",
)
PARACETAMOL_CAUTION_FIELDS = ("liver_disease", "other_pain_medicines")
PREGNANT_STAGES = ("trimester_1", "trimester_2", "trimester_3")
ALL_NO = dict.fromkeys(FIELDS, "no")


def _choices(field: str) -> list[str]:
    return list(get_args(MedicineAnswers.model_fields[field].annotation))


answers_st = st.fixed_dictionaries({f: st.sampled_from(_choices(f)) for f in FIELDS}).map(
    lambda d: MedicineAnswers(**d)
)
findings_st = st.fixed_dictionaries(
    {"age_years": st.one_of(st.integers(0, 120), st.floats(0, 120, allow_nan=False))},
    optional={
        "sex": st.sampled_from(["female", "male", "other"]),
        "pregnant": st.sampled_from([True, False, "unknown"]),
    },
)


def advise(answers: MedicineAnswers, findings: dict[str, Any]) -> MedicineAdvice:
    return medicine_advice(answers, findings, audience_for_age(findings["age_years"]))


def item(advice: MedicineAdvice, med: str) -> Any:
    return next(i for i in advice.items if i.id == med)


@settings(max_examples=300, deadline=None)
@given(answers_st, findings_st)
def test_no_dose_for_any_child(answers: MedicineAnswers, findings: dict[str, Any]) -> None:
    findings["age_years"] = findings["age_years"] % 18
    advice = advise(answers, findings)
    assert advice.audience == "pediatric"
    assert all(i.status != "dose" and not i.dose for i in advice.items)
    assert not [t for t in advice.texts() if DOSE.search(t)]
    assert any("age and weight" in t for t in advice.texts())


@settings(max_examples=300, deadline=None)
@given(answers_st, findings_st)
def test_aspirin_never_suggested_and_children_are_warned(
    answers: MedicineAnswers, findings: dict[str, Any]
) -> None:
    advice = advise(answers, findings)
    assert not [t for t in advice.suggestion_texts() if "aspirin" in t.lower()]
    for warning in advice.warnings:
        if "aspirin" in warning.lower():
            assert warning.startswith("Do not")
    if findings["age_years"] < 16:
        assert any("aspirin" in w.lower() for w in advice.warnings)


@settings(max_examples=300, deadline=None)
@given(answers_st, findings_st)
def test_opioids_are_never_suggested(answers: MedicineAnswers, findings: dict[str, Any]) -> None:
    advice = advise(answers, findings)
    assert not [t for t in advice.texts() if OPIOIDS.search(t)]
    assert {i.id for i in advice.items} == {"paracetamol", "ibuprofen"}


def _nsaid_caution(answers: MedicineAnswers, findings: dict[str, Any]) -> bool:
    return (
        any(getattr(answers, f) != "no" for f in NSAID_CAUTION_FIELDS)
        or findings["age_years"] >= 65
        or findings.get("pregnant") in (True, "unknown")
        or (answers.pregnancy == "unknown" and findings.get("sex") != "male")
        or answers.pregnancy not in ("no", "unknown")
    )


@settings(max_examples=400, deadline=None)
@given(answers_st, findings_st)
def test_any_caution_means_no_nsaid_dose(answers: MedicineAnswers, findings: dict[str, Any]) -> None:
    advice = advise(answers, findings)
    ibu = item(advice, "ibuprofen")
    if _nsaid_caution(answers, findings) or advice.audience == "pediatric":
        assert ibu.status != "dose"
        assert not ibu.dose
        assert not [t for t in [ibu.about, *ibu.advice] if DOSE.search(t)]
    else:
        # The positive control: with no caution an adult sees the OTC dose and its daily maximum.
        assert ibu.status == "dose"
        assert any("1,200 mg" in d for d in ibu.dose)


@settings(max_examples=300, deadline=None)
@given(answers_st, st.integers(18, 64), st.sampled_from(NSAID_CAUTION_FIELDS))
def test_unknown_behaves_like_a_caution(answers: MedicineAnswers, age: int, field: str) -> None:
    findings = {"age_years": age, "sex": "male"}
    as_yes = advise(answers.model_copy(update={field: "yes"}), findings)
    as_unknown = advise(answers.model_copy(update={field: "unknown"}), findings)
    assert item(as_yes, "ibuprofen").status == item(as_unknown, "ibuprofen").status
    assert item(as_unknown, "ibuprofen").status != "dose"
    assert field in {c.id for c in item(as_unknown, "ibuprofen").cautions}


@settings(max_examples=200, deadline=None)
@given(answers_st, st.integers(18, 55), st.sampled_from(PREGNANT_STAGES))
def test_pregnancy_no_nsaid_and_paracetamol_only_after_checking(
    answers: MedicineAnswers, age: int, stage: str
) -> None:
    advice = advise(answers.model_copy(update={"pregnancy": stage}), {"age_years": age, "sex": "female"})
    ibu, para = item(advice, "ibuprofen"), item(advice, "paracetamol")
    assert ibu.status == "avoid" and not ibu.dose
    assert para.status == "ask_first" and not para.dose
    assert any("midwife" in a for a in para.advice)


def test_pregnant_finding_overrides_a_no_answer() -> None:
    advice = advise(MedicineAnswers(**ALL_NO), {"age_years": 30, "pregnant": True})
    assert item(advice, "ibuprofen").status == "avoid"


def test_adult_without_cautions_gets_both_doses_taken_regularly() -> None:
    advice = advise(MedicineAnswers(**ALL_NO), {"age_years": 40})
    para, ibu = item(advice, "paracetamol"), item(advice, "ibuprofen")
    assert para.status == ibu.status == "dose"
    assert any("4 g" in d for d in para.dose)
    assert any("with food" in d for d in ibu.dose)
    assert any("3 to 5 days" in g for g in advice.general)


def test_older_adult_needs_to_ask_first_for_nsaids_only() -> None:
    advice = advise(MedicineAnswers(**ALL_NO), {"age_years": 65})
    assert item(advice, "ibuprofen").status == "ask_first"
    assert item(advice, "paracetamol").status == "dose"


def test_unreadable_age_is_a_caution() -> None:
    advice = medicine_advice(MedicineAnswers(**ALL_NO), {}, "adult")
    assert item(advice, "ibuprofen").status == "ask_first"


def test_answers_are_strict_and_default_to_unknown() -> None:
    assert all(v == "unknown" for v in MedicineAnswers().model_dump().values())
    with pytest.raises(ValueError):
        MedicineAnswers.model_validate({"kidney_disease": "maybe"})
    with pytest.raises(ValueError):
        MedicineAnswers.model_validate({"kidneys": "no"})


def test_questions_cover_every_answer_with_not_sure() -> None:
    questions = load_medicine_questions()
    assert [q.field for q in questions.questions] == FIELDS
    for q in questions.questions:
        assert "unknown" in {o.value for o in q.options}
        assert "your child" in q.text.pediatric.lower()
    doc = questions.model_dump()
    doc["questions"] = doc["questions"][:-1]
    with pytest.raises(ValueError):
        MedicineQuestions.model_validate(doc)
    doc = questions.model_dump()
    doc["questions"][1]["options"] = doc["questions"][1]["options"][:2]  # drop "Not sure"
    with pytest.raises(ValueError):
        MedicineQuestions.model_validate(doc)


# --- the rules are data (program/data/medicines.yaml) ---------------------------------------------


def _medicine_doc() -> dict[str, Any]:
    from importlib import resources

    import yaml

    text = resources.files("telespine.program").joinpath("data", "medicines.yaml").read_text(encoding="utf-8")
    doc: dict[str, Any] = yaml.safe_load(text)
    return doc


def test_the_rules_in_the_data_file_are_the_expected_rules() -> None:
    from telespine.program.medicines import load_medicine_texts

    rules = load_medicine_texts().rules
    assert tuple(rules.medicines["ibuprofen"].cautions) == NSAID_CAUTION_FIELDS
    assert tuple(rules.medicines["paracetamol"].cautions) == PARACETAMOL_CAUTION_FIELDS
    assert rules.medicines["ibuprofen"].older_adult_age == 65
    assert rules.medicines["paracetamol"].older_adult_age is None
    assert tuple(rules.pregnancy.pregnant_stages) == PREGNANT_STAGES
    assert (rules.children.under_age, rules.children.no_aspirin_under_age) == (18, 16)


def test_every_medicine_rule_cites_known_sources() -> None:
    from telespine.content import load_sources
    from telespine.program.medicines import load_medicine_texts

    known = set(load_sources().sources)
    rules = load_medicine_texts().rules
    for rule in [*rules.medicines.values(), rules.pregnancy, rules.children]:
        assert rule.sources and set(rule.sources) <= known, rule


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("rules", "medicines", "ibuprofen", "max_age"), 70),  # unknown key
        (("rules", "medicines", "ibuprofen", "cautions"), ["pregnancy"]),  # not a yes/no answer
        (("rules", "medicines", "ibuprofen", "cautions"), ["kidney"]),  # no such answer
        (("rules", "medicines", "ibuprofen", "in_pregnancy"), "dose"),  # never a dose in pregnancy
        (("rules", "children", "no_aspirin_under_age"), 12),  # the warning text says 16
        (("rules", "medicines", "ibuprofen", "sources"), []),
    ],
)
def test_the_rules_file_is_strict(path: tuple[str, ...], value: Any) -> None:
    from pydantic import ValidationError

    from telespine.program.medicines import MedicineTexts

    doc = _medicine_doc()
    node = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(ValidationError):
        MedicineTexts.model_validate(doc)


def test_a_rule_without_paracetamol_is_rejected() -> None:
    from pydantic import ValidationError

    from telespine.program.medicines import MedicineTexts

    doc = _medicine_doc()
    del doc["rules"]["medicines"]["paracetamol"]
    with pytest.raises(ValidationError):
        MedicineTexts.model_validate(doc)


@pytest.mark.parametrize("age", [3, 12, 17])
def test_a_child_never_gets_a_dose_even_if_called_an_adult(age: int) -> None:
    advice = medicine_advice(MedicineAnswers(**ALL_NO), {"age_years": age, "sex": "male"}, "adult")
    assert advice.audience == "pediatric"
    assert all(i.status != "dose" and not i.dose for i in advice.items)
    assert any("aspirin" in w.lower() for w in advice.warnings)


def test_the_age_caution_follows_the_data(monkeypatch: pytest.MonkeyPatch) -> None:
    from telespine.program import medicines

    texts = medicines.load_medicine_texts()
    ibu_rule = texts.rules.medicines["ibuprofen"].model_copy(update={"older_adult_age": 50})
    rules = texts.rules.model_copy(update={"medicines": {**texts.rules.medicines, "ibuprofen": ibu_rule}})
    monkeypatch.setattr(medicines, "load_medicine_texts", lambda: texts.model_copy(update={"rules": rules}))
    advice = medicine_advice(MedicineAnswers(**ALL_NO), {"age_years": 55, "sex": "male"}, "adult")
    ibu = item(advice, "ibuprofen")
    assert ibu.status == "ask_first"
    assert [c.id for c in ibu.cautions] == ["age_50_or_over"]
