"""API of the medicine diary and the lessons (issue 14): thin routes over
telespine.services.medicines and telespine.services.lessons."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from telespine.services import lessons as lesson_service
from telespine.services import medicines as service
from telespine.services import records
from telespine.web.api.schemas import ErrorOut
from telespine.web.deps import CsrfDep, DbDep, InvalidInput, RequiredUser, SettingsDep
from telespine.web.pages.checkin import NowDep
from telespine.web.policy import PatientCase, ReadableCase

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut} for code in (400, 401, 403, 404, 422, 503)
}
router = APIRouter(prefix="/api/v1", responses=ERRORS, tags=["medicines"])

Answer = Literal["yes", "no", "unknown"]


class TakenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    medicine: str = Field(min_length=1, max_length=40)
    taken_at: AwareDatetime
    amount: str | None = Field(default=None, max_length=60)


class MedicineEntryIn(BaseModel):
    """What was taken and when, and an answer to each warning sign (left out = unknown)."""

    model_config = ConfigDict(extra="forbid")

    day: dt.date
    taken: list[TakenIn] = Field(default_factory=list, max_length=30)
    warning_signs: dict[str, Answer] = Field(default_factory=dict, max_length=20)
    other_effects: str | None = Field(default=None, max_length=1000)


class MedicineEntryOut(BaseModel):
    id: str
    case_id: str
    day: dt.date
    level: str | None  # what the entry's warning signs call for
    disposition: str  # what the patient is now shown
    safety_net: bool
    emergency: bool
    tell: list[str]
    emergency_signs: list[str]


class MedicineEntryRead(BaseModel):
    id: str
    day: dt.date
    taken: list[dict[str, Any]]
    warning_signs: dict[str, str]
    other_effects: str | None
    level: str | None
    created_at: dt.datetime


class LessonOut(BaseModel):
    id: str
    version: str
    title: str
    minutes: int
    read: bool


class LessonReadOut(BaseModel):
    lesson_id: str
    version: str
    read_at: dt.datetime


@router.post(
    "/cases/{case_id}/medicines", response_model=MedicineEntryOut, status_code=201, dependencies=[CsrfDep]
)
def add_medicine_entry(
    body: MedicineEntryIn,
    case: PatientCase,
    user: RequiredUser,
    db: DbDep,
    settings: SettingsDep,
    now: NowDep,
) -> MedicineEntryOut | JSONResponse:
    """A medicine diary entry (sync: the follow-up flow runs in the threadpool)."""
    try:
        entry = service.parse_entry(body.model_dump())
        out = service.record_medicines(
            db, case, user, entry, emergency_number=settings.emergency_number, now=now
        )
    except service.MedicineProblem as exc:
        field, _, problem = str(exc).partition(": ")
        raise InvalidInput("The medicine diary entry does not fit.", [(field, problem or str(exc))]) from None
    if out.failed or out.entry is None:
        detail = (
            "Your medicine diary could not be saved. If you have a warning sign, call "
            f"{settings.emergency_number} now. Your care team has been told."
        )
        return JSONResponse({"detail": detail, "safety_net": out.signs}, status_code=503)
    return MedicineEntryOut(
        id=out.entry.id,
        case_id=out.case_id,
        day=out.entry.day,
        level=out.level,
        disposition=out.shown,
        safety_net=out.safety_net,
        emergency=out.emergency,
        tell=out.tell,
        emergency_signs=out.signs,
    )


@router.get("/cases/{case_id}/medicines", response_model=list[MedicineEntryRead])
def list_medicine_entries(case: ReadableCase, user: RequiredUser, db: DbDep) -> list[MedicineEntryRead]:
    return [
        MedicineEntryRead(
            id=r.id,
            day=r.day,
            taken=list(r.taken),
            warning_signs={k: str(v) for k, v in r.warning_signs.items()},
            other_effects=r.other_effects,
            level=r.level,
            created_at=r.created_at,
        )
        for r in records.medicine_entries(db, case, user)  # audited as a read of medicine diary entries
    ]


@router.get("/cases/{case_id}/lessons", response_model=list[LessonOut])
def list_lessons(case: ReadableCase, db: DbDep) -> list[LessonOut]:
    """The lessons offered to the person (none at low STarT Back risk) and which were read."""
    read = lesson_service.read_ids(db, case)
    return [
        LessonOut(id=x.id, version=x.version, title=x.title, minutes=x.minutes, read=x.id in read)
        for x in lesson_service.offered(db, case)
    ]


@router.post(
    "/cases/{case_id}/lessons/{lesson_id}/read",
    response_model=LessonReadOut,
    status_code=201,
    dependencies=[CsrfDep],
)
def mark_lesson_read(
    case: PatientCase, user: RequiredUser, db: DbDep, lesson_id: str, now: NowDep
) -> LessonReadOut:
    try:
        row = lesson_service.mark_read(db, case, user, lesson_id[:40], now)
    except lesson_service.UnknownLesson:
        raise InvalidInput(
            "Not a lesson offered to this person.", [("lesson_id", "unknown")], status_code=404
        ) from None
    return LessonReadOut(lesson_id=row.lesson_id, version=row.lesson_version, read_at=row.read_at)
