"""Patient pages through the app: the assessment (adult and child), the emergency page, the safety
net when the engine fails, saving with an account, guides, the clinic list and the audit page."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

import telespine.triage.questionnaire as questionnaire
from telespine.store.demo import demo_password
from telespine.triage import guarded
from telespine.web import clinical
from telespine.web.testing import csrf_from

# The same plans' PDFs come back in many tests here: each distinct HTML is rendered once a process.
pytestmark = pytest.mark.usefixtures("one_pdf_per_html")

Client = Any
CALM = ["no", "none", "normal", "low_back", "gradual"]


def _question(html: str) -> tuple[str, list[str], bool]:
    qid = re.search(r'name="question_id" value="([^"]+)"', html)
    assert qid, html[:500]
    return qid.group(1), re.findall(r'name="answer" value="([^"]+)"', html), 'type="number"' in html


def answer_all(client: Client, who: str, special: dict[str, str], age: str = "35") -> Any:
    """Start an assessment and answer every question calmly, except the special ones."""
    token = csrf_from(client.get("/assess").text)
    r = client.post("/assess/start", data={"who": who, "csrf_token": token})
    for _ in range(100):
        if not str(r.url).endswith("/assess/q"):
            return r
        qid, options, number = _question(r.text)
        if qid in special:
            value = special[qid]
        elif number:
            value = age if qid == "age_years" else "1"
        else:
            value = next(o for o in [*CALM, options[0]] if o in options)
        r = client.post("/assess/q", data={"question_id": qid, "answer": value, "csrf_token": token})
    raise AssertionError("the questionnaire did not finish")


@pytest.fixture
def client(make_client: Callable[..., Client], seeded_url: str) -> Client:
    return make_client(seeded_url)


def test_home_says_what_it_can_and_cannot_do_and_shows_emergency_help(
    make_client: Callable[..., Client], seeded_url: str
) -> None:
    page = make_client(seeded_url, emergency_number="112").get("/").text
    assert 'href="tel:112"' in page and "911" not in page.split("<main")[0]
    assert 'id="can-do"' in page and 'id="cannot-do"' in page


def test_adult_assessment_ends_in_telemedicine_with_preparation(client: Client) -> None:
    r = answer_all(client, "self", {})
    assert str(r.url).endswith("/assess/result")
    assert 'class="disposition telemedicine"' in r.text
    assert 'id="prepare"' in r.text  # how to prepare for the tele-visit
    assert "create an account" in r.text  # saving needs an account


def test_progress_and_going_back_keeps_answers(client: Client) -> None:
    token = csrf_from(client.get("/assess").text)
    r = client.post("/assess/start", data={"who": "self", "csrf_token": token})
    assert "<progress" in r.text
    r = client.post("/assess/q", data={"question_id": "age_years", "answer": "47", "csrf_token": token})
    second, _, _ = _question(r.text)
    assert 'href="/assess/q?edit=age_years"' in r.text
    back = client.get("/assess/q?edit=age_years").text
    assert 'value="47"' in back
    r = client.post("/assess/q", data={"question_id": "age_years", "answer": "48", "csrf_token": token})
    assert _question(r.text)[0] == second


def test_bad_answer_is_explained_not_crashed(client: Client) -> None:
    token = csrf_from(client.get("/assess").text)
    client.post("/assess/start", data={"who": "self", "csrf_token": token})
    r = client.post("/assess/q", data={"question_id": "age_years", "answer": "abc", "csrf_token": token})
    assert r.status_code == 422 and 'role="alert"' in r.text
    r = client.post(
        "/assess/q", data={"question_id": "no_such_question", "answer": "yes", "csrf_token": token}
    )
    assert r.status_code == 400


@pytest.mark.parametrize(
    "question", ["saddle_numbness", "bladder", "fever", "walking_difficulty", "chest_pain_or_breathlessness"]
)
def test_not_sure_about_a_warning_sign_is_never_reassuring(client: Client, question: str) -> None:
    # POLICY: "unknown" is never "no". Not only "not telemedicine": routine would be reassuring
    # too, so the page must say prompt or more urgent (or be the emergency page).
    r = answer_all(client, "self", {question: "unsure"})
    if r.url.path == "/assess/emergency":
        return
    level = re.search(r'class="disposition (\w+)"', r.text)
    assert level and level.group(1) in ("prompt", "urgent", "emergency"), (question, level)
    assert "You were not sure about" in r.text


def test_emergency_page_the_moment_an_emergency_is_certain(client: Client) -> None:
    token = csrf_from(client.get("/assess").text)
    client.post("/assess/start", data={"who": "self", "csrf_token": token})
    client.post("/assess/q", data={"question_id": "age_years", "answer": "50", "csrf_token": token})
    r = client.post(
        "/assess/q", data={"question_id": "saddle_numbness", "answer": "yes", "csrf_token": token}
    )
    assert str(r.url).endswith("/assess/emergency")
    assert "This is an emergency" in r.text and 'href="tel:911"' in r.text
    assert "This is an emergency" in client.get("/assess/result").text


def test_child_assessment_addresses_the_parent(client: Client) -> None:
    token = csrf_from(client.get("/assess").text)
    client.post("/assess/start", data={"who": "child", "csrf_token": token})
    r = client.post("/assess/q", data={"question_id": "age_years", "answer": "9", "csrf_token": token})
    assert "your child" in r.text.lower()
    r = answer_all(client, "child", {}, age="9")
    assert "for your child" in r.text
    assert 'href="/guides/back-pain/pediatric"' in r.text and "/guides/back-pain/adult" not in r.text


def test_engine_crash_shows_the_safety_net_never_a_result(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(doc: object) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(guarded, "_engine_triage", broken)
    r = answer_all(client, "self", {})
    assert "We could not finish the check" in r.text and 'href="tel:911"' in r.text
    assert "disposition telemedicine" not in r.text


def test_questionnaire_crash_shows_the_safety_net(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    token = csrf_from(client.get("/assess").text)
    client.post("/assess/start", data={"who": "self", "csrf_token": token})

    def broken(*args: object, **kwargs: object) -> Any:
        raise KeyError("questions.yaml is broken")

    monkeypatch.setattr(questionnaire, "next_question", broken)
    r = client.get("/assess/q")
    assert "We could not finish the check" in r.text


def test_sign_up_save_log_out_log_in_and_find_it(client: Client) -> None:
    answer_all(client, "self", {})
    token = csrf_from(client.get("/assess").text)
    anonymous = client.post("/assess/save", data={"csrf_token": token}, follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    token = csrf_from(client.get("/signup?next=/assess/result").text)
    r = client.post(
        "/signup",
        data={
            "username": "pat",
            "password": "my back is better now",
            "csrf_token": token,
            "role": "patient",
            "next": "/assess/result",
        },
    )
    assert str(r.url).endswith("/assess/result") and "Save this result" in r.text
    token = csrf_from(r.text)
    r = client.post("/assess/save", data={"csrf_token": token, "then": "visit"})
    assert "/assessments/" in str(r.url) and "tele-visit request was sent" in r.text
    saved_url = r.url.path
    client.post("/logout", data={"csrf_token": csrf_from(r.text)})
    assert client.get(saved_url, follow_redirects=False).status_code == 303
    token = csrf_from(client.get("/login").text)
    r = client.post(
        "/login", data={"username": "pat", "password": "my back is better now", "csrf_token": token}
    )
    assert saved_url in r.text  # the account page lists it


def test_parent_saves_for_the_child_profile(client: Client) -> None:
    token = csrf_from(client.get("/login").text)
    client.post("/login", data={"username": "carol", "password": demo_password("carol"), "csrf_token": token})
    r = answer_all(client, "child", {}, age="11")
    assert "Sam Carter" in r.text
    r = client.post("/assess/save", data={"csrf_token": csrf_from(r.text)})
    assert "Assessment for Sam Carter" in r.text


def test_guides_search_and_pages(client: Client) -> None:
    page = client.get("/guides").text
    assert 'href="/guides/back-pain/adult"' in page
    partial = client.get("/guides/search", params={"q": "emergency"}, headers={"HX-Request": "true"}).text
    assert "<html" not in partial and "back-pain" in partial
    full = client.get("/guides/search", params={"q": "emergency"}).text
    assert "<html" in full
    assert 'id="red-flags"' in client.get("/guides/back-pain/adult").text
    assert client.get("/guides/back-pain/martian").status_code == 404


def test_clinic_and_audit_pages(client: Client, make_client: Callable[..., Client], seeded_url: str) -> None:
    alice = make_client(seeded_url)
    login = alice.post(
        "/api/v1/auth/login", json={"username": "alice", "password": demo_password("alice")}
    ).json()
    bearer = {"Authorization": f"Bearer {login['token']}"}
    made = alice.post("/api/v1/assessments", json={"findings": {"age_years": 33}}, headers=bearer).json()
    alice.post(f"/api/v1/assessments/{made['id']}/visit-requests", headers=bearer)
    token = csrf_from(client.get("/login").text)
    client.post(
        "/login", data={"username": "dr_dave", "password": demo_password("dr_dave"), "csrf_token": token}
    )
    clinic = client.get("/clinic").text
    assert "Sam Carter" in clinic and "Alice Archer" in clinic
    assert clinic.index("Bob Baker") < clinic.index("Sam Carter")  # bob's result is more urgent
    row = clinic[clinic.index(made["id"]) :]
    assert row[: row.index("</tr>")].count("Requested") == 1
    assert client.get("/admin/audit").status_code == 404
    other = client
    other.post("/logout", data={"csrf_token": csrf_from(clinic)})
    token = csrf_from(other.get("/login").text)
    other.post("/login", data={"username": "admin", "password": demo_password("admin"), "csrf_token": token})
    audit = other.get("/admin/audit", params={"actor": "dr_dave"}).text
    assert "dr_dave" in audit and "list" in audit
    assert other.get("/clinic").status_code == 404


def _pdf_text(data: bytes) -> str:
    import io

    from pypdf import PdfReader

    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_written_plan_pdf_of_the_result(client: Client) -> None:
    r = answer_all(client, "self", {})
    assert 'href="/assess/plan.pdf"' in r.text
    pdf = client.get("/assess/plan.pdf")
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert "911" in _pdf_text(pdf.content) or "emergency" in _pdf_text(pdf.content).lower()


def test_written_plan_falls_back_to_the_safety_net_plan(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import UTC, datetime

    import telespine.program as program

    answer_all(client, "self", {})
    normal = _pdf_text(client.get("/assess/plan.pdf").content)

    def broken(*args: object, **kwargs: object) -> Any:
        raise RuntimeError("plan data broken")

    monkeypatch.setattr(program, "build_plan", broken)
    fallback = _pdf_text(client.get("/assess/plan.pdf").content)
    safety = _pdf_text(program.render_pdf(program.safety_net_plan(datetime.now(UTC), "adult")))
    assert fallback != normal
    assert fallback.split()[:12] == safety.split()[:12]


def test_unknown_paths_answer_404_as_a_page_or_as_json(client: Client) -> None:
    page = client.get("/no-such-page")
    assert page.status_code == 404 and "Page not found" in page.text and 'href="tel:911"' in page.text
    api = client.get("/api/v1/no-such-thing")
    assert api.status_code == 404 and api.json() == {"detail": "Not Found"}
    assert client.delete("/api/v1/ping").status_code == 405


def test_a_check_about_a_child_is_never_saved_as_a_patients_own(client: Client) -> None:
    token = csrf_from(client.get("/login").text)
    client.post("/login", data={"username": "bob", "password": demo_password("bob"), "csrf_token": token})
    before = client.get("/api/v1/assessments").json()
    r = answer_all(client, "child", {}, age="7")
    assert "sign in with a parent account" in r.text and "Save this result" not in r.text
    refused = client.post("/assess/save", data={"csrf_token": csrf_from(r.text)})
    assert refused.status_code == 400
    assert client.get("/api/v1/assessments").json() == before


def test_any_crash_during_the_assessment_shows_the_safety_net(
    make_client: Callable[..., Client], seeded_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fastapi.testclient import TestClient

    client = make_client(seeded_url)
    token = csrf_from(client.get("/assess").text)
    client.post("/assess/start", data={"who": "self", "csrf_token": token})

    def broken_parse(*args: object, **kwargs: object) -> Any:
        raise TypeError("parser bug")

    monkeypatch.setattr(questionnaire, "parse_answer", broken_parse)
    r = client.post("/assess/q", data={"question_id": "age_years", "answer": "40", "csrf_token": token})
    assert "We could not finish the check" in r.text and 'href="tel:911"' in r.text
    monkeypatch.undo()

    def broken_advice(*args: object) -> Any:
        raise RuntimeError("template data broken")

    answer_all(client, "self", {})
    monkeypatch.setattr(clinical, "advice_for", broken_advice)
    unsafe = TestClient(client.app, base_url="https://testserver", raise_server_exceptions=False)
    unsafe.cookies = client.cookies
    r = unsafe.get("/assess/result")
    assert r.status_code == 500 and "We could not finish the check" in r.text and "tel:911" in r.text


def test_every_guide_section_shown_cites_its_sources(client: Client) -> None:
    guide_page = client.get("/guides/back-pain/adult").text
    home = client.get("/").text
    result = answer_all(client, "self", {}).text
    for page in (home, result):
        sections = re.findall(r"<section id=\"([\w-]+)\" aria-labelledby=.*?</section>", page, re.S)
        assert sections
        for body in re.findall(r"<section id=\"[\w-]+\" aria-labelledby=.*?</section>", page, re.S):
            links = re.findall(r'href="/guides/back-pain/adult#(ref-[\w-]+)"', body)
            assert "Sources:" in body and links, body[:200]
            for anchor in links:  # every citation lands on an entry of the guide's reference list
                assert f'id="{anchor}"' in guide_page
    assert guide_page.count("Sources:") >= 3  # the guide page cites under each section too


def test_reasons_on_a_childs_result_speak_to_the_parent(client: Client) -> None:
    # Adult-and-child rules (fever, cancer history) fire for a 9-year-old: their reasons on the
    # page must be the parent's wording (audit S6), never "you have" or "examine you".
    r = answer_all(client, "child", {"fever": "yes", "cancer_history": "current_or_recent"}, age="9")
    why = re.search(r"<h2[^>]*>Why</h2>(.*?)</ul>", r.text, re.S)
    assert why, r.text[:500]
    reasons = re.findall(r"<li>(.*?)</li>", why.group(1), re.S)
    assert reasons
    for reason in reasons:
        assert "your child" in reason.lower(), reason
        assert not re.search(r"\byou (have|had)\b|examine you\b|see you\b", reason), reason
