"""The serve, db and demo commands."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from telespine.cli import app
from telespine.settings import get_settings
from telespine.store.db import head_revision


@pytest.fixture(autouse=True)
def _fresh_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("TELESPINE_SECRET_KEY", raising=False)
    monkeypatch.setenv("TELESPINE_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_serve_refuses_the_placeholder_secret_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELESPINE_ENV", "production")
    result = CliRunner().invoke(app, ["serve"])
    assert result.exit_code == 2
    assert "TELESPINE_SECRET_KEY" in result.output


def test_db_upgrade_and_demo_on_a_fresh_data_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TELESPINE_ENV", "development")
    runner = CliRunner()
    up = runner.invoke(app, ["db", "upgrade"])
    assert up.exit_code == 0, up.output
    assert head_revision() in up.output and (tmp_path / "data" / "telespine.sqlite3").exists()
    demo = runner.invoke(app, ["demo"])
    assert demo.exit_code == 0, demo.output
    assert "just created" in demo.output and "dr_erin" in demo.output
    again = runner.invoke(app, ["demo"])
    assert "just created" not in again.output  # demo data is added once
    current = runner.invoke(app, ["db", "current"])
    assert head_revision() in current.output


def _no_server(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, object]]:
    import uvicorn

    calls: list[dict[str, object]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: calls.append(kwargs))
    return calls


@pytest.mark.parametrize(
    ("host", "shown"),
    [
        ("127.0.0.1", "http://127.0.0.1:8123/"),
        ("::1", "http://[::1]:8123/"),
        ("0.0.0.0", "http://0.0.0.0:8123/"),
    ],
)
def test_serve_prints_the_address_it_binds(monkeypatch: pytest.MonkeyPatch, host: str, shown: str) -> None:
    monkeypatch.setenv("TELESPINE_ENV", "development")
    monkeypatch.setenv("TELESPINE_DEMO_DATA", "false")
    calls = _no_server(monkeypatch)
    result = CliRunner().invoke(app, ["serve", "--host", host, "--port", "8123"])
    assert result.exit_code == 0, result.output
    assert shown in result.output and "localhost" not in result.output
    assert calls and calls[0]["host"] == host and calls[0]["port"] == 8123


@pytest.mark.parametrize(
    "url",
    [
        "mysql://app:hunter2-pw@db.example/tele",
        "postgresql://app:hunter2-pw@127.0.0.1:1/tele",
        "nosuchdb://app:hunter2-pw@x/y",
        "this is not a url",
    ],
)
@pytest.mark.parametrize("command", [["serve"], ["db", "upgrade"], ["demo"]])
def test_a_bad_database_url_is_one_line_and_exit_1(
    monkeypatch: pytest.MonkeyPatch, url: str, command: list[str]
) -> None:
    monkeypatch.setenv("TELESPINE_ENV", "development")
    monkeypatch.setenv("DATABASE_URL", url)
    calls = _no_server(monkeypatch)
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Database error:"), result.output
    assert "Traceback" not in result.output and "hunter2" not in result.output
    assert calls == []


def test_serve_refuses_a_placeholder_looking_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELESPINE_ENV", "production")
    monkeypatch.setenv("TELESPINE_SECRET_KEY", "change-me-change-me-change-me-change-me-change-me")
    result = CliRunner().invoke(app, ["serve"])
    assert result.exit_code == 2 and "placeholder" in result.output
