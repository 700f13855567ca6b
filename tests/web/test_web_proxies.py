"""Proxy headers only from TELESPINE_TRUSTED_PROXIES (issue 13): by default a forged
X-Forwarded-For is ignored, so rotating it does not get around the per-address login limit."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from telespine.cli import app
from telespine.settings import Settings, get_settings
from telespine.store import repo
from telespine.store.db import make_engine, make_sessionmaker
from telespine.store.models import LoginAttempt


@pytest.fixture
def _fresh_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("TELESPINE_TRUSTED_PROXIES", raising=False)
    monkeypatch.setenv("TELESPINE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TELESPINE_ENV", "development")
    monkeypatch.setenv("TELESPINE_DEMO_DATA", "false")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _serve_kwargs(monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    import uvicorn

    calls: list[dict[str, object]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: calls.append(kwargs))
    result = CliRunner().invoke(app, ["serve", "--port", "8124"])
    assert result.exit_code == 0, result.output
    return calls[0]


@pytest.mark.usefixtures("_fresh_settings")
def test_serve_trusts_no_proxy_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    kwargs = _serve_kwargs(monkeypatch)
    assert kwargs["proxy_headers"] is False and kwargs["forwarded_allow_ips"] == ""
    assert kwargs["access_log"] is False  # uvicorn's own access line writes query strings


@pytest.mark.usefixtures("_fresh_settings")
def test_serve_trusts_the_configured_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELESPINE_TRUSTED_PROXIES", "10.0.0.5, 192.168.8.0/24")
    kwargs = _serve_kwargs(monkeypatch)
    assert kwargs["proxy_headers"] is True and kwargs["forwarded_allow_ips"] == "10.0.0.5,192.168.8.0/24"


def test_trusted_proxies_must_be_addresses() -> None:
    with pytest.raises(ValueError, match="TRUSTED_PROXIES"):
        Settings(trusted_proxies="proxy.example")  # type: ignore[arg-type]
    assert Settings(trusted_proxies="").trusted_proxies == ()  # type: ignore[arg-type]


def _login_ips(url: str) -> list[str]:
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as db:
            return list(db.scalars(select(LoginAttempt.ip)).all())
    finally:
        engine.dispose()


@pytest.mark.slow
@pytest.mark.parametrize("trusted", ["", "127.0.0.1"])
def test_forged_forwarded_for_is_ignored_unless_from_a_trusted_proxy(
    clean_db: str, tmp_path: Path, trusted: str
) -> None:
    from telespine.web.testing_server import serve

    engine = make_engine(clean_db)
    with make_sessionmaker(engine)() as db:
        repo.create_user(db, username="dana", password="dana has a long password", role="patient")
        db.commit()
    engine.dispose()
    env = {"TELESPINE_TRUSTED_PROXIES": trusted, "TELESPINE_LOGIN_MAX_FAILURES_PER_ACCOUNT": "3"}
    with (
        serve(clean_db, tmp_path / "server.log", env=env) as served,
        httpx.Client(base_url=served.url) as client,
    ):
        codes = [
            client.post(
                "/api/v1/auth/login",
                json={"username": "dana", "password": f"wrong password {i}"},
                headers={"X-Forwarded-For": f"203.0.113.{i}"},
            ).status_code
            for i in range(6)
        ]
    ips = _login_ips(clean_db)
    if trusted:
        assert codes == [401] * 6 and sorted(ips) == sorted(f"203.0.113.{i}" for i in range(6))
    else:
        assert codes == [401, 401, 401, 429, 429, 429] and set(ips) == {"127.0.0.1"}
