"""A case whose stored time zone this machine does not know (a renamed zone, an old row) still
runs its follow-up rules, counting days in UTC: a red-flag message re-triages it to emergency
instead of failing ("could not run") on every write. SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import select, update

from telespine.services import followup
from telespine.store import cases, repo, repo_care
from telespine.store.db import make_engine, make_sessionmaker, session_scope
from telespine.store.models import User
from telespine.store.models_care import CareCase

RED_FLAG = "Since this morning I wet myself and I can't feel my groin."


def test_an_unknown_stored_zone_never_stops_the_rules(seeded_url: str) -> None:
    engine = make_engine(seeded_url)
    try:
        with session_scope(make_sessionmaker(engine)) as db:
            user = db.scalar(select(User).where(User.username == "bob"))
            assert user is not None
            assessment = repo.assessments_for_profiles(db, [repo.ensure_self_profile(db, user).id])[0]
            case = repo_care.case_for_assessment(db, assessment.id)
            assert case is not None
            db.execute(update(CareCase).where(CareCase.id == case.id).values(timezone="Mars/Olympus_Mons"))
            db.flush()
            db.refresh(case)
            assert cases.case_state(case).timezone == "UTC"
            out = followup.post_message(db, case, user, RED_FLAG, emergency_number="911")
            assert out.shown == "emergency" and "care.text_red_flag" in out.escalations
            db.refresh(case)
            assert case.raised_reason is not None and "could not run" not in case.raised_reason
    finally:
        engine.dispose()
