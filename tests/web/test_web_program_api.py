"""The program API: stateless scoring and program, stored scores per profile; 422 names the field."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from telespine.store.demo import demo_password

Client = Any
LOW = {
    "q1_leg_pain": "disagree",
    "q2_neck_shoulder": "disagree",
    "q3_walking": "agree",
    "q4_dressing": "disagree",
    "q5_activity_safe": "disagree",
    "q6_worry": "disagree",
    "q7_catastrophising": "disagree",
    "q8_enjoyment": "disagree",
    "q9_bothersome": "moderately",
}
HIGH = {**dict.fromkeys(LOW, "agree"), "q9_bothersome": "very_much"}
NO_CAUTIONS = {
    "pregnancy": "no",
    "stomach_ulcer_or_bleeding": "no",
    "kidney_disease": "no",
    "heart_disease": "no",
    "liver_disease": "no",
    "blood_thinners": "no",
    "asthma_worse_with_nsaids": "no",
    "other_pain_medicines": "no",
}
CALM_ADULT = {
    "age_years": 35,
    "location": "low_back",
    "onset": "gradual",
    "duration_days": 10,
    "pain_score": 4,
}


@pytest.fixture
def api(seeded_url: str, make_client: Callable[..., Client]) -> Client:
    return make_client(seeded_url)


def _bearer(api: Client, name: str) -> dict[str, str]:
    r = api.post("/api/v1/auth/login", json={"username": name, "password": demo_password(name)})
    api.cookies.clear()
    return {"Authorization": f"Bearer {r.json()['token']}"}


def test_score_an_instrument(api: Client) -> None:
    r = api.post("/api/v1/instruments/startback/score", json={"responses": HIGH})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["category"], body["scores"]["total"], body["scores"]["psychosocial"]) == ("high", 9.0, 5.0)
    low = api.post(
        "/api/v1/instruments/startback/score",
        json={"responses": LOW, "taken_at": "2026-05-04T09:30:00+02:00"},
    ).json()
    assert low["category"] == "low" and low["taken_at"].startswith("2026-05-04T")
    peg = api.post(
        "/api/v1/instruments/peg/score", json={"responses": {"pain": 6, "enjoyment": 5, "activity": 7}}
    )
    assert peg.json()["primary"] == pytest.approx(6.0)


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/instruments/peg/score", {"responses": {"pain": 6}}, "responses"),
        (
            "/api/v1/instruments/peg/score",
            {"responses": {"pain": 6, "enjoyment": 5, "activity": 70}},
            "responses",
        ),
        ("/api/v1/instruments/peg/score", {"responses": {}, "taken_at": "2026-05-04T09:30:00"}, "taken_at"),
        ("/api/v1/instruments/peg/score", {"answers": {}}, "responses"),
        ("/api/v1/program", {"findings": {"age_years": "old"}}, "age_years"),
        (
            "/api/v1/program",
            {"findings": CALM_ADULT, "answers": {"medicines": {"kidney_disease": "maybe"}}},
            "answers.medicines.kidney_disease",
        ),
        (
            "/api/v1/program",
            {"findings": CALM_ADULT, "answers": {"choices": {"smokes": 3}}},
            "answers.choices.smokes",
        ),
    ],
)
def test_invalid_input_names_the_field(api: Client, path: str, body: dict[str, Any], field: str) -> None:
    r = api.post(path, json=body)
    assert r.status_code == 422, r.text
    assert field in r.json()["detail"]


def test_unknown_instrument_is_404(api: Client) -> None:
    assert api.post("/api/v1/instruments/nope/score", json={"responses": {}}).status_code == 404


def test_program_differs_with_the_answers(api: Client) -> None:
    low = api.post(
        "/api/v1/program",
        json={
            "findings": CALM_ADULT,
            "answers": {
                "medicines": NO_CAUTIONS,
                "questionnaires": [{"instrument": "startback", "responses": LOW}],
            },
        },
    ).json()
    assert low["disposition"] == "telemedicine" and low["program"]["risk"] == "low"
    ibuprofen = next(i for i in low["medicines"]["items"] if i["id"] == "ibuprofen")
    assert ibuprofen["status"] == "dose" and ibuprofen["dose"]
    high = api.post(
        "/api/v1/program",
        json={
            "findings": CALM_ADULT,
            "answers": {
                "medicines": {**NO_CAUTIONS, "kidney_disease": "yes"},
                "questionnaires": [{"instrument": "startback", "responses": HIGH}],
            },
        },
    ).json()
    assert high["program"]["risk"] == "high"
    ibuprofen = next(i for i in high["medicines"]["items"] if i["id"] == "ibuprofen")
    assert ibuprofen["status"] == "ask_first" and ibuprofen["dose"] == []
    child = api.post("/api/v1/program", json={"findings": {**CALM_ADULT, "age_years": 9}}).json()
    assert child["audience"] == "pediatric" and child["program"]["risk"] == "not_assessed"
    assert all(i["dose"] == [] for i in child["medicines"]["items"])
    assert any("aspirin" in w for w in child["medicines"]["warnings"])
    nothing = api.post("/api/v1/program", json={"findings": CALM_ADULT}).json()
    assert (
        next(i for i in nothing["medicines"]["items"] if i["id"] == "ibuprofen")["dose"] == []
    )  # unknown: caution


def test_no_program_for_urgent_results(api: Client) -> None:
    r = api.post("/api/v1/program", json={"findings": {**CALM_ADULT, "fever": True}}).json()
    assert r["disposition"] in ("prompt", "urgent") and r["program"] is None and r["medicines"] is None
    r = api.post("/api/v1/program", json={"findings": {**CALM_ADULT, "saddle_numbness": True}}).json()
    assert r["disposition"] == "emergency" and r["program"] is None


def test_store_and_list_scores_over_time(api: Client) -> None:
    alice = _bearer(api, "alice")
    profile = api.get("/api/v1/me", headers=alice).json()["profiles"][0]["id"]
    later = {"instrument": "nrs", "responses": {"pain": 3}, "taken_at": "2026-06-15T08:00:00Z"}
    first = {"instrument": "nrs", "responses": {"pain": 7}, "taken_at": "2026-05-04T08:00:00Z"}
    for body in (later, first):
        r = api.post(f"/api/v1/profiles/{profile}/scores", json=body, headers=alice)
        assert r.status_code == 201, r.text
    rows = api.get(f"/api/v1/profiles/{profile}/scores", params={"instrument": "nrs"}, headers=alice).json()
    mine = [r for r in rows if r["taken_at"].startswith(("2026-05-04", "2026-06-15"))]
    assert [r["scores"]["pain"] for r in mine] == [7.0, 3.0]  # oldest first
    bad = api.post(
        f"/api/v1/profiles/{profile}/scores", json={"instrument": "nrs", "responses": {}}, headers=alice
    )
    assert bad.status_code == 422 and "responses" in bad.json()["detail"]


def test_child_profiles_only_take_the_pain_score(api: Client) -> None:
    carol = _bearer(api, "carol")
    child = next(p for p in api.get("/api/v1/me", headers=carol).json()["profiles"] if p["is_child"])
    r = api.post(
        f"/api/v1/profiles/{child['id']}/scores",
        json={"instrument": "startback", "responses": LOW},
        headers=carol,
    )
    assert r.status_code == 422 and "instrument" in r.json()["detail"]
    r = api.post(
        f"/api/v1/profiles/{child['id']}/scores",
        json={"instrument": "nrs", "responses": {"pain": 2}},
        headers=carol,
    )
    assert r.status_code == 201
    r = api.post(
        f"/api/v1/profiles/{child['id']}/scores", json={"instrument": "nope", "responses": {}}, headers=carol
    )
    assert r.status_code == 422 and "instrument" in r.json()["detail"]
