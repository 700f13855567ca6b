"""Cases of the clinician workspace: the case per assessment, the queue, claims, overrides and
escalation floors, and the levels every view shows (telespine.care.levels decides them).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from telespine.care import CaseState
from telespine.care.diary import duration_given_at
from telespine.care.escalation import Escalation
from telespine.care.levels import FloorView, OverrideView, ShownLevels, more_urgent, shown_levels
from telespine.store.models import Assessment, User, utcnow
from telespine.store.models_care import CareCase, DispositionOverride, EscalationFloor, EscalationRecord
from telespine.triage.types import Disposition

log = logging.getLogger("telespine.care")

__all__ = ["more_urgent"]


def ensure_case(db: Session, assessment: Assessment) -> CareCase:
    """The case of an assessment (repo.save_assessment makes it); made here only as a repair."""
    case = db.scalar(select(CareCase).where(CareCase.assessment_id == assessment.id))
    if case is not None:
        return case
    case = CareCase(
        assessment_id=assessment.id,
        profile_id=assessment.profile_id,
        clinic_id=assessment.profile.clinic_id,
        treatment_started_on=assessment.created_at.date(),
    )
    try:
        with db.begin_nested():
            db.add(case)
    except IntegrityError:  # another request made it at the same moment
        case = db.scalars(select(CareCase).where(CareCase.assessment_id == assessment.id)).one()
    return case


def case_for_assessment(db: Session, assessment_id: str) -> CareCase | None:
    """The case of an assessment, or None (read only)."""
    return db.scalar(select(CareCase).where(CareCase.assessment_id == assessment_id))


def sync_all_cases(db: Session) -> int:
    """Give every assessment a case: a repair for rows made outside repo.save_assessment (the
    worker runs it; saving makes the case and migration 0005 backfilled older assessments)."""
    missing = db.scalars(
        select(Assessment)
        .outerjoin(CareCase, CareCase.assessment_id == Assessment.id)
        .where(CareCase.id.is_(None))
        .options(selectinload(Assessment.profile))
    ).all()
    for assessment in missing:
        ensure_case(db, assessment)
    db.flush()
    return len(missing)


def get_case(db: Session, case_id: str) -> CareCase | None:
    return db.scalar(
        select(CareCase)
        .where(CareCase.id == case_id)
        .options(
            selectinload(CareCase.assessment).selectinload(Assessment.versions),
            selectinload(CareCase.assessment).selectinload(Assessment.profile),
        )
    )


def latest_override(db: Session, case: CareCase) -> DispositionOverride | None:
    return db.scalar(
        select(DispositionOverride)
        .where(DispositionOverride.case_id == case.id)
        .order_by(DispositionOverride.id.desc())
        .limit(1)
    )


def _override_view(case: CareCase, override: DispositionOverride | None) -> OverrideView | None:
    if override is None:
        return None
    latest = case.assessment.latest
    return OverrideView(override.to_disposition, override.assessment_version == latest.version)


def _floor_view(row: EscalationFloor) -> FloorView:
    return FloorView(
        level=row.level, source=row.source, raised_at=row.raised_at, cleared=row.cleared_at is not None
    )


def floors_for_case(db: Session, case: CareCase, *, active_only: bool = False) -> list[EscalationFloor]:
    query = select(EscalationFloor).where(EscalationFloor.case_id == case.id)
    if active_only:
        query = query.where(EscalationFloor.cleared_at.is_(None))
    return list(
        db.scalars(query.options(selectinload(EscalationFloor.cleared_by)).order_by(EscalationFloor.id)).all()
    )


def levels_of(
    case: CareCase, override: DispositionOverride | None, floors: Sequence[EscalationFloor]
) -> ShownLevels:
    """What each view shows (telespine.care.levels.shown_levels over the stored rows)."""
    return shown_levels(
        case.assessment.latest.disposition,
        [_floor_view(f) for f in floors],
        _override_view(case, override),
    )


def case_levels(db: Session, case: CareCase) -> ShownLevels:
    """The levels of one case, read from its latest override and active floors."""
    return levels_of(case, latest_override(db, case), floors_for_case(db, case, active_only=True))


def effective_disposition(db: Session, case: CareCase) -> str:
    """The clinicians' view: their override of the latest version, else the engine's result;
    never below an active escalation floor."""
    return case_levels(db, case).clinician


def patient_disposition(db: Session, case: CareCase) -> str:
    """What the patient is shown: the most urgent of the engine's latest result, a clinician's
    override of the latest version and an active escalation floor."""
    return case_levels(db, case).patient


def patient_disposition_for_assessment(db: Session, assessment_id: str) -> str | None:
    """patient_disposition of an assessment's case; None when it has no case."""
    case = case_for_assessment(db, assessment_id)
    return None if case is None else patient_disposition(db, case)


