"""Strict JSON bodies (from the audit of issue 4), no 500s, the 422 errors list, tele-visits (S4)."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import func, select

from telespine.store.db import make_engine, make_sessionmaker
from telespine.store.demo import demo_password
from telespine.store.models import Assessment, VisitRequest
from telespine.web.testing import csrf_from

Client = Any
JSON = {"content-type": "application/json"}


@pytest.fixture
def api(make_client: Callable[..., Client], seeded_url: str) -> Client:
    return make_client(seeded_url)


def _bearer(client: Client, username: str) -> dict[str, str]:
    r = client.post("/api/v1/auth/login", json={"username": username, "password": demo_password(username)})
    assert r.status_code == 200, r.text
    client.cookies.clear()
    return {"Authorization": f"Bearer {r.json()['token']}"}


def _count(url: str, stmt: Any) -> int:
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as db:
            return int(db.scalar(stmt) or 0)
    finally:
        engine.dispose()


# --- strict JSON: duplicate keys (S3) and deep nesting (was a 500) ---------------------------


def test_a_duplicate_key_is_refused_never_the_last_one_wins(api: Client) -> None:
    body = '{"age_years": 30, "saddle_numbness": true, "saddle_numbness": false}'
    r = api.post("/api/v1/triage", content=body, headers=JSON)
    assert r.status_code == 422, r.text
    assert "saddle_numbness" in r.json()["detail"] and "disposition" not in r.json()
    assert r.json()["errors"][0]["field"] == "saddle_numbness"
    alice = _bearer(api, "alice")
    saved = api.post("/api/v1/assessments", content='{"findings": ' + body + "}", headers={**JSON, **alice})
    assert saved.status_code == 422 and "saddle_numbness" in saved.json()["detail"]
    twice = api.post(
        "/api/v1/assessments",
        content='{"findings": {"age_years": 30}, "findings": {"age_years": 31}}',
        headers={**JSON, **alice},
    )
    assert twice.status_code == 422 and twice.json()["errors"] == [
        {"field": "findings", "problem": "duplicate key"}
    ]


@pytest.mark.parametrize("depth", [40, 1000, 100_000 // 2 // 2])
def test_deeply_nested_bodies_get_400_not_500(api: Client, depth: int) -> None:
    deep = "[" * depth + "]" * depth
    r = api.post("/api/v1/triage", content=deep, headers=JSON)
    assert r.status_code == 400, r.text
    assert "nested" in r.json()["detail"]
    alice = _bearer(api, "alice")
    inner = '{"findings": {"age_years": 30, "x": ' + deep + "}}"
    r = api.post("/api/v1/assessments", content=inner, headers={**JSON, **alice})
    assert r.status_code == 400, r.text


def test_ordinary_nesting_still_works(api: Client) -> None:
    r = api.post("/api/v1/triage", json={"age_years": 45, "saddle_numbness": True})
    assert r.status_code == 200 and r.json()["disposition"] == "emergency"


def test_triage_422_lists_every_problem_as_field_and_problem(api: Client) -> None:
    r = api.post("/api/v1/triage", json={"age_years": 45, "fever": "maybe"})
    assert r.status_code == 422
    body = r.json()
    assert body["errors"] and body["errors"][0]["field"] == "fever"
    assert body["errors"][0]["problem"] and "fever" in body["detail"]
    missing = api.post("/api/v1/triage", json={"fever": True}).json()
    assert [e["field"] for e in missing["errors"]] == ["age_years"]


# --- CSRF tokens that are not ASCII (was a 500 from hmac.compare_digest) -----------------------


def test_non_ascii_csrf_tokens_get_403(api: Client) -> None:
    api.post("/api/v1/auth/login", json={"username": "alice", "password": demo_password("alice")})
    header = [(b"x-csrf-token", "é".encode("latin-1")), (b"content-type", b"application/json")]
    r = api.post("/api/v1/assessments", content=b'{"findings": {"age_years": 30}}', headers=header)
    assert r.status_code == 403
    form = {"content-type": "application/x-www-form-urlencoded"}
    for body in (b"csrf_token=%C3%A9", b"csrf_token=%FF%FE", "csrf_token=\u00e9\u4e2d".encode()):
        r = api.post("/logout", content=body, headers=form, follow_redirects=False)
        assert r.status_code == 403, body
    assert api.get("/api/v1/me").status_code == 200  # still signed in: nothing was done


# --- concurrent versions of one assessment (was 9x 500 on SQLite) -----------------------------


def test_parallel_versions_get_consecutive_numbers(
    make_client: Callable[..., Client], seeded_url: str
) -> None:
    from fastapi.testclient import TestClient

    first = make_client(seeded_url)
    alice = _bearer(first, "alice")
    created = first.post("/api/v1/assessments", json={"findings": {"age_years": 30}}, headers=alice).json()
    codes: list[int] = []
    gate = threading.Barrier(12)

    def add(i: int) -> None:
        client = TestClient(first.app, base_url="https://testserver", raise_server_exceptions=False)
        gate.wait()
        r = client.post(
            f"/api/v1/assessments/{created['id']}/versions",
            json={"findings": {"age_years": 30, "pain_score": i % 10}},
            headers=alice,
        )
        codes.append(r.status_code)

    threads = [threading.Thread(target=add, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(codes) == [201] * 12, codes
    got = first.get(f"/api/v1/assessments/{created['id']}", headers=alice).json()
    assert [v["version"] for v in got["versions"]] == list(range(1, 14))


# --- tele-visits only for telemedicine and routine results (S4) ------------------------------


def test_no_visit_request_for_an_emergency_or_prompt_result(api: Client, seeded_url: str) -> None:
    alice = _bearer(api, "alice")
    for findings in ({"age_years": 30, "saddle_numbness": True}, {"age_years": 34, "fever": True}):
        saved = api.post("/api/v1/assessments", json={"findings": findings}, headers=alice).json()
        assert saved["latest"]["disposition"] in ("emergency", "prompt")
        r = api.post(f"/api/v1/assessments/{saved['id']}/visit-requests", headers=alice)
        assert r.status_code == 409 and "in person" in r.json()["detail"]
        count = (
            select(func.count()).select_from(VisitRequest).where(VisitRequest.assessment_id == saved["id"])
        )
        assert _count(seeded_url, count) == 0
    calm = api.post("/api/v1/assessments", json={"findings": {"age_years": 30}}, headers=alice).json()
    assert calm["latest"]["disposition"] == "telemedicine"
    assert api.post(f"/api/v1/assessments/{calm['id']}/visit-requests", headers=alice).status_code == 201
    # A new version that turns out to be an emergency closes the door again.
    api.post(
        f"/api/v1/assessments/{calm['id']}/versions",
        json={"findings": {"age_years": 30, "saddle_numbness": True}},
        headers=alice,
    )
    assert api.post(f"/api/v1/assessments/{calm['id']}/visit-requests", headers=alice).status_code == 409


def _sign_in(client: Client, username: str) -> None:
    token = csrf_from(client.get("/login").text)
    r = client.post(
        "/login", data={"username": username, "password": demo_password(username), "csrf_token": token}
    )
    assert r.status_code == 200, r.text


def test_pages_refuse_a_hand_made_visit_request_for_an_emergency(
    make_client: Callable[..., Client], seeded_url: str
) -> None:
    client = make_client(seeded_url)
    _sign_in(client, "bob")
    token = csrf_from(client.get("/assess").text)
    client.post("/assess/start", data={"who": "self", "csrf_token": token})
    client.post("/assess/q", data={"question_id": "age_years", "answer": "40", "csrf_token": token})
    r = client.post(
        "/assess/q", data={"question_id": "saddle_numbness", "answer": "yes", "csrf_token": token}
    )
    assert r.url.path == "/assess/emergency"
    before = _count(seeded_url, select(func.count()).select_from(Assessment))
    r = client.post("/assess/save", data={"csrf_token": token, "then": "visit"}, follow_redirects=False)
    assert r.status_code == 409 and "in person" in r.text
    assert _count(seeded_url, select(func.count()).select_from(Assessment)) == before  # nothing saved
    saved = client.post("/assess/save", data={"csrf_token": token, "then": "save"})
    assert saved.url.path.startswith("/assessments/") and "Request a tele-visit" not in saved.text
    r = client.post(f"{saved.url.path}/visit", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 409
    versions = (
        select(func.count())
        .select_from(VisitRequest)
        .where(VisitRequest.assessment_id == saved.url.path.rsplit("/", 1)[1])
    )
    assert _count(seeded_url, versions) == 0


CALM = ["no", "none", "normal", "low_back", "gradual"]


def _answer_all(client: Client, special: dict[str, str]) -> Any:
    """Answer every question calmly except the special ones; the last response."""
    token = csrf_from(client.get("/assess").text)
    r = client.post("/assess/start", data={"who": "self", "csrf_token": token})
    for _ in range(100):
        if r.url.path != "/assess/q":
            return r
        qid = re.search(r'name="question_id" value="([^"]+)"', r.text)
        assert qid, r.text[:300]
        options = re.findall(r'name="answer" value="([^"]+)"', r.text)
        if qid.group(1) in special:
            value = special[qid.group(1)]
        elif 'type="number"' in r.text:
            value = "35" if qid.group(1) == "age_years" else "1"
        else:
            value = next(o for o in [*CALM, options[0]] if o in options)
        r = client.post("/assess/q", data={"question_id": qid.group(1), "answer": value, "csrf_token": token})
    raise AssertionError("the questionnaire did not finish")


def test_result_page_offers_a_visit_only_when_it_fits(
    make_client: Callable[..., Client], seeded_url: str
) -> None:
    client = make_client(seeded_url)
    _sign_in(client, "bob")
    calm = _answer_all(client, {})
    assert "telemedicine" in calm.text and "Save and request a tele-visit" in calm.text
    prompt = _answer_all(client, {"fever": "yes"})
    assert prompt.url.path == "/assess/result" and 'class="disposition prompt"' in prompt.text
    assert "Save this result" in prompt.text and "Save and request a tele-visit" not in prompt.text
    r = client.post("/assess/save", data={"csrf_token": csrf_from(prompt.text), "then": "visit"})
    assert r.status_code == 409


def test_only_parents_add_children(make_client: Callable[..., Client], seeded_url: str) -> None:
    from telespine.web import policy

    client = make_client(seeded_url)
    _sign_in(client, "alice")
    token = csrf_from(client.get("/account").text)
    r = client.post("/account/children", data={"child_name": "Kit", "csrf_token": token})
    assert r.status_code == 403 and "parent" in r.text
    parent = make_client(seeded_url)
    _sign_in(parent, "carol")
    token = csrf_from(parent.get("/account").text)
    r = parent.post("/account/children", data={"child_name": "Kit", "csrf_token": token})
    assert r.status_code == 200 and "Kit" in r.text
    # The rule lives in the policy, not in the route.
    assert not policy.can_manage_children(SimpleNamespace(role="patient"))  # type: ignore[arg-type]
    assert policy.can_manage_children(SimpleNamespace(role="parent"))  # type: ignore[arg-type]


# --- a safety-net save keeps findings and answers apart ---------------------------------------


def test_safety_net_save_keeps_answers_out_of_the_findings(
    make_client: Callable[..., Client], seeded_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from telespine.triage import questionnaire

    client = make_client(seeded_url)
    _sign_in(client, "bob")
    calm = _answer_all(client, {})
    r = client.post("/assess/save", data={"csrf_token": csrf_from(calm.text)})
    saved = client.get(f"/api/v1/assessments/{r.url.path.rsplit('/', 1)[1]}").json()["latest"]
    assert saved["findings"]["age_years"] == 35 and "answers" not in saved["findings"]
    assert saved["answers"]["age_years"] == 35 and saved["safety_net"] is False

    def broken(*args: object, **kwargs: object) -> Any:
        raise ValueError("answers cannot become findings")

    again = _answer_all(client, {})  # a new draft, not saved yet
    monkeypatch.setattr(questionnaire, "findings_from_answers", broken)
    r = client.post("/assess/save", data={"csrf_token": csrf_from(again.text)})
    net = client.get(f"/api/v1/assessments/{r.url.path.rsplit('/', 1)[1]}").json()["latest"]
    assert net["safety_net"] is True and net["disposition"] == "emergency"
    assert net["findings"] == {}  # never a made-up findings document
    assert net["answers"] == saved["answers"]
    assert client.get(f"{r.url.path}/plan.pdf").headers["content-type"] == "application/pdf"


def test_a_crash_during_a_childs_check_speaks_to_the_parent(
    make_client: Callable[..., Client], seeded_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fastapi.testclient import TestClient

    from telespine.web import clinical

    client = make_client(seeded_url)
    token = csrf_from(client.get("/assess").text)
    client.post("/assess/start", data={"who": "child", "csrf_token": token})
    client.post("/assess/q", data={"question_id": "age_years", "answer": "9", "csrf_token": token})

    def broken(*args: object, **kwargs: object) -> Any:
        raise TypeError("a bug in the result page")

    monkeypatch.setattr(clinical, "result_from_answers", broken)
    unsafe = TestClient(client.app, base_url="https://testserver", raise_server_exceptions=False)
    unsafe.cookies = client.cookies
    client.post("/assess/q", data={"question_id": "saddle_numbness", "answer": "no", "csrf_token": token})
    r = unsafe.get("/assess/emergency")
    assert r.status_code == 500 and "We could not finish the check" in r.text
    assert "If your child has any of these signs" in r.text
    guide = clinical.guide_for("pediatric", "911")
    assert guide is not None and guide.emergency_line in r.text  # the parent's guide, not the adult's
