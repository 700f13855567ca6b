"""Prometheus metrics at /metrics (issue 13): request latency by route template (never the raw
path with its ids), queue depth, jobs waiting, screening time; only from loopback or with the token."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from telespine.web.testing import bearer


def test_metrics_by_route_template(make_client: Callable[..., Any], seeded_url: str) -> None:
    alice = bearer(make_client, seeded_url, "alice")
    mine = alice.get("/api/v1/assessments").json()
    assert mine
    assessment_id = mine[0]["id"]
    alice.get(f"/api/v1/assessments/{assessment_id}")
    alice.get("/guides/search", params={"q": "numb legs"})
    local = TestClient(alice.app, client=("127.0.0.1", 5000))
    text = local.get("/metrics").text
    assert 'route="/api/v1/assessments/{assessment_id}"' in text
    assert assessment_id not in text and "numb" not in text
    assert "telespine_http_request_duration_seconds_bucket" in text
    assert "telespine_queue_depth" in text and "telespine_jobs_waiting" in text
    assert "telespine_screening_duration_seconds" in text


def test_screening_time_is_measured(make_client: Callable[..., Any], seeded_url: str) -> None:
    from telespine.services import followup
    from telespine.web import metrics

    before = metrics.SCREENING_SECONDS._sum.get()
    followup.screen("My back is sore today.", "adult")
    assert metrics.SCREENING_SECONDS._sum.get() > before


def test_metrics_only_from_loopback_or_with_the_token(
    make_client: Callable[..., Any], seeded_url: str
) -> None:
    app = make_client(seeded_url).app
    outside = TestClient(app, client=("203.0.113.5", 5000))
    assert outside.get("/metrics").status_code == 404
    with_token = make_client(seeded_url, metrics_token="a-long-random-metrics-token-0123456789").app
    scraper = TestClient(with_token, client=("203.0.113.5", 5000))
    assert scraper.get("/metrics").status_code == 404
    ok = scraper.get("/metrics", headers={"Authorization": "Bearer a-long-random-metrics-token-0123456789"})
    assert ok.status_code == 200 and ok.headers["content-type"].startswith("text/plain")
