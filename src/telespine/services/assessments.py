"""Saving an assessment and asking for a tele-visit: the write and its audit row, one function
each for the pages and the API. A changed assessment is a new version
(`services.followup.add_assessment_version`: re-triage, never lowering a raised level).

Callers authorize (telespine.web.policy: the profile is writable, the result fits a visit).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from telespine.services.plans import DraftPlan, store_plan
from telespine.store import cases, repo, repo_care
from telespine.store.models import Assessment, Profile, User, VisitRequest
from telespine.triage.types import Disposition, TriageResult


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


class VisitNotAllowed(Exception):
    """The level the patient is shown needs care in person: no tele-visit (routes answer 409)."""


def visit_allowed(db: Session, assessment: Assessment) -> bool:
    """The visit gate: the level the patient is shown (never below an escalation floor or a
    clinician's override) still fits a tele-visit (telemedicine or routine), and the latest
    result is not the safety net. The same rule as web.policy.visit_fits on that level."""
    latest = assessment.latest
    if latest.safety_net:
        return False
    shown = cases.patient_disposition_for_assessment(db, assessment.id) or latest.disposition
    try:
        return Disposition(shown).allows_telemedicine
    except ValueError:  # an unknown stored level: no visit
        return False


def request_visit(
    db: Session, assessment: Assessment, by: User, mode: str | None = None, preferred_times: str = ""
) -> VisitRequest:
    """A tele-visit request for the assessment (asking twice gives the open request), with the kind
    of visit and preferred times when given (the case page's form), audited. Raises
    VisitNotAllowed, before any write, when the level the patient is shown needs care in person."""
    if not visit_allowed(db, assessment):
        raise VisitNotAllowed(assessment.id)
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
