"""Every endpoint that takes an object id, walked with each named user: who sees what.

alice and bob are patients of clinic A, carol is a parent (child Sam) of clinic A, dr_dave is a
clinician of clinic A, dr_erin of clinic B, admin audits. Denied objects answer 404 with no
health data in the body.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from telespine.store.db import make_engine, make_sessionmaker
from telespine.store.demo import demo_password
from telespine.store.models import Assessment, AuditEvent, Profile, User
from telespine.web.testing import csrf_from

Client = Any
USERS = ["alice", "bob", "carol", "dr_dave", "dr_erin", "admin"]


@pytest.fixture(scope="module")
def ids(seeded_url: str) -> dict[str, str]:
    """Object ids: alice's assessment, carol's child's assessment, and a visit request on alice's."""
    engine = make_engine(seeded_url)
    try:
        with make_sessionmaker(engine)() as db:

            def assessment_of(username: str, child: bool) -> str:
                return db.scalar(
                    select(Assessment.id)
                    .join(Profile, Assessment.profile_id == Profile.id)
                    .join(User, Profile.owner_id == User.id)
                    .where(User.username == username, Profile.is_child.is_(child))
                )

            return {"alice": assessment_of("alice", False), "child": assessment_of("carol", True)}
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def clients(seeded_url: str) -> dict[str, Client]:
    """A signed-in API client (bearer token) for each named user, plus 'anon'."""
    from telespine.web.testing import bearer_clients

    return bearer_clients(seeded_url, USERS)


READ = {"alice": 200, "bob": 404, "carol": 404, "dr_dave": 200, "dr_erin": 404, "admin": 404, "anon": 401}
READ_CHILD = {
    "alice": 404,
    "bob": 404,
    "carol": 200,
    "dr_dave": 200,
    "dr_erin": 404,
    "admin": 404,
    "anon": 401,
}
WRITE = {"alice": 201, "bob": 404, "carol": 404, "dr_dave": 403, "dr_erin": 404, "admin": 404, "anon": 401}
WRITE_CHILD = {
    "alice": 404,
    "bob": 404,
    "carol": 201,
    "dr_dave": 403,
    "dr_erin": 404,
    "admin": 404,
    "anon": 401,
}


def _no_health_data(body: str) -> None:
    for word in ("findings", "disposition", "age_years", "rules", "reason"):
        assert word not in body


@pytest.mark.parametrize("who", [*USERS, "anon"])
def test_read_assessment(clients: dict[str, Client], ids: dict[str, str], who: str) -> None:
    for key, expected in (("alice", READ), ("child", READ_CHILD)):
        r = clients[who].get(f"/api/v1/assessments/{ids[key]}")
        assert r.status_code == expected[who], (key, r.text)
        if r.status_code != 200:
            _no_health_data(r.text)
        else:
            assert r.json()["id"] == ids[key]


@pytest.mark.parametrize("who", [*USERS, "anon"])
def test_fhir_export_of_an_assessment(clients: dict[str, Client], ids: dict[str, str], who: str) -> None:
    """GET /api/v1/assessments/{id}/fhir: the same readers as the assessment itself."""
    for key, expected in (("alice", READ), ("child", READ_CHILD)):
        r = clients[who].get(f"/api/v1/assessments/{ids[key]}/fhir")
        assert r.status_code == expected[who], (key, r.text)
        if r.status_code != 200:
            _no_health_data(r.text)
            assert "Bundle" not in r.text
        else:
            assert r.json()["resourceType"] == "Bundle" and r.json()["type"] == "transaction"


@pytest.mark.parametrize("who", [*USERS, "anon"])
def test_add_version_and_request_visit(clients: dict[str, Client], ids: dict[str, str], who: str) -> None:
    for key, expected in (("alice", WRITE), ("child", WRITE_CHILD)):
        age = 40 if key == "alice" else 12
        r = clients[who].post(
            f"/api/v1/assessments/{ids[key]}/versions", json={"findings": {"age_years": age}}
        )
        assert r.status_code == expected[who], (key, r.text)
        if r.status_code >= 400:
            _no_health_data(r.text)
        v = clients[who].post(f"/api/v1/assessments/{ids[key]}/visit-requests")
        assert v.status_code == expected[who], (key, v.text)
        if v.status_code == 201:
            visit_id = v.json()["id"]
            for reader in [*USERS, "anon"]:
                got = clients[reader].get(f"/api/v1/visit-requests/{visit_id}")
                want = (READ if key == "alice" else READ_CHILD)[reader]
                assert got.status_code == want, (reader, key)


@pytest.mark.parametrize("who", [*USERS, "anon"])
def test_list_shows_only_visible_assessments(
    clients: dict[str, Client], ids: dict[str, str], who: str
) -> None:
    r = clients[who].get("/api/v1/assessments")
    if who == "anon":
        assert r.status_code == 401
        return
    seen = {a["id"] for a in r.json()}
    assert (ids["alice"] in seen) == (READ[who] == 200)
    assert (ids["child"] in seen) == (READ_CHILD[who] == 200)


@pytest.mark.parametrize("who", [*USERS, "anon"])
def test_save_for_a_profile(clients: dict[str, Client], seeded_url: str, who: str) -> None:
    engine = make_engine(seeded_url)
    with make_sessionmaker(engine)() as db:
        child_profile = db.scalar(select(Profile.id).where(Profile.is_child.is_(True)))
    engine.dispose()
    r = clients[who].post(
        "/api/v1/assessments", json={"findings": {"age_years": 9}, "profile_id": child_profile}
    )
    assert r.status_code == {"carol": 201, "anon": 401}.get(who, 404), r.text
    own = clients[who].post("/api/v1/assessments", json={"findings": {"age_years": 30}})
    assert own.status_code == {"alice": 201, "bob": 201, "carol": 201, "anon": 401}.get(who, 403)


@pytest.mark.parametrize("who", [*USERS, "anon"])
def test_audit_log_is_for_admins_only(clients: dict[str, Client], who: str) -> None:
    r = clients[who].get("/api/v1/audit")
    assert r.status_code == {"admin": 200, "anon": 401}.get(who, 404)


def test_reads_and_writes_are_audited(
    clients: dict[str, Client], ids: dict[str, str], seeded_url: str
) -> None:
    clients["dr_dave"].get(f"/api/v1/assessments/{ids['child']}")
    events = clients["admin"].get("/api/v1/audit", params={"actor": "dr_dave", "action": "read"}).json()
    assert any(e["object_id"] == ids["child"] for e in events)
    engine = make_engine(seeded_url)
    with make_sessionmaker(engine)() as db:
        details = [e.detail or "" for e in db.scalars(select(AuditEvent)).all()]
    engine.dispose()
    assert not any("age_years" in d or "fever" in d for d in details)


@pytest.mark.usefixtures("one_pdf_per_html")  # the same plans' PDFs, each rendered once
@pytest.mark.parametrize("who", [*USERS, "anon"])
def test_assessment_pages(
    seeded_url: str, make_client: Callable[..., Client], ids: dict[str, str], who: str
) -> None:
    client = make_client(seeded_url)
    if who != "anon":
        token = csrf_from(client.get("/login").text)
        client.post("/login", data={"username": who, "password": demo_password(who), "csrf_token": token})
    for key, expected in (("alice", READ), ("child", READ_CHILD)):
        r = client.get(f"/assessments/{ids[key]}", follow_redirects=False)
        want = 303 if who == "anon" else expected[who]
        assert r.status_code == want, (key, who)
        if want == 404:
            _no_health_data(r.text)
        plan = client.get(f"/assessments/{ids[key]}/plan.pdf", follow_redirects=False)
        assert plan.status_code == want, ("plan", key, who)
    page = client.get("/")
    if who in ("bob", "dr_erin", "admin"):
        token = csrf_from(page.text)
        r = client.post(
            f"/assessments/{ids['alice']}/visit", data={"csrf_token": token}, follow_redirects=False
        )
        assert r.status_code == 404
    if who != "anon":
        # The page twin of POST .../versions: only the patient (or parent) adds a version
        token = csrf_from(page.text)
        for key, owner in (("alice", "alice"), ("child", "carol")):
            r = client.post(
                f"/assessments/{ids[key]}/versions", data={"csrf_token": token}, follow_redirects=False
            )
            readable = (READ if key == "alice" else READ_CHILD)[who] == 200
            want = 303 if who == owner else (403 if readable else 404)  # 303: no answers yet, to /assess
            assert r.status_code == want, ("versions page", key, who, r.status_code)
            if want == 404:
                _no_health_data(r.text)


def test_audit_search_by_time(clients: dict[str, Client]) -> None:
    admin = clients["admin"]
    clients["alice"].get("/api/v1/assessments")  # at least one audited read
    everything = admin.get("/api/v1/audit", params={"since": "2000-01-01T00:00:00"}).json()
    assert everything
    assert admin.get("/api/v1/audit", params={"until": "2000-01-01T00:00:00Z"}).json() == []
    newest = everything[0]["at"]
    assert admin.get("/api/v1/audit", params={"since": newest, "limit": 500}).json()
    bad = admin.get("/api/v1/audit", params={"since": "9999-12-31T23:59:59-14:00"})
    assert bad.status_code == 422


OWN_EXPORT = {
    "alice": 200,
    "bob": 200,
    "carol": 200,
    "dr_dave": 404,
    "dr_erin": 404,
    "admin": 404,
    "anon": 401,
}


@pytest.mark.parametrize("who", [*USERS, "anon"])
def test_own_data_export_holds_only_ones_own(
    clients: dict[str, Client], ids: dict[str, str], who: str
) -> None:
    """GET /api/v1/me/export (issue 13): patients and parents, their own profiles only."""
    r = clients[who].get("/api/v1/me/export")
    assert r.status_code == OWN_EXPORT[who], r.text[:200]
    if r.status_code != 200:
        _no_health_data(r.text)
        return
    doc = r.json()
    assert doc["account"]["username"] == who
    seen = {a["id"] for p in doc["profiles"] for a in p["assessments"]}
    assert (ids["alice"] in seen) == (who == "alice")
    assert (ids["child"] in seen) == (who == "carol")


@pytest.fixture(scope="module")
def visit_id(seeded_url: str) -> str:
    """A video visit of alice's case booked with dr_dave (issue 11)."""
    import datetime as dt

    from telespine.store import repo, repo_care
    from telespine.store.db import session_scope

    engine = make_engine(seeded_url)
    try:
        with session_scope(make_sessionmaker(engine)) as db:
            alice = db.scalar(select(User).where(User.username == "alice"))
            dave = db.scalar(select(User).where(User.username == "dr_dave"))
            assert alice is not None and dave is not None
            assessment = repo.assessments_for_profiles(db, [repo.ensure_self_profile(db, alice).id])[0]
            case = repo_care.case_for_assessment(db, assessment.id)
            assert case is not None
            day = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=9)
            start = dt.datetime(day.year, day.month, day.day, 7, 40, tzinfo=dt.UTC)
            return repo_care.book_visit(db, case=case, clinician=dave, slot_start=start, mode="video").id
    finally:
        engine.dispose()


