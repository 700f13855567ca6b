"""A small load generator, run as its own process: N concurrent loopback clients for a fixed time.

Prints one JSON line: requests, errors, requests/second and latency percentiles (ms).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time

import httpx

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


def _request(kind: str, token: str) -> tuple[str, str, dict[str, object] | None, dict[str, str]]:
    if kind == "ping":
        return "GET", "/api/v1/ping", None, {}
    if kind == "triage":
        return "POST", "/api/v1/triage", FINDINGS, {}
    if kind == "save":
        return "POST", "/api/v1/assessments", {"findings": FINDINGS}, {"Authorization": f"Bearer {token}"}
    raise SystemExit(f"unknown endpoint kind {kind}")


async def _worker(
    client: httpx.AsyncClient,
    kind: str,
    token: str,
    until: float,
    max_requests: int,
    latencies: list[float],
    errors: list[int],
) -> None:
    method, path, body, headers = _request(kind, token)
    while time.perf_counter() < until and len(latencies) + len(errors) < max_requests:
        t0 = time.perf_counter()
        r = await client.request(method, path, json=body, headers=headers)
        dt = time.perf_counter() - t0
        if r.status_code >= 400:
            errors.append(r.status_code)
        else:
            latencies.append(dt)


async def run(
    url: str, kind: str, token: str, seconds: float, concurrency: int, max_requests: int
) -> dict[str, object]:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
        # Warm up: connections open, caches filled, before the clock starts.
        method, path, body, headers = _request(kind, token)
        for _ in range(20):
            await client.request(method, path, json=body, headers=headers)
        latencies: list[float] = []
        errors: list[int] = []
        start = time.perf_counter()
        until = start + seconds
        await asyncio.gather(
            *(
                _worker(client, kind, token, until, max_requests, latencies, errors)
                for _ in range(concurrency)
            )
        )
        elapsed = time.perf_counter() - start
    ms = sorted(x * 1000 for x in latencies)

    def pct(p: float) -> float:
        return ms[min(len(ms) - 1, int(p * len(ms)))] if ms else float("nan")

    return {
        "endpoint": kind,
        "requests": len(ms),
        "errors": len(errors),
        "seconds": round(elapsed, 2),
        "rps": round(len(ms) / elapsed, 1),
        "p50_ms": round(pct(0.50), 2),
        "p99_ms": round(pct(0.99), 2),
        "mean_ms": round(statistics.fmean(ms), 2) if ms else None,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--endpoint", choices=["ping", "triage", "save"], required=True)
    ap.add_argument("--token", default="")
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--max-requests", type=int, default=50_000)
    a = ap.parse_args()
    if not a.url.startswith("http://127.0.0.1:"):
        raise SystemExit("loopback only")
    print(json.dumps(asyncio.run(run(a.url, a.endpoint, a.token, a.seconds, a.concurrency, a.max_requests))))


if __name__ == "__main__":
    main()