def add_floor(
    db: Session,
    case: CareCase,
    *,
    source: str,
    level: str,
    reason: str,
    ref: str | None = None,
    by: User | None = None,
    now: dt.datetime | None = None,
) -> EscalationFloor:
    """Hold the case at this level (or higher) until a clinician clears it."""
    row = EscalationFloor(
        case_id=case.id,
        source=source,
        ref=ref,
        level=level,
        reason=reason[:300],
        raised_by_id=by.id if by is not None else None,
    )
    row.raised_at = now or utcnow()
    db.add(row)
    db.flush()
    return row


def clear_floors(
    db: Session, case: CareCase, clinician: User, reason: str, now: dt.datetime | None = None
) -> list[EscalationFloor]:
    """A clinician reviewed the escalation: every active floor of the case is cleared with the reason."""
    rows = floors_for_case(db, case, active_only=True)
    when = now or utcnow()
    for row in rows:
        row.cleared_at = when
        row.cleared_by_id = clinician.id
        row.clear_reason = reason.strip()[:2000]
    db.flush()
    return rows


@dataclass
class QueueFilter:
    """The queue page's filters (the queue itself is store/lists.queue_page, in SQL)."""

    disposition: str | None = None
    claimed: str | None = None  # "claimed" | "unclaimed" | None
    mine: bool = False
    include_closed: bool = False


