"""Pages of tele-visit scheduling: clinicians' hours, free slots, booking, reschedule, cancel."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
