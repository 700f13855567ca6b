"""The authorization walk over the program endpoints that take an object id.

Same named users as tests/web/test_web_authz.py: alice and bob (patients, clinic A), carol (parent
of Sam, clinic A), dr_dave (clinician, clinic A), dr_erin (clinician, clinic B), admin, anonymous.
A denied object answers 404 without health data.
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
READ = {"alice": 200, "bob": 404, "carol": 404, "dr_dave": 200, "dr_erin": 404, "admin": 404, "anon": 401}
READ_CHILD = {**READ, "alice": 404, "carol": 200}
WRITE = {"alice": 201, "bob": 404, "carol": 404, "dr_dave": 403, "dr_erin": 404, "admin": 404, "anon": 401}
WRITE_CHILD = {**WRITE, "alice": 404, "carol": 201}
HEALTH_WORDS = (
    "scores",
    "category",
    "findings",
    "disposition",
    "responses",
    "ibuprofen",
    "paracetamol",
    "%PDF",
)


@pytest.fixture(scope="module")
def ids(seeded_url: str) -> dict[str, str]:
    """alice's own profile and assessment, and carol's child's profile and assessment."""
    engine = make_engine(seeded_url)
    try:
        with make_sessionmaker(engine)() as db:

            def profile_of(username: str, child: bool) -> str:
                return str(
                    db.scalar(
                        select(Profile.id)
                        .join(User, Profile.owner_id == User.id)
                        .where(User.username == username, Profile.is_child.is_(child))
                    )
                )

            def assessment_of(profile_id: str) -> str:
                return str(db.scalar(select(Assessment.id).where(Assessment.profile_id == profile_id)))

            alice, child = profile_of("alice", False), profile_of("carol", True)
            return {
                "alice": alice,
                "child": child,
                "alice_assessment": assessment_of(alice),
                "child_assessment": assessment_of(child),
            }
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def clients(seeded_url: str) -> dict[str, Client]:
    """A bearer-token API client for each named user, plus 'anon'."""
    from telespine.web.testing import bearer_clients

    return bearer_clients(seeded_url, USERS)


def _no_health_data(body: str) -> None:
    for word in HEALTH_WORDS:
        assert word not in body, word


@pytest.mark.parametrize("who", [*USERS, "anon"])
def test_profile_scores(clients: dict[str, Client], ids: dict[str, str], who: str) -> None:
    for key, read, write in (("alice", READ, WRITE), ("child", READ_CHILD, WRITE_CHILD)):
        body = {"instrument": "nrs", "responses": {"pain": 4}, "taken_at": "2026-05-04T09:30:00Z"}
        w = clients[who].post(f"/api/v1/profiles/{ids[key]}/scores", json=body)
        assert w.status_code == write[who], (key, w.text)
        if w.status_code >= 400:
            _no_health_data(w.text)
        r = clients[who].get(f"/api/v1/profiles/{ids[key]}/scores")
        assert r.status_code == read[who], (key, r.text)
        if r.status_code == 200:
            assert all(row["profile_id"] == ids[key] for row in r.json())
        else:
            _no_health_data(r.text)


@pytest.mark.usefixtures("one_pdf_per_html")  # the same plans' PDFs, each rendered once
@pytest.mark.parametrize("who", [*USERS, "anon"])
def test_saved_plan_pdf(clients: dict[str, Client], ids: dict[str, str], who: str) -> None:
    for key, read in (("alice_assessment", READ), ("child_assessment", READ_CHILD)):
        r = clients[who].get(f"/api/v1/assessments/{ids[key]}/plan.pdf")
        assert r.status_code == read[who], key
        if r.status_code == 200:
            assert r.content.startswith(b"%PDF")
        else:
            _no_health_data(r.text)


def test_unknown_ids_are_404(clients: dict[str, Client]) -> None:
    for path in ("/api/v1/profiles/nope/scores", "/api/v1/assessments/nope/plan.pdf"):
        assert clients["alice"].get(path).status_code == 404
    r = clients["alice"].post(
        "/api/v1/profiles/" + "x" * 500 + "/scores", json={"instrument": "nrs", "responses": {}}
    )
    assert r.status_code == 404


def test_clinician_score_reads_are_audited(clients: dict[str, Client], ids: dict[str, str]) -> None:
    clients["dr_dave"].get(f"/api/v1/profiles/{ids['child']}/scores")
    events = clients["admin"].get("/api/v1/audit", params={"actor": "dr_dave", "action": "list"}).json()
    assert any(e["object_type"] == "score_record" and e["profile_id"] == ids["child"] for e in events)


def test_audit_holds_no_scores(clients: dict[str, Client], ids: dict[str, str], seeded_url: str) -> None:
    clients["alice"].post(
        f"/api/v1/profiles/{ids['alice']}/scores", json={"instrument": "nrs", "responses": {"pain": 9}}
    )
    engine = make_engine(seeded_url)
    try:
        with make_sessionmaker(engine)() as db:
            details = [e.detail or "" for e in db.scalars(select(AuditEvent)).all()]
    finally:
        engine.dispose()
    assert not any("pain" in d for d in details)


@pytest.mark.usefixtures("one_pdf_per_html")  # the same plans' PDFs, each rendered once
@pytest.mark.parametrize("who", [*USERS, "anon"])
def test_saved_program_pages(
    seeded_url: str, make_client: Callable[..., Client], ids: dict[str, str], who: str
) -> None:
    client = make_client(seeded_url)
    if who != "anon":
        token = csrf_from(client.get("/login").text)
        client.post("/login", data={"username": who, "password": demo_password(who), "csrf_token": token})
    for key, read in (("alice_assessment", READ), ("child_assessment", READ_CHILD)):
        for suffix in ("program", "program.pdf", "program.html"):
            r = client.get(f"/assessments/{ids[key]}/{suffix}", follow_redirects=False)
            want = 303 if who == "anon" else read[who]
            assert r.status_code == want, (key, suffix, who)
            if want == 404:
                _no_health_data(r.text)
