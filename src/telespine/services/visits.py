"""Writes of the tele-visit: the patient's booking of a free slot (from the result page or the
case page), rescheduling and cancelling, joining the call and "call me instead", the virtual exam
(a neurological result re-triages the case and can only raise its level), the visit note, the
clinician's plan, the note's addenda; each with its audit row.

Callers authorize (telespine.web.policy) and this commits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from telespine.care import retriage
from telespine.services.assessments import VisitNotAllowed as VisitNotAllowed
from telespine.services.assessments import visit_allowed
from telespine.store import cases, repo, repo_care
from telespine.store import visits as visit_store
from telespine.store.models import User, VisitRequest, utcnow
from telespine.store.models_care import CareCase, VisitBooking
from telespine.store.models_visits import NoteAddendum, VisitPhone, VisitRecord
from telespine.visits.exam import exam_updates, load_exam
from telespine.visits.schedule import Span


@dataclass
class ExamOutcome:
    neuro: list[str] = field(default_factory=list)
    not_examined: list[str] = field(default_factory=list)
    updates: dict[str, Any] = field(default_factory=dict)
    new_version: int | None = None
    disposition: str | None = None  # the new engine result when a version was saved
    raised: bool = False


class SlotGone(Exception):
    """The chosen time is not (or no longer) a free slot of a clinician of the case's clinic."""


def book_slot(
    db: Session,
    case: CareCase,
    by: User,
    clinician_id: str,
    start: dt.datetime,
    mode: str,
    *,
    now: dt.datetime,
    slot_minutes: int,
    link_base: str,
) -> VisitBooking:
    """The patient's or parent's booking of a free slot: the booking (UNIQUE clinician and start
    decides races), its history, the confirmation and reminder e-mails, the audit row; an open
    visit request of the assessment becomes booked. Commits. Raises SlotGone before any write, and
    VisitNotAllowed when the level the patient is shown needs care in person (the visit gate,
    services.assessments.visit_allowed; routes may check policy.call_allowed first)."""
    if not visit_allowed(db, case.assessment):
        raise VisitNotAllowed(case.id)
    clinician = db.get(User, clinician_id[:64])
    if (
        clinician is None
        or clinician.role != "clinician"
        or clinician.clinic_id != case.clinic_id
        or not visit_store.is_free(db, clinician, start, now, slot_minutes)
    ):
        raise SlotGone(start.isoformat())
    request = db.scalars(
        select(VisitRequest)
        .where(VisitRequest.assessment_id == case.assessment_id, VisitRequest.status == "requested")
        .order_by(VisitRequest.created_at)
        .limit(1)
    ).first()
    try:
        booking = repo_care.book_visit(
            db,
            case=case,
            clinician=clinician,
            slot_start=start,
            mode=mode,
            visit_request=request,
            now=now,
            slot_minutes=slot_minutes,
        )
    except (repo_care.SlotTaken, repo_care.BadSlot):
        db.rollback()
        raise SlotGone(start.isoformat()) from None
    return _booked(db, case, booking, by, now, link_base)


def _booked(
    db: Session, case: CareCase, booking: VisitBooking, by: User, now: dt.datetime, link_base: str
) -> VisitBooking:
    """After a booking is stored (either side): its history, the confirmation and reminder
    e-mails, the audit row. Commits."""
    visit_store.record_booked(db, booking, by)
    visit_store.queue_mails(db, booking, "visit_booked", now, link_base)
    repo.audit(
        db, actor=by, action="create", object_type="visit", object_id=booking.id, profile_id=case.profile_id
    )
    db.commit()
    return booking


def _audit_visit(db: Session, by: User, action: str, booking_id: str, case: CareCase) -> None:
    repo.audit(
        db, actor=by, action=action, object_type="visit", object_id=booking_id, profile_id=case.profile_id
    )


def reschedule(
    db: Session,
    booking: VisitBooking,
    case: CareCase,
    by: User,
    start: dt.datetime,
    *,
    now: dt.datetime,
    slot_minutes: int,
    link_base: str,
) -> None:
    """Move a booked visit (either side; the caller checked the visit gate) to a free slot of its
    clinician: the booking and its history, the "changed" e-mails, the audit row. Commits. Raises
    SlotGone before any write, or rolled back when another booking took the time first."""
    clinician = db.get(User, booking.clinician_id)
    if clinician is None or not visit_store.is_free(db, clinician, start, now, slot_minutes):
        raise SlotGone(start.isoformat())
    try:
        visit_store.reschedule(db, booking, by, start, now, slot_minutes)
    except (repo_care.SlotTaken, repo_care.BadSlot):
        db.rollback()
        raise SlotGone(start.isoformat()) from None
    visit_store.queue_mails(db, booking, "visit_changed", now, link_base)
    _audit_visit(db, by, "reschedule", booking.id, case)
    db.commit()


