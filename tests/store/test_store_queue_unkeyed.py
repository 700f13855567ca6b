"""A case whose stored queue key is missing (queue_level NULL: a row written past the flush hook
of store/queue_order.py) does not vanish from the clinician queue: it counts as the most urgent
level and comes first, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from telespine.store import lists, repo, repo_care
from telespine.store.db import make_engine, make_sessionmaker
from telespine.store.models_care import CareCase
from telespine.triage import triage

CALM = {"age_years": 40, "location": "low_back", "onset": "gradual", "duration_days": 5, "pain_score": 4}


@pytest.fixture
def db(clean_db: str) -> Iterator[Session]:
    engine = make_engine(clean_db)
    with make_sessionmaker(engine)() as session:
        yield session
    engine.dispose()


def test_a_case_without_a_stored_key_counts_as_most_urgent(db: Session) -> None:
    clinic = repo.create_clinic(db, "Queue clinic")
    doc = repo.create_user(db, username="doc", password="x" * 12, role="clinician", clinic=clinic)
    ids = []
    for n in range(3):
        user = repo.create_user(db, username=f"pat{n}", password="x" * 12, role="patient", clinic=clinic)
        profile = repo.ensure_self_profile(db, user)
        a = repo.save_assessment(db, profile=profile, by=user, findings=CALM, result=triage(CALM))
        ids.append(repo_care.ensure_case(db, a).id)
    db.commit()
    lost = ids[1]
    db.execute(
        update(CareCase)
        .where(CareCase.id == lost)
        .values(queue_level=None, queue_held=None, queue_since=None)
    )
    db.commit()
    db.expire_all()
    items, _ = lists.queue_page(db, doc)
    shown = [i.case.id for i in items]
    assert shown[:1] == [lost] and sorted(shown) == sorted(ids)
    assert lost in [i.case.id for i in lists.queue_page(db, doc, disposition="emergency")[0]]
    assert lost not in [i.case.id for i in lists.queue_page(db, doc, disposition="telemedicine")[0]]
    # paged one at a time, every case shows exactly once
    seen, after = [], None
    for _ in range(5):
        page, after = lists.queue_page(db, doc, limit=1, after=after)
        seen += [i.case.id for i in page]
        if after is None:
            break
    assert seen[0] == lost and sorted(seen) == sorted(ids)
