"""Accounts (issue 13): password reset by e-mail through the worker (aiosmtpd), password change,
sign out everywhere, two-step sign-in (TOTP) for clinicians and admins, sign-up limits, the
download of one's own data, and the privacy and terms pages. SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pyotp
import pytest
from sqlalchemy import select

from telespine.commands.worker import run_once
from telespine.store import repo, repo_care
from telespine.store.db import make_engine, make_sessionmaker
from telespine.store.models import User, UserSession
from telespine.store.models_accounts import PasswordReset, TotpCredential
from telespine.web.testing import csrf_from, make_test_settings
from telespine.web.testing_server import free_port

PW = "dana has a long password"
NEW_PW = "a brand new passphrase here"


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], str]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.messages.append((list(envelope.rcpt_tos), envelope.content.decode()))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


def _user(
    url: str, name: str = "dana", role: str = "patient", email: str | None = "dana@example.org"
) -> None:
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as db:
            clinic = repo.create_clinic(db, f"Clinic of {name}") if role == "clinician" else None
            user = repo.create_user(db, username=name, password=PW, role=role, clinic=clinic)
            if email:
                repo_care.set_contact(db, user, email)
            db.commit()
    finally:
        engine.dispose()


def _db(url: str) -> Any:
    engine = make_engine(url)
    return engine, make_sessionmaker(engine)()


def _login(client: Any, name: str, password: str = PW) -> Any:
    token = csrf_from(client.get("/login").text)
    return client.post(
        "/login", data={"username": name, "password": password, "csrf_token": token}, follow_redirects=False
    )


def _post_form(client: Any, page: str, action: str, data: dict[str, str]) -> Any:
    token = csrf_from(client.get(page).text)
    return client.post(action, data={**data, "csrf_token": token}, follow_redirects=False)


def test_password_reset_by_email_is_single_use_and_expires(
    make_client: Callable[..., Any], clean_db: str, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    _user(clean_db)
    client = make_client(clean_db)
    for name in ("dana", "nobody-here"):  # the same answer for an unknown account
        r = _post_form(client, "/password/forgot", "/password/forgot", {"username": name})
        assert r.status_code == 200 and "If that account has an e-mail address" in r.text
    settings = make_test_settings(clean_db, smtp_port=port, public_url="https://telespine.test")
    engine = make_engine(clean_db)
    factory = make_sessionmaker(engine)
    try:
        report = run_once(factory, settings, followups=False)
        assert (report.resets_sent, report.resets_failed) == (1, 0)
        assert run_once(factory, settings, followups=False).resets_sent == 0  # sent once
        with factory() as db:
            row = db.scalars(select(PasswordReset)).one()
            assert row.status == "sent" and row.token_hash and len(row.token_hash) == 64
    finally:
        engine.dispose()
    ((rcpts, raw),) = inbox.messages
    import email
    from email import policy

    body = email.message_from_string(raw, policy=policy.default).get_content()  # type: ignore[union-attr]
    assert rcpts == ["dana@example.org"]
    token = re.search(r"https://telespine\.test/password/reset\?token=([\w-]+)", body).group(1)  # type: ignore[union-attr]
    assert token not in row.token_hash  # only the hash is stored
    assert "pain" not in body.lower()  # no health information in the e-mail
    page = client.get(f"/password/reset?token={token}")
    assert page.status_code == 200 and 'name="token"' in page.text
    weak = _post_form(
        client, f"/password/reset?token={token}", "/password/reset", {"token": token, "new": " " * 10}
    )
    assert weak.status_code == 422
    ok = _post_form(
        client, f"/password/reset?token={token}", "/password/reset", {"token": token, "new": NEW_PW}
    )
    assert ok.status_code == 303 and ok.headers["location"] == "/login?reset=done"
    again = _post_form(
        client, "/password/forgot", "/password/reset", {"token": token, "new": "another new phrase"}
    )
    assert again.status_code == 410  # single use
    fresh = make_client(clean_db)
    assert _login(fresh, "dana").status_code == 401  # the old password no longer works
    assert _login(fresh, "dana", NEW_PW).status_code == 303
    # An expired link does not work.
    engine, db = _db(clean_db)
    try:
        reset = PasswordReset(user_id=db.scalar(select(User.id).where(User.username == "dana")), email="x@y")
        db.add(reset)
        db.flush()
        from telespine.store import repo_accounts

        old = repo_accounts.issue_token(db, reset, dt.datetime.now(dt.UTC) - dt.timedelta(hours=2), 60)
        reset.status = "sent"
        db.commit()
    finally:
        db.close()
        engine.dispose()
    assert 'name="token"' not in client.get(f"/password/reset?token={old}").text


def test_reset_requests_are_rate_limited_per_address(make_client: Callable[..., Any], clean_db: str) -> None:
    client = make_client(clean_db, password_reset_max_per_ip=2)
    codes = [
        _post_form(client, "/password/forgot", "/password/forgot", {"username": "x"}).status_code
        for _ in range(3)
    ]
    assert codes == [200, 200, 429]


def test_change_password_and_sign_out_everywhere(make_client: Callable[..., Any], clean_db: str) -> None:
    _user(clean_db)
    laptop, phone = make_client(clean_db), make_client(clean_db)
    assert _login(laptop, "dana").status_code == 303 and _login(phone, "dana").status_code == 303
    wrong = _post_form(
        laptop, "/account/security", "/account/password", {"current": "nope nope nope", "new": NEW_PW}
    )
    assert wrong.status_code == 403
    blank = _post_form(laptop, "/account/security", "/account/password", {"current": PW, "new": "         "})
    assert blank.status_code == 422
    ok = _post_form(laptop, "/account/security", "/account/password", {"current": PW, "new": NEW_PW})
    assert ok.status_code == 303
    assert laptop.get("/account", follow_redirects=False).status_code == 200  # this device stays in
    assert phone.get("/account", follow_redirects=False).status_code == 303  # the other is signed out
    assert _login(phone, "dana", NEW_PW).status_code == 303
    out = _post_form(laptop, "/account/security", "/account/sign-out-everywhere", {})
    assert out.status_code == 303
    for device in (laptop, phone):
        assert device.get("/account", follow_redirects=False).status_code == 303
    engine, db = _db(clean_db)
    try:
        dana = db.scalar(select(User).where(User.username == "dana"))
        assert dana is not None
        assert db.scalars(select(UserSession).where(UserSession.user_id == dana.id)).all() == []
    finally:
        db.close()
        engine.dispose()


def test_api_password_change_and_sign_out_everywhere(make_client: Callable[..., Any], clean_db: str) -> None:
    _user(clean_db)
    client = make_client(clean_db)
    token = client.post("/api/v1/auth/login", json={"username": "dana", "password": PW}).json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    bad = client.post("/api/v1/auth/password", json={"current": PW, "new": "        "}, headers=auth)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "new"
    assert (
        client.post("/api/v1/auth/password", json={"current": PW, "new": NEW_PW}, headers=auth).status_code
        == 204
    )
    assert client.get("/api/v1/me", headers=auth).status_code == 401  # every session ended
    token = client.post("/api/v1/auth/login", json={"username": "dana", "password": NEW_PW}).json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    assert client.post("/api/v1/auth/sign-out-everywhere", headers=auth).status_code == 204
    assert client.get("/api/v1/me", headers=auth).status_code == 401


def _secret(url: str, name: str) -> str:
    """The account's TOTP secret, decrypted with the test app's data key (stored encrypted)."""
    from telespine.store.datakeys import cipher_for

    engine, db = _db(url)
    try:
        user_id = db.scalar(select(User.id).where(User.username == name))
        cred = db.get(TotpCredential, user_id)
        assert cred is not None
        return cipher_for(make_test_settings(url)).decrypt(cred.secret)
    finally:
        db.close()
        engine.dispose()


def test_clinicians_must_set_up_two_step_sign_in(make_client: Callable[..., Any], clean_db: str) -> None:
    _user(clean_db, "dr_zoe", role="clinician", email=None)
    client = make_client(clean_db, require_totp=True)
    r = _login(client, "dr_zoe")
    assert r.status_code == 303 and r.headers["location"] == "/login/code"
    assert client.get("/account", follow_redirects=False).status_code == 303  # not signed in yet
    page = client.get("/login/code")
    assert "otpauth://" in page.text
    secret = _secret(clean_db, "dr_zoe")
    wrong = _post_form(client, "/login/code", "/login/code", {"code": "000000"})
    assert wrong.status_code == 401
    code = pyotp.TOTP(secret).now()
    ok = _post_form(client, "/login/code", "/login/code", {"code": code})
    assert ok.status_code == 200 and "Your recovery codes" in ok.text  # set up now: the codes, once
    assert client.get("/clinic/queue", follow_redirects=False).status_code == 200
    # The same code cannot be used twice; the API needs the code too.
    api = make_client(clean_db, require_totp=True)
    no_code = api.post("/api/v1/auth/login", json={"username": "dr_zoe", "password": PW})
    assert no_code.status_code == 401 and "code" in no_code.json()["detail"]
    replay = api.post("/api/v1/auth/login", json={"username": "dr_zoe", "password": PW, "totp_code": code})
    assert replay.status_code == 401
    nxt = pyotp.TOTP(secret).at(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30))
    good = api.post("/api/v1/auth/login", json={"username": "dr_zoe", "password": PW, "totp_code": nxt})
    assert good.status_code == 200


def test_api_refuses_a_clinician_without_two_step_set_up(
    make_client: Callable[..., Any], clean_db: str
) -> None:
    _user(clean_db, "dr_amy", role="clinician", email=None)
    api = make_client(clean_db, require_totp=True)
    r = api.post("/api/v1/auth/login", json={"username": "dr_amy", "password": PW})
    assert r.status_code == 403
    dev = make_client(clean_db, env="development", require_totp=None)  # not required in development
    assert dev.post("/api/v1/auth/login", json={"username": "dr_amy", "password": PW}).status_code == 200


def test_a_patient_can_turn_on_two_step_sign_in(make_client: Callable[..., Any], clean_db: str) -> None:
    _user(clean_db)
    client = make_client(clean_db)
    assert _login(client, "dana").status_code == 303
    assert "otpauth://" not in client.get("/account/two-factor").text  # a GET makes no secret
    assert _post_form(client, "/account/two-factor", "/account/two-factor/start", {}).status_code == 303
    assert "otpauth://" in client.get("/account/two-factor").text
    code = pyotp.TOTP(_secret(clean_db, "dana")).now()
    done = _post_form(client, "/account/two-factor", "/account/two-factor", {"code": code})
    assert done.status_code == 200 and "Your recovery codes" in done.text  # shown once, at enrolment
    again = make_client(clean_db)
    r = _login(again, "dana")
    assert r.headers["location"] == "/login/code"  # now asked for a code too


def test_signup_is_rate_limited_per_address(make_client: Callable[..., Any], clean_db: str) -> None:
    client = make_client(clean_db, signup_max_per_ip=2)
    codes = []
    for i in range(3):
        r = _post_form(
            client, "/signup", "/signup", {"username": f"newbie{i}", "password": "a fine long passphrase"}
        )
        codes.append(r.status_code)
        client.cookies.clear()
    assert codes == [303, 303, 429]
    blank = _post_form(client, "/signup", "/signup", {"username": "blanky", "password": "            "})
    assert blank.status_code == 422


def test_a_patient_downloads_all_their_own_data(make_client: Callable[..., Any], seeded_url: str) -> None:
    from telespine.web.testing import login

    alice = login(make_client, seeded_url, "alice")
    r = alice.get("/account/data.json")
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    doc = json.loads(r.content)
    assert doc["account"]["username"] == "alice"
    profile = doc["profiles"][0]
    assert profile["assessments"] and profile["assessments"][0]["versions"][0]["findings"]
    assert profile["scores"] and any(a["diary"] for a in profile["assessments"])
    assert any(a["messages"] for a in profile["assessments"])
    api = make_client(seeded_url)
    token = api.post("/api/v1/auth/login", json={"username": "bob", "password": _pw("bob")}).json()["token"]
    bob_doc = api.get("/api/v1/me/export", headers={"Authorization": f"Bearer {token}"}).json()
    assert bob_doc["account"]["username"] == "bob"
    assert "alice" not in json.dumps(bob_doc)  # only one's own
    dave = login(make_client, seeded_url, "dr_dave")
    assert dave.get("/account/data.json").status_code == 404


def _pw(name: str) -> str:
    from telespine.store.demo import demo_password

    return demo_password(name)


def test_privacy_and_terms_pages(make_client: Callable[..., Any], seeded_url: str) -> None:
    client = make_client(seeded_url, emergency_number="112")
    privacy = client.get("/privacy")
    terms = client.get("/terms")
    assert privacy.status_code == 200 and "Who can see it" in privacy.text
    assert terms.status_code == 200 and "112" in terms.text and "911" not in terms.text
    assert 'href="/privacy"' in client.get("/").text
