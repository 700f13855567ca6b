"""Account pages (issue 13): two-factor sign-in, password change and reset, sign out everywhere,
the download of one's own data, and the privacy notice and terms."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response

from telespine.services import accounts as account_service
from telespine.settings import Settings
from telespine.store import repo_accounts
from telespine.store.accounts import HashBusy, PasswordRejected, check_new_password, verify_password
from telespine.store.datakeys import DataCipher, DataKeyError, cipher_for
from telespine.store.models import User, utcnow
from telespine.web import sessions
from telespine.web.deps import CsrfDep, DbDep, RequiredUser, SettingsDep, WebSessionDep, remember
from telespine.web.pages.render import redirect as _redirect
from telespine.web.pages.render import render as _render
from telespine.web.policy import require_admin
from telespine.web.sessions import WebSession

router = APIRouter(include_in_schema=False)
PENDING = "pending_2fa"
PENDING_MINUTES = 5
CODE_TRIES = 5
KEYS_WRONG = "Two-step sign-in cannot be set up right now (a server setting is wrong). Tell the clinic."


def _ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _cipher(settings: Settings) -> DataCipher:
    """The key ring of the stored two-step secrets (telespine.store.datakeys)."""
    return cipher_for(settings)


def _setup_ctx(db: Any, settings: Settings, user: User) -> dict[str, Any]:
    """The key and link an authenticator app needs, while the secret is not confirmed yet."""
    cred = repo_accounts.totp_of(db, user)
    if cred is None or cred.confirmed_at is not None:
        return {}
    cipher = _cipher(settings)
    try:
        secret, uri = repo_accounts.totp_secret(cred, cipher), repo_accounts.totp_uri(cred, user, cipher)
    except DataKeyError:  # the operator changed the keys: say so rather than show a wrong key
        raise HTTPException(status_code=503, detail=KEYS_WRONG) from None
    return {"secret": secret, "uri": uri}


def _codes_page(request: Request, ws: WebSession, codes: list[str], next_url: str) -> Response:
    """The recovery codes, shown once (never stored in clear, never cached)."""
    response = _render(request, ws, "recovery_codes.html", {"codes": codes, "next_url": next_url})
    response.headers["cache-control"] = "no-store"
    return response


# --- two-factor sign-in ------------------------------------------------------------------------


def needs_second_step(db: Any, settings: Settings, user: User) -> bool:
    """A code is asked of every account that set one up, and of clinicians and admins when required."""
    if repo_accounts.totp_enabled(db, user):
        return True
    return settings.totp_required and user.role in ("clinician", "admin")


def begin_second_step(
    request: Request, db: Any, settings: Settings, ws: WebSession, user: User, next_: str
) -> Response:
    """Password right: keep the visitor anonymous, remember who they are for 5 minutes, ask the code."""
    ws = remember(request, sessions.ensure(db, settings, ws))
    data = {k: v for k, v in ws.data.items() if k != PENDING}
    data[PENDING] = {"user_id": user.id, "at": utcnow().isoformat(), "next": next_}
    sessions.save_data(db, ws, data)
    if not repo_accounts.totp_enabled(db, user):
        repo_accounts.start_totp(db, user, _cipher(settings))  # a new secret to set up now (required)
        db.commit()
    return _redirect("/login/code")


def _pending_user(db: Any, ws: WebSession) -> tuple[User | None, dict[str, Any]]:
    pending = ws.data.get(PENDING)
    if not isinstance(pending, dict):
        return None, {}
    try:
        at = dt.datetime.fromisoformat(str(pending.get("at")))
    except ValueError:
        return None, {}
    if utcnow() - at > dt.timedelta(minutes=PENDING_MINUTES):
        return None, {}
    user = db.get(User, str(pending.get("user_id", ""))[:64])
    return (user if user is not None and user.active else None), pending


@router.get("/login/code", response_class=HTMLResponse)
def login_code_page(request: Request, db: DbDep, settings: SettingsDep, ws: WebSessionDep) -> Response:
    user, _ = _pending_user(db, ws)
    if user is None:
        return _redirect("/login")
    extra = _setup_ctx(db, settings, user)
    return _render(request, ws, "login_code.html", {"setup": bool(extra), "error": None, **extra})


@router.post("/login/code", dependencies=[CsrfDep])
def login_code(
    request: Request,
    db: DbDep,
    settings: SettingsDep,
    ws: WebSessionDep,
    code: Annotated[str, Form(max_length=12)],
) -> Response:
    user, pending = _pending_user(db, ws)
    if user is None:
        return _redirect("/login")
    key = repo_accounts.counter_key("totp", user.id)
    tries = repo_accounts.count_attempt(db, key, dt.timedelta(minutes=settings.login_window_minutes))
    db.commit()
    extra = _setup_ctx(db, settings, user)
    # A recovery code stands in for the app's code once the app is set up (never during set-up).
    how = None
    if tries <= CODE_TRIES:
        if extra:
            how = "totp" if repo_accounts.check_totp(db, user, code, utcnow(), _cipher(settings)) else None
        else:
            how = account_service.second_step(db, user, code, utcnow(), _cipher(settings))
    if how is None:
        db.commit()
        error = (
            "Too many wrong codes. Wait a few minutes, then sign in again."
            if tries > CODE_TRIES
            else "That code is not right. Check the time on your phone and try the newest code."
        )
        ctx: dict[str, Any] = {"setup": bool(extra), "error": error, **extra}
        return _render(request, ws, "login_code.html", ctx, 429 if tries > CODE_TRIES else 401)
    account_service.signed_in(db, user, key, how)
    sessions.save_data(db, ws, {k: v for k, v in ws.data.items() if k != PENDING})
    sessions.purge_expired(db, settings)
    ws = remember(request, sessions.start(db, settings, ws, user))
    from telespine.web.pages.routes import _safe_next

    next_url = _safe_next(str(pending.get("next", "")), "/account")
    if extra:  # just set up: the recovery codes, once
        return _codes_page(request, ws, account_service.issue_recovery_codes(db, user), next_url)
    return _redirect(next_url)


# --- account security -----------------------------------------------------------------------


@router.get("/account/security", response_class=HTMLResponse)
def security_page(request: Request, db: DbDep, ws: WebSessionDep, user: RequiredUser) -> Response:
    return _render(
        request,
        ws,
        "account_security.html",
        {
            "totp_on": repo_accounts.totp_enabled(db, user),
            "codes_left": repo_accounts.recovery_codes_left(db, user),
            "can_export": user.role in ("patient", "parent"),
            "flash": request.query_params.get("done", "")[:20],
            "error": None,
        },
    )


@router.post("/account/password", dependencies=[CsrfDep])
def change_password(
    request: Request,
    db: DbDep,
    settings: SettingsDep,
    ws: WebSessionDep,
    user: RequiredUser,
    current: Annotated[str, Form(max_length=256)],
    new: Annotated[str, Form(max_length=256)],
) -> Response:
    def again(error: str, status: int) -> Response:
        ctx = {
            "totp_on": repo_accounts.totp_enabled(db, user),
            "codes_left": repo_accounts.recovery_codes_left(db, user),
            "can_export": user.role in ("patient", "parent"),
        }
        return _render(request, ws, "account_security.html", {**ctx, "flash": "", "error": error}, status)

    key = repo_accounts.counter_key("pair", user.username, _ip(request))
    if repo_accounts.count_attempt(db, key, dt.timedelta(minutes=settings.login_window_minutes)) > (
        settings.login_max_failures_per_account
    ):
        db.commit()
        return again("Too many tries. Wait a few minutes and try again.", 429)
    db.commit()
    try:
        account_service.change_password(db, user, current, new, key)  # ends every session, this one too
    except account_service.WrongPassword:
        return again("Your current password is not right.", 403)
    except PasswordRejected as exc:
        return again(str(exc), 422)
    except HashBusy:
        return again("Many people are signing in right now. Try again in a few seconds.", 503)
    ws.row = None  # deleted with the others
    remember(request, sessions.start(db, settings, ws, user))  # a fresh session here only
    return _redirect("/account/security?done=password")


@router.post("/account/sign-out-everywhere", dependencies=[CsrfDep])
def sign_out_everywhere(request: Request, db: DbDep, ws: WebSessionDep, user: RequiredUser) -> Response:
    account_service.sign_out_everywhere(db, user)
    ws.row = None
    ws.user = None
    ws.clear_cookie = True
    remember(request, ws)
    return _redirect("/login")


@router.get("/account/two-factor", response_class=HTMLResponse)
def two_factor_page(
    request: Request, db: DbDep, settings: SettingsDep, ws: WebSessionDep, user: RequiredUser
) -> Response:
    if repo_accounts.totp_enabled(db, user):
        return _redirect("/account/security")
    # A GET only reads: the secret is made by the POST below.
    ctx = _setup_ctx(db, settings, user) or {"secret": None}
    return _render(request, ws, "account_two_factor.html", {**ctx, "error": None})


@router.post("/account/two-factor/start", dependencies=[CsrfDep])
def two_factor_start(db: DbDep, settings: SettingsDep, user: RequiredUser) -> Response:
    """Make the account's secret (kept while unconfirmed, so a reload shows the same one)."""
    if not repo_accounts.totp_enabled(db, user):
        repo_accounts.start_totp(db, user, _cipher(settings))
        db.commit()
    return _redirect("/account/two-factor")


