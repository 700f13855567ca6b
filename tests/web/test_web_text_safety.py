"""Free text that once was lost or unread: a control character (NUL) in a message or a form
made a red-flag message a 422 that was never screened; a lone surrogate was a 500; a diary note
was stored but never screened. Runs on SQLite and PostgreSQL (db_url). Its own module, so the
cases it raises do not change the seeded cases other modules test."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from test_web_care_failsafe_and_slots import case_ids, dave_web, diary_doc, session

from telespine.store.db import session_scope
from telespine.store.models_care import CareCase, DiaryRecord
from telespine.web.testing import bearer, csrf_from, login

Client = TestClient
__all__ = ["dave_web", "session"]  # fixtures used by the tests below


def test_control_characters_in_values_become_spaces_so_red_flags_are_never_lost(
    make_client: Callable[..., Client], seeded_url: str, dave_web: Client, session: Any
) -> None:
    """A stray NUL once made "I wet myself" a 422 that was never screened: now the value is
    kept with a space in its place, stored (PostgreSQL cannot store NUL) and screened."""
    sam = case_ids(dave_web)["Sam Carter"]
    carol = bearer(make_client, seeded_url, "carol")
    r = carol.post(f"/api/v1/cases/{sam}/messages", json={"body": "My son wet himself\x00 today"})
    assert r.status_code == 201, r.text
    assert r.json()["flagged"] is True and r.json()["safety_net"]
    r = carol.post(
        f"/api/v1/cases/{sam}/diary", json=diary_doc(dt.datetime.now(dt.UTC).date(), note="sore\x01 back")
    )
    assert r.status_code == 201, r.text
    messages = carol.get(f"/api/v1/cases/{sam}/messages").json()
    bodies = [m["body"] for m in messages]
    assert "My son wet himself  today" in bodies and all("\x00" not in b for b in bodies)
    # tab and newlines are real text and stay as they are
    ok = carol.post(f"/api/v1/cases/{sam}/messages", json={"body": "Sore\tback\r\nafter football."})
    assert ok.status_code == 201, ok.text
    assert "Sore\tback\r\nafter football." in [
        m["body"] for m in carol.get(f"/api/v1/cases/{sam}/messages").json()
    ]
    # a control character in a KEY is still refused, naming no key text
    r = carol.post(f"/api/v1/cases/{sam}/messages", json={"bo\x00dy": "hi"})
    assert r.status_code == 422 and r.json()["errors"] == [
        {"field": "(a key)", "problem": "control character"}
    ]
    # forms: url-encoded and multipart values are cleaned, then saved and screened
    web = login(make_client, seeded_url, "carol")
    token = csrf_from(web.get(f"/care/cases/{sam}").text)
    r = web.post(
        f"/care/cases/{sam}/messages", data={"body": "he can't feel his legs\x00", "csrf_token": token}
    )
    # a flagged message shows the safety net, or the emergency page for an emergency (issue 10)
    assert r.status_code == 200 and ('id="safety"' in r.text or 'id="emergency"' in r.text), r.text[:300]
    r = web.post(
        f"/care/cases/{sam}/messages",
        files={"body": (None, "pain\x00 in the morning"), "csrf_token": (None, token)},
    )
    assert r.status_code == 200, r.text[:300]
    bodies = [m["body"] for m in carol.get(f"/api/v1/cases/{sam}/messages").json()]
    assert "he can't feel his legs " in bodies and "pain  in the morning" in bodies
    # a form field NAME with a control character is refused
    r = web.post(f"/care/cases/{sam}/messages", data={"bo\x00dy": "hi", "csrf_token": token})
    assert r.status_code == 422
    # sign-in: a cleaned user name is just a wrong user name (no 422, no 500)
    anon = make_client(seeded_url)
    token = csrf_from(anon.get("/login").text)
    r = anon.post("/login", data={"username": "alice\x00", "password": "x", "csrf_token": token})
    assert r.status_code in (400, 401, 200) and "alice\x00" not in r.text
    # ids and queries in the address: a NUL reached PostgreSQL as a parameter (a 500)
    for path in (
        "/api/v1/cases/%00",
        "/care/cases/a%00b",
        "/api/v1/queue?disposition=%00",
        "/guides/search?q=%00",
    ):
        r = carol.get(path)
        assert r.status_code == 400 and r.json()["errors"] == [
            {"field": "url", "problem": "control character"}
        ]
    with session_scope(session) as db:
        case = db.get(CareCase, sam)
        assert case is not None and case.raised_at is not None


def test_lone_surrogates_get_422_naming_the_field_never_a_500(
    make_client: Callable[..., Client], seeded_url: str, dave_web: Client
) -> None:
    sam = case_ids(dave_web)["Sam Carter"]
    carol = bearer(make_client, seeded_url, "carol")
    headers = {"Content-Type": "application/json"}
    r = carol.post(
        f"/api/v1/cases/{sam}/messages", content=b'{"body": "I wet myself \\ud800"}', headers=headers
    )
    assert r.status_code == 422, r.text
    assert r.json()["errors"] == [{"field": "body", "problem": "invalid character"}]
    r = carol.post(f"/api/v1/cases/{sam}/messages", content=b'{"bo\\udfffdy": "hi"}', headers=headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "(a key)"
    r = carol.post("/api/v1/triage", content=b'{"age_years": 40, "x\\ud800": 1}', headers=headers)
    assert r.status_code == 422 and "\\ud800" not in r.text
    r = carol.post("/api/v1/triage", content=b'"\\ud800"', headers=headers)
    assert r.status_code == 422 and r.json()["errors"][0]["problem"] == "invalid character"


def test_diary_note_with_a_red_flag_raises_the_case_and_shows_the_safety_net(
    make_client: Callable[..., Client], seeded_url: str, dave_web: Client, session: Any
) -> None:
    alice_case = case_ids(dave_web)["Alice Archer"]
    with session_scope(session) as db:
        db.execute(
            update(CareCase).where(CareCase.id == alice_case).values(raised_at=None, raised_reason=None)
        )
    alice = bearer(make_client, seeded_url, "alice")
    today = dt.datetime.now(dt.UTC).date()
    # every check answered "no", but the note says otherwise
    r = alice.post(
        f"/api/v1/cases/{alice_case}/diary", json=diary_doc(today, note="I can't feel my groin since lunch")
    )
    assert r.status_code == 201, r.text
    assert any("between your legs" in sign for sign in r.json()["safety_net"])
    with session_scope(session) as db:
        case = db.get(CareCase, alice_case)
        assert case is not None and case.raised_at is not None
        row = db.scalars(select(DiaryRecord).where(DiaryRecord.id == r.json()["id"])).one()
        assert row.note_flagged is True and row.note_screening is not None
        assert [f["concept"] for f in row.note_screening["flags"]] == ["saddle_numbness"]
    # the chart lists the flagged note for the clinician
    chart = dave_web.get(f"/care/cases/{alice_case}").text
    assert "can&#39;t feel my groin" in chart or "can't feel my groin" in chart
    # a calm note with a negated symptom neither flags nor raises
    with session_scope(session) as db:
        db.execute(
            update(CareCase).where(CareCase.id == alice_case).values(raised_at=None, raised_reason=None)
        )
    r = alice.post(
        f"/api/v1/cases/{alice_case}/diary",
        json=diary_doc(today - dt.timedelta(days=1), note="No numbness, walked the dog."),
    )
    assert r.status_code == 201, r.text
    assert r.json()["safety_net"] == [] and r.json()["escalations"] == []


def test_diary_note_whose_screening_fails_is_raised_for_review(
    make_client: Callable[..., Client],
    seeded_url: str,
    dave_web: Client,
    session: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import telespine.care

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("model could not load")

    monkeypatch.setattr(telespine.care, "screen_message", broken)
    bob_case = case_ids(dave_web)["Bob Baker"]
    with session_scope(session) as db:
        db.execute(update(CareCase).where(CareCase.id == bob_case).values(raised_at=None, raised_reason=None))
    bob = bearer(make_client, seeded_url, "bob")
    r = bob.post(
        f"/api/v1/cases/{bob_case}/diary",
        json=diary_doc(dt.datetime.now(dt.UTC).date(), note="feeling odd today"),
    )
    assert r.status_code == 201, r.text
    assert r.json()["safety_net"]  # an unread note is never reassuring
    with session_scope(session) as db:
        case = db.get(CareCase, bob_case)
        assert case is not None and case.raised_at is not None


def test_multipart_values_are_cleaned_however_the_parts_are_written(
    make_client: Callable[..., Client], seeded_url: str, dave_web: Client
) -> None:
    """A "--boundary" inside a value (not after a line break) once ended the cleaning of that value,
    and "filename=" anywhere in a part's head (an x-filename parameter) made a text part read as a
    file: the NUL reached PostgreSQL and the red-flag message was lost (a failed save)."""
    sam = case_ids(dave_web)["Sam Carter"]
    web = login(make_client, seeded_url, "carol")
    token = csrf_from(web.get(f"/care/cases/{sam}").text).encode()
    carol = bearer(make_client, seeded_url, "carol")
    for label, disposition, value in (
        (b"boundary", b'name="body"', b"my son --XyZ wet himself\x00 boundary"),
        (b"x-filename", b'name="body"; x-filename="a.txt"', b"my son wet himself\x00 x-filename"),
        (b"quoted", b'name="body"', b"my son wet himself\x00 quoted"),
    ):
        body = (
            b'--XyZ\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n'
            + token
            + b"\r\n--XyZ\r\nContent-Disposition: form-data; "
            + disposition
            + b"\r\n\r\n"
            + value
            + b"\r\n--XyZ--\r\n"
        )
        boundary = b'"XyZ"; charset=utf-8' if label == b"quoted" else b"XyZ"
        r = web.post(
            f"/care/cases/{sam}/messages",
            content=body,
            headers={"Content-Type": (b"multipart/form-data; boundary=" + boundary).decode()},
        )
        assert r.status_code == 200 and "alert=failed" not in str(r.url), (label, str(r.url))
        bodies = [m["body"] for m in carol.get(f"/api/v1/cases/{sam}/messages").json()]
        assert value.replace(b"\x00", b" ").decode() in bodies, label
        assert all("\x00" not in b for b in bodies), label
