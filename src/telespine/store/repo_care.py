"""Repository of the clinician workspace: tele-visits, contact addresses and reminder jobs, and
the names of the per-aggregate query modules for older callers.

Cases, the queue, overrides and escalation floors are in telespine.store.cases; messages in
telespine.store.messages; the diary in telespine.store.diary. The follow-up workflow (screening,
re-triage, escalation, the automatic reply) is in telespine.services.followup.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from telespine.store import repo
from telespine.store.cases import (
    QueueFilter,
    acknowledge,
    add_floor,
    case_for_assessment,
    case_levels,
    case_state,
    cases_for_profile,
    claim_case,
    clear_floors,
    close_case,
    effective_disposition,
    ensure_case,
    escalations_for_case,
    floors_for_case,
    get_case,
    latest_override,
    more_urgent,
    open_cases,
    override_disposition,
    overrides_for_case,
    patient_disposition,
    patient_disposition_for_assessment,
    raise_after_failure,
    raise_case,
    release_case,
    ruleset_feedback,
    scores_for_case,
    sync_all_cases,
)
from telespine.store.diary import diary_day_problem, diary_entries, diary_for_case, local_today
from telespine.store.messages import messages_for_case
from telespine.store.models import Assessment, AssessmentVersion, User, VisitRequest, utcnow
from telespine.store.models_care import (
    CareCase,
    ContactAddress,
    ReminderJob,
    VisitBooking,
    VisitPreference,
)

__all__ = [
    "QueueFilter",
    "acknowledge",
    "add_floor",
    "case_for_assessment",
    "case_levels",
    "cases_for_profile",
    "claim_case",
    "clear_floors",
    "close_case",
    "diary_day_problem",
    "diary_for_case",
    "effective_disposition",
    "ensure_case",
    "escalations_for_case",
    "floors_for_case",
    "get_case",
    "latest_override",
    "local_today",
    "messages_for_case",
    "more_urgent",
    "open_cases",
    "override_disposition",
    "overrides_for_case",
    "patient_disposition",
    "patient_disposition_for_assessment",
    "raise_after_failure",
    "raise_case",
    "release_case",
    "ruleset_feedback",
    "scores_for_case",
    "sync_all_cases",
]

log = logging.getLogger("telespine.care")
# Below every reminder e-mail when an unsubscribe link is given (issue 14).
UNSUBSCRIBE_FOOTER = "\nTo stop these reminder e-mails, open this link: {url}\n"

VISIT_MODES = ("video", "phone", "message")
NOTE_FIELDS = ("subjective", "objective", "assessment", "plan")


class SlotTaken(Exception):
    """The clinician already has a visit booked at this time."""


class BadSlot(ValueError):
    """A visit time off the slot grid, in the past or more than a year ahead (a 422)."""


SLOT_MINUTES = 20  # default of Settings.visit_slot_minutes
BOOKING_HORIZON = dt.timedelta(days=365)


def check_slot(
    slot_start: dt.datetime, now: dt.datetime | None = None, slot_minutes: int = SLOT_MINUTES
) -> dt.datetime:
    """The slot start in UTC, or BadSlot: on the grid (minutes since midnight UTC a multiple of
    slot_minutes, seconds 0), not before now and at most a year ahead. Naive times are UTC.

    On a fixed grid with bookings no longer than a slot, two visits of one clinician overlap
    only when they start at the same time, which the UNIQUE (clinician, slot_start) refuses.
    """
    now = now or dt.datetime.now(dt.UTC)
    if slot_start.tzinfo is None:
        slot_start = slot_start.replace(tzinfo=dt.UTC)
    try:
        when = slot_start.astimezone(dt.UTC)
    except (OverflowError, ValueError):  # e.g. 0001-01-01T00:00+14:00
        raise BadSlot("The visit time is out of range.") from None
    if when < now or when > now + BOOKING_HORIZON:
        raise BadSlot("Choose a visit time between now and one year ahead.")
    if when.second or when.microsecond or (when.hour * 60 + when.minute) % slot_minutes:
        raise BadSlot(
            f"Visits start every {slot_minutes} minutes (for example at :00 or :{slot_minutes:02d})."
        )
    return when


# --- tele-visits ------------------------------------------------------------------------------


def request_visit(
    db: Session, *, assessment: Assessment, by: User, mode: str, preferred_times: str
) -> VisitRequest:
    """A tele-visit request with the kind of visit and preferred times."""
    visit = repo.request_visit(db, assessment=assessment, by=by)
    pref = db.get(VisitPreference, visit.id)
    if pref is None:
        db.add(VisitPreference(visit_request_id=visit.id, mode=mode, preferred_times=preferred_times[:500]))
    else:
        pref.mode, pref.preferred_times = mode, preferred_times[:500]
    db.flush()
    return visit


def visit_requests_for_case(db: Session, case: CareCase) -> list[tuple[VisitRequest, VisitPreference | None]]:
    rows = repo.visits_for_assessment(db, case.assessment_id)
    return [(v, db.get(VisitPreference, v.id)) for v in rows]


def book_visit(
    db: Session,
    *,
    case: CareCase,
    clinician: User,
    slot_start: dt.datetime,
    mode: str,
    visit_request: VisitRequest | None = None,
    minutes: int | None = None,
    now: dt.datetime | None = None,
    slot_minutes: int = SLOT_MINUTES,
) -> VisitBooking:
    """Book a slot; the UNIQUE (clinician, slot start) refuses a second booking (SlotTaken).

    BadSlot for a time off the grid, out of range, or a visit longer than one slot.

    The check happens in the database, so two concurrent requests cannot both win. The caller
    commits; a failed insert is rolled back inside a savepoint so the session stays usable.
    """
    length = slot_minutes if minutes is None else minutes
    if not 5 <= length <= slot_minutes:
        raise BadSlot(f"A visit lasts at most one slot ({slot_minutes} minutes).")
    booking = VisitBooking(
        case_id=case.id,
        clinician_id=clinician.id,
        slot_start=check_slot(slot_start, now, slot_minutes),
        mode=mode,
        minutes=length,
        visit_request_id=visit_request.id if visit_request else None,
    )
    try:
        with db.begin_nested():
            db.add(booking)
    except IntegrityError:
        raise SlotTaken(slot_start.isoformat()) from None
    if visit_request is not None:
        visit_request.status = "booked"
    db.flush()
    return booking


def bookings_for_case(db: Session, case: CareCase) -> list[VisitBooking]:
    return list(
        db.scalars(
            select(VisitBooking)
            .where(VisitBooking.case_id == case.id)
            .options(selectinload(VisitBooking.clinician))
            .order_by(VisitBooking.slot_start)
        ).all()
    )


def get_booking(db: Session, booking_id: str) -> VisitBooking | None:
    return db.get(VisitBooking, booking_id)


def note_template(version: AssessmentVersion, scores: Sequence[Any] = ()) -> dict[str, str]:
    """A concise SOAP note pre-filled from the assessment (issue 11): the main complaint, the red
    flags reported (positives first), the answers left unknown, the disposition with the rules
    that fired, and the latest score per questionnaire as the instrument reports it."""
    f = version.findings
    main = ", ".join(
        str(part)
        for part in (
            str(f.get("location", "")).replace("_", " ") or None,
            f"onset {f['onset']}" if f.get("onset") else None,
            f"{f['duration_days']} days" if f.get("duration_days") is not None else None,
            f"pain {f['pain_score']}/10" if f.get("pain_score") is not None else None,
        )
        if part
    )
    skip = {"schema_version", "age_years", "location", "onset", "duration_days", "pain_score"}
    positive = [
        k.replace("_", " ") + ("" if v is True else f" ({v})")
        for k, v in f.items()
        if k not in skip and v not in (False, "none", "normal", "unknown", None, "", 0)
    ]
    unknown = [k.replace("_", " ") for k, v in f.items() if v == "unknown"]
    rules = [str(r.get("title")) for r in version.result.get("rules", []) if isinstance(r, dict)]
    latest: dict[str, Any] = {}
    for s in scores:
        latest[s.instrument_id] = s  # scores come oldest first: keep the newest per instrument
    score_lines = [
        f"{s.instrument_id} {round(float(s.primary), 1):g} ({s.taken_at:%Y-%m-%d})" for s in latest.values()
    ]
    age = f"Age {f['age_years']:g}. " if isinstance(f.get("age_years"), int | float) else ""
    subjective = f"Reported at assessment: {age}{main or 'no main complaint recorded'}."
    if positive:
        subjective += " Positive: " + "; ".join(positive) + "."
    if unknown:
        subjective += " Unknown (not asked or not sure): " + "; ".join(unknown) + "."
    return {
        "subjective": subjective,
        "objective": "Virtual exam (see the exam record): ",
        "assessment": f"Triage result: {version.disposition}. "
        + ("Rules: " + "; ".join(rules) + "." if rules else "No rule fired.")
        + (" Scores: " + ", ".join(score_lines) + "." if score_lines else ""),
        "plan": "Self-care program, pain relief as advised, follow-up in the diary; "
        "safety-netting given (when to call or go to an emergency department).",
    }


def save_note(db: Session, booking: VisitBooking, note: dict[str, str], finish: bool) -> None:
    booking.note = {k: note.get(k, "")[:8000] for k in NOTE_FIELDS}
    if finish:
        booking.status = "finished"
        booking.finished_at = utcnow()
    db.flush()


# --- contact addresses and reminder jobs ---------------------------------------------------


def set_contact(db: Session, user: User, email: str, reminders: bool = True) -> None:
    row = db.get(ContactAddress, user.id)
    if row is None:
        db.add(ContactAddress(user_id=user.id, email=email.strip()[:254], reminders=reminders))
    else:
        row.email, row.reminders = email.strip()[:254], reminders
    db.flush()


def set_timezone(db: Session, profile_ids: Sequence[str], timezone: str) -> None:
    """The patient's time zone (an IANA name checked by the caller) for all their cases."""
    if profile_ids:
        db.execute(
            update(CareCase)
            .where(CareCase.profile_id.in_(profile_ids))
            .values(timezone=timezone)
            .execution_options(synchronize_session=False)
        )


