"""Care repository on SQLite and PostgreSQL: no double booking under a race, atomic claims,
append-only overrides, escalations acted on once with a frozen clock, reminder jobs claimed once."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from sqlalchemy import func, select

from telespine.care import DiaryEntry
from telespine.services import followup
from telespine.store import repo, repo_care
from telespine.store.db import make_engine, make_sessionmaker
from telespine.store.models import AppendOnlyError, Assessment, User
from telespine.store.models_care import CareCase, DispositionOverride, EscalationRecord, ReminderJob
from telespine.triage import triage
from telespine.triage.types import Disposition

CALM = {"age_years": 40, "location": "low_back", "onset": "gradual", "duration_days": 5, "pain_score": 4}
NO = {
    "saddle_numbness": "no",
    "bladder_bowel": "no",
    "leg_weakness": "no",
    "leg_numbness": "no",
    "walking": "no",
    "fever": "no",
    "chest_breathing_fainting": "no",
}
START = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)


def make_world(url: str, patients: int = 1) -> dict[str, Any]:
    """A clinic with two clinicians and patients with a calm (telemedicine) assessment each."""
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    with factory() as db:
        clinic = repo.create_clinic(db, "Test clinic")
        docs = [
            repo.create_user(db, username=f"doc{i}", password="x" * 12, role="clinician", clinic=clinic)
            for i in range(2)
        ]
        case_ids, user_ids = [], []
        for i in range(patients):
            p = repo.create_user(db, username=f"pat{i}", password="x" * 12, role="patient", clinic=clinic)
            a = repo.save_assessment(
                db, profile=repo.ensure_self_profile(db, p), by=p, findings=CALM, result=triage(CALM)
            )
            case = repo_care.ensure_case(db, a)
            case.treatment_started_on = START.date()
            case_ids.append(case.id)
            user_ids.append(p.id)
        db.commit()
        out = {
            "engine": engine,
            "factory": factory,
            "docs": [d.id for d in docs],
            "cases": case_ids,
            "patients": user_ids,
        }
    return out


@pytest.fixture
def world(clean_db: str) -> Any:
    w = make_world(clean_db, patients=3)
    yield w
    w["engine"].dispose()


def test_booking_race_exactly_one_wins(world: dict[str, Any]) -> None:
    slot = (dt.datetime.now(dt.UTC) + dt.timedelta(days=7)).replace(
        hour=10, minute=0, second=0, microsecond=0
    )
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def book(case_id: str) -> None:
        with world["factory"]() as db:
            case = repo_care.get_case(db, case_id)
            doc = db.get(User, world["docs"][0])
            barrier.wait()
            try:
                repo_care.book_visit(db, case=case, clinician=doc, slot_start=slot, mode="video")
                db.commit()
                outcomes.append("won")
            except repo_care.SlotTaken:
                db.rollback()
                outcomes.append("taken")

    threads = [threading.Thread(target=book, args=(c,)) for c in world["cases"][:2]]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(outcomes) == ["taken", "won"]
    with world["factory"]() as db:
        # Another clinician may take the same time; the same clinician a different one.
        other = db.get(User, world["docs"][1])
        case = repo_care.get_case(db, world["cases"][2])
        repo_care.book_visit(db, case=case, clinician=other, slot_start=slot, mode="phone")
        repo_care.book_visit(
            db,
            case=case,
            clinician=db.get(User, world["docs"][0]),
            slot_start=slot + dt.timedelta(minutes=20),
            mode="phone",
        )
        db.commit()


def test_claim_race_one_clinician_wins(world: dict[str, Any]) -> None:
    barrier = threading.Barrier(2)
    results: dict[str, bool] = {}

    def claim(doc_id: str) -> None:
        with world["factory"]() as db:
            case = repo_care.get_case(db, world["cases"][0])
            doc = db.get(User, doc_id)
            barrier.wait()
            results[doc_id] = repo_care.claim_case(db, case, doc)
            db.commit()

    threads = [threading.Thread(target=claim, args=(d,)) for d in world["docs"]]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results.values()) == [False, True]
    with world["factory"]() as db:
        winner = next(d for d, won in results.items() if won)
        assert db.get(CareCase, world["cases"][0]).claimed_by_id == winner


def test_override_is_append_only_feedback(world: dict[str, Any]) -> None:
    with world["factory"]() as db:
        case = repo_care.get_case(db, world["cases"][0])
        doc = db.get(User, world["docs"][0])
        row = followup.override(db, case, doc, Disposition.PROMPT, "limp on video")
        assert repo_care.effective_disposition(db, case) == "prompt"
        assert case.assessment.latest.disposition == "telemedicine"  # the engine's result stays
        assert (
            row.ruleset_sha256 == case.assessment.latest.ruleset_sha256
            and row.from_disposition == "telemedicine"
        )
        row.reason = "changed"
        with pytest.raises(AppendOnlyError):
            db.flush()
        db.rollback()
        assert [r.to_disposition for r in repo_care.ruleset_feedback(db, doc.clinic_id)] == ["prompt"]
        assert repo_care.ruleset_feedback(db, "no-such-clinic") == []


def _entry(day: dt.date, pain: int, **flags: str) -> DiaryEntry:
    return DiaryEntry(day=day, pain=pain, function=5, medicine_use="as_usual", red_flag_check={**NO, **flags})


def test_diary_red_flag_retriages_once(world: dict[str, Any]) -> None:
    now = START + dt.timedelta(days=3)
    with world["factory"]() as db:
        case = repo_care.get_case(db, world["cases"][0])
        patient = db.get(User, world["patients"][0])
        follow = followup.add_diary_entry(
            db, case, patient, _entry(now.date(), 5, bladder_bowel="yes"), emergency_number="911", now=now
        )
        assert follow.escalations == ["care.diary_red_flag"] and follow.emergency and follow.safety_net
        assert follow.result is not None and follow.result.disposition is Disposition.EMERGENCY
        assert case.assessment.latest.version == 2 and case.raised_at == now
        again = followup.run_followup(db, case, now + dt.timedelta(hours=1))
        db.commit()
        assert again.escalations == [] and again.result is None
        assert case.assessment.latest.version == 2
        # Reviewed: nothing new fires; a different red flag later the same day still raises the case.
        repo_care.acknowledge(db, case, now + dt.timedelta(hours=1, minutes=30))
        assert case.raised_at is None
        quiet = followup.run_followup(db, case, now + dt.timedelta(hours=2))
        assert quiet.escalations == [] and not quiet.raised and case.raised_at is None
        later = now + dt.timedelta(hours=3)
        follow = followup.add_diary_entry(
            db, case, patient, _entry(now.date(), 5, fever="yes"), emergency_number="911", now=later
        )
        assert follow.raised and case.raised_at == later and case.assessment.latest.version == 3
        assert case.assessment.latest.findings["fever"] is True


def test_time_rules_with_a_frozen_clock(world: dict[str, Any]) -> None:
    with world["factory"]() as db:
        case = repo_care.get_case(db, world["cases"][1])
        patient = db.get(User, world["patients"][1])
        for d in range(3):  # no improvement: baseline 6, still 6
            day = START.date() + dt.timedelta(days=d)
            followup.add_diary_entry(
                db, case, patient, _entry(day, 6), emergency_number="911", now=START + dt.timedelta(days=d)
            )
        db.commit()
        at_6 = START + dt.timedelta(weeks=6, hours=1)
        follow = followup.run_followup(db, case, at_6)
        assert "care.no_improvement_6_weeks" in [e.rule_id for e in follow.escalations]
        assert case.raised_reason and case.assessment.latest.version == 1  # review only
        assert followup.run_followup(db, case, at_6 + dt.timedelta(days=1)).escalations == []
        at_12 = START + dt.timedelta(weeks=12, hours=1)
        follow = followup.run_followup(db, case, at_12)
        db.commit()
        assert "care.no_improvement_12_weeks" in [e.rule_id for e in follow.escalations]
        assert case.assessment.latest.disposition == "routine"  # in-person referral
        keys = db.scalars(select(EscalationRecord.key).where(EscalationRecord.case_id == case.id)).all()
        assert len(keys) == len(set(keys))


def test_worsening_trend_alerts(world: dict[str, Any]) -> None:
    with world["factory"]() as db:
        case = repo_care.get_case(db, world["cases"][2])
        patient = db.get(User, world["patients"][2])
        for d, pain in enumerate((3, 4, 5, 6)):
            now = START + dt.timedelta(days=d, hours=1)
            out = followup.add_diary_entry(
                db, case, patient, _entry(now.date(), pain), emergency_number="911", now=now
            )
        assert out.escalations == ["care.pain_rising_3_days"] and case.raised_at is not None
        assert not out.safety_net  # an alert for the clinician, not an emergency for the patient


def test_reminder_jobs_queued_once_and_claimed_once(world: dict[str, Any]) -> None:
    now = START + dt.timedelta(days=1, hours=8)  # day 1, after 18:00 UTC: the diary reminder is due
    with world["factory"]() as db:
        for uid in world["patients"]:
            repo_care.set_contact(db, db.get(User, uid), f"{uid}@example.org")
        db.commit()
        assert repo_care.enqueue_reminders(db, now, "https://telespine.test") == 3
        assert repo_care.enqueue_reminders(db, now, "https://telespine.test") == 0
        db.commit()
        job = db.scalars(select(ReminderJob)).first()
        assert job is not None and "https://telespine.test/care/cases/" in job.body
    with world["factory"]() as a, world["factory"]() as b:
        first = repo_care.claim_jobs(a, "w1", now, limit=2)
        second = repo_care.claim_jobs(b, "w2", now)
        assert len(first) == 2 and len(second) == 1
        assert not {j.id for j in first} & {j.id for j in second}
        assert repo_care.claim_jobs(a, "w3", now) == []
    with world["factory"]() as db:
        n = db.scalar(select(func.count()).select_from(ReminderJob).where(ReminderJob.status == "claimed"))
        assert n == 3


def test_case_per_assessment_is_unique(world: dict[str, Any]) -> None:
    with world["factory"]() as db:
        a = db.scalars(select(Assessment)).first()
        assert a is not None
        assert repo_care.ensure_case(db, a).id == repo_care.ensure_case(db, a).id
        assert db.scalar(select(func.count()).select_from(DispositionOverride)) == 0


def test_check_slot_grid_range_and_naive_times() -> None:
    now = dt.datetime(2026, 11, 23, 9, 5, tzinfo=dt.UTC)
    ok = repo_care.check_slot(dt.datetime(2026, 11, 24, 10, 40, tzinfo=dt.UTC), now)
    assert ok == dt.datetime(2026, 11, 24, 10, 40, tzinfo=dt.UTC)
    # naive times are read as UTC; other offsets are converted before the grid check
    assert repo_care.check_slot(dt.datetime(2026, 11, 24, 10, 40), now) == ok
    plus2 = dt.timezone(dt.timedelta(hours=2))
    assert repo_care.check_slot(dt.datetime(2026, 11, 24, 12, 40, tzinfo=plus2), now) == ok
    half = dt.timezone(dt.timedelta(hours=5, minutes=30))  # 16:10 +05:30 is 10:40 UTC
    assert repo_care.check_slot(dt.datetime(2026, 11, 24, 16, 10, tzinfo=half), now) == ok
    for bad in (
        dt.datetime(2026, 11, 24, 10, 50, tzinfo=dt.UTC),  # overlaps 10:40-11:00
        dt.datetime(2026, 11, 24, 10, 40, 1, tzinfo=dt.UTC),
        dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC),  # already begun
        dt.datetime(2027, 11, 24, 10, 40, tzinfo=dt.UTC),  # more than 365 days ahead
        dt.datetime(1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=14))),  # OverflowError before
        dt.datetime(9999, 12, 31, 23, 40, tzinfo=dt.timezone(dt.timedelta(hours=-14))),
    ):
        with pytest.raises(repo_care.BadSlot):
            repo_care.check_slot(bad, now)
    assert repo_care.check_slot(dt.datetime(2026, 11, 24, 10, 30, tzinfo=dt.UTC), now, slot_minutes=30)
    with pytest.raises(repo_care.BadSlot):
        repo_care.check_slot(ok, now, slot_minutes=30)
