"""Benchmark the clinician lists at 1,000 and 50,000 assessments (not part of pytest).

Usage: .venv/bin/python bench/lists/run.py [--sizes 1000,50000] [--db sqlite,postgresql] [--repeat 5]

For each size, a fresh database (migrated) gets one clinic with that many assessments, each with
a patient profile, version 1 (a tenth also version 2), its open care case, and a few clinician
overrides, escalation floors and tele-visit requests. Rows are bulk-inserted (no engine run per
row). A clinician then signs in through the API, in process (TestClient), and the bench times:
- `GET /api/v1/assessments`: the first page, and a page 10 pages deep (following `next`);
- `GET /clinic/queue`: the first page, and a page 10 pages deep;
- `GET /clinic` (the clinic's assessment table): the first page, and a page 10 pages deep.
Each figure is the median of --repeat requests; the ratio is to the same request at the first
size, in the same run (aim: any page <= 3x its time at 1,000). Response sizes are printed too.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import re
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SECRET = "bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
PG_ADMIN = os.environ.get("TELESPINE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
PASSWORD = "bench-password-1234"
DISPOSITIONS = ["emergency", "urgent", "prompt", "routine", "telemedicine"]


def _id() -> str:
    return uuid.uuid4().hex


def populate(url: str, n: int, seed: int = 1) -> None:
    """One clinic, a clinician (dr_bench) and n assessments with their cases."""
    from sqlalchemy import insert, text

    from telespine.store import models_care, queue_order
    from telespine.store.db import make_engine, make_sessionmaker, session_scope
    from telespine.store.models import Assessment, AssessmentVersion, Clinic, Profile, VisitRequest
    from telespine.store.repo import create_user

    rng = random.Random(seed)
    engine = make_engine(url)
    with session_scope(make_sessionmaker(engine)) as db:
        clinic = Clinic(name="Bench clinic")
        db.add(clinic)
        db.flush()
        clinician = create_user(db, username="dr_bench", password=PASSWORD, role="clinician", clinic=clinic)
        owner = create_user(
            db,
            username="bench_patients",
            password=PASSWORD,
            role="patient",
            clinic=clinic,
            with_profile=False,
        )
        clinic_id, clinician_id, owner_id = clinic.id, clinician.id, owner.id
    start = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    profiles, assessments, versions, cases, overrides, floors, visits = [], [], [], [], [], [], []
    for i in range(n):
        pid, aid, cid = _id(), _id(), _id()
        created = start + dt.timedelta(minutes=i, seconds=rng.randint(0, 59))
        profiles.append(
            {
                "id": pid,
                "owner_id": owner_id,
                "clinic_id": clinic_id,
                "display_name": f"P {i}",
                "is_child": False,
                "created_at": created,
            }
        )
        assessments.append({"id": aid, "profile_id": pid, "created_by_id": owner_id, "created_at": created})
        disposition = rng.choice(DISPOSITIONS)
        for number in (1, 2) if i % 10 == 0 else (1,):
            versions.append(
                {
                    "assessment_id": aid,
                    "version": number,
                    "findings": {"age_years": 40},
                    "answers": None,
                    "result": {"disposition": disposition},
                    "disposition": disposition,
                    "safety_net": False,
                    "ruleset_version": "2.0.0",
                    "ruleset_sha256": "0" * 64,
                    "created_by_id": owner_id,
                    "created_at": created + dt.timedelta(hours=number - 1),
                }
            )
        cases.append(
            {
                "id": cid,
                "assessment_id": aid,
                "profile_id": pid,
                "clinic_id": clinic_id,
                "status": "open" if i % 20 else "closed",
                "treatment_started_on": created.date(),
                "timezone": "UTC",
                "created_at": created,
                "raised_at": created if i % 37 == 0 else None,
                "claimed_by_id": clinician_id if i % 7 == 0 else None,
            }
        )
        if i % 13 == 0:
            overrides.append(
                {
                    "case_id": cid,
                    "assessment_version": 1,
                    "from_disposition": disposition,
                    "to_disposition": rng.choice(DISPOSITIONS),
                    "reason": "bench",
                    "ruleset_version": "2",
                    "ruleset_sha256": "0" * 64,
                    "fired_rule_ids": [],
                    "by_id": clinician_id,
                    "created_at": created,
                }
            )
        if i % 17 == 0 and hasattr(models_care, "EscalationFloor"):
            floors.append(
                {
                    "case_id": cid,
                    "source": "message",
                    "ref": None,
                    "level": "urgent",
                    "reason": "bench",
                    "raised_at": created,
                    "raised_by_id": None,
                    "cleared_at": created if i % 34 == 0 else None,
                }
            )
        if i % 11 == 0:
            visits.append(
                {
                    "id": _id(),
                    "assessment_id": aid,
                    "requested_by_id": owner_id,
                    "status": "requested",
                    "created_at": created,
                }
            )
    with engine.begin() as conn:
        for model, rows in (
            (Profile, profiles),
            (Assessment, assessments),
            (AssessmentVersion, versions),
            (models_care.CareCase, cases),
            (models_care.DispositionOverride, overrides),
            (VisitRequest, visits),
        ):
            for k in range(0, len(rows), 5000):
                conn.execute(insert(model), rows[k : k + 5000])
        if floors:
            conn.execute(insert(models_care.EscalationFloor), floors)
        queue_order.refresh_all_keys(conn)  # bulk rows bypass the flush hook that keeps the keys
        if url.startswith("postgresql"):
            conn.execute(text("ANALYZE"))  # planner statistics, as a live database keeps them
    engine.dispose()


def _client(url: str) -> Any:
    from fastapi.testclient import TestClient

    from telespine.web.app import create_app
    from telespine.web.testing import make_test_settings

    client = TestClient(create_app(make_test_settings(url)), base_url="https://testserver")
    r = client.post("/api/v1/auth/login", json={"username": "dr_bench", "password": PASSWORD})
    r.raise_for_status()
    token = r.json()["token"]
    client.cookies.clear()
    client.headers["Authorization"] = f"Bearer {token}"
    page = TestClient(client.app, base_url="https://testserver")
    from telespine.web.testing import csrf_from

    form = page.get("/login")
    page.post(
        "/login", data={"username": "dr_bench", "password": PASSWORD, "csrf_token": csrf_from(form.text)}
    )
    return client, page


NEXT = re.compile(r'<([^>]+)>;\s*rel="next"')
NEXT_HTML = re.compile(r'href="(/clinic(?:/queue)?\?[^"]*after=[^"]+)"')


def _deep(client: Any, first: str, pages: int, html: bool) -> str | None:
    """The URL `pages` pages deep, following the next links; None when the list has no pages."""
    url = first
    for _ in range(pages):
        r = client.get(url)
        if html:
            m = NEXT_HTML.search(r.text)
            nxt = m.group(1).replace("&amp;", "&") if m else None
        else:
            m = NEXT.search(r.headers.get("link", ""))
            nxt = m.group(1) if m else None
        if nxt is None:
            return None
        url = nxt
    return url


def _time(client: Any, url: str, repeat: int) -> tuple[float, int, int]:
    times, size, status = [], 0, 0
    for _ in range(repeat):
        start = time.perf_counter()
        r = client.get(url)
        times.append(time.perf_counter() - start)
        size, status = len(r.content), r.status_code
    return statistics.median(times), size, status


def measure(url: str, repeat: int) -> dict[str, tuple[float, int, int]]:
    api, page = _client(url)
    out = {
        "api first page": _time(api, "/api/v1/assessments", repeat),
        "queue first page": _time(page, "/clinic/queue", repeat),
        "clinic first page": _time(page, "/clinic", repeat),
    }
    deep = _deep(api, "/api/v1/assessments", 10, html=False)
    if deep:
        out["api page 11"] = _time(api, deep, repeat)
    deep_q = _deep(page, "/clinic/queue", 10, html=True)
    if deep_q:
        out["queue page 11"] = _time(page, deep_q, repeat)
    deep_c = _deep(page, "/clinic", 10, html=True)
    if deep_c:
        out["clinic page 11"] = _time(page, deep_c, repeat)
    api.app.state.engine.dispose()
    return out


def _database(kind: str, tmp: Path, n: int) -> tuple[str, str | None]:
    if kind == "sqlite":
        return f"sqlite:///{tmp / f'lists-{n}.sqlite3'}", None
    import psycopg

    name = f"telespine_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN.replace("+psycopg", ""), autocommit=True, connect_timeout=3) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    return PG_ADMIN.rsplit("/", 1)[0] + "/" + name, name


def _drop(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN.replace("+psycopg", ""), autocommit=True, connect_timeout=3) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _schema(url: str) -> None:
    """Migrate; when the migrations cannot run (e.g. two heads while others work), the models' tables."""
    from telespine.store.db import make_engine, upgrade
    from telespine.store.models import Base

    try:
        upgrade(url)
    except Exception as exc:
        print(f"(migrations failed: {type(exc).__name__}; tables made from the models)", flush=True)
        engine = make_engine(url)
        Base.metadata.create_all(engine)
        engine.dispose()


