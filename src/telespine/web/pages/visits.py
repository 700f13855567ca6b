"""Pages of tele-visit scheduling: clinicians' weekly hours and exceptions, free slots a patient or
parent picks (video or a phone call-back), reschedule and cancel from either side.

Times are stored in UTC and shown in the viewer's zone: the case's zone for the patient, the
schedule's zone for the clinician. Visits only for results that allow them (policy.call_allowed).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from telespine.program.plan import Plan
from telespine.services import visits as visit_service
from telespine.store import repo_care
from telespine.store import visits as visit_store
from telespine.store.models import User
from telespine.store.models_care import CareCase, VisitBooking
from telespine.visits import HoursError, local_label, parse_spans
from telespine.visits.schedule import WEEKDAYS, zone
from telespine.web import policy
from telespine.web.deps import CsrfDep, DbDep, RequiredUser, WebSessionDep
from telespine.web.pages.render import render as _render
from telespine.web.policy import ClinicianUser, JoinableBooking, PatientCase
from telespine.web.sessions import WebSession

router = APIRouter(include_in_schema=False)
DAY_NAMES = dict(
    zip(WEEKDAYS, ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"), strict=True)
)
MODES = {"video": "Video visit", "phone": "Phone call-back"}


def _error(request: Request, ws: WebSession, status: int, message: str) -> Response:
    return _render(request, ws, "error.html", {"status": status, "message": message}, status)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _slot_minutes(request: Request) -> int:
    return int(request.app.state.settings.visit_slot_minutes)


def _viewer_zone(db: DbDep, user: User, case: CareCase) -> str:
    if user.role == "clinician":
        sched = visit_store.schedule_of(db, user)
        return sched.timezone if sched is not None else "UTC"
    return case.timezone or "UTC"


def viewer_label(db: Any, user: User, case: CareCase, when: dt.datetime) -> str:
    """A stored UTC time in the viewer's zone (the clinician's schedule, else the case's)."""
    return local_label(when, _viewer_zone(db, user, case))


def _parse_start(value: str) -> dt.datetime:
    try:
        when = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise HTTPException(status_code=422, detail="Choose one of the times shown.") from None
    return when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when.astimezone(dt.UTC)


def _link_base(request: Request) -> str:
    return str(request.app.state.settings.public_url)


# --- the patient or parent books a free slot -------------------------------------------------------


OFFER_SLOTS = 6  # times offered on the result page; the booking page lists more


def booking_offer(
    request: Request, db: Any, user: User | None, assessment_id: object
) -> dict[str, Any] | None:
    """What the result page offers for booking: the case, its booked visits and the first free
    slots in the viewer's zone, or None when the viewer may not book for this saved assessment
    (not the patient or parent, not saved yet) or the level the patient is SHOWN (an escalation
    floor or an override counts: policy.call_allowed) needs care in person."""
    if user is None or not isinstance(assessment_id, str) or not assessment_id:
        return None
    case = repo_care.case_for_assessment(db, assessment_id)
    if case is None or not policy.can_write_profile(user, case.assessment.profile):
        return None
    if not policy.call_allowed(case):
        return None
    tz = _viewer_zone(db, user, case)
    now = _now()
    booked = [
        (b, local_label(b.slot_start, tz))
        for b in repo_care.bookings_for_case(db, case)
        if b.status == "booked" and b.slot_start > now
    ]
    slots = visit_store.clinic_free_slots(db, case.clinic_id, now, slot_minutes=_slot_minutes(request))
    return {
        "case": case,
        "zone": tz,
        "booked": booked,
        "slots": [
            (f"{s.clinician_id}|{s.start.isoformat()}", local_label(s.start, tz), s.clinician_name)
            for s in slots[:OFFER_SLOTS]
        ],
        "more": len(slots) > OFFER_SLOTS,
        "modes": MODES,
        "child": case.assessment.profile.is_child,
    }


