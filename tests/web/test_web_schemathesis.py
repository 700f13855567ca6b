"""Schemathesis over the OpenAPI document: nothing a client sends produces a server error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from telespine.store.demo import demo_password
from telespine.web.app import create_app
from telespine.web.testing import make_test_settings

TOKEN: dict[str, str] = {}
SHARDS = 4  # tests the operations are dealt out to


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory, migrated_templates: Any) -> Any:
    path: Path = tmp_path_factory.mktemp("fuzz") / "fuzz.sqlite3"
    url = migrated_templates.seeded_sqlite_copy(path)  # migrated, with the demo data (seed_demo)
    # Generous login limits: the fuzzer's random logins must not lock out the test account.
    app = create_app(make_test_settings(url, login_max_failures_per_ip=100_000))
    from fastapi.testclient import TestClient

    login = TestClient(app).post(
        "/api/v1/auth/login", json={"username": "alice", "password": demo_password("alice")}
    )
    TOKEN["value"] = login.json()["token"]
    # Logging out would end the session the other cases use; it is tested in test_web_auth.py.
    return schemathesis.openapi.from_asgi("/api/v1/openapi.json", app).exclude(path="/api/v1/auth/logout")


@pytest.mark.parametrize("shard", range(SHARDS))
def test_no_server_error(api_schema: Any, shard: int) -> None:
    """Every operation, fuzzed from its schema, anonymous and signed in; no 5xx, errors are JSON.
    The operations are dealt out to SHARDS tests (every SHARDS-th from `shard`), so that xdist
    spreads them over its workers; together they fuzz every operation."""
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 10
    for operation in operations[shard::SHARDS]:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=20,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def check(case: Any) -> None:
            for headers in ({}, {"Authorization": f"Bearer {TOKEN['value']}"}):
                response = case.call(headers=headers)
                assert response.status_code < 500, (case.method, case.path, response.text[:300])
                if response.status_code >= 400:
                    assert "detail" in response.json()

        check()
