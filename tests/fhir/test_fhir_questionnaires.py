"""SDC Questionnaires: strict FHIR, valid against the R4 schema, codes checked, enableWhen, scores."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.questionnaire import Questionnaire

from telespine.fhir import terms
from telespine.fhir.questionnaires import assessment_questionnaire, instrument_questionnaire, to_json
from telespine.instruments import INSTRUMENT_IDS

ALL = [("assessment", "adult"), ("assessment", "pediatric")] + [
    ("instrument", i) for i in sorted(INSTRUMENT_IDS)
]


def _build(kind: str, ident: str) -> Questionnaire:
    return assessment_questionnaire(ident) if kind == "assessment" else instrument_questionnaire(ident)


@pytest.mark.parametrize(("kind", "ident"), ALL)
def test_questionnaire_parses_strictly_and_passes_the_r4_schema(
    kind: str, ident: str, r4_validator: Any
) -> None:
    doc = json.loads(to_json(_build(kind, ident)))
    Questionnaire.model_validate(doc)  # strict: unknown elements would raise
    errors = [e.message for e in r4_validator.iter_errors(doc)]
    assert errors == []


def test_the_r4_schema_catches_a_broken_resource(r4_validator: Any) -> None:
    doc = json.loads(to_json(instrument_questionnaire("phq2")))
    doc["item"][0]["type"] = "not-a-type"
    doc["madeUp"] = 1
    assert list(r4_validator.iter_errors(doc))


def _items(q: Questionnaire) -> dict[str, Any]:
    return {i["linkId"]: i for i in json.loads(to_json(q))["item"]}


def test_assessment_speaks_to_the_parent_and_asks_every_question() -> None:
    from telespine.triage.questionnaire import load_questionnaire

    adult, child = _items(assessment_questionnaire("adult")), _items(assessment_questionnaire("pediatric"))
    assert set(adult) == set(child) == {q.id for q in load_questionnaire().questions}
    assert "your child" in child["saddle_numbness"]["text"]
    assert adult["age_years"]["required"] is True
    codes = [o["valueCoding"]["code"] for o in adult["bladder"]["answerOption"]]
    assert "unsure" in codes
    assert adult["bladder"]["code"][0] == {"system": terms.QUESTION_SYSTEM, "code": "bladder"}


def test_ask_when_becomes_enable_when() -> None:
    items = _items(assessment_questionnaire("adult"))
    assert items["sexual_dysfunction_new"]["enableWhen"] == [
        {"question": "age_years", "operator": ">=", "answerDecimal": 12.0}
    ]
    preg = items["pregnant"]
    assert preg["enableBehavior"] == "all"
    assert {(w["question"], w["operator"]) for w in preg["enableWhen"]} == {
        ("sex", "!="),
        ("age_years", ">="),
    }
    assert "enableWhen" not in items["saddle_numbness"]


def test_phq2_has_its_panel_item_and_answer_codes_and_a_calculated_total() -> None:
    q = instrument_questionnaire("phq2")
    assert q.code is not None and q.code[0].code == "55757-9"
    items = _items(q)
    assert items["interest"]["code"][0]["code"] == "44250-9"
    assert items["down"]["code"][0]["code"] == "44255-8"
    answers = [
        (o["valueCoding"]["code"], o["extension"][0]["valueDecimal"])
        for o in items["interest"]["answerOption"]
    ]
    assert answers == [("LA6568-5", 0), ("LA6569-3", 1), ("LA6570-1", 2), ("LA6571-9", 3)]
    total = items["score.total"]
    assert total["code"][0]["code"] == "55758-7"
    assert total["readOnly"] is True
    ext = total["extension"][0]
    assert ext["url"] == terms.SDC_CALCULATED
    assert ext["valueExpression"]["language"] == "text/fhirpath"
    assert "linkId='interest'" in ext["valueExpression"]["expression"]
    assert "44249-1" not in to_json(q)  # the PHQ-9 panel is not the PHQ-2


def test_gad2_has_no_panel_of_its_own_and_peg_is_a_mean() -> None:
    gad = instrument_questionnaire("gad2")
    assert gad.code is None
    assert _items(gad)["nervous"]["code"][0]["code"] == "69725-0"
    peg = _items(instrument_questionnaire("peg"))
    expr = peg["score.peg"]["extension"][0]["valueExpression"]["expression"]
    assert expr.startswith("((") and expr.endswith("/ 3).round(1)")
    assert peg["pain"]["type"] == "integer"


def test_cli_writes_questionnaires(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from telespine.cli import app

    runner = CliRunner()
    out = tmp_path / "q.json"
    r = runner.invoke(app, ["fhir", "questionnaire", "--audience", "pediatric", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert json.loads(out.read_text())["url"] == terms.assessment_questionnaire_url("pediatric")
    r = runner.invoke(app, ["fhir", "questionnaire", "--instrument", "phq2", "--out", str(out)])
    assert r.exit_code == 0 and json.loads(out.read_text())["id"] == "instrument-phq2"
    r = runner.invoke(app, ["fhir", "questionnaire", "--instrument", "nope", "--out", str(out)])
    assert r.exit_code == 2


def test_questionnaires_are_served(tmp_path: Path, make_client: Any, migrated_templates: Any) -> None:
    url = migrated_templates.sqlite_copy(tmp_path / "q.sqlite3")  # migrated (tests/conftest.py)
    client = make_client(url, disabled_instruments="startback")
    r = client.get("/fhir/Questionnaire/assessment-adult")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/fhir+json")
    assert r.json()["url"] == terms.assessment_questionnaire_url("adult")
    assert client.get("/fhir/Questionnaire/instrument-phq2").json()["code"][0]["code"] == "55757-9"
    for missing in ("instrument-startback", "instrument-nope", "assessment-child", "x"):
        r = client.get(f"/fhir/Questionnaire/{missing}")
        assert r.status_code == 404 and r.json()["resourceType"] == "OperationOutcome"
