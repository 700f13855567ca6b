"""Request dependencies: settings, database session, the web session, the user and the CSRF check."""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session, sessionmaker

from telespine.settings import Settings
from telespine.store.models import User
from telespine.web import sessions
from telespine.web.sessions import COOKIE_NAME, WebSession

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


class InvalidInput(HTTPException):
    """A 422 that names the fields: the API answers {"detail": ..., "errors": [{field, problem}]}."""

    def __init__(self, detail: str, errors: list[tuple[str, str]], status_code: int = 422) -> None:
        super().__init__(status_code=status_code, detail=detail)
        self.errors = [{"field": field, "problem": problem} for field, problem in errors]


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_db(request: Request) -> Iterator[Session]:
    """One database session per request; routes commit their writes explicitly."""
    factory: sessionmaker[Session] = request.app.state.sessionmaker
    db = factory()
    try:
        yield db
    finally:
        db.rollback()
        db.close()


def release_db(db: Session) -> None:
    """End the request's database work before a wait that needs no database (a PDF, issue 16).

    The session's connection goes back to the pool now, not at the end of the request, so a
    request waiting for the PDF helper never holds one. Everything the route needs must be read
    (and every write committed: nothing is left to commit) before: the loaded objects are then
    detached, what was loaded stays readable, and a lazy load raises instead of quietly taking a
    connection again. get_db's rollback and close at the end of the request find nothing to do.
    """
    db.close()


SettingsDep = Annotated[Settings, Depends(get_settings)]
DbDep = Annotated[Session, Depends(get_db)]


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def get_web_session(request: Request, db: DbDep, settings: SettingsDep) -> WebSession:
    """The caller's session from the bearer token (API clients) or the cookie (browsers)."""
    cached: WebSession | None = getattr(request.state, "web_session", None)
    if cached is not None:
        return cached
    bearer = _bearer(request)
    ws = sessions.load(db, settings, bearer or request.cookies.get(COOKIE_NAME))
    if bearer:
        ws.clear_cookie = False  # a bad bearer token says nothing about the cookie
    request.state.web_session = ws
    request.state.via_bearer = bearer is not None
    return ws


WebSessionDep = Annotated[WebSession, Depends(get_web_session)]


def remember(request: Request, ws: WebSession) -> WebSession:
    """Make ws the request's session, so the middleware issues or clears its cookie."""
    request.state.web_session = ws
    return ws


def current_user(ws: WebSessionDep) -> User | None:
    return ws.user


def require_user(ws: WebSessionDep) -> User:
    """The signed-in user; 401 otherwise (pages turn it into a redirect to the login page)."""
    if ws.user is None:
        raise HTTPException(status_code=401, detail="Please sign in first.")
    return ws.user


OptionalUser = Annotated[User | None, Depends(current_user)]
RequiredUser = Annotated[User, Depends(require_user)]


async def csrf_protect(request: Request, ws: WebSessionDep) -> None:
    """The one CSRF check: unsafe requests carry the session's synchronizer token (form or header)."""
    if request.method in SAFE_METHODS or getattr(request.state, "via_bearer", False):
        return  # bearer tokens are never sent by a browser on its own, so they cannot be forged
    if ws.user is None and request.url.path.startswith("/api/"):
        # Every API write needs an account.
        raise HTTPException(status_code=401, detail="Please sign in first.")
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    # Bytes, not str: compare_digest raises TypeError for non-ASCII str, and a token is ASCII hex.
    if (
        ws.row is None
        or not sent
        or not hmac.compare_digest(sent.encode("utf-8", "replace"), ws.csrf_token.encode("ascii"))
    ):
        raise HTTPException(
            status_code=403,
            detail=(
                "This form has expired or was not sent from telespine. "
                "Go back, reload the page and try again."
            ),
        )


CsrfDep = Depends(csrf_protect)
