"""`/healthz` and `/readyz`: the served app warms the screening pipeline at start (issue 16)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from telespine.web import health
from telespine.web.app import create_app
from telespine.web.testing import make_test_settings


@pytest.fixture
def fresh_url(tmp_path: Path, migrated_templates: Any) -> str:
    """A migrated SQLite database (a copy of the worker's template, tests/conftest.py)."""
    return str(migrated_templates.sqlite_copy(tmp_path / "h.sqlite3"))


@pytest.fixture(autouse=True)
def _pdfs_in_process_afterwards() -> Iterator[None]:
    """An app made with warm_up=True turns the PDF helper process on for the whole worker: later
    tests on this worker make their PDFs in process again."""
    yield
    from telespine.program import pdf_pool

    pdf_pool.use_helper_process(False)


def _app(url: str, warm_up: bool) -> TestClient:
    return TestClient(create_app(make_test_settings(url), warm_up=warm_up), base_url="https://testserver")


def test_an_app_without_warm_up_is_alive_and_ready(fresh_url: str) -> None:
    with _app(fresh_url, warm_up=False) as client:
        assert client.get("/healthz").json() == {"status": "alive"}
        r = client.get("/readyz")
        assert r.status_code == 200
        assert r.json()["status"] == "ready"


def test_readyz_is_503_until_the_warm_up_ends(fresh_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    gate, entered = threading.Event(), threading.Event()

    def slow_warm() -> None:
        entered.set()
        assert gate.wait(10)

    monkeypatch.setattr(health, "warm_everything", slow_warm)
    try:
        with _app(fresh_url, warm_up=True) as client:
            assert entered.wait(10)
            r = client.get("/readyz")
            assert r.status_code == 503
            assert r.headers["retry-after"] == "1"
            assert r.json() == {"status": "starting"}
            assert client.get("/healthz").status_code == 200  # alive while warming
            gate.set()
            assert client.app.state.readiness.wait(10)  # type: ignore[attr-defined]
            r = client.get("/readyz")
            assert r.status_code == 200
            assert r.json()["status"] == "ready"
            assert r.json()["warm_up_seconds"] >= 0
    finally:
        gate.set()


def test_a_failed_warm_up_keeps_readyz_at_503(fresh_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> None:
        raise RuntimeError("pipeline broke")

    monkeypatch.setattr(health, "warm_everything", broken)
    with _app(fresh_url, warm_up=True) as client:
        assert client.app.state.readiness.wait(10)  # type: ignore[attr-defined]
        r = client.get("/readyz")
        assert r.status_code == 503
        assert r.json()["status"] == "failed"
        assert client.get("/healthz").status_code == 200


def test_the_real_warm_up_loads_the_screening_pipeline(fresh_url: str) -> None:
    from telespine.care.screening import matching

    with _app(fresh_url, warm_up=True) as client:
        assert client.app.state.readiness.wait(120)  # type: ignore[attr-defined]
        assert client.get("/readyz").status_code == 200
        assert matching._pipeline is not None  # a first message no longer builds it


def test_the_served_app_warms_up() -> None:
    source = Path(health.__file__).with_name("asgi.py").read_text()
    assert "warm_up=True" in source