def contact_of(db: Session, user_id: str) -> ContactAddress | None:
    return db.get(ContactAddress, user_id)


def enqueue_reminders(
    db: Session, now: dt.datetime, link_base: str, unsubscribe: Callable[[str], str] | None = None
) -> int:
    """Turn due reminders of every open case into jobs; the unique key stores each one once.

    The diary reminder links to the case page, the check-in and questionnaire reminders to the
    check-in (`/care/cases/{id}/checkin`); `unsubscribe(owner id)` gives the one-click link
    added below the text (services.checkin.unsubscribe_url)."""
    from telespine.care import due_reminders, render_email

    made = 0
    for case in open_cases(db):
        contact = contact_of(db, case.assessment.profile.owner_id)
        if contact is None or not contact.reminders or not case.assessment.versions:
            continue
        try:
            due = due_reminders(
                case_state(case), diary_entries(diary_for_case(db, case)), scores_for_case(db, case), now
            )
        except Exception as exc:
            log.error("due_reminders failed for a case: %s", type(exc).__name__)
            continue
        if not due:
            continue
        existing = set(
            db.scalars(select(ReminderJob.key).where(ReminderJob.key.in_([r.key for r in due]))).all()
        )
        for reminder in due:
            if reminder.key in existing:
                continue
            page = "" if reminder.kind == "daily_diary" else "/checkin"
            email = render_email(reminder, link=f"{link_base.rstrip('/')}/care/cases/{case.id}{page}")
            body = email.body
            if unsubscribe is not None:
                body += UNSUBSCRIBE_FOOTER.format(url=unsubscribe(case.assessment.profile.owner_id))
            job = ReminderJob(
                key=reminder.key,
                case_id=case.id,
                kind=reminder.kind,
                recipient=contact.email,
                subject=email.subject,
                body=body,
                send_after=reminder.send_after,
                expires_at=reminder.expires_at,
            )
            try:
                with db.begin_nested():
                    db.add(job)
                made += 1
            except IntegrityError:
                continue  # another instance queued it first
    db.flush()
    return made


