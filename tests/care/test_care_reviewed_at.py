"""A clinician's review skips a report by WHEN it was stored (care_cases.red_flags_reviewed_at),
never by the day it is for, on SQLite and PostgreSQL: a missed day filled in after an
acknowledgement, or a red-flag message after a time-zone change, still escalates; a report
stored before the review is not escalated again. One rule (services.followup.handled) for
diary check answers, diary notes, messages and medicine entries."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.orm import Session

from telespine.care.diary import DiaryEntry
from telespine.care.escalation import load_escalation_rules
from telespine.care.medicine_diary import load_medicine_diary_rules
from telespine.services import assessments, followup
from telespine.services import cases as case_svc
from telespine.services import medicines as medicine_svc
from telespine.store import cases, diary, medicines, messages, repo, repo_care
from telespine.store.db import make_engine, make_sessionmaker
from telespine.store.models_care import CareCase
from telespine.triage import triage

CALM = {"age_years": 40, "location": "low_back", "onset": "gradual", "duration_days": 5, "pain_score": 4}
RED_FLAG = "I can't feel my bum when I wipe and I wet myself without noticing"
MORNING = dt.datetime(2026, 12, 2, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def db(clean_db: str) -> Iterator[Session]:
    engine = make_engine(clean_db)
    with make_sessionmaker(engine)() as session:
        yield session
    engine.dispose()


def _case(db: Session, timezone: str = "Europe/London") -> tuple[Any, Any, CareCase]:
    clinic = repo.create_clinic(db, "Review clinic")
    user = repo.create_user(db, username="pat", password="x" * 12, role="patient", clinic=clinic)
    doc = repo.create_user(db, username="doc", password="x" * 12, role="clinician", clinic=clinic)
    profile = repo.ensure_self_profile(db, user)
    a = repo.save_assessment(db, profile=profile, by=user, findings=CALM, result=triage(CALM))
    case = repo_care.ensure_case(db, a)
    case.treatment_started_on = dt.date(2026, 11, 20)
    case.timezone = timezone
    db.commit()
    return user, doc, case


def _answers(**flags: str) -> dict[str, str]:
    return {**dict.fromkeys((q.id for q in load_escalation_rules().red_flag_check), "no"), **flags}


def _diary(day: dt.date, note: str | None = None, **flags: str) -> DiaryEntry:
    return DiaryEntry.model_validate(
        {
            "day": day,
            "pain": 5,
            "function": 5,
            "medicine_use": "none",
            "red_flag_check": _answers(**flags),
            "note": note,
        }
    )


def test_yesterdays_missed_diary_after_an_acknowledgement_escalates(db: Session) -> None:
    user, doc, case = _case(db)
    case_svc.acknowledge(db, case, doc)  # now: red_flags_reviewed_at is this instant
    assert case.red_flags_reviewed_at is not None
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    yesterday = diary.local_today(case, later) - dt.timedelta(days=1)
    out = followup.add_diary_entry(
        db, case, user, _diary(yesterday, bladder_bowel="yes"), emergency_number="999", now=later
    )
    assert out.escalations == ["care.diary_red_flag"]
    assert out.shown == "emergency" and out.safety_net
    floor = cases.case_levels(db, case).floor
    assert floor is not None and floor.level == "emergency"
    assert not assessments.visit_allowed(db, case.assessment)
    assert case.queue_level == 1


def test_a_red_flag_message_after_a_time_zone_change_escalates(db: Session) -> None:
    user, _, case = _case(db, timezone="UTC")
    now = dt.datetime(2026, 12, 2, 3, 0, tzinfo=dt.UTC)
    cases.acknowledge(db, case, now)  # the old rule: reviewed through 1 Dec (UTC)
    db.commit()
    repo_care.set_timezone(db, [case.profile_id], "America/Los_Angeles")  # 1 Dec, 19:00 local
    db.commit()
    db.refresh(case)
    later = now + dt.timedelta(minutes=5)
    out = followup.post_message(db, case, user, RED_FLAG, emergency_number="911", now=later)
    assert out.flagged and "care.text_red_flag" in out.escalations
    assert out.shown == "emergency" == cases.patient_disposition(db, case)
    floor = cases.case_levels(db, case).floor
    assert floor is not None and floor.level == "emergency"


def _store(kind: str, db: Session, case: CareCase, user: Any, at: dt.datetime) -> str:
    """Store a red-flag report of this kind without its follow-up (as if its check had not run)."""
    day = diary.local_today(case, at)
    if kind == "diary_answers":
        return diary.add_diary_row(db, case, user, _diary(day, bladder_bowel="yes"), at).id
    if kind == "diary_note":
        row = diary.add_diary_row(db, case, user, _diary(day, note=RED_FLAG), at)
        doc, _ = followup.screen(RED_FLAG, followup.audience_of(case))
        row.note_screening, row.note_flagged = doc, True
        db.flush()
        return row.id
    if kind == "message":
        msg = messages.add_message(db, case, user, RED_FLAG, at)
        doc, _ = followup.screen(RED_FLAG, followup.audience_of(case))
        messages.set_screening(db, msg, doc, True)
        return msg.id
    signs = dict.fromkeys((s.id for s in load_medicine_diary_rules().warning_signs), "no")
    entry = medicine_svc.parse_entry(
        {"day": day.isoformat(), "taken": [], "warning_signs": {**signs, "vomiting_blood": "yes"}}
    )
    return medicines.add_medicine_row(db, case, user, entry, "emergency", at).id


KINDS = ["diary_answers", "diary_note", "message", "medicine"]


@pytest.mark.parametrize("kind", KINDS)
def test_a_report_stored_before_the_review_is_not_escalated_again(db: Session, kind: str) -> None:
    user, _, case = _case(db)
    _store(kind, db, case, user, MORNING - dt.timedelta(minutes=1))
    cases.acknowledge(db, case, MORNING)
    db.commit()
    follow = followup.run_followup(db, case, MORNING + dt.timedelta(hours=1))
    db.commit()
    assert follow.escalations == [] and not follow.raised
    assert case.raised_at is None and case.assessment.latest.version == 1


@pytest.mark.parametrize("kind", KINDS)
def test_a_report_stored_after_the_review_escalates_also_for_the_same_day(db: Session, kind: str) -> None:
    user, _, case = _case(db)
    cases.acknowledge(db, case, MORNING)
    db.commit()
    _store(kind, db, case, user, MORNING + dt.timedelta(seconds=1))
    follow = followup.run_followup(db, case, MORNING + dt.timedelta(hours=1))
    db.commit()
    assert follow.escalations and follow.raised and case.raised_at is not None
    assert cases.patient_disposition(db, case) == "emergency"


@pytest.mark.parametrize("kind", ["diary_answers", "message"])
def test_the_report_a_write_just_stored_counts_whatever_was_reviewed_meanwhile(
    db: Session, kind: str
) -> None:
    # A review that came in between the save and its check has not seen the report.
    user, _, case = _case(db)
    ref = _store(kind, db, case, user, MORNING)
    cases.acknowledge(db, case, MORNING + dt.timedelta(milliseconds=5))
    db.commit()
    follow = followup.run_followup(db, case, MORNING + dt.timedelta(milliseconds=10), fresh=(ref,))
    assert follow.escalations and cases.patient_disposition(db, case) == "emergency"


def test_reviewed_at_is_the_later_of_acknowledgement_and_clearing(db: Session) -> None:
    _, doc, case = _case(db)
    assert followup.reviewed_at(case, cases.floors_for_case(db, case)) is None
    cases.acknowledge(db, case, MORNING)
    db.commit()
    db.expire_all()
    assert followup.reviewed_at(case, cases.floors_for_case(db, case)) == MORNING
    cases.add_floor(db, case, source="message", level="emergency", reason="test", now=MORNING)
    db.commit()
    cleared = MORNING + dt.timedelta(hours=2)
    followup.clear_escalation(db, case, doc, "called: fine", cleared)
    assert followup.reviewed_at(case, cases.floors_for_case(db, case)) == cleared
    assert case.red_flags_reviewed_at == cleared
    assert followup.handled(MORNING, MORNING, "x") and not followup.handled(
        MORNING + dt.timedelta(microseconds=1), MORNING, "x"
    )
    assert not followup.handled(MORNING, MORNING, "x", fresh=("x",))
