"""Repository functions: the only code that writes health data, always append-only and audited."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session, selectinload

from telespine.store.accounts import hash_password
from telespine.store.models import (
    Assessment,
    AssessmentVersion,
    AuditEvent,
    Clinic,
    LoginAttempt,
    Profile,
    User,
    VisitRequest,
    new_id,
    utcnow,
)
from telespine.store.models_care import CareCase
from telespine.triage.types import TriageResult


def create_clinic(db: Session, name: str) -> Clinic:
    clinic = Clinic(name=name)
    db.add(clinic)
    db.flush()
    return clinic


def create_user(
    db: Session,
    *,
    username: str,
    password: str,
    role: str,
    display_name: str | None = None,
    clinic: Clinic | None = None,
    with_profile: bool = True,
) -> User:
    """A new account; patients and parents also get their own profile."""
    user = User(
        username=username.lower(),
        display_name=display_name or username,
        password_hash=hash_password(password),
        role=role,
        clinic_id=clinic.id if clinic else None,
    )
    db.add(user)
    db.flush()
    if with_profile and role in ("patient", "parent"):
        db.add(Profile(owner_id=user.id, clinic_id=user.clinic_id, display_name=user.display_name))
        db.flush()
    return user


def user_by_username(db: Session, username: str) -> User | None:
    return db.scalar(select(User).where(User.username == username.strip().lower()))


def add_child(db: Session, parent: User, display_name: str, birth_year: int | None = None) -> Profile:
    child = Profile(
        owner_id=parent.id,
        clinic_id=parent.clinic_id,
        display_name=display_name,
        is_child=True,
        birth_year=birth_year,
    )
    db.add(child)
    db.flush()
    return child


def profiles_of(db: Session, user: User) -> list[Profile]:
    """The profiles an account holder manages: their own first, then their children."""
    rows = db.scalars(select(Profile).where(Profile.owner_id == user.id)).all()
    return sorted(rows, key=lambda p: (p.is_child, p.display_name))


def self_profile(db: Session, user: User) -> Profile | None:
    return db.scalar(select(Profile).where(Profile.owner_id == user.id, Profile.is_child.is_(False)))


def ensure_self_profile(db: Session, user: User) -> Profile:
    profile = self_profile(db, user)
    if profile is None:
        profile = Profile(owner_id=user.id, clinic_id=user.clinic_id, display_name=user.display_name)
        db.add(profile)
        db.flush()
    return profile


def _version_row(
    assessment: Assessment,
    number: int | ColumnElement[int],
    findings: dict[str, Any],
    result: TriageResult,
    by: User | None,
    answers: dict[str, Any] | None = None,
    trigger: str | None = None,
) -> AssessmentVersion:
    return AssessmentVersion(
        assessment_id=assessment.id,
        version=number,
        findings=dict(findings),
        answers=dict(answers) if answers is not None else None,
        result=result.model_dump(mode="json"),
        disposition=result.disposition.value,
        safety_net=result.safety_net,
        ruleset_version=result.ruleset.version,
        ruleset_sha256=result.ruleset.sha256,
        created_by_id=by.id if by is not None else None,
        trigger=trigger[:64] if trigger else None,
    )


def save_assessment(
    db: Session,
    *,
    profile: Profile,
    by: User,
    findings: dict[str, Any],
    result: TriageResult,
    answers: dict[str, Any] | None = None,
) -> Assessment:
    """A new assessment with version 1: the findings snapshot, the result and the rule-set version.

    findings is a findings document ({} when none could be made); answers, when given, are the
    questionnaire answers it came from, stored in their own column. The assessment's care case
    (telespine.store.models_care.CareCase) is created with it.
    """
    # Ids and times are set here, so the assessment, its first version and its care case go in
    # one flush (one run of the list-key hook, store/queue_order.py) and nothing is read back.
    assessment = Assessment(id=new_id(), profile_id=profile.id, created_by_id=by.id, created_at=utcnow())
    version = _version_row(assessment, 1, findings, result, by, answers)
    version.assessment = assessment  # the relationship orders the INSERTs and fills .versions
    db.add(assessment)
    # Its care case is made in the same step, so pages that only read never have to write one.
    db.add(
        CareCase(
            assessment=assessment,
            profile_id=profile.id,
            clinic_id=profile.clinic_id,
            treatment_started_on=assessment.created_at.date(),
        )
    )
    db.flush()
    return assessment


def add_version(
    db: Session,
    *,
    assessment: Assessment,
    by: User | None,
    findings: dict[str, Any],
    result: TriageResult,
    trigger: str | None = None,
) -> AssessmentVersion:
    """A change to an assessment: always a new version, never an UPDATE of a saved one. `by` None
    is the system (an automatic re-triage), with what set it off in `trigger`.

    Concurrent changes of one assessment get consecutive numbers: PostgreSQL locks the assessment
    row until commit, and the number is computed inside the INSERT itself, which SQLite (where
    FOR UPDATE does nothing) runs under its single-writer lock. Reading the maximum first and
    inserting later let parallel requests pick the same number (a 500 from the unique constraint).
    """
    db.execute(select(Assessment.id).where(Assessment.id == assessment.id).with_for_update())
    next_number = (
        select(func.coalesce(func.max(AssessmentVersion.version), 0) + 1)
        .where(AssessmentVersion.assessment_id == assessment.id)
        .scalar_subquery()
    )
    row = _version_row(assessment, next_number, findings, result, by, trigger=trigger)
    db.add(row)
    db.flush()
    db.refresh(row, ["version"])
    db.refresh(assessment, ["versions"])
    return row


def get_assessment(db: Session, assessment_id: str) -> Assessment | None:
    return db.scalar(
        select(Assessment)
        .where(Assessment.id == assessment_id)
        .options(selectinload(Assessment.versions), selectinload(Assessment.profile))
    )


def assessments_for_profiles(db: Session, profile_ids: Sequence[str]) -> list[Assessment]:
    if not profile_ids:
        return []
    return list(
        db.scalars(
            select(Assessment)
            .where(Assessment.profile_id.in_(profile_ids))
            .options(selectinload(Assessment.versions), selectinload(Assessment.profile))
            .order_by(Assessment.created_at.desc())
        ).all()
    )


def assessments_for_clinic(db: Session, clinic_id: str) -> list[Assessment]:
    return list(
        db.scalars(
            select(Assessment)
            .join(Profile, Assessment.profile_id == Profile.id)
            .where(Profile.clinic_id == clinic_id)
            .options(selectinload(Assessment.versions), selectinload(Assessment.profile))
            .order_by(Assessment.created_at.desc())
        ).all()
    )


def request_visit(db: Session, *, assessment: Assessment, by: User) -> VisitRequest:
    """A tele-visit request; asking twice for the same assessment returns the open request."""
    existing = db.scalar(
        select(VisitRequest).where(
            VisitRequest.assessment_id == assessment.id, VisitRequest.status == "requested"
        )
    )
    if existing is not None:
        return existing
    visit = VisitRequest(assessment_id=assessment.id, requested_by_id=by.id)
    db.add(visit)
    db.flush()
    return visit


def get_visit(db: Session, visit_id: str) -> VisitRequest | None:
    return db.scalar(
        select(VisitRequest)
        .where(VisitRequest.id == visit_id)
        .options(selectinload(VisitRequest.assessment).selectinload(Assessment.profile))
    )


def visits_for_assessment(db: Session, assessment_id: str) -> list[VisitRequest]:
    return list(db.scalars(select(VisitRequest).where(VisitRequest.assessment_id == assessment_id)).all())


def audit(
    db: Session,
    *,
    actor: User | None,
    action: str,
    object_type: str,
    object_id: str | None = None,
    profile_id: str | None = None,
    detail: str | None = None,
) -> AuditEvent:
    """Record who read or wrote which health record; detail must hold no health data."""
    event = AuditEvent(
        actor_id=actor.id if actor else None,
        actor_username=actor.username if actor else None,
        actor_role=actor.role if actor else None,
        action=action,
        object_type=object_type,
        object_id=object_id,
        profile_id=profile_id,
        detail=detail,
    )
    db.add(event)
    db.flush()
    return event


def search_audit(
    db: Session,
    *,
    actor: str | None = None,
    object_id: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[AuditEvent]:
    """Audit events, newest first, filtered by actor user name or id, object or profile id, action."""
    query = select(AuditEvent)
    if actor:
        query = query.where(or_(AuditEvent.actor_username == actor.lower(), AuditEvent.actor_id == actor))
    if object_id:
        query = query.where(or_(AuditEvent.object_id == object_id, AuditEvent.profile_id == object_id))
    if action:
        query = query.where(AuditEvent.action == action)
    if since:
        query = query.where(AuditEvent.at >= since)
    if until:
        query = query.where(AuditEvent.at <= until)
    query = query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit).offset(offset)
    return list(db.scalars(query).all())


def record_login_attempt(db: Session, *, username: str, ip: str, success: bool) -> None:
    db.add(LoginAttempt(username=username.strip().lower()[:64], ip=ip[:64], success=success))
    db.flush()


def recent_failures(db: Session, *, username: str, ip: str, window: timedelta) -> tuple[int, int]:
    """Failed logins in the window: (for this account from this address, from this address).

    Per (account, address) pair, not per account: failures from someone else's address must not
    lock the real user out. The pair count restarts after a successful sign-in from that address.
    """
    name = username.strip().lower()[:64]
    since = utcnow() - window
    last_ok = db.scalar(
        select(func.max(LoginAttempt.at)).where(
            LoginAttempt.username == name,
            LoginAttempt.ip == ip[:64],
            LoginAttempt.success.is_(True),
            LoginAttempt.at >= since,
        )
    )
    by_pair = db.scalar(
        select(func.count())
        .select_from(LoginAttempt)
        .where(
            LoginAttempt.username == name,
            LoginAttempt.ip == ip[:64],
            LoginAttempt.success.is_(False),
            LoginAttempt.at >= (last_ok or since),
        )
    )
    by_ip = db.scalar(
        select(func.count())
        .select_from(LoginAttempt)
        .where(LoginAttempt.ip == ip[:64], LoginAttempt.success.is_(False), LoginAttempt.at >= since)
    )
    return int(by_pair or 0), int(by_ip or 0)


def get_clinic(db: Session, clinic_id: str) -> Clinic | None:
    return db.get(Clinic, clinic_id)


def default_clinic_id(db: Session) -> str | None:
    """The clinic new sign-ups join: the first one created (a single-clinic deployment's only one)."""
    return db.scalar(select(Clinic.id).order_by(Clinic.created_at, Clinic.id).limit(1))


def assessments_with_visit_requests(db: Session, assessment_ids: Sequence[str]) -> set[str]:
    """The ids among assessment_ids that have a tele-visit request."""
    if not assessment_ids:
        return set()
    rows = db.scalars(
        select(VisitRequest.assessment_id).where(VisitRequest.assessment_id.in_(assessment_ids))
    )
    return set(rows.all())
