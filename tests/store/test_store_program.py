"""Score records and plan answers: stored append-only with their time, listed over time per profile."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import inspect

from telespine.instruments import compare, score
from telespine.store import repo, repo_program
from telespine.store.db import make_engine, make_sessionmaker
from telespine.store.models import AppendOnlyError
from telespine.store.models_program import ScoreRow
from telespine.triage import triage

T0 = datetime(2026, 5, 4, 9, 30, tzinfo=UTC)


def test_program_tables_exist(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {"score_records", "plan_answers"} <= tables


def test_scores_are_listed_over_time_and_append_only(clean_db: str) -> None:
    engine = make_engine(clean_db)
    try:
        with make_sessionmaker(engine)() as db:
            clinic = repo.create_clinic(db, "C")
            user = repo.create_user(db, username="pat", password="x" * 12, role="patient", clinic=clinic)
            other = repo.create_user(db, username="sam", password="y" * 12, role="patient", clinic=clinic)
            profile = repo.ensure_self_profile(db, user)
            findings = {"age_years": 40}
            assessment = repo.save_assessment(
                db, profile=profile, by=user, findings=findings, result=triage(findings)
            )
            later = score("peg", {"pain": 3, "enjoyment": 2, "activity": 2}, T0 + timedelta(days=42))
            first = score("peg", {"pain": 7, "enjoyment": 6, "activity": 8}, T0)
            sb = score(
                "startback",
                {
                    "q1_leg_pain": "agree",
                    "q2_neck_shoulder": "agree",
                    "q3_walking": "agree",
                    "q4_dressing": "agree",
                    "q5_activity_safe": "agree",
                    "q6_worry": "agree",
                    "q7_catastrophising": "agree",
                    "q8_enjoyment": "agree",
                    "q9_bothersome": "extremely",
                },
                T0,
            )
            # Stored out of order on purpose: the listing sorts by the time taken.
            repo_program.add_scores(db, profile=profile, by=user, records=[later, sb], assessment=assessment)
            repo_program.add_scores(db, profile=profile, by=user, records=[first])
            other_profile = repo.ensure_self_profile(db, other)
            repo_program.add_scores(db, profile=other_profile, by=other, records=[first])
            repo_program.add_plan_answers(db, assessment=assessment, by=user, answers={"medicines": {}})
            repo_program.add_plan_answers(
                db, assessment=assessment, by=user, answers={"medicines": {"kidney_disease": "yes"}}
            )
            db.commit()

            peg = repo_program.score_records(db, profile.id, "peg")
            assert [r.taken_at for r in peg] == [T0, T0 + timedelta(days=42)]
            assert all(r.taken_at.tzinfo is not None for r in peg)
            assert len(repo_program.score_records(db, profile.id)) == 3
            assert len(repo_program.score_records(db, profile.id, since=T0 + timedelta(days=1))) == 1
            high = repo_program.score_records(db, profile.id, "startback")[0]
            assert (high.category, high.scores["psychosocial"]) == ("high", 5.0)
            back = [repo_program.as_score_record(r) for r in peg]
            assert back[0] == first
            assert back[0].category_label is None
            assert compare(back[0], back[1]).delta < 0  # the repeated score can be compared
            assert repo_program.as_score_record(high).category_label == "High risk"
            assert [r.id for r in repo_program.score_rows_for_assessment(db, assessment.id)] != []
            latest = repo_program.latest_plan_answers(db, assessment.id)
            assert latest is not None and latest.answers["medicines"] == {"kidney_disease": "yes"}

            row = db.get(ScoreRow, peg[0].id)
            assert row is not None
            row.category = "changed"
            with pytest.raises(AppendOnlyError):
                db.flush()
            db.rollback()
            row = db.get(ScoreRow, peg[0].id)
            db.delete(row)
            with pytest.raises(AppendOnlyError):
                db.flush()
            db.rollback()
    finally:
        engine.dispose()
