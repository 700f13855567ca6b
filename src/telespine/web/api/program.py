"""JSON API (/api/v1) for questionnaires, the self-care program and the written plan (issue 5)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from telespine.program import MedicineAdvice, PlanAnswers, Program
from telespine.services import plans, reads
from telespine.store.models_program import ScoreRow
from telespine.triage.types import Audience, Disposition
from telespine.web import clinical
from telespine.web.api.routes import ERRORS
from telespine.web.deps import CsrfDep, DbDep, RequiredUser, release_db
from telespine.web.policy import ReadableAssessment, ReadableProfile, WritableProfile
from telespine.web.timefields import UtcDatetime

router = APIRouter(prefix="/api/v1", responses=ERRORS)

Responses = dict[Annotated[str, Field(max_length=64)], StrictInt | Annotated[StrictStr, Field(max_length=64)]]


class ScoreIn(BaseModel):
    """Responses to one questionnaire: item id -> whole number or option code."""

    model_config = ConfigDict(extra="forbid")

    responses: Responses = Field(max_length=40)
    taken_at: UtcDatetime | None = Field(default=None, description="Default: now (years 1900 to 2200).")


class ScoreCreate(ScoreIn):
    instrument: str = Field(max_length=32, description="nrs, peg, startback, phq2 or gad2")


class ScoreOut(BaseModel):
    """A scored questionnaire (not stored)."""

    instrument_id: str
    version: str
    scores: dict[str, float]
    primary_scale: str
    primary: float
    category: str | None
    category_label: str | None
    advice: str | None
    taken_at: datetime


class ScoreRead(BaseModel):
    """A stored score record of a profile."""

    id: str
    profile_id: str
    assessment_id: str | None
    instrument_id: str
    version: str
    scores: dict[str, float]
    primary_scale: str
    category: str | None
    taken_at: datetime
    created_at: datetime

    @classmethod
    def of(cls, row: ScoreRow) -> ScoreRead:
        return cls(
            id=row.id,
            profile_id=row.profile_id,
            assessment_id=row.assessment_id,
            instrument_id=row.instrument_id,
            version=row.version,
            scores={k: float(v) for k, v in row.scores.items()},
            primary_scale=row.primary_scale,
            category=row.category,
            taken_at=row.taken_at,
            created_at=row.created_at,
        )


class ProgramIn(BaseModel):
    """A findings document and the plan answers (medicines, questionnaires, choices)."""

    model_config = ConfigDict(extra="forbid")

    findings: dict[str, Any] = Field(description="A findings document (see POST /api/v1/triage).")
    answers: PlanAnswers = PlanAnswers()


class ProgramOut(BaseModel):
    """The program and medicine advice; both null unless the result is telemedicine or routine."""

    disposition: Disposition
    audience: Audience
    safety_net: bool
    program: Program | None
    medicines: MedicineAdvice | None


def _score_out(rec: Any) -> ScoreOut:
    return ScoreOut(
        instrument_id=rec.instrument_id,
        version=rec.version,
        scores=dict(rec.scores),
        primary_scale=rec.primary_scale,
        primary=rec.primary,
        category=rec.category,
        category_label=rec.category_label,
        advice=rec.advice,
        taken_at=rec.taken_at,
    )


def _score(request: Request, instrument_id: str, body: ScoreIn, audience: str | None = None) -> Any:
    """Score or answer 404 (unknown or switched off), 422 (responses that do not fit)."""
    enabled = clinical.enabled_instruments(request.app.state)
    taken_at = body.taken_at or datetime.now(UTC)
    try:
        return clinical.score_instrument(instrument_id, dict(body.responses), taken_at, enabled, audience)
    except LookupError:
        if audience is not None:  # the id came in the body: name the field
            raise HTTPException(
                status_code=422, detail="Invalid request: instrument: unknown or switched off here"
            ) from None
        raise HTTPException(status_code=404, detail="No such questionnaire.") from None
    except clinical.InvalidPlanAnswers as exc:
        raise HTTPException(status_code=422, detail=f"Invalid request: {exc.field}: {exc.problem}") from None
    except clinical.ClinicalFailure:
        raise HTTPException(status_code=503, detail="Questionnaires are not available right now.") from None


@router.post("/instruments/{instrument_id}/score", response_model=ScoreOut, tags=["program"])
def score_instrument(instrument_id: str, body: ScoreIn, request: Request) -> ScoreOut:
    """Score one questionnaire; stateless (nothing is stored)."""
    return _score_out(_score(request, instrument_id[:32], body))


@router.post("/program", response_model=ProgramOut, tags=["program"])
def program(body: ProgramIn, request: Request) -> ProgramOut:
    """Findings and plan answers in, the program and medicine advice out; stateless.

    Emergency, urgent and prompt results get no program (safety advice only); any failure of the
    program code gives the emergency safety net."""
    try:
        result = clinical.run_triage(body.findings)
    except clinical.InvalidFindings as exc:
        raise HTTPException(
            status_code=422, detail=f"Invalid findings: {exc.field or 'document'}: {exc.problem}"
        ) from None
    audience: Audience = result.audience or "adult"
    try:
        plan, ok = clinical.make_plan(
            body.findings, result, body.answers, audience, clinical.enabled_instruments(request.app.state)
        )
    except clinical.InvalidPlanAnswers as exc:
        raise HTTPException(
            status_code=422, detail=f"Invalid request: answers.{exc.field}: {exc.problem}"
        ) from None
    except clinical.ClinicalFailure:
        plan, ok = None, False
    if plan is None or (not ok and clinical.gets_program(result)):
        return ProgramOut(
            disposition=Disposition.EMERGENCY,
            audience=audience,
            safety_net=True,
            program=None,
            medicines=None,
        )
    return ProgramOut(
        disposition=plan.disposition,
        audience=plan.audience,
        safety_net=plan.safety_net,
        program=plan.program,
        medicines=plan.medicines,
    )


@router.get("/profiles/{profile_id}/scores", response_model=list[ScoreRead], tags=["program"])
def list_scores(
    profile: ReadableProfile,
    user: RequiredUser,
    db: DbDep,
    instrument: Annotated[str | None, Query(max_length=32)] = None,
) -> list[ScoreRead]:
    """A profile's score records, oldest first (own and own children's; a clinician: their clinic's)."""
    rows = reads.score_records(db, user, profile, instrument)
    return [ScoreRead.of(r) for r in rows]


