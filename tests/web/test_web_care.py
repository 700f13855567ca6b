"""Clinician workspace and follow-up through the web app: queue, claim, chart, override as
rule-set feedback, booking (409 on a double booking, also under a race), visit note and plan,
screened messages that raise the case and show the safety net, the diary with escalation."""

from __future__ import annotations

import datetime as dt
import io
import re
import threading
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from markupsafe import escape
from pypdf import PdfReader

from telespine.web.clinical import emergency_signs
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

# Visit times must lie between now and a year ahead, on the slot grid: a day a month from now.
SOON = (dt.datetime.now(dt.UTC) + dt.timedelta(days=30)).date().isoformat()


def queue_rows(client: Client, query: str = "") -> list[tuple[str, str, str]]:
    page = client.get(f"/clinic/queue{query}")
    assert page.status_code == 200
    return [(i, n, d.strip()) for i, n, d in QUEUE_ROW.findall(page.text)]


def case_of(client: Client, name: str) -> str:
    return next(i for i, n, _ in queue_rows(client) if n == name)


@pytest.fixture
def dave(make_client: Callable[..., Client], seeded_url: str) -> Client:
    return login(make_client, seeded_url, "dr_dave")


def test_queue_has_every_urgency_most_urgent_first(dave: Client) -> None:
    rows = queue_rows(dave)
    labels = [d for _, _, d in rows]
    order = [
        "Emergency",
        "Be seen today",
        "See a doctor in 1 to 3 days",
        "Book a routine visit",
        "Telemedicine can help",
    ]
    assert set(order) <= set(labels)
    ranks = [order.index(label) for label in labels]
    assert ranks == sorted(ranks)
    page = dave.get("/clinic/queue").text
    # Emergency cases stand out and say what the patient was told, and when.
    assert 'class="card disposition emergency"' in page and "Told " in page
    assert "Dan Dixon" in page and "Sam Carter" in page and "Hillview" not in page


def test_queue_filters_and_claim(dave: Client, make_client: Callable[..., Client], seeded_url: str) -> None:
    urgent = queue_rows(dave, "?disposition=urgent")
    assert [n for _, n, _ in urgent] == ["Eve Evans"]
    case = urgent[0][0]
    token = csrf_from(dave.get("/clinic/queue").text)
    r = dave.post(f"/care/cases/{case}/claim", data={"csrf_token": token})
    assert r.status_code == 200 and "You claimed this case." in r.text
    assert case in [i for i, _, _ in queue_rows(dave, "?mine=1")]
    assert case not in [i for i, _, _ in queue_rows(dave, "?claimed=unclaimed")]
    api = bearer(make_client, seeded_url, "dr_dave")
    again = api.post(f"/api/v1/cases/{case}/claim")
    assert again.status_code == 200  # the same clinician: still theirs
    assert [c["id"] for c in api.get("/api/v1/queue", params={"mine": True}).json()] == [case]


def test_visit_request_api_keeps_mode_and_times(
    make_client: Callable[..., Client], seeded_url: str, dave: Client
) -> None:
    carol = bearer(make_client, seeded_url, "carol")
    sam = case_of(dave, "Sam Carter")
    r = carol.post(
        f"/api/v1/cases/{sam}/visit-requests", json={"mode": "video", "preferred_times": "after school"}
    )
    assert r.status_code == 201 and r.json()["mode"] == "video"
    assert "video, preferred times: after school" in dave.get(f"/care/cases/{sam}").text
    assert carol.post(f"/api/v1/cases/{sam}/visit-requests", json={"mode": "fax"}).status_code == 422
    bob = bearer(make_client, seeded_url, "bob")  # prompt: needs care in person, no tele-visit
    refused = bob.post(f"/api/v1/cases/{case_of(dave, 'Bob Baker')}/visit-requests", json={"mode": "video"})
    assert refused.status_code == 409 and "in person" in refused.json()["detail"]


def test_chart_shows_findings_rules_scores_diary_messages_and_trail(dave: Client) -> None:
    case = case_of(dave, "Alice Archer")
    page = dave.get(f"/care/cases/{case}").text
    for part in (
        'id="findings"',
        'id="rules"',
        'id="scores"',
        'id="diary"',
        'id="messages"',
        'id="visits"',
        'id="trail"',
        "The exercises help",
    ):
        assert part in page, part
    if "<polyline" in page:  # scores exist when the program part's table is there
        assert "Scores table" in page and "peg" in page
    dan = dave.get(f"/care/cases/{case_of(dave, 'Dan Dixon')}").text
    assert "adult.cauda_equina" in dan and "Sources:" in dan


