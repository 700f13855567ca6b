"""The queue's stored sort key (store/queue_order.py) follows every write that moves a case.

After each step of a follow-up story (an override, a red flag in the diary, a floor from a
message, a new survey, a cleared escalation, a raised and acknowledged case), on SQLite and
PostgreSQL: the key stored on every case equals the key computed from its rows with
care.levels, and the queue page lists the cases in that order with the expected case on top.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from telespine.care import DiaryEntry
from telespine.care.levels import level_of
from telespine.services import followup
from telespine.store import cases, lists, queue_order, repo
from telespine.store.db import make_engine, make_sessionmaker
from telespine.store.models import User
from telespine.store.models_care import CareCase
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


@pytest.fixture
def world(clean_db: str) -> Iterator[tuple[Session, User, list[str], list[str]]]:
    """A clinic, a clinician and four patients, each with a calm (telemedicine) assessment."""
    engine = make_engine(clean_db)
    db = make_sessionmaker(engine)()
    clinic = repo.create_clinic(db, "Queue clinic")
    doc = repo.create_user(db, username="dr_q", password="x" * 12, role="clinician", clinic=clinic)
    case_ids, patients = [], []
    for i in range(4):
        p = repo.create_user(db, username=f"pq{i}", password="x" * 12, role="patient", clinic=clinic)
        a = repo.save_assessment(
            db, profile=repo.ensure_self_profile(db, p), by=p, findings=CALM, result=triage(CALM)
        )
        case = cases.case_for_assessment(db, a.id)
        assert case is not None
        case.treatment_started_on = START.date()
        case_ids.append(case.id)
        patients.append(p.id)
        db.commit()
    try:
        yield db, doc, case_ids, patients
    finally:
        db.close()
        engine.dispose()


def computed_key(db: Session, case: CareCase) -> tuple[int, int, dt.datetime]:
    """The queue key in words: the clinicians' level (care.levels over the case's rows), 0 when
    raised or held by a floor, and the time waited since (raised, else the floor, else the
    latest version)."""
    levels = cases.case_levels(db, case)
    floor_at = levels.floor.raised_at if levels.floor else None
    held = 0 if case.raised_at is not None or levels.floor is not None else 1
    since = case.raised_at or floor_at or case.assessment.latest.created_at
    return level_of(levels.clinician), held, since


def check(db: Session, doc: User) -> list[str]:
    """Every stored key equals the computed one; returns the queue's case ids in page order."""
    db.expire_all()
    every = list(db.scalars(select(CareCase)))
    for case in every:
        assert (case.queue_level, case.queue_held, case.queue_since) == computed_key(db, case), case.id
    expected = sorted((c for c in every if c.status == "open"), key=lambda c: (*computed_key(db, c), c.id))
    got: list[str] = []
    cursor = None
    while True:
        page, cursor = lists.queue_page(db, doc, limit=2, after=cursor)
        got += [i.case.id for i in page]
        for item in page:
            assert item.disposition == cases.case_levels(db, item.case).clinician
        if cursor is None:
            break
    assert got == [c.id for c in expected]
    return got


def _entry(day: dt.date, **flags: str) -> DiaryEntry:
    return DiaryEntry(day=day, pain=5, function=5, medicine_use="as_usual", red_flag_check={**NO, **flags})


@pytest.mark.db
def test_the_stored_order_follows_escalation_override_and_clear(world: Any) -> None:
    db, doc, ids, patients = world
    a, b, c, d = ids
    assert check(db, doc) == ids  # all telemedicine: the longest waiting first

    # A clinician makes d more urgent: d goes to the top, held by the override's floor
    followup.override(db, db.get(CareCase, d), doc, Disposition.PROMPT, "sounded worse on the phone")
    assert check(db, doc)[0] == d

    # A red flag in c's diary: a new emergency version, c raised above d
    now = START + dt.timedelta(days=2)
    patient_c = db.get(User, patients[2])
    out = followup.add_diary_entry(
        db,
        db.get(CareCase, c),
        patient_c,
        _entry(now.date(), bladder_bowel="yes"),
        emergency_number="911",
        now=now,
    )
    assert out.raised
    assert check(db, doc)[:2] == [c, d]

    # A floor from a flagged message on b (store write, committed): b urgent, between c and d
    cases.add_floor(db, db.get(CareCase, b), source="message", level="urgent", reason="flagged message")
    db.commit()
    assert check(db, doc)[:3] == [c, b, d]

    # A calmer override on a's latest version, then a new survey: the override no longer counts
    followup.override(db, db.get(CareCase, a), doc, Disposition.ROUTINE, "seen")
    check(db, doc)
    case_a = db.get(CareCase, a)
    followup.add_assessment_version(db, case_a.assessment, db.get(User, patients[0]), CALM, triage(CALM))
    assert check(db, doc)[-1] == a  # telemedicine again, and now the newest

    # b's escalation cleared: back among the telemedicine cases; c's too: c keeps its engine level
    followup.clear_escalation(db, db.get(CareCase, b), doc, "called: no new symptoms")
    order = check(db, doc)
    assert order.index(b) > order.index(d)
    followup.clear_escalation(db, db.get(CareCase, c), doc, "seen in clinic")
    assert check(db, doc)[0] == c  # its latest version is still an emergency

    # raised and acknowledged, closed: each moves the case
    cases.raise_case(db, db.get(CareCase, a), "patient called")
    db.commit()
    assert check(db, doc).index(a) < check(db, doc).index(b)
    cases.acknowledge(db, db.get(CareCase, a), START)
    db.commit()
    check(db, doc)
    cases.close_case(db, db.get(CareCase, c))
    db.commit()
    assert c not in check(db, doc)


@pytest.mark.db
def test_refresh_repairs_keys_written_around_the_orm(world: Any) -> None:
    db, doc, _, _ = world

    db.execute(update(CareCase).values(queue_level=5, queue_held=1, queue_since=START))
    db.commit()
    db.expire_all()
    assert any((c.queue_since != computed_key(db, c)[2]) for c in db.scalars(select(CareCase)))
    queue_order.refresh_queue_keys(db)
    db.commit()
    check(db, doc)
