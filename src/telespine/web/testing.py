"""Helpers for tests of the web app (used by telespine's own suite and by deployments' tests)."""

from __future__ import annotations

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