JOIN = {"alice": 200, "bob": 404, "carol": 404, "dr_dave": 200, "dr_erin": 404, "admin": 404, "anon": 401}


@pytest.mark.parametrize("who", [*USERS, "anon"])
def test_video_visit_endpoints(clients: dict[str, Client], visit_id: str, who: str) -> None:
    """The call page, the change page and the join API: only the visit's patient and clinician."""
    client = clients[who]
    r = client.get(f"/api/v1/visits/{visit_id}/join")
    assert r.status_code == JOIN[who], who
    if JOIN[who] == 200:
        assert r.json()["role"] == ("clinician" if who == "dr_dave" else "patient") and r.json()["token"]
    for page in ("call", "change"):
        r = client.get(f"/care/visits/{visit_id}/{page}", follow_redirects=False)
        assert r.status_code == (303 if who == "anon" else JOIN[who]), (page, who)
        if r.status_code == 404:
            _no_health_data(r.text)


def test_denied_attempts_are_audited(clients: dict[str, Client], ids: dict[str, str]) -> None:
    """A 404 on someone else's object is in the audit log: who, which object, which route."""
    assert clients["bob"].get(f"/api/v1/assessments/{ids['alice']}").status_code == 404
    events = clients["admin"].get("/api/v1/audit", params={"actor": "bob", "action": "denied"}).json()
    mine = [e for e in events if e["object_id"] == ids["alice"]]
    assert mine and mine[0]["object_type"] == "assessment"
    assert clients["anon"].get(f"/api/v1/assessments/{ids['alice']}").status_code == 401  # not a denial


