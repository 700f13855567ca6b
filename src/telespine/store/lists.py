"""Paginated lists, computed in SQL: the assessments list and the clinician queue (issue 16).

Every list is read one page at a time with keyset pagination: the page after a cursor (the
sort key of the last row shown), in a stable total order that ends in the row id. A page costs
one query for its rows plus a fixed number of queries for what the rows show, each bounded by
the page size (never by the size of the data): no per-row queries, no IN-list of every case.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, func, literal, not_, select, tuple_
from sqlalchemy.orm import Session, aliased, selectinload

from telespine.care.levels import FloorView, OverrideView, shown_levels
from telespine.store.models import Assessment, AssessmentVersion, Profile, User, VisitRequest
from telespine.store.models_care import CareCase, DispositionOverride, EscalationFloor
from telespine.store.queue_order import LEVEL_SQL as _LEVEL_SQL

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class BadCursor(ValueError):
    """A cursor that this server did not make (or for another list): the caller answers 422."""


def encode_cursor(kind: str, *values: object) -> str:
    """An opaque cursor: the list's name and the sort key of the last row, base64url JSON."""
    parts = [v.isoformat() if isinstance(v, dt.datetime) else v for v in values]
    raw = json.dumps([kind, *parts], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(kind: str, text: str, types: Sequence[type]) -> list[Any]:
    """The sort key in a cursor of the given list, checked against the expected types."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        data = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise BadCursor("not a cursor of this list") from None
    if not isinstance(data, list) or len(data) != len(types) + 1 or data[0] != kind:
        raise BadCursor("not a cursor of this list")
    out: list[Any] = []
    for value, kind_of in zip(data[1:], types, strict=True):
        if kind_of is dt.datetime:
            if not isinstance(value, str):
                raise BadCursor("not a cursor of this list")
            try:
                when = dt.datetime.fromisoformat(value)
            except ValueError:
                raise BadCursor("not a cursor of this list") from None
            out.append(when if when.tzinfo else when.replace(tzinfo=dt.UTC))
        elif kind_of is int:
            if not isinstance(value, int) or isinstance(value, bool):
                raise BadCursor("not a cursor of this list")
            out.append(value)
        else:
            if not isinstance(value, str) or len(value) > 64:
                raise BadCursor("not a cursor of this list")
            out.append(value)
    return out


def _latest_for(assessment_id: Any) -> Any:
    """Correlated: the highest version number of the assessment id of the outer query."""
    inner = aliased(AssessmentVersion)
    return select(func.max(inner.version)).where(inner.assessment_id == assessment_id).scalar_subquery()


# --- what a row shows: engine result, a clinician's override, escalation floors ----------------


@dataclass(frozen=True)
class _CaseLevels:
    patient: str
    clinician: str
    floor_level: str | None
    floor_raised_at: dt.datetime | None
    overridden: bool = False  # a clinician's override of the latest version


def levels_for_cases(db: Session, rows: Sequence[tuple[str, int, str]]) -> dict[str, _CaseLevels]:
    """For (case id, latest version number, engine disposition) rows of one page, the levels each
    view shows (telespine.care.levels.shown_levels), in two queries bounded by the page size."""
    case_ids = [r[0] for r in rows]
    if not case_ids:
        return {}
    latest: dict[str, DispositionOverride] = {}
    for row in db.scalars(
        select(DispositionOverride)
        .where(DispositionOverride.case_id.in_(case_ids))
        .order_by(DispositionOverride.id)
    ):
        latest[row.case_id] = row  # later rows win
    floors: dict[str, list[FloorView]] = {}
    for fl in db.scalars(
        select(EscalationFloor).where(
            EscalationFloor.case_id.in_(case_ids), EscalationFloor.cleared_at.is_(None)
        )
    ):
        floors.setdefault(fl.case_id, []).append(
            FloorView(level=fl.level, source=fl.source, raised_at=fl.raised_at, cleared=False)
        )
    out: dict[str, _CaseLevels] = {}
    for case_id, version, engine in rows:
        last = latest.get(case_id)
        view = None if last is None else OverrideView(last.to_disposition, last.assessment_version == version)
        levels = shown_levels(engine, floors.get(case_id, []), view)
        out[case_id] = _CaseLevels(
            patient=levels.patient,
            clinician=levels.clinician,
            floor_level=levels.floor.level if levels.floor else None,
            floor_raised_at=levels.floor.raised_at if levels.floor else None,
            overridden=view is not None and view.on_latest_version,
        )
    return out


# --- GET /api/v1/assessments ------------------------------------------------------------------


@dataclass(frozen=True)
class AssessmentRow:
    """One row of the assessments list: the latest version's number and what the patient is shown."""

    id: str
    profile_id: str
    created_at: dt.datetime
    version: int
    engine_disposition: str
    shown: str


ASSESSMENTS = "assessments"


def assessment_page(
    db: Session, user: User, *, limit: int = DEFAULT_LIMIT, after: str | None = None
) -> tuple[list[AssessmentRow], str | None]:
    """A page of the assessments the user may list, newest first (created_at, then id, both
    descending), and the cursor of the next page (None on the last page).

    Patients and parents: their own profiles' assessments; a clinician: their clinic's. The same
    visibility as policy.readable_profile_ids, as a join instead of a list of profile ids.
    """
    limit = max(1, min(limit, MAX_LIMIT))
    visible: ColumnElement[bool]
    if user.role in ("patient", "parent"):
        # a person's few profiles drive the query (index on profile_id, created_at, id)
        visible = Assessment.profile_id.in_(select(Profile.id).where(Profile.owner_id == user.id))
    elif user.role == "clinician" and user.clinic_id is not None:
        # EXISTS, not a join: the planner walks the assessments in index order (newest first) and
        # stops after one page, instead of collecting every row of the clinic to sort them.
        visible = (
            select(Profile.id)
            .where(Profile.id == Assessment.profile_id, Profile.clinic_id == user.clinic_id)
            .exists()
        )
    else:
        return [], None
    # 1. the page: ids only, in index order (a plain query, so every planner stops after one page)
    query = (
        select(Assessment.id, Assessment.profile_id, Assessment.created_at)
        .where(visible)
        .order_by(Assessment.created_at.desc(), Assessment.id.desc())
        .limit(limit + 1)
    )
    if after is not None:
        when, last_id = decode_cursor(ASSESSMENTS, after, (dt.datetime, str))
        # created_at <= when is the index range; the tie on created_at is decided by the id
        query = query.where(
            Assessment.created_at <= when, not_(and_(Assessment.created_at == when, Assessment.id >= last_id))
        )
    rows = db.execute(query).all()
    more = len(rows) > limit
    rows = rows[:limit]
    ids = [r[0] for r in rows]
    # 2. what the page shows: latest versions and cases of these ids only (bounded by the page)
    latest = (
        {
            aid: (number, disposition)
            for aid, number, disposition in db.execute(
                select(
                    AssessmentVersion.assessment_id, AssessmentVersion.version, AssessmentVersion.disposition
                ).where(
                    AssessmentVersion.assessment_id.in_(ids),
                    AssessmentVersion.version == _latest_for(AssessmentVersion.assessment_id),
                )
            )
        }
        if ids
        else {}
    )
    case_of = (
        dict(
            db.execute(select(CareCase.assessment_id, CareCase.id).where(CareCase.assessment_id.in_(ids)))
            .tuples()
            .all()
        )
        if ids
        else {}
    )
    levels = levels_for_cases(
        db, [(case_of[aid], *latest[aid]) for aid in ids if aid in case_of and aid in latest]
    )
    out = []
    for aid, profile_id, created_at in rows:
        if aid not in latest:  # an assessment without versions is not listed (as before: none exist)
            continue
        number, engine = latest[aid]
        case_id = case_of.get(aid)
        shown = levels[case_id].patient if case_id in levels else engine
        out.append(AssessmentRow(aid, profile_id, created_at, number, engine, shown))
    last = rows[-1] if rows else None
    cursor = encode_cursor(ASSESSMENTS, last[2], last[0]) if more and last is not None else None
    return out, cursor


# --- /clinic/queue ----------------------------------------------------------------------------

QUEUE = "queue"


@dataclass
class QueuePageItem:
    """One queue row, with what the queue template shows."""

    case: CareCase
    version: AssessmentVersion
    disposition: str
    waiting_since: dt.datetime
    overridden: bool = False
    visit_requested: bool = False
    floor: str | None = None


def queue_page(
    db: Session,
    clinician: User,
    *,
    disposition: str | None = None,
    claimed: str | None = None,
    mine: bool = False,
    include_closed: bool = False,
    limit: int = DEFAULT_LIMIT,
    after: str | None = None,
) -> tuple[list[QueuePageItem], str | None]:
    """A page of the clinic's queue: most urgent first (the clinicians' level: their override of
    the latest version, else the engine's, never below an active floor), then raised or
    floor-held cases, then the longest waiting; the case id breaks ties.

    The order is the key stored on the case (store/queue_order.py, the only definition of it),
    so a page is one range of the index ix_care_cases_queue, whatever the number of cases.

    A case whose stored key is missing (queue_level NULL: a row written past the flush hook)
    never vanishes: it counts as the most urgent level (1) and comes first on the first page
    (one more lookup on the same index, normally empty), also under the emergency filter.
    """
    limit = max(1, min(limit, MAX_LIMIT))
    if clinician.clinic_id is None:
        return [], None
    c = CareCase
    key = (c.queue_level, c.queue_held, c.queue_since, c.id)
    where: list[ColumnElement[bool]] = [c.clinic_id == clinician.clinic_id]
    if not include_closed:
        where.append(c.status == "open")
    if claimed == "claimed":
        where.append(c.claimed_by_id.is_not(None))
    elif claimed == "unclaimed":
        where.append(c.claimed_by_id.is_(None))
    if mine:
        where.append(c.claimed_by_id == clinician.id)
    unkeyed: list[str] = []
    if after is None and (disposition is None or _LEVEL_SQL.get(disposition, 1) == 1):
        unkeyed = list(
            db.scalars(select(c.id).where(*where, c.queue_level.is_(None)).order_by(c.id).limit(limit)).all()
        )
        limit = max(1, limit - len(unkeyed))  # at least one keyed row, so the next cursor exists
    query = select(*key).where(*where, c.queue_level.is_not(None))
    if disposition is not None:
        query = query.where(c.queue_level == _LEVEL_SQL.get(disposition, 1))
    if after is not None:
        lv, hd, when, last = decode_cursor(QUEUE, after, (int, int, dt.datetime, str))
        after_key = tuple_(literal(lv), literal(hd), _since_param(when), literal(last))
        query = query.where(tuple_(*key) > after_key)
    order = [*key] if include_closed else [c.status, *key]  # status is fixed: the index order
    query = query.order_by(*order).limit(limit + 1)
    rows = db.execute(query).all()
    more = len(rows) > limit
    rows = rows[:limit]
    last_row = rows[-1] if rows else None
    cursor = (
        encode_cursor(QUEUE, last_row[0], last_row[1], _aware(last_row[2]), last_row[3])
        if more and last_row is not None
        else None
    )
    return _queue_items(db, [*unkeyed, *(r[3] for r in rows)]), cursor


def _since_param(when: dt.datetime) -> Any:
    """The cursor's time as a parameter of the stored column's type (naive UTC in the table)."""
    return literal(when, type_=CareCase.__table__.c.queue_since.type)


def _aware(value: Any) -> dt.datetime:
    if isinstance(value, str):  # SQLite returns a raw subquery datetime as text
        value = dt.datetime.fromisoformat(value)
    if not isinstance(value, dt.datetime):
        raise TypeError(f"unexpected queue key {value!r}")
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _queue_items(db: Session, case_ids: Sequence[str]) -> list[QueuePageItem]:
    """What the page's rows show: cases, latest versions, levels and visit requests, in a fixed
    number of queries bounded by the page."""
    if not case_ids:
        return []
    cases = {
        c.id: c
        for c in db.scalars(
            select(CareCase)
            .where(CareCase.id.in_(case_ids))
            .options(
                selectinload(CareCase.assessment).selectinload(Assessment.profile),
                selectinload(CareCase.assessment).selectinload(Assessment.versions),  # .latest, one query
                selectinload(CareCase.claimed_by),
            )
        )
    }
    shown = [cases[i] for i in case_ids if i in cases and cases[i].assessment.versions]
    levels = levels_for_cases(
        db, [(c.id, c.assessment.latest.version, c.assessment.latest.disposition) for c in shown]
    )
    requested = set(
        db.scalars(
            select(VisitRequest.assessment_id).where(
                VisitRequest.assessment_id.in_([c.assessment_id for c in shown])
            )
        )
    )
    items = []
    for c in shown:
        version = c.assessment.latest
        lv = levels[c.id]
        items.append(
            QueuePageItem(
                case=c,
                version=version,
                disposition=lv.clinician,
                waiting_since=c.raised_at or lv.floor_raised_at or version.created_at,
                overridden=lv.overridden,
                visit_requested=c.assessment_id in requested,
                floor=lv.floor_level,
            )
        )
    return items


# --- /clinic: the clinic's assessments, most urgent engine result first --------------------------

CLINIC = "clinic"


@dataclass(frozen=True)
class ClinicRow:
    """One row of the clinic's assessment table."""

    id: str
    created_at: dt.datetime
    display_name: str
    disposition: str  # the engine's result on the latest version
    version: int
    visit_requested: bool


def clinic_page(
    db: Session, clinician: User, *, limit: int = DEFAULT_LIMIT, after: str | None = None
) -> tuple[list[ClinicRow], str | None]:
    """A page of the clinic's assessments: most urgent latest engine result first, newest first
    within a level, the id breaking ties (the order /clinic always had).

    The order is the key stored on the assessment (store/queue_order.py assessment_key_values,
    the only definition of it), so a page is one or two ranges of the index
    ix_assessments_clinic_list, whatever the number of assessments: the rest of the cursor's
    level, then the levels after it. An assessment whose key is missing (list_level NULL: a row
    written past the flush hook) comes first on the first page, like the queue's unkeyed cases.
    """
    limit = max(1, min(limit, MAX_LIMIT))
    if clinician.role != "clinician" or clinician.clinic_id is None:
        return [], None
    a = Assessment
    in_clinic = a.list_clinic_id == clinician.clinic_id
    newest = (a.created_at.desc(), a.id.desc())
    keyed: list[Any] = []
    unkeyed: list[str] = []
    if after is None:
        unkeyed = list(
            db.scalars(select(a.id).where(in_clinic, a.list_level.is_(None)).order_by(a.id).limit(limit))
        )
        take = max(1, limit - len(unkeyed)) + 1  # at least one keyed row, so the next cursor exists
        keyed = list(
            db.execute(
                select(a.list_level, a.created_at, a.id)
                .where(in_clinic, a.list_level.is_not(None))
                .order_by(a.list_level, *newest)
                .limit(take)
            )
        )
    else:
        lv, when, last = decode_cursor(CLINIC, after, (int, dt.datetime, str))
        take = limit + 1
        stamp = literal(when, type_=Assessment.__table__.c.created_at.type)
        before = tuple_(a.created_at, a.id) < tuple_(stamp, literal(last))
        keyed = list(
            db.execute(
                select(a.list_level, a.created_at, a.id)
                .where(in_clinic, a.list_level == lv, before)
                .order_by(*newest)
                .limit(take)
            )
        )
        if len(keyed) < take:
            keyed += db.execute(
                select(a.list_level, a.created_at, a.id)
                .where(in_clinic, a.list_level > lv)
                .order_by(a.list_level, *newest)
                .limit(take - len(keyed))
            ).all()
    more = len(keyed) >= take
    keyed = keyed[: take - 1]
    ids = [*unkeyed, *(r.id for r in keyed)]
    out = _clinic_rows(db, ids)
    last_row = keyed[-1] if keyed else None
    cursor = (
        encode_cursor(CLINIC, last_row.list_level, _aware(last_row.created_at), last_row.id)
        if more and last_row is not None
        else None
    )
    return out, cursor


def _clinic_rows(db: Session, ids: Sequence[str]) -> list[ClinicRow]:
    """What the page's rows show, in the page's order: two queries bounded by the page (an
    assessment without any version is not shown, as before)."""
    if not ids:
        return []
    v = AssessmentVersion
    found = {
        r.id: r
        for r in db.execute(
            select(Assessment.id, Assessment.created_at, Profile.display_name, v.disposition, v.version)
            .join(Profile, Profile.id == Assessment.profile_id)
            .join(v, and_(v.assessment_id == Assessment.id, v.version == _latest_for(Assessment.id)))
            .where(Assessment.id.in_(ids))
        )
    }
    requested = set(db.scalars(select(VisitRequest.assessment_id).where(VisitRequest.assessment_id.in_(ids))))
    return [
        ClinicRow(r.id, _aware(r.created_at), r.display_name, r.disposition, r.version, r.id in requested)
        for r in (found[i] for i in ids if i in found)
    ]