@router.get("/care/cases/{case_id}/visits/new", response_class=HTMLResponse)
def book_page(
    request: Request, case: PatientCase, user: RequiredUser, db: DbDep, ws: WebSessionDep
) -> Response:
    if not policy.call_allowed(case):
        return _error(request, ws, 409, policy.VISIT_REFUSED)
    tz = _viewer_zone(db, user, case)
    slots = visit_store.clinic_free_slots(db, case.clinic_id, _now(), slot_minutes=_slot_minutes(request))
    return _render(
        request,
        ws,
        "visit_book.html",
        {
            "case": case,
            "zone": tz,
            "slots": [
                (f"{s.clinician_id}|{s.start.isoformat()}", local_label(s.start, tz), s.clinician_name)
                for s in slots[:60]
            ],
            "modes": MODES,
            "child": case.assessment.profile.is_child,
        },
    )


@router.post("/care/cases/{case_id}/visits", dependencies=[CsrfDep])
def book(
    request: Request,
    case: PatientCase,
    user: RequiredUser,
    db: DbDep,
    ws: WebSessionDep,
    slot: Annotated[str, Form(max_length=120)],
    mode: Annotated[str, Form(max_length=16)] = "video",
) -> Response:
    if mode not in MODES:
        raise HTTPException(status_code=422, detail="Choose a video visit or a phone call-back.")
    if not policy.call_allowed(case):
        return _error(request, ws, 409, policy.VISIT_REFUSED)
    from telespine.services import visits as visit_service

    clinician_id, _, start_text = slot.partition("|")
    try:
        booking = visit_service.book_slot(
            db,
            case,
            user,
            clinician_id,
            _parse_start(start_text),
            mode,
            now=_now(),
            slot_minutes=_slot_minutes(request),
            link_base=_link_base(request),
        )
    except visit_service.VisitNotAllowed:
        return _error(request, ws, 409, policy.VISIT_REFUSED)
    except visit_service.SlotGone:
        return _error(request, ws, 409, "That time is no longer free. Go back and choose another time.")
    return RedirectResponse(f"/care/visits/{booking.id}?flash=booked", status_code=303)


# --- either side reschedules or cancels ------------------------------------------------------------


def _case(db: DbDep, booking: VisitBooking) -> CareCase:
    case = repo_care.get_case(db, booking.case_id)
    if case is None:
        raise HTTPException(status_code=404, detail=policy.NOT_FOUND)
    return case


@router.get("/care/visits/{booking_id}/change", response_class=HTMLResponse)
def change_page(
    request: Request, booking: JoinableBooking, user: RequiredUser, db: DbDep, ws: WebSessionDep
) -> Response:
    case = _case(db, booking)
    tz = _viewer_zone(db, user, case)
    slots = [
        s
        for s in visit_store.clinic_free_slots(
            db, case.clinic_id, _now(), slot_minutes=_slot_minutes(request)
        )
        if s.clinician_id == booking.clinician_id
    ]
    return _render(
        request,
        ws,
        "visit_change.html",
        {
            "booking": booking,
            "case": case,
            "zone": tz,
            "when": local_label(booking.slot_start, tz),
            "slots": [(s.start.isoformat(), local_label(s.start, tz)) for s in slots[:60]],
        },
    )


@router.post("/care/visits/{booking_id}/reschedule", dependencies=[CsrfDep])
def reschedule(
    request: Request,
    booking: JoinableBooking,
    user: RequiredUser,
    db: DbDep,
    ws: WebSessionDep,
    start: Annotated[str, Form(max_length=60)],
) -> Response:
    case = _case(db, booking)
    if policy.visit_role(user, booking, case) == "patient" and not policy.call_allowed(case):
        return _error(request, ws, 409, policy.VISIT_REFUSED)
    when, now = _parse_start(start), _now()
    try:
        visit_service.reschedule(
            db,
            booking,
            case,
            user,
            when,
            now=now,
            slot_minutes=_slot_minutes(request),
            link_base=_link_base(request),
        )
    except visit_service.SlotGone:
        return _error(request, ws, 409, "That time is no longer free. Go back and choose another time.")
    return RedirectResponse(f"/care/visits/{booking.id}?flash=booked", status_code=303)


