"""Booking a tele-visit straight from the triage result page (issue 11), on SQLite and PostgreSQL.

A patient whose result allows telemedicine saves it and picks a free slot (or asks for a phone
call-back) on the result page itself; the offer follows the level the patient is SHOWN, so a
sticky escalation (a red-flag message) takes it away and the booking route refuses it (409).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from telespine.store import repo
from telespine.store.db import make_engine, make_sessionmaker, session_scope
from telespine.store.models import User, VisitRequest
from telespine.store.models_care import VisitBooking
from telespine.web.testing import csrf_from, login

Client = Any
PAGE_CALM = ["no", "none", "normal", "low_back", "gradual"]
RED_FLAG = "Since this morning I wet myself and I can't feel my groin."
ALL_DAY = dict.fromkeys(("mon", "tue", "wed", "thu", "fri", "sat", "sun"), "08:00-18:00")


def answer_all(client: Client) -> Any:
    """The page questionnaire answered calmly (age 35): ends on the telemedicine result page."""
    token = csrf_from(client.get("/assess").text)
    r = client.post("/assess/start", data={"who": "self", "csrf_token": token})
    for _ in range(100):
        if not str(r.url).endswith("/assess/q"):
            return r
        qid = re.search(r'name="question_id" value="([^"]+)"', r.text)
        assert qid, r.text[:300]
        options = re.findall(r'name="answer" value="([^"]+)"', r.text)
        if 'type="number"' in r.text:
            value = "35" if qid.group(1) == "age_years" else "1"
        else:
            value = next(o for o in [*PAGE_CALM, options[0]] if o in options)
        r = client.post("/assess/q", data={"question_id": qid.group(1), "answer": value, "csrf_token": token})
    raise AssertionError("the questionnaire did not finish")


def _bookings(url: str, case_id: str) -> list[VisitBooking]:
    engine = make_engine(url)
    try:
        with session_scope(make_sessionmaker(engine)) as db:
            rows = list(db.scalars(select(VisitBooking).where(VisitBooking.case_id == case_id)))
            db.expunge_all()
            return rows
    finally:
        engine.dispose()


def _hours(dave: Client) -> None:
    token = csrf_from(dave.get("/clinic/hours").text)
    r = dave.post(
        "/clinic/hours", data={"timezone": "UTC", **ALL_DAY, "csrf_token": token}, follow_redirects=False
    )
    assert r.status_code == 303


def _saved_result(alice: Client, then: str = "book") -> tuple[Any, str]:
    """Answer, save with the given button; (the page it lands on, the case id)."""
    result = answer_all(alice)
    assert result.url.path == "/assess/result" and "Save and pick a visit time" in result.text
    token = csrf_from(result.text)
    page = alice.post("/assess/save", data={"then": then, "csrf_token": token})
    case = re.search(r'action="/care/cases/([0-9a-f]+)/visits"', page.text)
    return page, case.group(1) if case else ""


def test_result_page_books_a_free_slot_and_the_case_page_shows_it(
    make_client: Callable[..., Client], seeded_url: str
) -> None:
    dave, alice = login(make_client, seeded_url, "dr_dave"), login(make_client, seeded_url, "alice")
    _hours(dave)
    page, case = _saved_result(alice)
    assert page.url.path == "/assess/result" and case, page.text[:500]
    assert 'id="book-visit"' in page.text and "Book this time" in page.text
    assert "Ask for a phone call-back" in page.text
    slots = re.findall(r'name="slot" value="([^"]+)"', page.text)
    assert 1 <= len(slots) <= 6 and all("|" in s for s in slots)
    token = csrf_from(page.text)
    r = alice.post(
        f"/care/cases/{case}/visits",
        data={"slot": slots[1], "mode": "phone", "csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"].startswith("/care/visits/")
    [booking] = _bookings(seeded_url, case)
    assert booking.mode == "phone" and booking.slot_start.isoformat() == slots[1].split("|")[1]
    # the booked slot is no longer offered; the booked visit is listed on the result page
    again = alice.get("/assess/result")
    assert slots[1] not in again.text and f"/care/visits/{booking.id}" in again.text
    assert "phone call-back with" in again.text
    # the saved assessment page offers the same
    assessment = re.search(r'href="/assessments/([0-9a-f]+)"', again.text)
    assert assessment is not None
    saved = alice.get(f"/assessments/{assessment.group(1)}")
    assert 'id="book-visit"' in saved.text and f"/care/visits/{booking.id}" in saved.text
    # a slot taken by someone else meanwhile is refused (409), nothing booked twice
    r = alice.post(
        f"/care/cases/{case}/visits", data={"slot": slots[1], "mode": "video", "csrf_token": token}
    )
    assert r.status_code == 409 and len(_bookings(seeded_url, case)) == 1


def test_phone_call_back_request_from_the_result_page(
    make_client: Callable[..., Client], seeded_url: str
) -> None:
    alice = login(make_client, seeded_url, "alice")
    page, case = _saved_result(alice)
    token = csrf_from(page.text)
    r = alice.post(f"/care/cases/{case}/visit-request", data={"mode": "phone", "csrf_token": token})
    assert r.status_code == 200 and r.url.path == f"/care/cases/{case}"
    engine = make_engine(seeded_url)
    try:
        with session_scope(make_sessionmaker(engine)) as db:
            assessment = re.search(r'href="/assessments/([0-9a-f]+)"', alice.get("/assess/result").text)
            assert assessment is not None
            rows = list(
                db.scalars(select(VisitRequest).where(VisitRequest.assessment_id == assessment.group(1)))
            )
            assert [r.status for r in rows] == ["requested"]
    finally:
        engine.dispose()


def test_a_sticky_escalation_takes_the_offer_away_and_the_booking_is_refused(
    make_client: Callable[..., Client], seeded_url: str
) -> None:
    dave, alice = login(make_client, seeded_url, "dr_dave"), login(make_client, seeded_url, "alice")
    _hours(dave)
    page, case = _saved_result(alice)
    slots = re.findall(r'name="slot" value="([^"]+)"', page.text)
    assert slots
    token = csrf_from(page.text)
    r = alice.post(f"/care/cases/{case}/messages", data={"body": RED_FLAG, "csrf_token": token})
    assert r.url.path == f"/care/cases/{case}/emergency"
    # the engine's result (telemedicine) is unchanged, but the patient is shown the emergency
    later = alice.get("/assess/result")
    assert 'id="book-visit"' not in later.text and 'name="slot"' not in later.text
    assessment = re.search(r'href="/assessments/([0-9a-f]+)"', later.text)
    assert assessment is not None
    saved = alice.get(f"/assessments/{assessment.group(1)}")
    assert 'id="book-visit"' not in saved.text
    r = alice.post(
        f"/care/cases/{case}/visits", data={"slot": slots[0], "mode": "video", "csrf_token": token}
    )
    assert r.status_code == 409 and _bookings(seeded_url, case) == []


def test_no_offer_for_a_result_that_needs_care_in_person_or_for_someone_else(
    make_client: Callable[..., Client], seeded_url: str
) -> None:
    engine = make_engine(seeded_url)
    try:
        with session_scope(make_sessionmaker(engine)) as db:
            user = db.scalar(select(User).where(User.username == "bob"))
            assert user is not None
            bobs = repo.assessments_for_profiles(db, [repo.ensure_self_profile(db, user).id])[0].id
    finally:
        engine.dispose()
    bob = login(make_client, seeded_url, "bob")  # bob's demo result is prompt: care in person
    page = bob.get(f"/assessments/{bobs}")
    assert (
        page.status_code == 200 and "Book this time" not in page.text and 'id="book-visit"' not in page.text
    )
    # a clinician reading alice's assessment gets no booking offer (only the patient or parent books);
    # the clinic's hours first, so that alice's own page offers times whichever tests ran before
    dave = login(make_client, seeded_url, "dr_dave")
    _hours(dave)
    alice = login(make_client, seeded_url, "alice")
    _, case = _saved_result(alice)
    own = re.search(r'href="/assessments/([0-9a-f]+)"', alice.get("/assess/result").text)
    assert own is not None and case
    seen = dave.get(f"/assessments/{own.group(1)}")
    assert seen.status_code == 200 and 'id="book-visit"' not in seen.text
