"""The virtual spine exam and the clinician's plan, on SQLite and PostgreSQL: a neurological
finding updates the findings and re-triages (up, never down); the patient sees plain steps with
pictures; the written plan after the visit carries the clinician's name and visit date and holds
the visit's changes while the exam's finding keeps the case in person; the note locks at Finish
and later changes are signed addenda."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from telespine.store import repo, repo_care
from telespine.store.db import make_engine, make_sessionmaker, session_scope
from telespine.store.models import User
from telespine.triage.types import Disposition
from telespine.visits.exam import exam_updates, load_exam
from telespine.web.testing import csrf_from, login

Client = Any


def test_exam_data_is_complete_and_plain() -> None:
    from telespine.content.loader import load_sources
    from telespine.content.readability import reading_grade

    exam = load_exam()
    ids = [s.id for s in exam.steps]
    for needed in (
        "observation",
        "gait",
        "heel_walk",
        "toe_walk",
        "sit_to_stand",
        "lumbar_movement",
        "neural_tension",
    ):
        assert needed in ids
    known = set(load_sources().sources)
    for step in exam.steps:
        assert set(step.sources) <= known
        assert step.svg().lstrip().startswith("<svg")
        assert reading_grade(step.patient) <= 8 and reading_grade(step.parent) <= 8
        assert "your child" in step.parent.lower() or "ask your child" in step.parent.lower()
        assert any(r.unknown for r in step.results)  # "not done" is an unknown, never a normal
    assert reading_grade(exam.limits.patient) <= 8 and set(exam.limits.sources) <= known
    updates, neuro, missing = exam_updates({"heel_walk": "cannot_one", "gait": "not_done"})
    assert updates == {"leg_weakness": "progressive", "walking_difficulty": True}
    assert neuro and "gait" in missing and "observation" in missing


@pytest.fixture(scope="module")
def visit(seeded_url: str) -> str:
    engine = make_engine(seeded_url)
    try:
        with session_scope(make_sessionmaker(engine)) as db:
            alice = db.scalar(select(User).where(User.username == "alice"))
            dave = db.scalar(select(User).where(User.username == "dr_dave"))
            assert alice is not None and dave is not None
            assessment = repo.assessments_for_profiles(db, [repo.ensure_self_profile(db, alice).id])[0]
            case = repo_care.case_for_assessment(db, assessment.id)
            assert case is not None
            day = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=4)
            start = dt.datetime(day.year, day.month, day.day, 15, 20, tzinfo=dt.UTC)
            return repo_care.book_visit(db, case=case, clinician=dave, slot_start=start, mode="video").id
    finally:
        engine.dispose()


@pytest.fixture
def signed_in(make_client: Callable[..., Client], seeded_url: str) -> Iterator[Callable[[str], Client]]:
    yield lambda name: login(lambda url: make_client(url, require_totp=False), seeded_url, name)


def _latest(url: str, visit: str) -> tuple[int, str, dict[str, Any], bool]:
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as db:
            booking = repo_care.get_booking(db, visit)
            assert booking is not None
            case = repo_care.get_case(db, booking.case_id)
            assert case is not None
            v = case.assessment.latest
            return v.version, v.disposition, dict(v.findings), case.raised_at is not None
    finally:
        engine.dispose()


def test_neuro_finding_retriages_up_never_down_and_the_plan_reaches_the_patient(
    visit: str, signed_in: Callable[[str], Client], seeded_url: str
) -> None:
    dave, alice, bob = signed_in("dr_dave"), signed_in("alice"), signed_in("bob")
    page = f"/care/visits/{visit}/exam"
    assert bob.get(page).status_code == 404
    patient_view = alice.get(page).text
    assert "<svg" in patient_view and "walk a few steps on your heels" in patient_view
    assert 'name="heel_walk"' not in patient_view  # no form for the patient
    assert (
        alice.post(
            page,
            data={
                "heel_walk": "cannot_one",
                "csrf_token": csrf_from(alice.get(f"/care/visits/{visit}").text),
            },
        ).status_code
        == 404
    )

    before = _latest(seeded_url, visit)
    assert before[1] == Disposition.TELEMEDICINE.value
    token = csrf_from(dave.get(page).text)
    r = dave.post(
        page,
        data={"heel_walk": "cannot_one", "gait": "antalgic", "csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"].endswith("flash=exam-neuro")
    after = _latest(seeded_url, visit)
    assert after[0] == before[0] + 1
    assert after[2]["leg_weakness"] == "progressive" and after[2]["walking_difficulty"] is True
    assert Disposition(after[1]).level < Disposition(before[1]).level and after[3]  # raised
    # a later all-normal exam cannot lower it
    normal = {s.id: s.results[0].id for s in load_exam().steps}
    dave.post(page, data={**normal, "csrf_token": token})
    again = _latest(seeded_url, visit)
    assert again[0] == after[0] and again[1] == after[1]
    assert "Not examined (unknown, not normal)" not in dave.get(page).text  # every step recorded
    assert dave.post(page, data={"heel_walk": "flying", "csrf_token": token}).status_code == 422

    # the plan, Finish, the lock and the addenda
    plan = {
        "exercises": "Add the bridge twice a day",
        "activity_goals": "Walk 20 minutes each day",
        "medicine": "Paracetamol as in your plan",
        "work_school": "Desk work with a break every hour",
        "review_date": (dt.date.today() + dt.timedelta(days=14)).isoformat(),
        "notes": "",
    }
    assert dave.post(f"/care/visits/{visit}/plan", data={**plan, "csrf_token": token}).status_code == 200
    addendum = {"text": "Too early", "csrf_token": token}
    assert dave.post(f"/care/visits/{visit}/addenda", data=addendum).status_code == 409
    note = {"subjective": "s", "objective": "heel walk weak on the left", "assessment": "a", "plan": "p"}
    assert (
        dave.post(f"/care/visits/{visit}/note", data={**note, "finish": "1", "csrf_token": token}).status_code
        == 200
    )
    assert (
        dave.post(
            f"/care/visits/{visit}/note", data={**note, "plan": "changed", "csrf_token": token}
        ).status_code
        == 409
    )
    assert (
        dave.post(
            f"/care/visits/{visit}/addenda", data={"text": "Phoned: weakness unchanged", "csrf_token": token}
        ).status_code
        == 200
    )
    assert "signed Dr Dave Dalton: Phoned: weakness unchanged" in dave.get(page).text

    # the exam's weakness holds the case in person: the visit plan says so and carries none of
    # the visit's exercises, medicine or work advice (they wait until a clinician reviews it)
    html = alice.get(f"/care/visits/{visit}/plan.html")
    assert html.status_code == 200 and "Your plan from the tele-visit is on hold" in html.text
    pdf = alice.get(f"/care/visits/{visit}/plan.pdf")
    assert pdf.status_code == 200
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    flat = " ".join(text.split())
    for piece in ("Your plan from the tele-visit is on hold", "Dr Dave Dalton", "care in person"):
        assert piece in flat, piece
    for piece in ("Add the bridge", "Paracetamol as in your plan", "Desk work", "Walk 20 minutes"):
        assert piece not in flat and piece not in html.text, piece
    assert bob.get(f"/care/visits/{visit}/plan.pdf").status_code == 404
