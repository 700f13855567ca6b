"""Plan PDFs at once: does a burst of PDF downloads starve the database pool? (not part of pytest)

Usage: PYTHONPATH=src .venv/bin/python bench/pdf/burst.py [--pdfs 20] [--trees after=src,before=/tmp/old/src]

For each tree (a `src` folder: e.g. this one and an export of the commit before the change,
measured in the same run): a fresh PostgreSQL database with --pdfs patients, each with an account
and a calm assessment, and one more account for the ping; a real `telespine serve` (one worker,
the served app: PDFs in the recycled helper process, one at a time, a request waits up to 30 s
for its turn). Then:
- idle: 40 database-bound pings one after another (GET /api/v1/me with a bearer token: the
  session lookup and the profiles need a pooled connection), the baseline of the same run;
- burst: every patient asks for their plan PDF (GET /api/v1/assessments/{id}/plan.pdf) at the
  same moment, while the ping runs every 100 ms until the last PDF has arrived, and
  pg_stat_activity is sampled every 100 ms for the server's connections to the database.
Prints the ping p50/p99 during the burst against idle, the PDFs' answers and times, the most
connections open, and the connections "idle in transaction" (a request that holds its pooled
connection between statements or while it waits; the pool has 5 + 10 overflow connections):
at most, after the first 3 s (every request has done its reads by then), and per second.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

PG_ADMIN = os.environ.get("TELESPINE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
PASSWORD = "bench-password-1234"
CALM = {"age_years": 40, "location": "low_back", "onset": "gradual", "duration_days": 5, "pain_score": 4}


def prepare(url: str, patients: int) -> list[tuple[str, str]]:
    """(username, assessment id) of each patient and, last, the pinger ("" for no assessment)."""
    from telespine.store import repo
    from telespine.store.db import make_engine, make_sessionmaker, upgrade
    from telespine.triage import triage

    upgrade(url)
    engine = make_engine(url)
    out = []
    with make_sessionmaker(engine)() as db:
        clinic = repo.create_clinic(db, "PDF clinic")
        for i in range(patients):
            name = f"pdf{i}"
            user = repo.create_user(db, username=name, password=PASSWORD, role="patient", clinic=clinic)
            a = repo.save_assessment(
                db, profile=repo.ensure_self_profile(db, user), by=user, findings=CALM, result=triage(CALM)
            )
            out.append((name, a.id))
        repo.create_user(db, username="pinger", password=PASSWORD, role="patient", clinic=clinic)
        out.append(("pinger", ""))
        db.commit()
    engine.dispose()
    return out


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _dsn(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


async def burst(base: str, people: list[tuple[str, str]], db_name: str) -> dict[str, Any]:
    import psycopg

    limits = httpx.Limits(max_connections=len(people) + 10, max_keepalive_connections=len(people) + 10)
    async with httpx.AsyncClient(base_url=base, timeout=180, limits=limits) as client:
        tokens = []
        for name, _ in people:
            r = await client.post("/api/v1/auth/login", json={"username": name, "password": PASSWORD})
            r.raise_for_status()
            tokens.append(r.json()["token"])
        pinger = {"Authorization": f"Bearer {tokens[-1]}"}
        patients = people[:-1]
        # one PDF first: the helper process is started and WeasyPrint loaded before the burst
        warm = await client.get(
            f"/api/v1/assessments/{patients[0][1]}/plan.pdf", headers={"Authorization": f"Bearer {tokens[0]}"}
        )
        warm.raise_for_status()
        idle = []
        for _ in range(40):
            t = time.perf_counter()
            (await client.get("/api/v1/me", headers=pinger)).raise_for_status()
            idle.append(time.perf_counter() - t)
        done = asyncio.Event()
        during: list[float] = []
        failed_pings = 0
        open_most = 0
        held: list[tuple[float, int]] = []  # (seconds into the burst, idle in transaction)

        async def ping() -> None:
            nonlocal failed_pings
            while not done.is_set():
                t = time.perf_counter()
                try:
                    r = await client.get("/api/v1/me", headers=pinger, timeout=60)
                    failed_pings += r.status_code != 200
                except httpx.HTTPError:
                    failed_pings += 1
                during.append(time.perf_counter() - t)
                await asyncio.sleep(0.1)

        async def sample() -> None:
            nonlocal open_most
            query = (
                "SELECT count(*), count(*) FILTER (WHERE state = 'idle in transaction') "
                "FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()"
            )
            async with await psycopg.AsyncConnection.connect(_dsn(PG_ADMIN), autocommit=True) as conn:
                while not done.is_set():
                    row = await (await conn.execute(query, (db_name,))).fetchone()
                    if row is not None:
                        open_most = max(open_most, int(row[0]))
                        held.append((time.perf_counter() - start, int(row[1])))
                    await asyncio.sleep(0.1)

        async def pdf(i: int) -> tuple[str, float]:
            _, assessment = patients[i]
            t = time.perf_counter()
            try:
                r = await client.get(
                    f"/api/v1/assessments/{assessment}/plan.pdf",
                    headers={"Authorization": f"Bearer {tokens[i]}"},
                )
            except httpx.HTTPError as exc:
                return f"no answer ({type(exc).__name__})", time.perf_counter() - t
            ok = r.status_code == 200 and r.content.startswith(b"%PDF")
            return ("200 PDF" if ok else str(r.status_code)), time.perf_counter() - t

        start = time.perf_counter()
        tasks = [asyncio.create_task(ping()), asyncio.create_task(sample())]
        answers = await asyncio.gather(*(pdf(i) for i in range(len(patients))))
        elapsed = time.perf_counter() - start
        done.set()
        await asyncio.gather(*tasks)
    return {
        "idle": idle,
        "during": during,
        "failed_pings": failed_pings,
        "answers": answers,
        "elapsed": elapsed,
        "open_most": open_most,
        "held": held,
    }


def run_one(label: str, src: str, pdfs: int) -> None:
    import psycopg

    from telespine.web.testing_server import serve

    name = f"telespine_pdfburst_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(_dsn(PG_ADMIN), autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    try:
        people = prepare(url, pdfs)
        with tempfile.TemporaryDirectory() as tmp:
            log = Path(tmp) / "serve.log"
            with serve(url, log, timeout=120, python_path=str(Path(src).resolve())) as served:
                deadline = time.monotonic() + 120
                while httpx.get(served.url + "/readyz").status_code != 200 and time.monotonic() < deadline:
                    time.sleep(0.2)
                out = asyncio.run(burst(served.url, people, name))
                log_text = served.log_text()
    finally:
        with psycopg.connect(_dsn(PG_ADMIN), autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    kinds: dict[str, int] = {}
    for status, _ in out["answers"]:
        kinds[status] = kinds.get(status, 0) + 1
    times = [t for _, t in out["answers"]]
    idle, during = out["idle"], out["during"]
    print(
        f"{label}: {pdfs} PDFs at once in {out['elapsed']:.1f} s (each {min(times):.1f}-{max(times):.1f} s); "
        + ", ".join(f"{k}: {v}" for k, v in sorted(kinds.items()))
    )
    print(
        f"{label}: db ping idle p50 {statistics.median(idle) * 1e3:.0f} ms "
        f"p99 {_p(idle, 0.99) * 1e3:.0f} ms; "
        f"during the PDFs ({len(during)} pings, {out['failed_pings']} failed) "
        f"p50 {statistics.median(during) * 1e3:.0f} ms p99 {_p(during, 0.99) * 1e3:.0f} ms "
        f"({_p(during, 0.99) / _p(idle, 0.99):.0f}x idle p99)"
    )
    held = out["held"]
    later = [n for t, n in held if t >= 3.0] or [0]  # after every request's reads (the first 3 s)
    per_second: dict[int, int] = {}
    for t, n in held:
        per_second[int(t)] = max(per_second.get(int(t), 0), n)
    print(
        f"{label}: server connections to the database at most {out['open_most']} open; idle in "
        f"transaction (a request holding its connection between statements or while it waits): "
        f"at most {max(n for _, n in held)}, after the first 3 s median {statistics.median(later):.0f} "
        f"max {max(later)} ({len(held)} samples)"
    )
    print(
        f"{label}: idle in transaction, most per second: "
        + " ".join(str(per_second[k]) for k in sorted(per_second))
    )
    for needle in ("QueuePool limit", "PDF helper busy", "PDF helper process failed", "unhandled"):
        count = log_text.count(needle)
        if count:
            print(f"{label}: server log: {count}x {needle!r}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pdfs", type=int, default=20)
    parser.add_argument("--trees", default="this=src", help="label=src folder, comma separated")
    args = parser.parse_args()
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for item in args.trees.split(","):
        label, _, src = item.partition("=")
        run_one(label, src, args.pdfs)
        sys.stdout.flush()
        print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
