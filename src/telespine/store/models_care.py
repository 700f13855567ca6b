"""Tables of the clinician workspace: cases, tele-visits, notes, messages, diary, escalations, reminders.

Owned by the care part (issue 6); schema changes in migration 0003_care.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint, event
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from telespine.store.models import AppendOnlyError, Assessment, Base, User, new_id, utcnow

__all__ = [
    "Base",
    "CareCase",
    "CareMessage",
    "ContactAddress",
    "DiaryRecord",
    "DispositionOverride",
    "EscalationFloor",
    "EscalationRecord",
    "RedFlagCheckRecord",
    "ReminderJob",
    "VisitBooking",
    "VisitPreference",
]


class CareCase(Base):
    """The clinical state of one assessment: open or closed, who claimed it, why it was raised."""

    __tablename__ = "care_cases"
    # the queue page is one range of this index (store/queue_order.py keeps the key; issue 16)
    __table_args__ = (
        Index("ix_care_cases_queue", "clinic_id", "status", "queue_level", "queue_held", "queue_since", "id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    assessment_id: Mapped[str] = mapped_column(ForeignKey("assessments.id"), unique=True)
    profile_id: Mapped[str] = mapped_column(ForeignKey("profiles.id"), index=True)
    clinic_id: Mapped[str | None] = mapped_column(ForeignKey("clinics.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="open")
    claimed_by_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    claimed_at: Mapped[dt.datetime | None] = mapped_column()
    raised_at: Mapped[dt.datetime | None] = mapped_column()
    raised_reason: Mapped[str | None] = mapped_column(String(500))
    treatment_started_on: Mapped[dt.date] = mapped_column(Date)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    red_flags_reviewed_through: Mapped[dt.date | None] = mapped_column(Date)
    # when a clinician last acknowledged the case (a report stored up to then counts as handled)
    red_flags_reviewed_at: Mapped[dt.datetime | None] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # the queue's sort key, written only by store/queue_order.py (a flush hook): the clinicians'
    # level 1-5 (None until the case has a version), 0 when raised or floor-held else 1, and
    # the time it has waited since
    queue_level: Mapped[int | None] = mapped_column(Integer)
    queue_held: Mapped[int | None] = mapped_column(Integer)
    queue_since: Mapped[dt.datetime | None] = mapped_column()

    assessment: Mapped[Assessment] = relationship()
    claimed_by: Mapped[User | None] = relationship()


class DispositionOverride(Base):
    """A clinician's change of disposition: append-only, and kept as feedback on the rule set."""

    __tablename__ = "disposition_overrides"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("care_cases.id"), index=True)
    assessment_version: Mapped[int] = mapped_column(Integer)
    from_disposition: Mapped[str] = mapped_column(String(16))
    to_disposition: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    ruleset_version: Mapped[str] = mapped_column(String(64))
    ruleset_sha256: Mapped[str] = mapped_column(String(64))
    fired_rule_ids: Mapped[list[Any]] = mapped_column(JSON)
    by_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    by: Mapped[User] = relationship()


