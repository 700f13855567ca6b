"""HTML pages for questionnaires, the self-care program and the written plan (issue 5).

After a telemedicine or routine result the person (or parent) answers the medicine questions,
the questionnaires that apply and their own choices, one page each; the answers stay in the
server-side session draft (so going back keeps them) until a signed-in person saves them.
Routes hold no clinical logic: every domain call goes through telespine.web.clinical.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, cast

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from telespine.services import assessments, plans, profiles
from telespine.services.plans import DraftPlan
from telespine.store import repo, repo_program
from telespine.store.models import Assessment, User
from telespine.triage.types import TriageResult
from telespine.web import clinical, sessions
from telespine.web.deps import CsrfDep, DbDep, RequiredUser, SettingsDep, WebSessionDep, release_db, remember
from telespine.web.pages.draft import DRAFT, AssessmentDraft, PlanDraft
from telespine.web.pages.render import redirect as _redirect
from telespine.web.pages.render import render as _render
from telespine.web.policy import ReadableAssessment, can_write_profile, load_profile_for_write
from telespine.web.sessions import WebSession

router = APIRouter(include_in_schema=False)

WORK_OR_SCHOOL = {
    "adult": [
        ("desk_work", "Desk or computer work"),
        ("standing_work", "Work where I stand or walk a lot"),
        ("physical_work", "Physical work: lifting, carrying, bending"),
        ("home_or_not_working", "At home or not working now"),
    ],
    "pediatric": [
        ("school", "School"),
        ("home_or_not_working", "Not at school now"),
    ],
}
SMOKES = [("no", "No"), ("yes", "Yes"), ("unknown", "Not sure, or I would rather not say")]


# --- the draft ----------------------------------------------------------------------------


def _draft(ws: WebSession) -> AssessmentDraft:
    draft = ws.data.get(DRAFT)
    return cast(AssessmentDraft, draft) if isinstance(draft, dict) else {}


def _plan_draft(draft: AssessmentDraft) -> PlanDraft:
    plan = draft.get("plan")
    if not isinstance(plan, dict):
        plan = {}
    plan.setdefault("medicines", {})
    plan.setdefault("questionnaires", {})
    plan.setdefault("choices", {})
    return plan


def _store(db: DbDep, ws: WebSession, draft: AssessmentDraft, plan: PlanDraft) -> None:
    plan["saved_for"] = None  # changed answers are not saved yet
    sessions.save_data(db, ws, {**ws.data, DRAFT: {**draft, "plan": plan}})


def plan_answers_doc(plan: PlanDraft, asked: list[str]) -> dict[str, Any]:
    """The draft as a PlanAnswers document (medicines, questionnaires with their times, choices).

    Only questionnaires still asked count: after a changed age (a child now) or a switched-off
    instrument, an earlier answer must not break the plan."""
    questionnaires = [
        {"instrument": iid, "responses": q["responses"], "taken_at": q["taken_at"]}
        for iid, q in plan.get("questionnaires", {}).items()
        if iid in asked and isinstance(q, dict) and not q.get("skipped")
    ]
    return {
        "medicines": dict(plan.get("medicines", {})),
        "questionnaires": questionnaires,
        "choices": dict(plan.get("choices", {})),
    }


class _Context:
    """The assessment the plan belongs to: answers, findings, result and audience."""

    def __init__(self, draft: AssessmentDraft) -> None:
        self.draft = draft
        answers = draft.get("answers") if isinstance(draft.get("answers"), dict) else {}
        self.answers: dict[str, Any] = answers or {}
        hint = "pediatric" if draft.get("who") == "child" else "adult"
        self.findings: dict[str, Any] | None = None
        self.result: TriageResult | None = None
        self.audience = clinical.audience_of(self.answers, hint)
        if self.answers:
            step = clinical.next_step(self.answers, hint)
            if step.kind != "question":
                self.findings, self.result = clinical.result_from_answers(self.answers)
                if step.kind == "failed":
                    self.result = clinical.safety_net_result("questionnaire failed")

    @property
    def ready(self) -> bool:
        """True when the assessment is finished and its result gets a program."""
        return self.result is not None and self.findings is not None and clinical.gets_program(self.result)


def _safety_net(request: Request, ws: WebSession, audience: str) -> Response:
    """The emergency safety-net page: shown whenever the program code fails."""
    number = request.app.state.settings.emergency_number
    return _render(
        request,
        ws,
        "emergency.html",
        {
            "result": None,
            "safety_net": True,
            "for_child": audience == "pediatric",
            "guide": clinical.guide_for(audience, number),
            "advice": clinical.advice_for(audience, number),
            "last_question": "",
        },
    )


def _steps(ctx: _Context, enabled: frozenset[str] | None) -> list[tuple[str, str]]:
    """(step id, url) of the plan pages, in order."""
    steps = [("medicines", "/assess/plan/medicines")]
    steps += [(i.id, f"/assess/plan/q/{i.id}") for i in clinical.plan_instruments(ctx.audience, enabled)]
    steps.append(("choices", "/assess/plan/choices"))
    return steps


def _asked(ctx: _Context, enabled: frozenset[str] | None) -> list[str]:
    return [i.id for i in clinical.plan_instruments(ctx.audience, enabled)]


def _edit_links(ctx: _Context, enabled: frozenset[str] | None) -> list[tuple[str, str]]:
    """(label, url) of every step, for changing an answer from the program page."""
    titles = {i.id: i.title for i in clinical.plan_instruments(ctx.audience, enabled)}
    labels = {"medicines": "Health and medicines", "choices": "Activities and goals"}
    return [(labels.get(s) or titles.get(s, s), url) for s, url in _steps(ctx, enabled)]


def _neighbours(steps: list[tuple[str, str]], step: str) -> tuple[str, str]:
    """(back url, next url) around a step."""
    ids = [s for s, _ in steps]
    i = ids.index(step)
    back = steps[i - 1][1] if i > 0 else "/assess/result"
    nxt = steps[i + 1][1] if i + 1 < len(steps) else "/assess/program"
    return back, nxt


def _progress(steps: list[tuple[str, str]], step: str) -> tuple[int, int]:
    return [s for s, _ in steps].index(step) + 1, len(steps)


def _guard(request: Request, ws: WebSession) -> tuple[_Context | None, Response | None]:
    """The context if the plan may be built now; else where to go instead (never questions
    after an emergency, urgent or prompt result: the result page shows the safety advice)."""
    ctx = _Context(_draft(ws))
    if not ctx.answers:
        return None, _redirect("/assess")
    if ctx.result is None:
        return None, _redirect("/assess/q")
    if not ctx.ready:
        return None, _redirect("/assess/result")
    return ctx, None


# --- the steps -----------------------------------------------------------------------------


@router.get("/assess/plan", response_class=HTMLResponse)
def plan_start(request: Request, ws: WebSessionDep) -> Response:
    _, stop = _guard(request, ws)
    return stop or _redirect("/assess/plan/medicines")


@router.get("/assess/plan/medicines", response_class=HTMLResponse)
def medicines_page(request: Request, db: DbDep, settings: SettingsDep, ws: WebSessionDep) -> Response:
    ws = remember(request, sessions.ensure(db, settings, ws))
    ctx, stop = _guard(request, ws)
    if stop or ctx is None:
        return stop or _redirect("/assess")
    return _medicines(request, ws, ctx, _plan_draft(ctx.draft)["medicines"], {})


def _medicines(
    request: Request,
    ws: WebSession,
    ctx: _Context,
    current: dict[str, Any],
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    enabled = clinical.enabled_instruments(request.app.state)
    try:
        questions = clinical.medicine_questions(ctx.audience)
        steps = _steps(ctx, enabled)
    except Exception:
        return _safety_net(request, ws, ctx.audience)
    back, _ = _neighbours(steps, "medicines")
    return _render(
        request,
        ws,
        "program_medicines.html",
        {
            "questions": questions,
            "current": current,
            "errors": errors,
            "for_child": ctx.audience == "pediatric",
            "back": back,
            "progress": _progress(steps, "medicines"),
        },
        status,
    )


@router.post("/assess/plan/medicines", dependencies=[CsrfDep])
async def medicines_save(request: Request, db: DbDep, ws: WebSessionDep) -> Response:
    ctx, stop = _guard(request, ws)
    if stop or ctx is None:
        return stop or _redirect("/assess")
    form = await request.form()
    try:
        questions = clinical.medicine_questions(ctx.audience)
    except Exception:
        return _safety_net(request, ws, ctx.audience)
    chosen: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for q in questions:
        raw = form.get(q["field"])
        if raw is None or raw == "":
            continue  # an unanswered question stays "not sure": a caution, never a "no"
        if raw not in {o["value"] for o in q["options"]}:
            errors[q["field"]] = "Please choose one of the answers."
        else:
            chosen[q["field"]] = raw
    if errors:
        return _medicines(request, ws, ctx, chosen, errors, 422)
    plan = _plan_draft(ctx.draft)
    plan["medicines"] = chosen
    _store(db, ws, ctx.draft, plan)
    _, nxt = _neighbours(_steps(ctx, clinical.enabled_instruments(request.app.state)), "medicines")
    return _redirect(nxt)


@router.get("/assess/plan/q/{instrument_id}", response_class=HTMLResponse)
def questionnaire_page(request: Request, ws: WebSessionDep, instrument_id: str) -> Response:
    ctx, stop = _guard(request, ws)
    if stop or ctx is None:
        return stop or _redirect("/assess")
    saved = _plan_draft(ctx.draft)["questionnaires"].get(instrument_id)
    current = saved.get("responses", {}) if isinstance(saved, dict) else {}
    return _questionnaire(request, ws, ctx, instrument_id[:32], current, None)


def _questionnaire(
    request: Request,
    ws: WebSession,
    ctx: _Context,
    instrument_id: str,
    current: dict[str, Any],
    error: str | None,
    missing: frozenset[str] = frozenset(),
    status: int = 200,
) -> Response:
    enabled = clinical.enabled_instruments(request.app.state)
    try:
        view = clinical.instrument_view(instrument_id, ctx.audience, enabled)
        steps = _steps(ctx, enabled)
    except Exception:
        return _safety_net(request, ws, ctx.audience)
    if view is None:
        raise HTTPException(status_code=404, detail="This questionnaire is not part of your plan.")
    back, _ = _neighbours(steps, instrument_id)
    return _render(
        request,
        ws,
        "program_questionnaire.html",
        {
            "inst": view,
            "current": {k: str(v) for k, v in current.items()},
            "error": error,
            "missing": missing,
            "back": back,
            "progress": _progress(steps, instrument_id),
            "for_child": ctx.audience == "pediatric",
        },
        status,
    )


@router.post("/assess/plan/q/{instrument_id}", dependencies=[CsrfDep])
async def questionnaire_save(request: Request, db: DbDep, ws: WebSessionDep, instrument_id: str) -> Response:
    ctx, stop = _guard(request, ws)
    if stop or ctx is None:
        return stop or _redirect("/assess")
    instrument_id = instrument_id[:32]
    enabled = clinical.enabled_instruments(request.app.state)
    try:
        view = clinical.instrument_view(instrument_id, ctx.audience, enabled)
        steps = _steps(ctx, enabled)
    except Exception:
        return _safety_net(request, ws, ctx.audience)
    if view is None:
        raise HTTPException(status_code=404, detail="This questionnaire is not part of your plan.")
    form = await request.form()
    plan = _plan_draft(ctx.draft)
    _, nxt = _neighbours(steps, instrument_id)
    if form.get("skip") == "1":
        plan["questionnaires"][instrument_id] = {"skipped": True, "responses": {}, "taken_at": None}
        _store(db, ws, ctx.draft, plan)
        return _redirect(nxt)
    responses: dict[str, Any] = {}
    missing: set[str] = set()
    for item in view["items"]:
        raw = form.get(item["id"])
        if not isinstance(raw, str) or raw.strip() == "":
            missing.add(item["id"])
        elif item["kind"] == "numeric":
            try:
                responses[item["id"]] = int(raw.strip())
            except ValueError:
                missing.add(item["id"])
        else:
            responses[item["id"]] = raw
    now = datetime.now(UTC)
    if not missing:
        try:
            clinical.score_instrument(instrument_id, responses, now, enabled, ctx.audience)
        except clinical.InvalidPlanAnswers:
            missing = {i["id"] for i in view["items"]}  # a value out of range: ask again
        except (LookupError, clinical.ClinicalFailure):
            return _safety_net(request, ws, ctx.audience)
    if missing:
        problem = "Please answer each question, or skip this set of questions."
        return _questionnaire(request, ws, ctx, instrument_id, responses, problem, frozenset(missing), 422)
    plan["questionnaires"][instrument_id] = {"responses": responses, "taken_at": now.isoformat()}
    _store(db, ws, ctx.draft, plan)
    return _redirect(nxt)


@router.get("/assess/plan/choices", response_class=HTMLResponse)
def choices_page(request: Request, ws: WebSessionDep) -> Response:
    ctx, stop = _guard(request, ws)
    if stop or ctx is None:
        return stop or _redirect("/assess")
    return _choices(request, ws, ctx, _plan_draft(ctx.draft)["choices"], None)


def _choices(
    request: Request,
    ws: WebSession,
    ctx: _Context,
    current: dict[str, Any],
    error: str | None,
    status: int = 200,
) -> Response:
    enabled = clinical.enabled_instruments(request.app.state)
    try:
        steps = _steps(ctx, enabled)
    except Exception:
        return _safety_net(request, ws, ctx.audience)
    back, _ = _neighbours(steps, "choices")
    activities = list(current.get("favourite_activities", []))
    return _render(
        request,
        ws,
        "program_choices.html",
        {
            "current": current,
            "activities": activities + [""] * (3 - len(activities)),
            "error": error,
            "work_options": WORK_OR_SCHOOL["pediatric" if ctx.audience == "pediatric" else "adult"],
            "smoke_options": SMOKES,
            "for_child": ctx.audience == "pediatric",
            "back": back,
            "progress": _progress(steps, "choices"),
        },
        status,
    )


@router.post("/assess/plan/choices", dependencies=[CsrfDep])
def choices_save(
    request: Request,
    db: DbDep,
    ws: WebSessionDep,
    activity: Annotated[list[str] | None, Form(max_length=60)] = None,
    goal: Annotated[str, Form(max_length=200)] = "",
    work_or_school: Annotated[str, Form(max_length=32)] = "",
    smokes: Annotated[str, Form(max_length=16)] = "unknown",
) -> Response:
    ctx, stop = _guard(request, ws)
    if stop or ctx is None:
        return stop or _redirect("/assess")
    doc: dict[str, Any] = {
        "favourite_activities": [a.strip() for a in (activity or [])[:5] if a.strip()],
        "smokes": smokes,
    }
    if goal.strip():
        doc["goal"] = goal.strip()
    if work_or_school:
        doc["work_or_school"] = work_or_school
    try:
        clinical.parse_plan_answers({"choices": doc})
    except clinical.InvalidPlanAnswers:
        return _choices(
            request, ws, ctx, doc, "Please check your answers: one of them could not be used.", 422
        )
    plan = _plan_draft(ctx.draft)
    plan["choices"] = doc
    _store(db, ws, ctx.draft, plan)
    return _redirect("/assess/program")


# --- the program and the written plan ------------------------------------------------------


def _program_ctx(plan: Any, ok: bool) -> dict[str, Any]:
    return {"plan": plan, "ok": ok, "program": plan.program, "medicines": plan.medicines}


@router.get("/assess/program", response_class=HTMLResponse)
def program_page(request: Request, db: DbDep, ws: WebSessionDep) -> Response:
    ctx, stop = _guard(request, ws)
    if stop or ctx is None:
        return stop or _redirect("/assess")
    plan_draft = _plan_draft(ctx.draft)
    enabled = clinical.enabled_instruments(request.app.state)
    try:
        answers = clinical.parse_plan_answers(plan_answers_doc(plan_draft, _asked(ctx, enabled)))
        plan, ok = clinical.make_plan(ctx.findings, ctx.result, answers, ctx.audience, enabled)  # type: ignore[arg-type]
    except (clinical.InvalidPlanAnswers, clinical.ClinicalFailure):
        return _safety_net(request, ws, ctx.audience)
    if not ok:
        return _safety_net(request, ws, ctx.audience)
    saved_for = plan_draft.get("saved_for")
    return _render(
        request,
        ws,
        "program_page.html",
        {
            **_program_ctx(plan, ok),
            "for_child": ctx.audience == "pediatric",
            "edit_links": _edit_links(ctx, enabled),
            "download": "/assess/program",
            "saved_id": saved_for,
            "profiles": repo.profiles_of(db, ws.user) if ws.user is not None else [],
            "for_child_profile": ctx.draft.get("who") == "child",
            "can_save": True,
        },
    )


def _file(data: bytes, fmt: str) -> Response:
    media = "application/pdf" if fmt == "pdf" else "text/html; charset=utf-8"
    return Response(
        data,
        media_type=media,
        headers={"content-disposition": f'attachment; filename="telespine-plan.{fmt}"'},
    )


@router.get("/assess/program.{fmt}")
def program_download(request: Request, ws: WebSessionDep, db: DbDep, fmt: str) -> Response:
    """The written plan of the assessment in progress, with the plan answers (parents: the parent
    version); the file is made after the request's database connection is released."""
    if fmt not in ("pdf", "html"):
        raise HTTPException(status_code=404, detail="Not found.")
    ctx, stop = _guard(request, ws)
    if stop or ctx is None:
        return stop or _redirect("/assess")
    enabled = clinical.enabled_instruments(request.app.state)
    try:
        answers = clinical.parse_plan_answers(plan_answers_doc(_plan_draft(ctx.draft), _asked(ctx, enabled)))
        plan, _ = clinical.make_plan(ctx.findings, ctx.result, answers, ctx.audience, enabled)  # type: ignore[arg-type]
    except (clinical.InvalidPlanAnswers, clinical.ClinicalFailure):
        plan, _ = clinical.make_plan(None, clinical.safety_net_result("plan"), None, ctx.audience, None)
    release_db(db)  # the plan is plain data: the PDF helper's wait holds no pooled connection
    return _file(clinical.plan_file(plan, fmt), fmt)


