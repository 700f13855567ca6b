"""The clinician lists' stored sort keys: the queue's `care_cases.queue_level`, `queue_held`,
`queue_since`, and the /clinic table's `assessments.list_clinic_id`, `list_level`.

The queue (store/lists.py queue_page) shows the clinic's open cases most urgent first (the
clinicians' level: their override of the latest version, else the engine's latest result, never
below an active escalation floor), then raised or floor-held cases, then the longest waiting,
the case id breaking ties. Computing that order per page scans every open case of the clinic,
so the key is stored on the case under the index `ix_care_cases_queue` and a page is one index
range read, whatever the number of cases (issue 16).

The key is written by one SQL statement (`key_values`, the only definition of the order), run
for the cases a flush touched: a session hook (`after_flush`) collects every new or changed
assessment version, override, escalation floor, and case whose `raised_at` changed, and updates
those cases' keys in the same transaction. No write path has to remember it; rows written
with bulk `insert()`/`update()` statements bypass the ORM and must call `refresh_queue_keys`
(migration 0014 backfilled existing rows with the same statement).

The /clinic table (store/lists.py clinic_page) lists a clinic's assessments by the level of the
latest version's engine result, newest first. Its key is kept the same way: `assessment_key_values`
is its only definition, run by the same hook for every new assessment and every assessment with
a new version (versions are append-only, so nothing else moves it); bulk writers call
`refresh_assessment_keys` (migration 0018 backfilled existing rows).
"""

from __future__ import annotations

from collections.abc import Collection
from functools import cache
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Connection,
    Table,
    and_,
    bindparam,
    case,
    event,
    func,
    inspect,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session, aliased

from telespine.store.models import Assessment, AssessmentVersion, Profile
from telespine.store.models_care import CareCase, DispositionOverride, EscalationFloor
from telespine.triage.types import Disposition

LEVEL_SQL = {d.value: d.level for d in Disposition}
KEY_COLUMNS = ("queue_level", "queue_held", "queue_since")
ASSESSMENT_KEY_COLUMNS = ("list_clinic_id", "list_level")


def level_sql(column: Any) -> Any:
    """1 (emergency) to 5 for a disposition column; anything unknown counts as emergency (1)."""
    return case(LEVEL_SQL, value=column, else_=literal(1))


def key_values() -> dict[str, Any]:
    """SET clauses computing each key column of the CareCase row being updated (correlated)."""
    return dict(_key_values())