def main() -> None:
    """Populate, measure and print each size against the first."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,50000")
    parser.add_argument("--db", default="sqlite")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    os.environ.setdefault("TELESPINE_SECRET_KEY", SECRET)
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; repeat {args.repeat}")
    for kind in args.db.split(","):
        results: dict[int, dict[str, tuple[float, int, int]]] = {}
        with tempfile.TemporaryDirectory() as tmp:
            for n in sizes:
                url, name = _database(kind, Path(tmp), n)
                try:
                    _schema(url)
                    start = time.perf_counter()
                    populate(url, n)
                    print(
                        f"{kind}: {n} assessments inserted in {time.perf_counter() - start:.1f} s", flush=True
                    )
                    results[n] = measure(url, args.repeat)
                finally:
                    if name:
                        _drop(name)
        base = results[sizes[0]]
        for n in sizes:
            for what, (seconds, size, status) in results[n].items():
                ratio = seconds / base[what][0] if what in base else float("nan")
                print(
                    f"{kind} {n:>6} {what:<17} {seconds * 1e3:9.1f} ms {size / 1e3:9.1f} kB  HTTP {status}  "
                    f"ratio to {sizes[0]}: {ratio:.2f}x"
                )
        sys.stdout.flush()


if __name__ == "__main__":
    main()
