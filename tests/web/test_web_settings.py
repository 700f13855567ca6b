"""Settings fail fast: no placeholder secret outside development; DATABASE_URL is honoured."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from telespine.settings import Settings

GOOD_SECRET = "q7V2-mR9xLp4_Zt8sKw3NbY6hJc1FdGe5TuA0oXi"


@pytest.mark.parametrize("env", ["production", "test"])
@pytest.mark.parametrize(
    "secret",
    [
        "change-me",
        "secret",
        "",
        "short-but-random-x1",
        "change-me-change-me-change-me-change-me",
        "CHANGE_ME_please_to_a_long_random_value_0123",
        "replace-with-your-own-long-random-value-here",
        "this-is-a-placeholder-for-the-real-key-12345",
        "k" * 48,
        "abcdabcdabcdabcdabcdabcdabcdabcdabcd",
    ],
)
def test_placeholder_or_short_secret_refused_outside_development(
    monkeypatch: pytest.MonkeyPatch, env: str, secret: str
) -> None:
    monkeypatch.setenv("TELESPINE_ENV", env)
    monkeypatch.setenv("TELESPINE_SECRET_KEY", secret)
    with pytest.raises(ValidationError, match="TELESPINE_SECRET_KEY"):
        Settings()


def test_development_runs_with_the_default_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TELESPINE_SECRET_KEY", raising=False)
    monkeypatch.setenv("TELESPINE_ENV", "development")
    settings = Settings()
    assert settings.is_development and not settings.cookie_secure
    assert settings.load_demo_data


def test_production_with_a_real_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELESPINE_ENV", "production")
    monkeypatch.setenv("TELESPINE_SECRET_KEY", GOOD_SECRET)
    monkeypatch.setenv("TELESPINE_EMERGENCY_NUMBER", "112")
    settings = Settings()
    assert settings.cookie_secure and not settings.load_demo_data
    assert settings.emergency_number == "112"


def test_bad_values_fail_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELESPINE_ENV", "staging")
    with pytest.raises(ValidationError):
        Settings()
    monkeypatch.setenv("TELESPINE_ENV", "development")
    monkeypatch.setenv("TELESPINE_PORT", "not-a-port")
    with pytest.raises(ValidationError):
        Settings()


def test_database_url(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TELESPINE_ENV", "development")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("TELESPINE_DATA_DIR", str(tmp_path))
    assert Settings().sqlalchemy_url == f"sqlite:///{tmp_path.resolve() / 'telespine.sqlite3'}"
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@db:5432/tele")
    assert Settings().sqlalchemy_url == "postgresql+psycopg://u:p@db:5432/tele"
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://u@db/tele")
    assert Settings().sqlalchemy_url == "postgresql+psycopg://u@db/tele"
