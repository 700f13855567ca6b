"""Migration 0005 gives every assessment saved before it its care case; saving makes one since."""

from __future__ import annotations

from sqlalchemy import delete, func, select

from telespine.store import repo
from telespine.store.db import downgrade, make_engine, make_sessionmaker, upgrade
from telespine.store.models import Assessment, Clinic
from telespine.store.models_care import CareCase
from telespine.triage.types import Disposition, RulesetRef, TriageResult

RESULT = TriageResult(
    disposition=Disposition.TELEMEDICINE,
    audience=None,
    rules=[],
    unresolved=[],
    ruleset=RulesetRef(version="test", sha256="0" * 64),
    safety_net=False,
)


def test_old_assessments_get_their_case(clean_db: str) -> None:
    engine = make_engine(clean_db)
    try:
        with make_sessionmaker(engine)() as db:
            clinic = Clinic(name="Clinic")
            db.add(clinic)
            db.flush()
            user = repo.create_user(
                db, username="olduser", password="walking helps my back", role="patient", clinic=clinic
            )
            profile = repo.profiles_of(db, user)[0]
            ids = [
                repo.save_assessment(
                    db, profile=profile, by=user, findings={"age_years": 30}, result=RESULT
                ).id
                for _ in range(2)
            ]
            assert db.scalar(select(func.count()).select_from(CareCase)) == 2  # made on save
            db.execute(delete(CareCase))  # as before 0005: assessments without a case
            db.commit()
        downgrade(clean_db, "0004")
        upgrade(clean_db, "head")
        with make_sessionmaker(engine)() as db:
            cases = db.scalars(select(CareCase)).all()
            assert sorted(c.assessment_id for c in cases) == sorted(ids)
            for case in cases:
                assessment = db.get(Assessment, case.assessment_id)
                assert assessment is not None
                assert case.profile_id == assessment.profile_id and case.clinic_id == clinic.id
                assert case.status == "open" and case.treatment_started_on == assessment.created_at.date()
        upgrade(clean_db, "head")  # nothing left to backfill: no duplicates
        with make_sessionmaker(engine)() as db:
            assert db.scalar(select(func.count()).select_from(CareCase)) == 2
    finally:
        engine.dispose()
