"""Account API (issue 13): password change, sign out everywhere, the download of one's own data,
and the second step of sign-in for accounts with two-step sign-in."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from telespine.services import accounts as account_service
from telespine.settings import Settings
from telespine.store import repo_accounts
from telespine.store.accounts import HashBusy, PasswordRejected
from telespine.store.datakeys import cipher_for
from telespine.store.models import User, utcnow
from telespine.web.deps import CsrfDep, DbDep, InvalidInput, RequiredUser, SettingsDep, WebSessionDep

router = APIRouter(prefix="/api/v1", tags=["auth"])
CODE_TRIES = 5


def check_second_step(db: Any, settings: Settings, user: User, code: str | None) -> None:
    """Raise 401/403/429 unless the account needs no code or `code` is right (once per 30 s)."""
    from telespine.web.pages.accounts import needs_second_step

    if not needs_second_step(db, settings, user):
        return
    if not repo_accounts.totp_enabled(db, user):
        raise HTTPException(
            status_code=403, detail="Set up two-step sign-in on the web first (/account/two-factor)."
        )
    if not code:
        raise HTTPException(status_code=401, detail="A sign-in code is needed (totp_code).")
    key = repo_accounts.counter_key("totp", user.id)
    tries = repo_accounts.count_attempt(db, key, dt.timedelta(minutes=settings.login_window_minutes))
    db.commit()
    if tries > CODE_TRIES:
        raise HTTPException(status_code=429, detail="Too many wrong codes. Wait and try again.")
    # The app's 6-digit code, or one of the account's single-use recovery codes.
    if account_service.second_step(db, user, code, utcnow(), cipher_for(settings)) is None:
        db.commit()
        raise HTTPException(status_code=401, detail="The sign-in code is not right.")
    repo_accounts.reset_counter(db, key)
    db.commit()


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current: str = Field(min_length=1, max_length=256)
    new: str = Field(min_length=1, max_length=256)


@router.post("/auth/password", status_code=204, dependencies=[CsrfDep])
def change_password(
    body: PasswordChange, request: Request, db: DbDep, settings: SettingsDep, user: RequiredUser
) -> Response:
    """Change your password; every session of the account ends (sign in again)."""
    ip = request.client.host if request.client else "unknown"
    key = repo_accounts.counter_key("pair", user.username, ip)
    if repo_accounts.count_attempt(db, key, dt.timedelta(minutes=settings.login_window_minutes)) > (
        settings.login_max_failures_per_account
    ):
        db.commit()
        raise HTTPException(status_code=429, detail="Too many tries. Wait a few minutes and try again.")
    db.commit()
    try:
        account_service.change_password(db, user, body.current, body.new, key)
    except account_service.WrongPassword:
        raise HTTPException(status_code=403, detail="The current password is not right.") from None
    except PasswordRejected as exc:
        raise InvalidInput(f"Invalid request: new: {exc}", [("new", str(exc))]) from None
    except HashBusy:
        raise HTTPException(
            status_code=503, detail="Busy, try again.", headers={"Retry-After": "5"}
        ) from None
    return Response(status_code=204)


@router.post("/auth/sign-out-everywhere", status_code=204, dependencies=[CsrfDep])
def sign_out_everywhere(request: Request, db: DbDep, ws: WebSessionDep, user: RequiredUser) -> Response:
    """End every session of your account, this one too."""
    account_service.sign_out_everywhere(db, user)
    ws.row = None
    ws.clear_cookie = not getattr(request.state, "via_bearer", False)
    return Response(status_code=204)


@router.get("/me/export", tags=["account"])
def export_my_data(db: DbDep, user: RequiredUser) -> dict[str, Any]:
    """Everything kept about your account and your (and your children's) profiles."""
    if user.role not in ("patient", "parent"):
        raise HTTPException(status_code=404, detail="Not found.")
    return account_service.export_own_data(db, user)
