"""Integration of the web parts of issues 4, 5 and 6: one save step for the plan, the saved plan as
the written plan, the link to it, typed instrument switches, cases made on save (no GET writes),
the emergency number in the care safety panel, and the program page's save and safety net."""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute
from pydantic import ValidationError
from pypdf import PdfReader
from sqlalchemy import func, inspect, select, text

from telespine.store.db import make_engine, make_sessionmaker
from telespine.store.demo import demo_password
from telespine.store.models import Assessment, AssessmentVersion, AuditEvent, Profile, VisitRequest
from telespine.store.models_care import CareCase, VisitBooking
from telespine.store.models_program import PlanAnswersRecord, ScoreRow
from telespine.web import clinical
from telespine.web.testing import csrf_from, make_test_settings

# The same plans' PDFs come back in many tests here: each distinct HTML is rendered once a process.
pytestmark = pytest.mark.usefixtures("one_pdf_per_html")

Client = Any
CALM = ["no", "none", "normal", "low_back", "gradual"]
MEDICINE_FIELDS = [
    "pregnancy",
    "stomach_ulcer_or_bleeding",
    "kidney_disease",
    "heart_disease",
    "liver_disease",
    "blood_thinners",
    "asthma_worse_with_nsaids",
    "other_pain_medicines",
]
STARTBACK_ITEMS = [
    "q1_leg_pain",
    "q2_neck_shoulder",
    "q3_walking",
    "q4_dressing",
    "q5_activity_safe",
    "q6_worry",
    "q7_catastrophising",
    "q8_enjoyment",
]
HIGH_RISK = {**dict.fromkeys(STARTBACK_ITEMS, "agree"), "q9_bothersome": "extremely"}
LOW_RISK = {**dict.fromkeys(STARTBACK_ITEMS, "disagree"), "q9_bothersome": "slightly"}
IBUPROFEN_DOSE = "200 mg to 400 mg"
# Tables a GET may write: the session (and its draft), sign-in bookkeeping and the audit trail.
MAY_CHANGE_ON_GET = {"sessions", "login_attempts", "audit_events", "alembic_version"}
NAMED_USERS = ("alice", "bob", "carol", "dr_dave", "dr_erin", "admin")


def pdf_text(data: bytes) -> str:
    assert data.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(data))
    return re.sub(r"\s+", " ", " ".join(page.extract_text() or "" for page in reader.pages))


def assess(client: Client, who: str = "self", age: str = "35") -> str:
    """Answer the triage questions calmly (a telemedicine result); return the CSRF token."""
    token = csrf_from(client.get("/assess").text)
    client.post("/assess/start", data={"who": who, "csrf_token": token})
    for _ in range(100):
        r = client.get("/assess/q")
        if "/assess/q" not in str(r.url):
            return token
        qid = re.search(r'name="question_id" value="([^"]+)"', r.text).group(1)  # type: ignore[union-attr]
        if 'type="number"' in r.text:
            answer = age if qid == "age_years" else "1"
        else:
            options = re.findall(r'name="answer" value="([^"]+)"', r.text)
            answer = next(o for o in [*CALM, options[0]] if o in options)
        client.post("/assess/q", data={"question_id": qid, "answer": answer, "csrf_token": token})
    raise AssertionError("the questionnaire did not finish")


def build_plan(client: Client, token: str, *, kidney: bool, high_risk: bool) -> Any:
    """Walk the plan pages: STarT Back and PEG answered, the rest skipped; the program page."""
    client.get("/assess/plan")
    medicines = {**dict.fromkeys(MEDICINE_FIELDS, "no"), "kidney_disease": "yes" if kidney else "no"}
    r = client.post("/assess/plan/medicines", data={"csrf_token": token, **medicines})
    while "/assess/plan/q/" in str(r.url):
        instrument = str(r.url).rsplit("/", 1)[1]
        if instrument == "startback":
            form = {"csrf_token": token, **(HIGH_RISK if high_risk else LOW_RISK)}
        elif instrument == "peg":
            form = {"csrf_token": token, "pain": "7", "enjoyment": "6", "activity": "8"}
        else:
            form = {"csrf_token": token, "skip": "1"}
        r = client.post(f"/assess/plan/q/{instrument}", data=form)
    assert str(r.url).endswith("/assess/plan/choices"), r.url
    r = client.post("/assess/plan/choices", data={"csrf_token": token})
    assert str(r.url).endswith("/assess/program") and r.status_code == 200
    return r


