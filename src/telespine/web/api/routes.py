"""The JSON API under /api/v1: every route answers through a response model."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, Response

from telespine.services import assessments, followup, reads
from telespine.store import lists, repo
from telespine.triage.types import Disposition, TriageResult
from telespine.web import clinical, sessions
from telespine.web.api.schemas import (
    AssessmentCreate,
    AssessmentRead,
    AssessmentSummary,
    AuditRead,
    ErrorOut,
    GuideHit,
    GuideRead,
    GuideSummary,
    LoginIn,
    LoginOut,
    Ping,
    UserRead,
    VersionCreate,
    VersionCreated,
    VersionRead,
    VisitRead,
)
from telespine.web.auth import LoginRefused, authenticate
from telespine.web.deps import (
    CsrfDep,
    DbDep,
    InvalidInput,
    RequiredUser,
    SettingsDep,
    WebSessionDep,
    remember,
)
from telespine.web.policy import (
    VISIT_REFUSED,
    AdminUser,
    ReadableAssessment,
    ReadableVisit,
    WritableAssessment,
    ensure_visit_allowed,
    load_profile_for_write,
    shown_disposition,
)

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut},
    401: {"model": ErrorOut},
    403: {"model": ErrorOut},
    404: {"model": ErrorOut},
    409: {"model": ErrorOut},
    413: {"model": ErrorOut},
    422: {"model": ErrorOut},
    429: {"model": ErrorOut},
}

router = APIRouter(prefix="/api/v1", responses=ERRORS)


@router.get("/ping", response_model=Ping, tags=["meta"])
def ping() -> Ping:
    """A constant answer with no database work: the benchmark's baseline."""
    return Ping()


def _invalid(field: str, problem: str) -> HTTPException:
    return InvalidInput(
        f"Invalid findings: {field or 'document'}: {problem}", [(field or "findings", problem)]
    )


def _triage_or_422(doc: object) -> TriageResult:
    try:
        return clinical.run_triage(doc)
    except clinical.InvalidFindings as exc:
        raise _invalid(exc.field, exc.problem) from None


@router.post(
    "/triage",
    response_model=TriageResult,
    tags=["triage"],
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": clinical.findings_schema()}},
        }
    },
)
async def triage(request: Request) -> TriageResult:
    """Findings in, result out; stateless. Invalid findings get 422 naming the field."""
    if not request.headers.get("content-type", "").split(";")[0].strip().lower().endswith("json"):
        raise HTTPException(status_code=415, detail="Send the findings as application/json.")
    try:
        doc = clinical.parse_findings_json(await request.body())
    except clinical.InvalidFindings as exc:
        if exc.field == "(document)":  # not JSON, not UTF-8 or nested too deep: not a document at all
            raise InvalidInput(
                f"The body is not a valid JSON document: {exc.problem}", [("body", exc.problem)], 400
            ) from None
        raise _invalid(exc.field, exc.problem) from None  # e.g. a key given twice
    return _triage_or_422(doc)


@router.post("/auth/login", response_model=LoginOut, tags=["auth"])
def login(body: LoginIn, request: Request, db: DbDep, settings: SettingsDep, ws: WebSessionDep) -> LoginOut:
    """Sign in; the session token comes back in the body (for API clients) and as a cookie."""
    ip = request.client.host if request.client else "unknown"
    try:
        user = authenticate(db, settings, username=body.username, password=body.password, ip=ip)
    except LoginRefused as exc:
        raise HTTPException(status_code=exc.status_code, detail=exc.message, headers=exc.headers) from None
    from telespine.web.api.accounts import check_second_step

    check_second_step(db, settings, user, body.totp_code)
    sessions.purge_expired(db, settings)
    new = remember(request, sessions.start(db, settings, ws, user))
    return LoginOut(
        token=new.new_token or "",
        csrf_token=new.csrf_token,
        user=UserRead.of(user, repo.profiles_of(db, user)),
    )


@router.post("/auth/logout", status_code=204, dependencies=[CsrfDep], tags=["auth"])
def logout(request: Request, db: DbDep, ws: WebSessionDep) -> Response:
    """Sign out: the session is deleted on the server."""
    sessions.end(db, ws)
    remember(request, ws)
    return Response(status_code=204)


@router.get("/me", response_model=UserRead, tags=["auth"])
def me(user: RequiredUser, db: DbDep) -> UserRead:
    return UserRead.of(user, repo.profiles_of(db, user))


@router.post(
    "/assessments",
    response_model=AssessmentRead,
    status_code=201,
    dependencies=[CsrfDep],
    tags=["assessments"],
)
def create_assessment(body: AssessmentCreate, user: RequiredUser, db: DbDep) -> AssessmentRead:
    """Triage the findings and save them with the result, append-only."""
    profile = load_profile_for_write(db, user, body.profile_id)
    result = _triage_or_422(body.findings)
    return AssessmentRead.of(
        assessments.save_assessment(db, profile=profile, by=user, findings=body.findings, result=result)
    )


