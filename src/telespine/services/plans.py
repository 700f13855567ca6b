"""The saved plan of an assessment: storing a draft's plan answers and score records (append-only,
audited), and building the plan of a saved assessment from what was stored.

Pages and the API call these; callers authorize (telespine.web.policy) and commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from telespine.errors import ClinicalFailure
from telespine.instruments import ScoreRecord
from telespine.program import held_emergency_plan
from telespine.program.exercises import Progress
from telespine.program.guarded import InvalidPlanAnswers, make_plan, parse_plan_answers
from telespine.program.plan import Plan, PlanAnswers, load_plan_texts
from telespine.services import program_week
from telespine.services.audience import assessment_audience
from telespine.store import cases, repo, repo_program
from telespine.store.models import Assessment, Profile, User
from telespine.store.models_program import ScoreRow
from telespine.triage.safety import safety_net_result
from telespine.triage.types import Audience, Disposition, TriageResult


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
    """The one audience rule (services.audience): a child profile or an age under 18."""
    return assessment_audience(assessment)


def saved_plan(db: Session, assessment: Assessment, enabled: frozenset[str] | None) -> tuple[Plan, bool]:
    """(plan, ok) of a saved assessment from its stored findings, result and latest plan answers
    (the parent version for a child); the safety-net plan when they no longer make a plan.

    The plan is made for the level the patient is shown (store.cases.patient_disposition: never
    below an escalation floor or a clinician's override), not only the engine's latest result: a
    case held at a level that needs care in person gets no program and no medicine advice, only
    what that level calls for (see _held_plan)."""
    latest = assessment.latest
    audience = audience_of(assessment)
    result = TriageResult.model_validate(latest.result)
    findings = latest.findings if "age_years" in latest.findings else None
    stored = repo_program.latest_plan_answers(db, assessment.id)
    week, progress = program_week.week_and_progress(db, assessment)  # from the check-ins (issue 14)
    shown = _shown_level(db, assessment)
    try:
        answers = parse_plan_answers(stored.answers if stored is not None else {})
        if shown is not None and shown.level < result.disposition.level:
            return _held_plan(findings, result, shown, answers, audience, enabled, week, progress)
        return make_plan(findings, result, answers, audience, enabled, week=week, progress=progress)
    except (InvalidPlanAnswers, ClinicalFailure):
        return make_plan(None, safety_net_result("plan"), None, audience, None)


def _shown_level(db: Session, assessment: Assessment) -> Disposition | None:
    """The level the patient is shown (None: no case, the engine's result is all there is)."""
    case = cases.case_for_assessment(db, assessment.id)
    if case is None:
        return None
    shown = cases.patient_disposition(db, case)
    try:
        return Disposition(shown)
    except ValueError:  # an unknown stored level counts as the most urgent
        return Disposition.EMERGENCY


def _held_plan(
    findings: dict[str, Any] | None,
    result: TriageResult,
    shown: Disposition,
    answers: PlanAnswers,
    audience: Audience,
    enabled: frozenset[str] | None,
    week: int,
    progress: Progress,
) -> tuple[Plan, bool]:
    """The plan of a case held above the engine's result (a floor or a clinician's override).

    A level where telemedicine still helps (routine) is planned as that level. Emergency gets the
    emergency safety-net plan (only emergency things: no summary, scores, program or follow-up;
    ok True: the page shows it as the plan, with the held-at-level wording). Urgent and prompt get the plan of
    that level (what to do, no program, no medicine advice: build_plan gives neither below
    routine), marked safety_net so the warning signs lead and no "no warning signs" is said.
    """
    held = result.model_copy(update={"disposition": shown})
    if shown.allows_telemedicine:
        return make_plan(findings, held, answers, audience, enabled, week=week, progress=progress)
    if shown is Disposition.EMERGENCY or findings is None:
        return _held_emergency(audience)
    plan, ok = make_plan(findings, held, answers, audience, enabled, week=week, progress=progress)
    if not ok:  # the program code failed: the emergency safety-net plan
        return plan, ok
    try:
        note: str | None = load_plan_texts().held.for_level(shown).for_(audience)
    except Exception:
        note = plan.note
    held_plan = plan.model_copy(
        update={
            "safety_net": True,
            "program": None,
            "medicines": None,
            "medicine_stop": None,
            "note": note,
        }
    )
    return held_plan, True


def _held_emergency(audience: Audience) -> tuple[Plan, bool]:
    """(the held-at-emergency plan, True): the page shows it as the plan, not as a failure; the
    emergency safety-net plan (ok False) if its texts cannot be loaded."""
    try:
        return held_emergency_plan(datetime.now(UTC), audience), True
    except Exception:
        plan, _ = make_plan(None, safety_net_result("plan"), None, audience, None)
        return plan, False