def claim_jobs(db: Session, worker: str, now: dt.datetime, limit: int = 20) -> list[ReminderJob]:
    """Claim pending jobs that are due for this worker; each job goes to exactly one worker.

    PostgreSQL: SELECT ... FOR UPDATE SKIP LOCKED, so concurrent workers take different rows
    without waiting. On every database the claim itself is a conditional UPDATE (status still
    pending), which only one transaction can win, so it is also correct on SQLite.
    """
    query = (
        select(ReminderJob.id)
        .where(ReminderJob.status == "pending", ReminderJob.send_after <= now, ReminderJob.expires_at > now)
        .order_by(ReminderJob.send_after, ReminderJob.id)
        .limit(limit)
    )
    if db.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    ids = list(db.scalars(query).all())
    won: list[int] = []
    for job_id in ids:
        res = db.execute(
            update(ReminderJob)
            .where(ReminderJob.id == job_id, ReminderJob.status == "pending")
            .values(
                status="claimed", claimed_by=worker[:64], claimed_at=now, attempts=ReminderJob.attempts + 1
            )
            .execution_options(synchronize_session=False)
        )
        if getattr(res, "rowcount", 0) == 1:
            won.append(job_id)
    db.commit()
    if not won:
        return []
    return list(db.scalars(select(ReminderJob).where(ReminderJob.id.in_(won)).order_by(ReminderJob.id)).all())


