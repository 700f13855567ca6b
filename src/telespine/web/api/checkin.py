"""API of the weekly check-in and remote monitoring (issue 14): thin routes over
telespine.services.checkin."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from telespine.services import checkin as service
from telespine.services import followup
from telespine.store import cases, steps
from telespine.web import clinical
from telespine.web.api.schemas import ErrorOut
from telespine.web.deps import CsrfDep, DbDep, InvalidInput, RequiredUser, SettingsDep
from telespine.web.pages.checkin import NowDep
from telespine.web.policy import PatientCase, ReadableCase

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut} for code in (400, 401, 403, 404, 411, 413, 422, 503)
}
router = APIRouter(prefix="/api/v1", responses=ERRORS, tags=["check-in"])


class QuestionOut(BaseModel):
    id: str
    text: str


class CheckinForm(BaseModel):
    """What a check-in asks now: the red-flag questions and the questionnaires due."""

    red_flag_questions: list[QuestionOut]
    questionnaires: list[str]


class CheckinIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pain: int = Field(ge=0, le=10)
    function: int = Field(ge=0, le=10)
    medicine_use: Literal["none", "less_than_usual", "as_usual", "more_than_usual"]
    red_flag_check: dict[str, Literal["yes", "no", "unknown"]] = Field(default_factory=dict, max_length=50)
    questionnaires: dict[str, dict[str, int | str]] = Field(default_factory=dict, max_length=10)
    note: str | None = Field(default=None, max_length=4000)


class ChangeOut(BaseModel):
    label: str
    before: str | None
    now: str
    direction: str


class CheckinOut(BaseModel):
    id: str
    case_id: str
    day: dt.date
    disposition: str  # what the patient is now shown
    safety_net: bool
    emergency: bool
    emergency_signs: list[str]
    changes: list[ChangeOut]


class CheckinRead(BaseModel):
    id: str
    day: dt.date
    pain: int
    scores: dict[str, float]
    disposition: str
    created_at: dt.datetime


class StepsOut(BaseModel):
    upload_id: str
    source: str
    days: int
    first_day: dt.date
    last_day: dt.date


class DayOut(BaseModel):
    day: dt.date
    steps: int


@router.get("/cases/{case_id}/checkin", response_model=CheckinForm)
def checkin_form(request: Request, case: PatientCase, db: DbDep, now: NowDep) -> CheckinForm:
    audience = followup.audience_of(case)
    due = service.due_questionnaires(
        case, cases.scores_for_case(db, case), now, clinical.enabled_instruments(request.app.state)
    )
    return CheckinForm(
        red_flag_questions=[QuestionOut(**q) for q in service.red_flag_questions(audience)],
        questionnaires=due,
    )


@router.post("/cases/{case_id}/checkins", response_model=CheckinOut, status_code=201, dependencies=[CsrfDep])
def checkin(
    request: Request,
    body: CheckinIn,
    case: PatientCase,
    user: RequiredUser,
    db: DbDep,
    settings: SettingsDep,
    now: NowDep,
) -> CheckinOut | JSONResponse:
    """A check-in of the case (sync: screening of the note runs in the threadpool). Red-flag
    questions left out count as "unknown"."""
    answers = service.CheckinAnswers(
        pain=body.pain,
        function=body.function,
        medicine_use=body.medicine_use,
        red_flags=body.red_flag_check,
        questionnaires=body.questionnaires,
        note=body.note,
    )
    try:
        out = service.checkin(
            db,
            case,
            user,
            answers,
            emergency_number=settings.emergency_number,
            now=now,
            enabled=clinical.enabled_instruments(request.app.state),
        )
    except service.CheckinProblem as exc:
        field, _, problem = str(exc).partition(": ")
        raise InvalidInput("The check-in does not fit.", [(field, problem or str(exc))]) from None
    if out.failed or out.checkin is None:
        detail = (
            f"Your check-in could not be saved. If you have a warning sign, call {settings.emergency_number} "
            "now. Your care team has been told."
        )
        return JSONResponse({"detail": detail, "safety_net": out.signs}, status_code=503)
    return CheckinOut(
        id=out.checkin.id,
        case_id=out.case_id,
        day=out.checkin.day,
        disposition=out.shown,
        safety_net=out.safety_net,
        emergency=out.emergency,
        emergency_signs=out.signs if out.safety_net else [],
        changes=[ChangeOut(**vars(c)) for c in out.changes],
    )


@router.get("/cases/{case_id}/checkins", response_model=list[CheckinRead])
def checkins(case: ReadableCase, db: DbDep) -> list[CheckinRead]:
    """The case's check-ins, oldest first."""
    return [
        CheckinRead(
            id=c.id,
            day=c.day,
            pain=c.pain,
            scores={str(k): float(v) for k, v in c.scores.items()},
            disposition=c.shown,
            created_at=c.created_at,
        )
        for c in steps.checkins_for_case(db, case)
    ]


@router.post("/cases/{case_id}/steps", response_model=StepsOut, status_code=201, dependencies=[CsrfDep])
async def upload_steps(
    request: Request, case: PatientCase, user: RequiredUser, db: DbDep, now: NowDep
) -> StepsOut:
    """A wearable export as the multipart field `file` (spooled to a temporary file, parsed as a
    stream off the event loop); a file that cannot be read is a 422 and changes nothing."""
    form = await request.form()
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise InvalidInput("Send the export as the multipart field 'file'.", [("file", "missing")])
    out = await run_in_threadpool(service.upload_steps, db, case, user, upload.file, now=now)
    if not out.ok or out.upload is None:
        raise InvalidInput(
            out.error or "The file could not be read.", [("file", out.error_kind or "malformed")]
        )
    u = out.upload
    return StepsOut(upload_id=u.id, source=u.source, days=u.days, first_day=u.first_day, last_day=u.last_day)


@router.get("/cases/{case_id}/steps", response_model=list[DayOut])
def read_steps(case: ReadableCase, db: DbDep) -> list[DayOut]:
    """The case's daily steps, oldest first."""
    return [DayOut(day=d.day, steps=d.steps) for d in steps.steps_for_profile(db, case.profile_id)]
