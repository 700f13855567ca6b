"""How the app takes the routes of its modules (web/app.py, web/cds.py, web/visits.py)."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute, APIWebSocketRoute


def add_routes(app: FastAPI, router: APIRouter) -> None:
    """Put a module's routes on the app as they are, in order.

    FastAPI builds a route's dependant (its parameters, models and dependencies) when the route is
    declared, at import. `app.include_router` instead wraps the router and builds every route again
    for each app on its first request (FastAPI 0.165: about 150 ms an app, on every worker's first
    request, and 18% of the web tests' time, which make an app per test). The module routers set
    their prefix, tags and responses on each route already and include no other router, so the
    same route objects serve every app. `app.dependency_overrides` does not reach them: the app's
    clock is `app.state.clock` (web/pages/checkin.py `current_time`).
    """
    events = getattr(router, "on_startup", []) or getattr(router, "on_shutdown", [])
    if events or any(not isinstance(r, APIRoute | APIWebSocketRoute) for r in router.routes):
        raise TypeError("add_routes takes a router of plain routes only (no events, no included routers)")
    if type(router.lifespan_context) is not type(APIRouter().lifespan_context):
        raise TypeError("add_routes takes a router without a lifespan of its own")
    app.router.routes.extend(router.routes)
    changed = getattr(app.router, "_mark_routes_changed", None)  # FastAPI's caches of the route table
    if changed is not None:
        changed()
