"""HTML pages for the clinician workspace and follow-up (issue 6).

Clinicians: the queue, the case chart (findings, fired rules, score trend, diary, messages,
visits, notes, audit trail), disposition overrides, booking and the visit note. Patients and
parents: their follow-up page (diary, messages, visit requests, plans). Authorization comes from
telespine.web.policy; clinical decisions from telespine.care via telespine.store.repo_care.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from telespine.care.checks import CheckAnswerError
from telespine.services import accounts as account_service
from telespine.services import assessments, followup, reads, records
from telespine.services import cases as case_work
from telespine.store import lists, repo_care
from telespine.store.models import AuditEvent
from telespine.store.models_care import CareCase
from telespine.triage.types import Disposition
from telespine.web import clinical
from telespine.web.deps import CsrfDep, DbDep, RequiredUser, WebSessionDep, release_db
from telespine.web.pages import chart_glance, queue_live
from telespine.web.pages.render import emergency_number as _number
from telespine.web.pages.render import redirect as _redirect
from telespine.web.pages.render import render as _render
from telespine.web.policy import (
    VISIT_REFUSED,
    ClinicianCase,
    ClinicianUser,
    FeedbackReader,
    PatientCase,
    ReadableAssessment,
    ReadableBooking,
    ReadableCase,
    can_work_case,
    ensure_visit_allowed,
    readable_profile_ids,
    visit_fits,
)

router = APIRouter(include_in_schema=False)
log = logging.getLogger("telespine.care")

FLASHES = {
    "claimed": "You claimed this case.",
    "taken": "Another clinician claimed this case first.",
    "override": "The disposition was changed. The original result stays on record.",
    "ack": "Marked as reviewed.",
    "booked": "The visit is booked.",
    "saved": "The note is saved.",
    "finished": "The visit is finished and the written plan is ready for the patient.",
    "sent": "Your message was sent to your care team.",
    "diary": "Thank you. Your diary entry is saved.",
    "visit": "Your tele-visit request was sent to the clinic.",
    "contact": "Your reminder settings are saved.",
    "closed": "The case is closed.",
    "cleared": "The escalation is cleared. Your reason is kept in the record.",
    "check": "Thank you. Your answers are saved and your care team can see them.",
}


def _audience(case: CareCase) -> str:
    return followup.audience_of(case)


# Time zones offered on the follow-up page (IANA names); reminders are sent by the local day.
ZONES = (
    "UTC",
    "Europe/London",
    "Europe/Dublin",
    "Europe/Paris",
    "Europe/Berlin",
    "Europe/Madrid",
    "Europe/Rome",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "America/Toronto",
    "America/Sao_Paulo",
    "Africa/Johannesburg",
    "Asia/Kolkata",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Pacific/Auckland",
)


def _local_today(case: CareCase) -> dt.date:
    return repo_care.local_today(case)


# --- score trend chart (server-rendered SVG) -----------------------------------------------


def score_chart(scores: list[Any], width: int = 340, height: int = 160) -> dict[str, Any]:
    """Series per instrument with SVG polyline points; the template draws them and a text table."""
    series: dict[str, list[Any]] = {}
    for s in scores:
        series.setdefault(s.instrument_id, []).append(s)
    if not series:
        return {"series": [], "width": width, "height": height}
    times = [s.taken_at.timestamp() for s in scores]
    t0, t1 = min(times), max(times)
    top = max(max(s.primary for s in scores), 10.0)
    pad = 24
    colours = ["#1f5fa8", "#b3261e", "#2e7d32", "#6a1b9a", "#8d5a00"]
    out = []
    for i, (inst, rows) in enumerate(sorted(series.items())):
        pts = []
        for s in rows:
            x = pad + (width - 2 * pad) * ((s.taken_at.timestamp() - t0) / (t1 - t0) if t1 > t0 else 0.5)
            y = height - pad - (height - 2 * pad) * (s.primary / top)
            pts.append((round(x, 1), round(y, 1), s))
        out.append(
            {
                "id": inst,
                "colour": colours[i % len(colours)],
                "points": pts,
                "polyline": " ".join(f"{x},{y}" for x, y, _ in pts),
            }
        )
    return {"series": out, "width": width, "height": height, "top": top, "pad": pad}


# --- the queue --------------------------------------------------------------------------------


def _queue_filter(disposition: str, claimed: str, mine: str) -> tuple[repo_care.QueueFilter, dict[str, str]]:
    """The queue's filter from the query (unknown values are no filter) and the query to keep in links."""
    f = repo_care.QueueFilter(
        disposition=disposition if disposition in {d.value for d in Disposition} else None,
        claimed=claimed if claimed in ("claimed", "unclaimed") else None,
        mine=mine == "1",
    )
    kept = {"disposition": f.disposition or "", "claimed": f.claimed or "", "mine": "1" if f.mine else ""}
    return f, {k: v for k, v in kept.items() if v}


