"""Queries and writes of tele-visit scheduling: clinicians' hours and exceptions, free slots of a
clinic, booking a free slot, rescheduling and cancelling, and the visit e-mails (confirmation,
change, cancellation, reminders 24 h and 1 h before) queued as reminder jobs for the worker.

Every time is stored in UTC; pages show it in the viewer's zone (telespine.visits.local_label).
Callers authorize through telespine.web.policy and commit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from telespine.store import repo_care
from telespine.store.models import User, utcnow
from telespine.store.models_care import CareCase, ContactAddress, ReminderJob, VisitBooking
from telespine.store.models_visits import ClinicianSchedule, HoursException, VisitChange
from telespine.visits import free_slots, local_label, spans_doc, spans_from_doc, weekly_from_doc
from telespine.visits.schedule import WEEKDAYS, Span, zone

VISIT_KINDS = ("visit_booked", "visit_changed", "visit_cancelled", "visit_24h", "visit_1h")
REMINDERS = (("visit_24h", dt.timedelta(hours=24)), ("visit_1h", dt.timedelta(hours=1)))


# --- hours -------------------------------------------------------------------------------------


def schedule_of(db: Session, clinician: User) -> ClinicianSchedule | None:
    return db.get(ClinicianSchedule, clinician.id)


def set_hours(db: Session, clinician: User, timezone: str, weekly: Mapping[str, Sequence[Span]]) -> None:
    """Replace the weekly hours (local times in `timezone`, checked to be a real IANA zone)."""
    zone(timezone)
    doc = {day: spans_doc(weekly.get(day, ())) for day in WEEKDAYS}
    row = db.get(ClinicianSchedule, clinician.id)
    if row is None:
        db.add(ClinicianSchedule(clinician_id=clinician.id, timezone=timezone, weekly=doc))
    else:
        row.timezone, row.weekly, row.updated_at = timezone, doc, utcnow()
    db.flush()


def set_exception(db: Session, clinician: User, day: dt.date, spans: Sequence[Span], note: str = "") -> None:
    """Other hours on one date (none: a day off); a second exception for the date replaces it."""
    row = db.scalar(
        select(HoursException).where(HoursException.clinician_id == clinician.id, HoursException.day == day)
    )
    if row is None:
        db.add(HoursException(clinician_id=clinician.id, day=day, hours=spans_doc(spans), note=note[:200]))
    else:
        row.hours, row.note = spans_doc(spans), note[:200]
    db.flush()


def exceptions_of(db: Session, clinician_id: str, since: dt.date | None = None) -> list[HoursException]:
    q = select(HoursException).where(HoursException.clinician_id == clinician_id)
    if since is not None:
        q = q.where(HoursException.day >= since)
    return list(db.scalars(q.order_by(HoursException.day)).all())


# --- free slots --------------------------------------------------------------------------------


@dataclass(frozen=True)
class FreeSlot:
    start: dt.datetime  # UTC
    clinician_id: str
    clinician_name: str


def _booked_starts(db: Session, clinician_id: str, now: dt.datetime) -> list[dt.datetime]:
    return list(
        db.scalars(
            select(VisitBooking.slot_start).where(
                VisitBooking.clinician_id == clinician_id,
                VisitBooking.slot_start >= now - dt.timedelta(hours=1),
            )
        ).all()
    )


def clinic_free_slots(
    db: Session, clinic_id: str | None, now: dt.datetime, days: int = 14, slot_minutes: int = 20
) -> list[FreeSlot]:
    """The free slots of every clinician of the clinic who has set hours, earliest first."""
    if clinic_id is None:
        return []
    rows = db.execute(
        select(ClinicianSchedule, User)
        .join(User, User.id == ClinicianSchedule.clinician_id)
        .where(User.clinic_id == clinic_id, User.role == "clinician", User.active.is_(True))
    ).all()
    out: list[FreeSlot] = []
    for sched, user in rows:
        exceptions = {e.day: spans_from_doc(e.hours) for e in exceptions_of(db, user.id)}
        for start in free_slots(
            weekly_from_doc(sched.weekly),
            exceptions,
            sched.timezone,
            _booked_starts(db, user.id, now),
            now,
            days=days,
            slot_minutes=slot_minutes,
        ):
            out.append(FreeSlot(start, user.id, user.display_name))
    return sorted(out, key=lambda s: (s.start, s.clinician_name))


def is_free(db: Session, clinician: User, start: dt.datetime, now: dt.datetime, slot_minutes: int) -> bool:
    return any(
        s.start == start and s.clinician_id == clinician.id
        for s in clinic_free_slots(db, clinician.clinic_id, now, days=60, slot_minutes=slot_minutes)
    )


# --- book, reschedule, cancel -------------------------------------------------------------------


def _change(db: Session, booking: VisitBooking, kind: str, by: User, old: dt.datetime | None) -> None:
    db.add(
        VisitChange(
            booking_id=booking.id,
            case_id=booking.case_id,
            clinician_id=booking.clinician_id,
            kind=kind,
            old_start=old,
            new_start=booking.slot_start if kind != "cancelled" else None,
            mode=booking.mode,
            by_id=by.id,
        )
    )


def record_booked(db: Session, booking: VisitBooking, by: User) -> None:
    """History and e-mails for a booking made by repo_care.book_visit."""
    _change(db, booking, "booked", by, None)
    db.flush()


def reschedule(
    db: Session,
    booking: VisitBooking,
    by: User,
    new_start: dt.datetime,
    now: dt.datetime,
    slot_minutes: int,
) -> None:
    """Move a booked visit (SlotTaken if the clinician is busy then; BadSlot off the grid)."""
    old = booking.slot_start
    when = repo_care.check_slot(new_start, now, slot_minutes)
    try:
        with db.begin_nested():
            booking.slot_start = when
            db.flush()
    except IntegrityError:
        booking.slot_start = old
        raise repo_care.SlotTaken(when.isoformat()) from None
    _change(db, booking, "rescheduled", by, old)
    db.flush()


def cancel(db: Session, booking: VisitBooking, by: User) -> None:
    """Cancel a booked visit: the history keeps what it was; the row goes so the slot is free."""
    _change(db, booking, "cancelled", by, booking.slot_start)
    db.flush()
    db.delete(booking)
    db.flush()


def changes_for_case(db: Session, case: CareCase) -> list[VisitChange]:
    return list(
        db.scalars(
            select(VisitChange)
            .where(VisitChange.case_id == case.id)
            .order_by(VisitChange.created_at, VisitChange.id)
        ).all()
    )


def sequence_of(db: Session, booking_id: str) -> int:
    """How often the booking changed (the .ics SEQUENCE)."""
    return len(db.scalars(select(VisitChange.id).where(VisitChange.booking_id == booking_id)).all()) - 1


# --- e-mails -------------------------------------------------------------------------------------


def _key(booking_id: str, kind: str, start: dt.datetime) -> str:
    return f"visit:{booking_id}:{kind}:{start.astimezone(dt.UTC):%Y%m%dT%H%MZ}"


def _body(kind: str, when: str, link: str) -> tuple[str, str]:
    # No health information: the time and the link only.
    if kind == "visit_cancelled":
        return (
            "Your telespine visit is cancelled",
            f"Your tele-visit on {when} is cancelled.\n\nBook a new time here: {link}\n",
        )
    subjects = {
        "visit_booked": "Your telespine visit is booked",
        "visit_changed": "Your telespine visit has a new time",
        "visit_24h": "Reminder: your telespine visit is tomorrow",
        "visit_1h": "Reminder: your telespine visit starts in one hour",
    }
    body = (
        f"Your tele-visit is on {when}.\n\n"
        f"Open this page a few minutes before to check your camera and join: {link}\n\n"
        "The calendar invitation is attached.\n"
    )
    return subjects[kind], body


def queue_mails(
    db: Session,
    booking: VisitBooking,
    kind: str,
    now: dt.datetime,
    link_base: str,
    start: dt.datetime | None = None,
) -> int:
    """Queue the e-mail of this change (and, for a booked or moved visit, its two reminders) to the
    patient's or parent's contact address; earlier pending mails of the booking are expired."""
    case = repo_care.get_case(db, booking.case_id)
    if case is None:
        return 0
    owner_id = case.assessment.profile.owner_id
    contact = db.get(ContactAddress, owner_id)
    db.execute(
        update(ReminderJob)
        .where(ReminderJob.key.like(f"visit:{booking.id}:%"), ReminderJob.status == "pending")
        .values(status="expired")
    )
    if contact is None or not contact.email:
        return 0
    start = start or booking.slot_start
    link = f"{link_base.rstrip('/')}/care/visits/{booking.id}"
    when = local_label(start, case.timezone or "UTC")
    jobs = [(kind, now, start)]
    if kind != "visit_cancelled":
        jobs += [(k, start - before, start) for k, before in REMINDERS if start - before > now]
    made = 0
    for job_kind, send_after, expires in jobs:
        subject, body = _body(job_kind, when, link)
        key = _key(booking.id, job_kind, start)
        if kind in ("visit_changed", "visit_cancelled") and job_kind == kind:
            key += f":{now:%Y%m%dT%H%M%S%f}"  # every change gets its own e-mail
        try:
            with db.begin_nested():
                db.add(
                    ReminderJob(
                        key=key[:255],
                        case_id=case.id,
                        kind=job_kind,
                        recipient=contact.email,
                        subject=subject,
                        body=body,
                        send_after=send_after,
                        expires_at=expires if job_kind != "visit_cancelled" else now + dt.timedelta(days=2),
                    )
                )
            made += 1
        except IntegrityError:
            continue  # already queued
    db.flush()
    return made


def attachment_for(
    db: Session, job: ReminderJob, link_base: str, now: dt.datetime
) -> tuple[str, bytes] | None:
    """The .ics invitation of a visit e-mail (None for other jobs), made when the job is sent."""
    from telespine.visits.invite import invitation

    if not job.kind.startswith("visit_"):
        return None
    parts = job.key.split(":")
    if len(parts) < 4:
        return None
    booking_id = parts[1]
    start = dt.datetime.strptime(parts[3], "%Y%m%dT%H%MZ").replace(tzinfo=dt.UTC)
    booking = db.get(VisitBooking, booking_id)
    minutes = booking.minutes if booking is not None else 20
    data = invitation(
        uid=booking_id,
        start=start,
        minutes=minutes,
        url=f"{link_base.rstrip('/')}/care/visits/{booking_id}",
        now=now,
        sequence=max(0, sequence_of(db, booking_id)),
        cancelled=job.kind == "visit_cancelled",
    )
    return "telespine-visit.ics", data


# --- the live queue (web/pages/queue_live.py) ---------------------------------------------------


def next_bookings(db: Session, case_ids: Sequence[str], now: dt.datetime) -> dict[str, VisitBooking]:
    """The next booked (not finished) visit of each of these cases that has not started more than
    one slot ago; one IN query over the page's cases."""
    if not case_ids:
        return {}
    rows = db.scalars(
        select(VisitBooking)
        .where(
            VisitBooking.case_id.in_(list(case_ids)),
            VisitBooking.status == "booked",
            VisitBooking.slot_start >= now - dt.timedelta(hours=1),
        )
        .order_by(VisitBooking.slot_start)
    ).all()
    out: dict[str, VisitBooking] = {}
    for b in rows:
        out.setdefault(b.case_id, b)
    return out


def changes_since(db: Session, case_ids: Sequence[str], since: dt.datetime) -> list[VisitChange]:
    """Bookings made, moved or cancelled for these cases after `since`, oldest first."""
    if not case_ids:
        return []
    return list(
        db.scalars(
            select(VisitChange)
            .where(VisitChange.case_id.in_(list(case_ids)), VisitChange.created_at > since)
            .order_by(VisitChange.id)
        ).all()
    )