def test_override_keeps_the_original_and_is_exported(
    dave: Client, make_client: Callable[..., Client], seeded_url: str
) -> None:
    case = case_of(dave, "Fay Fischer")
    token = csrf_from(dave.get(f"/care/cases/{case}").text)
    r = dave.post(
        f"/care/cases/{case}/override",
        data={"disposition": "prompt", "reason": "New limp on video", "csrf_token": token},
    )
    assert r.status_code == 200 and "The original result stays on record" in r.text
    assert "Engine result on version 1: Book a routine visit" in r.text
    assert (case, "Fay Fischer", "See a doctor in 1 to 3 days") in queue_rows(dave)
    feedback = bearer(make_client, seeded_url, "dr_dave").get("/api/v1/ruleset-feedback").json()
    row = next(f for f in feedback if f["reason"] == "New limp on video")
    assert row["fired_rule_ids"] == ["adult.stable_numbness"] and row["from_disposition"] == "routine"
    assert len(row["ruleset_sha256"]) == 64
    admin = bearer(make_client, seeded_url, "admin").get("/api/v1/ruleset-feedback").json()
    assert any(f["id"] == row["id"] and f["reason"] is None for f in admin)  # no free text for admins
    erin = bearer(make_client, seeded_url, "dr_erin").get("/api/v1/ruleset-feedback").json()
    assert all(f["id"] != row["id"] for f in erin)
    assert "New limp on video" in dave.get("/care/feedback").text


