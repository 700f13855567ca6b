"""Tables of the clinician workspace: cases, tele-visits, notes, messages, diary, escalations, reminders.

Owned by the care part (issue 6); schema changes in migration 0003_care.
"""

from __future__ import annotations

from telespine.store.models import Base

__all__ = ["Base"]
