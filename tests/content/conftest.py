"""Fixtures for the content tests: a copy of the guides folder and a CLI app with `guide`."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import typer

from telespine.commands.guide import register
from telespine.content.loader import GUIDES_DIR


@pytest.fixture
def guides_copy(tmp_path: Path) -> Path:
    """A writable copy of the shipped guides folder."""
    target = tmp_path / "guides"
    shutil.copytree(GUIDES_DIR, target)
    return target


@pytest.fixture
def guide_app() -> typer.Typer:
    """A Typer app with only the guide command (a callback keeps it a command group)."""
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """Test root."""

    register(app)
    return app
