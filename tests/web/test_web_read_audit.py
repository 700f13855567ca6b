"""Reads of messages, diary entries, visit notes and addenda are audited by kind (issue 13): who,
which case, which kind and when, from the pages and the API alike, and never the content.
SQLite and PostgreSQL (seeded_url)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from telespine.services import records
from telespine.store import repo_care
from telespine.store.db import make_engine, make_sessionmaker
from telespine.store.demo import demo_password
from telespine.store.models import Assessment, AuditEvent, Profile, User
from telespine.web.testing import login, make_test_settings

NOTE_TEXT = "left heel walk weaker than the right zqxnote"
ADDENDUM_TEXT = "phoned back, numbness unchanged zqxaddendum"
MESSAGE_TEXT = "my back hurts when I bend zqxmessage"


@pytest.fixture(scope="module")
def case_and_visit(seeded_url: str) -> tuple[str, str]:
    """alice's case with a message of her own and a finished visit with a note and an addendum."""
    from telespine.services import visits as visit_service
    from telespine.store import messages

    engine = make_engine(seeded_url)
    try:
        with make_sessionmaker(engine)() as db:
            assessment = db.scalar(
                select(Assessment)
                .join(Profile, Assessment.profile_id == Profile.id)
                .join(User, Profile.owner_id == User.id)
                .where(User.username == "alice", Profile.is_child.is_(False))
            )
            assert assessment is not None
            case = repo_care.ensure_case(db, assessment)
            alice = db.scalars(select(User).where(User.username == "alice")).one()
            dave = db.scalars(select(User).where(User.username == "dr_dave")).one()
            messages.add_message(db, case, alice, MESSAGE_TEXT)
            booking = repo_care.book_visit(
                db,
                case=case,
                clinician=dave,
                slot_start=(dt.datetime.now(dt.UTC) + dt.timedelta(days=11)).replace(
                    hour=10, minute=20, second=0, microsecond=0
                ),
                mode="video",
            )
            repo_care.save_note(db, booking, {"subjective": NOTE_TEXT, "plan": "walk every day"}, finish=True)
            db.commit()
            visit_service.add_addendum(db, booking, dave, ADDENDUM_TEXT)
            return case.id, booking.id
    finally:
        engine.dispose()


def _reads(url: str, since: int) -> list[AuditEvent]:
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as db:
            return list(
                db.scalars(
                    select(AuditEvent)
                    .where(AuditEvent.id > since, AuditEvent.object_type.in_(records.READ_KINDS))
                    .order_by(AuditEvent.id)
                ).all()
            )
    finally:
        engine.dispose()


def _last_id(url: str) -> int:
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as db:
            return int(db.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1)) or 0)
    finally:
        engine.dispose()


def _kinds(events: list[AuditEvent]) -> list[tuple[str | None, str, str, str | None]]:
    return [(e.actor_username, e.action, e.object_type, e.object_id) for e in events]


def _no_content(url: str) -> None:
    """No audit row anywhere holds the text of a message, diary note, visit note or addendum."""
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as db:
            for e in db.scalars(select(AuditEvent)).all():
                row = " ".join(str(v) for v in (e.action, e.object_type, e.object_id, e.detail) if v)
                assert "zqx" not in row, row
                assert "bend" not in row and "heel" not in row and "numbness" not in row, row
    finally:
        engine.dispose()


def _api_client(url: str, name: str) -> Any:
    from fastapi.testclient import TestClient

    from telespine.web.app import create_app

    client = TestClient(create_app(make_test_settings(url)), follow_redirects=False)
    r = client.post("/api/v1/auth/login", json={"username": name, "password": demo_password(name)})
    assert r.status_code == 200, r.text
    client.headers["Authorization"] = f"Bearer {r.json()['token']}"
    client.cookies.clear()
    return client


