"""Prometheus metrics (prometheus_client): request latency by route template, queue depth,
jobs waiting, screening time. `GET /metrics`.

Several uvicorn workers share their numbers through PROMETHEUS_MULTIPROC_DIR (set by `serve`
when it starts more than one worker); the database figures are read at scrape time.
"""

from __future__ import annotations

import hmac
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

REQUEST_SECONDS = Histogram(
    "telespine_http_request_duration_seconds",
    "Time to answer a request, by method, route template and status class.",
    ["method", "route", "status"],
)
SCREENING_SECONDS = Histogram(
    "telespine_screening_duration_seconds",
    "Time to screen one message or diary note for red flags.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)

router = APIRouter(include_in_schema=False)


def _observe_screening(seconds: float) -> None:
    SCREENING_SECONDS.observe(seconds)


def _listen() -> None:
    from telespine.services import observe

    if _observe_screening not in observe.screening_listeners:
        observe.screening_listeners.append(_observe_screening)


_listen()


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    if route == "/metrics":
        return
    REQUEST_SECONDS.labels(method, route, f"{status // 100}xx").observe(seconds)


@contextmanager
def screening_timer() -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        SCREENING_SECONDS.observe(time.perf_counter() - started)


class DatabaseCollector(Collector):
    """Queue depth and jobs waiting, counted when Prometheus scrapes."""

    def __init__(self, request: Request) -> None:
        self.factory = request.app.state.sessionmaker

    def collect(self) -> Iterator[Any]:
        from sqlalchemy import func, select

        from telespine.store.models_accounts import PasswordReset
        from telespine.store.models_care import CareCase, ReminderJob

        with self.factory() as db:
            open_cases = db.execute(select(CareCase.status, func.count()).group_by(CareCase.status)).all()
            jobs = db.execute(select(ReminderJob.status, func.count()).group_by(ReminderJob.status)).all()
            resets = db.scalar(
                select(func.count()).select_from(PasswordReset).where(PasswordReset.status == "pending")
            )
        depth = GaugeMetricFamily(
            "telespine_queue_depth", "Clinician queue: cases by status.", labels=["status"]
        )
        for status, count in open_cases:
            depth.add_metric([str(status)], float(count))
        yield depth
        waiting = GaugeMetricFamily(
            "telespine_jobs_waiting", "Jobs of the worker by kind and status.", labels=["kind", "status"]
        )
        for status, count in jobs:
            waiting.add_metric(["reminder", str(status)], float(count))
        waiting.add_metric(["password_reset", "pending"], float(resets or 0))
        yield waiting


def _allowed(request: Request) -> bool:
    token = request.app.state.settings.metrics_token
    if token is not None:
        sent = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        return hmac.compare_digest(sent.encode("utf-8", "replace"), token.get_secret_value().encode())
    host = request.client.host if request.client else ""
    return host in ("127.0.0.1", "::1")


@router.get("/metrics")
def metrics(request: Request) -> Response:
    """Prometheus text format; only with the metrics token, or from loopback when none is set."""
    if not _allowed(request):
        return Response(status_code=404, content=b'{"detail":"Not found."}', media_type="application/json")
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry.register(_ProcessMetrics())
    registry.register(DatabaseCollector(request))
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


class _ProcessMetrics(Collector):
    """This process's telespine metrics (one worker)."""

    def collect(self) -> Iterator[Any]:
        yield from REQUEST_SECONDS.collect()
        yield from SCREENING_SECONDS.collect()