@router.get("/assessments", response_model=list[AssessmentSummary], tags=["assessments"])
def list_assessments(
    request: Request,
    response: Response,
    user: RequiredUser,
    db: DbDep,
    limit: Annotated[int, Query(ge=1, le=lists.MAX_LIMIT, description="Rows a page.")] = lists.DEFAULT_LIMIT,
    after: Annotated[
        str | None, Query(max_length=200, description="The cursor of the next page (from the Link header).")
    ] = None,
) -> list[AssessmentSummary]:
    """Your own and your children's assessments; a clinician's: their clinic's. Newest first, one
    page at a time: when there are more, the `Link` header (rel="next") and `X-Next-Cursor` give
    the next page (keyset pagination: stable while new assessments arrive)."""
    try:
        rows, cursor = lists.assessment_page(db, user, limit=limit, after=after)
    except lists.BadCursor:
        raise HTTPException(status_code=422, detail="after: not a cursor of this list") from None
    reads.record_list(db, user, "assessment", len(rows))
    if cursor is not None:
        nxt = request.url.include_query_params(after=cursor, limit=limit)
        response.headers["link"] = f'<{nxt.path}?{nxt.query}>; rel="next"'
        response.headers["x-next-cursor"] = cursor
    return [
        AssessmentSummary(
            id=r.id,
            profile_id=r.profile_id,
            created_at=r.created_at,
            version=r.version,
            disposition=Disposition(r.shown),
        )
        for r in rows
    ]


@router.get("/assessments/{assessment_id}", response_model=AssessmentRead, tags=["assessments"])
def read_assessment(assessment: ReadableAssessment) -> AssessmentRead:
    return AssessmentRead.of(assessment, shown_disposition(assessment))


@router.post(
    "/assessments/{assessment_id}/versions",
    response_model=VersionCreated,
    status_code=201,
    dependencies=[CsrfDep],
    tags=["assessments"],
)
def add_version(
    body: VersionCreate, assessment: WritableAssessment, user: RequiredUser, db: DbDep, settings: SettingsDep
) -> VersionCreated:
    """A changed assessment is a new version; saved versions are never edited. New answers never
    lower a level raised by a red flag or a clinician (`shown_disposition`) until a clinician clears it."""
    result = _triage_or_422(body.findings)
    try:
        out = followup.add_assessment_version(
            db, assessment, user, body.findings, result, emergency_number=settings.emergency_number
        )
    except followup.VersionConflict:
        # Only if another process slipped in despite the row lock: the client may simply retry.
        raise HTTPException(
            status_code=409, detail="Another change to this assessment was saved at the same time. Try again."
        ) from None
    if out.version is None:  # add_assessment_version always returns the version it saved
        raise RuntimeError("no version saved")
    return VersionCreated(
        **VersionRead.of(out.version).model_dump(),
        shown_disposition=out.shown,
        emergency_signs=out.signs,
    )


@router.post(
    "/assessments/{assessment_id}/visit-requests",
    response_model=VisitRead,
    status_code=201,
    dependencies=[CsrfDep],
    tags=["visits"],
)
def request_visit(assessment: WritableAssessment, user: RequiredUser, db: DbDep) -> VisitRead:
    """Ask for a tele-visit; 409 unless the latest result is telemedicine or routine."""
    ensure_visit_allowed(user, assessment)
    try:
        return VisitRead.of(assessments.request_visit(db, assessment, user))
    except assessments.VisitNotAllowed:
        raise HTTPException(status_code=409, detail=VISIT_REFUSED) from None


@router.get("/visit-requests/{visit_id}", response_model=VisitRead, tags=["visits"])
def read_visit(visit: ReadableVisit) -> VisitRead:
    return VisitRead.of(visit)


@router.get("/guides", response_model=list[GuideSummary], tags=["guides"])
def guides() -> list[GuideSummary]:
    return [
        GuideSummary(condition=c, audience=a, title=clinical.guide_title(c, a))
        for c, a in clinical.list_guides()
    ]


@router.get("/guides/search", response_model=list[GuideHit], tags=["guides"])
def search(q: Annotated[str, Query(min_length=1, max_length=200)], settings: SettingsDep) -> list[GuideHit]:
    hits = clinical.search_guides(q, emergency_number=settings.emergency_number)
    return [GuideHit.model_validate(h.model_dump()) for h in hits]


@router.get("/guides/{condition}/{audience}", response_model=GuideRead, tags=["guides"])
def guide(condition: str, audience: str, settings: SettingsDep) -> GuideRead:
    try:
        g = clinical.load_guide(condition, audience, settings.emergency_number)
    except clinical.GuideNotFound:
        raise HTTPException(status_code=404, detail="No such guide.") from None
    return GuideRead(
        condition=g.condition,
        audience=g.audience,
        title=g.title,
        version=g.version,
        document=clinical.guide_document(g, settings.emergency_number),
    )


def _utc(value: datetime | None) -> datetime | None:
    """Aware UTC; a time without a zone is read as UTC."""
    if value is None:
        return None
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except (OverflowError, ValueError):
        raise HTTPException(status_code=422, detail="Invalid request: the time is out of range.") from None


@router.get("/audit", response_model=list[AuditRead], tags=["audit"])
def audit_log(
    admin: AdminUser,
    db: DbDep,
    actor: Annotated[str | None, Query(max_length=64)] = None,
    object_id: Annotated[str | None, Query(max_length=64)] = None,
    action: Annotated[str | None, Query(max_length=32)] = None,
    since: Annotated[datetime | None, Query(description="ISO time; without a zone it is UTC")] = None,
    until: Annotated[datetime | None, Query(description="ISO time; without a zone it is UTC")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[AuditRead]:
    """Search the audit log (admins only)."""
    events = reads.search_audit_log(
        db,
        admin,
        actor=actor,
        object_id=object_id,
        action=action,
        since=_utc(since),
        until=_utc(until),
        limit=limit,
        offset=offset,
    )
    return [AuditRead.of(e) for e in events]