def test_api_reads_of_messages_and_diary_are_audited_by_kind(
    seeded_url: str, case_and_visit: tuple[str, str]
) -> None:
    case_id, _ = case_and_visit
    dave = _api_client(seeded_url, "dr_dave")
    since = _last_id(seeded_url)
    shown = dave.get(f"/api/v1/cases/{case_id}/messages")
    assert shown.status_code == 200 and MESSAGE_TEXT in shown.text
    diary = dave.get(f"/api/v1/cases/{case_id}/diary")
    assert diary.status_code == 200 and diary.json()
    events = _reads(seeded_url, since)
    assert _kinds(events) == [
        ("dr_dave", "read", records.MESSAGE, case_id),
        ("dr_dave", "read", records.DIARY_ENTRY, case_id),
    ]
    assert events[0].detail == f"{len(shown.json())} items"
    assert events[1].detail == f"{len(diary.json())} items"
    assert all(e.actor_role == "clinician" and e.profile_id for e in events)
    # Someone who may not read the case reads nothing, and no read is audited for them.
    erin = _api_client(seeded_url, "dr_erin")
    since = _last_id(seeded_url)
    assert erin.get(f"/api/v1/cases/{case_id}/messages").status_code == 404
    assert _reads(seeded_url, since) == []
    _no_content(seeded_url)


def test_page_reads_of_messages_diary_notes_and_addenda_are_audited_by_kind(
    make_client: Any, seeded_url: str, case_and_visit: tuple[str, str]
) -> None:
    case_id, visit_id = case_and_visit
    dave = login(make_client, seeded_url, "dr_dave")
    since = _last_id(seeded_url)
    chart = dave.get(f"/care/cases/{case_id}")
    assert chart.status_code == 200 and MESSAGE_TEXT in chart.text
    assert _kinds(_reads(seeded_url, since)) == [
        ("dr_dave", "read", records.DIARY_ENTRY, case_id),
        ("dr_dave", "read", records.MESSAGE, case_id),
    ]
    since = _last_id(seeded_url)
    visit = dave.get(f"/care/visits/{visit_id}")
    assert visit.status_code == 200 and NOTE_TEXT in visit.text
    exam = dave.get(f"/care/visits/{visit_id}/exam")
    assert exam.status_code == 200 and ADDENDUM_TEXT in exam.text
    events = _reads(seeded_url, since)
    assert _kinds(events) == [
        ("dr_dave", "read", records.VISIT_NOTE, case_id),
        ("dr_dave", "read", records.DIARY_ENTRY, case_id),
        ("dr_dave", "read", records.NOTE_ADDENDUM, case_id),
    ]
    assert events[0].detail == f"visit {visit_id}; 1 items"
    assert events[2].detail == f"visit {visit_id}; 1 items"
    # The patient: her follow-up page and the plan part of the finished note; no addenda shown.
    alice = login(make_client, seeded_url, "alice")
    since = _last_id(seeded_url)
    assert alice.get(f"/care/cases/{case_id}").status_code == 200
    page = alice.get(f"/care/visits/{visit_id}")
    assert page.status_code == 200 and "walk every day" in page.text and NOTE_TEXT not in page.text
    assert ADDENDUM_TEXT not in alice.get(f"/care/visits/{visit_id}/exam").text
    assert _kinds(_reads(seeded_url, since)) == [
        ("alice", "read", records.DIARY_ENTRY, case_id),
        ("alice", "read", records.MESSAGE, case_id),
        ("alice", "read", records.VISIT_NOTE, case_id),
    ]
    _no_content(seeded_url)


def test_progress_chart_is_a_read_of_diary_entries(
    make_client: Any, seeded_url: str, case_and_visit: tuple[str, str]
) -> None:
    case_id, _ = case_and_visit
    alice = login(make_client, seeded_url, "alice")
    since = _last_id(seeded_url)
    assert alice.get(f"/care/cases/{case_id}/progress").status_code == 200
    assert _kinds(_reads(seeded_url, since)) == [("alice", "read", records.DIARY_ENTRY, case_id)]


