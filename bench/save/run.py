"""Saving an assessment against the same database's raw commit rate (issue 16; not part of pytest).

Usage: .venv/bin/python bench/save/run.py [--n 300] [--db sqlite,postgresql] [--repeat 3]

For each database (a fresh SQLite file, a fresh PostgreSQL database on TELESPINE_TEST_PG_URL's
server), one thread, one engine made by `telespine.store.db.make_engine` (so the same pragmas and
synchronous commits for both):

- raw: INSERT of one row of the same size as an assessment's stored JSON, then COMMIT, n times
  (SQLAlchemy Core on a connection of the same engine): the database's commit rate here;
- save: what `POST /api/v1/assessments` does after parsing the body, n times: a session, the
  caller and the profile loaded, `triage()` of the findings, `services.assessments.save_assessment`
  (the version, the care case, the stored list keys, the audit row, one COMMIT).

Prints each rate and save / raw (aim: >= 30%). The repeats alternate raw and save, so the
machine's load falls on both; the medians are reported.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

PG_ADMIN = os.environ.get("TELESPINE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
FINDINGS: dict[str, Any] = {
    "age_years": 44,
    "sex": "female",
    "location": "low_back",
    "onset": "gradual",
    "duration_days": 12,
    "pain_score": 5,
    "leg_pain_below_knee": True,
    "trauma": "none",
    "fever": False,
    "saddle_numbness": False,
    "bladder": "normal",
    "bowel": "normal",
}


def _pg_database() -> tuple[str, str]:
    import psycopg

    name = f"bench_save_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN.replace("+psycopg", ""), autocommit=True, connect_timeout=3) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    return PG_ADMIN.rsplit("/", 1)[0] + "/" + name, name


def _drop(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN.replace("+psycopg", ""), autocommit=True, connect_timeout=3) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def raw_rate(engine: Any, n: int, size: int) -> float:
    """Commits per second of one INSERT of `size` characters each."""
    from sqlalchemy import Column, MetaData, String, Table, Text, insert

    meta = MetaData()
    table = Table("bench_raw_commit", meta, Column("id", String(36), primary_key=True), Column("body", Text))
    meta.create_all(engine)
    body = "x" * size
    with engine.connect() as conn:
        start = time.perf_counter()
        for _ in range(n):
            conn.execute(insert(table).values(id=str(uuid.uuid4()), body=body))
            conn.commit()
        return n / (time.perf_counter() - start)


def save_rate(factory: Any, user_id: str, profile_id: str, n: int) -> float:
    """Assessments saved per second, as the API route saves them (one session each)."""
    from telespine.services import assessments
    from telespine.store.models import Profile, User
    from telespine.triage import triage

    start = time.perf_counter()
    for _ in range(n):
        with factory() as db:
            user = db.get(User, user_id)
            profile = db.get(Profile, profile_id)
            assert user is not None and profile is not None
            assessments.save_assessment(
                db, profile=profile, by=user, findings=dict(FINDINGS), result=triage(dict(FINDINGS))
            )
    return n / (time.perf_counter() - start)


def run(url: str, n: int, repeat: int) -> dict[str, Any]:
    from telespine.store import repo
    from telespine.store.db import make_engine, make_sessionmaker, upgrade
    from telespine.triage import triage

    upgrade(url)
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    with factory() as db:
        clinic = repo.create_clinic(db, "Bench clinic")
        user = repo.create_user(db, username="bench", password="x" * 12, role="patient", clinic=clinic)
        profile = repo.ensure_self_profile(db, user)
        db.commit()
        user_id, profile_id = user.id, profile.id
    stored = json.dumps({"findings": FINDINGS, "result": triage(dict(FINDINGS)).model_dump(mode="json")})
    save_rate(factory, user_id, profile_id, 10)  # warm: first statements, caches
    raws, saves = [], []
    for _ in range(repeat):
        raws.append(raw_rate(engine, n, len(stored)))
        saves.append(save_rate(factory, user_id, profile_id, n))
    engine.dispose()
    raw, save = statistics.median(raws), statistics.median(saves)
    return {
        "raw_commits_per_s": round(raw, 1),
        "saves_per_s": round(save, 1),
        "save_to_raw": round(save / raw, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--db", default="sqlite,postgresql")
    args = parser.parse_args()
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    for kind in args.db.split(","):
        if kind == "sqlite":
            with tempfile.TemporaryDirectory() as tmp:
                out = run(f"sqlite:///{Path(tmp) / 'save.sqlite3'}", args.n, args.repeat)
        else:
            url, name = _pg_database()
            try:
                out = run(url, args.n, args.repeat)
            finally:
                _drop(name)
        print(f"{kind}: {json.dumps(out)} (aim: save_to_raw >= 0.30)", flush=True)
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)


if __name__ == "__main__":
    main()