def test_booking_visit_note_and_plan(
    dave: Client, make_client: Callable[..., Client], seeded_url: str
) -> None:
    bob = login(make_client, seeded_url, "bob")
    bob_case = next(i for i, n, _ in queue_rows(dave) if n == "Bob Baker")
    token = csrf_from(bob.get(f"/care/cases/{bob_case}").text)
    page = bob.get(f"/care/cases/{bob_case}").text
    assert "Ask for a tele-visit" not in page and "needs care in person" in page  # prompt: see a doctor
    r = bob.post(
        f"/care/cases/{bob_case}/visit-request",
        data={"mode": "phone", "preferred_times": "weekday mornings", "csrf_token": token},
    )
    assert r.status_code == 409  # the clinician may still call; the patient is not offered a tele-visit
    chart = dave.get(f"/care/cases/{bob_case}").text
    token = csrf_from(chart)
    r = dave.post(
        f"/care/cases/{bob_case}/bookings",
        data={"slot_start": f"{SOON}T09:00", "mode": "phone", "csrf_token": token},
    )
    assert r.status_code == 200 and "The visit is booked." in r.text and "Pre-visit summary" in r.text
    assert "Reported at assessment" in r.text and "fever" in r.text  # the note template is filled
    visit = str(r.url).split("/care/visits/")[1].split("?")[0]
    twice = dave.post(
        f"/care/cases/{bob_case}/bookings",
        data={"slot_start": f"{SOON}T09:00", "mode": "phone", "csrf_token": token},
    )
    assert twice.status_code == 409 and "already have a visit booked" in twice.text
    assert bob.get(f"/care/visits/{visit}/plan.pdf").status_code == 404  # not finished yet
    r = dave.post(
        f"/care/visits/{visit}/note",
        data={
            "subjective": "Fever 38.2 two days",
            "objective": "Walks without help",
            "assessment": "Possible infection",
            "plan": "GP today",
            "finish": "1",
            "csrf_token": token,
        },
    )
    assert "The visit is finished" in r.text and "Fever 38.2 two days" in r.text
    pdf = bob.get(f"/care/visits/{visit}/plan.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "Warning signs" in text and "Age: 58" in text  # the program's plan for bob's findings
    assert "GP today" in bob.get(f"/care/visits/{visit}").text  # the clinician's plan, shown to bob
    assert (
        bob.post(
            f"/care/visits/{visit}/note",
            data={"plan": "x", "csrf_token": csrf_from(bob.get(f"/care/cases/{bob_case}").text)},
        ).status_code
        == 404
    )


def test_booking_race_over_the_api_one_201_one_409(
    make_client: Callable[..., Client], seeded_url: str, dave: Client
) -> None:
    # not Dan Dixon: nothing is booked for an emergency (cauda equina) result
    cases = [i for i, n, _ in queue_rows(dave) if n in ("Fay Fischer", "Sam Carter")]
    clients = [bearer(make_client, seeded_url, "dr_dave") for _ in range(2)]  # two app instances
    barrier = threading.Barrier(2)
    codes: list[int] = []
    bodies: list[Any] = []

    def book(client: Client, case: str) -> None:
        barrier.wait()
        # phone: a video visit is refused for these results (services.visits.clinician_may_book)
        r = client.post(
            f"/api/v1/cases/{case}/bookings", json={"slot_start": f"{SOON}T14:00:00Z", "mode": "phone"}
        )
        codes.append(r.status_code)
        bodies.append(r.json())

    threads = [threading.Thread(target=book, args=(c, k)) for c, k in zip(clients, cases, strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(codes) == [201, 409]
    assert any(b.get("detail") == "This time is already booked for this clinician." for b in bodies)


def test_flagged_message_raises_case_and_shows_safety_net(
    make_client: Callable[..., Client], seeded_url: str, dave: Client
) -> None:
    carol = login(make_client, seeded_url, "carol")
    sam = case_of(dave, "Sam Carter")
    token = csrf_from(carol.get(f"/care/cases/{sam}").text)
    calm = carol.post(
        f"/care/cases/{sam}/messages",
        data={"body": "No numbness and no fever, just sore after football.", "csrf_token": token},
    )
    assert calm.status_code == 200 and 'id="safety"' not in calm.text
    r = carol.post(
        f"/care/cases/{sam}/messages",
        data={"body": "My son says he can't feel his bottom and he wet himself.", "csrf_token": token},
    )
    # An emergency red flag shows the emergency page at once (issue 10: the right result now)
    assert r.status_code == 200 and r.url.path == f"/care/cases/{sam}/emergency"
    assert "This is an emergency" in r.text and "Do not wait for a reply" in r.text
    child_sign = emergency_signs("pediatric", "911")["signs"][0]
    assert str(escape(child_sign)) in r.text  # the parent gets the child's warning signs
    first = queue_rows(dave)[0]
    assert first[0] == sam and first[2] == "Emergency"
    chart = dave.get(f"/care/cases/{sam}").text
    assert "Raised" in chart and "Warning signs found" in chart
    assert "negated" in chart  # "No numbness and no fever": shown as not counted, with the reason
    token = csrf_from(chart)
    assert (
        "Marked as reviewed" in dave.post(f"/care/cases/{sam}/acknowledge", data={"csrf_token": token}).text
    )


def test_diary_red_flag_shows_safety_net_and_retriages(
    make_client: Callable[..., Client], seeded_url: str
) -> None:
    alice = bearer(make_client, seeded_url, "alice")
    web = login(make_client, seeded_url, "alice")
    case = re.findall(r"/care/cases/(\w+)", web.get("/care").text)[0]
    today = dt.datetime.now(dt.UTC).date().isoformat()
    calm = alice.post(
        f"/api/v1/cases/{case}/diary",
        json={
            "day": today,
            "pain": 3,
            "function": 7,
            "medicine_use": "as_usual",
            "red_flag_check": dict.fromkeys(
                (
                    "saddle_numbness",
                    "bladder_bowel",
                    "leg_weakness",
                    "leg_numbness",
                    "walking",
                    "fever",
                    "chest_breathing_fainting",
                ),
                "no",
            ),
        },
    )
    assert calm.status_code == 201 and calm.json()["safety_net"] == []
    token = csrf_from(web.get(f"/care/cases/{case}").text)
    r = web.post(
        f"/care/cases/{case}/diary",
        data={
            "pain": "6",
            "function": "4",
            "medicine_use": "more_than_usual",
            "rf_leg_weakness": "yes",
            "csrf_token": token,
        },
    )  # unanswered questions count as "not sure", never as "no"
    assert r.status_code == 200 and 'id="safety"' in r.text
    days = alice.get(f"/api/v1/cases/{case}/diary").json()
    assert (
        days[-1]["red_flag_check"]["leg_weakness"] == "yes"
        and days[-1]["red_flag_check"]["fever"] == "unknown"
    )
    assert any(
        m["body"].startswith("The exercises help") for m in alice.get(f"/api/v1/cases/{case}/messages").json()
    )
    me = alice.get(f"/api/v1/cases/{case}").json()
    assert me["raised_at"] is not None and me["engine_disposition"] in ("emergency", "urgent", "prompt")
    bad = alice.post(
        f"/api/v1/cases/{case}/diary",
        json={"day": today, "pain": 11, "function": 1, "medicine_use": "as_usual"},
    )
    assert bad.status_code == 422


def test_failures_raise_the_case_and_never_reassure(
    make_client: Callable[..., Client], seeded_url: str, dave: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    import telespine.care
    from telespine.care import diary_form

    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("pipeline down")

    bob = login(make_client, seeded_url, "bob")
    case = case_of(dave, "Bob Baker")
    token = csrf_from(bob.get(f"/care/cases/{case}").text)
    monkeypatch.setattr(telespine.care, "screen_message", broken)
    r = bob.post(f"/care/cases/{case}/messages", data={"body": "Just a quick question.", "csrf_token": token})
    assert 'id="safety"' in r.text  # a failed screening is never read as "no flag"
    chart = dave.get(f"/care/cases/{case}").text
    assert "Screening failed: read this message yourself." in chart and "Raised" in chart
    monkeypatch.undo()
    monkeypatch.setattr(telespine.care, "evaluate_case", broken)
    api = bearer(make_client, seeded_url, "bob")
    today = dt.datetime.now(dt.UTC).date().isoformat()
    entry = {
        "day": today,
        "pain": 2,
        "function": 8,
        "medicine_use": "none",
        "red_flag_check": dict.fromkeys(CHECK, "no"),
    }
    assert api.post(f"/api/v1/cases/{case}/diary", json=entry).status_code == 201
    assert "Follow-up rules could not run" in dave.get(f"/care/cases/{case}").text
    monkeypatch.undo()
    monkeypatch.setattr(diary_form, "diary_questions", broken)
    r = bob.post(
        f"/care/cases/{case}/diary",
        data={"pain": "2", "function": "8", "medicine_use": "none", "csrf_token": token},
    )
    assert r.status_code == 200 and 'id="safety"' in r.text and "Your diary entry is saved" not in r.text
    assert api.post(f"/api/v1/cases/{case}/diary", json=entry).status_code == 503
    assert "A diary entry could not be checked" in dave.get(f"/care/cases/{case}").text


@pytest.mark.parametrize("who", ["alice", "carol"])
def test_patient_follow_up_page_reads_at_grade_8_or_lower(
    make_client: Callable[..., Client], seeded_url: str, who: str
) -> None:
    import html

    from telespine.content.readability import reading_grade

    client = login(make_client, seeded_url, who)
    case = re.findall(r"/care/cases/(\w+)", client.get("/care").text)[0]
    page = client.get(f"/care/cases/{case}?alert=diary").text  # with the safety-net panel
    main = page[page.index("<main") : page.index("</main>")]
    main = re.sub(r"<(table|select).*?</\1>", " ", main, flags=re.S)  # numbers, dates, zone names: not prose
    text = re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", main)))
    assert "warning sign" in text and len(text) > 800
    assert reading_grade(text) <= 8
    if who == "carol":
        assert "your child" in text.lower() and "aspirin" not in text.lower()


def test_reminder_address_and_time_zone(make_client: Callable[..., Client], seeded_url: str) -> None:
    bob = login(make_client, seeded_url, "bob")
    case = re.findall(r"/care/cases/(\w+)", bob.get("/care").text)[0]
    token = csrf_from(bob.get(f"/care/cases/{case}").text)
    form = {"email": "bob@example.org", "reminders": "1", "timezone": "Pacific/Auckland", "csrf_token": token}
    r = bob.post("/care/contact", data={**form, "case_id": case})
    assert "Your reminder settings are saved." in r.text and 'value="Pacific/Auckland" selected' in r.text
    assert 'value="bob@example.org"' in r.text
    assert bob.post("/care/contact", data={**form, "timezone": "Mars/Olympus"}).status_code == 422


def test_a_message_only_the_learned_check_reads_goes_to_a_person_not_the_emergency_page(
    make_client: Callable[..., Client], seeded_url: str, dave: Client
) -> None:
    carol = login(make_client, seeded_url, "carol")
    sam = case_of(dave, "Sam Carter")
    before = {row[0]: row[2] for row in queue_rows(dave)}[sam]
    token = csrf_from(carol.get(f"/care/cases/{sam}").text)
    r = carol.post(
        f"/care/cases/{sam}/messages",
        data={"body": "Been feeling rough, sweaty at night and off my food, back worse", "csrf_token": token},
    )
    # the rules find no red flag: no emergency page, no raised level (rules 2.4.0, learned layer)
    assert r.status_code == 200 and r.url.path != f"/care/cases/{sam}/emergency"
    assert 'id="safety"' not in r.text
    assert {row[0]: row[2] for row in queue_rows(dave)}[sam] == before
    chart = dave.get(f"/care/cases/{sam}").text
    assert "Raised" in chart and "A message needs review." in chart  # in front of a clinician
    assert "the learned check (a text model, not a rule) thinks a clinician should read this message" in chart