@router.post(
    "/profiles/{profile_id}/scores",
    response_model=ScoreRead,
    status_code=201,
    dependencies=[CsrfDep],
    tags=["program"],
)
def add_score(
    body: ScoreCreate, request: Request, profile: WritableProfile, user: RequiredUser, db: DbDep
) -> ScoreRead:
    """Score a questionnaire and store it with its time (append-only, audited)."""
    audience = "pediatric" if profile.is_child else "adult"
    record = _score(request, body.instrument[:32], body, audience)
    return ScoreRead.of(plans.add_score(db, profile, user, record))


# Not in the OpenAPI document: tests/web/test_web_api.py requires a JSON body for every 2xx
# response there, and a PDF has none (the authorization walk covers this route instead).
@router.get("/assessments/{assessment_id}/plan.pdf", response_class=Response, include_in_schema=False)
def plan_pdf(
    assessment: ReadableAssessment,
    request: Request,
    db: DbDep,
) -> Response:
    """The written plan of a saved assessment with its saved plan answers (the parent version for a
    child); the PDF is made after the request's database connection is released."""
    plan, _ = plans.saved_plan(db, assessment, clinical.enabled_instruments(request.app.state))
    release_db(db)  # the plan is plain data: the PDF helper's wait holds no pooled connection
    return Response(
        clinical.plan_file(plan, "pdf"),
        media_type="application/pdf",
        headers={"content-disposition": 'attachment; filename="telespine-plan.pdf"'},
    )
