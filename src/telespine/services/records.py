"""Reads of follow-up records, audited by kind in one place (issue 13).

Pages and the API read a case's messages, diary entries, medicine diary entries, visit note and
the note's addenda only through these functions. Each writes one audit row: who (the actor),
which case (`object_id`), which kind (`object_type`, one of `READ_KINDS`), when (`at`), and in
`detail` the visit id and how many items were shown; never the content.
`tests/test_architecture_reads.py` checks that no route reads these records past them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from telespine.store import repo
from telespine.store.diary import diary_for_case
from telespine.store.medicines import medicine_rows
from telespine.store.messages import messages_for_case
from telespine.store.models import User
from telespine.store.models_care import CareCase, CareMessage, DiaryRecord, VisitBooking
from telespine.store.models_medicines import MedicineDiaryRecord
from telespine.store.models_visits import NoteAddendum

if TYPE_CHECKING:
    from telespine.services.medicines import DiaryLine
    from telespine.triage.types import Audience

MESSAGE = "message"
DIARY_ENTRY = "diary_entry"
VISIT_NOTE = "visit_note"
NOTE_ADDENDUM = "note_addendum"
MEDICINE_DIARY_ENTRY = "medicine_diary_entry"
READ_KINDS = (MESSAGE, DIARY_ENTRY, VISIT_NOTE, NOTE_ADDENDUM, MEDICINE_DIARY_ENTRY)


def audit_read(
    db: Session, reader: User, kind: str, case: CareCase, count: int, visit_id: str | None = None
) -> None:
    """One audit row for a read of `count` records of `kind` of a case (ids and a count only)."""
    if kind not in READ_KINDS:
        raise ValueError(f"unknown record kind {kind!r}")
    detail = f"{count} items" if visit_id is None else f"visit {visit_id}; {count} items"
    repo.audit(
        db,
        actor=reader,
        action="read",
        object_type=kind,
        object_id=case.id,
        profile_id=case.profile_id,
        detail=detail,
    )
    db.commit()


def messages(db: Session, case: CareCase, reader: User) -> list[CareMessage]:
    """The case's messages, oldest first; the read is audited."""
    rows = messages_for_case(db, case)
    audit_read(db, reader, MESSAGE, case, len(rows))
    return rows


def diary_entries(db: Session, case: CareCase, reader: User, last: int | None = None) -> list[DiaryRecord]:
    """The case's diary entries, oldest first (only the `last` ones when given); audited."""
    rows = diary_for_case(db, case)
    if last is not None:
        rows = rows[-last:] if last > 0 else []
    audit_read(db, reader, DIARY_ENTRY, case, len(rows))
    return rows


def medicine_entries(db: Session, case: CareCase, reader: User) -> list[MedicineDiaryRecord]:
    """The case's medicine diary entries, oldest first; the read is audited."""
    rows = medicine_rows(db, case)
    audit_read(db, reader, MEDICINE_DIARY_ENTRY, case, len(rows))
    return rows


def medicine_lines(
    db: Session, case: CareCase, reader: User, audience: Audience, last: int | None = None
) -> list[DiaryLine]:
    """The case's medicine diary as labelled lines, newest first (only the `last` newest when
    given); audited with the number of entries shown."""
    from telespine.services.medicines import diary_lines

    rows = medicine_rows(db, case)
    if last is not None:
        rows = rows[-last:] if last > 0 else []
    audit_read(db, reader, MEDICINE_DIARY_ENTRY, case, len(rows))
    return diary_lines(rows, audience)


def visit_note(db: Session, booking: VisitBooking, case: CareCase, reader: User) -> dict[str, Any] | None:
    """The visit's saved note (None when nothing is saved yet; then nothing is read or audited)."""
    note = booking.note
    if not note:
        return None
    audit_read(db, reader, VISIT_NOTE, case, 1, visit_id=booking.id)
    return dict(note)


def addenda(db: Session, booking: VisitBooking, case: CareCase, reader: User) -> list[NoteAddendum]:
    """The signed addenda of a finished visit's note, oldest first; audited."""
    from telespine.services.visits import addenda_of

    rows = addenda_of(db, booking)
    audit_read(db, reader, NOTE_ADDENDUM, case, len(rows), visit_id=booking.id)
    return rows