@cache
def _key_values() -> dict[str, Any]:
    # Built once per process: every flush that touches a case runs this statement, and building
    # it (five aliases, nine subqueries) cost more than running it; SQLAlchemy expressions are
    # immutable, so one set serves every statement and thread.
    v = aliased(AssessmentVersion)
    latest_number = (
        select(func.max(v.version))
        .where(v.assessment_id == CareCase.assessment_id)
        .correlate(CareCase)  # nested in the override's subquery: correlate to the updated row
        .scalar_subquery()
    )
    lv = aliased(AssessmentVersion)
    latest = select().where(lv.assessment_id == CareCase.assessment_id).order_by(lv.version.desc()).limit(1)
    engine_level = latest.add_columns(level_sql(lv.disposition)).scalar_subquery()
    version_created = latest.add_columns(lv.created_at).scalar_subquery()
    # the latest override counts only when it was set on the latest version
    ov = aliased(DispositionOverride)
    override_level = (
        select(case((ov.assessment_version == latest_number, level_sql(ov.to_disposition)), else_=None))
        .where(ov.case_id == CareCase.id)
        .order_by(ov.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    clinician_level = func.coalesce(override_level, engine_level)
    fl = aliased(EscalationFloor)
    live = and_(fl.case_id == CareCase.id, fl.cleared_at.is_(None))
    floor_level = select(func.min(level_sql(fl.level))).where(live).scalar_subquery()
    fr = aliased(EscalationFloor)
    # the active floor (care.levels.active_floor): the most urgent, the earliest raised of equals
    floor_raised = (
        select(fr.raised_at)
        .where(fr.case_id == CareCase.id, fr.cleared_at.is_(None))
        .order_by(level_sql(fr.level), fr.raised_at)
        .limit(1)
        .scalar_subquery()
    )
    level = case(
        (and_(floor_level.is_not(None), floor_level < clinician_level), floor_level), else_=clinician_level
    )
    held = case((or_(CareCase.raised_at.is_not(None), floor_level.is_not(None)), 0), else_=1)
    since = func.coalesce(CareCase.raised_at, floor_raised, version_created)
    return {"queue_level": level, "queue_held": held, "queue_since": since}


def refresh_queue_keys(
    db: Session | Connection, case_ids: Collection[str] | None = None, *, assessment_ids: Collection[str] = ()
) -> None:
    """Recompute the stored key of these cases and of the cases of these assessments; of every
    case when case_ids is None and no assessment is given. `db`: a Session or a Connection."""
    if case_ids is None and not assessment_ids:
        db.execute(_queue_update(False, False))
        return
    by_case, by_assessment = bool(case_ids), bool(assessment_ids)
    if not (by_case or by_assessment):
        return
    params: dict[str, list[str]] = {}
    if by_case:
        params["case_ids"] = sorted(case_ids or ())
    if by_assessment:
        params["assessment_ids"] = sorted(assessment_ids)
    db.execute(_queue_update(by_case, by_assessment), params)


@cache
def _queue_update(by_case: bool, by_assessment: bool) -> Any:
    # One statement object per shape, the ids as expanding parameters: SQLAlchemy memoizes a
    # statement's cache key on the object, and walking this one (nine subqueries) cost more
    # than running it when it was built anew for every flush.
    table = cast(Table, CareCase.__table__)
    stmt = update(table).values(**_key_values())
    parts: list[ColumnElement[bool]] = []
    if by_case:
        parts.append(CareCase.id.in_(bindparam("case_ids", expanding=True)))
    if by_assessment:
        parts.append(CareCase.assessment_id.in_(bindparam("assessment_ids", expanding=True)))
    return stmt.where(or_(*parts)) if parts else stmt


def assessment_key_values() -> dict[str, Any]:
    """SET clauses computing the /clinic key of the Assessment row being updated (correlated):
    its profile's clinic, and the level of its latest version's engine result (NULL: none yet)."""
    return dict(_assessment_key_values())


@cache
def _assessment_key_values() -> dict[str, Any]:
    # built once per process, as _key_values
    lv = aliased(AssessmentVersion)
    latest_level = (
        select(level_sql(lv.disposition))
        .where(lv.assessment_id == Assessment.id)
        .order_by(lv.version.desc())
        .limit(1)
        .scalar_subquery()
    )
    clinic = select(Profile.clinic_id).where(Profile.id == Assessment.profile_id).scalar_subquery()
    return {"list_clinic_id": clinic, "list_level": latest_level}


def refresh_assessment_keys(db: Session | Connection, assessment_ids: Collection[str] | None = None) -> None:
    """Recompute the /clinic key of these assessments (of every assessment when None)."""
    if assessment_ids is not None and not assessment_ids:
        return
    if assessment_ids is None:
        db.execute(_assessment_update(False))
    else:
        db.execute(_assessment_update(True), {"assessment_ids": sorted(assessment_ids)})


@cache
def _assessment_update(by_id: bool) -> Any:
    # one statement object per shape, as _queue_update
    table = cast(Table, Assessment.__table__)
    stmt = update(table).values(**_assessment_key_values())
    return stmt.where(table.c.id.in_(bindparam("assessment_ids", expanding=True))) if by_id else stmt


def refresh_all_keys(db: Session | Connection) -> None:
    """Every stored list key, for rows written with bulk statements (benches, tests, imports)."""
    refresh_queue_keys(db)
    refresh_assessment_keys(db)


_TOUCHED = "telespine_queue_touched"


@event.listens_for(Session, "before_flush")
def _collect(session: Session, flush_context: Any, instances: Any) -> None:
    # before the flush, attribute history still says what changed; ids may be unset until the
    # flush (defaults), so the objects are kept and read again after it
    objs = [
        o
        for o in (*session.new, *session.dirty, *session.deleted)
        if isinstance(o, EscalationFloor | DispositionOverride | AssessmentVersion | CareCase)
        or (isinstance(o, Assessment) and inspect(o).pending)
    ]
    if objs:
        kept: list[Any] = session.info.setdefault(_TOUCHED, [])
        for o in objs:
            if isinstance(o, CareCase) and not inspect(o).pending:
                state = inspect(o)
                if not any(state.attrs[n].history.has_changes() for n in ("raised_at", "assessment_id")):
                    continue
            kept.append(o)


@event.listens_for(Session, "after_flush")
def _update_keys(session: Session, flush_context: Any) -> None:
    kept: list[Any] = session.info.pop(_TOUCHED, [])
    if not kept:
        return
    cases: set[str] = set()
    assessments: set[str] = set()
    for o in kept:
        if isinstance(o, EscalationFloor | DispositionOverride):
            if o.case_id:
                cases.add(o.case_id)
        elif isinstance(o, AssessmentVersion):
            if o.assessment_id:
                assessments.add(o.assessment_id)
        elif isinstance(o, CareCase) and o.id:
            cases.add(o.id)
        elif isinstance(o, Assessment) and o.id:
            assessments.add(o.id)
    if cases or assessments:
        conn = session.connection()
        refresh_queue_keys(conn, cases, assessment_ids=assessments)
        refresh_assessment_keys(conn, assessments)
        for o in session.identity_map.values():
            if (isinstance(o, CareCase) and (o.id in cases or o.assessment_id in assessments)) or (
                isinstance(o, Assessment) and o.id in assessments
            ):
                session.info.setdefault(_EXPIRE, []).append(o)


_EXPIRE = "telespine_queue_expire"


@event.listens_for(Session, "after_flush_postexec")
def _expire_keys(session: Session, flush_context: Any) -> None:
    for o in session.info.pop(_EXPIRE, []):
        if inspect(o).persistent:
            session.expire(o, list(KEY_COLUMNS if isinstance(o, CareCase) else ASSESSMENT_KEY_COLUMNS))