class PlanSaveFailed(RuntimeError):
    """The draft's plan answers could not be checked or scored: show the emergency safety net."""


def draft_plan(request: Request, draft: AssessmentDraft) -> DraftPlan | None:
    """The plan part of a draft, checked and scored (the one save step of the result page's "Save"
    and of the program page); None when there is none to save: the result gets no program, or no
    plan question was answered. PlanSaveFailed when the answers cannot be checked."""
    if not isinstance(draft.get("plan"), dict):
        return None  # no plan page was answered: nothing to check
    ctx = _Context(draft)
    if not ctx.ready:
        return None
    enabled = clinical.enabled_instruments(request.app.state)
    doc = plan_answers_doc(_plan_draft(draft), _asked(ctx, enabled))
    if not (doc["medicines"] or doc["questionnaires"] or doc["choices"]):
        return None
    try:
        answers = clinical.parse_plan_answers(doc)
        records = [
            clinical.score_instrument(q.instrument, dict(q.responses), q.taken_at, enabled, ctx.audience)
            for q in answers.questionnaires
        ]
    except (clinical.InvalidPlanAnswers, LookupError, clinical.ClinicalFailure):
        raise PlanSaveFailed from None
    return DraftPlan(answers, records)


def mark_plan_saved(draft: AssessmentDraft, assessment_id: str) -> AssessmentDraft:
    """The draft after a save: it points at the saved assessment, and its plan at what was stored."""
    plan = _plan_draft(draft)
    plan["saved_for"] = assessment_id
    return {**draft, "saved_id": assessment_id, "plan": plan}