@router.post("/account/two-factor", dependencies=[CsrfDep])
def two_factor_confirm(
    request: Request,
    db: DbDep,
    settings: SettingsDep,
    ws: WebSessionDep,
    user: RequiredUser,
    code: Annotated[str, Form(max_length=12)],
) -> Response:
    if repo_accounts.totp_enabled(db, user):
        return _redirect("/account/security")
    key = repo_accounts.counter_key("totp", user.id)
    tries = repo_accounts.count_attempt(db, key, dt.timedelta(minutes=settings.login_window_minutes))
    db.commit()
    if tries > CODE_TRIES or not repo_accounts.check_totp(db, user, code, utcnow(), _cipher(settings)):
        db.commit()
        ctx = _setup_ctx(db, settings, user)
        if not ctx:
            return _redirect("/account/two-factor")
        error = "That code is not right."
        if tries > CODE_TRIES:
            error = "Too many wrong codes. Wait a few minutes."
        return _render(request, ws, "account_two_factor.html", {**ctx, "error": error}, 401)
    account_service.two_factor_confirmed(db, user, key)
    return _codes_page(request, ws, account_service.issue_recovery_codes(db, user), "/account/security")


@router.post("/account/two-factor/recovery-codes", dependencies=[CsrfDep])
def new_recovery_codes(
    request: Request,
    db: DbDep,
    settings: SettingsDep,
    ws: WebSessionDep,
    user: RequiredUser,
    current: Annotated[str, Form(max_length=256)],
) -> Response:
    """New recovery codes (the old ones stop working); needs the current password."""
    if not repo_accounts.totp_enabled(db, user):
        return _redirect("/account/two-factor")

    def again(error: str, status: int) -> Response:
        ctx = {
            "totp_on": True,
            "codes_left": repo_accounts.recovery_codes_left(db, user),
            "can_export": user.role in ("patient", "parent"),
        }
        return _render(request, ws, "account_security.html", {**ctx, "flash": "", "error": error}, status)

    key = repo_accounts.counter_key("pair", user.username, _ip(request))
    tries = repo_accounts.count_attempt(db, key, dt.timedelta(minutes=settings.login_window_minutes))
    db.commit()
    if tries > settings.login_max_failures_per_account:
        return again("Too many tries. Wait a few minutes and try again.", 429)
    try:
        if not verify_password(user.password_hash, current):
            return again("Your password is not right.", 403)
    except HashBusy:
        return again("Many people are signing in right now. Try again in a few seconds.", 503)
    repo_accounts.reset_counter(db, key)
    codes = account_service.issue_recovery_codes(db, user, regenerated=True)
    return _codes_page(request, ws, codes, "/account/security")