class VisitPreference(Base):
    """What the patient asked for with a tele-visit request: kind of visit and preferred times."""

    __tablename__ = "visit_preferences"

    visit_request_id: Mapped[str] = mapped_column(ForeignKey("visit_requests.id"), primary_key=True)
    mode: Mapped[str] = mapped_column(String(16))
    preferred_times: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class VisitBooking(Base):
    """A booked tele-visit slot; the unique (clinician, slot start) makes double booking impossible."""

    __tablename__ = "visit_bookings"
    __table_args__ = (UniqueConstraint("clinician_id", "slot_start", name="uq_visit_bookings_slot"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    case_id: Mapped[str] = mapped_column(ForeignKey("care_cases.id"), index=True)
    visit_request_id: Mapped[str | None] = mapped_column(ForeignKey("visit_requests.id"))
    clinician_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    slot_start: Mapped[dt.datetime] = mapped_column()
    minutes: Mapped[int] = mapped_column(Integer, default=20)
    mode: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="booked")
    note: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    finished_at: Mapped[dt.datetime | None] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    clinician: Mapped[User] = relationship()


class CareMessage(Base):
    """A secure message between a patient (or parent) and the care team, with its screening."""

    __tablename__ = "care_messages"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    case_id: Mapped[str] = mapped_column(ForeignKey("care_cases.id"), index=True)
    # null only for telespine's automatic reply (migration 0007)
    author_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    from_patient: Mapped[bool] = mapped_column(Boolean)
    body: Mapped[str] = mapped_column(Text)
    screening: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    # The automatic reply to a patient's message: which message, and whether it offers the check
    automatic: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    reply_to_id: Mapped[str | None] = mapped_column(String(32))
    offers_check: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    author: Mapped[User | None] = relationship()

    @property
    def author_name(self) -> str:
        return "telespine (automatic reply)" if self.author is None else self.author.display_name


class DiaryRecord(Base):
    """One symptom diary entry (the fields of telespine.care.DiaryEntry)."""

    __tablename__ = "diary_entries"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    case_id: Mapped[str] = mapped_column(ForeignKey("care_cases.id"), index=True)
    day: Mapped[dt.date] = mapped_column(Date)
    pain: Mapped[int] = mapped_column(Integer)
    function: Mapped[int] = mapped_column(Integer)
    medicine_use: Mapped[str] = mapped_column(String(32))
    red_flag_check: Mapped[dict[str, Any]] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(Text)
    # The note's screening, like a message's (migration 0006); null: no note, or not screened yet
    note_screening: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    note_flagged: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    by_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class EscalationRecord(Base):
    """An escalation from telespine.care.evaluate_case, stored once per key."""

    __tablename__ = "care_escalations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("care_cases.id"), index=True)
    rule_id: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(300))
    details: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class EscalationFloor(Base):
    """A level raised by a red flag or a clinician: no view shows less until a clinician clears it.

    source: message, diary, check (the structured red-flag check), resurvey (a new assessment
    version), assessment (the level the case had when the patient first answered again), exam,
    override. Cleared only by a clinician with a reason (audited).
    """

    __tablename__ = "care_escalation_floors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("care_cases.id"), index=True)
    source: Mapped[str] = mapped_column(String(16))
    ref: Mapped[str | None] = mapped_column(String(64))
    level: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(300), default="")
    raised_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    raised_by_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    cleared_at: Mapped[dt.datetime | None] = mapped_column()
    cleared_by_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    clear_reason: Mapped[str | None] = mapped_column(Text)

    cleared_by: Mapped[User | None] = relationship(foreign_keys=[cleared_by_id])


class RedFlagCheckRecord(Base):
    """The answers to the one-minute red-flag check offered in an automatic reply."""

    __tablename__ = "care_red_flag_checks"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    case_id: Mapped[str] = mapped_column(ForeignKey("care_cases.id"), index=True)
    message_id: Mapped[str | None] = mapped_column(String(32))
    answers: Mapped[dict[str, Any]] = mapped_column(JSON)
    disposition: Mapped[str] = mapped_column(String(16))
    by_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ContactAddress(Base):
    """Where an account's reminders go (an e-mail address), kept apart from the login data."""

    __tablename__ = "contact_addresses"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    reminders: Mapped[bool] = mapped_column(Boolean, default=True)


class ReminderJob(Base):
    """A reminder to send; the unique key makes sure several workers send it once."""

    __tablename__ = "reminder_jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("care_cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    send_after: Mapped[dt.datetime] = mapped_column()
    expires_at: Mapped[dt.datetime] = mapped_column()
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[dt.datetime | None] = mapped_column()
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[dt.datetime | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


@event.listens_for(DispositionOverride, "before_update")
def _refuse_override_update(*_: object) -> None:
    raise AppendOnlyError("disposition overrides are append-only: add a new one instead")


@event.listens_for(DispositionOverride, "before_delete")
def _refuse_override_delete(*_: object) -> None:
    raise AppendOnlyError("disposition overrides are append-only")


# the hook that keeps care_cases' queue key (it needs the classes above)
from telespine.store import queue_order as _queue_order  # noqa: E402, F401