def sign_up(client: Client, name: str = "pat") -> None:
    token = csrf_from(client.get("/signup").text)
    r = client.post(
        "/signup", data={"username": name, "password": "walking helps my back", "csrf_token": token}
    )
    assert r.status_code == 200


def sign_in(client: Client, who: str) -> None:
    token = csrf_from(client.get("/login").text)
    r = client.post("/login", data={"username": who, "password": demo_password(who), "csrf_token": token})
    assert r.status_code == 200


def session_of(url: str) -> Iterator[Any]:
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as db:
            yield db
    finally:
        engine.dispose()


@pytest.fixture
def planned(clean_db: str, make_client: Callable[..., Client]) -> tuple[Client, str]:
    """A signed-up patient whose draft has a high-risk STarT Back, a PEG and kidney disease."""
    client = make_client(clean_db)
    sign_up(client)
    token = assess(client)
    build_plan(client, token, kidney=True, high_risk=True)
    return client, token


# --- 1. the result page's Save stores the plan answers and scores too ---------------------------


def test_result_page_save_stores_plan_answers_and_scores(planned: tuple[Client, str], clean_db: str) -> None:
    client, _ = planned
    token = csrf_from(client.get("/assess/result").text)
    saved = client.post("/assess/save", data={"csrf_token": token})
    assert "/assessments/" in str(saved.url) and "Your assessment is saved." in saved.text
    assessment_id = str(saved.url).split("/assessments/")[1].split("?")[0]
    client.post("/assess/save", data={"csrf_token": token})  # pressed twice: nothing new
    for db in session_of(clean_db):
        rows = db.scalars(select(ScoreRow)).all()
        assert sorted(r.instrument_id for r in rows) == ["peg", "startback"]
        assert all(r.assessment_id == assessment_id and r.taken_at is not None for r in rows)
        stored = db.scalars(select(PlanAnswersRecord)).one()
        assert stored.assessment_id == assessment_id
        assert stored.answers["medicines"]["kidney_disease"] == "yes"
        kinds = {e.object_type for e in db.scalars(select(AuditEvent).where(AuditEvent.action == "create"))}
        assert {"assessment", "score_record", "plan_answers"} <= kinds
        assert db.scalar(select(func.count()).select_from(Assessment)) == 1


def test_result_page_save_without_a_plan_stores_no_plan(
    clean_db: str, make_client: Callable[..., Client]
) -> None:
    client = make_client(clean_db)
    sign_up(client)
    token = assess(client)
    saved = client.post("/assess/save", data={"csrf_token": token})
    assert "Your assessment is saved." in saved.text
    assert "/program" not in saved.text.split("<main", 1)[-1].split("Download the written plan")[0]
    for db in session_of(clean_db):
        assert db.scalars(select(PlanAnswersRecord)).all() == []
        assert db.scalars(select(ScoreRow)).all() == []


# --- 2. and 3. the saved assessment's written plan is the saved program; the page links it -------


def test_saved_plan_pdf_and_page_use_the_stored_plan(planned: tuple[Client, str]) -> None:
    client, _ = planned
    token = csrf_from(client.get("/assess/result").text)
    saved = client.post("/assess/save", data={"csrf_token": token})
    assessment_id = str(saved.url).split("/assessments/")[1].split("?")[0]
    assert f'href="/assessments/{assessment_id}/program"' in saved.text
    plan = client.get(f"/assessments/{assessment_id}/plan.pdf")
    assert plan.status_code == 200 and plan.headers["content-type"] == "application/pdf"
    text = pdf_text(plan.content)
    # From the stored answers: high-risk STarT Back, and kidney disease rules out the ibuprofen dose.
    assert "psychologically informed care" in text and IBUPROFEN_DOSE not in text
    assert text == pdf_text(client.get(f"/assessments/{assessment_id}/program.pdf").content)


# --- 4. TELESPINE_DISABLED_INSTRUMENTS is a typed setting --------------------------------------


