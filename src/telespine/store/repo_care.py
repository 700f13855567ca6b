"""Repository of the clinician workspace: cases and the queue, overrides, visits, messages, diary,
escalations and reminder jobs.

Clinical decisions come from telespine.care and telespine.triage; this module stores them and
acts on them. Every step that could end in silence fails towards review: a screening or
evaluation failure raises the case for a clinician, never hides it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from telespine.store import repo
from telespine.store.models import Assessment, AssessmentVersion, User, VisitRequest, utcnow
from telespine.store.models_care import (
    CareCase,
    CareMessage,
    ContactAddress,
    DiaryRecord,
    DispositionOverride,
    EscalationRecord,
    ReminderJob,
    VisitBooking,
    VisitPreference,
)
from telespine.triage.types import Disposition, TriageResult

log = logging.getLogger("telespine.care")

LEVEL = {d.value: d.level for d in Disposition}
VISIT_MODES = ("video", "phone", "message")
NOTE_FIELDS = ("subjective", "objective", "assessment", "plan")
RED_FLAG_RULES = frozenset({"care.diary_red_flag", "care.text_red_flag"})


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


# --- cases and the queue -------------------------------------------------------------------


def ensure_case(db: Session, assessment: Assessment) -> CareCase:
    """The case of an assessment (repo.save_assessment makes it); made here only as a repair."""
    case = db.scalar(select(CareCase).where(CareCase.assessment_id == assessment.id))
    if case is not None:
        return case
    case = CareCase(
        assessment_id=assessment.id,
        profile_id=assessment.profile_id,
        clinic_id=assessment.profile.clinic_id,
        treatment_started_on=assessment.created_at.date(),
    )
    try:
        with db.begin_nested():
            db.add(case)
    except IntegrityError:  # another request made it at the same moment
        case = db.scalars(select(CareCase).where(CareCase.assessment_id == assessment.id)).one()
    return case


def case_for_assessment(db: Session, assessment_id: str) -> CareCase | None:
    """The case of an assessment, or None (read only)."""
    return db.scalar(select(CareCase).where(CareCase.assessment_id == assessment_id))


def sync_all_cases(db: Session) -> int:
    """Give every assessment a case: a repair for rows made outside repo.save_assessment (the
    worker runs it; saving makes the case and migration 0005 backfilled older assessments)."""
    missing = db.scalars(
        select(Assessment)
        .outerjoin(CareCase, CareCase.assessment_id == Assessment.id)
        .where(CareCase.id.is_(None))
        .options(selectinload(Assessment.profile))
    ).all()
    for assessment in missing:
        ensure_case(db, assessment)
    db.flush()
    return len(missing)


def get_case(db: Session, case_id: str) -> CareCase | None:
    return db.scalar(
        select(CareCase)
        .where(CareCase.id == case_id)
        .options(
            selectinload(CareCase.assessment).selectinload(Assessment.versions),
            selectinload(CareCase.assessment).selectinload(Assessment.profile),
        )
    )


def latest_override(db: Session, case: CareCase) -> DispositionOverride | None:
    return db.scalar(
        select(DispositionOverride)
        .where(DispositionOverride.case_id == case.id)
        .order_by(DispositionOverride.id.desc())
        .limit(1)
    )


def effective_disposition(case: CareCase, override: DispositionOverride | None) -> str:
    """The clinician's disposition if it was set on the latest version; else the engine's."""
    latest = case.assessment.latest
    if override is not None and override.assessment_version == latest.version:
        return override.to_disposition
    return latest.disposition


def more_urgent(a: str, b: str) -> str:
    """The more urgent of two dispositions (an unknown value counts as emergency)."""
    return a if LEVEL.get(a, 1) <= LEVEL.get(b, 1) else b


def patient_disposition(case: CareCase, override: DispositionOverride | None) -> str:
    """What the patient is shown: the more urgent of the engine's latest result and the latest
    override (of any version). A clinician can make it more urgent, never less urgent than the
    engine's result; the chart shows both."""
    engine = case.assessment.latest.disposition
    return engine if override is None else more_urgent(engine, override.to_disposition)


