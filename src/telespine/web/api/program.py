"""JSON API (/api/v1) for questionnaires, the self-care program and the written plan (issue 5)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1")
