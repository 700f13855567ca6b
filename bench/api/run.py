"""API benchmark: one uvicorn server process, a separate load process, on SQLite and PostgreSQL.

Reports requests/second and p99 latency of POST /api/v1/triage and of saving an assessment
(POST /api/v1/assessments) as ratios to the bare GET /api/v1/ping, same server, same run.
The load comes from locust (headless, its own process; `pip install -e '.[bench]'`).
Usage: .venv/bin/python bench/api/run.py [--seconds 10] [--concurrency 8] [--db sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SECRET = "bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
PG_ADMIN = os.environ.get("TELESPINE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepare(url: str) -> None:
    from telespine.services.demo import seed_demo
    from telespine.store.db import make_engine, make_sessionmaker, session_scope, upgrade
    from telespine.web.clinical import run_triage

    upgrade(url)
    engine = make_engine(url)
    with session_scope(make_sessionmaker(engine)) as db:
        seed_demo(db, triage=run_triage)
    engine.dispose()


def pg_database() -> tuple[str, str] | None:
    import psycopg

    name = f"telespine_bench_{uuid.uuid4().hex[:8]}"
    try:
        with psycopg.connect(PG_ADMIN.replace("+psycopg", ""), autocommit=True, connect_timeout=3) as c:
            c.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError:
        return None
    return name, PG_ADMIN.rsplit("/", 1)[0] + "/" + name


def drop_pg(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN.replace("+psycopg", ""), autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run_locust(base: str, kind: str, token: str, seconds: float, users: int, tmp: str) -> dict[str, object]:
    """Drive one endpoint from a separate locust process (headless); read its CSV summary."""
    prefix = str(Path(tmp) / f"locust-{kind}")
    env = {**os.environ, "BENCH_ENDPOINT": kind, "BENCH_TOKEN": token}
    subprocess.run(
        [
            sys.executable,
            "-m",
            "locust",
            "-f",
            str(HERE / "locustfile.py"),
            "--headless",
            "--host",
            base,
            "--users",
            str(users),
            "--spawn-rate",
            str(users),
            "--run-time",
            f"{int(seconds)}s",
            "--reset-stats",
            "--stop-timeout",
            "5",
            "--csv",
            prefix,
            "--only-summary",
            "--loglevel",
            "WARNING",
        ],
        env=env,
        check=False,  # locust exits 1 when any request failed; the failures are counted below
        capture_output=True,
        timeout=seconds + 90,
    )
    with open(prefix + "_stats.csv", newline="") as fh:
        total = next(r for r in csv.DictReader(fh) if r["Name"] == "Aggregated")
    return {
        "endpoint": kind,
        "requests": int(total["Request Count"]),
        "errors": int(total["Failure Count"]),
        "rps": round(float(total["Requests/s"]), 1),
        "p50_ms": float(total["50%"]),
        "p99_ms": float(total["99%"]),
    }


def bench(db: str, seconds: float, concurrency: int) -> list[dict[str, object]]:
    tmp = tempfile.mkdtemp(prefix="telespine-bench-")
    pg_name = None
    if db == "sqlite":
        url = f"sqlite:///{tmp}/bench.sqlite3"
    else:
        made = pg_database()
        if made is None:
            print("PostgreSQL unreachable: skipped", file=sys.stderr)
            return []
        pg_name, url = made
    prepare(url)
    port = free_port()
    env = {**os.environ, "TELESPINE_ENV": "test", "TELESPINE_SECRET_KEY": SECRET, "DATABASE_URL": url}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "telespine.web.asgi:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        env=env,
        cwd=tmp,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(base + "/api/v1/ping", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("server did not start")
            time.sleep(0.2)
        from telespine.store.demo import DEMO_USERS

        alice = next(u for u in DEMO_USERS if u.username == "alice")
        token = httpx.post(
            base + "/api/v1/auth/login", json={"username": "alice", "password": alice.password}
        ).json()["token"]
        rows = []
        for kind in ("ping", "triage", "save"):
            row = run_locust(base, kind, token, seconds, concurrency, tmp)
            row["db"] = db
            rows.append(row)
        base_row = rows[0]
        for row in rows:
            row["rps_ratio"] = round(float(row["rps"]) / float(base_row["rps"]), 3)
            row["p99_ratio"] = round(float(row["p99_ms"]) / float(base_row["p99_ms"]), 2)
        return rows
    finally:
        server.terminate()
        server.wait(timeout=10)
        if pg_name:
            drop_pg(pg_name)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--db", default="sqlite,postgresql")
    a = ap.parse_args()
    rows = []
    for db in a.db.split(","):
        rows += bench(db, a.seconds, a.concurrency)
    out_dir = ROOT / "bench" / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "api.json").write_text(json.dumps(rows, indent=2))
    print("| db | endpoint | requests | errors | req/s | p50 ms | p99 ms | req/s ÷ ping | p99 ÷ ping |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['db']} | {r['endpoint']} | {r['requests']} | {r['errors']} | {r['rps']} | {r['p50_ms']} | "
            f"{r['p99_ms']} | {r['rps_ratio']} | {r['p99_ratio']} |"
        )


if __name__ == "__main__":
    main()
