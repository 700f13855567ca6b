"""Query module of check-ins and daily steps (issue 14; tables in store/models_checkin.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from telespine.care.wearables import DailySteps, StepsImport
from telespine.store.models import Profile, User, utcnow
from telespine.store.models_care import CareCase
from telespine.store.models_checkin import CheckinRecord, DailyStepsRow, StepsUpload


def save_import(
    db: Session, profile: Profile, by: User, result: StepsImport, now: dt.datetime | None = None
) -> StepsUpload:
    """Store every day of one parsed export (the caller commits once: all days or none).

    A day already stored takes the new count: a later export of the same phone is the fuller one.
    """
    upload = StepsUpload(
        profile_id=profile.id,
        by_id=by.id,
        source=result.source,
        days=len(result.days),
        first_day=result.first_day,
        last_day=result.last_day,
    )
    upload.created_at = now or utcnow()
    db.add(upload)
    db.flush()
    existing = {
        row.day: row
        for row in db.scalars(
            select(DailyStepsRow).where(
                DailyStepsRow.profile_id == profile.id,
                DailyStepsRow.day >= result.first_day,
                DailyStepsRow.day <= result.last_day,
            )
        ).all()
    }
    for day in result.days:
        row = existing.get(day.day)
        if row is None:
            db.add(
                DailyStepsRow(
                    profile_id=profile.id,
                    day=day.day,
                    steps=day.steps,
                    source=result.source,
                    upload_id=upload.id,
                )
            )
        else:
            row.steps, row.source, row.upload_id = day.steps, result.source, upload.id
    db.flush()
    return upload


def steps_for_profile(db: Session, profile_id: str) -> list[DailySteps]:
    """The profile's daily steps, oldest first."""
    rows = db.execute(
        select(DailyStepsRow.day, DailyStepsRow.steps)
        .where(DailyStepsRow.profile_id == profile_id)
        .order_by(DailyStepsRow.day)
    ).all()
    return [DailySteps(day=d, steps=int(n)) for d, n in rows]


def uploads_for_profile(db: Session, profile_id: str) -> list[StepsUpload]:
    return list(
        db.scalars(
            select(StepsUpload).where(StepsUpload.profile_id == profile_id).order_by(StepsUpload.created_at)
        ).all()
    )


def add_checkin(
    db: Session,
    case: CareCase,
    by: User,
    *,
    day: dt.date,
    pain: int,
    scores: Mapping[str, float],
    shown: str,
    diary_entry_id: str | None,
    now: dt.datetime | None = None,
) -> CheckinRecord:
    row = CheckinRecord(
        case_id=case.id,
        by_id=by.id,
        diary_entry_id=diary_entry_id,
        day=day,
        pain=pain,
        scores=dict(scores),
        shown=shown,
    )
    row.created_at = now or utcnow()
    db.add(row)
    db.flush()
    return row


def checkins_for_case(db: Session, case: CareCase) -> list[CheckinRecord]:
    """The case's check-ins, oldest first."""
    return list(
        db.scalars(
            select(CheckinRecord)
            .where(CheckinRecord.case_id == case.id)
            .order_by(CheckinRecord.created_at, CheckinRecord.id)
        ).all()
    )


def get_checkin(db: Session, case: CareCase, checkin_id: str) -> CheckinRecord | None:
    """A check-in of this case (None for another case's: the caller answers 404)."""
    row = db.get(CheckinRecord, checkin_id)
    return row if row is not None and row.case_id == case.id else None
