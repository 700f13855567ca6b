"""Repository of the program part: score records over time and the answers a plan is made from.

Append-only: a repeated questionnaire is a new record. Callers authorize (telespine.web.policy)
and audit (telespine.store.repo.audit); these functions only read and write rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from telespine.instruments import ScoreRecord
from telespine.store.models import Assessment, Profile, User
from telespine.store.models_program import PlanAnswersRecord, ScoreRow


def add_scores(
    db: Session,
    *,
    profile: Profile,
    by: User,
    records: Iterable[ScoreRecord],
    assessment: Assessment | None = None,
) -> list[ScoreRow]:
    """Store completed questionnaires of a profile (a new row each, never an update)."""
    rows = [
        ScoreRow(
            profile_id=profile.id,
            assessment_id=assessment.id if assessment is not None else None,
            instrument_id=rec.instrument_id,
            version=rec.version,
            scores=dict(rec.scores),
            primary_scale=rec.primary_scale,
            category=rec.category,
            responses=dict(rec.responses),
            taken_at=rec.taken_at,
            created_by_id=by.id,
        )
        for rec in records
    ]
    db.add_all(rows)
    db.flush()
    return rows


def score_records(
    db: Session,
    profile_id: str,
    instrument_id: str | None = None,
    since: datetime | None = None,
) -> list[ScoreRow]:
    """A profile's score records over time, oldest first (optionally of one instrument, from a time)."""
    query = select(ScoreRow).where(ScoreRow.profile_id == profile_id)
    if instrument_id is not None:
        query = query.where(ScoreRow.instrument_id == instrument_id)
    if since is not None:
        query = query.where(ScoreRow.taken_at >= since)
    return list(db.scalars(query.order_by(ScoreRow.taken_at, ScoreRow.created_at)).all())


def as_score_record(row: ScoreRow) -> ScoreRecord:
    """A stored row as the instruments package's ScoreRecord (for compare, trend, the program)."""
    from telespine.instruments import load_instrument

    label: str | None = None
    advice: str | None = None
    try:
        inst = load_instrument(row.instrument_id)
        cat = next((c for c in inst.categories if c.id == row.category), None)
        label, advice = (cat.label, cat.advice) if cat is not None else (None, None)
    except Exception:  # noqa: S110 -- a label is only decoration; the numbers are stored
        pass
    return ScoreRecord(
        instrument_id=row.instrument_id,
        version=row.version,
        scores={k: float(v) for k, v in row.scores.items()},
        primary_scale=row.primary_scale,
        category=row.category,
        category_label=label,
        advice=advice,
        responses=row.responses,
        taken_at=row.taken_at,
    )


def add_plan_answers(
    db: Session, *, assessment: Assessment, by: User, answers: dict[str, Any]
) -> PlanAnswersRecord:
    """Store the plan answers (medicines, questionnaires, choices) of a saved assessment."""
    row = PlanAnswersRecord(
        assessment_id=assessment.id, profile_id=assessment.profile_id, answers=answers, created_by_id=by.id
    )
    db.add(row)
    db.flush()
    return row


def latest_plan_answers(db: Session, assessment_id: str) -> PlanAnswersRecord | None:
    """The most recent plan answers saved with an assessment, or None."""
    return db.scalar(
        select(PlanAnswersRecord)
        .where(PlanAnswersRecord.assessment_id == assessment_id)
        .order_by(PlanAnswersRecord.created_at.desc(), PlanAnswersRecord.id)
        .limit(1)
    )


def score_rows_for_assessment(db: Session, assessment_id: str) -> Sequence[ScoreRow]:
    """The score records saved together with an assessment, oldest first."""
    return db.scalars(
        select(ScoreRow).where(ScoreRow.assessment_id == assessment_id).order_by(ScoreRow.taken_at)
    ).all()