def cancel_job(db: Session, job: ReminderJob) -> None:
    """A claimed reminder that must not go out any more (the person unsubscribed)."""
    db.execute(
        update(ReminderJob)
        .where(ReminderJob.id == job.id)
        .values(status="cancelled", claimed_by=None)
        .execution_options(synchronize_session=False)
    )


def expire_jobs(db: Session, now: dt.datetime) -> int:
    """Pending jobs past their window are not sent any more (a late reminder is noise)."""
    res = db.execute(
        update(ReminderJob)
        .where(ReminderJob.status == "pending", ReminderJob.expires_at <= now)
        .values(status="expired")
        .execution_options(synchronize_session=False)
    )
    return int(getattr(res, "rowcount", 0) or 0)


def mark_sent(db: Session, job: ReminderJob, now: dt.datetime) -> None:
    db.execute(
        update(ReminderJob)
        .where(ReminderJob.id == job.id)
        .values(status="sent", sent_at=now)
        .execution_options(synchronize_session=False)
    )


def mark_failed(db: Session, job: ReminderJob, error: str, max_attempts: int = 3) -> None:
    """Back to pending for another try, or failed after max_attempts."""
    status = "failed" if job.attempts >= max_attempts else "pending"
    db.execute(
        update(ReminderJob)
        .where(ReminderJob.id == job.id)
        .values(status=status, last_error=error[:300], claimed_by=None)
        .execution_options(synchronize_session=False)
    )


def reclaim_stale(db: Session, now: dt.datetime, after: dt.timedelta) -> int:
    """Jobs claimed by a worker that died before sending go back to pending.

    A worker that sent but died before marking would send once more: at-least-once for a crash
    in that window, exactly-once otherwise.
    """
    res = db.execute(
        update(ReminderJob)
        .where(ReminderJob.status == "claimed", ReminderJob.claimed_at < now - after)
        .values(status="pending", claimed_by=None)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(res, "rowcount", 0) or 0)
