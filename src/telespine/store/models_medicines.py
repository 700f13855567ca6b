"""Tables of the medicine diary and of the lessons a person has read (issue 14). Schema in
migration 0013_medicine_diary_lessons.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from telespine.store.models import Base, new_id, utcnow

__all__ = ["LessonReadRecord", "MedicineDiaryRecord"]


class MedicineDiaryRecord(Base):
    """One day of the medicine diary of a case (the fields of care.MedicineDiaryEntry): what was
    taken and when (as the person wrote it, never checked as a dose), the answers to the warning
    signs, other side effects, and the level the signs called for when it was saved. Never updated."""

    __tablename__ = "medicine_diary_entries"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    case_id: Mapped[str] = mapped_column(ForeignKey("care_cases.id"), index=True)
    by_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    day: Mapped[dt.date] = mapped_column(Date)
    taken: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # [{medicine, taken_at, amount}]
    warning_signs: Mapped[dict[str, Any]] = mapped_column(JSON)  # sign id -> yes | no | unknown
    other_effects: Mapped[str | None] = mapped_column(Text)
    level: Mapped[str | None] = mapped_column(String(16))  # what the signs called for; None: nothing
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class LessonReadRecord(Base):
    """A lesson (id and version of program/data/lessons.yaml) marked as read for a case."""

    __tablename__ = "lesson_reads"
    __table_args__ = (UniqueConstraint("case_id", "lesson_id", "lesson_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("care_cases.id"), index=True)
    by_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    lesson_id: Mapped[str] = mapped_column(String(40))
    lesson_version: Mapped[str] = mapped_column(String(16))
    read_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
