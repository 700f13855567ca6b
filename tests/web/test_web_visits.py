"""The video visit's signalling socket and join tokens, on SQLite and PostgreSQL: only the visit's
patient (or parent) and its clinician get in, with a signed, expiring token bound to one visit and
one user; the waiting room and admit; in-call chat lands in the case messages and is screened."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import select
from starlette.websockets import WebSocketDisconnect

from telespine.store import repo, repo_care
from telespine.store.db import make_engine, make_sessionmaker, session_scope
from telespine.store.models import User
from telespine.store.models_care import CareMessage
from telespine.web import visits
from telespine.web.sessions import COOKIE_NAME
from telespine.web.testing import TEST_SECRET, login

Client = Any


def _slot(days: int, hour: int) -> dt.datetime:
    day = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=days)
    return dt.datetime(day.year, day.month, day.day, hour, 0, tzinfo=dt.UTC)


def book_for(url: str, owner: str, clinician: str, slot: dt.datetime) -> str:
    """Book a video visit on the latest case of the owner's first profile; returns the booking id."""
    engine = make_engine(url)
    try:
        with session_scope(make_sessionmaker(engine)) as db:
            user = db.scalar(select(User).where(User.username == owner))
            doc = db.scalar(select(User).where(User.username == clinician))
            assert user is not None and doc is not None
            profiles = repo.profiles_of(db, user)
            assessment = repo.assessments_for_profiles(db, [p.id for p in profiles])[0]
            case = repo_care.case_for_assessment(db, assessment.id)
            assert case is not None
            booking = repo_care.book_visit(db, case=case, clinician=doc, slot_start=slot, mode="video")
            return booking.id
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def booked(seeded_url: str) -> dict[str, str]:
    return {
        "alice1": book_for(seeded_url, "alice", "dr_dave", _slot(2, 9)),
        "alice2": book_for(seeded_url, "alice", "dr_dave", _slot(2, 10)),
        "carol": book_for(seeded_url, "carol", "dr_dave", _slot(2, 11)),
    }


@pytest.fixture
def signed_in(make_client: Callable[..., Client], seeded_url: str) -> Iterator[Callable[[str], Client]]:
    # require_totp=False: the demo clinicians sign in with a password only (Settings ignores the
    # name where two-factor sign-in does not exist)
    yield lambda name: login(lambda url: make_client(url, require_totp=False), seeded_url, name)


def same_app(client: Client, name: str) -> Client:
    """A second browser on the same app (the rooms live in one app's memory)."""
    from fastapi.testclient import TestClient

    from telespine.store.demo import demo_password
    from telespine.web.testing import csrf_from

    other = TestClient(client.app, base_url="https://testserver")
    token = csrf_from(other.get("/login").text)
    r = other.post("/login", data={"username": name, "password": demo_password(name), "csrf_token": token})
    assert r.status_code == 200
    return other


def _ws(client: Client, visit: str, token: str) -> Any:
    # The test client's socket is ws://, where the jar keeps back the Secure session cookie.
    cookie = client.cookies.get(COOKIE_NAME)
    headers = {"cookie": f"{COOKIE_NAME}={cookie}"} if cookie else {}
    return client.websocket_connect(f"/ws/visits/{visit}?token={token}", headers=headers)


def _token(client: Client, visit: str) -> str:
    r = client.get(f"/api/v1/visits/{visit}/join")
    assert r.status_code == 200, r.text
    return str(r.json()["token"])


def _refused(client: Client, visit: str, token: str) -> None:
    with pytest.raises(WebSocketDisconnect) as info, _ws(client, visit, token) as ws:
        ws.receive_json()
    assert info.value.code == visits.CLOSE_REFUSED


def test_turn_credentials_follow_the_coturn_rest_scheme() -> None:
    now = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
    username, credential = visits.turn_credentials("s3cret", "u1", now, 600)
    assert username == f"{int(now.timestamp()) + 600}:u1"
    expected = base64.b64encode(hmac.new(b"s3cret", username.encode(), hashlib.sha1).digest()).decode()
    assert credential == expected


