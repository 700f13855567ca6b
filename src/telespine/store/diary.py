"""Diary entries of a case, and the day rules of the diary form."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from telespine.care import DiaryEntry
from telespine.store.models import User, utcnow
from telespine.store.models_care import CareCase, DiaryRecord, RedFlagCheckRecord


def diary_for_case(db: Session, case: CareCase) -> list[DiaryRecord]:
    return list(
        db.scalars(
            select(DiaryRecord)
            .where(DiaryRecord.case_id == case.id)
            .order_by(DiaryRecord.day, DiaryRecord.created_at)
        ).all()
    )


def local_today(case: CareCase, now: dt.datetime | None = None) -> dt.date:
    """Today in the patient's time zone (UTC when the stored zone is unknown)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    now = now or dt.datetime.now(dt.UTC)
    try:
        return now.astimezone(ZoneInfo(case.timezone)).date()
    except (ZoneInfoNotFoundError, ValueError):
        return now.astimezone(dt.UTC).date()


def diary_day_problem(case: CareCase, day: dt.date, now: dt.datetime | None = None) -> str | None:
    """Why a diary day is refused: before the day before treatment started, or after today."""
    first = case.treatment_started_on - dt.timedelta(days=1)
    today = local_today(case, now)
    if day < first or day > today:
        return f"The day must be between {first.isoformat()} and today ({today.isoformat()})."
    return None


def diary_entries(rows: Sequence[DiaryRecord]) -> list[DiaryEntry]:
    return [
        DiaryEntry(
            day=r.day,
            pain=r.pain,
            function=r.function,
            medicine_use=r.medicine_use,  # type: ignore[arg-type]
            red_flag_check=dict(r.red_flag_check),
            note=r.note,
        )
        for r in rows
    ]


def add_diary_row(
    db: Session, case: CareCase, by: User, entry: DiaryEntry, now: dt.datetime | None = None
) -> DiaryRecord:
    """Store a validated diary entry as given (its note is screened afterwards)."""
    row = DiaryRecord(
        case_id=case.id,
        day=entry.day,
        pain=entry.pain,
        function=entry.function,
        medicine_use=entry.medicine_use,
        red_flag_check=dict(entry.red_flag_check),
        note=entry.note,
        by_id=by.id,
    )
    row.created_at = now or utcnow()
    db.add(row)
    db.flush()
    return row


def add_check(
    db: Session,
    case: CareCase,
    by: User,
    answers: dict[str, str],
    disposition: str,
    message_id: str | None,
    now: dt.datetime | None = None,
) -> RedFlagCheckRecord:
    row = RedFlagCheckRecord(
        case_id=case.id, message_id=message_id, answers=dict(answers), disposition=disposition, by_id=by.id
    )
    row.created_at = now or utcnow()
    db.add(row)
    db.flush()
    return row


def checks_for_case(db: Session, case: CareCase) -> list[RedFlagCheckRecord]:
    return list(
        db.scalars(
            select(RedFlagCheckRecord)
            .where(RedFlagCheckRecord.case_id == case.id)
            .order_by(RedFlagCheckRecord.created_at)
        ).all()
    )
