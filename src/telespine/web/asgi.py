"""The ASGI entry point for uvicorn: `telespine.web.asgi:app`, configured from the environment."""

from __future__ import annotations

from telespine.web.app import create_app

app = create_app(warm_up=True)  # /readyz answers 503 until the screening pipeline is loaded