@router.post("/care/visits/{booking_id}/cancel", dependencies=[CsrfDep])
def cancel(request: Request, booking: JoinableBooking, user: RequiredUser, db: DbDep) -> Response:
    case = _case(db, booking)
    visit_service.cancel(db, booking, case, user, now=_now(), link_base=_link_base(request))
    return RedirectResponse(f"/care/cases/{case.id}?flash=cancelled", status_code=303)


# --- the clinician's hours -------------------------------------------------------------------------


@router.get("/clinic/hours", response_class=HTMLResponse)
def hours_page(
    request: Request, user: ClinicianUser, db: DbDep, ws: WebSessionDep, saved: str = ""
) -> Response:
    from telespine.web.pages.care import ZONES

    sched = visit_store.schedule_of(db, user)
    weekly = sched.weekly if sched is not None else {}
    return _render(
        request,
        ws,
        "clinic_hours.html",
        {
            "zones": ZONES,
            "zone": sched.timezone if sched is not None else "UTC",
            "days": [
                (d, DAY_NAMES[d], ", ".join(f"{a}-{b}" for a, b in weekly.get(d, []))) for d in WEEKDAYS
            ],
            "exceptions": visit_store.exceptions_of(db, user.id, since=_now().date()),
            "saved": saved == "1",
        },
    )


@router.post("/clinic/hours", dependencies=[CsrfDep])
async def save_hours(request: Request, user: ClinicianUser, db: DbDep, ws: WebSessionDep) -> Response:
    form = await request.form()
    timezone = str(form.get("timezone", "UTC"))[:64]
    try:
        zone(timezone)
        weekly = {d: parse_spans(str(form.get(d, ""))[:200]) for d in WEEKDAYS}
    except HoursError as exc:
        return _error(request, ws, 422, f"{exc} Go back and check the hours.")
    visit_service.set_hours(db, user, timezone, weekly)
    return RedirectResponse("/clinic/hours?saved=1", status_code=303)


