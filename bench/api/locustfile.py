"""Locust load for bench/api/run.py: one endpoint per run, chosen by BENCH_ENDPOINT.

BENCH_ENDPOINT is ping (the bare constant-JSON endpoint), triage (POST /api/v1/triage) or save
(POST /api/v1/assessments with BENCH_TOKEN as a bearer token). Loopback only.
"""

from __future__ import annotations

import os

from locust import FastHttpUser, constant, task

FINDINGS = {
    "age_years": 41,
    "location": "low_back",
    "onset": "gradual",
    "duration_days": 12,
    "pain_score": 5,
    "saddle_numbness": False,
    "bladder": "normal",
    "fever": False,
    "leg_weakness": "none",
}
ENDPOINT = os.environ.get("BENCH_ENDPOINT", "ping")
TOKEN = os.environ.get("BENCH_TOKEN", "")


class ApiUser(FastHttpUser):
    wait_time = constant(0)

    def on_start(self) -> None:
        if not str(self.host).startswith("http://127.0.0.1:"):
            raise SystemExit("loopback only")

    @task
    def hit(self) -> None:
        if ENDPOINT == "ping":
            self.client.get("/api/v1/ping", name="ping")
        elif ENDPOINT == "triage":
            self.client.post("/api/v1/triage", json=FINDINGS, name="triage")
        elif ENDPOINT == "save":
            self.client.post(
                "/api/v1/assessments",
                json={"findings": FINDINGS},
                headers={"Authorization": f"Bearer {TOKEN}"},
                name="save",
            )
        else:
            raise SystemExit(f"unknown BENCH_ENDPOINT {ENDPOINT}")
