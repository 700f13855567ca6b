"""Pages of the lessons on thinking and feeling about pain (issue 14): the list with what was
read, one lesson, and "I have read this". Thin routes over telespine.services.lessons."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from telespine.content.loader import load_sources
from telespine.services import followup
from telespine.services import lessons as service
from telespine.store.models_care import CareCase
from telespine.web.deps import CsrfDep, DbDep, RequiredUser, WebSessionDep
from telespine.web.pages.checkin import NowDep
from telespine.web.pages.render import render as _render
from telespine.web.policy import PatientCase, ReadableCase, can_work_case, can_write_profile

router = APIRouter(include_in_schema=False)


def _sources(keys: list[str]) -> list[str]:
    try:
        registry = load_sources().sources
    except Exception:  # a broken registry must not hide the lesson
        return keys
    return [str(registry[k].title) if k in registry else k for k in keys]


def _list_ctx(db: DbDep, case: CareCase) -> dict[str, Any]:
    return {
        "case": case,
        "audience": followup.audience_of(case),
        "risk": service.risk_of(db, case),
        "lessons": service.offered(db, case),
        "read": service.read_ids(db, case),
        "notes": service.read_notes(db, case),
    }


@router.get("/care/cases/{case_id}/lessons", response_class=HTMLResponse)
def lessons_page(
    request: Request, case: ReadableCase, user: RequiredUser, db: DbDep, ws: WebSessionDep
) -> Response:
    """The lessons offered and which were read (a fragment for htmx on the case page and chart)."""
    ctx = {**_list_ctx(db, case), "clinician_view": can_work_case(user, case)}
    if request.headers.get("hx-request") == "true":
        return _render(request, ws, "_lessons_body.html", ctx)
    return _render(request, ws, "lessons.html", ctx)


@router.get("/care/cases/{case_id}/lessons/{lesson_id}", response_class=HTMLResponse)
def lesson_page(
    request: Request, case: ReadableCase, user: RequiredUser, db: DbDep, ws: WebSessionDep, lesson_id: str
) -> Response:
    try:
        item = service.lesson_for_case(db, case, lesson_id[:40])
    except service.UnknownLesson:
        raise HTTPException(status_code=404, detail="Not found.") from None
    ctx = {
        "case": case,
        "audience": followup.audience_of(case),
        "lesson": item,
        "sources": _sources(item.sources),
        "is_read": item.id in service.read_ids(db, case),
        "can_write": can_write_profile(user, case.assessment.profile),
    }
    return _render(request, ws, "lesson.html", ctx)


@router.post("/care/cases/{case_id}/lessons/{lesson_id}/read", dependencies=[CsrfDep])
def lesson_read(case: PatientCase, user: RequiredUser, db: DbDep, lesson_id: str, now: NowDep) -> Response:
    try:
        service.mark_read(db, case, user, lesson_id[:40], now)
    except service.UnknownLesson:
        raise HTTPException(status_code=404, detail="Not found.") from None
    return RedirectResponse(f"/care/cases/{case.id}/lessons/{lesson_id[:40]}", status_code=303)
