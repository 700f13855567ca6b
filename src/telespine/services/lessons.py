"""Lessons on thinking and feeling about pain for a case (issue 14): which ones the person is
offered (by their latest STarT Back risk; a child or an adult without the tool gets the core
set, never none), and the "I have read this" note the clinician's chart shows (the write and
its audit row)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from telespine.program.lessons import Lesson, lessons_for, load_lessons
from telespine.program.models import RiskLevel
from telespine.services import followup
from telespine.store import cases, medicines, repo
from telespine.store.models import User, utcnow
from telespine.store.models_care import CareCase
from telespine.store.models_medicines import LessonReadRecord

RISKS: tuple[RiskLevel, ...] = ("low", "medium", "high")


class UnknownLesson(LookupError):
    """Not a lesson this person is offered (a 404)."""


def risk_of(db: Session, case: CareCase) -> RiskLevel:
    """The latest STarT Back category of the case's profile; "not_assessed" without one (never low)."""
    records = [r for r in cases.scores_for_case(db, case) if r.instrument_id == "startback"]
    if not records:
        return "not_assessed"
    latest = max(records, key=lambda r: r.taken_at)
    category = latest.category
    return category if category in RISKS else "not_assessed"


def offered(db: Session, case: CareCase) -> list[Lesson]:
    """The lessons for this case's risk, in the audience's voice (none at low risk)."""
    return lessons_for(risk_of(db, case), followup.audience_of(case))


def lesson_for_case(db: Session, case: CareCase, lesson_id: str) -> Lesson:
    """One offered lesson; UnknownLesson when it is not offered to this person."""
    for item in offered(db, case):
        if item.id == lesson_id:
            return item
    raise UnknownLesson(lesson_id)


def mark_read(
    db: Session, case: CareCase, by: User, lesson_id: str, now: dt.datetime | None = None
) -> LessonReadRecord:
    """Note that the person read the lesson (its current version), once; audited when new."""
    item = lesson_for_case(db, case, lesson_id)
    row, new = medicines.mark_lesson_read(db, case, by, item.id, item.version, now or utcnow())
    if new:
        repo.audit(
            db,
            actor=by,
            action="read_lesson",
            object_type="lesson",
            object_id=f"{item.id}@{item.version}",
            profile_id=case.profile_id,
        )
    db.commit()
    return row


@dataclass
class ReadNote:
    lesson_id: str
    version: str
    title: str
    read_at: dt.datetime
    current: bool  # the version read is the one in the data now


def read_notes(db: Session, case: CareCase) -> list[ReadNote]:
    """Which lessons were read and when, for the chart (titles in the adult voice: the clinician reads)."""
    data = load_lessons()
    titles = {rule.id: rule.title.adult for rule in data.lessons}
    return [
        ReadNote(
            lesson_id=r.lesson_id,
            version=r.lesson_version,
            title=titles.get(r.lesson_id, r.lesson_id),
            read_at=r.read_at,
            current=r.lesson_version == data.version,
        )
        for r in medicines.lessons_read(db, case)
    ]


def read_ids(db: Session, case: CareCase) -> set[str]:
    """Lesson ids read in their current version."""
    return {n.lesson_id for n in read_notes(db, case) if n.current}
