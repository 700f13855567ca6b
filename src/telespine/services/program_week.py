"""The program's week and progress for a saved assessment, from its case's check-ins (issue 14;
the rule is telespine.program.progress.program_week)."""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy.orm import Session

from telespine.program.exercises import Progress
from telespine.program.progress import CheckinPoint, ProgramWeek, program_week
from telespine.store import diary, repo_care, steps
from telespine.store.models import Assessment, utcnow

log = logging.getLogger("telespine.program")


def for_assessment(db: Session, assessment: Assessment, now: dt.datetime | None = None) -> ProgramWeek:
    """Week 1 and "unknown" without a case or check-ins (the written plan's first week)."""
    case = repo_care.case_for_assessment(db, assessment.id)
    if case is None:
        return ProgramWeek(week=1, progress="unknown", calendar_week=1, weeks_checked_in=0)
    points = [CheckinPoint(day=c.day, pain=c.pain) for c in steps.checkins_for_case(db, case)]
    pain = assessment.versions[0].findings.get("pain_score") if assessment.versions else None
    baseline = float(pain) if isinstance(pain, int | float) and not isinstance(pain, bool) else None
    return program_week(case.treatment_started_on, diary.local_today(case, now or utcnow()), points, baseline)


def week_and_progress(
    db: Session, assessment: Assessment, now: dt.datetime | None = None
) -> tuple[int, Progress]:
    """(week, progress) for make_plan; a failure gives week 1 and "unknown" (the gentlest start)."""
    try:
        stage = for_assessment(db, assessment, now)
    except Exception as exc:
        log.error("program week unavailable: %s", type(exc).__name__)
        return 1, "unknown"
    return stage.week, stage.progress
