"""The exercise pictures (issue 14): the SVG line drawings of program/pictures, served for the
program page's <img> tags (each with the picture's own text alternative as alt). Only the
pictures the exercise library names are served; each is checked by exercises.load_picture."""

from __future__ import annotations

from functools import cache

from fastapi import APIRouter, HTTPException
from fastapi.responses import Response

from telespine.program.exercises import load_library, load_picture

router = APIRouter(include_in_schema=False)


@cache
def _names() -> frozenset[str]:
    return frozenset(e.picture for e in load_library().exercises)


@router.get("/program/pictures/{name}")
def exercise_picture(name: str) -> Response:
    if name not in _names():
        raise HTTPException(status_code=404, detail="Not found.")
    return Response(
        load_picture(name),
        media_type="image/svg+xml",
        headers={"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"},
    )
