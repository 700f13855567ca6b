"""Care writes that fail safe and the visit slot grid (control characters:
test_web_text_safety.py): a failed save of a message or diary entry ends on the safety net with
the case raised, the patient sees a more urgent override, bookings on a slot grid within a year,
diary days in range with known keys, and the queue's waiting-time order. Every test runs on
SQLite and PostgreSQL (db_url)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from telespine.store import diary as store_diary
from telespine.store import messages as store_messages
from telespine.store import repo_care
from telespine.store.db import make_engine, make_sessionmaker, session_scope
from telespine.store.demo import demo_password
from telespine.store.models import AssessmentVersion
from telespine.store.models_care import CareCase
from telespine.store.queue_order import refresh_queue_keys
from telespine.web.testing import bearer, csrf_from, login

Client = TestClient
CHECK = (
    "saddle_numbness",
    "bladder_bowel",
    "leg_weakness",
    "leg_numbness",
    "walking",
    "fever",
    "chest_breathing_fainting",
)
QUEUE_ROW = re.compile(r'<h2><a href="/care/cases/(\w+)">([^<]+)</a>:\s*([^<(]+)')


def case_ids(client: Client) -> dict[str, str]:
    page = client.get("/clinic/queue")
    assert page.status_code == 200
    return {n: i for i, n, _ in QUEUE_ROW.findall(page.text)}


@pytest.fixture
def dave(make_client: Callable[..., Client], seeded_url: str) -> Client:
    return bearer(make_client, seeded_url, "dr_dave")


@pytest.fixture
def dave_web(make_client: Callable[..., Client], seeded_url: str) -> Client:
    return login(make_client, seeded_url, "dr_dave")


@pytest.fixture
def session(seeded_url: str) -> Iterator[Any]:
    engine = make_engine(seeded_url)
    try:
        yield make_sessionmaker(engine)
    finally:
        engine.dispose()


def diary_doc(day: dt.date, **extra: Any) -> dict[str, Any]:
    return {
        "day": day.isoformat(),
        "pain": 3,
        "function": 7,
        "medicine_use": "as_usual",
        "red_flag_check": dict.fromkeys(CHECK, "no"),
        **extra,
    }


# --- 1. control characters ----------------------------------------------------------------------


def test_failed_message_or_diary_save_shows_safety_net_and_raises_case(
    make_client: Callable[..., Client],
    seeded_url: str,
    dave: Client,
    dave_web: Client,
    monkeypatch: pytest.MonkeyPatch,
    session: Any,
) -> None:
    alice_case = case_ids(dave_web)["Alice Archer"]

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("database refused the row")

    monkeypatch.setattr(store_messages, "add_message", broken)
    monkeypatch.setattr(store_diary, "add_diary_row", broken)
    with session_scope(session) as db:
        db.execute(
            update(CareCase).where(CareCase.id == alice_case).values(raised_at=None, raised_reason=None)
        )
    web = login(make_client, seeded_url, "alice")
    token = csrf_from(web.get(f"/care/cases/{alice_case}").text)
    r = web.post(f"/care/cases/{alice_case}/messages", data={"body": "I wet myself", "csrf_token": token})
    assert r.status_code == 200 and 'id="safety"' in r.text and "We could not save" in r.text
    with session_scope(session) as db:
        case = db.get(CareCase, alice_case)
        assert (
            case is not None
            and case.raised_at is not None
            and "could not be saved" in str(case.raised_reason)
        )
        case.raised_at = None
    api = bearer(make_client, seeded_url, "alice")
    r = api.post(f"/api/v1/cases/{alice_case}/diary", json=diary_doc(dt.datetime.now(dt.UTC).date()))
    assert r.status_code == 503 and r.json()["safety_net"] and "911" in r.json()["detail"]
    with session_scope(session) as db:
        case = db.get(CareCase, alice_case)
        assert case is not None and case.raised_at is not None


# --- 2. overrides the patient sees ----------------------------------------------------------------


def test_patient_sees_more_urgent_override_never_less_urgent(
    make_client: Callable[..., Client], seeded_url: str, dave: Client, dave_web: Client
) -> None:
    ids = case_ids(dave_web)
    alice_case, bob_case = ids["Alice Archer"], ids["Bob Baker"]
    r = dave.post(
        f"/api/v1/cases/{alice_case}/overrides", json={"disposition": "urgent", "reason": "Sounds worse"}
    )
    assert r.status_code == 201
    alice = bearer(make_client, seeded_url, "alice")
    read = alice.get(f"/api/v1/cases/{alice_case}").json()
    assert read["disposition"] == "urgent" and read["engine_disposition"] == "telemedicine"
    page = login(make_client, seeded_url, "alice").get(f"/care/cases/{alice_case}").text
    assert 'class="disposition urgent"' in page and "your clinician raised this advice" in page
    assessment = read["assessment_id"]
    saved = login(make_client, seeded_url, "alice").get(f"/assessments/{assessment}").text
    assert 'class="disposition urgent"' in saved and 'action="/assessments/' not in saved  # no visit form
    got = alice.get(f"/api/v1/assessments/{assessment}").json()
    assert got["disposition"] == "urgent" and got["latest"]["disposition"] == "telemedicine"
    listed = {a["id"]: a["disposition"] for a in alice.get("/api/v1/assessments").json()}
    assert listed[assessment] == "urgent"
    # an urgent result needs care in person: no tele-visit request
    r = alice.post(f"/api/v1/cases/{alice_case}/visit-requests", json={"mode": "video"})
    assert r.status_code == 409
    assert alice.post(f"/api/v1/assessments/{assessment}/visit-requests", json={}).status_code == 409
    # a less urgent override does not lower what the patient is told
    assert (
        dave.post(
            f"/api/v1/cases/{bob_case}/overrides",
            json={"disposition": "telemedicine", "reason": "Seen, fine"},
        ).status_code
        == 201
    )
    bob = bearer(make_client, seeded_url, "bob")
    assert bob.get(f"/api/v1/cases/{bob_case}").json()["disposition"] == "prompt"
    assert dave.get(f"/api/v1/cases/{bob_case}").json()["patient_disposition"] == "prompt"
    chart = dave_web.get(f"/care/cases/{bob_case}").text
    assert "The patient is told: See a doctor in 1 to 3 days" in chart


# --- 3 and 4. bookings ---------------------------------------------------------------------------


def test_bookings_on_the_slot_grid_within_a_year(dave: Client, dave_web: Client) -> None:
    # two cases a video visit fits now (an emergency case gets none: the visit gate); earlier tests
    # of this module may have raised some cases, so they are chosen by their shown level
    queue = dave.get("/api/v1/queue").json()
    shown = {c["id"]: dave.get(f"/api/v1/cases/{c['id']}").json().get("patient_disposition") for c in queue}
    fit = [case for case, level in shown.items() if level in ("routine", "telemedicine")]
    assert len(fit) >= 2, fit
    dan, fay = fit[0], fit[1]
    # a time no other test of the module books
    ten = (dt.datetime.now(dt.UTC) + dt.timedelta(days=9)).replace(hour=13, minute=0, second=0, microsecond=0)

    def book(case: str, when: str, **extra: Any) -> Any:
        return dave.post(f"/api/v1/cases/{case}/bookings", json={"slot_start": when, **extra})

    assert book(dan, ten.isoformat()).status_code == 201
    overlap = book(fay, (ten + dt.timedelta(minutes=10)).isoformat())
    assert overlap.status_code == 422 and "every 20 minutes" in overlap.json()["detail"], overlap.text
    assert book(fay, (ten + dt.timedelta(seconds=30)).isoformat()).status_code == 422
    assert book(fay, ten.isoformat()).status_code == 409  # the same slot: the database refuses
    assert book(fay, (ten + dt.timedelta(minutes=20)).isoformat()).status_code == 201
    assert book(fay, (ten + dt.timedelta(minutes=40)).isoformat(), minutes=30).status_code == 422
    for bad in (
        "0001-01-01T00:00:00+14:00",  # was a 500 (OverflowError)
        "9999-12-31T23:40:00-14:00",
        (ten - dt.timedelta(days=12)).isoformat(),  # the past
        (ten + dt.timedelta(days=400)).isoformat(),  # more than a year ahead
        ten.replace(tzinfo=None).isoformat(),  # naive: refused by the API
    ):
        r = book(fay, bad)
        assert r.status_code == 422, (bad, r.text)
    # the page reads a datetime-local value as UTC and applies the same checks
    token = csrf_from(dave_web.get(f"/care/cases/{fay}").text)
    r = dave_web.post(
        f"/care/cases/{fay}/bookings",
        data={
            "slot_start": (ten + dt.timedelta(hours=1, minutes=10)).strftime("%Y-%m-%dT%H:%M"),
            "csrf_token": token,
        },
    )
    assert r.status_code == 422 and "every 20 minutes" in r.text
    r = dave_web.post(
        f"/care/cases/{fay}/bookings",
        data={"slot_start": "0001-01-01T00:00+14:00", "csrf_token": token},
    )
    assert r.status_code == 422


def test_slot_grid_follows_the_setting(make_client: Callable[..., Client], seeded_url: str) -> None:
    client = make_client(seeded_url, visit_slot_minutes=30)
    r = client.post("/api/v1/auth/login", json={"username": "dr_dave", "password": demo_password("dr_dave")})
    client.headers["Authorization"] = f"Bearer {r.json()['token']}"
    case = next(c["id"] for c in client.get("/api/v1/queue").json() if c["disposition"] == "routine")
    slot = (dt.datetime.now(dt.UTC) + dt.timedelta(days=3)).replace(
        hour=7, minute=20, second=0, microsecond=0
    )
    assert (
        client.post(f"/api/v1/cases/{case}/bookings", json={"slot_start": slot.isoformat()}).status_code
        == 422
    )
    slot = slot.replace(minute=30)
    assert (
        client.post(f"/api/v1/cases/{case}/bookings", json={"slot_start": slot.isoformat()}).status_code
        == 201
    )


# --- 5. diary -------------------------------------------------------------------------------------


def test_diary_day_range_and_strict_keys(
    make_client: Callable[..., Client], seeded_url: str, dave_web: Client, session: Any
) -> None:
    alice_case = case_ids(dave_web)["Alice Archer"]
    with session_scope(session) as db:
        case = db.get(CareCase, alice_case)
        assert case is not None
        start, today = case.treatment_started_on, repo_care.local_today(case)
    alice = bearer(make_client, seeded_url, "alice")
    url = f"/api/v1/cases/{alice_case}/diary"
    assert alice.post(url, json=diary_doc(start - dt.timedelta(days=2))).status_code == 422
    assert alice.post(url, json=diary_doc(today + dt.timedelta(days=1))).status_code == 422
    assert alice.post(url, json=diary_doc(dt.date(1, 1, 1))).status_code == 422
    assert alice.post(url, json=diary_doc(start - dt.timedelta(days=1))).status_code == 201
    bad_check = diary_doc(today)
    bad_check["red_flag_check"] = {**dict.fromkeys(CHECK, "no"), "feels_fine": "no"}
    r = alice.post(url, json=bad_check)
    assert r.status_code == 422 and "feels_fine" in r.json()["detail"]
    assert alice.post(url, json=diary_doc(today, mood="good")).status_code == 422
    web = login(make_client, seeded_url, "alice")
    token = csrf_from(web.get(f"/care/cases/{alice_case}").text)
    form = {"pain": "3", "function": "7", "medicine_use": "as_usual", "csrf_token": token}
    form.update({f"rf_{q}": "no" for q in CHECK})
    future = (today + dt.timedelta(days=3)).isoformat()
    assert web.post(f"/care/cases/{alice_case}/diary", data={**form, "day": future}).status_code == 422
    assert web.post(f"/care/cases/{alice_case}/diary", data={**form, "rf_made_up": "no"}).status_code == 422
    assert web.post(f"/care/cases/{alice_case}/diary", data=form).status_code == 200


# --- 6. the queue's waiting-time order -----------------------------------------------------------


def test_queue_orders_by_waiting_time_within_one_level(dave: Client, dave_web: Client, session: Any) -> None:
    ids = case_ids(dave_web)
    alice_case, sam_case = ids["Alice Archer"], ids["Sam Carter"]
    base = dt.datetime.now(dt.UTC) - dt.timedelta(days=10)

    def set_wait(case_id: str, days: int) -> None:
        with session_scope(session) as db:
            case = db.get(CareCase, case_id)
            assert case is not None
            case.raised_at, case.raised_reason = None, None
            db.execute(
                update(AssessmentVersion)
                .where(AssessmentVersion.assessment_id == case.assessment_id)
                .values(created_at=base + dt.timedelta(days=days))
                .execution_options(synchronize_session=False)
            )
            # a bulk UPDATE skips the flush hook that keeps the stored queue key (store.queue_order)
            refresh_queue_keys(db, [case_id])

    def order() -> list[str]:
        rows = dave.get("/api/v1/queue", params={"disposition": "telemedicine"}).json()
        return [r["id"] for r in rows if r["id"] in (alice_case, sam_case)]

    for case in (alice_case, sam_case):  # same level for the clinician, whatever ran before
        # An escalation held by an earlier test is cleared first (a floor is never overridden away)
        cleared = dave.post(f"/api/v1/cases/{case}/escalation/clear", json={"reason": "Reviewed in test"})
        assert cleared.status_code in (200, 409)
        r = dave.post(
            f"/api/v1/cases/{case}/overrides", json={"disposition": "telemedicine", "reason": "Same"}
        )
        assert r.status_code == 201
    set_wait(alice_case, 1)
    set_wait(sam_case, 2)
    assert order() == [alice_case, sam_case]  # alice has waited longer
    set_wait(alice_case, 3)
    assert order() == [sam_case, alice_case]