def test_ice_servers_come_from_settings() -> None:
    from telespine.web.testing import make_test_settings

    settings = make_test_settings(
        "sqlite://",
        stun_urls="stun:stun.example.org:3478",
        turn_urls="turn:t.example.org:3478?transport=udp",
        turn_secret="x" * 40,
    )
    servers = visits.ice_servers(settings, "u1", dt.datetime.now(dt.UTC))
    assert servers[0] == {"urls": ["stun:stun.example.org:3478"]}
    assert servers[1]["urls"] == ["turn:t.example.org:3478?transport=udp"]
    assert servers[1]["username"].endswith(":u1") and servers[1]["credential"]
    assert visits.ice_servers(make_test_settings("sqlite://"), "u1", dt.datetime.now(dt.UTC)) == []


def test_join_token_is_bound_to_visit_user_and_time() -> None:
    now = dt.datetime.now(dt.UTC)
    token = visits.make_join_token(TEST_SECRET, "v1", "u1", now, 60)
    visits.check_join_token(TEST_SECRET, token, "v1", "u1", now)
    for visit, user, when, secret in [
        ("v2", "u1", now, TEST_SECRET),
        ("v1", "u2", now, TEST_SECRET),
        ("v1", "u1", now + dt.timedelta(seconds=61), TEST_SECRET),
        ("v1", "u1", now, TEST_SECRET + "x"),
    ]:
        with pytest.raises(visits.BadToken):
            visits.check_join_token(secret, token, visit, user, when)
    forged = token.rsplit(".", 1)[0].replace(token.split(".")[2], str(int(now.timestamp()) + 99999))
    with pytest.raises(visits.BadToken):
        visits.check_join_token(TEST_SECRET, forged + "." + token.rsplit(".", 1)[1], "v1", "u1", now)


def test_call_page_and_join_only_for_the_visits_patient_and_clinician(
    booked: dict[str, str], signed_in: Callable[[str], Client]
) -> None:
    visit = booked["alice1"]
    for name, status in [
        ("alice", 200),
        ("dr_dave", 200),
        ("bob", 404),
        ("carol", 404),
        ("dr_erin", 404),
        ("admin", 404),
    ]:
        client = signed_in(name)
        assert client.get(f"/care/visits/{visit}/call").status_code == status, name
        assert client.get(f"/api/v1/visits/{visit}/join").status_code == status, name
    carol = signed_in("carol")  # the parent joins the child's visit
    assert carol.get(f"/care/visits/{booked['carol']}/call").status_code == 200
    page = signed_in("dr_dave").get(f"/care/visits/{booked['carol']}/call").text
    assert "Parent: Carol Carter" in page


def test_outsiders_socket_is_refused_and_a_token_opens_only_its_visit(
    booked: dict[str, str],
    signed_in: Callable[[str], Client],
    make_client: Callable[..., Client],
    seeded_url: str,
) -> None:
    alice = signed_in("alice")
    token = _token(alice, booked["alice1"])
    _refused(
        make_client(seeded_url, require_totp=False), booked["alice1"], token
    )  # not signed in, with a stolen token
    _refused(signed_in("bob"), booked["alice1"], token)  # another patient with alice's token
    _refused(signed_in("dr_erin"), booked["alice1"], token)  # a clinician of another clinic
    _refused(alice, booked["alice2"], token)  # alice's own other visit: the token is for one visit
    _refused(alice, booked["alice1"], "")
    _refused(alice, booked["alice1"], token[:-2] + "AA")
    dave = signed_in("dr_dave")
    _refused(dave, booked["alice1"], token)  # a token is bound to its user too
    with _ws(alice, booked["alice1"], token) as ws:
        assert ws.receive_json() == {"type": "joined", "role": "patient"}


