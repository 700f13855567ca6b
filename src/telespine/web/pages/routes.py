"""HTML pages: home, the assessment, results, guides, accounts, the clinic list and the audit log.

Routes hold no clinical logic: questions, results and texts come from telespine.web.clinical,
which wraps the domain packages so that any failure shows the emergency safety net.
"""

from __future__ import annotations

from typing import Annotated, Any, cast
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response

from telespine.services import accounts as account_service
from telespine.services import assessments, followup, plans, reads
from telespine.services import profiles as child_profiles
from telespine.store import lists, repo, repo_program
from telespine.store.accounts import PasswordRejected, check_new_password
from telespine.triage.types import Disposition, TriageResult
from telespine.web import clinical, sessions
from telespine.web.auth import LoginRefused, authenticate
from telespine.web.deps import CsrfDep, DbDep, RequiredUser, SettingsDep, WebSessionDep, release_db, remember
from telespine.web.pages.draft import DRAFT, AssessmentDraft
from telespine.web.pages.program import PlanSaveFailed, draft_plan, mark_plan_saved, saved_program_download
from telespine.web.pages.render import emergency_number as _emergency_number
from telespine.web.pages.render import redirect as _redirect
from telespine.web.pages.render import render as _render
from telespine.web.pages.visits import booking_offer
from telespine.web.policy import (
    VISIT_REFUSED,
    AdminUser,
    ClinicianUser,
    ParentUser,
    ReadableAssessment,
    WritableAssessment,
    can_manage_children,
    can_request_visit,
    can_save_assessments,
    can_see_rule_details,
    can_write_profile,
    child_profile_for_check,
    ensure_visit_allowed,
    load_profile_for_write,
    readable_assessments,
    shown_disposition,
    visit_fits,
)
from telespine.web.sessions import WebSession

router = APIRouter(include_in_schema=False)
USERNAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789._-")


def _safe_next(value: str | None, default: str = "/account") -> str:
    """Only local paths: an open redirect would let a phishing link borrow telespine's name."""
    if not value:
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    return value


def _draft(ws: WebSession) -> AssessmentDraft:
    draft = ws.data.get(DRAFT)
    if not isinstance(draft, dict):
        return {"answers": {}, "who": "self", "history": [], "saved_id": None}
    draft.setdefault("answers", {})
    draft.setdefault("history", [])
    draft.setdefault("who", "self")
    draft.setdefault("saved_id", None)
    return cast(AssessmentDraft, draft)


def _hint(draft: AssessmentDraft) -> str:
    return "pediatric" if draft.get("who") == "child" else "adult"


def _store_draft(db: DbDep, ws: WebSession, draft: AssessmentDraft) -> None:
    sessions.save_data(db, ws, {**ws.data, DRAFT: draft})


# --- home and assessment -------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
def home(request: Request, ws: WebSessionDep) -> Response:
    return _render(
        request, ws, "home.html", {"guide": clinical.guide_for("adult", _emergency_number(request))}
    )


@router.get("/assess", response_class=HTMLResponse)
def assess_start(request: Request, db: DbDep, settings: SettingsDep, ws: WebSessionDep) -> Response:
    ws = remember(request, sessions.ensure(db, settings, ws))
    draft = _draft(ws)
    return _render(
        request, ws, "assess_start.html", {"who": draft["who"], "has_draft": bool(draft["answers"])}
    )


@router.post("/assess/start", dependencies=[CsrfDep])
def assess_begin(db: DbDep, ws: WebSessionDep, who: Annotated[str, Form(max_length=10)] = "self") -> Response:
    who = "child" if who == "child" else "self"
    draft: AssessmentDraft = {"answers": {}, "who": who, "history": [], "saved_id": None}
    _store_draft(db, ws, draft)
    return _redirect("/assess/q")


