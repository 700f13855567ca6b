"""Server-side sessions: the cookie holds a random token, the database only its SHA-256."""

from __future__ import annotations

import copy
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from telespine.settings import Settings
from telespine.store.models import User, UserSession, utcnow

COOKIE_NAME = "telespine_session"
# Writing last_seen on every request would turn every read into a write; a minute is precise enough.
TOUCH_EVERY = timedelta(seconds=60)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def csrf_token_for(settings: Settings, token_hash: str) -> str:
    """The synchronizer token of a session: an HMAC of the session, so it needs no extra column."""
    key = settings.secret_key.get_secret_value().encode("utf-8")
    return hmac.new(key, b"csrf:" + token_hash.encode("ascii"), hashlib.sha256).hexdigest()


@dataclass
class WebSession:
    """The session of the current request; `new_token` is set when a cookie must be (re)issued."""

    row: UserSession | None
    user: User | None
    csrf_token: str = ""
    new_token: str | None = None
    clear_cookie: bool = False
    data: dict[str, Any] = field(default_factory=dict)


def _expired(row: UserSession, settings: Settings, now: datetime) -> bool:
    idle = timedelta(minutes=settings.session_idle_minutes)
    absolute = timedelta(hours=settings.session_absolute_hours)
    return now - row.last_seen_at > idle or now - row.created_at > absolute


def load(db: Session, settings: Settings, token: str | None) -> WebSession:
    """The session for a cookie token, or an empty one when missing, unknown or timed out."""
    if not token or len(token) > 128:
        return WebSession(row=None, user=None)
    row = db.scalar(select(UserSession).where(UserSession.token_hash == hash_token(token)))
    if row is None:
        return WebSession(row=None, user=None, clear_cookie=True)
    now = utcnow()
    if _expired(row, settings, now):
        db.delete(row)
        db.commit()
        return WebSession(row=None, user=None, clear_cookie=True)
    user = row.user
    if user is not None and not user.active:
        db.delete(row)
        db.commit()
        return WebSession(row=None, user=None, clear_cookie=True)
    if now - row.last_seen_at > TOUCH_EVERY:
        row.last_seen_at = now
        db.commit()
    return WebSession(
        row=row,
        user=user,
        csrf_token=csrf_token_for(settings, row.token_hash),
        data=copy.deepcopy(row.data or {}),
    )


def start(db: Session, settings: Settings, ws: WebSession, user: User | None) -> WebSession:
    """A new session row and token; used at first form and rotated at login (old row deleted)."""
    token = secrets.token_urlsafe(32)
    # A draft follows an anonymous visitor into their own sign-in, and an account into its own
    # new session; never one account's draft into another account's sign-in on the same browser.
    old = ws.row
    same_person = old is not None and (old.user_id is None or (user is not None and old.user_id == user.id))
    carried = copy.deepcopy(old.data or {}) if old is not None and same_person else {}
    if ws.row is not None:
        db.delete(ws.row)
    row = UserSession(token_hash=hash_token(token), user_id=user.id if user else None, data=carried)
    db.add(row)
    db.commit()
    return WebSession(
        row=row,
        user=user,
        csrf_token=csrf_token_for(settings, row.token_hash),
        new_token=token,
        data=carried,
    )


def ensure(db: Session, settings: Settings, ws: WebSession) -> WebSession:
    """The current session, started (anonymous) when there is none, so forms get a CSRF token."""
    return ws if ws.row is not None else start(db, settings, ws, None)


def save_data(db: Session, ws: WebSession, data: dict[str, Any]) -> None:
    """Replace the draft data kept on the session (a new dict so the JSON change is seen)."""
    if ws.row is None:
        raise RuntimeError("no session to keep data in")
    ws.row.data = copy.deepcopy(data)
    flag_modified(ws.row, "data")  # nested JSON changes are not tracked by SQLAlchemy
    ws.data = copy.deepcopy(data)
    db.commit()


def end(db: Session, ws: WebSession) -> None:
    """Logout: delete the session on the server and clear the cookie."""
    if ws.row is not None:
        db.delete(ws.row)
        db.commit()
    ws.row = None
    ws.user = None
    ws.clear_cookie = True


def purge_expired(db: Session, settings: Settings) -> int:
    """Delete sessions past their timeouts; run at login so the table stays small."""
    now = utcnow()
    idle_cut = now - timedelta(minutes=settings.session_idle_minutes)
    abs_cut = now - timedelta(hours=settings.session_absolute_hours)
    result = db.execute(
        delete(UserSession).where((UserSession.last_seen_at < idle_cut) | (UserSession.created_at < abs_cut))
    )
    db.commit()
    return int(getattr(result, "rowcount", 0) or 0)
