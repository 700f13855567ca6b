"""FHIR endpoints: a saved assessment as a Bundle, the SDC Questionnaires, QuestionnaireResponse import.

FHIR answers are FHIR resources (application/fhir+json), errors OperationOutcomes; these
routes stay out of the JSON API's OpenAPI document (a FHIR client reads docs/fhir.md).
"""

from __future__ import annotations

import json
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fhir.resources.R4B.operationoutcome import OperationOutcome, OperationOutcomeIssue

from telespine.fhir.export import assessment_bundle
from telespine.fhir.importer import ImportProblem, import_response
from telespine.fhir.questionnaires import (
    UnknownQuestionnaire,
    assessment_questionnaire,
    instrument_questionnaire,
    to_json,
)
from telespine.services import assessments, records
from telespine.store import repo_care
from telespine.web import clinical
from telespine.web.deps import DbDep, OptionalUser, RequiredUser, SettingsDep, WebSessionDep, csrf_protect
from telespine.web.policy import ReadableAssessment, can_save_assessments, load_profile_for_write

log = logging.getLogger("telespine.web")
FHIR_JSON = "application/fhir+json"
router = APIRouter()


def fhir_response(resource: Any, status: int = 200) -> Response:
    return Response(to_json(resource), status_code=status, media_type=FHIR_JSON)


def outcome(status: int, code: str, text: str, where: str | None = None) -> Response:
    issue = OperationOutcomeIssue(
        severity="error", code=code, diagnostics=text, expression=[where] if where else None
    )
    return fhir_response(OperationOutcome(issue=[issue]), status)


@router.get(
    "/api/v1/assessments/{assessment_id}/fhir",
    tags=["fhir"],
    responses={200: {"content": {FHIR_JSON: {}}, "description": "A FHIR R4 transaction Bundle"}},
    response_class=Response,
)
def export_assessment(assessment: ReadableAssessment, user: RequiredUser, db: DbDep) -> Response:
    """The assessment as one FHIR R4 transaction Bundle (the same readers as the assessment)."""
    bundle = assessment_bundle(db, assessment)
    # The case's messages go into the Bundle (Communication): a read of messages, audited by kind.
    case = repo_care.case_for_assessment(db, assessment.id)
    if case is not None:
        kinds = [e.resource.get_resource_type() for e in bundle.entry or [] if e.resource is not None]
        records.audit_read(db, user, records.MESSAGE, case, kinds.count("Communication"))
    return fhir_response(bundle)


@router.get("/fhir/Questionnaire/{questionnaire_id}", include_in_schema=False)
def questionnaire(questionnaire_id: str, settings: SettingsDep) -> Response:
    """assessment-adult, assessment-pediatric or instrument-<id> (enabled instruments only)."""
    try:
        if questionnaire_id.startswith("assessment-"):
            return fhir_response(assessment_questionnaire(questionnaire_id.removeprefix("assessment-")))
        if questionnaire_id.startswith("instrument-"):
            inst = questionnaire_id.removeprefix("instrument-")
            enabled = settings.enabled_instruments
            if enabled is not None and inst not in enabled:
                raise UnknownQuestionnaire(inst)
            return fhir_response(instrument_questionnaire(inst))
    except UnknownQuestionnaire:
        pass
    return outcome(404, "not-found", "No such Questionnaire.")


@router.post("/api/v1/fhir/QuestionnaireResponse", include_in_schema=False)
async def import_questionnaire_response(
    request: Request,
    db: DbDep,
    user: OptionalUser,
    ws: WebSessionDep,
    profile_id: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    """A response to a telespine assessment Questionnaire -> findings -> triage -> result.

    Saved as a new assessment when the caller is a signed-in patient or parent (for a child:
    ?profile_id=). Bad or foreign responses get 422 with an OperationOutcome and no result.
    """
    saving = user is not None and can_save_assessments(user)
    if saving:
        await csrf_protect(request, ws)  # a cookie session must send its CSRF token; bearer needs none
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype not in ("application/json", FHIR_JSON):
        return outcome(415, "not-supported", "Send the QuestionnaireResponse as application/fhir+json.")
    try:
        imported = import_response(await request.body())
    except ImportProblem as exc:
        return fhir_response(exc.outcome(), 422)
    try:
        result = clinical.run_triage(imported.findings)
    except clinical.InvalidFindings as exc:
        return outcome(422, "invalid", exc.problem, f"item[{exc.field}]")
    body: dict[str, Any] = {
        "result": result.model_dump(mode="json"),
        "answers": imported.answers,
        "unanswered_as_unknown": imported.filled_unknown,
        "assessment_id": None,
    }
    status = 200
    if saving and user is not None:
        profile = load_profile_for_write(db, user, profile_id)
        assessment = assessments.save_assessment(
            db,
            profile=profile,
            by=user,
            findings=imported.findings,
            result=result,
            answers=imported.answers,
            detail="fhir import",
        )
        body["assessment_id"] = assessment.id
        status = 201
    return Response(json.dumps(body), status_code=status, media_type="application/json")
