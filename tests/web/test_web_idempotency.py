"""Idempotency-Key on creating API requests (issue 13): the same key and body gives the stored
answer and no second copy; the same key with another body is 422; parallel retries store once.
SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import func, select

from telespine.store.db import make_engine, make_sessionmaker
from telespine.store.models import Assessment, Profile, User, VisitRequest
from telespine.store.models_accounts import IdempotencyRecord
from telespine.store.models_care import CareCase, CareMessage, DiaryRecord
from telespine.web.testing import bearer


def _scalar(url: str, stmt: Any) -> Any:
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as db:
            return db.scalar(stmt)
    finally:
        engine.dispose()


def _alice_case(url: str) -> str:
    return str(
        _scalar(
            url,
            select(CareCase.id)
            .join(Assessment, CareCase.assessment_id == Assessment.id)
            .join(Profile, Assessment.profile_id == Profile.id)
            .join(User, Profile.owner_id == User.id)
            .where(User.username == "alice", Profile.is_child.is_(False))
            .order_by(Assessment.created_at)
            .limit(1),
        )
    )


def _key() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


def test_assessment_retry_returns_the_stored_answer(make_client: Callable[..., Any], seeded_url: str) -> None:
    alice = bearer(make_client, seeded_url, "alice")
    key = _key()
    body = {"findings": {"age_years": 33, "pain_score": 3}}
    before = _scalar(seeded_url, select(func.count()).select_from(Assessment))
    first = alice.post("/api/v1/assessments", json=body, headers=key)
    again = alice.post("/api/v1/assessments", json=body, headers=key)
    assert first.status_code == 201 and again.status_code == 201, again.text
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    assert _scalar(seeded_url, select(func.count()).select_from(Assessment)) == before + 1
    other = alice.post("/api/v1/assessments", json={"findings": {"age_years": 34}}, headers=key)
    assert other.status_code == 422 and other.json()["errors"][0]["field"] == "Idempotency-Key"
    # Without the header every request creates (no change for old clients).
    alice.post("/api/v1/assessments", json=body)
    assert _scalar(seeded_url, select(func.count()).select_from(Assessment)) == before + 2


def test_message_diary_and_visit_request_are_stored_once(
    make_client: Callable[..., Any], seeded_url: str
) -> None:
    alice = bearer(make_client, seeded_url, "alice")
    case = _alice_case(seeded_url)
    text = f"my back is a bit better today {uuid.uuid4().hex[:6]}"
    key = _key()
    for _ in range(3):
        r = alice.post(f"/api/v1/cases/{case}/messages", json={"body": text}, headers=key)
        assert r.status_code == 201, r.text
    assert (
        _scalar(seeded_url, select(func.count()).select_from(CareMessage).where(CareMessage.body == text))
        == 1
    )
    day = dt.datetime.now(dt.UTC).date().isoformat()
    entry = {"day": day, "pain": 3, "function": 7, "medicine_use": "as_usual", "note": text}
    key = _key()
    codes = [alice.post(f"/api/v1/cases/{case}/diary", json=entry, headers=key).status_code for _ in range(2)]
    assert codes[0] == codes[1] and codes[0] in (201, 422), codes
    if codes[0] == 201:
        assert (
            _scalar(seeded_url, select(func.count()).select_from(DiaryRecord).where(DiaryRecord.note == text))
            == 1
        )
    before = _scalar(seeded_url, select(func.count()).select_from(VisitRequest))
    key = _key()
    visit = {"mode": "phone", "preferred_times": "mornings"}
    answers = [alice.post(f"/api/v1/cases/{case}/visit-requests", json=visit, headers=key) for _ in range(2)]
    assert answers[0].status_code == answers[1].status_code
    assert answers[0].text == answers[1].text
    added = _scalar(seeded_url, select(func.count()).select_from(VisitRequest)) - before
    assert added == (1 if answers[0].status_code == 201 else 0)


def test_parallel_retries_with_one_key_store_one_copy(
    make_client: Callable[..., Any], seeded_url: str
) -> None:
    alice = bearer(make_client, seeded_url, "alice")
    key = _key()
    body = {"findings": {"age_years": 41, "pain_score": 2}}
    before = _scalar(seeded_url, select(func.count()).select_from(Assessment))
    with ThreadPoolExecutor(max_workers=6) as pool:
        codes = list(
            pool.map(
                lambda _: alice.post("/api/v1/assessments", json=body, headers=key).status_code, range(6)
            )
        )
    assert set(codes) <= {201, 409} and 201 in codes
    assert _scalar(seeded_url, select(func.count()).select_from(Assessment)) == before + 1


def test_keys_belong_to_one_account_and_a_failure_frees_the_key(
    make_client: Callable[..., Any], seeded_url: str
) -> None:
    alice = bearer(make_client, seeded_url, "alice")
    bob = bearer(make_client, seeded_url, "bob")
    key = _key()
    body = {"findings": {"age_years": 52}}
    a = alice.post("/api/v1/assessments", json=body, headers=key)
    b = bob.post("/api/v1/assessments", json=body, headers=key)
    assert (
        a.status_code == b.status_code == 201 and a.json()["id"] != b.json()["id"]
    )  # bob never sees alice's
    too_long = alice.post("/api/v1/assessments", json=body, headers={"Idempotency-Key": "k" * 201})
    assert too_long.status_code == 422
    # A request refused before anything is stored is stored too (the same 4xx comes back).
    key = _key()
    bad = alice.post("/api/v1/assessments", json={"findings": {"age_years": "old"}}, headers=key)
    assert bad.status_code == 422
    assert (
        alice.post("/api/v1/assessments", json={"findings": {"age_years": "old"}}, headers=key).text
        == bad.text
    )
    rows = _scalar(
        seeded_url,
        select(func.count()).select_from(IdempotencyRecord).where(IdempotencyRecord.status_code.is_(None)),
    )
    assert rows == 0  # nothing left claimed


def test_a_refusal_for_an_ended_session_is_not_replayed(
    make_client: Callable[..., Any], seeded_url: str
) -> None:
    alice = bearer(make_client, seeded_url, "alice")
    key = _key()
    body = {"findings": {"age_years": 29}}
    assert alice.post("/api/v1/auth/logout").status_code == 204
    assert alice.post("/api/v1/assessments", json=body, headers=key).status_code == 401
    alice = bearer(make_client, seeded_url, "alice")
    assert alice.post("/api/v1/assessments", json=body, headers=key).status_code == 201
