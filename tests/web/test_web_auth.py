"""Accounts and sessions: cookies, rotation, timeouts, logout, CSRF, rate limits, sign-up."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from telespine.store.db import make_engine, make_sessionmaker
from telespine.store.demo import demo_password
from telespine.store.models import LoginAttempt, User, UserSession, utcnow
from telespine.web.sessions import COOKIE_NAME
from telespine.web.testing import csrf_from

Client = Any


def _login(client: Client, username: str, password: str | None = None, next_: str = "") -> Any:
    token = csrf_from(client.get("/login").text)
    return client.post(
        "/login",
        data={
            "username": username,
            "password": password or demo_password(username),
            "csrf_token": token,
            "next": next_,
        },
        follow_redirects=False,
    )


def _rows(url: str, stmt: Any) -> Any:
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as db:
            return db.execute(stmt).all()
    finally:
        engine.dispose()


def _exec(url: str, stmt: Any) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(stmt)
    finally:
        engine.dispose()


def test_login_cookie_is_httponly_lax_and_rotated(
    make_client: Callable[..., Client], seeded_url: str
) -> None:
    client = make_client(seeded_url)
    client.get("/login")
    before = client.cookies.get(COOKIE_NAME)
    r = _login(client, "alice")
    assert r.status_code == 303 and r.headers["location"] == "/account"
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower() and "Secure" in cookie
    after = client.cookies.get(COOKIE_NAME)
    assert before and after and before != after
    # Only the hash is stored, and the pre-login session is gone.
    hashes = {row[0] for row in _rows(seeded_url, select(UserSession.token_hash))}
    assert hashlib.sha256(after.encode()).hexdigest() in hashes
    assert hashlib.sha256(before.encode()).hexdigest() not in hashes
    assert after not in hashes


def test_cookie_is_not_secure_only_in_development(
    make_client: Callable[..., Client], seeded_url: str
) -> None:
    client = make_client(seeded_url, env="development")
    r = _login(client, "bob")
    assert "Secure" not in r.headers["set-cookie"] and "HttpOnly" in r.headers["set-cookie"]


def test_logout_deletes_the_session_on_the_server(
    make_client: Callable[..., Client], seeded_url: str
) -> None:
    client = make_client(seeded_url)
    _login(client, "bob")
    token = client.cookies.get(COOKIE_NAME)
    page = client.get("/account")
    assert page.status_code == 200
    client.post("/logout", data={"csrf_token": csrf_from(page.text)})
    digest = hashlib.sha256(token.encode()).hexdigest()
    assert _rows(seeded_url, select(UserSession).where(UserSession.token_hash == digest)) == []
    client.cookies.set(COOKIE_NAME, token)  # replaying the old cookie does not sign in
    assert client.get("/account", follow_redirects=False).status_code == 303


@pytest.mark.parametrize("column", ["last_seen_at", "created_at"])
def test_idle_and_absolute_timeouts(make_client: Callable[..., Client], seeded_url: str, column: str) -> None:
    client = make_client(seeded_url)
    _login(client, "alice")
    assert client.get("/api/v1/me").status_code == 200
    digest = hashlib.sha256(client.cookies.get(COOKIE_NAME).encode()).hexdigest()
    _exec(
        seeded_url,
        update(UserSession)
        .where(UserSession.token_hash == digest)
        .values({column: utcnow() - timedelta(days=2)}),
    )
    assert client.get("/api/v1/me").status_code == 401


def test_forms_need_the_csrf_token_of_their_own_session(
    make_client: Callable[..., Client], seeded_url: str
) -> None:
    client = make_client(seeded_url)
    page = client.get("/login")
    form = {"username": "alice", "password": demo_password("alice")}
    assert client.post("/login", data=form).status_code == 403
    assert client.post("/login", data={**form, "csrf_token": "0" * 64}).status_code == 403
    other = make_client(seeded_url)
    foreign = csrf_from(other.get("/login").text)
    assert (
        client.post("/login", data={**form, "csrf_token": foreign}, follow_redirects=False).status_code == 403
    )
    ok = client.post("/login", data={**form, "csrf_token": csrf_from(page.text)}, follow_redirects=False)
    assert ok.status_code == 303


def test_login_rate_limited_per_account(
    make_client: Callable[..., Client], clean_db: str, caplog: pytest.LogCaptureFixture
) -> None:
    from telespine.store import repo

    engine = make_engine(clean_db)
    with make_sessionmaker(engine)() as db:
        repo.create_user(db, username="dana", password="dana has a long password", role="patient")
        db.commit()
    engine.dispose()
    client = make_client(clean_db, login_max_failures_per_account=3)
    caplog.set_level(logging.INFO, logger="telespine.auth")
    for _ in range(3):
        assert _login(client, "dana", "wrong password here").status_code == 401
    refused = _login(client, "dana", "dana has a long password")
    assert refused.status_code == 429 and "Too many" in refused.text
    attempts = _rows(
        clean_db, select(func.count()).select_from(LoginAttempt).where(LoginAttempt.success.is_(False))
    )
    assert attempts[0][0] == 3
    assert "wrong password here" not in caplog.text and "dana has a long password" not in caplog.text
    assert "login failed: account=dana" in caplog.text


def test_a_stranger_cannot_lock_a_user_out(make_client: Callable[..., Client], clean_db: str) -> None:
    from fastapi.testclient import TestClient

    from telespine.store import repo

    engine = make_engine(clean_db)
    with make_sessionmaker(engine)() as db:
        repo.create_user(db, username="dana", password="dana has a long password", role="patient")
        db.commit()
    engine.dispose()
    app = make_client(clean_db, login_max_failures_per_account=3).app
    stranger = TestClient(app, base_url="https://testserver", client=("203.0.113.9", 4000))
    for _ in range(3):
        assert _login(stranger, "dana", "guessing a password").status_code == 401
    assert _login(stranger, "dana", "guessing again here").status_code == 429
    assert _login(stranger, "dana", "dana has a long password").status_code == 429  # that pair is locked
    dana = TestClient(app, base_url="https://testserver", client=("198.51.100.7", 4000))
    assert _login(dana, "dana", "dana has a long password").status_code == 303  # dana is not
    # Her own typos count from her last good sign-in, so a success clears the slate.
    for _ in range(2):
        assert _login(dana, "dana", "typo in the password").status_code == 401
    assert _login(dana, "dana", "dana has a long password").status_code == 303
    for _ in range(2):
        assert _login(dana, "dana", "typo in the password").status_code == 401
    assert _login(dana, "dana", "dana has a long password").status_code == 303


def test_login_rate_limited_per_address(make_client: Callable[..., Client], clean_db: str) -> None:
    client = make_client(clean_db, login_max_failures_per_ip=4)
    for i in range(4):
        assert _login(client, f"nobody{i}", "whatever password").status_code == 401
    assert _login(client, "someone-else", "whatever password").status_code == 429


def test_signup_refuses_common_passwords_then_signs_in(
    make_client: Callable[..., Client], clean_db: str
) -> None:
    client = make_client(clean_db)
    token = csrf_from(client.get("/signup").text)
    form = {
        "username": "newbie",
        "password": "password1",
        "csrf_token": token,
        "role": "parent",
        "child_name": "Kim",
    }
    r = client.post("/signup", data=form)
    assert r.status_code == 422 and "too common" in r.text
    r = client.post("/signup", data={**form, "password": "short"})
    assert r.status_code == 422 and "at least 8" in r.text
    r = client.post("/signup", data={**form, "password": "kim and i like kites"}, follow_redirects=False)
    assert r.status_code == 303
    me = client.get("/api/v1/me").json()
    assert me["role"] == "parent" and [p["is_child"] for p in me["profiles"]] == [False, True]
    stored = _rows(clean_db, select(User.password_hash).where(User.username == "newbie"))[0][0]
    assert stored.startswith("$argon2id$")
    taken = client.post(
        "/signup",
        data={
            **form,
            "password": "kim and i like kites",
            "csrf_token": csrf_from(client.get("/signup").text),
        },
    )
    assert taken.status_code == 422 and "taken" in taken.text


def test_signup_cannot_make_a_clinician(make_client: Callable[..., Client], clean_db: str) -> None:
    client = make_client(clean_db)
    token = csrf_from(client.get("/signup").text)
    client.post(
        "/signup",
        data={"username": "sneaky", "password": "a fine long password", "csrf_token": token, "role": "admin"},
    )
    assert client.get("/api/v1/me").json()["role"] == "patient"


def test_open_redirect_after_login_is_refused(make_client: Callable[..., Client], seeded_url: str) -> None:
    client = make_client(seeded_url)
    r = _login(client, "alice", next_="//evil.example/x")
    assert r.headers["location"] == "/account"


def test_timed_out_sessions_are_purged(clean_db: str) -> None:
    from telespine.web import sessions as web_sessions
    from telespine.web.testing import make_test_settings

    settings = make_test_settings(clean_db)
    old = utcnow() - timedelta(days=3)
    _exec(
        clean_db,
        UserSession.__table__.insert().values(
            token_hash="a" * 64,
            data={"assess": {"answers": {"age_years": 30}}},
            created_at=old,
            last_seen_at=old,
        ),
    )
    _exec(
        clean_db,
        UserSession.__table__.insert().values(
            token_hash="b" * 64, data={}, created_at=utcnow(), last_seen_at=utcnow()
        ),
    )
    engine = make_engine(clean_db)
    with make_sessionmaker(engine)() as db:
        assert web_sessions.purge_expired(db, settings) == 1
    engine.dispose()
    assert [r[0] for r in _rows(clean_db, select(UserSession.token_hash))] == ["b" * 64]
