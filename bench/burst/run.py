"""Message burst: 40 patients post long messages at once while a ping runs (not part of pytest).

Usage: .venv/bin/python bench/burst/run.py [--db sqlite,postgresql] [--patients 40] [--chars 3500]

For each database: a fresh migrated database with one clinic and --patients patients, each with
an account and a calm assessment (its care case); a real `telespine serve` (one worker,
telespine.web.testing_server). Each patient signs in through the API. Then:
- idle: 40 pings one after another (GET /api/v1/ping), for the baseline p99;
- burst: every patient posts one message of --chars characters at the same moment
  (POST /api/v1/cases/{id}/messages, which stores, then screens it), while a ping runs every
  50 ms until the last post has its answer.
Prints the ping p50/p99 during the burst against idle (aim: p99 under 1 s), the answers the
posters got (201 stored, an error status they can see, or no answer at all), and the messages
the database holds afterwards: every acknowledged message must be stored (lost = acknowledged
but not stored, plus posts without any answer; aim 0).
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
SENTENCES = (
    "My lower back has been stiff since I moved the boxes at work last week.",
    "It is a little better in the morning after the stretches from the plan.",
    "Sitting at my desk for a long time makes it ache more by the afternoon.",
    "I walk to the shop and back each day and that seems to help a bit.",
    "I took the tablets as the plan says and I sleep through most nights now.",
    "I wanted to ask if I should keep doing the same exercises next week.",
)


def long_message(chars: int, seed: int) -> str:
    out: list[str] = []
    i = seed
    while sum(len(s) + 1 for s in out) < chars:
        out.append(SENTENCES[i % len(SENTENCES)])
        i += 1
    return " ".join(out)[:chars]


def prepare(url: str, patients: int) -> list[tuple[str, str]]:
    """(username, case id) of each patient, after migrating and filling the database."""
    from telespine.store import cases, repo
    from telespine.store.db import make_engine, make_sessionmaker, upgrade
    from telespine.triage import triage

    upgrade(url)
    engine = make_engine(url)
    out = []
    with make_sessionmaker(engine)() as db:
        clinic = repo.create_clinic(db, "Burst clinic")
        for i in range(patients):
            name = f"burst{i}"
            user = repo.create_user(db, username=name, password=PASSWORD, role="patient", clinic=clinic)
            a = repo.save_assessment(
                db, profile=repo.ensure_self_profile(db, user), by=user, findings=CALM, result=triage(CALM)
            )
            case = cases.case_for_assessment(db, a.id)
            assert case is not None
            out.append((name, case.id))
        db.commit()
    engine.dispose()
    return out


def stored_messages(url: str) -> set[str]:
    from sqlalchemy import select

    from telespine.store.db import make_engine, make_sessionmaker
    from telespine.store.models_care import CareMessage

    engine = make_engine(url)
    with make_sessionmaker(engine)() as db:
        ids = set(db.scalars(select(CareMessage.id).where(CareMessage.automatic.is_(False))))
    engine.dispose()
    return ids


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def burst(base: str, people: list[tuple[str, str]], chars: int) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=len(people) + 10, max_keepalive_connections=len(people) + 10)
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as client:
        tokens = []
        for name, _ in people:
            for _attempt in range(20):
                r = await client.post("/api/v1/auth/login", json={"username": name, "password": PASSWORD})
                if r.status_code == 200:
                    tokens.append(r.json()["token"])
                    break
                await asyncio.sleep(0.5)
            else:
                raise RuntimeError(f"sign-in failed: {r.status_code}")
        idle = []
        for _ in range(40):
            t = time.perf_counter()
            (await client.get("/api/v1/ping")).raise_for_status()
            idle.append(time.perf_counter() - t)
        done = asyncio.Event()
        during: list[float] = []

        async def pinger() -> None:
            while not done.is_set():
                t = time.perf_counter()
                try:
                    await client.get("/api/v1/ping", timeout=30)
                    during.append(time.perf_counter() - t)
                except httpx.HTTPError:
                    during.append(30.0)
                await asyncio.sleep(0.05)

        async def post(i: int) -> tuple[str, str | None]:
            _, case_id = people[i]
            try:
                r = await client.post(
                    f"/api/v1/cases/{case_id}/messages",
                    json={"body": long_message(chars, i)},
                    headers={"Authorization": f"Bearer {tokens[i]}"},
                )
            except httpx.HTTPError as exc:
                return f"no answer ({type(exc).__name__})", None
            if r.status_code == 201:
                return "201", str(r.json()["id"])
            return str(r.status_code), None

        ping_task = asyncio.create_task(pinger())
        start = time.perf_counter()
        answers = await asyncio.gather(*(post(i) for i in range(len(people))))
        elapsed = time.perf_counter() - start
        done.set()
        await ping_task
    return {"idle": idle, "during": during, "answers": answers, "elapsed": elapsed}


def run_one(kind: str, patients: int, chars: int) -> None:
    from telespine.web.testing_server import serve

    with tempfile.TemporaryDirectory() as tmp:
        name = None
        if kind == "sqlite":
            url = f"sqlite:///{Path(tmp) / 'burst.sqlite3'}"
        else:
            import psycopg

            name = f"telespine_burst_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(PG_ADMIN.replace("+psycopg", ""), autocommit=True) as c:
                c.execute(f'CREATE DATABASE "{name}"')
            url = PG_ADMIN.rsplit("/", 1)[0] + "/" + name
        try:
            people = prepare(url, patients)
            log = Path(tmp) / "serve.log"
            with serve(url, log, timeout=120) as served:
                # /readyz: the screening pipeline is warm, so the burst does not pay for loading it
                deadline = time.monotonic() + 120
                while httpx.get(served.url + "/readyz").status_code != 200 and time.monotonic() < deadline:
                    time.sleep(0.2)
                out = asyncio.run(burst(served.url, people, chars))
                log_text = served.log_text()
            if os.environ.get("BURST_LOG"):
                Path(os.environ["BURST_LOG"]).write_text(log_text)
            stored = stored_messages(url)
        finally:
            if name is not None:
                import psycopg

                with psycopg.connect(PG_ADMIN.replace("+psycopg", ""), autocommit=True) as c:
                    c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    answers: list[tuple[str, str | None]] = out["answers"]
    acked = {mid for status, mid in answers if mid is not None}
    kinds: dict[str, int] = {}
    for status, _ in answers:
        kinds[status] = kinds.get(status, 0) + 1
    unanswered = sum(1 for status, _ in answers if status.startswith("no answer"))
    lost = len(acked - stored) + unanswered
    idle, during = out["idle"], out["during"]
    print(
        f"{kind}: {patients} posts of {chars} characters in {out['elapsed']:.1f} s; answers "
        + ", ".join(f"{k}: {v}" for k, v in sorted(kinds.items()))
    )
    print(
        f"{kind}: stored {len(stored)}, acknowledged {len(acked)}, acknowledged but not stored "
        f"{len(acked - stored)}, no answer {unanswered}: lost {lost} (aim 0)"
    )
    print(
        f"{kind}: ping idle p50 {statistics.median(idle) * 1e3:.0f} ms p99 {_p(idle, 0.99) * 1e3:.0f} ms; "
        f"during the burst ({len(during)} pings) p50 {statistics.median(during) * 1e3:.0f} ms "
        f"p99 {_p(during, 0.99) * 1e3:.0f} ms ({_p(during, 0.99) / _p(idle, 0.99):.0f}x idle; aim under 1 s)"
    )
    needles = ("QueuePool limit", "database is locked", "saving a message failed", "could not be checked")
    for needle in needles:
        count = log_text.count(needle)
        if count:
            print(f"{kind}: server log: {count}x {needle!r}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default="sqlite,postgresql")
    parser.add_argument("--patients", type=int, default=40)
    parser.add_argument("--chars", type=int, default=3500)
    args = parser.parse_args()
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for kind in args.db.split(","):
        run_one(kind, args.patients, args.chars)
        sys.stdout.flush()
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
