"""The saved plan of an assessment: storing a draft's plan answers and score records (append-only,
audited), and building the plan of a saved assessment from what was stored.

Pages and the API call these; callers authorize (telespine.web.policy) and commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from telespine.errors import ClinicalFailure
from telespine.instruments import ScoreRecord
from telespine.program.guarded import InvalidPlanAnswers, make_plan, parse_plan_answers
from telespine.program.plan import Plan, PlanAnswers
from telespine.services import program_week
from telespine.store import repo, repo_program
from telespine.store.models import Assessment, Profile, User
from telespine.store.models_program import ScoreRow
from telespine.triage.safety import safety_net_result
from telespine.triage.types import Audience, TriageResult


@dataclass
class DraftPlan:
    """The plan answers and score records of a draft, checked and ready to store with an assessment."""

    answers: PlanAnswers
    records: list[ScoreRecord] = field(default_factory=list)


def store_plan(db: Session, user: User, assessment: Assessment, plan: DraftPlan) -> None:
    """Store the score records (each with its time) and the plan answers: append-only, audited."""
    rows = repo_program.add_scores(
        db, profile=assessment.profile, by=user, records=plan.records, assessment=assessment
    )
    saved = repo_program.add_plan_answers(
        db, assessment=assessment, by=user, answers=plan.answers.model_dump(mode="json")
    )
    for row in rows:
        repo.audit(
            db,
            actor=user,
            action="create",
            object_type="score_record",
            object_id=row.id,
            profile_id=assessment.profile_id,
        )
    repo.audit(
        db,
        actor=user,
        action="create",
        object_type="plan_answers",
        object_id=saved.id,
        profile_id=assessment.profile_id,
    )


def add_score(db: Session, profile: Profile, by: User, record: ScoreRecord) -> ScoreRow:
    """One questionnaire score stored with its time for a profile (append-only), audited."""
    (row,) = repo_program.add_scores(db, profile=profile, by=by, records=[record])
    repo.audit(
        db, actor=by, action="create", object_type="score_record", object_id=row.id, profile_id=profile.id
    )
    db.commit()
    return row


def audience_of(assessment: Assessment) -> Audience:
    return "pediatric" if assessment.profile.is_child else "adult"


def saved_plan(db: Session, assessment: Assessment, enabled: frozenset[str] | None) -> tuple[Plan, bool]:
    """(plan, ok) of a saved assessment from its stored findings, result and latest plan answers
    (the parent version for a child); the safety-net plan when they no longer make a plan."""
    latest = assessment.latest
    audience = audience_of(assessment)
    result = TriageResult.model_validate(latest.result)
    findings = latest.findings if "age_years" in latest.findings else None
    stored = repo_program.latest_plan_answers(db, assessment.id)
    week, progress = program_week.week_and_progress(db, assessment)  # from the check-ins (issue 14)
    try:
        answers = parse_plan_answers(stored.answers if stored is not None else {})
        return make_plan(findings, result, answers, audience, enabled, week=week, progress=progress)
    except (InvalidPlanAnswers, ClinicalFailure):
        return make_plan(None, safety_net_result("plan"), None, audience, None)
