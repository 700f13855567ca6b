"""Every clinician-workspace page and endpoint walked with each named user: who sees and does what.

alice and bob: patients of clinic A; carol: parent of Sam (clinic A); dr_dave: clinician of
clinic A; dr_erin: clinic B; admin audits; anon is signed out. Denied objects answer 404 with no
health data in the body; a readable case that the caller may not change answers 403.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from telespine.store import repo_care
from telespine.store.db import make_engine, make_sessionmaker
from telespine.store.models import Assessment, Profile, User

Client = Any
USERS = ["alice", "bob", "carol", "dr_dave", "dr_erin", "admin"]
ALL = [*USERS, "anon"]
LEVELS = ["emergency", "urgent", "prompt", "routine", "telemedicine"]


@pytest.fixture(scope="module")
def ids(seeded_url: str) -> dict[str, str]:
    """Cases of alice and of carol's child, and a finished visit on alice's case booked by dr_dave."""
    engine = make_engine(seeded_url)
    try:
        with make_sessionmaker(engine)() as db:

            def case_of(username: str, child: bool) -> Any:
                a = db.scalar(
                    select(Assessment)
                    .join(Profile, Assessment.profile_id == Profile.id)
                    .join(User, Profile.owner_id == User.id)
                    .where(User.username == username, Profile.is_child.is_(child))
                )
                return repo_care.ensure_case(db, a)

            alice, child = case_of("alice", False), case_of("carol", True)
            dave = db.scalars(select(User).where(User.username == "dr_dave")).one()
            booking = repo_care.book_visit(
                db,
                case=alice,
                clinician=dave,
                slot_start=(dt.datetime.now(dt.UTC) + dt.timedelta(days=9)).replace(
                    hour=9, minute=0, second=0, microsecond=0
                ),
                mode="video",
            )
            repo_care.save_note(db, booking, {"plan": "walks"}, finish=True)
            db.commit()
            return {"alice": alice.id, "child": child.id, "visit": booking.id}
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def clients(seeded_url: str) -> dict[str, Client]:
    from telespine.web.testing import bearer_clients

    return bearer_clients(seeded_url, USERS, follow_redirects=False)


def _day(days: int) -> str:
    """A date `days` ahead: visit times must lie between now and a year ahead."""
    return (dt.datetime.now(dt.UTC) + dt.timedelta(days=days)).date().isoformat()


def _expect(base: dict[str, int], **changes: int) -> dict[str, int]:
    return {**base, **changes}


NONE = dict.fromkeys(USERS, 404) | {"anon": 401}
PAGE_ANON = 303  # pages send a signed-out visitor to the login page
READ_ALICE = _expect(NONE, alice=200, dr_dave=200)
READ_CHILD = _expect(NONE, carol=200, dr_dave=200)


def _check(r: Any, want: int, who: str, what: str) -> None:
    assert r.status_code == want, f"{who} {what}: {r.status_code} {r.text[:200]}"
    if want == 404:
        if r.headers.get("content-type", "").startswith("application/json"):
            assert r.json() == {"detail": "Not found."}
        assert "Alice Archer" not in r.text and "Sam Carter" not in r.text


@pytest.mark.usefixtures("one_pdf_per_html")  # the same plans' PDFs, each rendered once
@pytest.mark.parametrize("who", ALL)
def test_case_reads(clients: dict[str, Client], ids: dict[str, str], who: str) -> None:
    c = clients[who]
    for case, table in ((ids["alice"], READ_ALICE), (ids["child"], READ_CHILD)):
        _check(c.get(f"/api/v1/cases/{case}"), table[who], who, "api case")
        _check(c.get(f"/api/v1/cases/{case}/messages"), table[who], who, "api messages")
        _check(c.get(f"/api/v1/cases/{case}/diary"), table[who], who, "api diary")
        page = table[who] if who != "anon" else PAGE_ANON
        _check(c.get(f"/care/cases/{case}"), page, who, "case page")
    visit = READ_ALICE[who] if who != "anon" else PAGE_ANON
    _check(c.get(f"/care/visits/{ids['visit']}"), visit, who, "visit page")
    _check(c.get(f"/care/visits/{ids['visit']}/plan.pdf"), visit, who, "visit plan")
    _check(c.get("/care/visits/nonexistent"), 404 if who != "anon" else PAGE_ANON, who, "unknown visit")


@pytest.mark.parametrize("who", ALL)
def test_clinician_actions(clients: dict[str, Client], ids: dict[str, str], who: str) -> None:
    c = clients[who]
    case = ids["alice"]
    ok = {"dr_dave"}
    api = [
        (f"/api/v1/cases/{case}/claim", None, 200),
        (f"/api/v1/cases/{case}/overrides", {"disposition": "routine", "reason": "authz walk"}, 201),
        (f"/api/v1/cases/{case}/bookings", {"slot_start": f"{_day(10 + len(who) % 10)}T08:00:00Z"}, 201),
    ]
    for path, body, success in api:
        want = success if who in ok else NONE[who]
        _check(c.post(path, json=body) if body else c.post(path), want, who, path)
    pages = [
        (f"/care/cases/{case}/claim", {}),
        (f"/care/cases/{case}/override", {"disposition": "routine", "reason": "authz walk"}),
        (f"/care/cases/{case}/acknowledge", {}),
        (f"/care/cases/{case}/bookings", {"slot_start": f"{_day(20 + len(who) % 10)}T08:00"}),
        # the demo visit is finished: its note is locked, later changes are signed addenda
        (f"/care/visits/{ids['visit']}/addenda", {"text": "authz walk addendum"}),
    ]
    for path, form in pages:
        want = 303 if who in ok else (PAGE_ANON if who == "anon" else 404)
        if who == "anon":
            want = 401  # a signed-out POST never reaches the route (no session, no CSRF token)
        r = c.post(path, data=form)
        assert r.status_code in ((want, 403) if who == "anon" else (want,)), f"{who} {path}: {r.status_code}"


@pytest.mark.parametrize("who", ALL)
def test_patient_actions(clients: dict[str, Client], ids: dict[str, str], who: str) -> None:
    c = clients[who]
    day = dt.datetime.now(dt.UTC).date().isoformat()
    for case, owner in ((ids["alice"], "alice"), (ids["child"], "carol")):
        readable = {owner, "dr_dave"}
        if who != "anon":  # first, while the result is still telemedicine (the diary below re-triages)
            form_want = 303 if who == owner else (403 if who in readable else 404)
            r = c.post(f"/care/cases/{case}/visit-request", data={"mode": "video"})
            assert r.status_code == form_want, f"{who} visit-request: {r.status_code}"
        # No red-flag answers: all count as "not sure", which re-triages to at least prompt.
        diary = {"day": day, "pain": 2, "function": 8, "medicine_use": "none"}
        want = 201 if who == owner else (403 if who in readable else NONE[who])
        _check(c.post(f"/api/v1/cases/{case}/diary", json=diary), want, who, "diary")
        want = 201 if who in readable else NONE[who]
        _check(
            c.post(f"/api/v1/cases/{case}/messages", json={"body": "Feeling a bit better."}), want, who, "msg"
        )
        if who == owner:  # now the result needs care in person: no tele-visit request any more
            again = c.post(f"/api/v1/cases/{case}/visit-requests", json={"mode": "phone"})
            assert again.status_code == 409


@pytest.mark.parametrize("who", ALL)
def test_lists(clients: dict[str, Client], who: str) -> None:
    c = clients[who]
    queue = {"dr_dave": 200, "dr_erin": 200}.get(who, NONE[who])
    r = c.get("/api/v1/queue")
    _check(r, queue, who, "queue")
    if who == "dr_erin":
        assert r.json() == []  # clinic B has no patients in the demo
    if who == "dr_dave":
        levels = [LEVELS.index(x["disposition"]) for x in r.json()]
        assert levels == sorted(levels) and {0, 1, 3} <= set(levels)  # other tests here re-triage some
    feedback = {"dr_dave": 200, "dr_erin": 200, "admin": 200}.get(who, NONE[who])
    _check(c.get("/api/v1/ruleset-feedback"), feedback, who, "feedback")
    page = queue if who != "anon" else PAGE_ANON
    _check(c.get("/clinic/queue"), page, who, "queue page")
    page = feedback if who != "anon" else PAGE_ANON
    _check(c.get("/care/feedback"), page, who, "feedback page")
    mine = {"alice": 200, "bob": 200, "carol": 200, "dr_dave": 303, "dr_erin": 303}.get(who, 404)
    _check(c.get("/care"), mine if who != "anon" else PAGE_ANON, who, "my cases")


@pytest.mark.parametrize("who", ALL)
def test_escalation_clear_check_and_emergency_page(
    clients: dict[str, Client], ids: dict[str, str], who: str
) -> None:
    """The endpoints of issue 10: clearing an escalation (clinicians of the clinic), the one-minute
    red-flag check (the patient or parent) and the emergency page (whoever may read the case)."""
    c = clients[who]
    for case, owner in ((ids["alice"], "alice"), (ids["child"], "carol")):
        readable = {owner, "dr_dave"}
        table = READ_ALICE if owner == "alice" else READ_CHILD
        r = c.post(f"/api/v1/cases/{case}/escalation/clear", json={"reason": "authz walk"})
        if who == "dr_dave":
            assert r.status_code in (200, 409), r.text  # 409: nothing held the case
        else:
            _check(r, NONE[who], who, "api clear")
        want = 201 if who == owner else (403 if who in readable else NONE[who])
        _check(c.post(f"/api/v1/cases/{case}/red-flag-check", json={"answers": {}}), want, who, "api check")
        page = 200 if who == owner else (403 if who in readable else 404)
        _check(c.get(f"/care/cases/{case}/check"), page if who != "anon" else PAGE_ANON, who, "check page")
        _check(
            c.get(f"/care/cases/{case}/emergency"),
            table[who] if who != "anon" else PAGE_ANON,
            who,
            "emergency",
        )
        if who == "anon":
            continue  # a signed-out POST never reaches the route
        form = {"reason": "authz walk"}
        r = c.post(f"/care/cases/{case}/escalation/clear", data=form)
        assert r.status_code == (303 if who == "dr_dave" else 404), f"{who} clear page: {r.status_code}"
        r = c.post(f"/care/cases/{case}/check", data={"rf_fever": "no"})
        want = 303 if who == owner else (403 if who in readable else 404)
        assert r.status_code == want, f"{who} check page: {r.status_code}"
