"""The follow-up flow and the visit gate, called as services on SQLite and PostgreSQL: a red-flag
message counts on the patient's own calendar day (not the server's UTC date), and the services
that book or request a visit check the level the patient is shown themselves."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.orm import Session

from telespine.services import followup
from telespine.store import cases, repo, repo_care
from telespine.store.db import make_engine, make_sessionmaker
from telespine.store.models_care import CareCase
from telespine.triage import triage

CALM = {"age_years": 40, "location": "low_back", "onset": "gradual", "duration_days": 5, "pain_score": 4}
RED_FLAG = "I can't feel my bum when I wipe and I wet myself without noticing"


@pytest.fixture
def db(clean_db: str) -> Iterator[Session]:
    engine = make_engine(clean_db)
    with make_sessionmaker(engine)() as session:
        yield session
    engine.dispose()


def _case(
    db: Session, timezone: str = "UTC", started: dt.date = dt.date(2026, 3, 1)
) -> tuple[Any, Any, CareCase]:
    clinic = repo.create_clinic(db, "Gate clinic")
    user = repo.create_user(db, username="pat", password="x" * 12, role="patient", clinic=clinic)
    doc = repo.create_user(db, username="doc", password="x" * 12, role="clinician", clinic=clinic)
    profile = repo.ensure_self_profile(db, user)
    a = repo.save_assessment(db, profile=profile, by=user, findings=CALM, result=triage(CALM))
    case = repo_care.ensure_case(db, a)
    case.treatment_started_on = started
    case.timezone = timezone
    db.commit()
    return user, doc, case


@pytest.mark.parametrize(
    ("timezone", "now"),
    [
        # 21:30 in New York is already the next day in UTC
        ("America/New_York", dt.datetime(2026, 3, 11, 2, 30, tzinfo=dt.UTC)),
        # 08:00 in Auckland is still the day before in UTC, after a clinician's review this morning
        ("Pacific/Auckland", dt.datetime(2026, 3, 10, 19, 0, tzinfo=dt.UTC)),
    ],
)
def test_a_red_flag_message_counts_on_the_patients_own_day(
    db: Session, timezone: str, now: dt.datetime
) -> None:
    user, _, case = _case(db, timezone)
    # A clinician reviewed the case earlier on the patient's day (services.cases.acknowledge):
    # red flags up to the patient's yesterday are handled.
    cases.acknowledge(db, case, now - dt.timedelta(hours=1))
    db.commit()
    out = followup.post_message(db, case, user, RED_FLAG, emergency_number="911", now=now)
    assert out.flagged and "care.text_red_flag" in out.escalations
    assert out.shown == "emergency" == cases.patient_disposition(db, case)
    floor = cases.case_levels(db, case).floor
    assert floor is not None and floor.level == "emergency"


def _escalate(db: Session, case: CareCase, user: Any) -> None:
    """A medicine diary sign the triage policy does not cover: the engine's result stays
    telemedicine, a floor holds the case at emergency."""
    from telespine.care.medicine_diary import load_medicine_diary_rules
    from telespine.services import medicines

    signs = dict.fromkeys((s.id for s in load_medicine_diary_rules().warning_signs), "no")
    entry = medicines.parse_entry(
        {"day": dt.date.today().isoformat(), "taken": [], "warning_signs": {**signs, "vomiting_blood": "yes"}}
    )
    medicines.record_medicines(db, case, user, entry, emergency_number="911", now=dt.datetime.now(dt.UTC))
    assert case.assessment.latest.disposition == "telemedicine"
    assert cases.patient_disposition(db, case) == "emergency"


def test_request_visit_checks_the_level_the_patient_is_shown(db: Session) -> None:
    from telespine.services import assessments
    from telespine.store.models import VisitRequest

    user, _, case = _case(db, started=dt.date.today())
    assert assessments.visit_allowed(db, case.assessment)
    _escalate(db, case, user)
    assert not assessments.visit_allowed(db, case.assessment)
    for mode in (None, "video"):
        with pytest.raises(assessments.VisitNotAllowed):
            assessments.request_visit(db, case.assessment, user, mode=mode)
    assert db.query(VisitRequest).filter(VisitRequest.assessment_id == case.assessment_id).count() == 0


def test_book_slot_checks_the_level_the_patient_is_shown(db: Session) -> None:
    from telespine.services import visits
    from telespine.store import visits as visit_store
    from telespine.store.models_care import VisitBooking
    from telespine.visits import parse_spans

    user, doc, case = _case(db, started=dt.date.today())
    every_day = {day: parse_spans("00:00-24:00") for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    visit_store.set_hours(db, doc, "UTC", every_day)
    db.commit()
    now = dt.datetime.now(dt.UTC)
    first, second = visit_store.clinic_free_slots(db, case.clinic_id, now, days=14, slot_minutes=20)[:2]
    args: dict[str, Any] = {"now": now, "slot_minutes": 20, "link_base": "http://test"}
    booked = visits.book_slot(db, case, user, doc.id, first.start, "video", **args)
    assert booked.case_id == case.id  # the gate is open at telemedicine
    _escalate(db, case, user)
    with pytest.raises(visits.VisitNotAllowed):
        visits.book_slot(db, case, user, doc.id, second.start, "video", **args)
    assert db.query(VisitBooking).filter(VisitBooking.case_id == case.id).count() == 1
