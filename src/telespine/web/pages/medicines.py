"""Pages of the medicine diary (issue 14): the form, what an entry calls for, the diary and the
plan to cut down and stop. Thin routes: parse the form, call telespine.services.medicines,
render. The clock is the check-in pages' `current_time` dependency (tests freeze it)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from telespine.services import followup, records
from telespine.services import medicines as service
from telespine.store import cases, diary
from telespine.store.models import User
from telespine.store.models_care import CareCase
from telespine.web import clinical
from telespine.web.deps import CsrfDep, DbDep, RequiredUser, WebSessionDep
from telespine.web.pages.checkin import NowDep
from telespine.web.pages.render import emergency_number as _number
from telespine.web.pages.render import render as _render
from telespine.web.policy import PatientCase, ReadableCase, can_write_profile

router = APIRouter(include_in_schema=False)
ROWS = 3  # medicines a form offers at once


def _zone(case: CareCase) -> ZoneInfo:
    try:
        return ZoneInfo(case.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _view(db: DbDep, case: CareCase, user: User, now: dt.datetime) -> dict[str, Any]:
    audience = followup.audience_of(case)
    return {
        "case": case,
        "audience": audience,
        "today": diary.local_today(case, now),
        "choices": service.medicine_choices(audience),
        "questions": service.warning_questions(audience),
        "aspirin_warning": service.aspirin_warning(audience) if audience == "pediatric" else None,
        "lines": records.medicine_lines(db, case, user, audience),  # an audited read
        "plan": service.reduce_plan(db, case),
        "can_write": can_write_profile(user, case.assessment.profile),
        "rows": range(1, ROWS + 1),
        "zone": case.timezone or "UTC",
    }


@router.get("/care/cases/{case_id}/medicines", response_class=HTMLResponse)
def medicines_page(
    request: Request, case: ReadableCase, user: RequiredUser, db: DbDep, ws: WebSessionDep, now: NowDep
) -> Response:
    """The form (for the patient or parent), the plan to cut down and stop, and the diary; the
    diary and plan alone as a fragment for htmx (the case page and the clinician's chart)."""
    ctx = {**_view(db, case, user, now), "values": {}, "error": None}
    if request.headers.get("hx-request") == "true":
        return _render(request, ws, "_medicine_diary_body.html", ctx)
    return _render(request, ws, "medicine_diary.html", ctx)


def form_entry(values: dict[str, str], case: CareCase) -> dict[str, Any]:
    """The entry document of a submitted form (times are the patient's local times that day)."""
    try:
        day = dt.date.fromisoformat(values.get("day", ""))
    except ValueError:
        raise service.MedicineProblem("day: give the date") from None
    taken = []
    for i in range(1, ROWS + 1):
        medicine = values.get(f"med_{i}", "").strip()
        if not medicine:
            continue
        try:
            at = dt.time.fromisoformat(values.get(f"time_{i}", "").strip())
        except ValueError:
            raise service.MedicineProblem(f"time_{i}: give the time it was taken") from None
        amount = values.get(f"amount_{i}", "").strip() or None
        taken.append(
            {
                "medicine": medicine,
                "taken_at": dt.datetime.combine(day, at, tzinfo=_zone(case)),
                "amount": amount,
            }
        )
    signs = {
        k.removeprefix("ws_"): v
        for k, v in values.items()
        if k.startswith("ws_") and v in ("yes", "no", "unknown")
    }
    other = values.get("other_effects", "").strip() or None
    return {"day": day, "taken": taken, "warning_signs": signs, "other_effects": other}


@router.post("/care/cases/{case_id}/medicines", dependencies=[CsrfDep])
async def medicines_post(
    request: Request, case: PatientCase, user: RequiredUser, db: DbDep, ws: WebSessionDep, now: NowDep
) -> Response:
    form = await request.form()
    values = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    try:
        entry = service.parse_entry(form_entry(values, case))
        out = await run_in_threadpool(
            service.record_medicines, db, case, user, entry, emergency_number=_number(request), now=now
        )
    except service.MedicineProblem as exc:
        ctx = {**_view(db, case, user, now), "values": values, "error": f"Please check your answers: {exc}"}
        return _render(request, ws, "medicine_diary.html", ctx, status=422)
    if out.failed or out.entry is None:
        return RedirectResponse(f"/care/cases/{out.case_id}?alert=failed#safety", status_code=303)
    return RedirectResponse(f"/care/cases/{out.case_id}/medicines/{out.entry.id}", status_code=303)


@router.get("/care/cases/{case_id}/medicines/{entry_id}", response_class=HTMLResponse)
def medicine_entry_page(
    request: Request, case: ReadableCase, user: RequiredUser, db: DbDep, ws: WebSessionDep, entry_id: str
) -> Response:
    """One saved entry: what its warning signs call for, the level now shown, and the signs."""
    result = service.entry_result(db, case, entry_id, _number(request))
    if result is None:
        raise HTTPException(status_code=404, detail="Not found.")
    audience = followup.audience_of(case)
    shown = cases.patient_disposition(db, case)
    level = result.level
    urgent = level in ("emergency", "urgent") or shown in ("emergency", "urgent")
    ctx = {
        "case": case,
        "audience": audience,
        "result": result,
        "shown": shown,
        "emergency": shown == "emergency" or level == "emergency",
        "advice": clinical.advice_for(audience, _number(request)),
        "signs": followup.emergency_signs(audience, _number(request)) if urgent else [],
        "lines": records.medicine_lines(db, case, user, audience, last=1),  # an audited read
    }
    return _render(request, ws, "medicine_done.html", ctx)
