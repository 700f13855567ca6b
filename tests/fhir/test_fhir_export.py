"""Export: one transaction Bundle per saved assessment, strict FHIR, valid R4, codes as checked."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fhir.resources.R4B.bundle import Bundle

from telespine.fhir import terms
from telespine.web.testing import bearer


def _bundle(store: Any, assessment_id: str) -> dict[str, Any]:
    from telespine.fhir.export import assessment_bundle
    from telespine.fhir.questionnaires import to_json
    from telespine.store import repo
    from telespine.store.db import make_engine, make_sessionmaker

    engine = make_engine(store.url)
    try:
        with make_sessionmaker(engine)() as db:
            found = repo.get_assessment(db, assessment_id)
            assert found is not None
            doc: dict[str, Any] = json.loads(to_json(assessment_bundle(db, found)))
            return doc
    finally:
        engine.dispose()


def _of(doc: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in doc["entry"] if e["resource"]["resourceType"] == kind]


def _codes(resource: dict[str, Any]) -> set[str]:
    return {c["code"] for c in resource["code"].get("coding", [])}


def test_adult_bundle_is_strict_valid_r4_and_complete(store: Any, r4_validator: Any) -> None:
    doc = _bundle(store, store.adult)
    Bundle.model_validate(doc)
    assert [e.message for e in r4_validator.iter_errors(doc)] == []
    assert doc["type"] == "transaction"
    assert all(e["request"]["method"] == "PUT" for e in doc["entry"])
    kinds = {e["resource"]["resourceType"] for e in doc["entry"]}
    assert kinds >= {
        "Patient",
        "QuestionnaireResponse",
        "ClinicalImpression",
        "Observation",
        "RiskAssessment",
        "Condition",
        "CarePlan",
        "Appointment",
        "Encounter",
        "Communication",
        "Provenance",
    }
    assert "RelatedPerson" not in kinds
    full_urls = {e["fullUrl"] for e in doc["entry"]}
    for e in doc["entry"]:  # every reference inside the Bundle resolves inside it
        for ref in _references(e["resource"]):
            assert ref in full_urls, ref
    assert _bundle(store, store.adult)["entry"][0]["fullUrl"] == doc["entry"][0]["fullUrl"]  # stable ids


def _references(node: Any) -> list[str]:
    out: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "reference" and isinstance(value, str):
                out.append(value)
            else:
                out += _references(value)
    elif isinstance(node, list):
        for value in node:
            out += _references(value)
    return out


def test_scores_disposition_condition_and_risk_carry_the_checked_codes(store: Any) -> None:
    doc = _bundle(store, store.adult)
    obs = _of(doc, "Observation")
    all_codes = set().union(*(_codes(o) for o in obs))
    assert "55758-7" in all_codes  # PHQ-2 total score
    assert "44249-1" not in json.dumps(doc)  # the PHQ-9 panel is not the PHQ-2
    assert "72514-3" in all_codes  # NRS
    phq = next(o for o in obs if "55758-7" in _codes(o))
    assert phq["valueQuantity"] == {
        "value": 3.0,
        "unit": "{score}",
        "system": "http://unitsofmeasure.org",
        "code": "{score}",
    }
    assert {c["code"]["coding"][0]["code"] for c in phq["component"]} == {"44250-9", "44255-8"}
    assert {c["valueCodeableConcept"]["coding"][0]["code"] for c in phq["component"]} == {
        "LA6569-3",
        "LA6570-1",
    }
    risk = _of(doc, "RiskAssessment")[0]
    assert risk["prediction"][0]["qualitativeRisk"]["coding"][0]["code"] == "high"
    cond = _of(doc, "Condition")[0]
    assert cond["code"]["coding"][0] == {
        "system": "http://snomed.info/sct",
        "code": "279039007",
        "display": "Low back pain",
    }
    impression = _of(doc, "ClinicalImpression")[0]
    assert impression["prognosisCodeableConcept"][0]["coding"][0]["code"] == "telemedicine"
    from telespine.triage import load_ruleset

    rs = load_ruleset()
    assert impression["protocol"] == [f"{terms.CANONICAL}/ruleset/{rs.version}#sha256-{rs.sha256}"]
    qr = _of(doc, "QuestionnaireResponse")[0]
    assert qr["questionnaire"] == terms.assessment_questionnaire_url("adult")
    assert {i["linkId"] for i in qr["item"]} >= {"age_years", "location", "pain_score"}
    assert _of(doc, "Encounter")[0]["class"]["code"] == "VR"
    comms = {c["payload"][0]["contentString"]: c for c in _of(doc, "Communication")}
    assert set(comms) == {"Stiff in the morning.", "Keep the walks going.", "We got your message."}
    assert "automatic reply" in comms["We got your message."]["sender"]["display"]
    assert len(_of(doc, "Provenance")) >= 3


def test_child_bundle_has_the_parent_and_fired_rules(store: Any, r4_validator: Any) -> None:
    doc = _bundle(store, store.child)
    Bundle.model_validate(doc)
    assert [e.message for e in r4_validator.iter_errors(doc)] == []
    parent = _of(doc, "RelatedPerson")[0]
    assert parent["relationship"][0]["coding"][0]["code"] == "PRN"
    qr = _of(doc, "QuestionnaireResponse")[0]
    assert qr["questionnaire"] == terms.assessment_questionnaire_url("pediatric")
    assert qr["author"]["reference"] == next(
        e["fullUrl"] for e in doc["entry"] if e["resource"]["resourceType"] == "RelatedPerson"
    )
    impression = _of(doc, "ClinicalImpression")[0]
    rule_ids = {f["itemCodeableConcept"]["coding"][0]["code"] for f in impression["finding"]}
    assert "child.fever" in rule_ids
    assert all("Sources:" in f["basis"] for f in impression["finding"])
    assert "CarePlan" not in {e["resource"]["resourceType"] for e in doc["entry"]}  # urgent: no program


def test_cli_exports_every_assessment_or_one(store: Any, tmp_path: Path, monkeypatch: Any) -> None:
    from typer.testing import CliRunner

    from telespine.cli import app
    from telespine.settings import get_settings
    from telespine.web.testing import TEST_SECRET

    monkeypatch.setenv("DATABASE_URL", store.url)
    monkeypatch.setenv("TELESPINE_ENV", "test")
    monkeypatch.setenv("TELESPINE_SECRET_KEY", TEST_SECRET)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        r = runner.invoke(app, ["fhir", "export", "--out", str(tmp_path / "all")])
        assert r.exit_code == 0, r.output
        assert sorted(p.stem for p in (tmp_path / "all").glob("*.json")) == sorted([store.adult, store.child])
        r = runner.invoke(
            app, ["fhir", "export", "--out", str(tmp_path / "one"), "--assessment", store.child]
        )
        assert r.exit_code == 0, r.output
        one = json.loads((tmp_path / "one" / f"{store.child}.json").read_text())
        assert one["resourceType"] == "Bundle" and one["type"] == "transaction"
        r = runner.invoke(app, ["fhir", "export", "--out", str(tmp_path / "x"), "--assessment", "nope"])
        assert r.exit_code == 1
    finally:
        get_settings.cache_clear()


def test_api_export_follows_the_assessments_readers(store: Any, make_client: Any) -> None:
    alice = bearer(make_client, store.url, "alice")
    r = alice.get(f"/api/v1/assessments/{store.adult}/fhir")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/fhir+json")
    assert r.json()["type"] == "transaction"
    assert alice.get(f"/api/v1/assessments/{store.child}/fhir").status_code == 404
    bob = bearer(make_client, store.url, "bob")
    r = bob.get(f"/api/v1/assessments/{store.adult}/fhir")
    assert r.status_code == 404 and "Stiff" not in r.text
    assert (
        bearer(make_client, store.url, "dr_dave").get(f"/api/v1/assessments/{store.child}/fhir").status_code
        == 200
    )
    assert make_client(store.url).get(f"/api/v1/assessments/{store.adult}/fhir").status_code == 401
