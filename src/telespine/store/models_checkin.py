"""Tables of the weekly check-in and remote monitoring (issue 14): check-ins, wearable uploads and
the daily steps they gave. Schema in migration 0012_checkins_steps.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from telespine.store.models import Base, new_id, utcnow

__all__ = ["CheckinRecord", "DailyStepsRow", "StepsUpload"]


class CheckinRecord(Base):
    """One check-in of a case: the diary entry it made, the questionnaires answered (score ids)
    and the level the person was shown afterwards. Never updated."""

    __tablename__ = "care_checkins"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    case_id: Mapped[str] = mapped_column(ForeignKey("care_cases.id"), index=True)
    by_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    diary_entry_id: Mapped[str | None] = mapped_column(ForeignKey("diary_entries.id"))
    day: Mapped[dt.date] = mapped_column(Date)
    pain: Mapped[int] = mapped_column(Integer)
    scores: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # instrument id -> primary score
    shown: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class StepsUpload(Base):
    """One wearable export that was read in full (what it gave, never the file itself)."""

    __tablename__ = "steps_uploads"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    profile_id: Mapped[str] = mapped_column(ForeignKey("profiles.id"), index=True)
    by_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    source: Mapped[str] = mapped_column(String(32))
    days: Mapped[int] = mapped_column(Integer)
    first_day: Mapped[dt.date] = mapped_column(Date)
    last_day: Mapped[dt.date] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class DailyStepsRow(Base):
    """Steps on one local day of a profile; a later upload of the same day replaces the count."""

    __tablename__ = "daily_steps"
    __table_args__ = (UniqueConstraint("profile_id", "day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    profile_id: Mapped[str] = mapped_column(ForeignKey("profiles.id"), index=True)
    day: Mapped[dt.date] = mapped_column(Date)
    steps: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(32))
    upload_id: Mapped[str] = mapped_column(ForeignKey("steps_uploads.id"))
