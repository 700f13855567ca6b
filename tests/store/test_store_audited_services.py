"""The audit rows the web used to write itself now come from the services (issue 15): the same
action, object type, object id, profile and detail strings, committed by the service."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from telespine.services import accounts, denials, reads
from telespine.services import visits as visit_service
from telespine.store import repo
from telespine.store.db import make_engine, make_sessionmaker
from telespine.store.models import AuditEvent
from telespine.store.models_visits import VisitPhone

PASSWORD = "a long enough passphrase 1"


def _rows(db: Session) -> list[tuple[str | None, str, str, str | None, str | None, str | None]]:
    events = db.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    return [(e.actor_username, e.action, e.object_type, e.object_id, e.profile_id, e.detail) for e in events]


def test_the_services_write_the_rows_the_routes_wrote(clean_db: str) -> None:
    engine = make_engine(clean_db)
    try:
        with make_sessionmaker(engine)() as db:
            pat = repo.create_user(db, username="pat", password=PASSWORD, role="patient", with_profile=False)
            db.commit()
            pat_id = pat.id
            reads.record_list(db, pat, "case", 3)
            reads.record_list(db, pat, "case", 2, live=True)
            reads.search_audit_log(db, pat, action="nothing such")
            accounts.signed_in(db, pat, "totp:x", "totp")
            accounts.signed_in(db, pat, "totp:x", "recovery")
            accounts.two_factor_confirmed(db, pat, "totp:x")
            accounts.update_contact(db, pat, "pat@example.org", True)
            visit_service.record_join(db, pat, "b1", None, False)
            visit_service.save_call_me_phone(db, pat_id, "+64 21 000", "b1")
            visit_service.save_call_me_phone(db, pat_id, "+64 21 111", "b1")
            denials.record_denial(db, pat_id, "case", "c9", "404 GET /care/cases/{case_id}")
        with make_sessionmaker(engine)() as db:  # everything above was committed
            assert _rows(db) == [
                ("pat", "list", "case", None, None, "3 items"),
                ("pat", "list", "case", None, None, "2 items, live"),
                ("pat", "search", "audit_log", None, None, None),
                ("pat", "login", "account", pat_id, None, "two-factor"),
                ("pat", "login", "account", pat_id, None, "two-factor, recovery code"),
                ("pat", "update", "two_factor", pat_id, None, None),
                ("pat", "update", "contact", pat_id, None, None),
                ("pat", "join_refused", "visit", "b1", None, None),
                ("pat", "call_me", "visit", "b1", None, None),
                ("pat", "call_me", "visit", "b1", None, None),
                ("pat", "denied", "case", "c9", None, "404 GET /care/cases/{case_id}"),
            ]
            phone = db.get(VisitPhone, pat_id)
            assert phone is not None and phone.phone == "+64 21 111"
    finally:
        engine.dispose()
