"""Peak memory and password checks of `telespine serve --workers 2` under a burst of parallel
wrong passwords (issue 13). Production argon2id parameters (the server's own).

    .venv/bin/python bench/accounts/login_burst.py [--src DIR] [--burst 60] [--limits high|default]

--src runs another checkout's source (e.g. `git archive HEAD src | tar -x -C /tmp/before`)
to compare before and after. --limits high raises the per-account and per-address limits so
that every attempt reaches the hash (this measures the per-worker bound alone); default keeps
the limits (5 per account and address), which measures the atomic count. Results are printed
as JSON and appended to bench/results/login_burst.jsonl.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psutil
from sqlalchemy import func, select

from telespine.store import repo
from telespine.store.db import make_engine, make_sessionmaker
from telespine.store.models import LoginAttempt
from telespine.web.testing_server import serve

RESULTS = Path(__file__).resolve().parents[1] / "results" / "login_burst.jsonl"


def tree_rss(pid: int) -> int:
    try:
        proc = psutil.Process(pid)
        procs = [proc, *proc.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for p in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            total += p.memory_info().rss
    return total


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", default=None, help="source folder to run (its src/ on PYTHONPATH)")
    ap.add_argument("--burst", type=int, default=60)
    ap.add_argument("--limits", choices=["high", "default"], default="high")
    ap.add_argument("--users", type=int, default=6, help="accounts the attempts are spread over")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/burst.sqlite3"
        engine = make_engine(url)
        env = {}
        if a.limits == "high":
            env = {
                "TELESPINE_LOGIN_MAX_FAILURES_PER_ACCOUNT": "100000",
                "TELESPINE_LOGIN_MAX_FAILURES_PER_IP": "100000",
            }
        python_path = str(Path(a.src).resolve() / "src") if a.src else None
        with serve(url, Path(tmp) / "server.log", workers=2, env=env, python_path=python_path) as served:
            pid = served.process.pid
            # The server migrated the database with its own source; the users table is the same.
            with make_sessionmaker(engine)() as db:
                for i in range(a.users):
                    repo.create_user(db, username=f"user{i}", password=f"a long password {i}", role="patient")
                db.commit()
            time.sleep(2)
            idle = tree_rss(pid)
            peak = idle
            stop = threading.Event()

            def sample() -> None:
                nonlocal peak
                while not stop.is_set():
                    peak = max(peak, tree_rss(pid))
                    time.sleep(0.05)

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            started = time.monotonic()
            with httpx.Client(base_url=served.url, timeout=300) as client:

                def post(i: int) -> int:
                    body = {"username": f"user{i % a.users}", "password": f"wrong password {i}"}
                    return client.post("/api/v1/auth/login", json=body).status_code

                with ThreadPoolExecutor(max_workers=a.burst) as pool:
                    codes = list(pool.map(post, range(a.burst)))
            elapsed = time.monotonic() - started
            stop.set()
            sampler.join()
        with make_sessionmaker(engine)() as db:
            checks = int(db.scalar(select(func.count()).select_from(LoginAttempt)) or 0)
        engine.dispose()
    result = {
        "src": a.src or "work tree",
        "burst": a.burst,
        "limits": a.limits,
        "idle_rss_mb": round(idle / 2**20, 1),
        "peak_rss_mb": round(peak / 2**20, 1),
        "password_checks": checks,
        "codes": {str(c): codes.count(c) for c in sorted(set(codes))},
        "seconds": round(elapsed, 2),
    }
    print(json.dumps(result))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with RESULTS.open("a") as fh:
        fh.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
