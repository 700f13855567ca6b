"""Pages of the weekly check-in, progress, wearable uploads and reminder unsubscribes (issue 14).

Thin routes: parse the form, call telespine.services.checkin, render. The clock is the
`current_time` dependency, which reads `app.state.clock` when a test sets one (the routes are
shared between apps, so `app.dependency_overrides` does not reach them: web/routing.py).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from telespine.services import checkin as service
from telespine.services import followup, records
from telespine.store import cases, steps
from telespine.store.models import User
from telespine.store.models_care import CareCase
from telespine.store.models_visits import ClinicianSchedule
from telespine.web import clinical
from telespine.web.deps import CsrfDep, DbDep, RequiredUser, WebSessionDep
from telespine.web.pages.render import emergency_number as _number
from telespine.web.pages.render import redirect as _redirect
from telespine.web.pages.render import render as _render
from telespine.web.policy import PatientCase, ReadableCase, can_work_case

router = APIRouter(include_in_schema=False)


def current_time(request: Request) -> dt.datetime:
    """Now, as an aware UTC time: the app's clock (`app.state.clock`, a function giving an aware
    time: tests freeze it) or the system clock."""
    clock = getattr(request.app.state, "clock", None)
    now = clock() if clock is not None else dt.datetime.now(dt.UTC)
    if now.tzinfo is None:
        raise ValueError("app.state.clock must give an aware time")
    return now


NowDep = Annotated[dt.datetime, Depends(current_time)]


def viewer_timezone(db: DbDep, user: User, case: CareCase) -> str:
    """The viewer's zone: the patient's own (the case's) for a patient or parent, a clinician's
    from their weekly hours, else UTC."""
    if user.role in ("patient", "parent"):
        return case.timezone or "UTC"
    sched = db.get(ClinicianSchedule, user.id)
    return sched.timezone if sched is not None else "UTC"


def form_view(request: Request, db: DbDep, case: CareCase, now: dt.datetime) -> dict[str, Any]:
    """What the check-in form shows: red-flag questions and the questionnaires due now."""
    audience = followup.audience_of(case)
    enabled = clinical.enabled_instruments(request.app.state)
    due = service.due_questionnaires(case, cases.scores_for_case(db, case), now, enabled)
    views = [v for v in (clinical.instrument_view(i, audience, enabled) for i in due) if v is not None]
    return {
        "case": case,
        "audience": audience,
        "questions": service.red_flag_questions(audience),
        "instruments": views,
    }


@router.get("/care/cases/{case_id}/checkin", response_class=HTMLResponse)
def checkin_page(request: Request, case: PatientCase, db: DbDep, ws: WebSessionDep, now: NowDep) -> Response:
    try:
        ctx = form_view(request, db, case, now)
    except Exception:  # the questions cannot load: the safety net instead of a calm page
        return _redirect(f"/care/cases/{case.id}?alert=check#safety")
    return _render(request, ws, "checkin.html", {**ctx, "values": {}, "error": None})


def _int(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except ValueError:
        return None


@router.post("/care/cases/{case_id}/checkin", dependencies=[CsrfDep])
async def checkin_post(
    request: Request, case: PatientCase, user: RequiredUser, db: DbDep, ws: WebSessionDep, now: NowDep
) -> Response:
    form = await request.form()
    values = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    red = {k.removeprefix("rf_"): v for k, v in values.items() if k.startswith("rf_")}
    questionnaires: dict[str, dict[str, int | str]] = {}
    for key, value in values.items():
        if not key.startswith("q_") or not value.strip():
            continue
        inst, _, item = key.removeprefix("q_").partition("__")
        number = _int(value)
        questionnaires.setdefault(inst, {})[item] = number if number is not None else value
    pain, function = _int(values.get("pain", "")), _int(values.get("function", ""))
    error = None
    if pain is None or function is None:
        error = "Please give the pain and daily activities as numbers from 0 to 10."
    else:
        answers = service.CheckinAnswers(
            pain=pain,
            function=function,
            medicine_use=values.get("medicine_use", ""),
            red_flags=red,
            questionnaires=questionnaires,
            note=values.get("note") or None,
        )
        try:
            out = await run_in_threadpool(
                service.checkin,
                db,
                case,
                user,
                answers,
                emergency_number=_number(request),
                now=now,
                enabled=clinical.enabled_instruments(request.app.state),
            )
        except service.CheckinProblem as exc:
            error = f"Please check your answers: {exc}"
    if error is not None:
        ctx = form_view(request, db, case, now)
        return _render(request, ws, "checkin.html", {**ctx, "values": values, "error": error}, status=422)
    if out.failed or out.checkin is None:
        return _redirect(f"/care/cases/{out.case_id}?alert=failed#safety")
    if out.safety_net and out.emergency:
        return _redirect(f"/care/cases/{out.case_id}/emergency")
    net = "?net=1" if out.safety_net else ""
    return _redirect(f"/care/cases/{out.case_id}/checkins/{out.checkin.id}{net}")


@router.get("/care/cases/{case_id}/checkins/{checkin_id}", response_class=HTMLResponse)
def checkin_done(
    request: Request,
    case: ReadableCase,
    db: DbDep,
    ws: WebSessionDep,
    checkin_id: str,
    net: Annotated[str, Query(max_length=1)] = "",
) -> Response:
    """One check-in and what changed since the one before it."""
    row = steps.get_checkin(db, case, checkin_id[:64])
    if row is None:
        raise HTTPException(status_code=404, detail="Not found.")
    every = steps.checkins_for_case(db, case)
    at = next(i for i, c in enumerate(every) if c.id == row.id)
    audience = followup.audience_of(case)
    ctx: dict[str, Any] = {
        "case": case,
        "audience": audience,
        "row": row,
        "number": at + 1,
        "changes": service.changes_since(every[at - 1] if at else None, row, audience == "pediatric"),
        "shown": cases.patient_disposition(db, case),
        "advice": clinical.advice_for(audience),
    }
    if net == "1":
        ctx["safety"] = clinical.emergency_signs(audience, _number(request))
    return _render(request, ws, "checkin_done.html", ctx)


@router.get("/care/cases/{case_id}/progress", response_class=HTMLResponse)
def progress_page(
    request: Request, case: ReadableCase, user: RequiredUser, db: DbDep, ws: WebSessionDep, now: NowDep
) -> Response:
    """Charts with tables and the plan's goal; a fragment for htmx, a page otherwise."""
    clinician = can_work_case(user, case)
    view = service.progress(db, case, viewer_timezone(db, user, case), now, clinician=clinician)
    # The pain chart shows the diary (its days counted): a read of diary entries, audited.
    records.audit_read(db, user, records.DIARY_ENTRY, case, sum(w.diary_days for w in view.weeks))
    ctx = {
        "case": case,
        "progress": view,
        "audience": followup.audience_of(case),
        "clinician_view": clinician,
    }
    if request.headers.get("hx-request") == "true":
        return _render(request, ws, "_checkin_progress_body.html", ctx)
    return _render(request, ws, "checkin_progress.html", ctx)


# --- wearable uploads -----------------------------------------------------------------------


@router.get("/care/cases/{case_id}/steps", response_class=HTMLResponse)
def steps_page(request: Request, case: PatientCase, db: DbDep, ws: WebSessionDep) -> Response:
    return _render(
        request,
        ws,
        "steps_upload.html",
        {
            "case": case,
            "audience": followup.audience_of(case),
            "uploads": steps.uploads_for_profile(db, case.profile_id),
            "error": None,
            "done": None,
            "limit_mb": request.app.state.settings.max_upload_bytes // (1024 * 1024),
        },
    )


@router.post("/care/cases/{case_id}/steps", dependencies=[CsrfDep])
async def steps_upload(
    request: Request, case: PatientCase, user: RequiredUser, db: DbDep, ws: WebSessionDep, now: NowDep
) -> Response:
    """The export is already spooled to a temporary file by the form parser; parse it off the
    event loop. An error shows its plain message and changes nothing."""
    form = await request.form()
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        out = service.UploadOutcome(ok=False, error="Choose a file to upload.", error_kind="empty")
    else:
        out = await run_in_threadpool(service.upload_steps, db, case, user, upload.file, now=now)
    ctx = {
        "case": case,
        "audience": followup.audience_of(case),
        "uploads": steps.uploads_for_profile(db, case.profile_id),
        "error": out.error,
        "done": out.upload,
        "limit_mb": request.app.state.settings.max_upload_bytes // (1024 * 1024),
    }
    return _render(request, ws, "steps_upload.html", ctx, status=200 if out.ok else 422)


# --- unsubscribe from reminder e-mails ------------------------------------------------------


@router.get("/care/unsubscribe", response_class=HTMLResponse)
def unsubscribe_page(
    request: Request, ws: WebSessionDep, t: Annotated[str, Query(max_length=200)] = ""
) -> Response:
    """The link in a reminder e-mail: one button (a GET changes nothing, so link checkers in
    mail systems cannot unsubscribe anyone)."""
    valid = service.user_of_token(request.app.state.settings.secret_key.get_secret_value(), t) is not None
    return _render(
        request, ws, "unsubscribe.html", {"token": t, "valid": valid, "done": False}, 200 if valid else 400
    )


@router.post("/care/unsubscribe", response_class=HTMLResponse)
def unsubscribe(
    request: Request,
    db: DbDep,
    ws: WebSessionDep,
    t: Annotated[str, Query(max_length=200)] = "",
    token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """One click (the page's button, or a mail program's RFC 8058 POST): reminders stop at once.
    The signed token is the authority, so no session or CSRF token is needed."""
    secret = request.app.state.settings.secret_key.get_secret_value()
    user_id = service.user_of_token(secret, token or t)
    if user_id is None or not service.unsubscribe(db, user_id):
        return _render(request, ws, "unsubscribe.html", {"token": "", "valid": False, "done": False}, 400)
    return _render(request, ws, "unsubscribe.html", {"token": "", "valid": True, "done": True})
