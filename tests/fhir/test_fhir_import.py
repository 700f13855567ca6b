"""Import: a QuestionnaireResponse -> findings -> triage; refusals are OperationOutcomes, never results."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from telespine.fhir import terms
from telespine.fhir.importer import ImportProblem, import_response
from telespine.fhir.questionnaires import to_json
from telespine.fhir.responses import response_items
from telespine.triage import triage
from telespine.triage.questionnaire import result as questionnaire_result
from telespine.web.testing import bearer

BASE = {
    "age_years": 40,
    "sex": "male",
    "onset": "gradual",
    "duration_days": 10,
    "pain_score": 4,
    "location": "low_back",
    "leg_pain_below_knee": "no",
}
NO_FLAGS = dict.fromkeys(
    (
        "saddle_numbness",
        "sexual_dysfunction_new",
        "walking_difficulty",
        "pain_unrelenting",
        "chest_pain_or_breathlessness",
        "fainting_or_collapse",
        "pulsating_abdominal_mass",
        "fever",
        "immunosuppressed",
        "iv_drug_use",
        "recent_infection",
        "recent_spinal_procedure",
        "hemodialysis",
        "long_term_steroids",
        "osteoporosis",
        "pain_worsening",
        "night_pain",
        "headache_vision_change",
        "unexplained_weight_loss",
        "feeling_unwell",
        "neck_flexion_shock",
        "cancer_risk_factors",
        "pain_changed_character",
        "spinal_curvature",
        "one_sided_neck_shoulder_pain",
        "arm_swelling_or_color_change",
        "hyperextension_sport",
        "morning_stiffness_over_30_min",
        "better_with_exercise_not_rest",
        "buttock_pain_alternating",
        "known_inflammatory_condition",
    ),
    "no",
)
NO_FLAGS |= {
    "bladder": "normal",
    "bowel": "normal",
    "leg_weakness": "none",
    "leg_numbness": "none",
    "arm_weakness": "none",
    "arm_numbness": "none",
    "trauma": "none",
    "cancer_history": "none",
}


def _qr(answers: dict[str, object], audience: str = "adult", **overrides: Any) -> dict[str, Any]:
    qr = QuestionnaireResponse(
        status="completed",
        questionnaire=terms.assessment_questionnaire_url(audience),
        item=response_items(answers, "adult" if audience == "adult" else "pediatric"),
    )
    doc: dict[str, Any] = json.loads(to_json(qr))
    doc.update(overrides)
    return doc


def _valid(answers: dict[str, object]) -> dict[str, object]:
    """The answers a person gives in telespine's own adaptive flow: seed answers where asked,
    else the first option (no, none, normal) or 0; as the web pages would record them."""
    from telespine.triage.questionnaire import load_questionnaire, next_question

    qn = load_questionnaire()
    out: dict[str, object] = {}
    for k, v in answers.items():
        q = qn.by_id(k)
        if q.kind == "number" or q.option(str(v)) is not None:
            out[k] = v
    for _ in range(len(qn.questions)):
        nxt = next_question(out)
        if nxt is None:
            break
        out[nxt.id] = (
            0 if nxt.kind == "number" else ("no" if nxt.kind == "yes_no_unsure" else nxt.options[0].value)
        )
    return out


CASES = [
    {**BASE, **NO_FLAGS},
    {**BASE, **NO_FLAGS, "saddle_numbness": "yes", "bladder": "retention"},
    {**BASE, **NO_FLAGS, "fever": "unsure"},
    {**BASE, **NO_FLAGS, "age_years": 9, "night_pain": "yes"},
]


@pytest.mark.parametrize("answers", CASES)
def test_round_trip_gives_the_questionnaires_result(answers: dict[str, object]) -> None:
    answers = _valid(answers)
    imported = import_response(_qr(answers))
    assert imported.filled_unknown == [] or set(imported.filled_unknown).isdisjoint(answers)
    expected = questionnaire_result(imported.answers)
    got = triage(imported.findings)
    assert got.disposition == expected.disposition
    assert [r.id for r in got.rules] == [r.id for r in expected.rules]


def test_unanswered_red_flags_are_unknown_never_no() -> None:
    imported = import_response(_qr(BASE))
    assert "saddle_numbness" in imported.filled_unknown
    assert imported.findings["saddle_numbness"] == "unknown"
    got = triage(imported.findings)
    assert got.disposition.level <= 3  # never the reassuring telemedicine result
    assert "saddle_numbness" in got.unresolved


def test_unsure_stays_unknown() -> None:
    imported = import_response(_qr(_valid({**BASE, **NO_FLAGS, "fever": "unsure"})))
    assert imported.findings["fever"] == "unknown"


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"questionnaire": "http://example.org/Questionnaire/other"}, "QuestionnaireResponse.questionnaire"),
        ({"status": "in-progress"}, "QuestionnaireResponse.status"),
        ({"resourceType": "Patient"}, "resourceType"),
        ({"madeUp": True}, "madeUp"),
    ],
)
def test_foreign_or_bad_responses_are_refused(change: dict[str, Any], where: str) -> None:
    with pytest.raises(ImportProblem) as err:
        import_response(_qr(BASE) | change)
    doc = json.loads(to_json(err.value.outcome()))
    assert doc["resourceType"] == "OperationOutcome"
    assert any(where in " ".join(i.get("expression", [])) for i in doc["issue"])


def test_answers_that_do_not_fit_are_refused() -> None:
    doc = _qr(BASE)
    doc["item"][1]["answer"] = [{"valueCoding": {"system": terms.ANSWER_SYSTEM, "code": "maybe"}}]
    with pytest.raises(ImportProblem):
        import_response(doc)
    doc = _qr(BASE)
    doc["item"].append({"linkId": "shoe_size", "answer": [{"valueInteger": 9}]})
    with pytest.raises(ImportProblem):
        import_response(doc)
    no_age = _qr({k: v for k, v in BASE.items() if k != "age_years"})
    with pytest.raises(ImportProblem):
        import_response(no_age)
    with pytest.raises(ImportProblem):
        import_response(b"{not json")


def test_api_import_triages_and_saves_for_a_signed_in_patient(store: Any, make_client: Any) -> None:
    anon = make_client(store.url)
    body = json.dumps(_qr(_valid({**BASE, **NO_FLAGS})))
    headers = {"content-type": "application/fhir+json"}
    r = anon.post("/api/v1/fhir/QuestionnaireResponse", content=body, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["result"]["disposition"] == "telemedicine" and r.json()["assessment_id"] is None
    alice = bearer(make_client, store.url, "alice")
    r = alice.post("/api/v1/fhir/QuestionnaireResponse", content=body, headers=headers)
    assert r.status_code == 201, r.text
    saved = alice.get(f"/api/v1/assessments/{r.json()['assessment_id']}")
    assert saved.status_code == 200
    bad = _qr(BASE, questionnaire="http://example.org/Questionnaire/phq9")
    r = anon.post("/api/v1/fhir/QuestionnaireResponse", content=json.dumps(bad), headers=headers)
    assert r.status_code == 422
    assert r.json()["resourceType"] == "OperationOutcome" and "result" not in r.json()
    r = anon.post("/api/v1/fhir/QuestionnaireResponse", content="[1, 2]", headers=headers)
    assert r.status_code == 422 and r.json()["resourceType"] == "OperationOutcome"
