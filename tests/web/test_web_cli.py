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