@router.post("/clinic/hours/exceptions", dependencies=[CsrfDep])
def save_exception(
    request: Request,
    user: ClinicianUser,
    db: DbDep,
    ws: WebSessionDep,
    day: Annotated[str, Form(max_length=10)],
    hours: Annotated[str, Form(max_length=200)] = "",
    note: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    try:
        date = dt.date.fromisoformat(day)
        spans = parse_spans(hours)
    except (ValueError, HoursError) as exc:
        return _error(request, ws, 422, f"{exc} Go back and check the date and hours.")
    visit_service.set_exception(db, user, date, spans, note)
    return RedirectResponse("/clinic/hours?saved=1", status_code=303)


# --- the virtual exam, the clinician's plan, the note's addenda ------------------------------------


def _participant(db: DbDep, booking: VisitBooking, user: User) -> tuple[CareCase, bool]:
    """The case and whether the caller works it as its clinician (readers of the case only)."""
    case = _case(db, booking)
    return case, policy.can_work_case(user, case)


@router.get("/care/visits/{booking_id}/exam", response_class=HTMLResponse)
def exam_page(
    request: Request, booking: policy.ReadableBooking, user: RequiredUser, db: DbDep, ws: WebSessionDep
) -> Response:
    """The virtual spine exam: the patient's steps with a picture each; the clinician's form."""
    from telespine.services import records
    from telespine.services import visits as visit_service
    from telespine.services.followup import audience_of
    from telespine.visits.exam import load_exam

    case, clinician = _participant(db, booking, user)
    record = visit_service.record_of(db, booking)
    exam = load_exam()
    return _render(
        request,
        ws,
        "visit_exam.html",
        {
            "booking": booking,
            "case": case,
            "clinician": clinician,
            "exam": exam,
            "audience": audience_of(case),
            "recorded": (record.exam if record is not None else {}) or {},
            "plan": (record.plan if record is not None else {}) or {},
            "plan_fields": visit_service.PLAN_FIELDS,
            # Only the clinician's page shows the addenda; the read is audited (services.records).
            "addenda": records.addenda(db, booking, case, user) if clinician else [],
        },
    )


@router.post("/care/visits/{booking_id}/exam", dependencies=[CsrfDep])
async def record_exam(
    request: Request, booking: policy.ReadableBooking, user: RequiredUser, db: DbDep, ws: WebSessionDep
) -> Response:
    from telespine.services import visits as visit_service
    from telespine.visits.exam import ExamError, load_exam

    _, clinician = _participant(db, booking, user)
    if not clinician:
        raise HTTPException(status_code=404, detail=policy.NOT_FOUND)
    form = await request.form()
    results = {s.id: str(form.get(s.id)) for s in load_exam().steps if form.get(s.id)}
    try:
        out = visit_service.record_exam(
            db, booking, user, results, emergency_number=str(request.app.state.settings.emergency_number)
        )
    except ExamError as exc:
        return _error(request, ws, 422, f"{exc}. Go back and choose one result per step.")
    flash = "exam-neuro" if out.neuro else "exam"
    return RedirectResponse(f"/care/visits/{booking.id}/exam?flash={flash}", status_code=303)


@router.post("/care/visits/{booking_id}/plan", dependencies=[CsrfDep])
async def save_plan(
    request: Request, booking: policy.ReadableBooking, user: RequiredUser, db: DbDep
) -> Response:
    from telespine.services import visits as visit_service

    _, clinician = _participant(db, booking, user)
    if not clinician:
        raise HTTPException(status_code=404, detail=policy.NOT_FOUND)
    form = await request.form()
    plan = {k: str(form.get(k, ""))[:4000] for k in visit_service.PLAN_FIELDS}
    if plan["review_date"]:
        try:
            dt.date.fromisoformat(plan["review_date"])
        except ValueError:
            raise HTTPException(status_code=422, detail="Give the review date as a date.") from None
    visit_service.save_plan(db, booking, user, plan)
    return RedirectResponse(f"/care/visits/{booking.id}/exam?flash=plan", status_code=303)


@router.post("/care/visits/{booking_id}/addenda", dependencies=[CsrfDep])
def add_addendum(
    booking: policy.ReadableBooking,
    user: RequiredUser,
    db: DbDep,
    text: Annotated[str, Form(min_length=1, max_length=8000)],
) -> Response:
    """A signed addendum: only after Finish, when the note itself is locked."""
    from telespine.services import visits as visit_service

    _, clinician = _participant(db, booking, user)
    if not clinician:
        raise HTTPException(status_code=404, detail=policy.NOT_FOUND)
    if booking.status != "finished":
        raise HTTPException(
            status_code=409, detail="Addenda are for finished visits; edit the note until Finish."
        )
    visit_service.add_addendum(db, booking, user, text)
    return RedirectResponse(f"/care/visits/{booking.id}/exam#addenda", status_code=303)


# --- the written plan after the visit ----------------------------------------------------------------


def clinician_section(db: Any, booking: VisitBooking) -> str:
    """The clinician's changes to the plan as an HTML section (escaped), or '' when there are none."""
    from markupsafe import escape

    from telespine.services import visits as visit_service

    record = visit_service.record_of(db, booking)
    plan = (record.plan if record is not None else {}) or {}
    if not any(plan.values()):
        return ""
    case = _case(db, booking)
    labels = {
        "exercises": "Exercises",
        "activity_goals": "Activity goals",
        "medicine": "Medicine",
        "work_school": "School" if case.assessment.profile.is_child else "Work",
        "notes": "Other advice",
    }
    when = local_label(booking.slot_start, case.timezone or "UTC")
    rows = "".join(f"<h3>{escape(labels[k])}</h3><p>{escape(plan[k])}</p>" for k in labels if plan.get(k))
    review = (
        f"<p><strong>Next review:</strong> {escape(plan['review_date'])}</p>"
        if plan.get("review_date")
        else ""
    )
    return (
        '<section class="visit-plan"><h2>Your plan from the tele-visit</h2>'
        f"<p>Visit with {escape(booking.clinician.display_name)} on {escape(when)}. "
        "These changes come first; the rest of this plan still applies where it does not differ.</p>"
        f"{rows}{review}</section>"
    )


def held_section(db: Any, booking: VisitBooking) -> str:
    """In place of the clinician's changes when the case is held at a level that needs care in
    person (or the plan is the safety net): the visit's exercises and medicine never ride on it."""
    from markupsafe import escape

    from telespine.program.plan import load_plan_texts
    from telespine.services.followup import audience_of

    case = _case(db, booking)
    note = load_plan_texts().held.visit.for_(audience_of(case))
    when = local_label(booking.slot_start, case.timezone or "UTC")
    return (
        '<section class="visit-plan visit-plan-held"><h2>Your plan from the tele-visit is on hold</h2>'
        f"<p>Visit with {escape(booking.clinician.display_name)} on {escape(when)}.</p>"
        f"<p>{escape(note)}</p></section>"
    )


def plan_with_visit(html: str, section: str) -> str:
    """The program's plan page with the clinician's section first in the body."""
    if not section:
        return html
    i = html.find("<body")
    j = html.find(">", i) + 1 if i >= 0 else 0
    return html[:j] + section + html[j:]


@dataclass(frozen=True)
class VisitPlanDocument:
    """The written plan after a visit as plain values, read from the database before the file
    is made (the PDF may wait for the helper process: no connection is held then, issue 16)."""

    plan: Plan
    html: str | None  # the plan page with the clinician's section; None: the program's plan alone


def visit_plan_document(db: Any, booking: VisitBooking, plan: Plan) -> VisitPlanDocument:
    """Everything the visit plan needs from the database: the clinician's changes (or the held
    note) in the plan's HTML; the program's plan alone if there are none or anything fails."""
    from telespine.program import render_html
    from telespine.triage.types import Disposition

    try:
        section = clinician_section(db, booking)
        if not section:
            return VisitPlanDocument(plan, None)
        if plan.safety_net or not Disposition(plan.disposition).allows_telemedicine:
            section = held_section(db, booking)  # held in person: no visit exercises or medicine
        return VisitPlanDocument(plan, plan_with_visit(render_html(plan), section))
    except Exception:
        return VisitPlanDocument(plan, None)


def visit_plan_file(document: VisitPlanDocument, fmt: str) -> bytes:
    """The visit plan (HTML or PDF) made from what visit_plan_document read, without the
    database; the program's plan alone (clinical.plan_file, with its safety-net fallback) if
    the file cannot be made."""
    from telespine.web import clinical

    if document.html is None:
        return clinical.plan_file(document.plan, fmt)
    if fmt != "pdf":
        return document.html.encode("utf-8")
    try:
        from telespine.program.pdf_pool import html_to_pdf

        return html_to_pdf(document.html)  # in the recycled helper process when the served app uses one
    except Exception:
        return clinical.plan_file(document.plan, fmt)


def visit_plan_bytes(db: Any, booking: VisitBooking, plan: Plan, fmt: str) -> bytes:
    """The written plan after the visit (HTML or PDF) with the clinician's changes; the program's
    plan alone (clinical.plan_file, with its safety-net fallback) if anything fails."""
    return visit_plan_file(visit_plan_document(db, booking, plan), fmt)


@router.get("/care/visits/{booking_id}/plan.html", response_class=HTMLResponse)
def visit_plan_html(request: Request, booking: policy.ReadableBooking, db: DbDep) -> Response:
    from telespine.web.pages.program import saved_plan

    case = _case(db, booking)
    if booking.status != "finished":
        raise HTTPException(status_code=404, detail=policy.NOT_FOUND)
    plan, _ = saved_plan(request, db, case.assessment)
    return HTMLResponse(visit_plan_bytes(db, booking, plan, "html").decode("utf-8"))