@router.post("/assess/program/save", dependencies=[CsrfDep])
def program_save(
    request: Request,
    db: DbDep,
    ws: WebSessionDep,
    user: RequiredUser,
    profile_id: Annotated[str | None, Form(max_length=64)] = None,
) -> Response:
    """Save the assessment (if not yet saved), its score records and plan answers; append-only, audited."""
    ctx, stop = _guard(request, ws)
    if stop or ctx is None:
        return stop or _redirect("/assess")
    try:
        # An empty plan is still a plan the person chose to save: store the (empty) answers.
        prepared = draft_plan(request, ctx.draft) or DraftPlan(clinical.parse_plan_answers({}), [])
    except (PlanSaveFailed, clinical.InvalidPlanAnswers):
        return _safety_net(request, ws, ctx.audience)
    assessment = _saved_assessment(db, user, ctx, profile_id)
    plans.store_plan(db, user, assessment, prepared)
    db.commit()
    sessions.save_data(db, ws, {**ws.data, DRAFT: mark_plan_saved(ctx.draft, assessment.id)})
    return _redirect(f"/assessments/{assessment.id}/program?flash=saved")


def _saved_assessment(db: DbDep, user: User, ctx: _Context, profile_id: str | None) -> Assessment:
    """The draft's saved assessment, or a new one for the right profile (a child's check never
    goes into the parent's own record)."""
    saved_id = ctx.draft.get("saved_id")
    if saved_id:
        existing = repo.get_assessment(db, str(saved_id))
        if existing is not None and can_write_profile(user, existing.profile):
            return existing
    if profile_id is None and ctx.draft.get("who") == "child":
        if user.role != "parent":
            raise HTTPException(
                status_code=400, detail="To save a plan for your child, sign in with a parent account."
            )
        profile_id = profiles.child_profile(db, user).id
    profile = load_profile_for_write(db, user, profile_id)
    return assessments.save_assessment(
        db,
        profile=profile,
        by=user,
        findings=ctx.findings or {},
        result=ctx.result or clinical.safety_net_result("no result"),
        answers=ctx.answers,
        commit=False,  # committed with the plan
    )


