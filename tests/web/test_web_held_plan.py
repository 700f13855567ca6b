"""The written plan and the message reply follow the level the patient is shown (a floor or a
clinician's override), not only the engine's latest result, on SQLite and PostgreSQL.

A case held at emergency (a medicine diary warning sign the triage policy does not cover, so the
engine's result stays telemedicine) gets the emergency plan on the plan page, its PDF and the
API's PDF: no self-care program, no medicine advice. A red-flag message's reply says the level
the case read then shows the patient.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader

from telespine.web.testing import bearer, login

# The same plans' PDFs come back in many tests here: each distinct HTML is rendered once a process.
pytestmark = pytest.mark.usefixtures("one_pdf_per_html")

Client = TestClient
CALM = {"age_years": 40, "location": "low_back", "onset": "gradual", "duration_days": 5, "pain_score": 3}
EMERGENCY_HEADLINE = "Go to an emergency department now"
URGENT_HEADLINE = "You need to be seen in person today"
PROGRAM = "Your week-by-week activity plan"  # the plan page
PDF_PROGRAM = "Step-by-step activity plan"  # the written plan (PDF, HTML)


def pdf_text(data: bytes) -> str:
    assert data.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(data))
    return re.sub(r"\s+", " ", " ".join(page.extract_text() or "" for page in reader.pages))


@pytest.fixture
def dave(make_client: Callable[..., Client], seeded_url: str) -> Client:
    client: Client = bearer(make_client, seeded_url, "dr_dave")
    return client


@pytest.fixture
def alice(make_client: Callable[..., Client], seeded_url: str) -> Client:
    client: Client = bearer(make_client, seeded_url, "alice")
    return client


def new_case(patient: Client, dave: Client, findings: dict[str, Any] | None = None) -> tuple[str, str]:
    r = patient.post("/api/v1/assessments", json={"findings": findings or CALM})
    assert r.status_code == 201, r.text
    assessment = r.json()["id"]
    assert r.json()["latest"]["disposition"] == "telemedicine"
    case = next(c["id"] for c in dave.get("/api/v1/queue").json() if c["assessment_id"] == assessment)
    return assessment, case


def medicine_entry(web: Client, case: str, **signs: str) -> dict[str, Any]:
    page = web.get(f"/care/cases/{case}/medicines").text
    day = re.search(r'name="day" required value="([\d-]+)"', page)
    assert day is not None
    answers = {**dict.fromkeys(re.findall(r'name="ws_(\w+)"', page), "no"), **signs}
    return {"day": day.group(1), "taken": [], "warning_signs": answers}


def test_a_case_held_at_emergency_gets_the_emergency_plan_on_the_page_and_both_pdfs(
    alice: Client, dave: Client, make_client: Callable[..., Client], seeded_url: str
) -> None:
    web = login(make_client, seeded_url, "alice")
    assessment, case = new_case(alice, dave)
    before = web.get(f"/assessments/{assessment}/program")
    assert before.status_code == 200 and PROGRAM in before.text  # telemedicine: the program
    assert PDF_PROGRAM in pdf_text(alice.get(f"/api/v1/assessments/{assessment}/plan.pdf").content)

    r = alice.post(f"/api/v1/cases/{case}/medicines", json=medicine_entry(web, case, vomiting_blood="yes"))
    assert r.status_code == 201, r.text
    read = alice.get(f"/api/v1/cases/{case}").json()
    assert read["patient_disposition"] == "emergency" and read["engine_disposition"] == "telemedicine"

    page = web.get(f"/assessments/{assessment}/program")
    assert page.status_code == 200 and PROGRAM not in page.text and "Medicines for pain" not in page.text
    assert "emergency" in page.text.lower()
    for pdf in (
        alice.get(f"/api/v1/assessments/{assessment}/plan.pdf").content,
        web.get(f"/assessments/{assessment}/program.pdf").content,
    ):
        text = pdf_text(pdf)
        assert EMERGENCY_HEADLINE in text
        assert PDF_PROGRAM not in text and "Exercises" not in text and "ibuprofen" not in text.lower()
    html = web.get(f"/assessments/{assessment}/program.html").text
    assert EMERGENCY_HEADLINE in html and PDF_PROGRAM not in html
    # the held plan itself (not the failure page): why, the number, only emergency things
    assert "A sign you reported needs emergency care now" in page.text
    assert "could not finish" not in page.text and "tel:911" in page.text
    assert "within 1 to 3 days" not in page.text and "after 2 weeks" not in page.text
    assert "A sign you reported needs emergency care now" in html and "could not finish" not in html


def test_a_clinicians_urgent_override_gives_the_urgent_plan_without_a_program(
    alice: Client, dave: Client, make_client: Callable[..., Client], seeded_url: str
) -> None:
    web = login(make_client, seeded_url, "alice")
    assessment, case = new_case(alice, dave)
    change = {"disposition": "urgent", "reason": "Seen the scan."}
    r = dave.post(f"/api/v1/cases/{case}/overrides", json=change)
    assert r.status_code in (200, 201), r.text
    assert alice.get(f"/api/v1/cases/{case}").json()["patient_disposition"] == "urgent"
    text = pdf_text(alice.get(f"/api/v1/assessments/{assessment}/plan.pdf").content)
    assert URGENT_HEADLINE in text and EMERGENCY_HEADLINE not in text.split("Warning signs")[0]
    assert PDF_PROGRAM not in text and "Exercises" not in text
    page = web.get(f"/assessments/{assessment}/program").text
    assert URGENT_HEADLINE in page and PROGRAM not in page and "no warning signs" not in page


@pytest.mark.parametrize(
    "body",
    [
        "I can't feel my bum when I wipe and I wet myself without noticing",
        "Since this morning I wet myself and I can't feel my groin.",
    ],
)
def test_a_red_flag_messages_reply_says_the_level_the_case_then_shows(
    alice: Client, dave: Client, body: str
) -> None:
    _, case = new_case(alice, dave)
    sent = alice.post(f"/api/v1/cases/{case}/messages", json={"body": body})
    assert sent.status_code == 201, sent.text
    reply = sent.json()
    read = alice.get(f"/api/v1/cases/{case}").json()
    assert reply["disposition"] == read["patient_disposition"] == read["disposition"] == "emergency"
    assert reply["emergency"] and reply["safety_net"]


def test_the_visit_plan_falls_back_to_the_safety_net_plan_never_the_engines(
    alice: Client, dave: Client, make_client: Callable[..., Client], seeded_url: str, monkeypatch: Any
) -> None:
    """When the visit plan cannot be built, the download is the safety-net plan (which skips no
    held level), not a plan rebuilt from the engine's result alone."""
    import datetime as dt

    from telespine.store import repo_care
    from telespine.store.db import make_engine, make_sessionmaker, session_scope
    from telespine.store.models import User
    from telespine.web.pages import visits as visit_pages

    _, case_id = new_case(alice, dave)
    engine = make_engine(seeded_url)
    try:
        with session_scope(make_sessionmaker(engine)) as db:
            case = repo_care.get_case(db, case_id)
            clinician = db.query(User).filter(User.username == "dr_dave").one()
            assert case is not None
            day = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=2)
            start = dt.datetime(day.year, day.month, day.day, 15, 20, tzinfo=dt.UTC)
            booking = repo_care.book_visit(db, case=case, clinician=clinician, slot_start=start, mode="video")
            repo_care.save_note(db, booking, {"plan": "Walk daily"}, finish=True)
            visit = booking.id
    finally:
        engine.dispose()
    web = login(make_client, seeded_url, "alice")
    assert PDF_PROGRAM in pdf_text(web.get(f"/care/visits/{visit}/plan.pdf").content)  # telemedicine

    def broken(*_: Any, **__: Any) -> bytes:
        raise RuntimeError("plan store unreadable")

    monkeypatch.setattr(visit_pages, "visit_plan_document", broken)
    r = web.get(f"/care/visits/{visit}/plan.pdf")
    assert r.status_code == 200
    text = pdf_text(r.content)
    assert EMERGENCY_HEADLINE in text and PDF_PROGRAM not in text and "ibuprofen" not in text.lower()


def test_every_page_and_service_reads_the_same_audience() -> None:
    """One rule: a child profile, or an age under 18 on any profile, is the parent's voice."""
    from types import SimpleNamespace

    from telespine.services import followup, plans

    def assessment(is_child: bool, age: object) -> Any:
        findings = {"age_years": age} if age is not None else {}
        return SimpleNamespace(
            profile=SimpleNamespace(is_child=is_child), latest=SimpleNamespace(findings=findings)
        )

    for is_child, age, expected in (
        (True, 10, "pediatric"),
        (True, None, "pediatric"),
        (False, 12, "pediatric"),  # a parent answered on their own profile
        (False, 17.5, "pediatric"),
        (False, 18, "adult"),
        (False, None, "adult"),
        (False, True, "adult"),  # not an age
    ):
        a = assessment(is_child, age)
        case: Any = SimpleNamespace(assessment=a)
        assert plans.audience_of(a) == followup.audience_of(case) == expected