@pytest.fixture(scope="module")
def case_ids(seeded_url: str, ids: dict[str, str]) -> dict[str, str]:
    """The care cases of alice's and the child's assessments (issue 14 check-ins and steps)."""
    from telespine.store import repo_care

    engine = make_engine(seeded_url)
    try:
        with make_sessionmaker(engine)() as db:
            out = {}
            for key in ("alice", "child"):
                case = repo_care.case_for_assessment(db, ids[key])
                assert case is not None
                out[key] = case.id
            return out
    finally:
        engine.dispose()


# The check-in form and the writes are the patient's (or parent's): readable others get 403.
ASK = {"alice": 200, "bob": 404, "carol": 404, "dr_dave": 403, "dr_erin": 404, "admin": 404, "anon": 401}


@pytest.mark.parametrize("who", [*USERS, "anon"])
def test_checkin_and_steps_endpoints(clients: dict[str, Client], case_ids: dict[str, str], who: str) -> None:
    """Issue 14: the check-in form, check-ins, steps, uploads and the progress page of a case."""
    client, case = clients[who], case_ids["alice"]
    for path in (f"/api/v1/cases/{case}/checkins", f"/api/v1/cases/{case}/steps"):
        r = client.get(path)
        assert r.status_code == READ[who], (path, who)
        if r.status_code == 404:
            _no_health_data(r.text)
    r = client.get(f"/api/v1/cases/{case}/checkin")
    assert r.status_code == ASK[who], who
    r = client.post(
        f"/api/v1/cases/{case}/checkins",
        json={"pain": 2, "function": 9, "medicine_use": "none", "red_flag_check": {}},
    )
    assert r.status_code == {**WRITE, "dr_dave": 403}[who], (who, r.text[:200])
    csv = b"Date,Step count\n2026-03-02,4000\n"
    r = client.post(f"/api/v1/cases/{case}/steps", files={"file": ("s.csv", csv, "text/csv")})
    assert r.status_code == WRITE[who], who
    if r.status_code == 404:
        _no_health_data(r.text)
    r = client.get(f"/care/cases/{case}/progress", follow_redirects=False)
    assert r.status_code == (303 if who == "anon" else READ[who]), who
    child = clients[who].get(f"/api/v1/cases/{case_ids['child']}/checkins")
    assert child.status_code == READ_CHILD[who], who


