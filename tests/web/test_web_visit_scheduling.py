"""Scheduling through the pages, on SQLite and PostgreSQL: a clinician sets weekly hours in the
clinic's zone, the patient picks a free slot shown in their own zone, either side reschedules or
cancels, e-mails (confirmation, change, cancellation, reminders 24 h and 1 h) are queued with an
.ics invitation, and no visit is booked for a result that needs care in person (either side)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from icalendar import Calendar
from sqlalchemy import select

from telespine.store import repo, repo_care
from telespine.store import visits as visit_store
from telespine.store.db import make_engine, make_sessionmaker, session_scope
from telespine.store.models import User
from telespine.store.models_care import ReminderJob, VisitBooking
from telespine.store.models_visits import VisitChange
from telespine.web.testing import csrf_from, login

Client = Any


@pytest.fixture(scope="module")
def ids(seeded_url: str) -> dict[str, str]:
    engine = make_engine(seeded_url)
    out: dict[str, str] = {}
    try:
        with session_scope(make_sessionmaker(engine)) as db:
            for name in ("alice", "bob"):
                user = db.scalar(select(User).where(User.username == name))
                assert user is not None
                profile = repo.ensure_self_profile(db, user)
                assessment = repo.assessments_for_profiles(db, [profile.id])[0]
                case = repo_care.case_for_assessment(db, assessment.id)
                assert case is not None
                out[name] = case.id
                if name == "alice":
                    emergency = next(
                        c
                        for c in repo_care.open_cases(db)
                        if repo_care.patient_disposition(db, c) == "emergency"
                    )
                    out["emergency"] = emergency.id
                    repo_care.set_timezone(db, [profile.id], "America/New_York")
            bob = db.scalar(select(User).where(User.username == "bob"))
            assert bob is not None
            repo_care.set_contact(db, bob, "bob@example.org")
    finally:
        engine.dispose()
    return out


@pytest.fixture
def signed_in(make_client: Callable[..., Client], seeded_url: str) -> Iterator[Callable[[str], Client]]:
    yield lambda name: login(lambda url: make_client(url, require_totp=False), seeded_url, name)


def _db(url: str) -> Any:
    engine = make_engine(url)
    return engine, make_sessionmaker(engine)


def _post(client: Client, page: str, action: str, data: dict[str, str]) -> Any:
    token = csrf_from(client.get(page).text)
    return client.post(action, data={**data, "csrf_token": token}, follow_redirects=False)


def test_hours_slots_booking_reschedule_cancel_and_mails(
    ids: dict[str, str], signed_in: Callable[[str], Client], seeded_url: str
) -> None:
    dave, alice = signed_in("dr_dave"), signed_in("alice")
    hours = dict.fromkeys(("mon", "tue", "wed", "thu", "fri", "sat", "sun"), "09:00-12:00")
    r = _post(dave, "/clinic/hours", "/clinic/hours", {"timezone": "Europe/London", **hours})
    assert r.status_code == 303
    assert (
        _post(dave, "/clinic/hours", "/clinic/hours", {"timezone": "UTC", "mon": "9-12"}).status_code == 422
    )
    day_off = (dt.datetime.now(dt.UTC) + dt.timedelta(days=3)).date()
    r = _post(dave, "/clinic/hours", "/clinic/hours/exceptions", {"day": day_off.isoformat(), "hours": ""})
    assert r.status_code == 303

    page = alice.get(f"/care/cases/{ids['alice']}/visits/new")
    assert page.status_code == 200
    values = re.findall(r'name="slot" value="([^"]+)"', page.text)
    assert values and "(America/New_York)" in page.text  # shown in the patient's zone
    starts = [dt.datetime.fromisoformat(v.split("|")[1]) for v in values]
    assert all(s.tzinfo is not None and s.utcoffset() == dt.timedelta(0) for s in starts)
    assert not any(s.date() == day_off for s in starts)  # the day off gives no slot
    # 09:00 London is 08:00 or 09:00 UTC; the label shows New York time (4 or 5 hours earlier)
    label = re.search(r'value="' + re.escape(values[0]) + r'"[^>]*> ([^<]+) with', page.text)
    assert label is not None and re.search(r", 0[345]:\d\d \(America/New_York\)", label.group(1)), (
        label.group(1)
    )

    pick = next(
        v for v, s in zip(values, starts, strict=True) if s > dt.datetime.now(dt.UTC) + dt.timedelta(hours=30)
    )
    r = _post(
        alice,
        f"/care/cases/{ids['alice']}/visits/new",
        f"/care/cases/{ids['alice']}/visits",
        {"slot": pick, "mode": "video"},
    )
    assert r.status_code == 303, r.text[:300]
    booking_id = r.headers["location"].split("/")[3].split("?")[0]
    again = _post(
        alice,
        f"/care/cases/{ids['alice']}/visits/new",
        f"/care/cases/{ids['alice']}/visits",
        {"slot": pick, "mode": "video"},
    )
    assert again.status_code == 409  # taken
    assert pick not in alice.get(f"/care/cases/{ids['alice']}/visits/new").text
    # the visit page shows the stored UTC time in each viewer's zone
    assert "(America/New_York)" in alice.get(f"/care/visits/{booking_id}").text
    assert "(America/New_York)" in alice.get(f"/care/cases/{ids['alice']}").text  # the follow-up page too
    assert "(Europe/London)" in dave.get(f"/care/visits/{booking_id}").text

    engine, factory = _db(seeded_url)
    try:
        with factory() as db:
            jobs = db.scalars(select(ReminderJob).where(ReminderJob.key.like(f"visit:{booking_id}:%"))).all()
            assert sorted(j.kind for j in jobs) == ["visit_1h", "visit_24h", "visit_booked"]
            booked = next(j for j in jobs if j.kind == "visit_booked")
            assert "America/New_York" in booked.body and "/care/visits/" in booked.body
            name, data = visit_store.attachment_for(
                db, booked, "https://t.example", dt.datetime.now(dt.UTC)
            ) or ("", b"")
            cal = Calendar.from_ical(data)
            event = cal.walk("VEVENT")[0]
            assert name.endswith(".ics") and str(cal["METHOD"]) == "REQUEST"
            assert event.decoded("dtstart") == dt.datetime.fromisoformat(pick.split("|")[1])
    finally:
        engine.dispose()

    # the clinician moves it to another free slot (shown in the clinician's zone)
    change = dave.get(f"/care/visits/{booking_id}/change")
    assert change.status_code == 200 and "(Europe/London)" in change.text
    new_start = re.findall(r'name="start" value="([^"]+)"', change.text)[0]
    r = _post(
        dave,
        f"/care/visits/{booking_id}/change",
        f"/care/visits/{booking_id}/reschedule",
        {"start": new_start},
    )
    assert r.status_code == 303
    engine, factory = _db(seeded_url)
    try:
        with factory() as db:
            booking = db.get(VisitBooking, booking_id)
            assert booking is not None and booking.slot_start == dt.datetime.fromisoformat(new_start)
            jobs = db.scalars(select(ReminderJob).where(ReminderJob.key.like(f"visit:{booking_id}:%"))).all()
            pending = sorted(j.kind for j in jobs if j.status == "pending")
            assert "visit_changed" in pending and pending.count("visit_24h") <= 1
            assert all(j.status == "expired" for j in jobs if j.kind == "visit_booked")
    finally:
        engine.dispose()

    # the patient cancels: the slot is free again, the history and the cancel e-mail remain
    r = _post(alice, f"/care/visits/{booking_id}/change", f"/care/visits/{booking_id}/cancel", {})
    assert r.status_code == 303
    assert alice.get(f"/care/visits/{booking_id}").status_code == 404
    assert new_start in alice.get(f"/care/cases/{ids['alice']}/visits/new").text
    engine, factory = _db(seeded_url)
    try:
        with factory() as db:
            kinds = [
                c.kind for c in db.scalars(select(VisitChange).where(VisitChange.booking_id == booking_id))
            ]
            assert kinds == ["booked", "rescheduled", "cancelled"]
            jobs = db.scalars(select(ReminderJob).where(ReminderJob.key.like(f"visit:{booking_id}:%"))).all()
            cancel = [j for j in jobs if j.kind == "visit_cancelled"]
            assert len(cancel) == 1 and cancel[0].status == "pending"
            assert all(j.status != "pending" for j in jobs if j.kind in ("visit_24h", "visit_1h"))
            data = (
                visit_store.attachment_for(db, cancel[0], "https://t.example", dt.datetime.now(dt.UTC))
                or ("", b"")
            )[1]
            assert str(Calendar.from_ical(data)["METHOD"]) == "CANCEL"
    finally:
        engine.dispose()


def test_no_visit_for_a_result_that_needs_care_in_person_on_either_side(
    ids: dict[str, str], signed_in: Callable[[str], Client]
) -> None:
    bob_case = ids["bob"]  # bob's demo result is prompt: see a doctor in person
    dave = signed_in("dr_dave")
    soon = (dt.datetime.now(dt.UTC) + dt.timedelta(days=5)).replace(
        hour=10, minute=0, second=0, microsecond=0
    )
    r = _post(
        dave,
        f"/care/cases/{bob_case}",
        f"/care/cases/{bob_case}/bookings",
        {"slot_start": soon.strftime("%Y-%m-%dT%H:%M"), "mode": "video"},
    )
    assert r.status_code == 409
    token = csrf_from(dave.get(f"/care/cases/{bob_case}").text)
    api = dave.post(
        f"/api/v1/cases/{bob_case}/bookings",
        json={"slot_start": soon.isoformat()},
        headers={"x-csrf-token": token},
    )
    assert api.status_code == 409
    # a phone call may still be booked for a prompt result; nothing at all for an emergency
    later = (soon + dt.timedelta(hours=1)).isoformat()
    phone = dave.post(
        f"/api/v1/cases/{bob_case}/bookings",
        json={"slot_start": later, "mode": "phone"},
        headers={"x-csrf-token": token},
    )
    assert phone.status_code == 201
    for mode in ("video", "phone", "message"):
        r = dave.post(
            f"/api/v1/cases/{ids['emergency']}/bookings",
            json={"slot_start": later, "mode": mode},
            headers={"x-csrf-token": token},
        )
        assert r.status_code == 409, mode
