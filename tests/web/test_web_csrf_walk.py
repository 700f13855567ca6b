"""Every unsafe route of the app, pages and API alike, refuses a cookie-authenticated request
without the session's CSRF token (and with a wrong or foreign one), and lets the right one through.

The routes are read from the app itself, so a new form or endpoint is walked as soon as it exists.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute

from telespine.store.demo import demo_password
from telespine.web.testing import csrf_from

Client = Any
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
CSRF_MESSAGE = "This form has expired or was not sent from telespine"
# Unsafe routes without a CSRF token, and why that is safe.
EXEMPT = {
    "/api/v1/auth/login": "a JSON body (a cross-site form cannot send one); the login page has a token",
    "/api/v1/triage": "stateless: findings in, result out; nothing is stored or changed",
    "/api/v1/program": "stateless: findings and answers in, a program out",
    "/api/v1/instruments/{instrument_id}/score": "stateless: responses in, a score out",
    "/care/unsubscribe": "the signed token in the link is the authority (a mail program's one-click POST, "
    "RFC 8058, has no session); it can only turn reminder e-mails off",
    "/cds-services/{service_id}": "CDS Hooks: only the EHR's signed JWT is read, never the cookie session "
    "(no token: 401)",
    "/cds-services/{service_id}/feedback": "CDS Hooks: only the EHR's signed JWT is read, never the cookie "
    "session (no token: 401)",
}
# They end the session the walk runs in (sign out everywhere ends all of alice's).
LAST = ("/logout", "/api/v1/auth/logout", "/account/sign-out-everywhere", "/api/v1/auth/sign-out-everywhere")


def _routes(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, set[str]]]:
    """(path, methods) of every route, also inside included routers (FastAPI includes them lazily)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield prefix + route.path, set(route.methods)
        elif hasattr(route, "original_router"):
            inner = str(getattr(getattr(route, "include_context", None), "prefix", "") or "")
            yield from _routes(route.original_router.routes, prefix + inner)


def _unsafe_routes(app: Any) -> list[tuple[str, str]]:
    out = [(method, path) for path, methods in _routes(app.routes) for method in sorted(methods & UNSAFE)]
    return sorted(out, key=lambda mp: (mp[1] in LAST, mp[1], mp[0]))


def _fill(path: str) -> str:
    """Path parameters get a well-formed id that belongs to nobody."""
    return re.sub(r"\{[^}]+\}", "0" * 32, path)


def _request(client: Client, method: str, path: str, token: str | None) -> Any:
    url = _fill(path)
    if path.startswith("/api/"):
        headers = [(b"content-type", b"application/json")]
        if token is not None:
            headers.append((b"x-csrf-token", token.encode("utf-8")))  # raw bytes: also non-ASCII
        return client.request(method, url, content=b"{}", headers=headers, follow_redirects=False)
    data = {"csrf_token": token} if token is not None else {"unrelated": "1"}
    return client.request(method, url, data=data, follow_redirects=False)


def _refused_for_csrf(response: Any) -> bool:
    return response.status_code == 403 and CSRF_MESSAGE in response.text


def _sign_in(client: Client) -> str:
    """Sign alice in by cookie (no bearer token); her session's CSRF token."""
    token = csrf_from(client.get("/login").text)
    r = client.post(
        "/login", data={"username": "alice", "password": demo_password("alice"), "csrf_token": token}
    )
    assert r.status_code == 200 and client.get("/api/v1/me").json()["username"] == "alice"
    return csrf_from(client.get("/account").text)


@pytest.fixture
def signed_in(make_client: Callable[..., Client], seeded_url: str) -> tuple[Client, str]:
    """alice, signed in by cookie, and her session's CSRF token."""
    client = make_client(seeded_url)
    return client, _sign_in(client)


def test_the_walk_covers_the_known_forms(signed_in: tuple[Client, str]) -> None:
    client, _ = signed_in
    paths = {p for _, p in _unsafe_routes(client.app)}
    for known in ("/login", "/signup", "/logout", "/assess/q", "/assess/save", "/api/v1/assessments"):
        assert known in paths


def test_every_unsafe_route_needs_the_sessions_csrf_token(
    signed_in: tuple[Client, str], make_client: Callable[..., Client], seeded_url: str
) -> None:
    client, token = signed_in
    foreign = csrf_from(make_client(seeded_url).get("/login").text)  # another session's token
    walked = []
    for method, path in _unsafe_routes(client.app):
        if path in EXEMPT:
            continue
        for bad in (None, "0" * 64, foreign, "\u00e9"):
            r = _request(client, method, path, bad)
            assert _refused_for_csrf(r), f"{method} {path} with token {bad!r}: {r.status_code} {r.text[:200]}"
        walked.append((method, path))
    # The right token passes the check (the request may still fail later: unknown ids, empty forms).
    for method, path in walked:
        if path in LAST:  # each sign-out ends the session, so each gets a fresh one
            token = _sign_in(client)
        r = _request(client, method, path, token)
        assert not _refused_for_csrf(r), f"{method} {path} refused with the right token"
        assert r.status_code < 500, f"{method} {path}: {r.status_code}"
    assert len(walked) >= 10


def test_exempt_routes_change_nothing_for_a_cross_site_form(signed_in: tuple[Client, str]) -> None:
    client, _ = signed_in
    paths = {p for _, p in _unsafe_routes(client.app)}
    for path in EXEMPT:
        if path not in paths:
            continue
        # What a forged HTML form can send: urlencoded or text/plain, never application/json.
        url = _fill(path.replace("{service_id}", "telespine-back-pain"))
        r = client.post(url, content=b"age_years=30", headers={"content-type": "text/plain"})
        expected = (401,) if path.startswith("/cds-services") else (400, 415, 422)
        assert r.status_code in expected, (path, r.status_code)
