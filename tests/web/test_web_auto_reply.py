"""The automatic reply and the one-minute red-flag check (issue 10, part 3), screening off the
event loop and stored text before screening (part 5), and honest wording (part 6), through the
API and the pages on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

import telespine.care
from telespine.content.readability import reading_grade
from telespine.services.followup import emergency_signs
from telespine.web.testing import bearer, csrf_from, login

Client = TestClient
CALM = {"age_years": 40, "location": "low_back", "onset": "gradual", "duration_days": 5, "pain_score": 3}
CHILD = {"age_years": 10, "location": "low_back", "onset": "gradual", "duration_days": 5, "pain_score": 3}
CHECK = (
    "saddle_numbness",
    "bladder_bowel",
    "leg_weakness",
    "leg_numbness",
    "walking",
    "fever",
    "chest_breathing_fainting",
)


@pytest.fixture
def dave(make_client: Callable[..., Client], seeded_url: str) -> Client:
    return bearer(make_client, seeded_url, "dr_dave")


def new_case(patient: Client, dave: Client, findings: dict[str, Any], profile_id: str | None = None) -> str:
    doc: dict[str, Any] = {"findings": findings}
    if profile_id:
        doc["profile_id"] = profile_id
    r = patient.post("/api/v1/assessments", json=doc)
    assert r.status_code == 201, r.text
    return next(c["id"] for c in dave.get("/api/v1/queue").json() if c["assessment_id"] == r.json()["id"])


def test_adult_gets_an_automatic_reply_with_the_signs_and_the_number(
    make_client: Callable[..., Client], seeded_url: str, dave: Client
) -> None:
    alice = bearer(make_client, seeded_url, "alice")
    case = new_case(alice, dave, CALM)
    r = alice.post(f"/api/v1/cases/{case}/messages", json={"body": "Can I move my visit to Friday?"})
    assert r.status_code == 201 and not r.json()["flagged"] and not r.json()["emergency"]
    reply = r.json()["reply"]
    assert "not read in real time" in reply["body"] and "Call 911" in reply["body"]
    for sign in emergency_signs("adult", "911"):
        assert f"- {sign}" in reply["body"]
    assert not reply["offers_check"] and reply["check_url"] is None  # no body symptom mentioned
    assert "your child" not in reply["body"]
    assert reading_grade(reply["body"].split("\n", 1)[0]) <= 8
    body = alice.post(f"/api/v1/cases/{case}/messages", json={"body": "My back is stiffer this week."})
    assert body.json()["reply"]["offers_check"] and body.json()["reply"]["check_url"].endswith(
        "/red-flag-check"
    )
    listed = alice.get(f"/api/v1/cases/{case}/messages").json()
    replies = [m for m in listed if m["automatic"]]
    assert [m["reply_to"] for m in replies] == [r.json()["id"], body.json()["id"]]
    assert all(m["author"] == "telespine (automatic reply)" and not m["from_patient"] for m in replies)


def test_parent_gets_the_reply_in_the_parent_voice(
    make_client: Callable[..., Client], seeded_url: str, dave: Client
) -> None:
    carol = bearer(make_client, seeded_url, "carol")
    child = next(p["id"] for p in carol.get("/api/v1/me").json()["profiles"] if p["is_child"])
    case = new_case(carol, dave, CHILD, child)
    r = carol.post(f"/api/v1/cases/{case}/messages", json={"body": "He says his leg hurts after football."})
    reply = r.json()["reply"]["body"]
    assert "about your child" in reply and "if your child has any of these signs" in reply
    for sign in emergency_signs("pediatric", "911"):
        assert f"- {sign}" in reply
    assert r.json()["reply"]["offers_check"]
    page = login(make_client, seeded_url, "carol").get(f"/care/cases/{case}/check").text
    assert "about your child" in page and page.count('value="unknown"') == len(CHECK)


def test_the_reply_uses_the_configured_emergency_number(
    make_client: Callable[..., Client], seeded_url: str, dave: Client
) -> None:
    alice = bearer(make_client, seeded_url, "alice")
    case = new_case(alice, dave, CALM)
    other = make_client(seeded_url, emergency_number="112")
    token = other.post("/api/v1/auth/login", json={"username": "alice", "password": _password("alice")})
    other.headers["Authorization"] = f"Bearer {token.json()['token']}"
    r = other.post(f"/api/v1/cases/{case}/messages", json={"body": "Quick question about my plan."})
    reply = r.json()["reply"]["body"]
    assert "Call 112" in reply and not re.search(r"\b(911|999|000|111)\b", reply)


def _password(name: str) -> str:
    from telespine.store.demo import demo_password

    return demo_password(name)


def test_the_check_goes_through_the_engine_and_shows_the_emergency_page(
    make_client: Callable[..., Client], seeded_url: str, dave: Client
) -> None:
    alice = bearer(make_client, seeded_url, "alice")
    case = new_case(alice, dave, CALM)
    calm = alice.post(f"/api/v1/cases/{case}/red-flag-check", json={"answers": dict.fromkeys(CHECK, "no")})
    assert calm.status_code == 201 and calm.json()["disposition"] == "telemedicine"
    assert not calm.json()["emergency"] and calm.json()["safety_net"] == []
    # A question left out is "not sure", never "no"
    partial = alice.post(f"/api/v1/cases/{case}/red-flag-check", json={"answers": {"saddle_numbness": "no"}})
    assert partial.status_code == 201 and partial.json()["disposition"] in ("prompt", "urgent", "emergency")
    bad = alice.post(f"/api/v1/cases/{case}/red-flag-check", json={"answers": {"nope": "yes"}})
    assert bad.status_code == 422
    assert dave.post(f"/api/v1/cases/{case}/red-flag-check", json={"answers": {}}).status_code == 403
    web = login(make_client, seeded_url, "alice")
    form = web.get(f"/care/cases/{case}/check").text
    answers = {f"rf_{q}": "no" for q in CHECK} | {"rf_bladder_bowel": "yes"}
    r = web.post(f"/care/cases/{case}/check", data={**answers, "csrf_token": csrf_from(form)})
    assert r.url.path == f"/care/cases/{case}/emergency" and "This is an emergency" in r.text
    read = alice.get(f"/api/v1/cases/{case}").json()
    assert read["disposition"] == "emergency" and read["escalation_floor"] == "emergency"
    assert read["raised_at"] is not None


def test_screening_runs_off_the_event_loop_after_the_text_is_stored(
    make_client: Callable[..., Client], seeded_url: str, dave: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = bearer(make_client, seeded_url, "alice")
    case = new_case(alice, dave, CALM)
    original = telespine.care.screen_message
    loops: list[bool] = []

    def watched(text: str, audience: Any = "adult", kind: Any = "message") -> Any:
        try:
            asyncio.get_running_loop()
            loops.append(True)  # called inside the event loop: it would block every request
        except RuntimeError:
            loops.append(False)
        return original(text, audience, kind=kind)

    monkeypatch.setattr(telespine.care, "screen_message", watched)
    web = login(make_client, seeded_url, "alice")
    token = csrf_from(web.get(f"/care/cases/{case}").text)
    web.post(f"/care/cases/{case}/messages", data={"body": "Sore back today.", "csrf_token": token})
    diary = {"pain": "3", "function": "7", "medicine_use": "as_usual", "note": "Walked 20 minutes today."}
    diary |= {f"rf_{q}": "no" for q in CHECK}
    web.post(f"/care/cases/{case}/diary", data={**diary, "csrf_token": token})
    alice.post(f"/api/v1/cases/{case}/messages", json={"body": "Still sore."})
    assert loops == [False, False, False]

    def broken(*_: object, **__: object) -> Any:
        raise RuntimeError("screening down")

    monkeypatch.setattr(telespine.care, "screen_message", broken)
    r = alice.post(f"/api/v1/cases/{case}/messages", json={"body": "A question I need answered."})
    assert r.status_code == 201 and r.json()["flagged"] and r.json()["safety_net"]
    stored = [m["body"] for m in alice.get(f"/api/v1/cases/{case}/messages").json()]
    assert "A question I need answered." in stored  # stored first: the failure reaches a person
    assert dave.get(f"/api/v1/cases/{case}").json()["raised_at"] is not None


def test_same_day_result_lists_the_emergency_signs_instead_of_a_call_button(
    make_client: Callable[..., Client], seeded_url: str
) -> None:
    client = make_client(seeded_url)
    token = csrf_from(client.get("/assess").text)
    r = client.post("/assess/start", data={"who": "self", "csrf_token": token})
    calm = ["no", "none", "normal", "low_back", "gradual"]
    for _ in range(100):
        if not str(r.url).endswith("/assess/q"):
            break
        qid = re.search(r'name="question_id" value="([^"]+)"', r.text)
        assert qid
        options = re.findall(r'name="answer" value="([^"]+)"', r.text)
        if 'type="number"' in r.text:
            value = "35" if qid.group(1) == "age_years" else "1"
        elif qid.group(1) == "walking_difficulty":
            value = "yes"
        else:
            value = next(o for o in [*calm, options[0]] if o in options)
        r = client.post("/assess/q", data={"question_id": qid.group(1), "answer": value, "csrf_token": token})
    assert 'class="disposition urgent"' in r.text
    assert 'class="big-call"' not in r.text and 'id="emergency-signs"' in r.text
    assert "Call 911 or go to an emergency department now if you have any of these signs" in r.text


def test_no_promise_of_a_call_the_service_cannot_keep(
    make_client: Callable[..., Client], seeded_url: str, dave: Client
) -> None:
    alice = bearer(make_client, seeded_url, "alice")
    case = new_case(alice, dave, CALM)
    page = login(make_client, seeded_url, "alice").get(f"/care/cases/{case}?alert=failed").text
    assert "will call you" not in page and "asked to contact you" not in page
    r = alice.post(f"/api/v1/cases/{case}/messages", json={"body": "hello"})
    assert "call you" not in r.json()["reply"]["body"]