def patient_disposition_for_assessment(db: Session, assessment_id: str) -> str | None:
    """patient_disposition of an assessment's case; None when it has no case or no override."""
    case = case_for_assessment(db, assessment_id)
    if case is None:
        return None
    override = latest_override(db, case)
    return None if override is None else patient_disposition(case, override)


@dataclass
class QueueItem:
    case: CareCase
    version: AssessmentVersion
    disposition: str
    waiting_since: dt.datetime
    overridden: bool = False
    visit_requested: bool = False


@dataclass
class QueueFilter:
    disposition: str | None = None
    claimed: str | None = None  # "claimed" | "unclaimed" | None
    mine: bool = False
    include_closed: bool = False


def queue(db: Session, clinician: User, filters: QueueFilter | None = None) -> list[QueueItem]:
    """Open cases of the clinician's clinic: most urgent first, raised first, then longest waiting."""
    f = filters or QueueFilter()
    if clinician.clinic_id is None:
        return []
    query = (
        select(CareCase)
        .where(CareCase.clinic_id == clinician.clinic_id)
        .options(
            selectinload(CareCase.assessment).selectinload(Assessment.versions),
            selectinload(CareCase.assessment).selectinload(Assessment.profile),
            selectinload(CareCase.claimed_by),
        )
    )
    if not f.include_closed:
        query = query.where(CareCase.status == "open")
    if f.claimed == "claimed":
        query = query.where(CareCase.claimed_by_id.is_not(None))
    elif f.claimed == "unclaimed":
        query = query.where(CareCase.claimed_by_id.is_(None))
    if f.mine:
        query = query.where(CareCase.claimed_by_id == clinician.id)
    cases = list(db.scalars(query).all())
    overrides = _latest_overrides(db, [c.id for c in cases])
    requested = repo.assessments_with_visit_requests(db, [c.assessment_id for c in cases])
    items: list[QueueItem] = []
    for case in cases:
        if not case.assessment.versions:
            continue
        version = case.assessment.latest
        ov = overrides.get(case.id)
        disposition = effective_disposition(case, ov)
        if f.disposition and disposition != f.disposition:
            continue
        since = case.raised_at or version.created_at
        items.append(
            QueueItem(
                case=case,
                version=version,
                disposition=disposition,
                waiting_since=since,
                overridden=ov is not None and ov.assessment_version == version.version,
                visit_requested=case.assessment_id in requested,
            )
        )
    items.sort(key=lambda i: (LEVEL.get(i.disposition, 1), i.case.raised_at is None, i.waiting_since))
    return items


def _latest_overrides(db: Session, case_ids: Sequence[str]) -> dict[str, DispositionOverride]:
    if not case_ids:
        return {}
    rows = db.scalars(
        select(DispositionOverride)
        .where(DispositionOverride.case_id.in_(case_ids))
        .order_by(DispositionOverride.id)
    ).all()
    return {row.case_id: row for row in rows}  # later rows win


