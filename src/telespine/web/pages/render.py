"""What every HTML page module shares: rendering a template with the signed-in user and the CSRF
token, the redirect after a POST, and the deployment's emergency number for texts from the data."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from telespine.web.sessions import WebSession


def render(
    request: Request,
    ws: WebSession,
    name: str,
    ctx: dict[str, Any],
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    templates: Jinja2Templates = request.app.state.templates
    base = {"user": ws.user, "csrf_token": ws.csrf_token}
    return templates.TemplateResponse(request, name, {**base, **ctx}, status_code=status, headers=headers)


def redirect(url: str) -> RedirectResponse:
    """303 See Other: the browser follows with a GET (post/redirect/get)."""
    return RedirectResponse(url, status_code=303)


def emergency_number(request: Request) -> str:
    """The deployment's emergency number (TELESPINE_EMERGENCY_NUMBER) for texts from the data."""
    return str(request.app.state.settings.emergency_number)