def test_disabled_instruments_are_typed_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    assert not hasattr(clinical, "ProgramSettings")
    plain = make_test_settings("sqlite://")
    assert plain.disabled_instruments == frozenset() and plain.enabled_instruments is None
    monkeypatch.setenv("TELESPINE_DISABLED_INSTRUMENTS", " StartBack , peg,")
    settings = make_test_settings("sqlite://")
    assert settings.disabled_instruments == {"startback", "peg"}
    assert settings.enabled_instruments == {"nrs", "phq2", "gad2"}
    monkeypatch.setenv("TELESPINE_DISABLED_INSTRUMENTS", "startback,oswestry")
    with pytest.raises(ValidationError, match="oswestry"):
        make_test_settings("sqlite://")  # an unknown id stops the start


def test_the_app_reads_the_switch_from_its_settings(db_url: str, make_client: Callable[..., Client]) -> None:
    client = make_client(db_url, disabled_instruments="peg")
    assert clinical.enabled_instruments(client.app.state) == {"nrs", "startback", "phq2", "gad2"}
    assert client.post("/api/v1/instruments/peg/score", json={"responses": {}}).status_code == 404


# --- 5. cases are made on save; no GET request changes a table ----------------------------------


def test_saving_makes_the_case(clean_db: str, make_client: Callable[..., Client]) -> None:
    client = make_client(clean_db)
    sign_up(client)
    token = assess(client)
    client.post("/assess/save", data={"csrf_token": token})
    for db in session_of(clean_db):
        assessment = db.scalars(select(Assessment)).one()
        case = db.scalars(select(CareCase)).one()
        assert case.assessment_id == assessment.id and case.profile_id == assessment.profile_id
        assert case.clinic_id == assessment.profile.clinic_id and case.status == "open"


def _get_routes(routes: list[Any], prefix: str = "") -> Iterator[str]:
    for route in routes:
        if isinstance(route, APIRoute) and "GET" in route.methods:
            yield prefix + route.path
        elif hasattr(route, "original_router"):
            inner = str(getattr(getattr(route, "include_context", None), "prefix", "") or "")
            yield from _get_routes(route.original_router.routes, prefix + inner)


def _counts(db: Any, names: list[str]) -> dict[str, int]:
    """The row count of each table, in one query (the walk takes it after every route)."""
    query = "SELECT " + ", ".join(f'(SELECT COUNT(*) FROM "{t}")' for t in names)
    return dict(zip(names, (int(n) for n in db.execute(text(query)).one()), strict=True))


def _urls(path: str, ids: dict[str, list[str]]) -> list[str]:
    """Every URL of a route: each path parameter filled with each real id of its kind."""
    params = re.findall(r"\{([^}]+)\}", path)
    if not params:
        return [path]
    urls = [path]
    for param in params:
        values = ids.get(param, ["0" * 32])
        urls = [u.replace("{" + param + "}", v) for u in urls for v in values]
    return urls


@pytest.fixture(scope="module")
def walk_ids(seeded_url: str) -> dict[str, list[str]]:
    """The ids the GET walk fills path parameters with, after one fresh save through the API
    (once per module and database, before the first part of the walk on a worker)."""
    from fastapi.testclient import TestClient

    from telespine.web.app import create_app

    app = create_app(make_test_settings(seeded_url))
    try:
        # A fresh save through the API: before, its case was made by the first GET that listed it.
        alice = TestClient(app, base_url="https://testserver")
        login = alice.post(
            "/api/v1/auth/login", json={"username": "alice", "password": demo_password("alice")}
        ).json()
        r = alice.post(
            "/api/v1/assessments",
            json={"findings": {"age_years": 40}},
            headers={"authorization": f"Bearer {login['token']}"},
        )
        assert r.status_code == 201
        new_id = r.json()["id"]
    finally:
        app.state.engine.dispose()
    for db in session_of(seeded_url):
        assert db.scalar(select(func.count()).select_from(CareCase)) == db.scalar(
            select(func.count()).select_from(Assessment)
        )
        child = db.scalars(select(Profile.id).where(Profile.is_child)).first()
        new_case = db.scalars(select(CareCase.id).where(CareCase.assessment_id == new_id)).one()
        other = db.scalars(select(Assessment.id).where(Assessment.id != new_id)).first()
        # The new assessment and one other (owners differ: each user sees own, foreign and clinic rows).
        return {
            "assessment_id": [new_id, *([other] if other else [])],
            "case_id": [new_case, *db.scalars(select(CareCase.id).where(CareCase.id != new_case)).all()[:1]],
            "profile_id": [
                *db.scalars(select(Profile.id).where(Profile.is_child.is_(False))).all()[:1],
                child or "",
            ],
            "booking_id": list(db.scalars(select(VisitBooking.id)).all()[:2]) or ["0" * 32],
            "visit_id": list(db.scalars(select(VisitRequest.id)).all()[:2]) or ["0" * 32],
            "condition": ["back-pain"],
            "audience": ["adult", "pediatric"],
            "instrument_id": ["startback", "nrs"],
            "fmt": ["html"],  # the PDF of the same plan is walked through /assessments/{id}/plan.pdf
        }
    raise AssertionError("no database session")