def claim_case(db: Session, case: CareCase, clinician: User) -> bool:
    """Claim an unclaimed case (an atomic conditional update: of two clinicians, one wins)."""
    done = db.execute(
        update(CareCase)
        .where(CareCase.id == case.id, CareCase.claimed_by_id.is_(None))
        .values(claimed_by_id=clinician.id, claimed_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    db.flush()
    db.refresh(case)
    return bool(getattr(done, "rowcount", 0)) or case.claimed_by_id == clinician.id


def release_case(db: Session, case: CareCase, clinician: User) -> None:
    if case.claimed_by_id == clinician.id:
        case.claimed_by_id = None
        case.claimed_at = None
        db.flush()


def raise_case(db: Session, case: CareCase, reason: str, now: dt.datetime | None = None) -> None:
    """Put a case back at the top of its level in the queue, open, with the reason."""
    case.raised_at = now or utcnow()
    case.raised_reason = reason[:500]
    case.status = "open"
    db.flush()


def raise_after_failure(db: Session, case_id: str, reason: str) -> bool:
    """Best effort after a failed save: roll back, then raise the case in a new transaction.

    Used when a message or diary entry could not be stored: a clinician must still look, and the
    caller shows the safety net whatever this returns (False when even this failed).
    """
    try:
        db.rollback()
        case = db.get(CareCase, case_id)
        if case is None:
            return False
        raise_case(db, case, reason)
        db.commit()
        return True
    except Exception as exc:  # the database itself may be down: the caller still shows the net
        log.error("could not raise case after a failed save: %s", type(exc).__name__)
        try:
            db.rollback()
        except Exception:
            log.error("rollback failed too")
        return False


def acknowledge(db: Session, case: CareCase, today: dt.date) -> None:
    """A clinician has seen what raised the case: red flags before today are handled.

    Only up to yesterday: the rules count by day, so "through today" would hide a red flag the
    patient reports later today. Today's entries that were seen fire no new escalation anyway
    (their keys are stored) and change no findings that are already merged.
    """
    case.raised_at = None
    case.raised_reason = None
    case.red_flags_reviewed_through = today - dt.timedelta(days=1)
    db.flush()


def close_case(db: Session, case: CareCase) -> None:
    case.status = "closed"
    db.flush()


# --- disposition override (feedback on the rule set) ----------------------------------------


def override_disposition(
    db: Session, case: CareCase, clinician: User, to: Disposition, reason: str
) -> DispositionOverride:
    """Append an override row; the engine's result stays on record in the assessment version."""
    version = case.assessment.latest
    before = effective_disposition(case, latest_override(db, case))
    row = DispositionOverride(
        case_id=case.id,
        assessment_version=version.version,
        from_disposition=before,
        to_disposition=to.value,
        reason=reason.strip()[:2000],
        ruleset_version=version.ruleset_version,
        ruleset_sha256=version.ruleset_sha256,
        fired_rule_ids=[r.get("id") for r in version.result.get("rules", []) if isinstance(r, dict)],
        by_id=clinician.id,
    )
    db.add(row)
    db.flush()
    return row


def overrides_for_case(db: Session, case: CareCase) -> list[DispositionOverride]:
    return list(
        db.scalars(
            select(DispositionOverride)
            .where(DispositionOverride.case_id == case.id)
            .options(selectinload(DispositionOverride.by))
            .order_by(DispositionOverride.id)
        ).all()
    )


def ruleset_feedback(db: Session, clinic_id: str | None) -> list[DispositionOverride]:
    """Every override (of one clinic, or all for None): the rule-set feedback export."""
    query = select(DispositionOverride).options(selectinload(DispositionOverride.by))
    if clinic_id is not None:
        query = query.join(CareCase, CareCase.id == DispositionOverride.case_id).where(
            CareCase.clinic_id == clinic_id
        )
    return list(db.scalars(query.order_by(DispositionOverride.id)).all())


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
    """A SOAP note pre-filled from the assessment: what the patient said and what the rules found."""
    f = version.findings
    said = [f"{k.replace('_', ' ')}: {v}" for k, v in f.items() if k not in ("schema_version",)]
    rules = [
        f"{r.get('id')}: {r.get('title')}" for r in version.result.get("rules", []) if isinstance(r, dict)
    ]
    score_lines = [f"{s.instrument_id} {s.primary:g} ({s.taken_at:%Y-%m-%d})" for s in scores]
    return {
        "subjective": "Reported at assessment: " + "; ".join(said) + ".",
        "objective": "Observed on the call (gait, movement, appearance): ",
        "assessment": f"Triage result: {version.disposition}. Rules: "
        + ("; ".join(rules) if rules else "none fired")
        + ("." if not score_lines else ". Scores: " + ", ".join(score_lines) + "."),
        "plan": "Self-care program, pain relief as advised, follow-up in the diary; "
        "safety-netting given (when to call or go to an emergency department).",
    }


def save_note(db: Session, booking: VisitBooking, note: dict[str, str], finish: bool) -> None:
    booking.note = {k: note.get(k, "")[:8000] for k in NOTE_FIELDS}
    if finish:
        booking.status = "finished"
        booking.finished_at = utcnow()
    db.flush()


# --- messages -------------------------------------------------------------------------------


def messages_for_case(db: Session, case: CareCase) -> list[CareMessage]:
    return list(
        db.scalars(
            select(CareMessage)
            .where(CareMessage.case_id == case.id)
            .options(selectinload(CareMessage.author))
            .order_by(CareMessage.created_at, CareMessage.id)
        ).all()
    )


@dataclass
class Followup:
    """What happened after a message or diary entry: new escalations, the re-triage, the result."""

    escalations: list[EscalationRecord]
    result: TriageResult | None  # the new result when a new version was saved
    raised: bool
    flagged: bool = False


def _audience(case: CareCase) -> str:
    age = case.assessment.latest.findings.get("age_years")
    return "pediatric" if isinstance(age, int | float) and age < 18 else "adult"


def _screen(text: str, audience: str) -> dict[str, Any]:
    """Screen a text; any failure becomes an error screening (which asks for review)."""
    try:
        from telespine.care import screen_message

        doc: dict[str, Any] = screen_message(text, audience).model_dump(mode="json")  # type: ignore[arg-type]
        return doc
    except Exception as exc:
        log.error("screening failed: %s", type(exc).__name__)
        # A valid care.Screening with status "error", so evaluate_case asks for a review
        return {
            "status": "error",
            "audience": audience,
            "flags": [],
            "modifiers": [],
            "ignored": [],
            "rules_version": "unavailable",
            "error": type(exc).__name__,
        }


def post_message(
    db: Session, case: CareCase, author: User, body: str, now: dt.datetime | None = None
) -> tuple[CareMessage, Followup | None]:
    """Store a message; a patient's is screened and, if flagged, re-triages and raises the case."""
    now = now or utcnow()
    from_patient = author.role in ("patient", "parent")
    msg = CareMessage(case_id=case.id, author_id=author.id, from_patient=from_patient, body=body[:4000])
    msg.created_at = now
    if from_patient:
        screening = _screen(body, _audience(case))
        msg.screening = screening
        msg.flagged = bool(screening.get("status") != "ok" or screening.get("flags"))
    db.add(msg)
    db.flush()
    if not from_patient:
        return msg, None
    follow = run_followup(db, case, now, by=author)
    follow.flagged = msg.flagged
    if msg.flagged and not follow.raised:
        # evaluate_case found nothing new (e.g. failed): still a clinician must read it
        raise_case(db, case, "A message needs review.", now)
        follow.raised = True
    return msg, follow


# --- diary and escalation -------------------------------------------------------------------


def diary_for_case(db: Session, case: CareCase) -> list[DiaryRecord]:
    return list(
        db.scalars(
            select(DiaryRecord)
            .where(DiaryRecord.case_id == case.id)
            .order_by(DiaryRecord.day, DiaryRecord.created_at)
        ).all()
    )


def local_today(case: CareCase, now: dt.datetime | None = None) -> dt.date:
    """Today in the patient's time zone (UTC when the stored zone is unknown)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    now = now or dt.datetime.now(dt.UTC)
    try:
        return now.astimezone(ZoneInfo(case.timezone)).date()
    except (ZoneInfoNotFoundError, ValueError):
        return now.astimezone(dt.UTC).date()


def diary_day_problem(case: CareCase, day: dt.date, now: dt.datetime | None = None) -> str | None:
    """Why a diary day is refused: before the day before treatment started, or after today."""
    first = case.treatment_started_on - dt.timedelta(days=1)
    today = local_today(case, now)
    if day < first or day > today:
        return f"The day must be between {first.isoformat()} and today ({today.isoformat()})."
    return None


def add_diary_entry(
    db: Session, case: CareCase, by: User, entry: Any, now: dt.datetime | None = None
) -> tuple[DiaryRecord, Followup]:
    """Store a validated telespine.care.DiaryEntry and run the escalation rules at once."""
    now = now or utcnow()
    row = DiaryRecord(
        case_id=case.id,
        day=entry.day,
        pain=entry.pain,
        function=entry.function,
        medicine_use=entry.medicine_use,
        red_flag_check=dict(entry.red_flag_check),
        note=entry.note,
        by_id=by.id,
    )
    row.created_at = now
    _screen_note(row, _audience(case))
    db.add(row)
    db.flush()
    follow = run_followup(db, case, now, by=by)
    follow.flagged = row.note_flagged
    if not follow.raised and any(v != "no" for v in entry.red_flag_check.values()):
        # A warning sign (or "not sure") always puts the case in front of a clinician again.
        raise_case(db, case, "Red flag (or not sure) in today's diary.", now)
        follow.raised = True
    if row.note_flagged and not follow.raised:
        # evaluate_case found nothing new (e.g. the screening failed): a clinician must read it
        raise_case(db, case, "A diary note needs review.", now)
        follow.raised = True
    return row, follow


def _screen_note(row: DiaryRecord, audience: str) -> None:
    """Screen a diary note like a message (a failure flags it for review); no note, no screening."""
    if row.note is None or not row.note.strip():
        return
    screening = _screen(row.note, audience)
    row.note_screening = screening
    row.note_flagged = bool(screening.get("status") != "ok" or screening.get("flags"))


def scores_for_case(db: Session, case: CareCase) -> list[Any]:
    """The profile's questionnaire scores as instruments.ScoreRecord, oldest first."""
    try:
        from telespine.store import repo_program
    except ImportError:
        return []
    out = []
    for row in repo_program.score_records(db, case.profile_id):
        try:
            out.append(repo_program.as_score_record(row))
        except Exception as exc:  # one bad row must not hide the others
            log.error("score row unreadable: %s", type(exc).__name__)
    return out


def _case_state(case: CareCase) -> Any:
    from telespine.care import CaseState

    return CaseState(
        case_id=case.id,
        findings=case.assessment.latest.findings,
        treatment_started_on=case.treatment_started_on,
        timezone=case.timezone,
        red_flags_reviewed_through=case.red_flags_reviewed_through,
    )


def _diary_entries(rows: Sequence[DiaryRecord]) -> list[Any]:
    from telespine.care import DiaryEntry

    return [
        DiaryEntry(
            day=r.day,
            pain=r.pain,
            function=r.function,
            medicine_use=r.medicine_use,  # type: ignore[arg-type]
            red_flag_check=dict(r.red_flag_check),
            note=r.note,
        )
        for r in rows
    ]


def _screened(db: Session, case: CareCase) -> list[Any]:
    """Flagged patient messages and diary notes as care.ScreenedText, for evaluate_case."""
    from telespine.care import ScreenedText, Screening

    out = []
    audience = _audience(case)
    for r in diary_for_case(db, case):
        if r.note_screening is None and r.note is not None and r.note.strip():
            _screen_note(r, audience)  # a note saved before notes were screened (migration 0006)
        if not r.note_flagged or r.note_screening is None:
            continue
        try:
            note_screening = Screening.model_validate(r.note_screening)
        except Exception:
            note_screening = None
        if note_screening is None:
            continue
        out.append(ScreenedText(ref=r.id, day=r.day, source="diary_note", screening=note_screening))
    for m in messages_for_case(db, case):
        if not m.from_patient or not m.flagged or m.screening is None:
            continue
        try:
            screening = Screening.model_validate(m.screening)
        except Exception:
            screening = None
        if screening is None:
            continue
        out.append(ScreenedText(ref=m.id, day=m.created_at.date(), source="message", screening=screening))
    return out


def _bot(db: Session, case: CareCase) -> User:
    """Who a new version is attributed to when the system re-triages: the profile's owner."""
    return case.assessment.profile.owner


def run_followup(db: Session, case: CareCase, now: dt.datetime, by: User | None = None) -> Followup:
    """Run telespine.care.evaluate_case and act on new escalations, once per key.

    retriage: a new assessment version when the findings change, and the case is raised;
    review and alert: the case is raised with the rule's title. A failure of the evaluation
    itself raises the case for review (never silence).
    """
    from telespine.care import evaluate_case, merge_findings, retriage

    try:
        report = evaluate_case(
            _case_state(case),
            _diary_entries(diary_for_case(db, case)),
            scores_for_case(db, case),
            now,
            screened=_screened(db, case),
        )
    except Exception as exc:
        log.error("evaluate_case failed: %s", type(exc).__name__)
        raise_case(db, case, "Follow-up rules could not run: review the diary and messages.", now)
        return Followup(escalations=[], result=None, raised=True)
    known = (
        set(
            db.scalars(
                select(EscalationRecord.key).where(
                    EscalationRecord.key.in_([e.key for e in report.escalations])
                )
            ).all()
        )
        if report.escalations
        else set()
    )
    new: list[EscalationRecord] = []
    updates: dict[str, Any] = {}
    for esc in report.escalations:
        if esc.key in known:
            continue
        record = EscalationRecord(
            key=esc.key,
            case_id=case.id,
            rule_id=esc.rule_id,
            action=esc.action,
            title=esc.title[:300],
            details=esc.details,
        )
        record.created_at = now
        try:
            with db.begin_nested():
                db.add(record)
        except IntegrityError:
            continue  # another worker stored (and acts on) this one
        new.append(record)
        if esc.action == "retriage":
            updates = merge_findings(updates, esc.updates)
    result: TriageResult | None = None
    raised_now = False
    if report.retriage is not None:
        # Every unreviewed red flag, also one whose key was stored before (e.g. a second flag on
        # the same day): merging is idempotent, so only something new changes the findings.
        updates = merge_findings(updates, _all_updates(report))
    if updates:
        done = retriage(case.assessment.latest.findings, updates, flagged=True)
        if done.changed or done.result.disposition.value != case.assessment.latest.disposition:
            if not new:
                raise_case(db, case, "New red flag for a case already reviewed today.", now)
                raised_now = True
            repo.add_version(
                db,
                assessment=case.assessment,
                by=by or _bot(db, case),
                findings=done.findings_after,
                result=done.result,
            )
            result = done.result
    if new:
        worst = min(new, key=lambda r: {"retriage": 0, "alert": 1, "review": 2}.get(r.action, 0))
        raise_case(db, case, worst.title, now)
    return Followup(escalations=new, result=result, raised=bool(new) or raised_now)


def _all_updates(report: Any) -> dict[str, Any]:
    from telespine.care import merge_findings

    out: dict[str, Any] = {}
    for esc in report.escalations:
        # Red flags only: the 12-week rule's week count grows weekly and is acted on by its key.
        if esc.action == "retriage" and esc.rule_id in RED_FLAG_RULES:
            out = merge_findings(out, esc.updates)
    return out


def escalations_for_case(db: Session, case: CareCase) -> list[EscalationRecord]:
    return list(
        db.scalars(
            select(EscalationRecord).where(EscalationRecord.case_id == case.id).order_by(EscalationRecord.id)
        ).all()
    )


def cases_for_profile(db: Session, profile_ids: Sequence[str]) -> list[CareCase]:
    """Cases of the given profiles (the patient's own and children's), newest first."""
    if not profile_ids:
        return []
    return list(
        db.scalars(
            select(CareCase)
            .where(CareCase.profile_id.in_(profile_ids))
            .options(
                selectinload(CareCase.assessment).selectinload(Assessment.versions),
                selectinload(CareCase.assessment).selectinload(Assessment.profile),
            )
            .order_by(CareCase.created_at.desc())
        ).all()
    )


def open_cases(db: Session) -> list[CareCase]:
    return list(
        db.scalars(
            select(CareCase)
            .where(CareCase.status == "open")
            .options(
                selectinload(CareCase.assessment).selectinload(Assessment.versions),
                selectinload(CareCase.assessment).selectinload(Assessment.profile),
            )
        ).all()
    )


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


def enqueue_reminders(db: Session, now: dt.datetime, link_base: str) -> int:
    """Turn due reminders of every open case into jobs; the unique key stores each one once."""
    from telespine.care import due_reminders, render_email

    made = 0
    for case in open_cases(db):
        contact = contact_of(db, case.assessment.profile.owner_id)
        if contact is None or not contact.reminders or not case.assessment.versions:
            continue
        try:
            due = due_reminders(
                _case_state(case), _diary_entries(diary_for_case(db, case)), scores_for_case(db, case), now
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
            email = render_email(reminder, link=f"{link_base.rstrip('/')}/care/cases/{case.id}/diary")
            job = ReminderJob(
                key=reminder.key,
                case_id=case.id,
                kind=reminder.kind,
                recipient=contact.email,
                subject=email.subject,
                body=email.body,
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