def claim_case(db: Session, case: CareCase, clinician: User) -> bool:
    """Claim an unclaimed case (an atomic conditional update: of two clinicians, one wins)."""
    done = db.execute(
        update(CareCase)
        .where(CareCase.id == case.id, CareCase.claimed_by_id.is_(None))
        .values(claimed_by_id=clinician.id, claimed_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    db.flush()
    db.refresh(case)
    return bool(getattr(done, "rowcount", 0)) or case.claimed_by_id == clinician.id


def release_case(db: Session, case: CareCase, clinician: User) -> None:
    if case.claimed_by_id == clinician.id:
        case.claimed_by_id = None
        case.claimed_at = None
        db.flush()


def raise_case(db: Session, case: CareCase, reason: str, now: dt.datetime | None = None) -> None:
    """Put a case back at the top of its level in the queue, open, with the reason."""
    case.raised_at = now or utcnow()
    case.raised_reason = reason[:500]
    case.status = "open"
    db.flush()


def raise_after_failure(db: Session, case_id: str, reason: str) -> bool:
    """Best effort after a failed save: roll back, then raise the case in a new transaction.

    Used when a message or diary entry could not be stored: a clinician must still look, and the
    caller shows the safety net whatever this returns (False when even this failed).
    """
    try:
        db.rollback()
        case = db.get(CareCase, case_id)
        if case is None:
            return False
        raise_case(db, case, reason)
        db.commit()
        return True
    except Exception as exc:  # the database itself may be down: the caller still shows the net
        log.error("could not raise case after a failed save: %s", type(exc).__name__)
        try:
            db.rollback()
        except Exception:
            log.error("rollback failed too")
        return False


def acknowledge(db: Session, case: CareCase, now: dt.datetime | None = None) -> None:
    """A clinician has seen what raised the case at the instant now: every report stored up to
    then counts as handled (red_flags_reviewed_at; services.followup.run_followup skips a report
    only by the time it was stored, never by the day it is for, so a missed day filled in later,
    or a message after a time-zone change, still escalates).

    red_flags_reviewed_through (the patient's yesterday) is kept for people reading the case;
    no rule reads it.
    """
    now = now or utcnow()
    case.raised_at = None
    case.raised_reason = None
    case.red_flags_reviewed_at = now
    case.red_flags_reviewed_through = _local_date(case, now) - dt.timedelta(days=1)
    db.flush()


def _local_date(case: CareCase, now: dt.datetime) -> dt.date:
    try:
        return now.astimezone(ZoneInfo(case.timezone)).date()
    except (ZoneInfoNotFoundError, ValueError):
        return now.astimezone(dt.UTC).date()


def close_case(db: Session, case: CareCase) -> None:
    case.status = "closed"
    db.flush()


# --- disposition override (feedback on the rule set) ----------------------------------------


def override_disposition(
    db: Session, case: CareCase, clinician: User, to: Disposition, reason: str
) -> DispositionOverride:
    """Append an override row; the engine's result stays on record in the assessment version."""
    version = case.assessment.latest
    before = effective_disposition(db, case)
    row = DispositionOverride(
        case_id=case.id,
        assessment_version=version.version,
        from_disposition=before,
        to_disposition=to.value,
        reason=reason.strip()[:2000],
        ruleset_version=version.ruleset_version,
        ruleset_sha256=version.ruleset_sha256,
        fired_rule_ids=[r.get("id") for r in version.result.get("rules", []) if isinstance(r, dict)],
        by_id=clinician.id,
    )
    db.add(row)
    db.flush()
    return row


def overrides_for_case(db: Session, case: CareCase) -> list[DispositionOverride]:
    return list(
        db.scalars(
            select(DispositionOverride)
            .where(DispositionOverride.case_id == case.id)
            .options(selectinload(DispositionOverride.by))
            .order_by(DispositionOverride.id)
        ).all()
    )


def ruleset_feedback(db: Session, clinic_id: str | None) -> list[DispositionOverride]:
    """Every override (of one clinic, or all for None): the rule-set feedback export."""
    query = select(DispositionOverride).options(selectinload(DispositionOverride.by))
    if clinic_id is not None:
        query = query.join(CareCase, CareCase.id == DispositionOverride.case_id).where(
            CareCase.clinic_id == clinic_id
        )
    return list(db.scalars(query.order_by(DispositionOverride.id)).all())


def escalations_for_case(db: Session, case: CareCase) -> list[EscalationRecord]:
    return list(
        db.scalars(
            select(EscalationRecord).where(EscalationRecord.case_id == case.id).order_by(EscalationRecord.id)
        ).all()
    )


def cases_for_profile(db: Session, profile_ids: Sequence[str]) -> list[CareCase]:
    """Cases of the given profiles (the patient's own and children's), newest first."""
    if not profile_ids:
        return []
    return list(
        db.scalars(
            select(CareCase)
            .where(CareCase.profile_id.in_(profile_ids))
            .options(
                selectinload(CareCase.assessment).selectinload(Assessment.versions),
                selectinload(CareCase.assessment).selectinload(Assessment.profile),
            )
            .order_by(CareCase.created_at.desc())
        ).all()
    )


def open_cases(db: Session) -> list[CareCase]:
    return list(
        db.scalars(
            select(CareCase)
            .where(CareCase.status == "open")
            .options(
                selectinload(CareCase.assessment).selectinload(Assessment.versions),
                selectinload(CareCase.assessment).selectinload(Assessment.profile),
            )
        ).all()
    )


def scores_for_case(db: Session, case: CareCase) -> list[Any]:
    """The profile's questionnaire scores as instruments.ScoreRecord, oldest first."""
    try:
        from telespine.store import repo_program
    except ImportError:
        return []
    out = []
    for row in repo_program.score_records(db, case.profile_id):
        try:
            out.append(repo_program.as_score_record(row))
        except Exception as exc:  # one bad row must not hide the others
            log.error("score row unreadable: %s", type(exc).__name__)
    return out


def known_zone(value: str | None) -> str:
    """The stored zone when this machine knows it, else UTC (as store.diary.local_today reads it).

    A zone the time-zone database no longer has (renamed, or a row written before zones were
    checked) must not stop the follow-up rules on every write: the days are then counted in UTC,
    at most a day off, and the rules still run."""
    from zoneinfo import ZoneInfo

    try:
        ZoneInfo(value or "UTC")
    except Exception:
        log.warning("stored time zone unknown; counting the case's days in UTC")
        return "UTC"
    return value or "UTC"


def case_state(case: CareCase) -> CaseState:
    versions, zone = case.assessment.versions, known_zone(case.timezone)
    return CaseState(
        case_id=case.id,
        findings=versions[-1].findings,
        treatment_started_on=case.treatment_started_on,
        timezone=zone,
        findings_on=duration_given_at(versions).astimezone(ZoneInfo(zone)).date(),
    )


def store_escalation(
    db: Session, case: CareCase, esc: Escalation, now: dt.datetime
) -> EscalationRecord | None:
    """Store an escalation once by its key; None when it is stored already (also by another worker
    at the same moment: the unique key decides, and only the one who stored it acts on it)."""
    record = EscalationRecord(
        key=esc.key,
        case_id=case.id,
        rule_id=esc.rule_id,
        action=esc.action,
        title=esc.title[:300],
        details=esc.details,
    )
    record.created_at = now
    try:
        with db.begin_nested():
            db.add(record)
    except IntegrityError:
        return None
    return record
