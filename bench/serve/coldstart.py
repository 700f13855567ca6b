"""Benchmark `telespine serve` cold start against a bare FastAPI app (not part of pytest).

Usage: .venv/bin/python bench/serve/coldstart.py [--repeat 3]

Each run starts a fresh process on a free port (SQLite in a new temporary folder, already
migrated, no demo data) and polls every 10 ms:
- baseline: a bare FastAPI app with one route under uvicorn, until it answers 200;
- telespine: `telespine serve`, until `/healthz` answers (alive) and until `/readyz` answers
  200 (screening pipeline, rules and questionnaire loaded: a first patient message no longer
  pays for them). Before `/readyz` existed, ready meant the first screened message.
Prints the median of --repeat runs of each and the ratios to the bare app.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

BARE = """
import sys, uvicorn
from fastapi import FastAPI
app = FastAPI()
@app.get("/ping")
def ping() -> dict[str, bool]:
    return {"ok": True}
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""
SECRET = "bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(url: str, start: float, proc: subprocess.Popen[bytes], timeout: float = 120) -> float:
    while time.perf_counter() - start < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return time.perf_counter() - start
        except httpx.HTTPError:
            pass
        time.sleep(0.01)
    raise TimeoutError(url)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


def bare_run() -> float:
    port = free_port()
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", BARE, str(port)], stderr=subprocess.DEVNULL)
    try:
        return _wait(f"http://127.0.0.1:{port}/ping", start, proc)
    finally:
        _stop(proc)


def telespine_run() -> tuple[float, float]:
    from telespine.store.db import upgrade

    with tempfile.TemporaryDirectory() as tmp:
        upgrade(f"sqlite:///{Path(tmp) / 'telespine.sqlite3'}")
        env = {
            **os.environ,
            "TELESPINE_DATA_DIR": tmp,
            "TELESPINE_ENV": "production",
            "TELESPINE_SECRET_KEY": SECRET,
            "TELESPINE_DEMO_DATA": "false",
        }
        port = free_port()
        exe = str(Path(sys.executable).parent / "telespine")
        start = time.perf_counter()
        proc = subprocess.Popen(
            [exe, "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            alive = _wait(f"http://127.0.0.1:{port}/healthz", start, proc)
            ready = _wait(f"http://127.0.0.1:{port}/readyz", start, proc)
            return alive, ready
        finally:
            _stop(proc)


def main() -> None:
    """Start each server --repeat times and print medians and ratios with the machine's load."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    bare, alive, ready = [], [], []
    for _ in range(args.repeat):
        bare.append(bare_run())
        a, r = telespine_run()
        alive.append(a)
        ready.append(r)
    b = statistics.median(bare)
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; runs: {args.repeat} each")
    print(f"bare FastAPI app, first 200: median {b:.2f} s (runs {', '.join(f'{x:.2f}' for x in bare)})")
    print(
        f"telespine serve, /healthz alive: median {statistics.median(alive):.2f} s; "
        f"ratio {statistics.median(alive) / b:.1f}x"
    )
    print(
        f"telespine serve, /readyz ready (pipeline warmed): median {statistics.median(ready):.2f} s; "
        f"ratio {statistics.median(ready) / b:.1f}x"
    )


if __name__ == "__main__":
    main()
