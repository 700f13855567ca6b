"""Signalling benchmark of the video visit (bench/visit): round-trip time of a relayed signal
and WebSocket connections held by one worker, each as a ratio to a baseline of the same run.

- rtt: a patient socket sends a "signal" (admitted visit), the clinician's socket answers it with
  a "signal" back: patient -> app -> clinician -> app -> patient. Baseline: the "ping"/"pong"
  echo of the same socket (patient -> app -> patient). Ratio = relay p50 / echo p50.
- held: VISITS visits, each with a patient and a clinician socket (2 x VISITS sockets on one
  uvicorn worker); the echo p50 with all of them open, as a ratio to the echo p50 with one pair;
  the worker's RSS growth per socket.

Loopback only, SQLite, one uvicorn worker in a child process. Run:
  .venv/bin/python bench/visit/run.py [--visits 200] [--rounds 300]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import websockets

ROOT = Path(__file__).resolve().parents[2]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _prepare(url: str, visits: int) -> list[str]:
    from sqlalchemy import select

    from telespine.services.demo import seed_demo
    from telespine.store import repo, repo_care
    from telespine.store.db import make_engine, make_sessionmaker, session_scope, upgrade
    from telespine.store.models import User
    from telespine.web.clinical import run_triage

    upgrade(url)
    engine = make_engine(url)
    ids: list[str] = []
    with session_scope(make_sessionmaker(engine)) as db:
        seed_demo(db, triage=run_triage)
        alice = db.scalar(select(User).where(User.username == "alice"))
        dave = db.scalar(select(User).where(User.username == "dr_dave"))
        assert alice is not None and dave is not None
        assessment = repo.assessments_for_profiles(db, [repo.ensure_self_profile(db, alice).id])[0]
        case = repo_care.case_for_assessment(db, assessment.id)
        assert case is not None
        start = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0) + dt.timedelta(days=1)
        for i in range(visits):
            b = repo_care.book_visit(
                db, case=case, clinician=dave, slot_start=start + dt.timedelta(minutes=20 * i), mode="video"
            )
            ids.append(b.id)
    engine.dispose()
    return ids


def _login(base: str, name: str) -> httpx.Client:
    from telespine.store.demo import demo_password
    from telespine.web.testing import csrf_from

    client = httpx.Client(base_url=base, timeout=30, follow_redirects=True)
    token = csrf_from(client.get("/login").text)
    r = client.post("/login", data={"username": name, "password": demo_password(name), "csrf_token": token})
    r.raise_for_status()
    return client


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def _open(base: str, client: httpx.Client, visit: str) -> websockets.ClientConnection:
    from telespine.web.sessions import COOKIE_NAME

    token = client.get(f"/api/v1/visits/{visit}/join").json()["token"]
    ws_url = base.replace("http://", "ws://") + f"/ws/visits/{visit}?token={token}"
    cookie = f"{COOKIE_NAME}={client.cookies.get(COOKIE_NAME)}"
    return await websockets.connect(ws_url, additional_headers={"cookie": cookie}, max_size=2**20)


async def _until(ws: websockets.ClientConnection, kind: str) -> dict[str, object]:
    while True:
        msg = json.loads(await ws.recv())
        if msg.get("type") == kind:
            return msg


async def _pair(base: str, patient: httpx.Client, doctor: httpx.Client, visit: str) -> tuple[object, object]:
    p = await _open(base, patient, visit)
    c = await _open(base, doctor, visit)
    await _until(c, "waiting-room")
    await c.send(json.dumps({"type": "admit"}))
    await _until(p, "start")
    await _until(c, "start")
    return p, c


async def _echo(p: websockets.ClientConnection, rounds: int) -> list[float]:
    out = []
    for i in range(rounds):
        t = time.perf_counter()
        await p.send(json.dumps({"type": "ping", "t": i}))
        await _until(p, "pong")
        out.append((time.perf_counter() - t) * 1000)
    return out


async def _relay(p: websockets.ClientConnection, c: websockets.ClientConnection, rounds: int) -> list[float]:
    out = []
    for i in range(rounds):
        t = time.perf_counter()
        await p.send(json.dumps({"type": "signal", "data": {"candidate": {"candidate": f"c{i}"}}}))
        got = await _until(c, "signal")
        await c.send(json.dumps({"type": "signal", "data": got["data"]}))
        await _until(p, "signal")
        out.append((time.perf_counter() - t) * 1000)
    return out


async def bench(base: str, visits: list[str], rounds: int, pid: int) -> dict[str, object]:
    patient, doctor = _login(base, "alice"), _login(base, "dr_dave")
    p, c = await _pair(base, patient, doctor, visits[0])
    await _echo(p, 30)  # warm up
    echo1 = statistics.median(await _echo(p, rounds))
    relay1 = statistics.median(await _relay(p, c, rounds))
    rss0 = _rss_kib(pid)
    held = [(p, c)]
    for v in visits[1:]:
        held.append(await _pair(base, patient, doctor, v))
    sockets = 2 * len(held)
    rss1 = _rss_kib(pid)
    echo_n = statistics.median(await _echo(p, rounds))
    relay_n = statistics.median(await _relay(p, c, rounds))
    for a, b in held:
        await a.close()
        await b.close()
    return {
        "echo_p50_ms": round(echo1, 3),
        "relay_p50_ms": round(relay1, 3),
        "relay_over_echo": round(relay1 / echo1, 2),
        "sockets_held": sockets,
        "echo_p50_ms_held": round(echo_n, 3),
        "relay_p50_ms_held": round(relay_n, 3),
        "echo_held_over_echo": round(echo_n / echo1, 2),
        "relay_held_over_relay": round(relay_n / relay1, 2),
        "rss_kib_per_socket": round((rss1 - rss0) / max(1, sockets - 2), 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--visits", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=300)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.sqlite3"
        visits = _prepare(url, args.visits)
        port = _port()
        env = {
            **os.environ,
            "TELESPINE_ENV": "development",  # no Secure cookie over plain loopback http
            "TELESPINE_SECRET_KEY": "bench-secret-key-0123456789-abcdefghijklmnop",
            "DATABASE_URL": url,
            "TELESPINE_REQUIRE_TOTP": "false",
            "TELESPINE_DEMO_DATA": "false",
        }
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "telespine.web.asgi:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
                "--workers",
                "1",
            ],
            env=env,
            cwd=ROOT,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{base}/login", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit("server did not start")
                time.sleep(0.3)
            result = asyncio.run(bench(base, visits, args.rounds, proc.pid))
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    print(json.dumps({"visits": args.visits, "rounds": args.rounds, **result}, indent=2))


if __name__ == "__main__":
    main()
