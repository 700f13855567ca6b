"""A half-done assessment in one account's session never carries into another account's
sign-in on the same browser (issue 13); an anonymous draft still follows its visitor in."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from telespine.store.db import make_engine, make_sessionmaker
from telespine.store.demo import demo_password
from telespine.store.models import User, UserSession
from telespine.web.testing import csrf_from


def _login(client: Any, name: str) -> None:
    token = csrf_from(client.get("/login").text)
    r = client.post("/login", data={"username": name, "password": demo_password(name), "csrf_token": token})
    assert r.status_code == 200, r.text[:300]


def _answer_age(client: Any, age: str) -> None:
    token = csrf_from(client.get("/assess").text)
    client.post("/assess/start", data={"who": "self", "csrf_token": token})
    token = csrf_from(client.get("/assess/q").text)
    r = client.post("/assess/q", data={"question_id": "age_years", "answer": age, "csrf_token": token})
    assert r.status_code in (200, 303), r.text[:300]


def _drafts_of(url: str, name: str) -> list[Any]:
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as db:
            user = db.scalar(select(User).where(User.username == name))
            assert user is not None
            rows = db.scalars(select(UserSession).where(UserSession.user_id == user.id)).all()
            return [(r.data or {}).get("assess") for r in rows]
    finally:
        engine.dispose()


def test_a_draft_never_carries_into_another_account(make_client: Callable[..., Any], seeded_url: str) -> None:
    client = make_client(seeded_url)
    _login(client, "alice")
    _answer_age(client, "47")
    assert any(d and d["answers"].get("age_years") == 47 for d in _drafts_of(seeded_url, "alice"))
    _login(client, "bob")  # bob signs in on alice's browser without her signing out
    assert all(not d or not d.get("answers") for d in _drafts_of(seeded_url, "bob"))
    r = client.get("/assess/q")
    assert 'name="question_id" value="age_years"' in r.text  # bob starts at the first question


def test_after_sign_out_the_next_account_starts_clean(
    make_client: Callable[..., Any], seeded_url: str
) -> None:
    client = make_client(seeded_url)
    _login(client, "alice")
    _answer_age(client, "52")
    token = csrf_from(client.get("/account").text)
    client.post("/logout", data={"csrf_token": token})
    _login(client, "carol")
    assert all(not d or not d.get("answers") for d in _drafts_of(seeded_url, "carol"))


def test_an_anonymous_draft_follows_its_visitor_into_sign_in(
    make_client: Callable[..., Any], seeded_url: str
) -> None:
    client = make_client(seeded_url)
    _answer_age(client, "61")
    _login(client, "bob")
    assert any(d and d["answers"].get("age_years") == 61 for d in _drafts_of(seeded_url, "bob"))
