"""services.accounts: a password change and a sign-out everywhere are one write each, with their
audit row, for the page and the API alike; a refused change writes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from telespine.services import accounts
from telespine.store import repo
from telespine.store.accounts import PasswordRejected, verify_password
from telespine.store.db import make_engine, make_sessionmaker
from telespine.store.models import AuditEvent, User, UserSession

OLD, NEW = "an old long passphrase 1", "a brand new passphrase 2"


def _audits(db: object, action: str) -> int:
    return int(db.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action)))  # type: ignore[attr-defined]


def test_change_and_sign_out_write_once_with_their_audit(clean_db: str) -> None:
    engine = make_engine(clean_db)
    try:
        with make_sessionmaker(engine)() as db:
            user = repo.create_user(db, username="pat", password=OLD, role="patient")
            db.commit()
            with pytest.raises(accounts.WrongPassword):
                accounts.change_password(db, user, "not it at all", NEW, "pair:pat")
            with pytest.raises(PasswordRejected):
                accounts.change_password(db, user, OLD, "short", "pair:pat")
            db.rollback()
            assert _audits(db, "update") == 0 and verify_password(user.password_hash, OLD)
            accounts.change_password(db, user, OLD, NEW, "pair:pat")
        with make_sessionmaker(engine)() as db:
            stored = db.scalar(select(User).where(User.username == "pat"))
            assert stored is not None and verify_password(stored.password_hash, NEW)
            assert _audits(db, "update") == 1  # committed by the service
            db.add(UserSession(user_id=stored.id, token_hash="x" * 64))
            db.commit()
            accounts.sign_out_everywhere(db, stored)
        with make_sessionmaker(engine)() as db:
            assert db.scalar(select(func.count()).select_from(UserSession)) == 0
            assert _audits(db, "logout") == 1
    finally:
        engine.dispose()


def test_a_child_profile_is_made_once_and_always_audited(clean_db: str) -> None:
    from telespine.services import profiles

    engine = make_engine(clean_db)
    try:
        with make_sessionmaker(engine)() as db:
            parent = repo.create_user(db, username="mum", password=OLD, role="parent")
            first = profiles.child_profile(db, parent)
            assert profiles.child_profile(db, parent).id == first.id  # the same child next time
            named = profiles.add_child(db, parent, "  ")
            assert first.is_child and named.display_name == profiles.UNNAMED_CHILD
            rows = db.scalars(select(AuditEvent).where(AuditEvent.object_type == "profile")).all()
            assert sorted(r.object_id or "" for r in rows) == sorted([first.id, named.id])
    finally:
        engine.dispose()