# --- an admin resets another account's two-step sign-in ---------------------------------------


@router.get("/admin/two-factor", response_class=HTMLResponse)
def admin_two_factor_page(
    request: Request, db: DbDep, ws: WebSessionDep, admin: Annotated[User, Depends(require_admin)]
) -> Response:
    ctx = {"own_on": repo_accounts.totp_enabled(db, admin), "error": None, "done": None}
    return _render(request, ws, "admin_two_factor.html", ctx)


@router.post("/admin/two-factor/reset", dependencies=[CsrfDep])
def admin_two_factor_reset(
    request: Request,
    db: DbDep,
    settings: SettingsDep,
    ws: WebSessionDep,
    admin: Annotated[User, Depends(require_admin)],
    username: Annotated[str, Form(min_length=1, max_length=64)],
    code: Annotated[str, Form(max_length=12)],
) -> Response:
    """Turn off another account's two-step sign-in (it sets up again at its next sign-in). Needs a
    fresh code from the admin's own app; audited."""
    own_on = repo_accounts.totp_enabled(db, admin)
    try:
        target = account_service.admin_reset_two_factor(
            db,
            admin,
            username,
            code,
            cipher=_cipher(settings),
            window=dt.timedelta(minutes=settings.login_window_minutes),
            max_tries=CODE_TRIES,
        )
    except account_service.ResetRefused as exc:
        ctx = {"own_on": own_on, "error": str(exc), "done": None}
        return _render(request, ws, "admin_two_factor.html", ctx, exc.status)
    ctx = {"own_on": own_on, "error": None, "done": target.username}
    return _render(request, ws, "admin_two_factor.html", ctx)


