"""Tables of tele-visits beyond the booking itself (issue 11): clinicians' weekly hours and
exceptions, the phone number a patient gives for "call me instead", and the history of changes
(reschedule, cancel) to bookings. Schema in migration 0009_visits.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from telespine.store.models import Base, utcnow

__all__ = ["ClinicianSchedule", "HoursException", "NoteAddendum", "VisitChange", "VisitPhone", "VisitRecord"]


class ClinicianSchedule(Base):
    """A clinician's weekly hours in their clinic's time zone: {"mon": [["09:00", "12:00"]], ...}."""

    __tablename__ = "clinician_schedules"

    clinician_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    weekly: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class HoursException(Base):
    """One day that differs from the weekly hours: no hours (a day off) or other hours."""

    __tablename__ = "clinician_hours_exceptions"
    __table_args__ = (UniqueConstraint("clinician_id", "day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    clinician_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    day: Mapped[dt.date] = mapped_column(Date)
    hours: Mapped[list[Any]] = mapped_column(JSON, default=list)  # [] = not working that day
    note: Mapped[str] = mapped_column(String(200), default="")


class VisitPhone(Base):
    """The number a patient or parent gives for a phone call instead of video (shown to the clinician)."""

    __tablename__ = "visit_phones"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    phone: Mapped[str] = mapped_column(String(40))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class VisitChange(Base):
    """Append-only history of a booking: booked, rescheduled (old and new time) or cancelled.

    A cancelled booking row is removed so its slot is free again; this row keeps what it was.
    """

    __tablename__ = "visit_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    booking_id: Mapped[str] = mapped_column(String(32), index=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("care_cases.id"), index=True)
    clinician_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(16))  # booked | rescheduled | cancelled
    old_start: Mapped[dt.datetime | None] = mapped_column()
    new_start: Mapped[dt.datetime | None] = mapped_column()
    mode: Mapped[str] = mapped_column(String(16))
    by_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class VisitRecord(Base):
    """What the clinician recorded at a visit: the virtual exam findings and the changed plan."""

    __tablename__ = "visit_records"

    booking_id: Mapped[str] = mapped_column(ForeignKey("visit_bookings.id"), primary_key=True)
    exam: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    plan: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_by_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class NoteAddendum(Base):
    """A signed addition to a finished (locked) visit note; append-only."""

    __tablename__ = "visit_note_addenda"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    booking_id: Mapped[str] = mapped_column(ForeignKey("visit_bookings.id"), index=True)
    text: Mapped[str] = mapped_column(String(8000))
    by_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    signed_by: Mapped[str] = mapped_column(String(200))  # the clinician's name as signed
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
