"""web.routing.add_routes: every app serves the same route objects, built once at import, and a
router it cannot take whole is refused rather than half taken."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute

from telespine.web.routing import add_routes


def test_two_apps_share_the_route_objects_and_keep_their_order() -> None:
    router = APIRouter(prefix="/api/v1", tags=["x"])

    @router.get("/one")
    def one() -> dict[str, int]:
        return {"n": 1}

    @router.get("/two")
    def two() -> dict[str, int]:
        return {"n": 2}

    first, second = FastAPI(), FastAPI()
    add_routes(first, router)
    add_routes(second, router)
    mine = [r for r in first.router.routes if isinstance(r, APIRoute)]
    assert [r.path for r in mine] == ["/api/v1/one", "/api/v1/two"]  # the prefix is on the route
    assert mine == [r for r in second.router.routes if isinstance(r, APIRoute)]
    assert all(r.tags == ["x"] for r in mine)


def test_a_router_that_includes_another_is_refused() -> None:
    inner, outer = APIRouter(), APIRouter()

    @inner.get("/inner")
    def inner_route() -> None:
        return None

    outer.include_router(inner)
    with pytest.raises(TypeError, match="plain routes only"):
        add_routes(FastAPI(), outer)


def test_the_app_serves_the_page_modules_route_objects(tmp_path: Path) -> None:
    from telespine.web.app import create_app
    from telespine.web.pages.routes import router as pages
    from telespine.web.testing import make_test_settings

    app = create_app(make_test_settings(f"sqlite:///{tmp_path / 'app.db'}"))
    assert all(route in app.router.routes for route in pages.routes)
