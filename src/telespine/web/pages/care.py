"""HTML pages for the clinician workspace and follow-up (issue 6)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
