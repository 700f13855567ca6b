"""Tables of the self-care program: questionnaire score records and the answers a plan is made from.

Owned by the program part (issue 5); schema changes in migration 0002_program. Both tables are
append-only: a repeated questionnaire is a new row, so scores can be compared over time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from telespine.store.models import AppendOnlyError, Assessment, Base, Profile, new_id, utcnow

__all__ = ["Base", "PlanAnswersRecord", "ScoreRow"]


class ScoreRow(Base):
    """One completed questionnaire of one profile, with the time it was taken. Never updated."""

    __tablename__ = "score_records"
    __table_args__ = (Index("ix_score_records_profile_taken", "profile_id", "taken_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    profile_id: Mapped[str] = mapped_column(ForeignKey("profiles.id"))
    assessment_id: Mapped[str | None] = mapped_column(ForeignKey("assessments.id"), index=True)
    instrument_id: Mapped[str] = mapped_column(String(32))
    version: Mapped[str] = mapped_column(String(32))
    scores: Mapped[dict[str, Any]] = mapped_column(JSON)
    primary_scale: Mapped[str] = mapped_column(String(32))
    category: Mapped[str | None] = mapped_column(String(32))
    responses: Mapped[dict[str, Any]] = mapped_column(JSON)
    taken_at: Mapped[datetime]
    created_by_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    profile: Mapped[Profile] = relationship()


class PlanAnswersRecord(Base):
    """The medicine answers and choices a saved plan was made from. Never updated."""

    __tablename__ = "plan_answers"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    assessment_id: Mapped[str] = mapped_column(ForeignKey("assessments.id"), index=True)
    profile_id: Mapped[str] = mapped_column(ForeignKey("profiles.id"), index=True)
    answers: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_by_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    assessment: Mapped[Assessment] = relationship()


@event.listens_for(ScoreRow, "before_update")
@event.listens_for(PlanAnswersRecord, "before_update")
def _refuse_update(*_: object) -> None:
    raise AppendOnlyError("score records and plan answers are append-only: add a new one instead")


@event.listens_for(ScoreRow, "before_delete")
@event.listens_for(PlanAnswersRecord, "before_delete")
def _refuse_delete(*_: object) -> None:
    raise AppendOnlyError("score records and plan answers are append-only")
