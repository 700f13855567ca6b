"""Audited reads of assessments, cases, visits, score records, rule-set feedback and the audit log
(issue 15): the read and its audit row in one place, so that no route writes the audit log itself.

Each function writes one audit row (who, which action, which kind of object, its id and profile
where there is one, and in `detail` only a count) and commits, as the routes did before. The reads
of follow-up records (messages, diary entries, notes) live in `services.records`.
`tests/test_architecture.py` checks that no module of the web writes an audit row past the services.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from telespine.store import repo, repo_care, repo_program
from telespine.store.models import Assessment, AuditEvent, Profile, User
from telespine.store.models_care import CareCase, DispositionOverride
from telespine.store.models_program import ScoreRow


def record_list(
    db: Session,
    actor: User,
    object_type: str,
    count: int,
    *,
    live: bool = False,
    object_id: str | None = None,
    profile_id: str | None = None,
) -> None:
    """One audit row for a list of `count` objects of `object_type` shown to `actor` ("N items";
    "N items, live" for a poll of the live queue); committed."""
    detail = f"{count} items, live" if live else f"{count} items"
    repo.audit(
        db,
        actor=actor,
        action="list",
        object_type=object_type,
        object_id=object_id,
        profile_id=profile_id,
        detail=detail,
    )
    db.commit()


def record_read(db: Session, actor: User, object_type: str, object_id: str, profile_id: str) -> None:
    """One audit row for a read of one object of a profile; committed."""
    repo.audit(
        db, actor=actor, action="read", object_type=object_type, object_id=object_id, profile_id=profile_id
    )
    db.commit()


def assessments(db: Session, actor: User, profile_ids: Sequence[str]) -> list[Assessment]:
    """The assessments of the given profiles (those the actor may read), audited as one list."""
    items = repo.assessments_for_profiles(db, profile_ids)
    record_list(db, actor, "assessment", len(items))
    return items


def cases(db: Session, actor: User, profile_ids: Sequence[str]) -> list[CareCase]:
    """The cases of the given profiles (the patient's own and children's), newest first; audited."""
    items = repo_care.cases_for_profile(db, profile_ids)
    record_list(db, actor, "case", len(items))
    return items


def score_records(
    db: Session, actor: User, profile: Profile, instrument: str | None = None
) -> list[ScoreRow]:
    """A profile's score records, oldest first (of one instrument when given); audited."""
    rows = repo_program.score_records(db, profile.id, instrument)
    record_list(db, actor, "score_record", len(rows), object_id=profile.id, profile_id=profile.id)
    return rows


def ruleset_feedback(db: Session, actor: User) -> list[DispositionOverride]:
    """Every override as rule-set feedback: a clinician's clinic's, all for others; audited."""
    rows = repo_care.ruleset_feedback(db, actor.clinic_id if actor.role == "clinician" else None)
    record_list(db, actor, "ruleset_feedback", len(rows))
    return rows


def search_audit_log(
    db: Session,
    admin: User,
    *,
    actor: str | None = None,
    object_id: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[AuditEvent]:
    """An admin's search of the audit log (repo.search_audit), itself audited; committed."""
    events = repo.search_audit(
        db,
        actor=actor,
        object_id=object_id,
        action=action,
        since=since,
        until=until,
        limit=limit,
        offset=offset,
    )
    repo.audit(db, actor=admin, action="search", object_type="audit_log")
    db.commit()
    return events
