"""Child profiles of a parent account: one way to make one, always with its audit row."""

from __future__ import annotations

from sqlalchemy.orm import Session

from telespine.store import repo
from telespine.store.models import Profile, User

UNNAMED_CHILD = "My child"


def add_child(db: Session, parent: User, name: str) -> Profile:
    """A new child profile of the parent, with its audit row; written in the caller's
    transaction (the caller commits with the rest of its write)."""
    child = repo.add_child(db, parent, name.strip() or UNNAMED_CHILD)
    repo.audit(
        db, actor=parent, action="create", object_type="profile", object_id=child.id, profile_id=child.id
    )
    return child


def child_profile(db: Session, parent: User) -> Profile:
    """Where a record about "my child" goes: the parent's first child profile, or a new one."""
    children = [p for p in repo.profiles_of(db, parent) if p.is_child]
    return children[0] if children else add_child(db, parent, UNNAMED_CHILD)
