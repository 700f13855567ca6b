"""services.checkin on SQLite and PostgreSQL: weekly check-ins update the same case through the
follow-up flow, due questionnaires follow the plan's schedule, uploads store steps all or
nothing, the activity rule runs, and reminder unsubscribes count at once."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from telespine.care import DiaryEntry
from telespine.services import checkin as service
from telespine.services import followup
from telespine.store import cases, repo, repo_care, steps
from telespine.store.db import make_engine, make_sessionmaker
from telespine.store.models import Assessment, AssessmentVersion, AuditEvent
from telespine.store.models_care import CareCase, EscalationRecord, ReminderJob
from telespine.store.models_checkin import DailyStepsRow
from telespine.triage import triage

CALM = {"age_years": 40, "location": "low_back", "onset": "gradual", "duration_days": 5, "pain_score": 4}
CHILD = {"age_years": 11, "location": "low_back", "onset": "gradual", "duration_days": 5, "pain_score": 3}
START = dt.date(2026, 3, 2)
NOON = dt.time(12, tzinfo=dt.UTC)
PEG = {"pain": 6, "enjoyment": 5, "activity": 6}
NO_FLAGS = dict.fromkeys((q["id"] for q in service.red_flag_questions("adult")), "no")


@pytest.fixture
def db(clean_db: str) -> Iterator[Session]:
    engine = make_engine(clean_db)
    with make_sessionmaker(engine)() as session:
        yield session
    engine.dispose()


def _case(db: Session, child: bool = False) -> tuple[Any, CareCase]:
    clinic = repo.create_clinic(db, "Check-in clinic")
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


def test_three_weekly_checkins_update_the_same_case_and_show_the_change(db: Session) -> None:
    user, case = _case(db)
    assert service.due_questionnaires(case, [], _at(3)) == []  # before day 7 only the pain is asked
    assert service.due_questionnaires(case, [], _at(7)) == ["peg"]
    outs = []
    for week, pain in ((1, 7), (2, 5), (3, 3)):
        now = _at(7 * week)
        peg = {"pain": pain, "enjoyment": pain, "activity": pain}
        answers = service.CheckinAnswers(pain, 10 - pain, "as_usual", NO_FLAGS, {"peg": peg})
        outs.append(service.checkin(db, case, user, answers, emergency_number="112", now=now))
    assert all(not o.failed and not o.safety_net and o.checkin is not None for o in outs)
    # One assessment, one case, no new version: the check-ins went into the same case.
    assert db.scalar(select(func.count()).select_from(Assessment)) == 1
    assert db.scalar(select(func.count()).select_from(CareCase)) == 1
    assert db.scalar(select(func.count()).select_from(AssessmentVersion)) == 1
    assert [c.pain for c in steps.checkins_for_case(db, case)] == [7, 5, 3]
    assert [(c.label, c.before, c.now, c.direction) for c in outs[2].changes][:2] == [
        ("Your pain", "5", "3", "better"),
        ("PEG score", "5", "3", "better"),
    ]
    assert outs[0].changes[0].direction == "new"
    # The diary, the pain score and PEG hold three dated points each; audited as check-ins.
    scores = cases.scores_for_case(db, case)
    assert [s.primary for s in scores if s.instrument_id == "peg"] == [7, 5, 3]
    assert [s.primary for s in scores if s.instrument_id == "nrs"] == [7, 5, 3]
    assert len(repo_care.diary_for_case(db, case)) == 3
    audits = db.scalars(select(AuditEvent.object_type).where(AuditEvent.action == "create")).all()
    assert audits.count("checkin") == 3 and audits.count("diary_entry") == 3
    view = service.progress(db, case, "Europe/Paris", _at(21))
    titles = [c.svg for c in view.charts]
    assert any("PEG" in t for t in titles) and any("Steps" in t for t in titles)
    peg_chart = next(c for c in view.charts if "PEG" in c.svg)
    assert "decreas" in peg_chart.summary.lower() or "down" in peg_chart.summary.lower()
    assert [w.checkins for w in view.weeks][1:4] == [1, 1, 1]
    # Once PEG is done in the week's window it is no longer due.
    assert service.due_questionnaires(case, scores, _at(22)) == []


def test_a_warning_sign_or_a_question_left_out_raises_the_case_and_shows_the_net(db: Session) -> None:
    user, case = _case(db)
    flags = dict(NO_FLAGS)
    first = next(iter(flags))
    del flags[first]  # left out: counts as "not sure", never as "no"
    out = service.checkin(
        db, case, user, service.CheckinAnswers(4, 6, "as_usual", flags), emergency_number="112", now=_at(8)
    )
    assert out.safety_net and out.signs
    db.refresh(case)
    assert case.raised_at is not None
    assert repo_care.diary_for_case(db, case)[-1].red_flag_check[first] == "unknown"
    flags[first] = "yes"
    out = service.checkin(
        db, case, user, service.CheckinAnswers(4, 6, "as_usual", flags), emergency_number="112", now=_at(9)
    )
    assert out.safety_net
    assert cases.case_levels(db, case).floor is not None  # the level sticks until a clinician clears it


def test_answers_that_do_not_fit_store_nothing(db: Session) -> None:
    user, case = _case(db)
    bad = [
        service.CheckinAnswers(11, 5, "as_usual", NO_FLAGS),
        service.CheckinAnswers(5, 5, "lots", NO_FLAGS),
        service.CheckinAnswers(5, 5, "as_usual", {"nonsense": "no"}),
        service.CheckinAnswers(5, 5, "as_usual", NO_FLAGS, {"peg": {"pain": 5}}),  # half a PEG
        service.CheckinAnswers(5, 5, "as_usual", NO_FLAGS, {"startback": {"x": 1}}),  # not due
    ]
    for answers in bad:
        with pytest.raises(service.CheckinProblem):
            service.checkin(db, case, user, answers, emergency_number="112", now=_at(7))
        db.rollback()
    assert steps.checkins_for_case(db, case) == [] and repo_care.diary_for_case(db, case) == []
    assert cases.scores_for_case(db, case) == []


def test_a_parent_checks_in_for_a_child_in_the_parents_voice(db: Session) -> None:
    user, case = _case(db, child=True)
    questions = service.red_flag_questions("pediatric")
    assert all("child" in q["text"].lower() or "they" in q["text"].lower() for q in questions)
    assert service.due_questionnaires(case, [], _at(7)) == []  # the child's weekly one is the pain score
    flags = {q["id"]: "no" for q in questions}
    out = service.checkin(
        db, case, user, service.CheckinAnswers(3, 8, "none", flags), emergency_number="112", now=_at(7)
    )
    assert out.checkin is not None and out.changes[0].label == "Your child's pain"
    assert [s.instrument_id for s in cases.scores_for_case(db, case)] == ["nrs"]


def _csv(first: dt.date, counts: list[int]) -> bytes:
    rows = [f"{(first + dt.timedelta(days=i)).isoformat()},{n}" for i, n in enumerate(counts)]
    return ("Date,Step count\n" + "\n".join(rows) + "\n").encode()


def test_an_upload_stores_every_day_or_nothing(db: Session) -> None:
    user, case = _case(db)
    out = service.upload_steps(db, case, user, io.BytesIO(_csv(START, [5000, 6000, 7000])), now=_at(4))
    assert out.ok and out.upload is not None and out.upload.days == 3
    assert [d.steps for d in steps.steps_for_profile(db, case.profile_id)] == [5000, 6000, 7000]
    for bad in (b"Date,Step count\n2026-03-05,10\n2026-03-05,20\n", b"\x00\x01 not an export", b""):
        out = service.upload_steps(db, case, user, io.BytesIO(bad), now=_at(5))
        assert not out.ok and out.error
    assert db.scalar(select(func.count()).select_from(DailyStepsRow)) == 3
    # A later export of the same days replaces the counts (the fuller one).
    service.upload_steps(db, case, user, io.BytesIO(_csv(START, [5100, 6100, 7100, 8100])), now=_at(5))
    assert [d.steps for d in steps.steps_for_profile(db, case.profile_id)] == [5100, 6100, 7100, 8100]


def test_falling_steps_with_rising_pain_ask_for_a_review_once(db: Session) -> None:
    user, case = _case(db)
    for day in range(1, 15):  # two calm weeks of diary
        entry = DiaryEntry(
            day=START + dt.timedelta(days=day),
            pain=3,
            function=7,
            medicine_use="none",
            red_flag_check=NO_FLAGS,
        )
        followup.add_diary_entry(db, case, user, entry, emergency_number="112", now=_at(day, 20))
    for day in (15, 17, 19):  # then worse pain in the check-ins
        service.checkin(
            db,
            case,
            user,
            service.CheckinAnswers(6, 4, "more_than_usual", NO_FLAGS),
            emergency_number="112",
            now=_at(day, 20),
        )
    counts = [8000] * 14 + [3000] * 7
    out = service.upload_steps(db, case, user, io.BytesIO(_csv(START, counts)), now=_at(21, 20))
    assert out.ok and out.escalations == ["care.activity_down_pain_up"]
    again = service.upload_steps(db, case, user, io.BytesIO(_csv(START, counts)), now=_at(21, 21))
    assert again.ok and again.escalations == []  # once per local week
    rows = db.scalars(
        select(EscalationRecord).where(EscalationRecord.rule_id == "care.activity_down_pain_up")
    ).all()
    assert len(rows) == 1
    db.refresh(case)
    assert case.raised_at is not None


def test_the_unsubscribe_token_is_signed_and_cancels_waiting_reminders(db: Session) -> None:
    user, case = _case(db)
    token = service.unsubscribe_token("k" * 40, user.id)
    assert service.user_of_token("k" * 40, token) == user.id
    assert service.user_of_token("j" * 40, token) is None
    assert service.user_of_token("k" * 40, token[:-2] + "xx") is None
    assert service.user_of_token("k" * 40, "nobody.abc") is None
    repo_care.set_contact(db, user, "pat@example.org")
    db.commit()
    assert repo_care.enqueue_reminders(db, _at(7, 10), "https://t.test", unsubscribe=lambda u: f"U:{u}") >= 1
    db.commit()
    job = db.scalars(select(ReminderJob)).first()
    assert job is not None and f"U:{user.id}" in job.body and "/checkin" in job.body
    assert service.unsubscribe(db, user.id)
    assert set(db.scalars(select(ReminderJob.status))) == {"cancelled"}
    assert service.reminders_wanted(db, case.id) == (False, user.id)
    assert repo_care.enqueue_reminders(db, _at(8, 19), "https://t.test") == 0
