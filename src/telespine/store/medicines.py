"""Query module of the medicine diary and of lessons read (issue 14; tables in
store/models_medicines.py). Writes only: the audit and the follow-up rules are the services'."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from telespine.care.medicine_diary import MedicineDiaryEntry, MedicineTaken
from telespine.store.models import User, utcnow
from telespine.store.models_care import CareCase, CareMessage
from telespine.store.models_medicines import LessonReadRecord, MedicineDiaryRecord


def add_medicine_row(
    db: Session,
    case: CareCase,
    by: User,
    entry: MedicineDiaryEntry,
    level: str | None,
    now: dt.datetime | None = None,
) -> MedicineDiaryRecord:
    """Store a validated medicine diary entry as given (the caller audits and commits)."""
    row = MedicineDiaryRecord(
        case_id=case.id,
        by_id=by.id,
        day=entry.day,
        taken=[t.model_dump(mode="json") for t in entry.taken],
        warning_signs=dict(entry.warning_signs),
        other_effects=entry.other_effects,
        level=level,
    )
    row.created_at = now or utcnow()
    db.add(row)
    db.flush()
    return row


def medicine_rows(db: Session, case: CareCase) -> list[MedicineDiaryRecord]:
    """The case's medicine diary, oldest first."""
    return list(
        db.scalars(
            select(MedicineDiaryRecord)
            .where(MedicineDiaryRecord.case_id == case.id)
            .order_by(MedicineDiaryRecord.day, MedicineDiaryRecord.created_at)
        ).all()
    )


def get_medicine_row(db: Session, case: CareCase, entry_id: str) -> MedicineDiaryRecord | None:
    row = db.get(MedicineDiaryRecord, entry_id[:64])
    return row if row is not None and row.case_id == case.id else None


def as_entry(row: MedicineDiaryRecord) -> MedicineDiaryEntry:
    """A stored row as the domain's entry (for care.evaluate_medicines)."""
    return MedicineDiaryEntry(
        day=row.day,
        taken=[MedicineTaken.model_validate(t) for t in row.taken],
        warning_signs=dict(row.warning_signs),
        other_effects=row.other_effects,
    )


def medicine_entries(rows: Sequence[MedicineDiaryRecord]) -> list[MedicineDiaryEntry]:
    return [as_entry(r) for r in rows]


def add_automatic_note(db: Session, case: CareCase, body: str, now: dt.datetime | None = None) -> CareMessage:
    """telespine's automatic reply to a medicine diary entry, stored in the case's messages
    (no author, not a reply to a message)."""
    msg = CareMessage(
        case_id=case.id, author_id=None, from_patient=False, body=body, automatic=True, offers_check=False
    )
    msg.created_at = (now or utcnow()) + dt.timedelta(microseconds=1)
    db.add(msg)
    db.flush()
    return msg


# --- lessons read ---------------------------------------------------------------------------


def mark_lesson_read(
    db: Session, case: CareCase, by: User, lesson_id: str, version: str, now: dt.datetime | None = None
) -> tuple[LessonReadRecord, bool]:
    """Note that a lesson (this version) was read; (row, True) when new, the earlier row otherwise."""
    existing = db.scalar(
        select(LessonReadRecord).where(
            LessonReadRecord.case_id == case.id,
            LessonReadRecord.lesson_id == lesson_id,
            LessonReadRecord.lesson_version == version,
        )
    )
    if existing is not None:
        return existing, False
    row = LessonReadRecord(case_id=case.id, by_id=by.id, lesson_id=lesson_id, lesson_version=version)
    row.read_at = now or utcnow()
    try:
        with db.begin_nested():
            db.add(row)
    except IntegrityError:  # marked at the same moment by another request
        again = db.scalar(
            select(LessonReadRecord).where(
                LessonReadRecord.case_id == case.id,
                LessonReadRecord.lesson_id == lesson_id,
                LessonReadRecord.lesson_version == version,
            )
        )
        if again is None:
            raise
        return again, False
    return row, True


def lessons_read(db: Session, case: CareCase) -> list[LessonReadRecord]:
    """Every lesson marked read for the case, in the order they were read."""
    return list(
        db.scalars(
            select(LessonReadRecord)
            .where(LessonReadRecord.case_id == case.id)
            .order_by(LessonReadRecord.read_at, LessonReadRecord.id)
        ).all()
    )
