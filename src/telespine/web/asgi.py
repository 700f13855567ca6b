"""The ASGI entry point for uvicorn: `telespine.web.asgi:app`, configured from the environment."""

from __future__ import annotations

from telespine.web.app import create_app

app = create_app()
