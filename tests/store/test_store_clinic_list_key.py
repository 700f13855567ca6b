"""The /clinic table's stored sort key (assessments.list_clinic_id, list_level; store/queue_order.py)
follows every write that moves it, on SQLite and PostgreSQL.

After new assessments, a patient's new version, a system re-triage and a clinician's override,
the key stored on every assessment equals the key computed from its rows (the profile's clinic,
the level of the latest version's engine result), and the /clinic pages list the assessments in
the order /clinic always had. A row whose key is missing still shows, first; migration 0018
fills the key of existing rows; the page reads the index, not the clinic's whole table.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from telespine.care.levels import level_of
from telespine.services import followup
from telespine.store import cases, lists, repo
from telespine.store.db import downgrade, make_engine, make_sessionmaker, upgrade
from telespine.store.models import Assessment, User
from telespine.triage import triage
from telespine.triage.types import Disposition

CALM = {"age_years": 40, "location": "low_back", "onset": "gradual", "duration_days": 5, "pain_score": 4}
VIGNETTES = Path(__file__).resolve().parents[1] / "triage" / "data" / "vignettes.jsonl"


def _findings_for(expected: str) -> dict[str, Any]:
    for line in VIGNETTES.read_text().splitlines():
        row = json.loads(line)
        if row["expected"] == expected:
            return dict(row["findings"])
    raise AssertionError(expected)


@pytest.fixture
def world(clean_db: str) -> Iterator[tuple[Session, User, User, list[User]]]:
    engine = make_engine(clean_db)
    db = make_sessionmaker(engine)()
    clinic = repo.create_clinic(db, "List clinic")
    other = repo.create_clinic(db, "Other clinic")
    doc = repo.create_user(db, username="dr_l", password="x" * 12, role="clinician", clinic=clinic)
    other_doc = repo.create_user(db, username="dr_o", password="x" * 12, role="clinician", clinic=other)
    patients = [
        repo.create_user(db, username=f"pl{i}", password="x" * 12, role="patient", clinic=clinic)
        for i in range(3)
    ]
    stranger = repo.create_user(db, username="po", password="x" * 12, role="patient", clinic=other)
    for p in [*patients, stranger]:
        profile = repo.ensure_self_profile(db, p)
        repo.save_assessment(db, profile=profile, by=p, findings=CALM, result=triage(CALM))
        db.commit()
    try:
        yield db, doc, other_doc, patients
    finally:
        db.close()
        engine.dispose()


def check(db: Session, doc: User) -> list[str]:
    """Every stored key equals the computed one; returns the /clinic ids in page order, read one
    and two rows at a time (both must agree with the order computed in Python)."""
    db.expire_all()
    every = list(db.scalars(select(Assessment)))
    for a in every:
        assert (a.list_clinic_id, a.list_level) == (a.profile.clinic_id, level_of(a.latest.disposition)), a.id
    mine = [a for a in every if a.profile.clinic_id == doc.clinic_id]
    mine.sort(key=lambda a: a.id, reverse=True)
    mine.sort(key=lambda a: (level_of(a.latest.disposition), -a.created_at.timestamp()))  # stable: id desc
    expected = [a.id for a in mine]
    for limit in (1, 2):
        got: list[str] = []
        cursor = None
        while True:
            page, cursor = lists.clinic_page(db, doc, limit=limit, after=cursor)
            got += [r.id for r in page]
            for r in page:
                assert r.disposition == next(a for a in mine if a.id == r.id).latest.disposition
            if cursor is None:
                break
        assert got == expected, limit
    return expected


@pytest.mark.db
def test_the_stored_key_follows_new_versions_and_overrides(world: Any) -> None:
    db, doc, other_doc, patients = world
    first = check(db, doc)
    assert len(first) == 3  # the other clinic's assessment is not listed
    assert len(lists.clinic_page(db, other_doc)[0]) == 1

    # a patient's new answers make one assessment an emergency: it goes to the top
    a0 = db.scalars(select(Assessment).where(Assessment.created_by_id == patients[0].id)).one()
    emergency = _findings_for("emergency")
    followup.add_assessment_version(db, a0, patients[0], emergency, triage(emergency))
    assert check(db, doc)[0] == a0.id

    # a system re-triage (no user) to urgent on another: second
    a1 = db.scalars(select(Assessment).where(Assessment.created_by_id == patients[1].id)).one()
    urgent = _findings_for("urgent")
    repo.add_version(db, assessment=a1, by=None, findings=urgent, result=triage(urgent), trigger="test:rule")
    db.commit()
    assert check(db, doc)[:2] == [a0.id, a1.id]

    # a clinician's override does not move /clinic (its order is the engine's latest result)
    case = cases.case_for_assessment(db, a1.id)
    assert case is not None
    followup.override(db, case, doc, Disposition.TELEMEDICINE, "seen on video")
    assert check(db, doc)[:2] == [a0.id, a1.id]

    # a calmer re-answer moves the emergency assessment back among the others
    followup.add_assessment_version(db, a0, patients[0], CALM, triage(CALM))
    assert check(db, doc)[0] == a1.id

    # a new assessment in the same flush as its version gets its key at once
    profile = repo.ensure_self_profile(db, patients[2])
    a3 = repo.save_assessment(db, profile=profile, by=patients[2], findings=urgent, result=triage(urgent))
    db.commit()
    assert check(db, doc)[:2] == [a3.id, a1.id]  # both urgent: the newest first


@pytest.mark.db
def test_an_assessment_without_a_stored_key_is_listed_first_and_once(world: Any) -> None:
    db, doc, _, _ = world
    ids = [r.id for r in lists.clinic_page(db, doc)[0]]
    lost = ids[-1]
    db.execute(update(Assessment).where(Assessment.id == lost).values(list_level=None))
    db.commit()
    db.expire_all()
    page, _ = lists.clinic_page(db, doc)
    assert page[0].id == lost and sorted(r.id for r in page) == sorted(ids)
    seen, after = [], None
    for _ in range(6):
        one, after = lists.clinic_page(db, doc, limit=1, after=after)
        seen += [r.id for r in one]
        if after is None:
            break
    assert seen[0] == lost and sorted(seen) == sorted(ids)


@pytest.mark.db
def test_migration_0018_fills_the_key_of_existing_rows(clean_db: str) -> None:
    engine = make_engine(clean_db)
    try:
        with make_sessionmaker(engine)() as db:
            clinic = repo.create_clinic(db, "c")
            user = repo.create_user(db, username="pat", password="x" * 12, role="patient", clinic=clinic)
            profile = repo.ensure_self_profile(db, user)
            a = repo.save_assessment(db, profile=profile, by=user, findings=CALM, result=triage(CALM))
            emergency = _findings_for("emergency")
            repo.add_version(db, assessment=a, by=user, findings=emergency, result=triage(emergency))
            db.commit()
            ident, clinic_id = a.id, clinic.id
        downgrade(clean_db, "0017")
        upgrade(clean_db, "head")
        with make_sessionmaker(engine)() as db:
            again = db.get(Assessment, ident)
            assert again is not None
            assert (again.list_clinic_id, again.list_level) == (clinic_id, 1)
    finally:
        engine.dispose()


def test_the_sqlite_page_is_a_range_of_the_index(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'plan.db'}"
    upgrade(url)
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            when = dt.datetime(2026, 1, 1)
            plans = []
            for sql, params in (
                (
                    "SELECT list_level, created_at, id FROM assessments WHERE list_clinic_id = :c"
                    " AND list_level IS NOT NULL ORDER BY list_level, created_at DESC, id DESC LIMIT 51",
                    {"c": "x"},
                ),
                (
                    "SELECT list_level, created_at, id FROM assessments WHERE list_clinic_id = :c"
                    " AND list_level = 2 AND (created_at, id) < (:w, :i)"
                    " ORDER BY created_at DESC, id DESC LIMIT 51",
                    {"c": "x", "w": when, "i": "z"},
                ),
            ):
                plan = " ".join(str(r[-1]) for r in conn.execute(text("EXPLAIN QUERY PLAN " + sql), params))
                plans.append(plan)
            for plan in plans:
                assert "ix_assessments_clinic_list" in plan, plan
                assert "TEMP B-TREE" not in plan, plan  # no sort of the clinic's rows
    finally:
        engine.dispose()