@router.get("/assess/q", response_class=HTMLResponse)
def assess_question(
    request: Request,
    db: DbDep,
    settings: SettingsDep,
    ws: WebSessionDep,
    edit: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    ws = remember(request, sessions.ensure(db, settings, ws))
    draft = _draft(ws)
    answers, history = draft["answers"], draft["history"]
    if edit is not None:
        view = clinical.question_view(edit, answers, _hint(draft))
        if view is not None and edit in answers:
            index = history.index(edit) if edit in history else len(history)
            step = clinical.next_step(answers, _hint(draft))
            return _question_page(
                request,
                ws,
                view,
                answers.get(edit),
                history[index - 1] if index > 0 else None,
                (index, max(step.progress[1], index + 1)),
            )
    step = clinical.next_step(answers, _hint(draft))
    if step.kind == "emergency":
        return _redirect("/assess/emergency")
    if step.kind == "failed":
        return _emergency_page(request, ws, draft, None)
    if step.kind == "done" or step.question is None:
        return _redirect("/assess/result")
    back = history[-1] if history else None
    return _question_page(request, ws, step.question, answers.get(step.question["id"]), back, step.progress)


def _question_page(
    request: Request,
    ws: WebSession,
    view: dict[str, Any],
    current: object,
    back: str | None,
    progress: tuple[int, int],
    error: str | None = None,
    status: int = 200,
) -> Response:
    shown = current
    if view["kind"] == "yes_no_unsure" and isinstance(current, bool):
        shown = "yes" if current else "no"
    return _render(
        request,
        ws,
        "question.html",
        {"q": view, "current": shown, "back_to": back, "progress": progress, "error": error},
        status,
    )


@router.post("/assess/q", dependencies=[CsrfDep])
def assess_answer(
    request: Request,
    db: DbDep,
    ws: WebSessionDep,
    question_id: Annotated[str, Form(max_length=64)],
    answer: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    draft = _draft(ws)
    try:
        value, problem = (
            clinical.parse_answer(question_id, answer) if answer else (None, "Please choose an answer.")
        )
    except clinical.ClinicalFailure:
        return _emergency_page(request, ws, draft, None)
    if problem is not None:
        view = clinical.question_view(question_id, draft["answers"], _hint(draft))
        if view is None:
            raise HTTPException(status_code=400, detail="This question is not part of the assessment.")
        back = draft["history"][-1] if draft["history"] else None
        step = clinical.next_step(draft["answers"], _hint(draft))
        return _question_page(request, ws, view, answer or None, back, step.progress, problem, 422)
    draft["answers"][question_id] = value
    if question_id not in draft["history"]:
        draft["history"].append(question_id)
    draft["saved_id"] = None  # changed answers make a new result, not yet saved
    _store_draft(db, ws, draft)
    return _redirect("/assess/q")


def _emergency_page(
    request: Request, ws: WebSession, draft: AssessmentDraft, result: TriageResult | None
) -> Response:
    audience = clinical.audience_of(draft["answers"], _hint(draft))
    last = draft["history"][-1] if draft["history"] else ""
    return _render(
        request,
        ws,
        "emergency.html",
        {
            "result": result,
            "safety_net": result is None or result.safety_net,
            "for_child": audience == "pediatric",
            "guide": clinical.guide_for(audience, _emergency_number(request)),
            "advice": clinical.advice_for(audience, _emergency_number(request)),
            "last_question": last,
        },
    )


@router.get("/assess/emergency", response_class=HTMLResponse)
def assess_emergency(request: Request, ws: WebSessionDep) -> Response:
    draft = _draft(ws)
    _, result = clinical.result_from_answers(draft["answers"])
    return _emergency_page(request, ws, draft, result)


@router.get("/assess/result", response_class=HTMLResponse)
def assess_result(request: Request, db: DbDep, ws: WebSessionDep) -> Response:
    draft = _draft(ws)
    if not draft["answers"]:
        return _redirect("/assess")
    step = clinical.next_step(draft["answers"], _hint(draft))
    if step.kind == "question":
        return _redirect("/assess/q")
    _, result = clinical.result_from_answers(draft["answers"])
    if result.safety_net or result.disposition is Disposition.EMERGENCY or step.kind == "failed":
        return _emergency_page(request, ws, draft, result)
    audience = clinical.audience_of(draft["answers"], _hint(draft))
    guide = clinical.guide_for(audience, _emergency_number(request))
    advice = clinical.advice_for(audience, _emergency_number(request))
    sections = []
    if guide is not None:
        for sid in advice.get(result.disposition.value, {}).get("guide_sections", []):
            try:
                sections.append(guide.section(sid))
            except KeyError:
                continue
    unresolved = []
    for finding in result.unresolved:
        view = clinical.question_view(finding, draft["answers"], audience)
        unresolved.append(view["text"] if view else finding.replace("_", " "))
    profiles = repo.profiles_of(db, ws.user) if ws.user is not None else []
    return _render(
        request,
        ws,
        "result.html",
        {
            "result": result,
            "advice": advice,
            "guide": guide,
            "sections": sections,
            "unresolved": unresolved,
            "saved_id": draft.get("saved_id"),
            "profiles": profiles,
            "for_child": audience == "pediatric",
            "for_child_profile": draft.get("who") == "child",
            "visit_allowed": visit_fits(result.disposition.value, result.safety_net),
            "can_save": ws.user is not None and can_save_assessments(ws.user),
            "can_save_child": ws.user is not None and can_manage_children(ws.user),
            "last_question": draft["history"][-1] if draft["history"] else "",
            "earlier": _earlier_assessments(db, ws, draft),
            "offer": booking_offer(request, db, ws.user, draft.get("saved_id")),
        },
    )


def _earlier_assessments(db: DbDep, ws: WebSession, draft: AssessmentDraft) -> list[Any]:
    """Saved assessments the person may add these answers to as a new version (answered again)."""
    if ws.user is None or not can_save_assessments(ws.user) or draft.get("saved_id"):
        return []
    own = [p.id for p in repo.profiles_of(db, ws.user) if p.owner_id == ws.user.id]
    return repo.assessments_for_profiles(db, own)[:3]


def _pdf(data: bytes, name: str) -> Response:
    return Response(
        data, media_type="application/pdf", headers={"content-disposition": f'inline; filename="{name}"'}
    )


@router.get("/assess/plan.pdf")
def assess_plan(ws: WebSessionDep, db: DbDep) -> Response:
    """The written plan of the assessment in progress (the safety-net plan if anything fails);
    the draft is read with the session, and the PDF is made without a database connection."""
    draft = _draft(ws)
    if not draft["answers"]:
        return _redirect("/assess")
    if isinstance(draft.get("plan"), dict) and draft["plan"]:
        # The person has started their plan: one file, built with their plan answers.
        return _redirect("/assess/program.pdf")
    findings, result = clinical.result_from_answers(draft["answers"])
    audience = clinical.audience_of(draft["answers"], _hint(draft))
    release_db(db)  # the PDF helper may take a while: no pooled connection waits with it
    return _pdf(clinical.written_plan_pdf(findings, result, audience), "telespine-plan.pdf")


@router.post("/assess/save", dependencies=[CsrfDep])
def assess_save(
    request: Request,
    db: DbDep,
    ws: WebSessionDep,
    user: RequiredUser,
    profile_id: Annotated[str | None, Form(max_length=64)] = None,
    then: Annotated[str, Form(max_length=10)] = "save",
) -> Response:
    """Save the draft (a new assessment, append-only) and optionally request a tele-visit."""
    draft = _draft(ws)
    if not draft["answers"]:
        return _redirect("/assess")
    findings, result = clinical.result_from_answers(draft["answers"])
    if then == "visit" and not visit_fits(result.disposition.value, result.safety_net):
        raise HTTPException(status_code=409, detail=VISIT_REFUSED)  # before saving anything
    if findings is None:
        findings = {}  # no findings document could be made: the safety net is saved with the answers
    if profile_id is None and draft.get("who") == "child":
        # A check about a child is never filed as the adult's own record.
        profile_id = child_profile_for_check(db, user).id
    profile = load_profile_for_write(db, user, profile_id)
    try:
        # The plan answers and questionnaire scores of the draft, if any: the program page's save step.
        plan = draft_plan(request, draft)
    except PlanSaveFailed:
        return _emergency_page(request, ws, draft, None)
    saved_plan_for = draft["plan"].get("saved_for") if isinstance(draft.get("plan"), dict) else None
    if draft.get("saved_id"):
        assessment_id = str(draft["saved_id"])
        existing = repo.get_assessment(db, assessment_id)
        stale = plan is not None and saved_plan_for != assessment_id  # plan changed since it was saved
        if plan is not None and stale and existing is not None and can_write_profile(user, existing.profile):
            plans.store_plan(db, user, existing, plan)
            db.commit()
            _store_draft(db, ws, mark_plan_saved(draft, assessment_id))
    else:
        assessment = assessments.save_assessment(
            db,
            profile=profile,
            by=user,
            findings=findings,
            result=result,
            answers=draft["answers"],
            plan=plan,
        )
        assessment_id = assessment.id
        draft["saved_id"] = assessment_id
        _store_draft(db, ws, mark_plan_saved(draft, assessment_id) if plan is not None else draft)
    if then == "visit":
        saved = repo.get_assessment(db, assessment_id)
        if saved is not None and can_write_profile(user, saved.profile):
            ensure_visit_allowed(user, saved)
            try:
                assessments.request_visit(db, saved, user)
            except assessments.VisitNotAllowed:
                raise HTTPException(status_code=409, detail=VISIT_REFUSED) from None
        return _redirect(f"/assessments/{assessment_id}?flash=visit")
    if then == "book":  # back to the result page, which now offers the free times
        return _redirect("/assess/result#book-visit")
    return _redirect(f"/assessments/{assessment_id}?flash=saved")


# --- saved assessments ---------------------------------------------------------------------

FLASHES = {
    "saved": "Your assessment is saved.",
    "visit": "Your assessment is saved and your tele-visit request was sent to the clinic.",
    "version": "Your new answers are saved as a new version of this assessment.",
}


@router.get("/assessments/{assessment_id}", response_class=HTMLResponse)
def assessment_page(
    request: Request,
    assessment: ReadableAssessment,
    user: RequiredUser,
    db: DbDep,
    ws: WebSessionDep,
    flash: Annotated[str | None, Query(max_length=16)] = None,
) -> Response:
    audience = plans.audience_of(assessment)
    shown = shown_disposition(assessment)
    return _render(
        request,
        ws,
        "assessment.html",
        {
            "assessment": assessment,
            "advice": clinical.advice_for(audience, _emergency_number(request)),
            "visits": repo.visits_for_assessment(db, assessment.id),
            "has_program": repo_program.latest_plan_answers(db, assessment.id) is not None,
            "can_visit": can_request_visit(user, assessment),
            "shown_disposition": shown,
            "signs": followup.emergency_signs(audience, _emergency_number(request))
            if shown in ("emergency", "urgent")
            else [],
            "clinician_detail": can_see_rule_details(user),
            "flash": FLASHES.get(flash or ""),
            "offer": booking_offer(request, db, user, assessment.id),
        },
    )


@router.get("/assessments/{assessment_id}/plan.pdf")
def assessment_plan(request: Request, assessment: ReadableAssessment, db: DbDep) -> Response:
    """The written plan of a saved assessment: the same file as /assessments/<id>/program.pdf,
    built from the stored findings, result and plan answers."""
    return saved_program_download(request, assessment, db, "pdf")


@router.post("/assessments/{assessment_id}/versions", dependencies=[CsrfDep])
def assessment_version(
    request: Request, assessment: WritableAssessment, user: RequiredUser, db: DbDep, ws: WebSessionDep
) -> Response:
    """The answers of the check in progress saved as a new version of a saved assessment (the page
    twin of POST /api/v1/assessments/{id}/versions): stored, but never lowering a level a red flag
    or a clinician raised before a clinician clears it."""
    draft = _draft(ws)
    if not draft["answers"]:
        return _redirect("/assess")
    findings, result = clinical.result_from_answers(draft["answers"])
    try:
        out = followup.add_assessment_version(
            db, assessment, user, findings or {}, result, emergency_number=_emergency_number(request)
        )
    except followup.VersionConflict:
        raise HTTPException(
            status_code=409, detail="Another change was saved at the same time. Try again."
        ) from None
    draft["saved_id"] = assessment.id
    _store_draft(db, ws, draft)
    if result.disposition is Disposition.EMERGENCY and out.case_id:
        return _redirect(f"/care/cases/{out.case_id}/emergency")  # the new answers are an emergency
    # A level held from before shows on the assessment page with why it stays
    return _redirect(f"/assessments/{assessment.id}?flash=version")


@router.post("/assessments/{assessment_id}/visit", dependencies=[CsrfDep])
def assessment_visit(assessment: WritableAssessment, user: RequiredUser, db: DbDep) -> Response:
    ensure_visit_allowed(user, assessment)
    try:
        assessments.request_visit(db, assessment, user)
    except assessments.VisitNotAllowed:
        raise HTTPException(status_code=409, detail=VISIT_REFUSED) from None
    return _redirect(f"/assessments/{assessment.id}?flash=visit")


@router.get("/account", response_class=HTMLResponse)
def account(
    request: Request,
    user: RequiredUser,
    db: DbDep,
    ws: WebSessionDep,
    flash: Annotated[str | None, Query(max_length=16)] = None,
) -> Response:
    if user.role == "clinician":
        return _redirect("/clinic")
    if user.role == "admin":
        return _redirect("/admin/audit")
    return _render(
        request,
        ws,
        "account.html",
        {
            "assessments": readable_assessments(db, user),
            "profiles": repo.profiles_of(db, user),
            "can_add_children": can_manage_children(user),
            "flash": {"child": "Child added."}.get(flash or ""),
        },
    )


@router.post("/account/children", dependencies=[CsrfDep])
def add_child(
    user: ParentUser, db: DbDep, child_name: Annotated[str, Form(min_length=1, max_length=200)]
) -> Response:
    child_profiles.add_child(db, user, child_name)
    db.commit()
    return _redirect("/account?flash=child")


@router.get("/clinic", response_class=HTMLResponse)
def clinic(
    request: Request,
    user: ClinicianUser,
    db: DbDep,
    ws: WebSessionDep,
    after: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    # Most urgent first, newest first within a level: what a clinician should look at first.
    # One page at a time, ordered in SQL (store/lists.py), with the page's tele-visit requests.
    try:
        items, cursor = lists.clinic_page(db, user, after=after or None)
    except lists.BadCursor:
        raise HTTPException(status_code=400, detail="This page link is out of date.") from None
    reads.record_list(db, user, "assessment", len(items))
    return _render(
        request,
        ws,
        "clinic.html",
        {
            "assessments": items,
            "next_url": f"/clinic?{urlencode({'after': cursor})}" if cursor else None,
            "first_url": "/clinic" if after else None,
        },
    )


@router.get("/admin/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    admin: AdminUser,
    db: DbDep,
    ws: WebSessionDep,
    actor: Annotated[str, Query(max_length=64)] = "",
    object_id: Annotated[str, Query(max_length=64)] = "",
    action: Annotated[str, Query(max_length=32)] = "",
    page: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> Response:
    limit = 50
    events = reads.search_audit_log(
        db,
        admin,
        actor=actor or None,
        object_id=object_id or None,
        action=action or None,
        limit=limit,
        offset=page * limit,
    )
    return _render(
        request,
        ws,
        "audit.html",
        {
            "events": events,
            "actor": actor,
            "object_id": object_id,
            "action": action,
            "page": page,
            "limit": limit,
        },
    )


# --- guides --------------------------------------------------------------------------------


@router.get("/guides", response_class=HTMLResponse)
def guides(request: Request, ws: WebSessionDep) -> Response:
    items = [
        {"condition": c, "audience": a, "title": clinical.guide_title(c, a)}
        for c, a in clinical.list_guides()
    ]
    return _render(request, ws, "guides.html", {"guides": items, "q": "", "hits": []})


@router.get("/guides/search", response_class=HTMLResponse)
def guides_search(
    request: Request, ws: WebSessionDep, q: Annotated[str, Query(max_length=200)] = ""
) -> Response:
    hits = clinical.search_guides(q, emergency_number=_emergency_number(request))
    if request.headers.get("hx-request") == "true":
        return _render(request, ws, "_search_results.html", {"q": q, "hits": hits})
    items = [
        {"condition": c, "audience": a, "title": clinical.guide_title(c, a)}
        for c, a in clinical.list_guides()
    ]
    return _render(request, ws, "guides.html", {"guides": items, "q": q, "hits": hits})


@router.get("/guides/{condition}/{audience}", response_class=HTMLResponse)
def guide_page(request: Request, ws: WebSessionDep, condition: str, audience: str) -> Response:
    try:
        guide = clinical.load_guide(condition, audience, _emergency_number(request))
    except clinical.GuideNotFound:
        raise HTTPException(status_code=404, detail="There is no such guide.") from None
    return _render(
        request,
        ws,
        "guide.html",
        {"guide": guide, "sections_html": clinical.guide_sections_html(guide, 2, _emergency_number(request))},
    )


# --- accounts ------------------------------------------------------------------------------


@router.get("/login", response_class=HTMLResponse)
def login_page(
    request: Request,
    db: DbDep,
    settings: SettingsDep,
    ws: WebSessionDep,
    next: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    ws = remember(request, sessions.ensure(db, settings, ws))
    ctx = {"next": _safe_next(next, ""), "username": "", "error": None}
    done = request.query_params.get("reset") == "done"
    return _render(request, ws, "login.html", {**ctx, "reset_done": done})


@router.post("/login", dependencies=[CsrfDep])
def login(
    request: Request,
    db: DbDep,
    settings: SettingsDep,
    ws: WebSessionDep,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=256)],
    next: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    ip = request.client.host if request.client else "unknown"
    try:
        user = authenticate(db, settings, username=username, password=password, ip=ip)
    except LoginRefused as exc:
        return _render(
            request,
            ws,
            "login.html",
            {"next": _safe_next(next, ""), "username": username, "error": exc.message},
            exc.status_code,
            headers=exc.headers,
        )
    from telespine.web.pages import accounts as account_pages

    if account_pages.needs_second_step(db, settings, user):  # two-factor: the code comes next
        return account_pages.begin_second_step(request, db, settings, ws, user, _safe_next(next, ""))
    sessions.purge_expired(db, settings)
    remember(request, sessions.start(db, settings, ws, user))  # rotated: a new token at login
    return _redirect(_safe_next(next, "/account"))


@router.post("/logout", dependencies=[CsrfDep])
def logout(request: Request, db: DbDep, ws: WebSessionDep) -> Response:
    sessions.end(db, ws)
    remember(request, ws)
    return _redirect("/")


@router.get("/signup", response_class=HTMLResponse)
def signup_page(
    request: Request,
    db: DbDep,
    settings: SettingsDep,
    ws: WebSessionDep,
    next: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    ws = remember(request, sessions.ensure(db, settings, ws))
    return _render(
        request,
        ws,
        "signup.html",
        {
            "next": _safe_next(next, ""),
            "username": "",
            "display_name": "",
            "role": "patient",
            "child_name": "",
            "error": None,
        },
    )


@router.post("/signup", dependencies=[CsrfDep])
def signup(
    request: Request,
    db: DbDep,
    settings: SettingsDep,
    ws: WebSessionDep,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=256)],
    display_name: Annotated[str, Form(max_length=200)] = "",
    role: Annotated[str, Form(max_length=16)] = "patient",
    child_name: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    name = username.strip().lower()
    role = "parent" if role == "parent" else "patient"  # nobody makes themself a clinician or admin
    ctx = {
        "next": _safe_next(next, ""),
        "username": username,
        "display_name": display_name,
        "role": role,
        "child_name": child_name,
    }
    error = None
    if len(name) < 3 or not set(name) <= USERNAME_CHARS:
        error = "Use 3 to 64 letters, numbers, dots, dashes or underscores for the user name."
    else:
        try:
            check_new_password(password, name)
        except PasswordRejected as exc:
            error = str(exc)
    if error is None and repo.user_by_username(db, name) is not None:
        error = "This user name is taken. Pick another one."
    if error is not None:
        return _render(request, ws, "signup.html", {**ctx, "error": error}, 422)
    from datetime import timedelta

    from telespine.store import repo_accounts

    ip = request.client.host if request.client else "unknown"
    made = repo_accounts.count_attempt(
        db, repo_accounts.counter_key("signup", ip), timedelta(minutes=settings.signup_window_minutes)
    )
    db.commit()
    if made > settings.signup_max_per_ip:  # one address cannot make accounts in bulk
        error = "Too many new accounts from here. Wait an hour and try again."
        return _render(request, ws, "signup.html", {**ctx, "error": error}, 429)
    clinic_id = repo.default_clinic_id(db)
    clinic = repo.get_clinic(db, clinic_id) if clinic_id else None
    from telespine.store.accounts import HashBusy

    try:
        user = account_service.sign_up(
            db,
            username=name,
            password=password,
            role=role,
            display_name=display_name.strip() or name,
            clinic=clinic,
            child_name=child_name,
        )
    except HashBusy:
        error = "Many people are signing up right now. Wait a few seconds and try again."
        return _render(request, ws, "signup.html", {**ctx, "error": error}, 503, headers={"Retry-After": "5"})
    remember(request, sessions.start(db, settings, ws, user))
    return _redirect(_safe_next(next, "/account"))
