"""The self-care plan after a telemedicine or routine result: medicine questions, questionnaires,
choices, the program page, the written plan (PDF text checked with pypdf) and saved scores."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from telespine.store.db import make_engine, make_sessionmaker
from telespine.store.models import AuditEvent
from telespine.store.models_program import PlanAnswersRecord, ScoreRow
from telespine.web.testing import csrf_from

# The same plans' PDFs come back in many tests here: each distinct HTML is rendered once a process.
pytestmark = pytest.mark.usefixtures("one_pdf_per_html")

Client = Any
CALM = ["no", "none", "normal", "low_back", "gradual"]
MEDICINE_FIELDS = [
    "pregnancy",
    "stomach_ulcer_or_bleeding",
    "kidney_disease",
    "heart_disease",
    "liver_disease",
    "blood_thinners",
    "asthma_worse_with_nsaids",
    "other_pain_medicines",
]
STARTBACK_ITEMS = [
    "q1_leg_pain",
    "q2_neck_shoulder",
    "q3_walking",
    "q4_dressing",
    "q5_activity_safe",
    "q6_worry",
    "q7_catastrophising",
    "q8_enjoyment",
]
LOW_RISK = {**dict.fromkeys(STARTBACK_ITEMS, "disagree"), "q9_bothersome": "slightly"}
HIGH_RISK = {**dict.fromkeys(STARTBACK_ITEMS, "agree"), "q9_bothersome": "extremely"}
IBUPROFEN_DOSE = "200 mg to 400 mg"


def pdf_text(data: bytes) -> str:
    """The text of a PDF with whitespace collapsed (lines break anywhere)."""
    assert data.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(data))
    return re.sub(r"\s+", " ", " ".join(page.extract_text() or "" for page in reader.pages))


def assess(client: Client, who: str = "self", age: str = "35", special: dict[str, str] | None = None) -> str:
    """Answer the triage questions (calm answers unless given) and return the CSRF token."""
    token = csrf_from(client.get("/assess").text)
    client.post("/assess/start", data={"who": who, "csrf_token": token})
    return finish(client, token, age, special or {})


def finish(client: Client, token: str, age: str, special: dict[str, str]) -> str:
    """Answer the questions still open (calm answers unless given)."""
    for _ in range(100):
        r = client.get("/assess/q")
        if "/assess/q" not in str(r.url):
            return token
        qid = re.search(r'name="question_id" value="([^"]+)"', r.text).group(1)  # type: ignore[union-attr]
        if 'type="number"' in r.text:
            answer = special.get(qid, age if qid == "age_years" else "1")
        else:
            options = re.findall(r'name="answer" value="([^"]+)"', r.text)
            answer = special.get(qid) or next(o for o in [*CALM, options[0]] if o in options)
        client.post("/assess/q", data={"question_id": qid, "answer": answer, "csrf_token": token})
    raise AssertionError("the questionnaire did not finish")


def build_plan(
    client: Client,
    token: str,
    medicines: dict[str, str],
    questionnaires: dict[str, dict[str, str]],
    choices: dict[str, Any] | None = None,
) -> Any:
    """Walk the plan pages in the order the app gives; return the program page response."""
    r = client.get("/assess/plan")
    assert str(r.url).endswith("/assess/plan/medicines"), r.url
    r = client.post("/assess/plan/medicines", data={"csrf_token": token, **medicines})
    while "/assess/plan/q/" in str(r.url):
        instrument = str(r.url).rsplit("/", 1)[1]
        data = questionnaires.get(instrument)
        form = {"csrf_token": token, **data} if data is not None else {"csrf_token": token, "skip": "1"}
        r = client.post(f"/assess/plan/q/{instrument}", data=form)
    assert str(r.url).endswith("/assess/plan/choices"), r.url
    r = client.post("/assess/plan/choices", data={"csrf_token": token, **(choices or {})})
    assert str(r.url).endswith("/assess/program"), r.url
    assert r.status_code == 200
    return r


def test_low_risk_adult_without_cautions(db_url: str, make_client: Callable[..., Client]) -> None:
    client = make_client(db_url)
    token = assess(client)
    result = client.get("/assess/result")
    assert 'href="/assess/plan"' in result.text
    page = build_plan(
        client,
        token,
        dict.fromkeys(MEDICINE_FIELDS, "no"),
        {"startback": LOW_RISK, "peg": {"pain": "4", "enjoyment": "3", "activity": "3"}},
        {
            "activity": ["cycling", ""],
            "goal": "Cycle to work again",
            "work_or_school": "desk_work",
            "smokes": "no",
        },
    )
    assert "low risk" in page.text and "manage it yourself" in page.text
    assert IBUPROFEN_DOSE in page.text
    assert "psychologically informed care" not in page.text
    assert "Keele University" in page.text  # the licence notice with the STarT Back result
    assert "cycling" in page.text
    pdf = client.get("/assess/program.pdf")
    assert pdf.headers["content-type"] == "application/pdf"
    text = pdf_text(pdf.content)
    assert "low risk" in text and IBUPROFEN_DOSE in text and "Keele University" in text
    html = client.get("/assess/program.html")
    assert html.headers["content-type"].startswith("text/html") and IBUPROFEN_DOSE in html.text


def test_high_risk_adult_with_kidney_disease(db_url: str, make_client: Callable[..., Client]) -> None:
    client = make_client(db_url)
    token = assess(client)
    medicines = {**dict.fromkeys(MEDICINE_FIELDS, "no"), "kidney_disease": "yes"}
    page = build_plan(client, token, medicines, {"startback": HIGH_RISK})
    assert "psychologically informed care" in page.text
    assert "Ask a pharmacist or doctor before you take them" in page.text
    assert IBUPROFEN_DOSE not in page.text
    assert "Kidney disease" in page.text  # the reason is listed
    text = pdf_text(client.get("/assess/program.pdf").content)
    assert "psychologically informed care" in text
    assert "Ask a pharmacist or doctor" in text and IBUPROFEN_DOSE not in text


def test_result_page_download_uses_the_plan_answers(db_url: str, make_client: Callable[..., Client]) -> None:
    client = make_client(db_url)
    token = assess(client)
    no_plan_yet = pdf_text(client.get("/assess/plan.pdf").content)
    assert "low risk" not in no_plan_yet  # no questionnaire answered yet
    medicines = {**dict.fromkeys(MEDICINE_FIELDS, "no"), "kidney_disease": "yes"}
    build_plan(client, token, medicines, {"startback": LOW_RISK})
    text = pdf_text(client.get("/assess/plan.pdf").content)  # the result page's link
    assert "low risk" in text and "Ask a pharmacist or doctor" in text
    assert IBUPROFEN_DOSE not in text


def test_parent_of_a_child_gets_the_parent_version(db_url: str, make_client: Callable[..., Client]) -> None:
    client = make_client(db_url)
    token = assess(client, who="child", age="10")
    r = client.get("/assess/plan/medicines")
    assert "Does your child have a kidney problem?" in r.text
    page = build_plan(client, token, dict.fromkeys(MEDICINE_FIELDS, "no"), {"nrs": {"pain": "3"}})
    assert "Your child's self-care plan" in page.text
    assert " mg" not in page.text  # no doses for children
    assert "aspirin" in page.text
    assert client.get("/assess/plan/q/startback").status_code == 404  # adults only
    text = pdf_text(client.get("/assess/program.pdf").content)
    assert "aspirin" in text and "your child" in text.lower()
    assert " mg " not in text and IBUPROFEN_DOSE not in text


def test_going_back_keeps_answers_and_blank_means_not_sure(
    db_url: str, make_client: Callable[..., Client]
) -> None:
    client = make_client(db_url)
    token = assess(client)
    client.post("/assess/plan/medicines", data={"csrf_token": token, "kidney_disease": "yes"})
    again = client.get("/assess/plan/medicines")
    assert re.search(r'name="kidney_disease" value="yes"\s+checked', again.text)
    client.post("/assess/plan/q/startback", data={"csrf_token": token, **LOW_RISK})
    back = client.get("/assess/plan/q/startback")
    assert re.search(r'name="q9_bothersome" value="slightly"\s+checked', back.text)
    # Blank medicine answers are "not sure": a caution, so no ibuprofen dose.
    client.post("/assess/plan/medicines", data={"csrf_token": token})
    page = client.get("/assess/program")
    assert IBUPROFEN_DOSE not in page.text and "Not sure about kidney disease" in page.text


def test_bad_answers_are_asked_again(db_url: str, make_client: Callable[..., Client]) -> None:
    client = make_client(db_url)
    token = assess(client)
    r = client.post("/assess/plan/medicines", data={"csrf_token": token, "kidney_disease": "maybe"})
    assert r.status_code == 422 and "Please choose one of the answers." in r.text
    partial = {k: v for k, v in LOW_RISK.items() if k != "q3_walking"}
    r = client.post("/assess/plan/q/startback", data={"csrf_token": token, **partial})
    assert r.status_code == 422 and "Please answer each question" in r.text
    r = client.post(
        "/assess/plan/q/peg", data={"csrf_token": token, "pain": "11", "enjoyment": "1", "activity": "1"}
    )
    assert r.status_code == 422
    r = client.post("/assess/plan/choices", data={"csrf_token": token, "work_or_school": "astronaut"})
    assert r.status_code == 422


@pytest.mark.parametrize(
    ("special", "where"),
    [({"bladder": "retention"}, "emergency"), ({"immunosuppressed": "yes"}, "prompt")],
)
def test_no_plan_questions_after_an_urgent_result(
    db_url: str, make_client: Callable[..., Client], special: dict[str, str], where: str
) -> None:
    client = make_client(db_url)
    token = assess(client, special=special)
    result = client.get("/assess/result")
    assert 'href="/assess/plan"' not in result.text
    for path in ("/assess/plan", "/assess/plan/medicines", "/assess/plan/q/peg", "/assess/program"):
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/assess/result", (path, where)
    r = client.post("/assess/plan/medicines", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/assess/result"


def test_program_failure_shows_the_safety_net(
    db_url: str, make_client: Callable[..., Client], monkeypatch: pytest.MonkeyPatch
) -> None:
    client = make_client(db_url)
    token = assess(client)
    client.post("/assess/plan/medicines", data={"csrf_token": token, **dict.fromkeys(MEDICINE_FIELDS, "no")})

    def boom(*_: object, **__: object) -> None:
        raise RuntimeError("program rules broken")

    monkeypatch.setattr("telespine.program.plan.generate_program", boom)
    page = client.get("/assess/program")
    assert "We could not finish the check" in page.text
    assert "Call 911" in page.text and IBUPROFEN_DOSE not in page.text
    text = pdf_text(client.get("/assess/program.pdf").content)
    assert IBUPROFEN_DOSE not in text
    assert "We could not finish your assessment safely" in text and "emergency department" in text
    api = client.post("/api/v1/program", json={"findings": {"age_years": 35}})
    assert api.status_code == 200
    assert api.json()["safety_net"] is True and api.json()["program"] is None


def test_startback_can_be_switched_off(
    db_url: str, make_client: Callable[..., Client], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TELESPINE_DISABLED_INSTRUMENTS", "startback")
    client = make_client(db_url)
    token = assess(client)
    page = build_plan(client, token, dict.fromkeys(MEDICINE_FIELDS, "no"), {})
    assert "/assess/plan/q/startback" not in page.text and "Keele" not in page.text
    assert "We do not yet know how likely" in page.text  # not assessed: never treated as low risk
    assert client.get("/assess/plan/q/startback").status_code == 404
    r = client.post("/api/v1/instruments/startback/score", json={"responses": LOW_RISK})
    assert r.status_code == 404


def test_saving_stores_scores_with_time_and_plan_answers(
    clean_db: str, make_client: Callable[..., Client]
) -> None:
    client = make_client(clean_db)
    token = csrf_from(client.get("/signup").text)
    client.post("/signup", data={"username": "pat", "password": "walking helps my back", "csrf_token": token})
    token = assess(client)
    page = build_plan(
        client,
        token,
        {**dict.fromkeys(MEDICINE_FIELDS, "no"), "kidney_disease": "yes"},
        {"startback": HIGH_RISK, "peg": {"pain": "7", "enjoyment": "6", "activity": "8"}},
    )
    token = csrf_from(page.text)
    saved = client.post("/assess/program/save", data={"csrf_token": token})
    assert "/assessments/" in str(saved.url) and str(saved.url).split("?")[0].endswith("/program")
    assert "Your plan and your questionnaire scores are saved." in saved.text
    assert "psychologically informed care" in saved.text  # rebuilt from the stored answers
    assessment_id = str(saved.url).split("/assessments/")[1].split("/")[0]
    text = pdf_text(client.get(f"/api/v1/assessments/{assessment_id}/plan.pdf").content)
    assert "psychologically informed care" in text and IBUPROFEN_DOSE not in text
    me = client.get("/api/v1/me").json()
    profile_id = me["profiles"][0]["id"]
    scores = client.get(f"/api/v1/profiles/{profile_id}/scores").json()
    assert [s["instrument_id"] for s in scores] == ["startback", "peg"]
    assert scores[0]["category"] == "high" and scores[1]["scores"]["peg"] == 7.0
    assert all(s["taken_at"] and s["assessment_id"] == assessment_id for s in scores)
    # Saving again without changes adds nothing; the result page links to the saved plan.
    assert "See the saved plan" in client.get("/assess/program").text
    engine = make_engine(clean_db)
    try:
        with make_sessionmaker(engine)() as db:
            assert len(db.scalars(select(ScoreRow)).all()) == 2
            stored = db.scalars(select(PlanAnswersRecord)).one()
            assert stored.answers["medicines"]["kidney_disease"] == "yes"
            events = db.scalars(select(AuditEvent).where(AuditEvent.action == "create")).all()
            kinds = {e.object_type for e in events}
            assert {"assessment", "score_record", "plan_answers"} <= kinds
            assert not any("kidney" in (e.detail or "") for e in events)
    finally:
        engine.dispose()


def test_routine_result_gets_a_plan_while_waiting(db_url: str, make_client: Callable[..., Client]) -> None:
    client = make_client(db_url)
    token = assess(client, special={"sex": "female", "pregnant": "yes"})
    assert 'class="disposition routine"' in client.get("/assess/result").text
    page = build_plan(client, token, {**dict.fromkeys(MEDICINE_FIELDS, "no"), "pregnancy": "trimester_2"}, {})
    assert "ibuprofen" in page.text.lower() and IBUPROFEN_DOSE not in page.text  # pregnancy: avoid NSAIDs
    assert 'class="card medicine avoid" id="medicine-ibuprofen"' in page.text


def test_a_changed_age_drops_adult_questionnaires(db_url: str, make_client: Callable[..., Client]) -> None:
    client = make_client(db_url)
    token = assess(client)
    client.post("/assess/plan/medicines", data={"csrf_token": token, **dict.fromkeys(MEDICINE_FIELDS, "no")})
    client.post("/assess/plan/q/startback", data={"csrf_token": token, **HIGH_RISK})
    assert "psychologically informed care" in client.get("/assess/program").text
    # The person goes back and says the check is about a 12-year-old.
    client.post("/assess/q", data={"question_id": "age_years", "answer": "12", "csrf_token": token})
    finish(client, token, "12", {})
    page = client.get("/assess/program")
    assert page.status_code == 200 and "Your child's self-care plan" in page.text
    assert "psychologically informed care" not in page.text and "STarT Back" not in page.text
    assert "We could not finish" not in page.text


def test_saved_plan_failure_shows_the_safety_net(
    seeded_url: str, make_client: Callable[..., Client], monkeypatch: pytest.MonkeyPatch
) -> None:
    from telespine.store.demo import demo_password

    client = make_client(seeded_url)
    token = csrf_from(client.get("/login").text)
    client.post("/login", data={"username": "alice", "password": demo_password("alice"), "csrf_token": token})
    assessment_id = next(
        a["id"] for a in client.get("/api/v1/assessments").json() if a["disposition"] == "telemedicine"
    )
    assert "Medicines for pain" in client.get(f"/assessments/{assessment_id}/program").text

    def boom(*_: object, **__: object) -> None:
        raise RuntimeError("medicine rules broken")

    monkeypatch.setattr("telespine.program.plan.medicine_advice", boom)
    page = client.get(f"/assessments/{assessment_id}/program")
    assert "We could not finish the check" in page.text and "Medicines for pain" not in page.text
    text = pdf_text(client.get(f"/api/v1/assessments/{assessment_id}/plan.pdf").content)
    assert "We could not finish your assessment safely" in text
