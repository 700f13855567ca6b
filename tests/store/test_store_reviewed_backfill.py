"""Migration 0017 turns an old review date into a review instant on the safe side: the last
instant that is still that day in every time zone, so no report counts as reviewed that the old
day rule did not skip, and a missed day filled in after the review escalates."""

from __future__ import annotations

import datetime as dt

from telespine.store import repo, repo_care
from telespine.store.db import downgrade, make_engine, make_sessionmaker, upgrade
from telespine.store.models_care import CareCase
from telespine.triage import triage

CALM = {"age_years": 40, "location": "low_back", "onset": "gradual", "duration_days": 5, "pain_score": 4}


def test_an_old_review_date_becomes_the_safe_instant(clean_db: str) -> None:
    engine = make_engine(clean_db)
    try:
        with make_sessionmaker(engine)() as db:
            clinic = repo.create_clinic(db, "c")
            user = repo.create_user(db, username="pat", password="x" * 12, role="patient", clinic=clinic)
            profile = repo.ensure_self_profile(db, user)
            a = repo.save_assessment(db, profile=profile, by=user, findings=CALM, result=triage(CALM))
            case = repo_care.ensure_case(db, a)
            case.red_flags_reviewed_through = dt.date(2026, 12, 1)
            other = repo_care.ensure_case(
                db, repo.save_assessment(db, profile=profile, by=user, findings=CALM, result=triage(CALM))
            )
            db.commit()
            ids = case.id, other.id
        downgrade(clean_db, "0016")
        upgrade(clean_db, "head")
        with make_sessionmaker(engine)() as db:
            reviewed, never = (db.get(CareCase, i) for i in ids)
            assert reviewed is not None and never is not None
            # 2 Dec begins at 10:00 UTC on 1 Dec in UTC+14, the earliest zone
            last = dt.datetime(2026, 12, 1, 9, 59, 59, 999999, tzinfo=dt.UTC)
            assert reviewed.red_flags_reviewed_at == last
            assert never.red_flags_reviewed_at is None
    finally:
        engine.dispose()
