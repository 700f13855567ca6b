"""The JSON API: stateless triage, errors as JSON, size limits, OpenAPI, saving assessments."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from telespine.store.demo import demo_password
from telespine.triage import guarded

Client = Any


@pytest.fixture
def api(make_client: Callable[..., Client], seeded_url: str) -> Client:
    return make_client(seeded_url)


def _token(client: Client, username: str) -> dict[str, str]:
    r = client.post("/api/v1/auth/login", json={"username": username, "password": demo_password(username)})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def test_ping(api: Client) -> None:
    assert api.get("/api/v1/ping").json() == {"status": "ok"}


def test_triage_is_stateless_and_returns_the_engine_result(api: Client) -> None:
    r = api.post("/api/v1/triage", json={"age_years": 45, "saddle_numbness": True})
    assert r.status_code == 200
    body = r.json()
    assert body["disposition"] == "emergency"
    assert "adult.cauda_equina" in [rule["id"] for rule in body["rules"]]
    assert body["ruleset"]["sha256"]
    calm = api.post("/api/v1/triage", json={"age_years": 45}).json()
    assert calm["disposition"] == "telemedicine" and not calm["safety_net"]


def test_invalid_findings_get_422_naming_the_field(api: Client) -> None:
    r = api.post("/api/v1/triage", json={"age_years": 45, "fever": "maybe"})
    assert r.status_code == 422
    assert "fever" in r.json()["detail"]
    r = api.post("/api/v1/triage", json={"age_years": 45, "made_up": True})
    assert r.status_code == 422 and "made_up" in r.json()["detail"]
    r = api.post("/api/v1/triage", json={"fever": True})
    assert r.status_code == 422 and "age_years" in r.json()["detail"]


def test_bad_bodies_are_client_errors_not_crashes(api: Client) -> None:
    assert (
        api.post(
            "/api/v1/triage", content=b"{not json", headers={"content-type": "application/json"}
        ).status_code
        == 400
    )
    assert (
        api.post("/api/v1/triage", content=b"age=4", headers={"content-type": "text/plain"}).status_code
        == 415
    )
    assert api.post("/api/v1/triage", json=[1, 2]).status_code == 422
    big = json.dumps({"age_years": 30, "x": "a" * 70_000})
    r = api.post("/api/v1/triage", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413 and "KiB" in r.json()["detail"]


def test_streamed_body_over_the_limit_gets_413(api: Client) -> None:
    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(20):
            yield b" " * 8192

    r = api.post("/api/v1/triage", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413


def test_engine_crash_gives_the_emergency_safety_net(api: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(doc: object) -> Any:
        raise RuntimeError("rules exploded")

    monkeypatch.setattr(guarded, "_engine_triage", broken)
    r = api.post("/api/v1/triage", json={"age_years": 30})
    assert r.status_code == 200
    body = r.json()
    assert body["disposition"] == "emergency" and body["safety_net"] is True
    assert body["rules"][0]["id"] == "safety.engine_failure"


def test_openapi_describes_every_route_with_a_response_model(api: Client) -> None:
    doc = api.get("/api/v1/openapi.json").json()
    assert doc["paths"]["/api/v1/triage"]["post"]["requestBody"]["content"]["application/json"]["schema"][
        "properties"
    ]["age_years"]
    for path, ops in doc["paths"].items():
        assert path.startswith("/api/v1/")
        for method, op in ops.items():
            ok = [code for code in op["responses"] if code.startswith("2")]
            assert ok, (method, path)
            if ok[0] != "204":
                content = op["responses"][ok[0]]["content"]
                if "application/fhir+json" in content:  # FHIR resources: FHIR R4 schemas (docs/fhir.md)
                    assert path.endswith("/fhir"), (method, path)
                    continue
                assert content["application/json"]["schema"], (method, path)


def test_save_read_list_and_version_an_assessment(api: Client) -> None:
    alice = _token(api, "alice")
    r = api.post("/api/v1/assessments", json={"findings": {"age_years": 34, "fever": True}}, headers=alice)
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["latest"]["version"] == 1 and created["latest"]["disposition"] == "prompt"
    got = api.get(f"/api/v1/assessments/{created['id']}", headers=alice).json()
    assert got["latest"]["findings"] == {"age_years": 34, "fever": True}
    listed = api.get("/api/v1/assessments", headers=alice).json()
    assert created["id"] in [a["id"] for a in listed]
    v2 = api.post(
        f"/api/v1/assessments/{created['id']}/versions", json={"findings": {"age_years": 34}}, headers=alice
    )
    assert v2.status_code == 201 and v2.json()["version"] == 2
    again = api.get(f"/api/v1/assessments/{created['id']}", headers=alice).json()
    assert [v["disposition"] for v in again["versions"]] == ["prompt", "telemedicine"]
    assert (
        api.post("/api/v1/assessments", json={"findings": {"age_years": -3}}, headers=alice).status_code
        == 422
    )


def test_api_needs_a_sign_in_and_cookie_writes_need_the_csrf_header(api: Client) -> None:
    assert api.get("/api/v1/assessments").status_code == 401
    r = api.post("/api/v1/auth/login", json={"username": "alice", "password": demo_password("alice")})
    csrf = r.json()["csrf_token"]
    # The login set the session cookie: reads work, a write without the CSRF header does not.
    assert api.get("/api/v1/me").json()["username"] == "alice"
    body = {"findings": {"age_years": 30}}
    assert api.post("/api/v1/assessments", json=body).status_code == 403
    assert api.post("/api/v1/assessments", json=body, headers={"x-csrf-token": csrf}).status_code == 201


def test_guides_list_read_and_search(api: Client) -> None:
    listed = api.get("/api/v1/guides").json()
    assert {"condition": "back-pain", "audience": "adult"}.items() <= listed[0].items()
    guide = api.get("/api/v1/guides/back-pain/adult").json()
    assert guide["document"]["sections"]
    assert api.get("/api/v1/guides/back-pain/../../etc").status_code == 404
    assert api.get("/api/v1/guides/nope/adult").status_code == 404
    hits = api.get("/api/v1/guides/search", params={"q": "emergency"}).json()
    assert hits and hits[0]["condition"] == "back-pain"
    assert api.get("/api/v1/guides/search", params={"q": ""}).status_code == 422


def test_no_health_data_in_application_logs(
    api: Client, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    caplog.set_level(logging.DEBUG)
    api.post("/api/v1/triage", json={"age_years": 45, "saddle_numbness": True, "pain_score": 9.25})
    api.post("/api/v1/triage", json={"age_years": 45, "fever": "marker-value-xyz"})

    def broken(doc: object) -> Any:
        raise ValueError(f"cannot read {doc!r}")

    monkeypatch.setattr(guarded, "_engine_triage", broken)
    api.post("/api/v1/triage", json={"age_years": 45, "pain_score": 9.25})
    assert "triage raised ValueError" in caplog.text
    for secret in ("saddle", "9.25", "marker-value-xyz"):
        assert secret not in caplog.text


def test_security_headers(make_client: Callable[..., Client], seeded_url: str) -> None:
    page = make_client(seeded_url).get("/")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY" and page.headers["x-content-type-options"] == "nosniff"
    assert "strict-transport-security" not in page.headers
    prod = make_client(seeded_url, env="production").get("/")
    assert prod.headers["strict-transport-security"].startswith("max-age=")