def cancel(
    db: Session, booking: VisitBooking, case: CareCase, by: User, *, now: dt.datetime, link_base: str
) -> None:
    """Cancel a booked visit (either side): the "cancelled" e-mails, the history, the audit row;
    the booking row goes. Commits."""
    visit_store.queue_mails(db, booking, "visit_cancelled", now, link_base)
    booking_id = booking.id
    visit_store.cancel(db, booking, by)
    _audit_visit(db, by, "cancel", booking_id, case)
    db.commit()


def record_join(db: Session, user: User, booking_id: str, case: CareCase | None, allowed: bool) -> None:
    """The audit row of a signed-in user's attempt to join the visit's call: "join", or
    "join_refused" without the profile (nothing about health); committed."""
    repo.audit(
        db,
        actor=user,
        action="join" if allowed else "join_refused",
        object_type="visit",
        object_id=booking_id,
        profile_id=case.profile_id if case is not None and allowed else None,
    )
    db.commit()


def save_call_me_phone(db: Session, user_id: str, phone: str, booking_id: str) -> None:
    """ "Call me instead" during a visit: the user's phone number (kept for the next time) and the
    audit row; committed."""
    row = db.get(VisitPhone, user_id)
    if row is None:
        db.add(VisitPhone(user_id=user_id, phone=phone))
    else:
        row.phone, row.updated_at = phone, utcnow()
    user = db.get(User, user_id)
    if user is not None:
        repo.audit(db, actor=user, action="call_me", object_type="visit", object_id=booking_id)
    db.commit()


def save_note(
    db: Session, booking: VisitBooking, case: CareCase, clinician: User, note: dict[str, str], *, finish: bool
) -> None:
    """The clinician's visit note (the caller checked the note is not locked); `finish` locks it
    (later changes are signed addenda). Audited as "note" or "finish"; committed."""
    repo_care.save_note(db, booking, note, finish=finish)
    _audit_visit(db, clinician, "finish" if finish else "note", booking.id, case)
    db.commit()


def clinician_may_book(db: Session, case: CareCase, mode: str) -> bool:
    """The clinician's side of the visit gate: a video (or message) visit only where the patient
    could book one (visit_allowed); a phone call for any level short of emergency (prompt and
    urgent patients may be called to arrange care); never anything for an emergency or a safety
    net, which needs help now rather than an appointment."""
    latest = case.assessment.latest
    shown = cases.patient_disposition_for_assessment(db, case.assessment_id) or latest.disposition
    if shown == "emergency" or latest.safety_net:
        return False
    return mode == "phone" or visit_allowed(db, case.assessment)


def clinician_book(
    db: Session,
    case: CareCase,
    clinician: User,
    start: dt.datetime,
    mode: str,
    *,
    now: dt.datetime,
    slot_minutes: int,
    link_base: str,
    minutes: int | None = None,
    visit_request_id: str = "",
) -> VisitBooking:
    """A clinician's booking of a slot on their own grid (page and API alike): the visit gate
    (clinician_may_book), the booking, its history, the e-mails, the audit row. Commits. Raises
    VisitNotAllowed before any write, repo_care.BadSlot off the grid and repo_care.SlotTaken
    when the clinician has that time already (rolled back)."""
    if not clinician_may_book(db, case, mode):
        raise VisitNotAllowed(case.id)
    request = (
        db.scalars(
            select(VisitRequest).where(
                VisitRequest.id == visit_request_id[:64], VisitRequest.assessment_id == case.assessment_id
            )
        ).first()
        if visit_request_id
        else None
    )
    try:
        booking = repo_care.book_visit(
            db,
            case=case,
            clinician=clinician,
            slot_start=start,
            mode=mode,
            visit_request=request,
            minutes=minutes,
            now=now,
            slot_minutes=slot_minutes,
        )
    except (repo_care.BadSlot, repo_care.SlotTaken):
        db.rollback()
        raise
    return _booked(db, case, booking, clinician, now, link_base)


