"""JSON API (/api/v1) for the clinician workspace and follow-up (issue 6)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1")
