"""Helpers for tests of the web app (used by telespine's own suite and by deployments' tests)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from telespine.settings import Settings

TEST_SECRET = "test-secret-key-that-is-long-enough-for-telespine-0123456789"  # noqa: S105 -- tests only


def make_test_settings(url: str, **overrides: Any) -> Settings:
    """Settings for an app under test: test mode, a real-looking secret, the given database."""
    values: dict[str, Any] = {"env": "test", "secret_key": TEST_SECRET, "database_url": url}
    values.update(overrides)
    return Settings(**values)


def csrf_from(html: str) -> str:
    """The CSRF token in a rendered form."""
    marker = 'name="csrf_token" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


def login(make_client: Callable[[str], Any], url: str, name: str) -> Any:
    """A client signed in on the pages (session cookie) as the named demo user."""
    from telespine.store.demo import demo_password

    client = make_client(url)
    token = csrf_from(client.get("/login").text)
    r = client.post("/login", data={"username": name, "password": demo_password(name), "csrf_token": token})
    assert r.status_code == 200, r.text[:300]
    return client


def bearer(make_client: Callable[[str], Any], url: str, name: str) -> Any:
    """A client signed in on the API (bearer token) as the named demo user."""
    from telespine.store.demo import demo_password

    client = make_client(url)
    r = client.post("/api/v1/auth/login", json={"username": name, "password": demo_password(name)})
    client.headers["Authorization"] = f"Bearer {r.json()['token']}"
    return client