@pytest.mark.slow
@pytest.mark.parametrize("who", [None, *NAMED_USERS], ids=lambda who: who or "anonymous")
def test_no_get_request_changes_state(
    seeded_url: str,
    walk_ids: dict[str, list[str]],
    make_client: Callable[..., Client],
    one_pdf_per_html: Any,
    who: str | None,
) -> None:
    """Every GET route with every id of its kinds, anonymously and as each named user (a test
    each, so that xdist spreads the walk), changes no table but those in MAY_CHANGE_ON_GET."""
    engine = make_engine(seeded_url)
    try:
        names = [t for t in inspect(engine).get_table_names() if t not in MAY_CHANGE_ON_GET]
    finally:
        engine.dispose()
    walked = 0
    engine = make_engine(seeded_url)
    try:
        client = make_client(seeded_url)
        if who is not None:
            sign_in(client, who)
            # A finished draft, so the /assess pages render (carol checks her child).
            assert assess(client, who="child", age="9") if who == "carol" else assess(client)
        with engine.connect() as conn:
            before = _counts(conn, names)
        for path in sorted(_get_routes(client.app.routes)):
            if path in ("/logout",):
                continue
            for url in _urls(path, walk_ids):
                resp = client.get(url, follow_redirects=False)
                assert resp.status_code < 500, (who, url, resp.status_code)
                walked += 1
            with engine.connect() as conn:
                after = _counts(conn, names)
            assert after == before, (
                who,
                path,
                {t: (before[t], after[t]) for t in after if after[t] != before[t]},
            )
    finally:
        engine.dispose()
    assert walked > 100
    assert one_pdf_per_html.asked if who is not None else True  # each signed-in user reaches a plan PDF


# --- 6. the care safety panel names the configured emergency number ----------------------------


def test_emergency_signs_use_the_configured_number() -> None:
    for audience in ("adult", "pediatric"):
        signs = clinical.emergency_signs(audience, "112")
        assert "112" in signs["line"] and "911" not in signs["line"] and signs["signs"]


def test_emergency_signs_fallback_uses_the_number(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("guide data broken")

    monkeypatch.setattr("telespine.content.emergency_advice", broken)
    signs = clinical.emergency_signs("adult", "112")
    assert "112" in signs["line"] and len(signs["signs"]) >= 3


# --- 7. the program page's save keeps answers apart; its safety net speaks to the parent ---------


def test_program_save_keeps_answers_out_of_findings(planned: tuple[Client, str], clean_db: str) -> None:
    client, token = planned
    saved = client.post("/assess/program/save", data={"csrf_token": token})
    assert "Your plan and your questionnaire scores are saved." in saved.text
    for db in session_of(clean_db):
        version = db.scalars(select(AssessmentVersion)).one()
        assert "answers" not in version.findings and "age_years" in version.findings
        assert version.answers is not None and version.answers.get("age_years") == 35


def test_program_safety_net_speaks_to_the_parent(
    db_url: str, make_client: Callable[..., Client], monkeypatch: pytest.MonkeyPatch
) -> None:
    client = make_client(db_url)
    token = assess(client, who="child", age="10")
    client.post("/assess/plan/medicines", data={"csrf_token": token, **dict.fromkeys(MEDICINE_FIELDS, "no")})

    def boom(*_: object, **__: object) -> None:
        raise RuntimeError("program rules broken")

    monkeypatch.setattr("telespine.program.plan.generate_program", boom)
    page = client.get("/assess/program")
    assert "We could not finish the check" in page.text
    assert "If your child has any of these signs" in page.text
