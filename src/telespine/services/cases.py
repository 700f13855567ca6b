"""A clinician's work on a case that a page and the API share: claiming it, acknowledging what
raised it, closing it; each with its audit row, committed. Callers authorize (policy.ClinicianCase)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from telespine.store import cases, repo
from telespine.store.models import User
from telespine.store.models_care import CareCase


def _audit(db: Session, clinician: User, action: str, case: CareCase) -> None:
    repo.audit(
        db, actor=clinician, action=action, object_type="case", object_id=case.id, profile_id=case.profile_id
    )


def claim(db: Session, case: CareCase, clinician: User) -> bool:
    """Claim the case; False when another clinician has it (the attempt is audited either way)."""
    won = cases.claim_case(db, case, clinician)
    _audit(db, clinician, "claim", case)
    db.commit()
    return won


def acknowledge(db: Session, case: CareCase, clinician: User) -> None:
    """The clinician has seen what raised the case: every report stored until now is handled."""
    cases.acknowledge(db, case)
    _audit(db, clinician, "acknowledge", case)
    db.commit()


def close(db: Session, case: CareCase, clinician: User) -> None:
    cases.close_case(db, case)
    _audit(db, clinician, "close", case)
    db.commit()
