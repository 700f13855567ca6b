"""A plan PDF is waited for without a database connection (issue 16), on SQLite and PostgreSQL.

Every PDF route reads what it needs first (the read's audit row written and committed, as
before), then releases the request's session, and only then waits for the PDF (the helper
process's turn and the rendering, up to 30 s plus the render in the served app). Here the
app's pool has one connection and the rendering is held on an event: while it waits, no
connection is checked out and another request that needs the database gets the one there is.
Before, the PDF request kept its connection to the end and that request timed out.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select

from telespine.program import pdf_pool
from telespine.web.testing import bearer, csrf_from, login

Client = TestClient
CALM = {"age_years": 40, "location": "low_back", "onset": "gradual", "duration_days": 5, "pain_score": 3}
CALM_OPTIONS = ["no", "none", "normal", "low_back", "gradual"]  # the calm answer of each page question
FAKE_PDF = b"%PDF-1.7 held rendering"
_days = itertools.count()  # each test's visit on its own day (one seeded database per module)


class HeldRendering:
    """Every PDF rendering waits on `go`; `started` is set once one is waiting."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.go = threading.Event()

    def __call__(self, html: str) -> bytes:
        assert html.lstrip().lower().startswith("<!doctype html")  # a plain string, already made
        self.started.set()
        assert self.go.wait(timeout=60)
        return FAKE_PDF


class CheckedOut:
    """Connections of an engine's pool in use now (SQLAlchemy's checkout and checkin events)."""

    def __init__(self, engine: Any) -> None:
        self.now = 0
        self._lock = threading.Lock()
        event.listen(engine, "checkout", self._out)
        event.listen(engine, "checkin", self._in)

    def _out(self, *_: Any) -> None:
        with self._lock:
            self.now += 1

    def _in(self, *_: Any) -> None:
        with self._lock:
            self.now -= 1


@pytest.fixture
def one_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    """Apps made from now on have a pool of one connection that a second request waits 3 s for."""
    from telespine.store import db as store_db
    from telespine.web import app as web_app

    def make_engine(url: str, **kwargs: Any) -> Any:
        return store_db.make_engine(url, pool_size=1, max_overflow=0, pool_timeout=3, **kwargs)

    monkeypatch.setattr(web_app, "make_engine", make_engine)


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> Iterator[HeldRendering]:
    rendering = HeldRendering()
    monkeypatch.setattr(pdf_pool, "_html_to_pdf", rendering)
    try:
        yield rendering
    finally:
        rendering.go.set()  # never leave a request thread waiting


def assess(client: Client) -> None:
    """Answer the triage questions with calm answers (a draft that gets a program)."""
    token = csrf_from(client.get("/assess").text)
    client.post("/assess/start", data={"who": "self", "csrf_token": token})
    for _ in range(100):
        r = client.get("/assess/q")
        if "/assess/q" not in str(r.url):
            return
        qid = re.search(r'name="question_id" value="([^"]+)"', r.text).group(1)  # type: ignore[union-attr]
        if 'type="number"' in r.text:
            answer = "35" if qid == "age_years" else "1"
        else:
            options = re.findall(r'name="answer" value="([^"]+)"', r.text)
            answer = next(o for o in [*CALM_OPTIONS, options[0]] if o in options)
        client.post("/assess/q", data={"question_id": qid, "answer": answer, "csrf_token": token})
    raise AssertionError("the questionnaire did not finish")


def finished_visit(url: str, alice: Client, dave: Client) -> tuple[str, str]:
    """A new assessment of alice's with a case, and a finished visit whose note changes the plan."""
    from telespine.store import repo_care
    from telespine.store.db import make_engine, make_sessionmaker, session_scope
    from telespine.store.models import User

    r = alice.post("/api/v1/assessments", json={"findings": CALM})
    assert r.status_code == 201, r.text
    assessment = str(r.json()["id"])
    case_id = next(c["id"] for c in dave.get("/api/v1/queue").json() if c["assessment_id"] == assessment)
    engine = make_engine(url)
    try:
        with session_scope(make_sessionmaker(engine)) as db:
            case = repo_care.get_case(db, case_id)
            clinician = db.query(User).filter(User.username == "dr_dave").one()
            assert case is not None
            day = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=2 + next(_days))  # a free slot
            start = dt.datetime(day.year, day.month, day.day, 15, 20, tzinfo=dt.UTC)
            booking = repo_care.book_visit(db, case=case, clinician=clinician, slot_start=start, mode="video")
            repo_care.save_note(db, booking, {"plan": "Walk daily"}, finish=True)
            return assessment, booking.id
    finally:
        engine.dispose()


def read_rows(url: str, object_id: str) -> int:
    """The audit rows of reads of one object."""
    from telespine.store.db import make_engine
    from telespine.store.models import AuditEvent

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            query = select(func.count()).where(AuditEvent.object_id == object_id, AuditEvent.action == "read")
            return int(conn.scalar(query.select_from(AuditEvent)) or 0)
    finally:
        engine.dispose()


ROUTES = [
    "/assess/plan.pdf",
    "/assess/program.pdf",
    "/assessments/{assessment}/plan.pdf",
    "/assessments/{assessment}/program.pdf",
    "/api/v1/assessments/{assessment}/plan.pdf",
    "/care/visits/{visit}/plan.pdf",
]


@pytest.mark.parametrize("route", ROUTES)
def test_a_pdf_is_waited_for_without_a_database_connection(
    route: str,
    seeded_url: str,
    make_client: Callable[..., Client],
    one_connection: None,
    held: HeldRendering,
) -> None:
    setup_alice: Client = bearer(make_client, seeded_url, "alice")
    setup_dave: Client = bearer(make_client, seeded_url, "dr_dave")
    assessment, visit = finished_visit(seeded_url, setup_alice, setup_dave)
    web = login(make_client, seeded_url, "alice")  # the session cookie: the pages and the API
    if route.startswith("/assess/"):
        assess(web)
    url = route.format(assessment=assessment, visit=visit)
    audited = {"/assessments": assessment, "/api/v1/as": assessment, "/care/visi": visit}.get(url[:10])
    reads_before = read_rows(seeded_url, audited) if audited else 0
    in_use = CheckedOut(web.app.state.engine)
    answers: dict[str, Any] = {}

    def download() -> None:
        answers["pdf"] = web.get(url)

    thread = threading.Thread(target=download)
    thread.start()
    try:
        assert held.started.wait(timeout=60), f"no PDF was made: {answers}"
        during = in_use.now
        other = web.get("/api/v1/me")  # needs the database: the pool's one connection
    finally:
        held.go.set()
        thread.join(timeout=60)
    assert during == 0  # the PDF request holds no connection while its PDF is made
    assert other.status_code == 200 and other.json()["username"] == "alice"
    pdf = answers["pdf"]
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content == FAKE_PDF  # the file made while it waited (not a fallback)
    if audited:
        assert read_rows(seeded_url, audited) == reads_before + 1  # the read's audit row, as before
