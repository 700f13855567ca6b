"""Denied access attempts in the audit log (issue 13): a signed-in caller who gets 403 or 404 on
an object route is recorded with the route template and the object id, never anything else."""

from __future__ import annotations

import logging

import anyio
from fastapi import Request
from sqlalchemy import inspect

from telespine.services import denials
from telespine.store.models import User

log = logging.getLogger("telespine.web")


def _target(request: Request) -> tuple[str, str | None, str] | None:
    route = request.scope.get("route")
    template = getattr(route, "path", None)
    params = request.scope.get("path_params") or {}
    if not isinstance(template, str) or not params:
        return None  # not an object route (or no route at all)
    name, value = next(iter(params.items()))
    kind = str(name).removesuffix("_id")[:32] or "object"
    return kind, str(value)[:64], template[:200]


async def record_denial(request: Request, status: int) -> None:
    """Audit a 403/404 on an object route for a signed-in caller (best effort, never raises)."""
    try:
        ws = getattr(request.state, "web_session", None)
        user: User | None = getattr(ws, "user", None)
        target = _target(request)
        if user is None or target is None:
            return
        # The request's database session is closed by now: read the id from the identity map
        # key, which needs no database (the object is detached and expired).
        identity = inspect(user).identity
        if not identity:
            return
        user_id = str(identity[0])
        kind, object_id, template = target
        factory = request.app.state.sessionmaker
    except Exception as exc:
        log.error("denied access not audited: %s", type(exc).__name__)
        return

    def write() -> None:
        with factory() as db:
            denials.record_denial(db, user_id, kind, object_id, f"{status} {request.method} {template}")

    try:
        await anyio.to_thread.run_sync(write)
    except Exception as exc:  # the denial itself must still be answered
        log.error("denied access not audited: %s", type(exc).__name__)