def record_of(db: Session, booking: VisitBooking) -> VisitRecord | None:
    return db.get(VisitRecord, booking.id)


def _record(db: Session, booking: VisitBooking, by: User) -> VisitRecord:
    row = db.get(VisitRecord, booking.id)
    if row is None:
        row = VisitRecord(booking_id=booking.id, exam={}, plan={}, updated_by_id=by.id)
        db.add(row)
    row.updated_by_id, row.updated_at = by.id, utcnow()
    return row


def record_exam(
    db: Session, booking: VisitBooking, clinician: User, results: dict[str, str], *, emergency_number: str
) -> ExamOutcome:
    """Store the exam results; findings they add are merged into a new findings version and
    re-triaged (never less urgent: care.retriage), which raises the case when the level rises.
    ExamError for a result that is not in the exam."""
    from telespine.services import followup

    updates, neuro, missing = exam_updates(results)
    out = ExamOutcome(neuro=neuro, not_examined=missing, updates=updates)
    row = _record(db, booking, clinician)
    row.exam = {
        "version": load_exam().version,
        "results": dict(results),
        "neuro": neuro,
        "not_examined": missing,
        "updates": updates,
        "recorded_at": dt.datetime.now(dt.UTC).isoformat(),
    }
    repo.audit(db, actor=clinician, action="exam", object_type="visit", object_id=booking.id)
    db.commit()
    case = repo_care.get_case(db, booking.case_id)
    if not updates or case is None:
        return out
    latest = case.assessment.latest
    re = retriage(latest.findings, updates, flagged=bool(neuro))
    if not re.changed:
        if re.result.safety_net:  # the merge or the engine failed: a person must look now
            repo_care.raise_after_failure(db, case.id, "The virtual exam could not be re-triaged.")
            out.raised = True
        return out
    outcome = followup.add_assessment_version(
        db, case.assessment, clinician, dict(re.findings_after), re.result, emergency_number=emergency_number
    )
    if neuro and not outcome.raised:
        repo_care.raise_case(db, case, "A neurological finding on the virtual exam.")
        db.commit()
    out.new_version = outcome.version.version if outcome.version is not None else None
    out.disposition = re.result.disposition.value
    out.raised = True if neuro else outcome.raised
    return out


PLAN_FIELDS = ("exercises", "activity_goals", "medicine", "work_school", "review_date", "notes")


def save_plan(db: Session, booking: VisitBooking, clinician: User, plan: dict[str, str]) -> None:
    row = _record(db, booking, clinician)
    row.plan = {k: str(plan.get(k, ""))[:4000] for k in PLAN_FIELDS}
    repo.audit(db, actor=clinician, action="plan", object_type="visit", object_id=booking.id)
    db.commit()


def add_addendum(db: Session, booking: VisitBooking, clinician: User, text: str) -> NoteAddendum:
    """A signed addition to a finished note (the note itself is locked)."""
    row = NoteAddendum(
        booking_id=booking.id, text=text[:8000], by_id=clinician.id, signed_by=clinician.display_name
    )
    db.add(row)
    repo.audit(db, actor=clinician, action="addendum", object_type="visit", object_id=booking.id)
    db.commit()
    return row


def addenda_of(db: Session, booking: VisitBooking) -> list[NoteAddendum]:
    return list(
        db.scalars(
            select(NoteAddendum).where(NoteAddendum.booking_id == booking.id).order_by(NoteAddendum.id)
        ).all()
    )


# --- a clinician's hours --------------------------------------------------------------------------


def set_hours(db: Session, clinician: User, timezone: str, weekly: Mapping[str, Sequence[Span]]) -> None:
    """Store a clinician's weekly hours (checked by the caller) with the audit row; committed."""
    visit_store.set_hours(db, clinician, timezone, weekly)
    repo.audit(db, actor=clinician, action="update", object_type="clinician_hours", object_id=clinician.id)
    db.commit()


def set_exception(db: Session, clinician: User, day: dt.date, spans: Sequence[Span], note: str) -> None:
    """Store a day that differs from the weekly hours, with the audit row; committed."""
    visit_store.set_exception(db, clinician, day, spans, note)
    repo.audit(db, actor=clinician, action="update", object_type="clinician_hours", object_id=clinician.id)
    db.commit()