@pytest.fixture(scope="module")
def checkin_id(seeded_url: str, case_ids: dict[str, str]) -> str:
    """A check-in of alice's case (issue 14)."""
    from telespine.services import checkin as service
    from telespine.store import repo_care
    from telespine.store.db import session_scope

    engine = make_engine(seeded_url)
    try:
        with session_scope(make_sessionmaker(engine)) as db:
            alice = db.scalar(select(User).where(User.username == "alice"))
            case = repo_care.get_case(db, case_ids["alice"])
            assert alice is not None and case is not None
            answers = service.CheckinAnswers(3, 7, "none", {})
            out = service.checkin(db, case, alice, answers, emergency_number="112")
            assert out.checkin is not None
            return out.checkin.id
    finally:
        engine.dispose()


@pytest.mark.parametrize("who", [*USERS, "anon"])
def test_checkin_result_page(
    clients: dict[str, Client], case_ids: dict[str, str], checkin_id: str, who: str
) -> None:
    """GET /care/cases/{case}/checkins/{id}: readers of the case only; under another case, 404."""
    r = clients[who].get(f"/care/cases/{case_ids['alice']}/checkins/{checkin_id}", follow_redirects=False)
    assert r.status_code == (303 if who == "anon" else READ[who]), who
    if r.status_code == 404:
        _no_health_data(r.text)
    other = clients[who].get(f"/care/cases/{case_ids['child']}/checkins/{checkin_id}", follow_redirects=False)
    assert other.status_code in (303, 404), who


@pytest.mark.parametrize("who", [*USERS, "anon"])
def test_medicine_diary_and_lesson_endpoints(
    clients: dict[str, Client], case_ids: dict[str, str], who: str
) -> None:
    """Issue 14: the medicine diary and the lessons of a case: readers read, only the patient
    (or parent) writes; others get 404 with no health data."""
    client, case = clients[who], case_ids["alice"]
    for path in (f"/api/v1/cases/{case}/medicines", f"/api/v1/cases/{case}/lessons"):
        r = client.get(path)
        assert r.status_code == READ[who], (path, who)
        if r.status_code == 404:
            _no_health_data(r.text)
    r = client.post(
        f"/api/v1/cases/{case}/medicines",
        json={"day": "2026-01-05", "taken": [], "warning_signs": {}},
    )
    assert r.status_code == WRITE[who], (who, r.text[:200])
    if r.status_code == 404:
        _no_health_data(r.text)
    r = client.post(f"/api/v1/cases/{case}/lessons/hurt_and_harm/read")
    assert r.status_code == WRITE[who], (who, r.text[:200])
    for page in ("medicines", "lessons", "lessons/hurt_and_harm"):
        r = client.get(f"/care/cases/{case}/{page}", follow_redirects=False)
        assert r.status_code == (303 if who == "anon" else READ[who]), (page, who)
    child = client.get(f"/api/v1/cases/{case_ids['child']}/medicines")
    assert child.status_code == READ_CHILD[who], who
