"""CDS Hooks over real HTTP: a uvicorn server, an EHR's JWKS served over HTTP, ES256 tokens."""

from __future__ import annotations

import functools
import http.server
import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from telespine.fhir import cds

ISSUER = "https://ehr-two.example.org"


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def ehr_key(tmp_path: Path) -> Iterator[tuple[Any, str]]:
    key = ec.generate_private_key(ec.SECP256R1())
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    jwk.update({"kid": "ehr-ec", "use": "sig", "alg": "ES256"})
    (tmp_path / "jwks.json").write_text(json.dumps({"keys": [jwk]}))
    srv = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Quiet, directory=str(tmp_path))
    )
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield key, f"http://127.0.0.1:{srv.server_address[1]}/jwks.json"
    srv.shutdown()


@pytest.fixture
def server(store: Any, ehr_key: tuple[Any, str]) -> Iterator[str]:
    import uvicorn

    from telespine.web.app import create_app
    from telespine.web.testing import make_test_settings

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    app = create_app(make_test_settings(store.url, public_url=base, cds_issuers={ISSUER: ehr_key[1]}))
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        if time.monotonic() > deadline:
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    yield base
    srv.should_exit = True
    thread.join(10)
    app.state.engine.dispose()


def _token(key: Any, aud: str) -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "sub": "ehr", "aud": aud, "iat": now, "exp": now + 120, "jti": str(uuid.uuid4())}
    return jwt.encode(claims, key, algorithm="ES256", headers={"kid": "ehr-ec"})


def test_an_ehr_calls_over_http_with_es256(server: str, ehr_key: tuple[Any, str], store: Any) -> None:
    key = ehr_key[0]
    with httpx.Client(base_url=server, timeout=20) as http_client:
        services = http_client.get("/cds-services").json()["services"]
        assert {s["id"] for s in services} == {cds.PATIENT_VIEW, cds.ORDER_SELECT, cds.ORDER_SIGN}
        url = f"/cds-services/{cds.PATIENT_VIEW}"
        body = {
            "hook": "patient-view",
            "hookInstance": str(uuid.uuid4()),
            "context": {"userId": "Practitioner/7", "patientId": store.child_profile},
        }
        r = http_client.post(url, json=body, headers={"Authorization": f"Bearer {_token(key, server + url)}"})
        assert r.status_code == 200, r.text
        assert r.json()["cards"][0]["indicator"] == "critical"
        # a token for another endpoint, and one signed by a key the JWKS does not hold
        wrong_aud = _token(key, f"{server}/cds-services/{cds.ORDER_SIGN}")
        assert (
            http_client.post(url, json=body, headers={"Authorization": f"Bearer {wrong_aud}"}).status_code
            == 401
        )
        stranger = ec.generate_private_key(ec.SECP256R1())
        forged = _token(stranger, server + url)
        r = http_client.post(url, json=body, headers={"Authorization": f"Bearer {forged}"})
        assert r.status_code == 401 and r.content == b""
