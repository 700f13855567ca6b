"""Keyset pages of the assessments list and the clinic queue (store/lists.py; issue 16).

The pages, joined, are exactly the old full lists (policy.readable_assessments with
shown_disposition; the queue as the reference below orders every case with
cases.case_levels, with the same levels), on SQLite and PostgreSQL; a page costs the same
number of queries however many rows there are.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import event, insert, select
from sqlalchemy.orm import Session

from telespine.care.levels import level_of
from telespine.store import cases, lists, queue_order
from telespine.store.db import make_engine, make_sessionmaker
from telespine.store.models import Assessment, AssessmentVersion, Clinic, Profile, User, VisitRequest
from telespine.store.models_care import CareCase, DispositionOverride, EscalationFloor
from telespine.store.repo import create_user
from telespine.web import policy

DISPOSITIONS = ["emergency", "urgent", "prompt", "routine", "telemedicine"]
T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _id() -> str:
    return uuid.uuid4().hex


def populate(db: Session, n: int, seed: int, clinic: Clinic, owner: User, clinician: User) -> None:
    """n assessments with cases; several share a created_at to the microsecond (the id decides)."""
    rng = random.Random(seed)
    rows: dict[Any, list[dict[str, Any]]] = {
        m: []
        for m in (
            Profile,
            Assessment,
            AssessmentVersion,
            CareCase,
            DispositionOverride,
            EscalationFloor,
            VisitRequest,
        )
    }
    for i in range(n):
        pid, aid, cid = _id(), _id(), _id()
        created = T0 + dt.timedelta(minutes=rng.randint(0, n // 3))  # many ties
        rows[Profile].append(
            {
                "id": pid,
                "owner_id": owner.id,
                "clinic_id": clinic.id,
                "display_name": f"P{i}",
                "is_child": False,
                "created_at": created,
            }
        )
        rows[Assessment].append(
            {"id": aid, "profile_id": pid, "created_by_id": owner.id, "created_at": created}
        )
        versions = rng.choice([1, 1, 1, 2, 3])
        for number in range(1, versions + 1):
            d = rng.choice(DISPOSITIONS)
            rows[AssessmentVersion].append(
                {
                    "assessment_id": aid,
                    "version": number,
                    "findings": {"age_years": 40},
                    "answers": None,
                    "result": {},
                    "disposition": d,
                    "safety_net": False,
                    "ruleset_version": "2",
                    "ruleset_sha256": "0",
                    "created_by_id": owner.id,
                    "created_at": created + dt.timedelta(hours=number),
                }
            )
        rows[CareCase].append(
            {
                "id": cid,
                "assessment_id": aid,
                "profile_id": pid,
                "clinic_id": clinic.id,
                "status": rng.choice(["open"] * 5 + ["closed"]),
                "treatment_started_on": created.date(),
                "timezone": "UTC",
                "created_at": created,
                "raised_at": created if rng.random() < 0.1 else None,
                "claimed_by_id": clinician.id if rng.random() < 0.2 else None,
            }
        )
        for _ in range(rng.choice([0, 0, 0, 1, 2])):
            rows[DispositionOverride].append(
                {
                    "case_id": cid,
                    "assessment_version": rng.randint(1, versions),
                    "from_disposition": "routine",
                    "to_disposition": rng.choice(DISPOSITIONS),
                    "reason": "r",
                    "ruleset_version": "2",
                    "ruleset_sha256": "0",
                    "fired_rule_ids": [],
                    "by_id": clinician.id,
                    "created_at": created,
                }
            )
        for _ in range(rng.choice([0, 0, 0, 1, 2])):
            rows[EscalationFloor].append(
                {
                    "case_id": cid,
                    "source": "message",
                    "ref": None,
                    "level": rng.choice(DISPOSITIONS[:3]),
                    "reason": "r",
                    "raised_at": created + dt.timedelta(minutes=rng.choice([0, 5])),
                    "raised_by_id": None,
                    "cleared_at": created if rng.random() < 0.3 else None,
                }
            )
        if rng.random() < 0.1:
            rows[VisitRequest].append(
                {
                    "id": _id(),
                    "assessment_id": aid,
                    "requested_by_id": owner.id,
                    "status": "requested",
                    "created_at": created,
                }
            )
    for model, values in rows.items():
        if values:
            db.execute(insert(model), values)
    queue_order.refresh_all_keys(db)  # bulk rows bypass the flush hook that keeps the keys
    db.commit()


@pytest.fixture
def world(clean_db: str) -> Iterator[tuple[Session, User, User, User]]:
    engine = make_engine(clean_db)
    db = make_sessionmaker(engine)()
    clinic = Clinic(name="Lists clinic")
    other = Clinic(name="Other clinic")
    db.add_all([clinic, other])
    db.flush()
    clinician = create_user(db, username="dr_list", password="pw-lists-1234", role="clinician", clinic=clinic)
    owner = create_user(
        db, username="list_owner", password="pw-lists-1234", role="patient", clinic=clinic, with_profile=False
    )
    stranger = create_user(
        db, username="list_other", password="pw-lists-1234", role="patient", clinic=other, with_profile=False
    )
    other_dr = create_user(db, username="dr_other", password="pw-lists-1234", role="clinician", clinic=other)
    db.commit()
    populate(db, 70, 1, clinic, owner, clinician)
    populate(db, 10, 2, other, stranger, other_dr)
    try:
        yield db, clinician, owner, stranger
    finally:
        db.close()
        engine.dispose()


def _all_assessments(db: Session, user: User, limit: int) -> list[lists.AssessmentRow]:
    out, cursor = [], None
    while True:
        page, cursor = lists.assessment_page(db, user, limit=limit, after=cursor)
        assert len(page) <= limit
        out += page
        if cursor is None:
            return out


@pytest.mark.db
@pytest.mark.parametrize("limit", [1, 7, 200])
def test_assessment_pages_join_to_the_full_list(world: Any, limit: int) -> None:
    db, clinician, owner, stranger = world
    for user in (clinician, owner, stranger):
        got = _all_assessments(db, user, limit)
        full = policy.readable_assessments(db, user)
        assert [r.id for r in got] == [
            a.id for a in sorted(full, key=lambda a: (a.created_at, a.id), reverse=True)
        ]
        by_id = {a.id: a for a in full}
        for r in got:
            a = by_id[r.id]
            assert (r.profile_id, r.created_at, r.version) == (a.profile_id, a.created_at, a.latest.version)
            assert r.shown == policy.shown_disposition(a)


def _all_queue(db: Session, user: User, limit: int, **filters: Any) -> list[lists.QueuePageItem]:
    out, cursor = [], None
    while True:
        page, cursor = lists.queue_page(db, user, limit=limit, after=cursor, **filters)
        out += page
        if cursor is None:
            return out


@dataclass
class RefItem:
    case: CareCase
    version: AssessmentVersion
    disposition: str
    waiting_since: dt.datetime
    overridden: bool
    visit_requested: bool
    floor: str | None


def reference_queue(
    db: Session,
    clinician: User,
    *,
    disposition: str | None = None,
    claimed: str | None = None,
    mine: bool = False,
    include_closed: bool = False,
) -> list[RefItem]:
    """The queue as it reads in words, case by case in Python: most urgent clinicians' level
    (care.levels over the case's rows), raised or floor-held first, longest waiting, then id."""
    query = select(CareCase).where(CareCase.clinic_id == clinician.clinic_id)
    if not include_closed:
        query = query.where(CareCase.status == "open")
    items = []
    requested = set(db.scalars(select(VisitRequest.assessment_id)))
    for case in db.scalars(query):
        if claimed == "claimed" and case.claimed_by_id is None:
            continue
        if claimed == "unclaimed" and case.claimed_by_id is not None:
            continue
        if mine and case.claimed_by_id != clinician.id:
            continue
        levels = cases.case_levels(db, case)
        if disposition is not None and levels.clinician != disposition:
            continue
        latest = case.assessment.latest
        override = cases.latest_override(db, case)
        since = case.raised_at or (levels.floor.raised_at if levels.floor else None) or latest.created_at
        items.append(
            RefItem(
                case=case,
                version=latest,
                disposition=levels.clinician,
                waiting_since=since,
                overridden=override is not None and override.assessment_version == latest.version,
                visit_requested=case.assessment_id in requested,
                floor=levels.floor.level if levels.floor else None,
            )
        )
    items.sort(
        key=lambda i: (
            level_of(i.disposition),
            i.case.raised_at is None and i.floor is None,
            i.waiting_since,
            i.case.id,
        )
    )
    return items


FILTERS: list[dict[str, Any]] = [
    {},
    {"claimed": "claimed"},
    {"claimed": "unclaimed"},
    {"mine": True},
    {"include_closed": True},
    *({"disposition": d} for d in DISPOSITIONS),
]


@pytest.mark.db
@pytest.mark.parametrize("filters", FILTERS)
def test_queue_pages_join_to_the_full_queue_in_its_order(world: Any, filters: dict[str, Any]) -> None:
    db, clinician, _, _ = world
    got = _all_queue(db, clinician, 9, **filters)
    full = reference_queue(db, clinician, **filters)

    def key(i: Any) -> tuple[Any, ...]:
        return (level_of(i.disposition), i.case.raised_at is None and i.floor is None, i.waiting_since)

    assert [key(i) for i in got] == [key(i) for i in full]
    assert [i.case.id for i in got] == [i.case.id for i in full]  # the id breaks ties
    assert len({i.case.id for i in got}) == len(got)
    ref = {i.case.id: i for i in full}
    assert set(ref) == {i.case.id for i in got}
    for i in got:
        r = ref[i.case.id]
        assert (i.disposition, i.overridden, i.visit_requested, i.floor, i.version.id, i.waiting_since) == (
            r.disposition,
            r.overridden,
            r.visit_requested,
            r.floor,
            r.version.id,
            r.waiting_since,
        )


@pytest.mark.db
def test_a_page_costs_the_same_queries_at_any_size(world: Any, clean_db: str) -> None:
    db, clinician, owner, _ = world
    statements: list[tuple[str, Any]] = []

    def count(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        statements.append((statement, parameters))

    def widest() -> int:
        return max([0] + [len(p) if isinstance(p, list | tuple | dict) else 0 for _, p in statements])

    def measure() -> tuple[int, int, int, int, int]:
        statements.clear()
        _, cur = lists.assessment_page(db, clinician, limit=20)
        lists.assessment_page(db, clinician, limit=20, after=cur)
        a = len(statements)
        statements.clear()
        _, cur = lists.queue_page(db, clinician, limit=20)
        lists.queue_page(db, clinician, limit=20, after=cur)
        q, wide = len(statements), widest()
        statements.clear()
        _, cur = lists.clinic_page(db, clinician, limit=20)
        lists.clinic_page(db, clinician, limit=20, after=cur)
        return a, q, wide, len(statements), widest()

    bind = db.get_bind()
    event.listen(bind, "before_cursor_execute", count)
    try:
        before = measure()
        clinic = db.get(Clinic, clinician.clinic_id)
        assert clinic is not None
        populate(db, 200, 3, clinic, owner, clinician)
        after = measure()
    finally:
        event.remove(bind, "before_cursor_execute", count)
    assert before[:2] == after[:2]  # no query per row
    assert before[2] == after[2]  # no parameter list that grows with the data
    # /clinic: at most four statements a page (first page: unkeyed ids, keyed ids; after a
    # cursor: the rest of its level, the next levels; then names and requests of the page's
    # ids), so an IN-list no longer than the page.
    assert before[3] <= 8 and after[3] <= 8
    assert after[4] <= 20 + 2


@pytest.mark.db
def test_a_bad_cursor_is_refused(world: Any) -> None:
    db, clinician, _, _ = world
    _, queue_cursor = lists.queue_page(db, clinician, limit=5)
    assert queue_cursor is not None
    for bad in ("x", "", "eyJ4Ijox", queue_cursor):
        with pytest.raises(lists.BadCursor):
            lists.assessment_page(db, clinician, limit=5, after=bad)
    _, cursor = lists.assessment_page(db, clinician, limit=5)
    assert cursor is not None
    with pytest.raises(lists.BadCursor):
        lists.queue_page(db, clinician, after=cursor)


@pytest.mark.db
def test_new_assessments_do_not_shift_later_pages(world: Any) -> None:
    db, clinician, owner, _ = world
    first, cursor = lists.assessment_page(db, clinician, limit=30)
    clinic = db.get(Clinic, clinician.clinic_id)
    assert clinic is not None
    newest = db.scalar(select(Assessment.created_at).order_by(Assessment.created_at.desc()).limit(1))
    assert newest is not None
    populate(db, 10, 4, clinic, owner, clinician)  # all within the old time range: some are "older"
    rest = []
    while cursor is not None:
        page, cursor = lists.assessment_page(db, clinician, limit=30, after=cursor)
        rest += page
    seen = [r.id for r in first + rest]
    assert len(seen) == len(set(seen))  # nothing twice
    last = (first[-1].created_at, first[-1].id)
    assert all((r.created_at, r.id) < last for r in rest)  # each later page is strictly after the cursor


@pytest.mark.db
@pytest.mark.parametrize("limit", [1, 13])
def test_clinic_pages_join_to_the_former_clinic_table(world: Any, limit: int) -> None:
    db, clinician, _, _ = world
    got, cursor = [], None
    while True:
        page, cursor = lists.clinic_page(db, clinician, limit=limit, after=cursor)
        got += page
        if cursor is None:
            break
    full = sorted(
        policy.readable_assessments(db, clinician),
        key=lambda a: (level_of(a.latest.disposition), -a.created_at.timestamp()),
    )
    assert [(level_of(r.disposition), r.created_at) for r in got] == [
        (level_of(a.latest.disposition), a.created_at) for a in full
    ]
    assert {r.id for r in got} == {a.id for a in full}
    requested = set(db.scalars(select(VisitRequest.assessment_id)))
    by_id = {a.id: a for a in full}
    for r in got:
        a = by_id[r.id]
        assert (r.display_name, r.version, r.disposition) == (
            a.profile.display_name,
            a.latest.version,
            a.latest.disposition,
        )
        assert r.visit_requested == (r.id in requested)
