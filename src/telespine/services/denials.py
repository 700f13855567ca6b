"""Denied access attempts in the audit log (issue 13): who (a signed-in caller) got a 403 or 404 on
which object route; the web (`telespine.web.denials`) finds the route template and the object id."""

from __future__ import annotations

from sqlalchemy.orm import Session

from telespine.store import repo
from telespine.store.models import User


def record_denial(db: Session, user_id: str, object_type: str, object_id: str | None, detail: str) -> None:
    """One "denied" audit row for the account `user_id` (ids, the status, method and route
    template in `detail`; never anything else); committed."""
    actor = db.get(User, user_id)
    repo.audit(
        db,
        actor=actor,
        action="denied",
        object_type=object_type,
        object_id=object_id,
        detail=detail,
    )
    db.commit()
