"""Login with rate limits per (account, address) pair and per address, counted in the database.

Every attempt is counted BEFORE the password is checked, in one atomic statement
(`repo_accounts.count_attempt`), so a burst of parallel attempts (threads or worker processes)
gets at most the limit of password checks; the hashing itself is bounded per process
(`accounts.hash_slot`), so a burst cannot exhaust memory either.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy.orm import Session

from telespine.settings import Settings
from telespine.store import repo, repo_accounts
from telespine.store.accounts import HashBusy, verify_dummy, verify_password
from telespine.store.models import User

log = logging.getLogger("telespine.auth")
BUSY_RETRY_SECONDS = 5


class LoginRefused(Exception):
    """A refused login; message is safe to show and never says whether the account exists."""

    def __init__(self, message: str, status_code: int, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.retry_after = retry_after

    @property
    def headers(self) -> dict[str, str] | None:
        return {"Retry-After": str(self.retry_after)} if self.retry_after else None


def busy_refusal() -> LoginRefused:
    return LoginRefused(
        "Many people are signing in right now. Wait a few seconds and try again.", 503, BUSY_RETRY_SECONDS
    )


def authenticate(db: Session, settings: Settings, *, username: str, password: str, ip: str) -> User:
    """The user for these credentials, or LoginRefused (401 wrong, 429 too many, 503 busy)."""
    name = username.strip().lower()[:64]
    window = timedelta(minutes=settings.login_window_minutes)
    # Limits per (account, address) and per address: a stranger's failures elsewhere never lock
    # the real user out, while one address cannot try many passwords on one or many accounts.
    pair_key = repo_accounts.counter_key("pair", name, ip)
    ip_key = repo_accounts.counter_key("ip", ip)
    by_pair = repo_accounts.count_attempt(db, pair_key, window)
    by_ip = repo_accounts.count_attempt(db, ip_key, window)
    db.commit()  # counted and visible to every other request before the slow check
    if by_pair > settings.login_max_failures_per_account or by_ip > settings.login_max_failures_per_ip:
        log.warning("login throttled: account=%s ip=%s", name, ip)
        raise LoginRefused(
            f"Too many failed sign-ins. Wait {settings.login_window_minutes} minutes and try again.",
            429,
            settings.login_window_minutes * 60,
        )
    user = repo.user_by_username(db, name) if name else None
    try:
        if user is None:
            verify_dummy(password)  # same work as a real check, so timing does not reveal the account
            ok = False
        else:
            ok = user.active and verify_password(user.password_hash, password)
    except HashBusy:
        # Not checked, so not a failure: give the attempt back.
        repo_accounts.refund_attempt(db, pair_key)
        repo_accounts.refund_attempt(db, ip_key)
        db.commit()
        log.warning("login busy: account=%s ip=%s", name, ip)
        raise busy_refusal() from None
    repo.record_login_attempt(db, username=name, ip=ip, success=ok)
    if ok:
        repo_accounts.reset_counter(db, pair_key)  # a success clears that pair's slate
        repo_accounts.refund_attempt(db, ip_key)
    db.commit()
    log.info("login %s: account=%s ip=%s", "ok" if ok else "failed", name, ip)
    if not ok or user is None:
        raise LoginRefused("The user name or password is not right.", 401)
    return user
