"""Escalations stick (issue 10, part 4), through the API and the pages, on SQLite and PostgreSQL.

A level raised by a red flag (a message, a diary entry, the red-flag check) or by a clinician's
override holds in every view (queue order, chart, patient pages, visit gate, API reads) until a
clinician clears it with a reason, which is audited. A patient's milder answers are stored but
cannot lower it, open a visit request or move the case down the queue.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from telespine.web.testing import bearer, csrf_from, login

Client = TestClient
CALM = {"age_years": 40, "location": "low_back", "onset": "gradual", "duration_days": 5, "pain_score": 3}
RED_FLAG = "Since this morning I wet myself and I can't feel my groin."
PAGE_CALM = ["no", "none", "normal", "low_back", "gradual"]


@pytest.fixture
def dave(make_client: Callable[..., Client], seeded_url: str) -> Client:
    return bearer(make_client, seeded_url, "dr_dave")


@pytest.fixture
def alice(make_client: Callable[..., Client], seeded_url: str) -> Client:
    return bearer(make_client, seeded_url, "alice")


def new_case(patient: Client, dave: Client, findings: dict[str, Any] | None = None) -> tuple[str, str]:
    """A fresh telemedicine assessment of the patient: (assessment id, case id)."""
    r = patient.post("/api/v1/assessments", json={"findings": findings or CALM})
    assert r.status_code == 201, r.text
    assessment = r.json()["id"]
    assert r.json()["latest"]["disposition"] == "telemedicine"
    case = next(c["id"] for c in dave.get("/api/v1/queue").json() if c["assessment_id"] == assessment)
    return assessment, case


def queue_ids(dave: Client) -> list[str]:
    return [c["id"] for c in dave.get("/api/v1/queue").json()]


def queue_item(dave: Client, case: str) -> dict[str, Any]:
    return next(c for c in dave.get("/api/v1/queue").json() if c["id"] == case)


def test_red_flag_message_holds_emergency_until_a_clinician_clears_it(
    alice: Client, dave: Client, make_client: Callable[..., Client], seeded_url: str
) -> None:
    assessment, case = new_case(alice, dave)
    sent = alice.post(f"/api/v1/cases/{case}/messages", json={"body": RED_FLAG})
    assert sent.status_code == 201
    body = sent.json()
    assert body["flagged"] and body["disposition"] == "emergency" and body["emergency"]
    assert body["safety_net"] and body["reply"]["body"].startswith("Thank you")
    before = queue_ids(dave)
    assert queue_item(dave, case)["escalation_floor"] == "emergency"

    # A milder re-answer is stored, but the patient is still told emergency
    milder = alice.post(f"/api/v1/assessments/{assessment}/versions", json={"findings": CALM})
    assert milder.status_code == 201
    assert milder.json()["disposition"] == "telemedicine"  # the engine's result is on record
    assert milder.json()["shown_disposition"] == "emergency" and milder.json()["emergency_signs"]
    read = alice.get(f"/api/v1/cases/{case}").json()
    assert read["disposition"] == "emergency" and read["engine_disposition"] == "telemedicine"
    assert alice.get(f"/api/v1/assessments/{assessment}").json()["disposition"] == "emergency"
    listed = {a["id"]: a["disposition"] for a in alice.get("/api/v1/assessments").json()}
    assert listed[assessment] == "emergency"
    # ... visit booking stays closed, on both endpoints
    assert alice.post(f"/api/v1/cases/{case}/visit-requests", json={"mode": "video"}).status_code == 409
    assert alice.post(f"/api/v1/assessments/{assessment}/visit-requests", json={}).status_code == 409
    # ... and the case keeps its place in the queue
    assert queue_ids(dave) == before
    item = queue_item(dave, case)
    assert item["disposition"] == "emergency" and item["escalation_floor"] == "emergency"
    assert dave.get(f"/api/v1/cases/{case}").json()["disposition"] == "emergency"

    # Only a clinician clears it, with a reason; the patient cannot
    assert alice.post(f"/api/v1/cases/{case}/escalation/clear", json={"reason": "fine"}).status_code == 404
    short = dave.post(f"/api/v1/cases/{case}/escalation/clear", json={"reason": ""})
    assert short.status_code == 422
    cleared = dave.post(
        f"/api/v1/cases/{case}/escalation/clear",
        json={"reason": "Phoned her: the accident was a week ago and is gone."},
    )
    assert cleared.status_code == 200
    assert cleared.json() == {
        "cleared": 1,
        "disposition": "telemedicine",
        "patient_disposition": "telemedicine",
    }
    assert alice.get(f"/api/v1/cases/{case}").json()["disposition"] == "telemedicine"
    assert alice.post(f"/api/v1/cases/{case}/visit-requests", json={"mode": "video"}).status_code == 201
    again = dave.post(f"/api/v1/cases/{case}/escalation/clear", json={"reason": "again"})
    assert again.status_code == 409
    admin = bearer(make_client, seeded_url, "admin")
    audit = admin.get("/api/v1/audit", params={"action": "clear_escalation", "object_id": case}).json()
    assert [(e["actor_username"], e["object_id"]) for e in audit] == [("dr_dave", case)]


def test_a_clinicians_override_survives_a_new_patient_version(
    alice: Client, dave: Client, make_client: Callable[..., Client], seeded_url: str
) -> None:
    assessment, case = new_case(alice, dave)
    r = dave.post(f"/api/v1/cases/{case}/overrides", json={"disposition": "emergency", "reason": "On video"})
    assert r.status_code == 201
    assert (
        alice.post(f"/api/v1/assessments/{assessment}/versions", json={"findings": CALM}).status_code == 201
    )
    item = queue_item(dave, case)
    assert item["disposition"] == "emergency" and item["assessment_version"] == 2
    assert dave.get(f"/api/v1/cases/{case}").json()["disposition"] == "emergency"
    chart = login(make_client, seeded_url, "dr_dave").get(f"/care/cases/{case}").text
    assert '<div class="disposition emergency">' in chart and "Escalation held at" in chart
    assert alice.get(f"/api/v1/cases/{case}").json()["disposition"] == "emergency"
    patient_page = login(make_client, seeded_url, "alice").get(f"/care/cases/{case}").text
    assert 'class="disposition emergency"' in patient_page and 'action="/care/cases/' in patient_page
    assert f'action="/care/cases/{case}/visit-request"' not in patient_page  # no visit form


def answer_all(client: Client, who: str = "self") -> Any:
    """The page assessment answered calmly (age 35): ends on the telemedicine result page."""
    token = csrf_from(client.get("/assess").text)
    r = client.post("/assess/start", data={"who": who, "csrf_token": token})
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


def test_pages_keep_the_escalation_and_a_clinician_clears_it(
    make_client: Callable[..., Client], seeded_url: str, alice: Client, dave: Client
) -> None:
    assessment, case = new_case(alice, dave)
    web = login(make_client, seeded_url, "alice")
    token = csrf_from(web.get(f"/care/cases/{case}").text)
    r = web.post(f"/care/cases/{case}/messages", data={"body": RED_FLAG, "csrf_token": token})
    # The right result at once: the emergency page, with only emergency things on it
    assert r.url.path == f"/care/cases/{case}/emergency" and "This is an emergency" in r.text
    main = r.text.split("<main", 1)[1].split("</main>", 1)[0]
    for softer in ("today", "1 to 3 days", "in person", "tele-visit"):
        assert softer not in main.lower()
    before = queue_ids(dave)
    # The patient answers the questionnaire again on the pages, calmly, and adds it as a new version
    result = answer_all(web)
    assert (
        "/assess/result" in str(result.url) and f'action="/assessments/{assessment}/versions"' in result.text
    )
    saved = web.post(f"/assessments/{assessment}/versions", data={"csrf_token": csrf_from(result.text)})
    assert saved.status_code == 200 and "saved as a new version" in saved.text
    assert 'class="disposition emergency"' in saved.text and "Request a tele-visit" not in saved.text
    assert "1 to 3 days" not in saved.text.split('id="disposition"', 1)[1].split("</div>", 1)[0]
    assert alice.get(f"/api/v1/assessments/{assessment}").json()["latest"]["version"] == 3
    follow = web.get(f"/care/cases/{case}").text
    assert 'class="disposition emergency"' in follow and "It stays until a clinician" in follow
    assert 'name="mode" value="video"' not in follow  # visit booking stays closed
    assert queue_ids(dave) == before
    # The clinician clears it on the chart with a reason; it is in the record and the trail
    chart_client = login(make_client, seeded_url, "dr_dave")
    chart = chart_client.get(f"/care/cases/{case}").text
    assert "Escalation held at" in chart and f'action="/care/cases/{case}/escalation/clear"' in chart
    done = chart_client.post(
        f"/care/cases/{case}/escalation/clear",
        data={"reason": "Spoke to her: no new symptoms.", "csrf_token": csrf_from(chart)},
    )
    assert done.status_code == 200 and "The escalation is cleared" in done.text
    assert "Spoke to her: no new symptoms." in done.text and "clear_escalation" in done.text
    assert 'class="disposition emergency"' not in web.get(f"/care/cases/{case}").text
