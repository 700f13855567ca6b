"""Tables of the self-care program: questionnaire score records and the answers a plan is made from.

Owned by the program part (issue 5); schema changes in migration 0002_program.
"""

from __future__ import annotations

from telespine.store.models import Base

__all__ = ["Base"]
