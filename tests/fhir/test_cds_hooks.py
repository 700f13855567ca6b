"""CDS Hooks 2.0 called as an EHR would: signed JWTs, discovery, cards, feedback, refusals, CORS."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import select

from telespine.fhir import cds

BASE = "https://testserver"
ISSUER = "https://ehr.example.org"
EHR_ORIGIN = "https://ehr.example.org"


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update({"kid": "ehr-1", "use": "sig", "alg": "RS384"})
    path = tmp_path_factory.mktemp("jwks") / "jwks.json"
    path.write_text(json.dumps({"keys": [jwk]}))
    return {"private": key, "jwks_url": path.as_uri()}


def token(keys: dict[str, Any], service: str, **claims: Any) -> str:
    now = int(time.time())
    body = {
        "iss": ISSUER,
        "sub": "ehr-client",
        "aud": f"{BASE}/cds-services/{service}",
        "iat": now,
        "exp": now + 240,
        "jti": str(uuid.uuid4()),
    } | claims
    headers = {"kid": "ehr-1", "typ": "JWT", "jku": "https://attacker.example/jwks.json"}
    return jwt.encode(body, keys["private"], algorithm="RS384", headers=headers)


@pytest.fixture
def ehr(store: Any, keys: dict[str, Any], make_client: Any) -> Any:
    return make_client(
        store.url, public_url=BASE, cds_issuers={ISSUER: keys["jwks_url"]}, cds_cors_origins=EHR_ORIGIN
    )


def call(ehr: Any, keys: dict[str, Any], service: str, body: dict[str, Any], **claims: Any) -> Any:
    return ehr.post(
        f"/cds-services/{service}",
        json=body,
        headers={"authorization": f"Bearer {token(keys, service, **claims)}"},
    )


def hook(name: str, patient: str, **context: Any) -> dict[str, Any]:
    return {
        "hook": name,
        "hookInstance": str(uuid.uuid4()),
        "fhirServer": "https://ehr.example.org/fhir",
        "context": {"userId": "Practitioner/1", "patientId": patient, **context},
        "prefetch": {"patient": {"resourceType": "Patient", "id": patient}},
    }


def imaging_order(code: str = "72148", system: str = "http://www.ama-assn.org/go/cpt") -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "resource": {
                    "resourceType": "ServiceRequest",
                    "id": "img1",
                    "status": "draft",
                    "intent": "order",
                    "code": {"coding": [{"system": system, "code": code}]},
                    "subject": {"reference": "Patient/x"},
                }
            }
        ],
    }


def test_discovery_lists_three_services_with_prefetch(ehr: Any) -> None:
    r = ehr.get("/cds-services")
    assert r.status_code == 200
    services = {s["id"]: s for s in r.json()["services"]}
    assert {s["hook"] for s in services.values()} == {"patient-view", "order-select", "order-sign"}
    assert all(s["prefetch"]["patient"] == "Patient/{{context.patientId}}" for s in services.values())


def test_patient_view_shows_the_latest_disposition(ehr: Any, keys: dict[str, Any], store: Any) -> None:
    r = call(ehr, keys, cds.PATIENT_VIEW, hook("patient-view", store.child_profile))
    assert r.status_code == 200, r.text
    card = r.json()["cards"][0]
    assert card["indicator"] == "critical"  # fever in a child: urgent
    assert "child.fever" not in card["summary"] and "fever" in card["detail"].lower()
    assert card["links"][0]["url"].startswith(f"{BASE}/care/cases/")
    assert "nice-ng59" in card["source"]["label"]
    assert "Told the patient:" in card["detail"]  # the reason, as the parent was told
    r = call(ehr, keys, cds.PATIENT_VIEW, hook("patient-view", store.adult_profile))
    assert r.json()["cards"][0]["indicator"] == "info"  # telemedicine
    r = call(ehr, keys, cds.PATIENT_VIEW, hook("patient-view", "unknown-patient"))
    assert r.json() == {"cards": []}


def test_early_lumbar_imaging_warns_only_without_red_flags(
    ehr: Any, keys: dict[str, Any], store: Any
) -> None:
    for service, name, extra in (
        (cds.ORDER_SELECT, "order-select", {"selections": ["ServiceRequest/img1"]}),
        (cds.ORDER_SIGN, "order-sign", {}),
    ):
        body = hook(name, store.adult_profile, draftOrders=imaging_order(), **extra)
        cards = call(ehr, keys, service, body).json()["cards"]
        assert len(cards) == 1 and cards[0]["indicator"] == "warning"
        assert "95 in 100" in cards[0]["detail"] and "6 weeks" in cards[0]["detail"]
        assert cards[0]["overrideReasons"]
    # a loinc MR lumbar spine order is recognised too; a chest X-ray is not
    body = hook("order-sign", store.adult_profile, draftOrders=imaging_order("24531-6", "http://loinc.org"))
    assert len(call(ehr, keys, cds.ORDER_SIGN, body).json()["cards"]) == 1
    body = hook("order-sign", store.adult_profile, draftOrders=imaging_order("71046"))
    assert call(ehr, keys, cds.ORDER_SIGN, body).json()["cards"] == []
    # the child has a red flag (fever): silent
    body = hook("order-sign", store.child_profile, draftOrders=imaging_order())
    assert call(ehr, keys, cds.ORDER_SIGN, body).json()["cards"] == []


def test_a_failing_service_answers_with_the_safety_net(
    ehr: Any, keys: dict[str, Any], store: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from telespine.web import cds as web_cds

    def broken(*_: Any) -> None:
        raise RuntimeError("database gone")

    monkeypatch.setattr(web_cds, "latest_for", broken)
    for service, name in ((cds.PATIENT_VIEW, "patient-view"), (cds.ORDER_SIGN, "order-sign")):
        cards = call(ehr, keys, service, hook(name, store.adult_profile, draftOrders=imaging_order())).json()[
            "cards"
        ]
        assert len(cards) == 1 and cards[0]["indicator"] == "critical"
        assert "warning sign" in cards[0]["summary"]


def test_feedback_is_stored_with_the_cards_rules(ehr: Any, keys: dict[str, Any], store: Any) -> None:
    from telespine.store.db import make_engine, make_sessionmaker
    from telespine.store.models_fhir import CdsFeedback

    card = call(ehr, keys, cds.PATIENT_VIEW, hook("patient-view", store.child_profile)).json()["cards"][0]
    body = {
        "feedback": [
            {
                "card": card["uuid"],
                "outcome": "overridden",
                "outcomeTimestamp": "2026-12-01T23:00:00Z",
                "overrideReason": {
                    "reason": {
                        "system": cds.OVERRIDE_SYSTEM,
                        "code": "other-clinical-reason",
                        "display": "Other clinical reason",
                    },
                    "userComment": "Seen today",
                },
            }
        ]
    }
    r = ehr.post(
        f"/cds-services/{cds.PATIENT_VIEW}/feedback",
        json=body,
        headers={"authorization": f"Bearer {token(keys, cds.PATIENT_VIEW + '/feedback')}"},
    )
    assert r.status_code == 200, r.text
    engine = make_engine(store.url)
    try:
        with make_sessionmaker(engine)() as db:
            row = db.scalar(select(CdsFeedback).where(CdsFeedback.card_uuid == card["uuid"]))
            assert row is not None and row.outcome == "overridden"
            assert row.override_reason_code == "other-clinical-reason" and row.user_comment == "Seen today"
            assert row.rule_ids is not None and "child.fever" in row.rule_ids and row.ruleset_sha256
    finally:
        engine.dispose()


def test_refused_tokens_get_a_bare_401(ehr: Any, keys: dict[str, Any], store: Any, tmp_path: Path) -> None:
    body = hook("patient-view", store.adult_profile)
    url = f"/cds-services/{cds.PATIENT_VIEW}"
    now = int(time.time())
    bad = [
        None,
        "not-a-jwt",
        jwt.encode(
            {"iss": ISSUER, "aud": f"{BASE}{url}", "exp": now + 60, "iat": now, "jti": "h"},
            "k" * 32,
            algorithm="HS256",
            headers={"kid": "ehr-1"},
        ),
        token(keys, cds.PATIENT_VIEW, aud=f"{BASE}/cds-services/other"),
        token(keys, cds.PATIENT_VIEW, exp=now - 120),
        token(keys, cds.PATIENT_VIEW, exp=now + 3600),
        token(keys, cds.PATIENT_VIEW, iss="https://other-ehr.example.org"),
    ]
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    bad.append(
        jwt.encode(
            {"iss": ISSUER, "aud": f"{BASE}{url}", "exp": now + 60, "iat": now, "jti": "x"},
            other,
            algorithm="RS384",
            headers={"kid": "ehr-1"},
        )
    )
    no_jti = jwt.encode(
        {"iss": ISSUER, "aud": f"{BASE}{url}", "exp": now + 60, "iat": now},
        keys["private"],
        algorithm="RS384",
        headers={"kid": "ehr-1"},
    )
    bad.append(no_jti)
    for t in bad:
        headers = {"authorization": f"Bearer {t}"} if t else {}
        r = ehr.post(url, json=body, headers=headers)
        assert r.status_code == 401, t
        assert r.content == b""
    once = token(keys, cds.PATIENT_VIEW)
    assert ehr.post(url, json=body, headers={"authorization": f"Bearer {once}"}).status_code == 200
    replay = ehr.post(url, json=body, headers={"authorization": f"Bearer {once}"})
    assert replay.status_code == 401 and replay.content == b""


def test_cors_only_for_the_ehr_origin(ehr: Any) -> None:
    pre = {
        "origin": EHR_ORIGIN,
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization, content-type",
    }
    r = ehr.options(f"/cds-services/{cds.PATIENT_VIEW}", headers=pre)
    assert r.status_code == 204 and r.headers["access-control-allow-origin"] == EHR_ORIGIN
    assert (
        ehr.get("/cds-services", headers={"origin": EHR_ORIGIN}).headers["access-control-allow-origin"]
        == EHR_ORIGIN
    )
    r = ehr.options(f"/cds-services/{cds.PATIENT_VIEW}", headers=pre | {"origin": "https://evil.example"})
    assert r.status_code == 403 and "access-control-allow-origin" not in r.headers
    assert (
        "access-control-allow-origin" not in ehr.get("/api/v1/ping", headers={"origin": EHR_ORIGIN}).headers
    )


def test_a_raised_level_shows_and_silences_the_imaging_warning(
    ehr: Any, keys: dict[str, Any], store: Any
) -> None:
    """A clinician's raise of the level holds in the cards (never below an active floor)."""
    from telespine.store import cases
    from telespine.store.db import make_engine, make_sessionmaker
    from telespine.store.models import User
    from telespine.store.models_care import CareCase
    from telespine.triage.types import Disposition

    engine = make_engine(store.url)
    try:
        with make_sessionmaker(engine)() as db:
            case = db.scalar(select(CareCase).where(CareCase.assessment_id == store.adult))
            dave = db.scalar(select(User).where(User.username == "dr_dave"))
            assert case is not None and dave is not None
            cases.override_disposition(db, case, dave, Disposition.PROMPT, "New ankle weakness on video")
            db.commit()
    finally:
        engine.dispose()
    card = call(ehr, keys, cds.PATIENT_VIEW, hook("patient-view", store.adult_profile)).json()["cards"][0]
    assert card["indicator"] == "warning"
    assert "New ankle weakness on video" in card["detail"]
    body = hook("order-sign", store.adult_profile, draftOrders=imaging_order())
    assert call(ehr, keys, cds.ORDER_SIGN, body).json()["cards"] == []
