"""Login with rate limits per (account, address) pair and per address, counted in the database."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy.orm import Session

from telespine.settings import Settings
from telespine.store import repo
from telespine.store.accounts import verify_dummy, verify_password
from telespine.store.models import User

log = logging.getLogger("telespine.auth")


class LoginRefused(Exception):
    """A refused login; message is safe to show and never says whether the account exists."""

    def __init__(self, message: str, status_code: int) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code


def authenticate(db: Session, settings: Settings, *, username: str, password: str, ip: str) -> User:
    """The user for these credentials, or LoginRefused (401 wrong, 429 too many failures)."""
    name = username.strip().lower()[:64]
    window = timedelta(minutes=settings.login_window_minutes)
    # Limits per (account, address) and per address: a stranger's failures elsewhere never lock
    # the real user out, while one address cannot try many passwords on one or many accounts.
    by_pair, by_ip = repo.recent_failures(db, username=name, ip=ip, window=window)
    if by_pair >= settings.login_max_failures_per_account or by_ip >= settings.login_max_failures_per_ip:
        log.warning("login throttled: account=%s ip=%s", name, ip)
        raise LoginRefused(
            f"Too many failed sign-ins. Wait {settings.login_window_minutes} minutes and try again.", 429
        )
    user = repo.user_by_username(db, name) if name else None
    if user is None:
        verify_dummy(password)  # same work as a real check, so timing does not reveal the account
        ok = False
    else:
        ok = user.active and verify_password(user.password_hash, password)
    repo.record_login_attempt(db, username=name, ip=ip, success=ok)
    db.commit()
    log.info("login %s: account=%s ip=%s", "ok" if ok else "failed", name, ip)
    if not ok or user is None:
        raise LoginRefused("The user name or password is not right.", 401)
    return user