def test_an_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown record kind"):
        records.audit_read(None, None, "phone_number", None, 0)  # type: ignore[arg-type]


def test_fhir_export_and_data_download_are_reads_by_kind(
    make_client: Any, seeded_url: str, case_and_visit: tuple[str, str]
) -> None:
    """The FHIR Bundle carries the case's messages; the data download messages and diary."""
    case_id, _ = case_and_visit
    engine = make_engine(seeded_url)
    try:
        with make_sessionmaker(engine)() as db:
            case = repo_care.get_case(db, case_id)
            assert case is not None
            assessment_id = case.assessment_id
    finally:
        engine.dispose()
    dave = _api_client(seeded_url, "dr_dave")
    since = _last_id(seeded_url)
    bundle = dave.get(f"/api/v1/assessments/{assessment_id}/fhir")
    assert bundle.status_code == 200
    sent = sum(1 for e in bundle.json()["entry"] if e["resource"]["resourceType"] == "Communication")
    events = _reads(seeded_url, since)
    assert _kinds(events) == [("dr_dave", "read", records.MESSAGE, case_id)]
    assert sent > 0 and events[0].detail == f"{sent} items"
    alice = login(make_client, seeded_url, "alice")
    since = _last_id(seeded_url)
    assert alice.get("/account/data.json").status_code == 200
    kinds = _kinds(_reads(seeded_url, since))
    assert ("alice", "read", records.MESSAGE, case_id) in kinds
    assert ("alice", "read", records.DIARY_ENTRY, case_id) in kinds
    _no_content(seeded_url)


def test_medicine_diary_reads_are_audited_by_kind_from_the_api_and_the_pages(
    make_client: Any, seeded_url: str, case_and_visit: tuple[str, str]
) -> None:
    import re

    case_id, _ = case_and_visit
    alice_web = login(make_client, seeded_url, "alice")
    alice = _api_client(seeded_url, "alice")
    form = alice_web.get(f"/care/cases/{case_id}/medicines").text
    day = re.search(r'name="day" required value="([\d-]+)"', form)
    assert day is not None
    entry: dict[str, Any] = {
        "day": day.group(1),
        "taken": [],
        "warning_signs": dict.fromkeys(re.findall(r'name="ws_(\w+)"', form), "no"),
        "other_effects": "zqxmedicine a bit sleepy",
    }
    posted = alice.post(f"/api/v1/cases/{case_id}/medicines", json=entry)
    assert posted.status_code == 201, posted.text
    dave = _api_client(seeded_url, "dr_dave")
    since = _last_id(seeded_url)
    listed = dave.get(f"/api/v1/cases/{case_id}/medicines")
    assert listed.status_code == 200 and listed.json()
    events = _reads(seeded_url, since)
    assert _kinds(events) == [("dr_dave", "read", records.MEDICINE_DIARY_ENTRY, case_id)]
    assert events[0].detail == f"{len(listed.json())} items"
    dave_web = login(make_client, seeded_url, "dr_dave")
    since = _last_id(seeded_url)
    frag = dave_web.get(f"/care/cases/{case_id}/medicines", headers={"HX-Request": "true"})
    assert frag.status_code == 200 and "zqxmedicine" in frag.text
    assert alice_web.get(f"/care/cases/{case_id}/medicines/{posted.json()['id']}").status_code == 200
    events = _reads(seeded_url, since)
    assert _kinds(events) == [
        ("dr_dave", "read", records.MEDICINE_DIARY_ENTRY, case_id),
        ("alice", "read", records.MEDICINE_DIARY_ENTRY, case_id),
    ]
    assert events[1].detail == "1 items"
    # Someone who may not read the case reads nothing, and no read is audited for them.
    since = _last_id(seeded_url)
    assert _api_client(seeded_url, "dr_erin").get(f"/api/v1/cases/{case_id}/medicines").status_code == 404
    assert _reads(seeded_url, since) == []
    _no_content(seeded_url)
