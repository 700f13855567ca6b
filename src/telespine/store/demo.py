"""Demo data: two clinics, named users with fixed development passwords, a parent with a child.

The data only; telespine.services.demo writes it (through the services, like real data).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from telespine.store.models import User
from telespine.triage.types import TriageResult


@dataclass(frozen=True)
class DemoUser:
    username: str
    password: str
    role: str
    display_name: str
    clinic: str | None  # "A", "B" or None


# Development-only passwords: printed at start, never used outside TELESPINE_ENV=development
# unless the operator asks for demo data explicitly.
DEMO_USERS = [
    DemoUser("alice", "alice-demo-back-2026", "patient", "Alice Archer", "A"),
    DemoUser("bob", "bob-demo-back-2026", "patient", "Bob Baker", "A"),
    DemoUser("carol", "carol-demo-back-2026", "parent", "Carol Carter", "A"),
    DemoUser("dr_dave", "dave-demo-clinic-2026", "clinician", "Dr Dave Dalton", "A"),
    DemoUser("dr_erin", "erin-demo-clinic-2026", "clinician", "Dr Erin Ellis", "B"),
    DemoUser("admin", "admin-demo-audit-2026", "admin", "Ada Admin", None),
]
CLINIC_NAMES = {"A": "Riverside Back Clinic (demo)", "B": "Hillview Family Practice (demo)"}
CHILD_NAME = "Sam Carter"

# Example findings for the demo assessments (what a person might have answered).
DEMO_FINDINGS: dict[str, dict[str, Any]] = {
    "alice": {
        "age_years": 34,
        "location": "low_back",
        "onset": "gradual",
        "duration_days": 10,
        "pain_score": 5,
    },
    "bob": {
        "age_years": 58,
        "location": "low_back",
        "onset": "gradual",
        "duration_days": 3,
        "pain_score": 6,
        "fever": True,
    },
    "carol-child": {
        "age_years": 12,
        "location": "low_back",
        "onset": "gradual",
        "duration_days": 5,
        "pain_score": 3,
    },
}

Triage = Callable[[dict[str, Any]], TriageResult]


def has_demo_data(db: Session) -> bool:
    return db.scalar(select(User.id).where(User.username == "alice")) is not None


def demo_password(username: str) -> str:
    """The development password of a demo user (KeyError for other names)."""
    for d in DEMO_USERS:
        if d.username == username:
            return d.password
    raise KeyError(username)