@router.get("/account/data.json")
def download_my_data(db: DbDep, user: RequiredUser) -> Response:
    """Everything kept about your account and your (and your children's) profiles, as JSON."""
    if user.role not in ("patient", "parent"):
        return Response(status_code=404, content="Not found.")
    doc = account_service.export_own_data(db, user)
    body = json.dumps(doc, ensure_ascii=False, indent=2, default=str)
    return Response(
        body.encode("utf-8"),
        media_type="application/json",
        headers={
            "content-disposition": 'attachment; filename="telespine-my-data.json"',
            "cache-control": "no-store",
        },
    )


# --- password reset ---------------------------------------------------------------------------

RESET_SENT = (
    "If that account has an e-mail address, we have sent a link to it. "
    "It works once and for a short time. Check your inbox and spam folder."
)


@router.get("/password/forgot", response_class=HTMLResponse)
def forgot_page(request: Request, db: DbDep, settings: SettingsDep, ws: WebSessionDep) -> Response:
    ws = remember(request, sessions.ensure(db, settings, ws))
    return _render(request, ws, "password_forgot.html", {"sent": False, "error": None})


@router.post("/password/forgot", dependencies=[CsrfDep])
def forgot(
    request: Request,
    db: DbDep,
    settings: SettingsDep,
    ws: WebSessionDep,
    username: Annotated[str, Form(max_length=64)],
) -> Response:
    key = repo_accounts.counter_key("reset", _ip(request))
    count = repo_accounts.count_attempt(db, key, dt.timedelta(minutes=settings.signup_window_minutes))
    if count > settings.password_reset_max_per_ip:
        db.commit()
        error = "Too many requests from here. Wait an hour and try again."
        return _render(request, ws, "password_forgot.html", {"sent": False, "error": error}, 429)
    account_service.request_reset(db, username)
    # The same answer whether or not the account exists (the worker sends the e-mail).
    return _render(request, ws, "password_forgot.html", {"sent": True, "message": RESET_SENT, "error": None})


@router.get("/password/reset", response_class=HTMLResponse)
def reset_page(
    request: Request,
    db: DbDep,
    settings: SettingsDep,
    ws: WebSessionDep,
    token: Annotated[str, Query(max_length=128)] = "",
) -> Response:
    ws = remember(request, sessions.ensure(db, settings, ws))
    ok = repo_accounts.reset_for_token(db, token, utcnow()) is not None
    return _render(
        request, ws, "password_reset.html", {"token": token if ok else "", "ok": ok, "error": None}
    )


@router.post("/password/reset", dependencies=[CsrfDep])
def reset(
    request: Request,
    db: DbDep,
    ws: WebSessionDep,
    token: Annotated[str, Form(max_length=128)],
    new: Annotated[str, Form(max_length=256)],
) -> Response:
    now = utcnow()
    row = repo_accounts.reset_for_token(db, token, now)
    user = db.get(User, row.user_id) if row is not None else None
    if row is None or user is None:
        return _render(request, ws, "password_reset.html", {"token": "", "ok": False, "error": None}, 410)
    try:
        check_new_password(new, user.username)
    except PasswordRejected as exc:
        return _render(
            request, ws, "password_reset.html", {"token": token, "ok": True, "error": str(exc)}, 422
        )
    try:
        account_service.reset_password(db, row, user, new, now)
    except account_service.ResetSpent:
        return _render(request, ws, "password_reset.html", {"token": "", "ok": False, "error": None}, 410)
    except HashBusy:
        error = "Many people are signing in right now. Try again in a few seconds."
        return _render(request, ws, "password_reset.html", {"token": token, "ok": True, "error": error}, 503)
    return _redirect("/login?reset=done")


# --- privacy notice and terms -----------------------------------------------------------------


@router.get("/privacy", response_class=HTMLResponse)
def privacy(request: Request, ws: WebSessionDep) -> Response:
    return _render(request, ws, "privacy.html", {})


@router.get("/terms", response_class=HTMLResponse)
def terms(request: Request, ws: WebSessionDep) -> Response:
    return _render(request, ws, "terms.html", {})