def test_waiting_room_admit_and_relay(booked: dict[str, str], signed_in: Callable[[str], Client]) -> None:
    visit = booked["alice1"]
    alice = signed_in("alice")
    dave = same_app(alice, "dr_dave")
    # One event loop for both sockets, as in a real worker: outside a `with` block each test
    # client runs every socket in an event loop of its own, and the room's asyncio queues then
    # wake nobody across loops (the test hung under xdist).
    with alice, _ws(alice, visit, _token(alice, visit)) as pws:
        dave.portal = alice.portal
        assert pws.receive_json()["type"] == "joined"
        assert pws.receive_json() == {"type": "waiting"}
        with _ws(dave, visit, _token(dave, visit)) as cws:
            assert cws.receive_json() == {"type": "joined", "role": "clinician"}
            assert cws.receive_json() == {"type": "waiting-room", "waiting": True, "name": "Alice Archer"}
            # before admit, nothing is relayed
            pws.send_json({"type": "signal", "data": {"candidate": {"candidate": "x"}}})
            cws.send_json({"type": "ping", "t": 1})
            assert cws.receive_json() == {"type": "pong", "t": 1}
            pws.send_json({"type": "admit"})  # a patient cannot admit themselves
            cws.send_json({"type": "admit"})
            assert pws.receive_json() == {"type": "admitted"}
            assert cws.receive_json() == {"type": "start", "offerer": True}
            assert pws.receive_json() == {"type": "start", "offerer": False}
            cws.send_json({"type": "signal", "data": {"description": {"type": "offer", "sdp": "v=0"}}})
            assert pws.receive_json() == {
                "type": "signal",
                "data": {"description": {"type": "offer", "sdp": "v=0"}},
            }
            pws.send_json({"type": "call-me", "phone": "+44 20 7946 0000"})
            assert pws.receive_json() == {"type": "call-me-sent"}
            assert cws.receive_json() == {
                "type": "call-me",
                "phone": "+44 20 7946 0000",
                "name": "Alice Archer",
            }
        assert pws.receive_json() == {"type": "peer-left", "role": "clinician"}
    dave.portal = None  # alice's event loop has ended with the block
    page = dave.get(f"/care/visits/{visit}/call").text
    assert "+44 20 7946 0000" in page


def test_in_call_chat_is_a_screened_case_message(
    booked: dict[str, str], signed_in: Callable[[str], Client], seeded_url: str
) -> None:
    visit = booked["alice1"]
    alice = signed_in("alice")
    with _ws(alice, visit, _token(alice, visit)) as ws:
        ws.receive_json()
        ws.receive_json()
        ws.send_json({"type": "chat", "text": "The stretch helps a bit."})
        line = ws.receive_json()
        assert line["type"] == "chat" and line["text"] == "The stretch helps a bit." and not line["flagged"]
        ws.send_json({"type": "chat", "text": "Since this morning I wet myself and my bum feels numb"})
        line = ws.receive_json()
        assert line["type"] == "chat" and line["flagged"] is True
        safety = ws.receive_json()
        assert safety["type"] == "safety" and safety["signs"]
    engine = make_engine(seeded_url)
    try:
        with session_scope(make_sessionmaker(engine)) as db:
            booking = repo_care.get_booking(db, visit)
            assert booking is not None
            rows = db.scalars(select(CareMessage).where(CareMessage.case_id == booking.case_id)).all()
            bodies = {m.body: m.flagged for m in rows}
            case = repo_care.get_case(db, booking.case_id)
            assert case is not None and case.raised_at is not None
    finally:
        engine.dispose()
    assert bodies["The stretch helps a bit."] is False
    assert bodies["Since this morning I wet myself and my bum feels numb"] is True
    # the case is now an emergency: the patient's call page and join refuse the video visit
    assert alice.get(f"/care/visits/{visit}/call").status_code == 409
    assert alice.get(f"/api/v1/visits/{visit}/join").status_code == 409
