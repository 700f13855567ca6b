"""services.medicines and services.lessons on SQLite and PostgreSQL (issue 14): a medicine diary
entry goes through the one follow-up flow (audit, escalation stored once, case raised, a sticky
floor, automatic reply, shown level); children never see an adult dose or aspirin; lessons are
offered by STarT Back risk and "read" is noted once, audited."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from telespine.care.medicine_diary import MedicineDiaryEntry, load_medicine_diary_rules
from telespine.content.checks import aspirin_problems, dose_problems
from telespine.instruments import score
from telespine.services import followup, lessons, records
from telespine.services import medicines as service
from telespine.store import cases, repo, repo_care, repo_program
from telespine.store.db import make_engine, make_sessionmaker
from telespine.store.models import AssessmentVersion, AuditEvent
from telespine.store.models_care import CareCase, CareMessage, EscalationRecord
from telespine.store.models_medicines import MedicineDiaryRecord
from telespine.triage import triage

CALM = {"age_years": 40, "location": "low_back", "onset": "gradual", "duration_days": 5, "pain_score": 4}
CHILD = {"age_years": 11, "location": "low_back", "onset": "gradual", "duration_days": 5, "pain_score": 3}
START = dt.date(2026, 3, 2)
SIGNS = [s.id for s in load_medicine_diary_rules().warning_signs]
NONE = dict.fromkeys(SIGNS, "no")


@pytest.fixture
def db(clean_db: str) -> Iterator[Session]:
    engine = make_engine(clean_db)
    with make_sessionmaker(engine)() as session:
        yield session
    engine.dispose()


def _case(db: Session, child: bool = False) -> tuple[Any, CareCase]:
    clinic = repo.create_clinic(db, "Medicine clinic")
    user = repo.create_user(
        db, username="pat", password="x" * 12, role="parent" if child else "patient", clinic=clinic
    )
    profile = (
        repo.add_child(db, user, "Sam", birth_year=2015) if child else repo.ensure_self_profile(db, user)
    )
    findings = CHILD if child else CALM
    a = repo.save_assessment(db, profile=profile, by=user, findings=findings, result=triage(findings))
    case = repo_care.ensure_case(db, a)
    case.treatment_started_on = START
    db.commit()
    return user, case


def _at(day: int, hour: int = 12) -> dt.datetime:
    return dt.datetime.combine(START + dt.timedelta(days=day), dt.time(hour), tzinfo=dt.UTC)


def _entry(day: int, signs: dict[str, str], medicine: str = "ibuprofen") -> MedicineDiaryEntry:
    return service.parse_entry(
        {
            "day": (START + dt.timedelta(days=day)).isoformat(),
            "taken": [{"medicine": medicine, "taken_at": _at(day, 8).isoformat(), "amount": "two"}],
            "warning_signs": signs,
        }
    )


def _count(db: Session, model: Any, *where: Any) -> int:
    return int(db.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def test_vomiting_blood_raises_the_case_to_emergency_and_it_sticks(db: Session) -> None:
    user, case = _case(db)
    before = cases.patient_disposition(db, case)
    assert before in ("telemedicine", "routine")
    out = service.record_medicines(
        db, case, user, _entry(3, {**NONE, "vomiting_blood": "yes"}), emergency_number="112", now=_at(3)
    )
    assert not out.failed and out.entry is not None
    assert out.shown == "emergency" and out.emergency and out.safety_net and out.signs
    assert out.level == "emergency" and "care.medicine_warning_sign" in out.escalations
    assert any("Vomiting blood" in t and "112" in t for t in out.tell)
    floor = cases.case_levels(db, case).floor
    assert floor is not None and floor.level == "emergency" and floor.source == "diary"
    db.refresh(case)
    assert case.raised_at is not None
    assert _count(db, AuditEvent, AuditEvent.object_type == "medicine_diary_entry") == 1
    reply = db.scalar(select(CareMessage).where(CareMessage.case_id == case.id, CareMessage.automatic))
    assert reply is not None and "Vomiting blood" in reply.body and "medicine diary" in reply.body
    # The same sign again the same day: stored, but the escalation only once (by key).
    again = service.record_medicines(
        db, case, user, _entry(3, {**NONE, "vomiting_blood": "yes"}), emergency_number="112", now=_at(3, 13)
    )
    assert again.shown == "emergency"
    assert _count(db, EscalationRecord, EscalationRecord.rule_id == "care.medicine_warning_sign") == 1
    assert _count(db, MedicineDiaryRecord, MedicineDiaryRecord.case_id == case.id) == 2
    # A calm entry the next day does not lower it; only a clinician's clear does.
    calm = service.record_medicines(db, case, user, _entry(4, NONE), emergency_number="112", now=_at(4))
    assert calm.shown == "emergency" and calm.level is None and calm.tell == []


def test_a_sign_after_a_clear_on_the_same_day_raises_the_case_again(db: Session) -> None:
    user, case = _case(db)
    clinician = repo.create_user(db, username="doc", password="x" * 12, role="clinician", clinic=user.clinic)
    service.record_medicines(
        db, case, user, _entry(3, {**NONE, "black_stools": "yes"}), emergency_number="911", now=_at(3, 9)
    )
    assert cases.patient_disposition(db, case) == "urgent"
    followup.clear_escalation(db, case, clinician, "Seen: iron tablets.", now=_at(3, 10))
    assert cases.case_levels(db, case).floor is None
    # The worker's round after the clear does not put the old sign back.
    followup.run_followup(db, case, _at(3, 11))
    db.commit()
    assert cases.case_levels(db, case).floor is None
    out = service.record_medicines(
        db, case, user, _entry(3, {**NONE, "black_stools": "yes"}), emergency_number="911", now=_at(3, 12)
    )
    assert out.shown == "urgent" and out.safety_net
    floor = cases.case_levels(db, case).floor
    assert floor is not None and floor.level == "urgent"


def test_an_unanswered_sign_counts_as_not_sure_never_as_no(db: Session) -> None:
    user, case = _case(db)
    signs = {k: v for k, v in NONE.items() if k != "black_stools"}
    out = service.record_medicines(db, case, user, _entry(2, signs), emergency_number="911", now=_at(2))
    assert out.level == "prompt" and out.shown == "prompt" and not out.emergency
    assert out.tell and "Black poo" in out.tell[0]


def test_no_warning_sign_changes_nothing_but_the_diary(db: Session) -> None:
    user, case = _case(db)
    before = cases.patient_disposition(db, case)
    out = service.record_medicines(db, case, user, _entry(1, NONE), emergency_number="911", now=_at(1))
    assert out.shown == before and not out.safety_net and not out.raised and out.tell == []
    assert cases.case_levels(db, case).floor is None
    assert _count(db, CareMessage, CareMessage.case_id == case.id) == 0
    assert records.medicine_lines(db, case, user, "adult")[0].taken[0]["label"] == "Ibuprofen"


def test_fainting_goes_through_re_triage(db: Session) -> None:
    user, case = _case(db)
    versions = _count(db, AssessmentVersion, AssessmentVersion.assessment_id == case.assessment_id)
    out = service.record_medicines(
        db, case, user, _entry(2, {**NONE, "fainting": "yes"}), emergency_number="911", now=_at(2)
    )
    db.refresh(case)
    assert (
        _count(db, AssessmentVersion, AssessmentVersion.assessment_id == case.assessment_id) == versions + 1
    )
    assert case.assessment.latest.findings["fainting_or_collapse"] is True
    assert out.shown == "emergency"


def test_an_entry_that_does_not_fit_stores_nothing(db: Session) -> None:
    user, case = _case(db)
    with pytest.raises(service.MedicineProblem):
        _entry(1, NONE, medicine="snake_oil")
    with pytest.raises(service.MedicineProblem):
        service.parse_entry({"day": "2026-03-03", "warning_signs": {"made_up": "yes"}})
    with pytest.raises(service.MedicineProblem):
        service.record_medicines(db, case, user, _entry(9, NONE), emergency_number="911", now=_at(2))
    assert _count(db, MedicineDiaryRecord) == 0


def test_a_child_gets_no_dose_and_aspirin_is_flagged(db: Session) -> None:
    user, case = _case(db, child=True)
    assert followup.audience_of(case) == "pediatric"
    out = service.record_medicines(
        db, case, user, _entry(2, NONE, medicine="aspirin"), emergency_number="911", now=_at(2)
    )
    assert "care.aspirin_under_16" in out.escalations and out.raised
    assert any("under 16" in t for t in out.tell)
    plan = service.reduce_plan(db, case)
    assert plan is not None and plan.audience == "pediatric"
    texts = [line for m in plan.medicines for line in m.lines] + [plan.nsaid_limit, *plan.watch_for]
    assert (
        texts
        and [t for t in texts if dose_problems(t)] == []
        and [t for t in texts if aspirin_problems(t)] == []
    )
    assert all("your child" in q["text"].lower() for q in service.warning_questions("pediatric"))


def test_an_adult_plan_to_stop_follows_the_saved_medicine_answers(db: Session) -> None:
    user, case = _case(db)
    unknown = service.reduce_plan(db, case)
    assert unknown is not None and not any(
        "mg" in line for m in unknown.medicines for line in m.lines if m.medicine == "ibuprofen"
    )
    answers = {
        "medicines": dict.fromkeys(
            (
                "stomach_ulcer_or_bleeding",
                "kidney_disease",
                "heart_disease",
                "liver_disease",
                "blood_thinners",
                "asthma_worse_with_nsaids",
                "other_pain_medicines",
            ),
            "no",
        )
        | {"pregnancy": "no"}
    }
    repo_program.add_plan_answers(db, assessment=case.assessment, by=user, answers=answers)
    db.commit()
    plan = service.reduce_plan(db, case)
    assert plan is not None and plan.starts_on == START
    ibuprofen = next(m for m in plan.medicines if m.medicine == "ibuprofen")
    assert ibuprofen.status == "dose" and len(ibuprofen.lines) >= 3


STARTBACK_HIGH = {
    "q1_leg_pain": "agree",
    "q2_neck_shoulder": "agree",
    "q3_walking": "agree",
    "q4_dressing": "agree",
    "q5_activity_safe": "agree",
    "q6_worry": "agree",
    "q7_catastrophising": "agree",
    "q8_enjoyment": "agree",
    "q9_bothersome": "extremely",
}
STARTBACK_LOW = dict.fromkeys(STARTBACK_HIGH, "disagree") | {"q9_bothersome": "not_at_all"}


def test_lessons_follow_the_latest_startback_risk_and_read_is_noted_once(db: Session) -> None:
    user, case = _case(db)
    assert lessons.risk_of(db, case) == "not_assessed" and lessons.offered(db, case)  # never none
    low = score("startback", STARTBACK_LOW, _at(1))
    repo_program.add_scores(
        db, profile=case.assessment.profile, by=user, records=[low], assessment=case.assessment
    )
    db.commit()
    assert lessons.risk_of(db, case) == "low" and lessons.offered(db, case) == []
    with pytest.raises(lessons.UnknownLesson):
        lessons.mark_read(db, case, user, "hurt_and_harm")
    high = score("startback", STARTBACK_HIGH, _at(8))
    repo_program.add_scores(
        db, profile=case.assessment.profile, by=user, records=[high], assessment=case.assessment
    )
    db.commit()
    offered = lessons.offered(db, case)
    assert lessons.risk_of(db, case) == "high" and len(offered) == 6
    lessons.mark_read(db, case, user, offered[0].id, now=_at(9))
    lessons.mark_read(db, case, user, offered[0].id, now=_at(10))
    notes = lessons.read_notes(db, case)
    assert [(n.lesson_id, n.current) for n in notes] == [(offered[0].id, True)]
    assert notes[0].read_at == _at(9)
    assert _count(db, AuditEvent, AuditEvent.action == "read_lesson") == 1
    assert lessons.read_ids(db, case) == {offered[0].id}


def test_other_side_effects_in_own_words_are_screened(db: Session) -> None:
    user, case = _case(db)
    calm = service.parse_entry({"day": "2026-03-04", "warning_signs": NONE, "other_effects": "A bit sleepy."})
    out = service.record_medicines(db, case, user, calm, emergency_number="911", now=_at(2))
    assert not out.raised and not out.safety_net
    worrying = service.parse_entry(
        {
            "day": "2026-03-04",
            "warning_signs": NONE,
            "other_effects": "Since this morning I cannot feel my bottom or groin and I cannot pee.",
        }
    )
    out = service.record_medicines(db, case, user, worrying, emergency_number="911", now=_at(2, 13))
    assert out.raised and out.safety_net and out.signs
    db.refresh(case)
    # the text red-flag rule of messages and diary notes raised it (it re-triaged the case)
    assert case.raised_reason == "Red flag in a message or diary note"
    assert "care.text_red_flag" in out.escalations


def test_a_red_flag_in_other_side_effects_re_triages_and_holds_the_case_like_a_message(db: Session) -> None:
    """The diary's free text goes through the text red-flag rule of messages and diary notes: a
    new version made by the system (audited), a floor at its level, the case raised to the top
    of the queue; every view (shown level, visit gate) follows."""
    from telespine.web.policy import call_allowed

    user, case = _case(db)
    assert call_allowed(case)
    entry = service.parse_entry(
        {
            "day": "2026-03-04",
            "warning_signs": NONE,
            "other_effects": "I can't feel my bum when I wipe and I wet myself without noticing",
        }
    )
    out = service.record_medicines(db, case, user, entry, emergency_number="911", now=_at(2, 13))
    assert out.shown == "emergency" and out.emergency and out.safety_net and out.signs
    assert "care.text_red_flag" in out.escalations
    levels = cases.case_levels(db, case)
    assert levels.patient == "emergency" and levels.clinician == "emergency"
    assert levels.floor is not None and levels.floor.level == "emergency" and levels.floor.source == "diary"
    version = db.scalars(
        select(AssessmentVersion)
        .where(AssessmentVersion.assessment_id == case.assessment_id)
        .order_by(AssessmentVersion.version.desc())
    ).first()
    assert version is not None and version.version == 2 and version.created_by_id is None
    assert version.disposition == "emergency" and version.trigger == "diary:care.text_red_flag"
    assert _count(db, AuditEvent, AuditEvent.action == "retriage") == 1
    db.expire_all()
    fresh = db.get(CareCase, case.id)
    assert fresh is not None and fresh.raised_at is not None and fresh.queue_level == 1
    assert not call_allowed(fresh)
