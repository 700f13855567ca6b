"""Two-step sign-in (issue 13): secrets encrypted at rest (Fernet, key from the settings; the
migration encrypts existing rows; key rotation), single-use recovery codes (shown once, argon2id,
regenerating invalidates the old ones) and an admin's audited reset of another account's
two-step sign-in, which needs the admin's own fresh code. SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

import pyotp
import pytest
from cryptography.fernet import Fernet
from pydantic import ValidationError
from sqlalchemy import select

from telespine.settings import Settings
from telespine.store import repo, repo_accounts
from telespine.store.datakeys import DataCipher, DataKeyError, cipher_for, derived_key, keys_of
from telespine.store.db import downgrade, make_engine, make_sessionmaker, upgrade
from telespine.store.models import AuditEvent, User, UserSession
from telespine.store.models_accounts import RecoveryCode, TotpCredential
from telespine.web.testing import TEST_SECRET, csrf_from, make_test_settings

PW = "dana has a long password"
CODE = re.compile(r"<code class=\"secret\">([A-Z2-9]{5}-[A-Z2-9]{5})</code>")


def _session(url: str) -> tuple[Any, Any]:
    engine = make_engine(url)
    return engine, make_sessionmaker(engine)()


def _user(url: str, name: str, role: str = "patient") -> None:
    engine, db = _session(url)
    try:
        clinic = repo.create_clinic(db, f"Clinic of {name}") if role == "clinician" else None
        repo.create_user(db, username=name, password=PW, role=role, clinic=clinic)
        db.commit()
    finally:
        db.close()
        engine.dispose()


def _login(client: Any, name: str) -> Any:
    token = csrf_from(client.get("/login").text)
    return client.post(
        "/login", data={"username": name, "password": PW, "csrf_token": token}, follow_redirects=False
    )


def _post(client: Any, page: str, action: str, data: dict[str, str]) -> Any:
    token = csrf_from(client.get(page).text)
    return client.post(action, data={**data, "csrf_token": token}, follow_redirects=False)


def _stored(url: str, name: str) -> TotpCredential | None:
    engine, db = _session(url)
    try:
        user_id = db.scalar(select(User.id).where(User.username == name))
        cred: TotpCredential | None = db.get(TotpCredential, user_id)
        return cred
    finally:
        db.close()
        engine.dispose()


def _code(url: str, name: str, later: int = 0) -> str:
    cred = _stored(url, name)
    assert cred is not None
    secret = cipher_for(make_test_settings(url)).decrypt(cred.secret)
    return pyotp.TOTP(secret).at(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30 * later))


def _enrol(make_client: Callable[..., Any], url: str, name: str) -> tuple[Any, list[str]]:
    """Sign in and turn two-step sign-in on from the account page; the codes shown once."""
    client = make_client(url)
    assert _login(client, name).status_code == 303
    assert _post(client, "/account/two-factor", "/account/two-factor/start", {}).status_code == 303
    done = _post(client, "/account/two-factor", "/account/two-factor", {"code": _code(url, name)})
    assert done.status_code == 200 and done.headers["cache-control"] == "no-store"
    return client, CODE.findall(done.text)


def _audits(url: str, **where: str) -> list[AuditEvent]:
    engine, db = _session(url)
    try:
        query = select(AuditEvent).order_by(AuditEvent.id)
        for column, value in where.items():
            query = query.where(getattr(AuditEvent, column) == value)
        return list(db.scalars(query).all())
    finally:
        db.close()
        engine.dispose()


def _second_step(make_client: Callable[..., Any], url: str, name: str, code: str) -> Any:
    client = make_client(url)
    assert _login(client, name).headers["location"] == "/login/code"
    return _post(client, "/login/code", "/login/code", {"code": code})


# --- secrets at rest ----------------------------------------------------------------------------


def test_totp_secrets_are_encrypted_at_rest(make_client: Callable[..., Any], clean_db: str) -> None:
    _user(clean_db, "dana")
    client = make_client(clean_db)
    assert _login(client, "dana").status_code == 303
    assert _post(client, "/account/two-factor", "/account/two-factor/start", {}).status_code == 303
    page = client.get("/account/two-factor").text
    shown = re.search(r'<code class="secret">([A-Z2-7]{32})</code>', page)
    assert shown is not None  # the set-up page shows the secret in clear, once decrypted
    cred = _stored(clean_db, "dana")
    assert cred is not None
    assert shown.group(1) not in cred.secret and cred.secret.startswith("gAAAAA")  # a Fernet token
    assert cipher_for(make_test_settings(clean_db)).decrypt(cred.secret) == shown.group(1)
    with pytest.raises(DataKeyError):
        DataCipher([Fernet.generate_key().decode()]).decrypt(cred.secret)  # another key reads nothing
    # An app with another secret key (and no data key) cannot read the secret: it says so (503)
    # rather than show a wrong key, and no code is accepted.
    other = make_client(clean_db, secret_key="another-secret-key-that-is-long-enough-0123456789xyz")
    assert _login(other, "dana").status_code == 303
    assert other.get("/account/two-factor").status_code == 503
    code = pyotp.TOTP(shown.group(1)).now()
    token = csrf_from(other.get("/account/security").text)
    refused = other.post("/account/two-factor", data={"code": code, "csrf_token": token})
    assert refused.status_code == 503
    assert _stored(clean_db, "dana").confirmed_at is None  # type: ignore[union-attr]


def test_data_keys_come_from_the_settings_and_rotate(clean_db: str) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    with pytest.raises(ValidationError, match="TELESPINE_DATA_KEY"):
        Settings(env="production", secret_key=TEST_SECRET, data_key="not-a-key")
    with pytest.raises(ValidationError, match="TELESPINE_SECRET_KEY"):
        Settings(env="production", data_key=old)  # outside development a real secret key is still needed
    dev = Settings(env="development")
    assert keys_of(dev) == (derived_key("change-me"),)  # the development default, development only
    first = make_test_settings(clean_db, data_key=old)
    assert keys_of(first)[0] == old and keys_of(first)[1] == derived_key(TEST_SECRET)
    _user(clean_db, "dana")
    engine, db = _session(clean_db)
    try:
        dana = db.scalars(select(User).where(User.username == "dana")).one()
        cred = repo_accounts.start_totp(db, dana, cipher_for(first))
        db.commit()
        secret = cipher_for(first).decrypt(cred.secret)
        rotated = make_test_settings(clean_db, data_key=f"{new},{old}")
        assert repo_accounts.rotate_totp_secrets(db, cipher_for(rotated)) == (1, 0)
        db.commit()
        db.refresh(cred)
        assert DataCipher([new]).decrypt(cred.secret) == secret  # now under the new key alone
        with pytest.raises(DataKeyError):
            DataCipher([old]).decrypt(cred.secret)
        # Without the key a secret was encrypted with, rotation leaves it and says so.
        assert repo_accounts.rotate_totp_secrets(db, DataCipher([old])) == (0, 1)
        db.rollback()
    finally:
        db.close()
        engine.dispose()


def test_the_migration_encrypts_existing_secrets(clean_db: str) -> None:
    """0015 encrypts the plain secrets an older database holds (and its downgrade decrypts them)."""
    key = Fernet.generate_key().decode()
    _user(clean_db, "dana")
    engine, db = _session(clean_db)
    plain = pyotp.random_base32()
    try:
        dana = db.scalars(select(User).where(User.username == "dana")).one()
        db.add(TotpCredential(user_id=dana.id, secret=DataCipher([key]).encrypt(plain)))
        db.commit()
    finally:
        db.close()
        engine.dispose()
    downgrade(clean_db, "0014", data_keys=[key])
    assert _stored_raw(clean_db) == plain  # the secret as the old code stored it
    upgrade(clean_db, data_keys=[key])
    stored = _stored_raw(clean_db)
    assert stored != plain and DataCipher([key]).decrypt(stored) == plain


def _stored_raw(url: str) -> str:
    from sqlalchemy import text

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return str(conn.execute(text("SELECT secret FROM totp_credentials")).scalar_one())
    finally:
        engine.dispose()


# --- recovery codes -----------------------------------------------------------------------------


def test_recovery_codes_are_shown_once_hashed_and_single_use(
    make_client: Callable[..., Any], clean_db: str
) -> None:
    _user(clean_db, "dana")
    client, codes = _enrol(make_client, clean_db, "dana")
    assert len(codes) == 10 and len(set(codes)) == 10
    assert "Recovery codes left: 10 of 10" in client.get("/account/security").text
    assert not CODE.findall(client.get("/account/security").text)  # never shown again
    engine, db = _session(clean_db)
    try:
        hashes = [r.code_hash for r in db.scalars(select(RecoveryCode)).all()]
    finally:
        db.close()
        engine.dispose()
    assert len(hashes) == 10 and all(h.startswith("$argon2id$") for h in hashes)
    assert not any(c.replace("-", "") in h for c in codes for h in hashes)
    # A code signs in once (any case, with or without the dash); then never again.
    first = codes[0].lower().replace("-", "")
    ok = _second_step(make_client, clean_db, "dana", first)
    assert ok.status_code == 303
    assert _second_step(make_client, clean_db, "dana", codes[0]).status_code == 401
    assert [e.detail for e in _audits(clean_db, object_type="recovery_code", action="use")] == ["9 left"]
    assert "two-factor, recovery code" in [e.detail for e in _audits(clean_db, action="login")]
    # The API takes a recovery code in totp_code as well.
    api = make_client(clean_db)
    r = api.post("/api/v1/auth/login", json={"username": "dana", "password": PW, "totp_code": codes[1]})
    assert r.status_code == 200
    again = api.post("/api/v1/auth/login", json={"username": "dana", "password": PW, "totp_code": codes[1]})
    assert again.status_code == 401


def test_new_recovery_codes_replace_the_old_ones(make_client: Callable[..., Any], clean_db: str) -> None:
    _user(clean_db, "dana")
    client, old = _enrol(make_client, clean_db, "dana")
    wrong = _post(client, "/account/security", "/account/two-factor/recovery-codes", {"current": "nope x"})
    assert wrong.status_code == 403 and not CODE.findall(wrong.text)
    made = _post(client, "/account/security", "/account/two-factor/recovery-codes", {"current": PW})
    assert made.status_code == 200 and made.headers["cache-control"] == "no-store"
    new = CODE.findall(made.text)
    assert len(new) == 10 and not set(new) & set(old)
    assert _second_step(make_client, clean_db, "dana", old[3]).status_code == 401  # old codes stop working
    assert _second_step(make_client, clean_db, "dana", new[3]).status_code == 303
    assert [e.action for e in _audits(clean_db, object_type="recovery_codes")] == ["create", "update"]


def test_a_recovery_code_never_stands_in_during_set_up(
    make_client: Callable[..., Any], clean_db: str
) -> None:
    """A clinician setting up at first sign-in must prove the app works with its own code."""
    _user(clean_db, "dr_zoe", role="clinician")
    client = make_client(clean_db, require_totp=True)
    assert _login(client, "dr_zoe").headers["location"] == "/login/code"
    engine, db = _session(clean_db)
    try:
        zoe = db.scalars(select(User).where(User.username == "dr_zoe")).one()
        planted = repo_accounts.new_recovery_codes(db, zoe)
        db.commit()
    finally:
        db.close()
        engine.dispose()
    assert _post(client, "/login/code", "/login/code", {"code": planted[0]}).status_code == 401


# --- the admin's reset ----------------------------------------------------------------------------


def test_an_admin_resets_another_accounts_two_step_sign_in(
    make_client: Callable[..., Any], clean_db: str
) -> None:
    _user(clean_db, "dr_zoe", role="clinician")
    _user(clean_db, "root", role="admin")
    _user(clean_db, "dana")
    # The clinician sets up, then loses the phone and the codes.
    zoe = make_client(clean_db, require_totp=True)
    _login(zoe, "dr_zoe")
    _post(zoe, "/login/code", "/login/code", {"code": _code(clean_db, "dr_zoe")})
    assert zoe.get("/clinic/queue", follow_redirects=False).status_code == 200
    # An admin without two-step sign-in of their own cannot reset anyone.
    admin = make_client(clean_db)
    assert _login(admin, "root").status_code == 303
    assert "set it up" in admin.get("/admin/two-factor").text
    no_own = _post(admin, "/admin/two-factor", "/admin/two-factor/reset", {"username": "dr_zoe", "code": "1"})
    assert no_own.status_code == 403 and _stored(clean_db, "dr_zoe") is not None
    # A patient may not even see the page.
    dana = make_client(clean_db)
    _login(dana, "dana")
    assert dana.get("/admin/two-factor").status_code == 404
    # With their own two-step sign-in: a wrong code is refused (and audited), a fresh one works.
    admin, _ = _enrol(make_client, clean_db, "root")
    wrong = _post(
        admin, "/admin/two-factor", "/admin/two-factor/reset", {"username": "dr_zoe", "code": "000000"}
    )
    assert wrong.status_code == 401 and _stored(clean_db, "dr_zoe") is not None
    assert _audits(clean_db, action="denied", object_type="two_factor_reset")
    fresh = _code(clean_db, "root", later=1)  # the enrolment spent the current step's code
    done = _post(admin, "/admin/two-factor", "/admin/two-factor/reset", {"username": "dr_zoe", "code": fresh})
    assert done.status_code == 200 and "Two-step sign-in of dr_zoe is reset" in done.text
    replay = _post(admin, "/admin/two-factor", "/admin/two-factor/reset", {"username": "dana", "code": fresh})
    assert replay.status_code == 401  # a code works once: every reset needs a fresh one
    assert _stored(clean_db, "dr_zoe") is None
    engine, db = _session(clean_db)
    try:
        zoe_id = db.scalar(select(User.id).where(User.username == "dr_zoe"))
        root_id = db.scalar(select(User.id).where(User.username == "root"))
        assert db.scalars(select(UserSession).where(UserSession.user_id == zoe_id)).all() == []
        assert db.scalars(select(RecoveryCode).where(RecoveryCode.user_id == zoe_id)).all() == []
    finally:
        db.close()
        engine.dispose()
    (event,) = _audits(clean_db, action="reset", object_type="two_factor")
    assert (event.actor_id, event.object_id, event.actor_role) == (root_id, zoe_id, "admin")
    assert zoe.get("/clinic/queue", follow_redirects=False).status_code == 303  # signed out
    again = make_client(clean_db, require_totp=True)
    assert _login(again, "dr_zoe").headers["location"] == "/login/code"
    assert "otpauth://" in again.get("/login/code").text  # sets up again


def test_the_rotate_command_re_encrypts_with_the_first_key(
    clean_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from telespine.cli import app
    from telespine.settings import get_settings

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    _user(clean_db, "dana")
    engine, db = _session(clean_db)
    try:
        dana = db.scalars(select(User).where(User.username == "dana")).one()
        secret = DataCipher([old]).decrypt(repo_accounts.start_totp(db, dana, DataCipher([old])).secret)
        db.commit()
    finally:
        db.close()
        engine.dispose()
    monkeypatch.setenv("TELESPINE_ENV", "test")
    monkeypatch.setenv("TELESPINE_SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("DATABASE_URL", clean_db)
    monkeypatch.setenv("TELESPINE_DATA_KEY", f"{new},{old}")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["db", "rotate-data-key"])
        assert result.exit_code == 0, result.output
        assert "1 two-step sign-in secrets encrypted" in result.output
        monkeypatch.setenv("TELESPINE_DATA_KEY", f"{Fernet.generate_key().decode()}")
        get_settings.cache_clear()
        lost = CliRunner().invoke(app, ["db", "rotate-data-key"])
        assert lost.exit_code == 1 and "cannot be decrypted" in lost.output
    finally:
        get_settings.cache_clear()
    cred = _stored(clean_db, "dana")
    assert cred is not None and DataCipher([new]).decrypt(cred.secret) == secret