@router.get("/clinic/queue", response_class=HTMLResponse)
def queue_page(
    request: Request,
    user: ClinicianUser,
    db: DbDep,
    ws: WebSessionDep,
    disposition: Annotated[str, Query(max_length=16)] = "",
    claimed: Annotated[str, Query(max_length=16)] = "",
    mine: Annotated[str, Query(max_length=4)] = "",
    after: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    f, kept = _queue_filter(disposition, claimed, mine)
    # One page at a time: one range of the stored queue key's index (store/lists.py, queue_order.py).
    try:
        items, cursor = lists.queue_page(
            db, user, disposition=f.disposition, claimed=f.claimed, mine=f.mine, after=after or None
        )
    except lists.BadCursor:
        raise HTTPException(status_code=400, detail="This queue page link is out of date.") from None
    reads.record_list(db, user, "case", len(items))
    return _render(
        request,
        ws,
        "care_queue.html",
        {
            "items": items,
            "next_url": f"/clinic/queue?{urlencode({**kept, 'after': cursor})}" if cursor else None,
            "first_url": f"/clinic/queue?{urlencode(kept)}" if after else None,
            "f": f,
            "dispositions": [d.value for d in Disposition],
            "advice": {"adult": clinical.advice_for("adult"), "pediatric": clinical.advice_for("pediatric")},
            **queue_live.context(db, user, items, kept, after, dt.datetime.now(dt.UTC)),
        },
    )


@router.get("/clinic/queue/live", response_class=HTMLResponse)
def queue_live_fragment(
    request: Request,
    user: ClinicianUser,
    db: DbDep,
    ws: WebSessionDep,
    disposition: Annotated[str, Query(max_length=16)] = "",
    claimed: Annotated[str, Query(max_length=16)] = "",
    mine: Annotated[str, Query(max_length=4)] = "",
    since: Annotated[str, Query(max_length=40)] = "",
    shown: Annotated[str, Query(max_length=64)] = "",
    seen: Annotated[str, Query(max_length=1024)] = "",
) -> Response:
    """The first queue page's list, polled by htmx, with the news since the last poll (issue 11).
    Audited when there is news or the set of cases shown changed (web/pages/queue_live.py)."""
    f, kept = _queue_filter(disposition, claimed, mine)
    items, cursor = lists.queue_page(db, user, disposition=f.disposition, claimed=f.claimed, mine=f.mine)
    now = dt.datetime.now(dt.UTC)
    when = queue_live.parse_since(since, now)
    window = queue_live.news_window(
        db, user, items, when or now, queue_live.parse_seen(seen), grace=when is not None
    )
    news = window.news
    changed = bool(items) and shown != queue_live.shown_digest(items)
    if news or changed:  # the same people again read what the audited page or poll read already
        reads.record_list(db, user, "case", len(items), live=True)
    return _render(
        request,
        ws,
        "_queue_live.html",
        {
            "items": items,
            "news": news,
            "next_url": f"/clinic/queue?{urlencode({**kept, 'after': cursor})}" if cursor else None,
            "advice": {"adult": clinical.advice_for("adult"), "pediatric": clinical.advice_for("pediatric")},
            **queue_live.context(db, user, items, kept, "", now, window.seen),
        },
    )


@router.post("/care/cases/{case_id}/claim", dependencies=[CsrfDep])
def claim(case: ClinicianCase, user: RequiredUser, db: DbDep) -> Response:
    won = case_work.claim(db, case, user)
    return _redirect(f"/care/cases/{case.id}?flash={'claimed' if won else 'taken'}")


# --- the case: chart for clinicians, follow-up page for patients ----------------------------


@router.get("/care", response_class=HTMLResponse)
def my_cases(request: Request, user: RequiredUser, db: DbDep, ws: WebSessionDep) -> Response:
    if user.role == "clinician":
        return _redirect("/clinic/queue")
    if user.role not in ("patient", "parent"):
        raise HTTPException(status_code=404, detail="Not found.")
    cases = reads.cases(db, user, readable_profile_ids(db, user))
    shown = {c.id: repo_care.patient_disposition(db, c) for c in cases}
    return _render(request, ws, "care_mine.html", {"cases": cases, "shown": shown})


@router.get("/care/assessments/{assessment_id}")
def case_of_assessment(assessment: ReadableAssessment, db: DbDep) -> Response:
    case = repo_care.case_for_assessment(db, assessment.id)  # made on save: a GET never writes
    if case is None:
        raise HTTPException(status_code=404, detail="Not found.")
    return _redirect(f"/care/cases/{case.id}")


@router.get("/care/cases/{case_id}", response_class=HTMLResponse)
def case_page(
    request: Request,
    case: ReadableCase,
    user: RequiredUser,
    db: DbDep,
    ws: WebSessionDep,
    flash: Annotated[str, Query(max_length=16)] = "",
    alert: Annotated[str, Query(max_length=64)] = "",
) -> Response:
    audience = _audience(case)
    version = case.assessment.latest
    scores = repo_care.scores_for_case(db, case)
    ctx: dict[str, Any] = {
        "case": case,
        "version": version,
        "result": version.result,
        "audience": audience,
        "advice": clinical.advice_for(audience),
        # Reads of the diary and messages are audited by kind (services.records).
        "diary": records.diary_entries(db, case, user),
        "messages": records.messages(db, case, user),
        "bookings": repo_care.bookings_for_case(db, case),
        "requests": repo_care.visit_requests_for_case(db, case),
        "scores": scores,
        "score_text": chart_glance.score_text,
        "chart": score_chart(scores),
        "flash": FLASHES.get(flash),
        "save_failed": alert == "failed",
    }
    alert_msg = next((m for m in ctx["messages"] if m.id == alert and m.flagged), None) if alert else None
    if alert in ("diary", "failed", "check") or alert_msg is not None:
        ctx["safety"] = clinical.emergency_signs(audience, request.app.state.settings.emergency_number)
    levels = repo_care.case_levels(db, case)
    if can_work_case(user, case):
        ctx.update(
            disposition=levels.clinician,
            floor=levels.floor,
            floors=repo_care.floors_for_case(db, case),
            overrides=repo_care.overrides_for_case(db, case),
            escalations=repo_care.escalations_for_case(db, case),
            trail=list(db.scalars(_trail_query(case.profile_id)).all()),
            dispositions=[d.value for d in Disposition],
            versions=case.assessment.versions,
            slot_minutes=request.app.state.settings.visit_slot_minutes,
            patient_disposition=levels.patient,
            **chart_glance.context(db, case, version, ctx["messages"]),
        )
        return _render(request, ws, "care_chart.html", ctx)
    contact = repo_care.contact_of(db, user.id)
    try:
        questions = clinical.diary_questions(audience)
    except Exception:
        questions = []
    # The patient sees the most urgent of the engine's result, a clinician's override and an
    # escalation a clinician has not cleared yet.
    shown = levels.patient
    ctx.update(
        contact=contact,
        questions=questions,
        can_write=user.role in ("patient", "parent"),
        shown_disposition=shown,
        raised_by_clinician=shown != version.disposition,
        held_by_floor=levels.held_by_floor,
        visit_allowed=visit_fits(shown, version.safety_net),
        today=_local_today(case),
        zones=ZONES,
    )
    return _render(request, ws, "care_patient.html", ctx)


def _trail_query(profile_id: str) -> Any:
    """The audit trail of a case's profile, newest first (ids and actions only)."""
    from sqlalchemy import select

    return (
        select(AuditEvent)
        .where(AuditEvent.profile_id == profile_id)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(50)
    )


@router.post("/care/cases/{case_id}/override", dependencies=[CsrfDep])
def override(
    case: ClinicianCase,
    user: RequiredUser,
    db: DbDep,
    disposition: Annotated[str, Form(max_length=16)],
    reason: Annotated[str, Form(min_length=3, max_length=2000)],
) -> Response:
    try:
        to = Disposition(disposition)
    except ValueError:
        raise HTTPException(status_code=422, detail="Choose a disposition.") from None
    row = followup.override(db, case, user, to, reason)
    return _redirect(f"/care/cases/{case.id}?flash=override#override-{row.id}")


@router.post("/care/cases/{case_id}/escalation/clear", dependencies=[CsrfDep])
def clear_escalation(
    case: ClinicianCase,
    user: RequiredUser,
    db: DbDep,
    reason: Annotated[str, Form(min_length=3, max_length=2000)],
) -> Response:
    """A clinician reviewed the escalation and clears it with a reason (audited)."""
    try:
        followup.clear_escalation(db, case, user, reason)
    except followup.NothingToClear:
        return _redirect(f"/care/cases/{case.id}#escalation")
    return _redirect(f"/care/cases/{case.id}?flash=cleared#escalation")


@router.post("/care/cases/{case_id}/acknowledge", dependencies=[CsrfDep])
def acknowledge(case: ClinicianCase, user: RequiredUser, db: DbDep) -> Response:
    case_work.acknowledge(db, case, user)
    return _redirect(f"/care/cases/{case.id}?flash=ack")


@router.post("/care/cases/{case_id}/close", dependencies=[CsrfDep])
def close(case: ClinicianCase, user: RequiredUser, db: DbDep) -> Response:
    case_work.close(db, case, user)
    return _redirect(f"/care/cases/{case.id}?flash=closed")


# --- tele-visits ------------------------------------------------------------------------------


def parse_slot(value: str) -> dt.datetime:
    """A slot start from a datetime-local field (read as UTC) or ISO text with an offset."""
    try:
        when = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise HTTPException(status_code=422, detail="Give the visit time as date and time.") from None
    return when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when  # book_visit checks the range


@router.post("/care/cases/{case_id}/visit-request", dependencies=[CsrfDep])
def visit_request(
    case: PatientCase,
    user: RequiredUser,
    db: DbDep,
    mode: Annotated[str, Form(max_length=16)],
    preferred_times: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    if mode not in repo_care.VISIT_MODES:
        raise HTTPException(status_code=422, detail="Choose video, phone or message.")
    ensure_visit_allowed(user, case.assessment)  # never for a result that needs care in person
    try:
        assessments.request_visit(db, case.assessment, user, mode=mode, preferred_times=preferred_times)
    except assessments.VisitNotAllowed:
        raise HTTPException(status_code=409, detail=VISIT_REFUSED) from None
    return _redirect(f"/care/cases/{case.id}?flash=visit")


@router.post("/care/cases/{case_id}/bookings", dependencies=[CsrfDep])
def book(
    request: Request,
    case: ClinicianCase,
    user: RequiredUser,
    db: DbDep,
    ws: WebSessionDep,
    slot_start: Annotated[str, Form(max_length=40)],
    mode: Annotated[str, Form(max_length=16)] = "video",
    visit_request_id: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    if mode not in repo_care.VISIT_MODES:
        raise HTTPException(status_code=422, detail="Choose video, phone or message.")
    from telespine.services import visits as visit_service

    settings = request.app.state.settings
    try:
        booking = visit_service.clinician_book(
            db,
            case,
            user,
            parse_slot(slot_start),
            mode,
            now=dt.datetime.now(dt.UTC),
            slot_minutes=settings.visit_slot_minutes,
            link_base=settings.public_url,
            visit_request_id=visit_request_id,
        )
    except visit_service.VisitNotAllowed:  # never a video visit for a result needing care in person
        return _render(request, ws, "error.html", {"status": 409, "message": VISIT_REFUSED}, 409)
    except repo_care.BadSlot as exc:
        return _render(
            request,
            ws,
            "error.html",
            {"status": 422, "message": f"{exc} Go back and choose another time."},
            422,
        )
    except repo_care.SlotTaken:
        return _render(
            request,
            ws,
            "error.html",
            {
                "status": 409,
                "message": "You already have a visit booked at this time. Go back and choose another time.",
            },
            409,
        )
    return _redirect(f"/care/visits/{booking.id}?flash=booked")


@router.get("/care/visits/{booking_id}", response_class=HTMLResponse)
def visit_page(
    request: Request,
    booking: ReadableBooking,
    user: RequiredUser,
    db: DbDep,
    ws: WebSessionDep,
    flash: Annotated[str, Query(max_length=16)] = "",
) -> Response:
    case = repo_care.get_case(db, booking.case_id)
    if case is None:
        raise HTTPException(status_code=404, detail="Not found.")
    version = case.assessment.latest
    scores = repo_care.scores_for_case(db, case)
    clinician = can_work_case(user, case)
    # The whole note for its clinicians; the patient sees its plan once the visit is finished.
    shown_note = clinician or (booking.status == "finished" and bool((booking.note or {}).get("plan")))
    saved = records.visit_note(db, booking, case, user) if shown_note else None
    note = saved or repo_care.note_template(version, scores)
    from telespine.web.pages.visits import viewer_label

    return _render(
        request,
        ws,
        "care_visit.html",
        {
            "booking": booking,
            "when": viewer_label(db, user, case, booking.slot_start),  # in the viewer's zone
            "case": case,
            "disposition": repo_care.effective_disposition(db, case),
            "version": version,
            "note": note,
            "fields": repo_care.NOTE_FIELDS,
            "clinician": clinician,
            "diary": records.diary_entries(db, case, user, last=7) if clinician else [],
            "scores": scores,
            "score_text": chart_glance.score_text,
            "flash": FLASHES.get(flash),
            "audience": _audience(case),
        },
    )


@router.post("/care/visits/{booking_id}/note", dependencies=[CsrfDep])
def visit_note(
    booking: ReadableBooking,
    user: RequiredUser,
    db: DbDep,
    subjective: Annotated[str, Form(max_length=8000)] = "",
    objective: Annotated[str, Form(max_length=8000)] = "",
    assessment: Annotated[str, Form(max_length=8000)] = "",
    plan: Annotated[str, Form(max_length=8000)] = "",
    finish: Annotated[str, Form(max_length=4)] = "",
) -> Response:
    case = repo_care.get_case(db, booking.case_id)
    if case is None or not can_work_case(user, case):
        raise HTTPException(status_code=404, detail="Not found.")
    if booking.status == "finished":  # locked after Finish: later changes are signed addenda
        raise HTTPException(status_code=409, detail="The note is locked. Add a signed addendum instead.")
    note = {"subjective": subjective, "objective": objective, "assessment": assessment, "plan": plan}
    from telespine.services import visits as visit_service

    visit_service.save_note(db, booking, case, user, note, finish=finish == "1")
    return _redirect(f"/care/visits/{booking.id}?flash={'finished' if finish == '1' else 'saved'}")


@router.get("/care/visits/{booking_id}/plan.pdf")
def visit_plan(request: Request, booking: ReadableBooking, db: DbDep) -> Response:
    """The written plan after the visit: built by telespine.program from the latest version and the
    plan answers the patient saved (the program pages' saved_plan); the safety-net plan on failure.
    Everything is read first; the PDF is made after the request's database connection is released."""
    from telespine.web.pages import visits as visit_pages
    from telespine.web.pages.program import saved_plan

    case = repo_care.get_case(db, booking.case_id)
    if case is None or booking.status != "finished":
        raise HTTPException(status_code=404, detail="Not found.")
    audience = followup.audience_of(case)  # for the safety-net plan, read now
    document: visit_pages.VisitPlanDocument | None = None
    try:
        plan, _ = saved_plan(request, db, case.assessment)
        document = visit_pages.visit_plan_document(db, booking, plan)  # the clinician's changes (issue 11)
    except Exception:  # never no plan, never one that skips a held level: the safety-net plan
        document = None
    release_db(db)  # plain values from here: the PDF helper's wait holds no pooled connection
    try:
        data = visit_pages.visit_plan_file(document, "pdf") if document is not None else None
    except Exception:
        data = None
    if data is None:
        from telespine.program import safety_net_plan

        fallback = safety_net_plan(dt.datetime.now(dt.UTC), audience)
        data = clinical.plan_file(fallback, "pdf")
    return Response(
        data,
        media_type="application/pdf",
        headers={"content-disposition": 'attachment; filename="telespine-visit-plan.pdf"'},
    )


# --- messages and diary ---------------------------------------------------------------------


@router.post("/care/cases/{case_id}/messages", dependencies=[CsrfDep])
def send_message(
    request: Request,
    case: ReadableCase,
    user: RequiredUser,
    db: DbDep,
    body: Annotated[str, Form(min_length=1, max_length=4000)],
) -> Response:
    """A message (sync: screening runs in the threadpool). A flagged one shows the right result
    at once: the emergency page for emergency, the safety net otherwise."""
    if user.role in ("patient", "parent"):
        if case.assessment.profile.owner_id != user.id:
            raise HTTPException(status_code=403, detail="Only the patient or parent can do this.")
    elif not can_work_case(user, case):
        raise HTTPException(status_code=404, detail="Not found.")
    out = followup.post_message(db, case, user, body, emergency_number=_number(request))
    return _after(out, "sent", out.message.id if out.message is not None else "", "#messages")


def _after(out: followup.Outcome, flash: str, alert: str, anchor: str) -> Response:
    """Where a patient lands after a follow-up write: the emergency page for emergency, the
    safety net for a red flag or failure, else the case page."""
    if out.failed:
        return _redirect(f"/care/cases/{out.case_id}?alert=failed#safety")
    if out.safety_net and out.emergency:
        return _redirect(f"/care/cases/{out.case_id}/emergency")
    if out.safety_net:
        return _redirect(f"/care/cases/{out.case_id}?flash={flash}&alert={alert}#safety")
    return _redirect(f"/care/cases/{out.case_id}?flash={flash}{anchor}")


@router.get("/care/cases/{case_id}/emergency", response_class=HTMLResponse)
def emergency_page(request: Request, case: ReadableCase, ws: WebSessionDep) -> Response:
    """The emergency page after a message, diary entry or check that reached emergency."""
    audience = _audience(case)
    return _render(
        request,
        ws,
        "care_emergency.html",
        {
            "case": case,
            "audience": audience,
            "advice": clinical.advice_for(audience, _number(request)),
            "signs": followup.emergency_signs(audience, _number(request)),
        },
    )


@router.get("/care/cases/{case_id}/check", response_class=HTMLResponse)
def check_page(
    request: Request,
    case: PatientCase,
    ws: WebSessionDep,
    message: Annotated[str, Query(max_length=64)] = "",
) -> Response:
    """The one-minute red-flag check offered in the automatic reply (the diary's questions)."""
    audience = _audience(case)
    try:
        questions = clinical.diary_questions(audience)
    except Exception:  # the check cannot load: the safety net instead of a calm page
        return _redirect(f"/care/cases/{case.id}?alert=check#safety")
    return _render(
        request,
        ws,
        "care_check.html",
        {"case": case, "audience": audience, "questions": questions, "message_id": message},
    )


@router.post("/care/cases/{case_id}/check", dependencies=[CsrfDep])
async def check(request: Request, case: PatientCase, user: RequiredUser, db: DbDep) -> Response:
    """The check's answers go through the triage engine; the result is shown at once."""
    form = await request.form()
    answers = {k.removeprefix("rf_"): str(v) for k, v in form.items() if k.startswith("rf_")}
    message_id = str(form.get("message_id") or "")[:64] or None
    try:
        out = await run_in_threadpool(
            followup.red_flag_check,
            db,
            case,
            user,
            answers,
            emergency_number=_number(request),
            message_id=message_id,
        )
    except CheckAnswerError:
        raise HTTPException(status_code=422, detail="Please answer the questions of the check.") from None
    return _after(out, "check", "check", "#disposition")


@router.post("/care/cases/{case_id}/diary", dependencies=[CsrfDep])
async def diary(request: Request, case: PatientCase, user: RequiredUser, db: DbDep) -> Response:
    form = await request.form()
    answers = {k.removeprefix("rf_"): str(v) for k, v in form.items() if k.startswith("rf_")}
    day_text = str(form.get("day") or _local_today(case).isoformat())
    doc: dict[str, Any] = {
        "day": day_text,
        "pain": str(form.get("pain", "")),
        "function": str(form.get("function", "")),
        "medicine_use": str(form.get("medicine_use", "")),
        "red_flag_check": answers,
        "note": str(form.get("note") or "")[:4000] or None,
    }
    try:
        day = dt.date.fromisoformat(day_text)
    except ValueError:
        raise HTTPException(
            status_code=422, detail="Please check the diary entry: give the day as a date."
        ) from None
    problem = repo_care.diary_day_problem(case, day)
    if problem:
        raise HTTPException(status_code=422, detail=f"Please check the diary entry: {problem}")
    try:
        known = {q["id"] for q in clinical.diary_questions(_audience(case))}
    except Exception:
        known = set(answers)  # the check cannot load: diary_entry below fails safe
    if set(answers) - known:
        raise HTTPException(
            status_code=422, detail="Please check the diary entry: an unknown question was sent."
        )
    try:
        entry = clinical.diary_entry(doc)
    except clinical.DiaryProblem as exc:
        raise HTTPException(status_code=422, detail=f"Please check the diary entry: {exc}") from None
    except clinical.ClinicalFailure:
        # The check itself is broken: never a calm "saved"; a clinician must look, the patient gets the net.
        repo_care.raise_case(db, case, "A diary entry could not be checked: contact the patient.")
        db.commit()
        return _redirect(f"/care/cases/{case.id}?alert=diary#safety")
    # Screening the note is CPU work: never in the event loop.
    out = await run_in_threadpool(
        followup.add_diary_entry, db, case, user, entry, emergency_number=_number(request)
    )
    return _after(out, "diary", "diary", "#diary")


@router.post("/care/contact", dependencies=[CsrfDep])
def contact(
    user: RequiredUser,
    db: DbDep,
    email: Annotated[str, Form(min_length=3, max_length=254)],
    case_id: Annotated[str, Form(max_length=64)] = "",
    reminders: Annotated[str, Form(max_length=4)] = "",
    timezone: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    if user.role not in ("patient", "parent") or "@" not in email:
        raise HTTPException(status_code=422, detail="Give an e-mail address.")
    if timezone and timezone not in ZONES:
        raise HTTPException(status_code=422, detail="Choose a time zone from the list.")
    profile_ids = readable_profile_ids(db, user) if timezone else []
    account_service.update_contact(
        db, user, email, reminders == "1", timezone=timezone, profile_ids=profile_ids
    )
    return _redirect(f"/care/cases/{case_id}?flash=contact" if case_id.isalnum() else "/care")


# --- rule-set feedback ----------------------------------------------------------------------


@router.get("/care/feedback", response_class=HTMLResponse)
def feedback_page(request: Request, user: FeedbackReader, db: DbDep, ws: WebSessionDep) -> Response:
    rows = reads.ruleset_feedback(db, user)
    return _render(request, ws, "care_feedback.html", {"rows": rows, "show_reason": user.role == "clinician"})
