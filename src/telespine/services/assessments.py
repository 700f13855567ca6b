"""Saving an assessment and asking for a tele-visit: the write and its audit row, one function
each for the pages and the API. A changed assessment is a new version
(`services.followup.add_assessment_version`: re-triage, never lowering a raised level).

Callers authorize (telespine.web.policy: the profile is writable, the result fits a visit).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from telespine.services.plans import DraftPlan, store_plan
from telespine.store import repo, repo_care
from telespine.store.models import Assessment, Profile, User, VisitRequest
from telespine.triage.types import TriageResult


def save_assessment(
    db: Session,
    *,
    profile: Profile,
    by: User,
    findings: dict[str, Any],
    result: TriageResult,
    answers: dict[str, Any] | None = None,
    plan: DraftPlan | None = None,
    detail: str | None = None,
    commit: bool = True,
) -> Assessment:
    """A new assessment (findings and result, append-only), its audit row and, when given, the
    plan answers and scores saved with it."""
    assessment = repo.save_assessment(
        db,
        profile=profile,
        by=by,
        findings=findings,
        result=result,
        answers=answers,
    )
    repo.audit(
        db,
        actor=by,
        action="create",
        object_type="assessment",
        object_id=assessment.id,
        profile_id=profile.id,
        detail=detail,
    )
    if plan is not None:
        store_plan(db, by, assessment, plan)
    if commit:
        db.commit()
    return assessment


def request_visit(
    db: Session, assessment: Assessment, by: User, mode: str | None = None, preferred_times: str = ""
) -> VisitRequest:
    """A tele-visit request for the assessment (asking twice gives the open request), with the kind
    of visit and preferred times when given (the case page's form), audited."""
    if mode is None:
        visit = repo.request_visit(db, assessment=assessment, by=by)
    else:
        visit = repo_care.request_visit(
            db, assessment=assessment, by=by, mode=mode, preferred_times=preferred_times
        )
    repo.audit(
        db,
        actor=by,
        action="create",
        object_type="visit_request",
        object_id=visit.id,
        profile_id=assessment.profile_id,
    )
    db.commit()
    return visit