# --- a saved plan --------------------------------------------------------------------------


def saved_plan(request: Request, db: DbDep, assessment: Assessment) -> tuple[Any, bool]:
    """The plan of a saved assessment from its stored findings, result and latest plan answers."""
    return plans.saved_plan(db, assessment, clinical.enabled_instruments(request.app.state))


FLASHES = {"saved": "Your plan and your questionnaire scores are saved."}


@router.get("/assessments/{assessment_id}/program", response_class=HTMLResponse)
def saved_program_page(
    request: Request,
    assessment: ReadableAssessment,
    db: DbDep,
    ws: WebSessionDep,
    flash: str | None = None,
) -> Response:
    audience = plans.audience_of(assessment)
    plan, ok = saved_plan(request, db, assessment)
    if not ok and clinical.gets_program(TriageResult.model_validate(assessment.latest.result)):
        return _safety_net(request, ws, audience)
    scores = repo_program.score_rows_for_assessment(db, assessment.id)
    return _render(
        request,
        ws,
        "program_page.html",
        {
            **_program_ctx(plan, ok),
            "for_child": audience == "pediatric",
            "edit_links": [],
            "download": f"/assessments/{assessment.id}/program",
            "saved_id": assessment.id,
            "profiles": [],
            "for_child_profile": False,
            "can_save": False,
            "stored_scores": scores,
            "flash": FLASHES.get((flash or "")[:16]),
        },
    )


@router.get("/assessments/{assessment_id}/program.{fmt}")
def saved_program_download(request: Request, assessment: ReadableAssessment, db: DbDep, fmt: str) -> Response:
    """The saved plan's file: the read (audited by ReadableAssessment) and the plan come from the
    database first; the PDF is made after the request's connection is released."""
    if fmt not in ("pdf", "html"):
        raise HTTPException(status_code=404, detail="Not found.")
    plan, _ = saved_plan(request, db, assessment)
    release_db(db)  # the plan is plain data: the PDF helper's wait holds no pooled connection
    return _file(clinical.plan_file(plan, fmt), fmt)
