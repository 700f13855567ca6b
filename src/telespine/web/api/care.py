"""JSON API (/api/v1) for the clinician workspace and follow-up (issue 6)."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from telespine.care.checks import CheckAnswerError
from telespine.services import assessments, followup, reads, records
from telespine.services import cases as case_work
from telespine.store import lists, repo_care
from telespine.store.models_care import CareCase
from telespine.triage.types import Disposition
from telespine.web import clinical
from telespine.web.api.schemas import ErrorOut
from telespine.web.deps import CsrfDep, DbDep, RequiredUser, SettingsDep
from telespine.web.policy import (
    VISIT_REFUSED,
    ClinicianCase,
    ClinicianUser,
    FeedbackReader,
    PatientCase,
    ReadableCase,
    can_work_case,
    ensure_visit_allowed,
)

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut} for code in (400, 401, 403, 404, 409, 413, 422, 429, 503)
}
router = APIRouter(prefix="/api/v1", responses=ERRORS, tags=["care"])
log = logging.getLogger("telespine.care")


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CaseRead(BaseModel):
    id: str
    assessment_id: str
    status: str
    disposition: str
    engine_disposition: str
    assessment_version: int
    claimed_by: str | None
    raised_at: dt.datetime | None
    raised_reason: str | None
    waiting_since: dt.datetime | None = None
    patient_disposition: str | None = None  # what the patient is shown (single reads only)
    # The level an active escalation floor holds the case at (a red flag or a clinician's
    # override), until a clinician clears it; null when none is active
    escalation_floor: str | None = None

    @classmethod
    def of(
        cls,
        case: CareCase,
        disposition: str,
        waiting_since: dt.datetime | None = None,
        patient_disposition: str | None = None,
        escalation_floor: str | None = None,
    ) -> CaseRead:
        latest = case.assessment.latest
        return cls(
            id=case.id,
            assessment_id=case.assessment_id,
            status=case.status,
            disposition=disposition,
            engine_disposition=latest.disposition,
            assessment_version=latest.version,
            claimed_by=case.claimed_by.username if case.claimed_by else None,
            raised_at=case.raised_at,
            raised_reason=case.raised_reason,
            waiting_since=waiting_since,
            patient_disposition=patient_disposition,
            escalation_floor=escalation_floor,
        )


class ClaimOut(BaseModel):
    claimed: bool
    claimed_by: str | None


class OverrideIn(_In):
    disposition: Disposition
    reason: str = Field(min_length=3, max_length=2000)


class FeedbackRow(BaseModel):
    id: int
    created_at: dt.datetime
    ruleset_version: str
    ruleset_sha256: str
    fired_rule_ids: list[str]
    from_disposition: str
    to_disposition: str
    assessment_version: int
    reason: str | None  # clinicians only: free text may hold health details


class BookingIn(_In):
    slot_start: AwareDatetime  # with an offset; on the slot grid, between now and a year ahead
    mode: Literal["video", "phone", "message"] = "video"
    minutes: int | None = Field(default=None, ge=5, le=60)  # default and maximum: one slot


class BookingOut(BaseModel):
    id: str
    case_id: str
    clinician: str
    slot_start: dt.datetime
    mode: str
    status: str


class MessageIn(_In):
    body: str = Field(min_length=1, max_length=4000)


class ReplyOut(BaseModel):
    """telespine's automatic reply, stored in the case's messages."""

    id: str
    body: str
    offers_check: bool  # the one-minute red-flag check is offered: POST check_url
    check_url: str | None = None


class MessageOut(BaseModel):
    id: str
    flagged: bool
    raised: bool
    disposition: str  # what the patient is now shown (never below an escalation floor)
    safety_net: list[str] = []  # emergency warning signs to show at once when flagged
    emergency: bool = False  # show the emergency page now
    reply: ReplyOut | None = None


class CheckIn(_In):
    """The one-minute red-flag check: an answer per question of the diary's check (yes, no or
    unknown); a question left out counts as unknown, never as no."""

    answers: dict[str, Literal["yes", "no", "unknown"]] = {}
    message_id: str | None = Field(default=None, max_length=64)


class CheckOut(BaseModel):
    id: str
    disposition: str
    emergency: bool
    safety_net: list[str] = []


class ClearIn(_In):
    reason: str = Field(min_length=3, max_length=2000)


class ClearOut(BaseModel):
    cleared: int
    disposition: str  # the clinicians' view after clearing
    patient_disposition: str


class DiaryIn(_In):
    day: dt.date
    pain: int = Field(ge=0, le=10)
    function: int = Field(ge=0, le=10)
    medicine_use: Literal["none", "less_than_usual", "as_usual", "more_than_usual"]
    red_flag_check: dict[str, Literal["yes", "no", "unknown"]] = {}
    note: str | None = Field(default=None, max_length=4000)


class VisitRequestIn(_In):
    mode: Literal["video", "phone", "message"]
    preferred_times: str = Field(default="", max_length=500)


class VisitRequestOut(BaseModel):
    id: str
    status: str
    mode: str
    preferred_times: str


class DiaryOut(BaseModel):
    id: str
    escalations: list[str]
    disposition: str
    safety_net: list[str] = []


@router.get("/queue", response_model=list[CaseRead])
def queue(
    request: Request,
    response: Response,
    user: ClinicianUser,
    db: DbDep,
    disposition: Disposition | None = None,
    claimed: Literal["claimed", "unclaimed"] | None = None,
    mine: bool = False,
    limit: Annotated[int, Query(ge=1, le=lists.MAX_LIMIT, description="Rows a page.")] = lists.DEFAULT_LIMIT,
    after: Annotated[
        str | None, Query(max_length=200, description="The cursor of the next page (from the Link header).")
    ] = None,
) -> list[CaseRead]:
    """Open cases of the caller's clinic, most urgent first, raised first, then longest waiting.
    One page at a time, computed in SQL: the `Link` header (rel="next") and `X-Next-Cursor` give
    the next page when there is one."""
    try:
        items, cursor = lists.queue_page(
            db,
            user,
            disposition=disposition.value if disposition else None,
            claimed=claimed,
            mine=mine,
            limit=limit,
            after=after,
        )
    except lists.BadCursor:
        raise HTTPException(status_code=422, detail="after: not a cursor of this list") from None
    reads.record_list(db, user, "case", len(items))
    if cursor is not None:
        nxt = request.url.include_query_params(after=cursor, limit=limit)
        response.headers["link"] = f'<{nxt.path}?{nxt.query}>; rel="next"'
        response.headers["x-next-cursor"] = cursor
    return [CaseRead.of(i.case, i.disposition, i.waiting_since, escalation_floor=i.floor) for i in items]


@router.get("/cases/{case_id}", response_model=CaseRead)
def read_case(case: ReadableCase, user: RequiredUser, db: DbDep) -> CaseRead:
    """A case; `disposition` is the clinician's view for clinicians, and for patients and parents
    the more urgent of the engine's result and a clinician's override (never less urgent)."""
    levels = repo_care.case_levels(db, case)
    floor = levels.floor.level if levels.floor is not None else None
    if can_work_case(user, case):
        return CaseRead.of(case, levels.clinician, patient_disposition=levels.patient, escalation_floor=floor)
    return CaseRead.of(case, levels.patient, patient_disposition=levels.patient, escalation_floor=floor)


@router.post("/cases/{case_id}/claim", response_model=ClaimOut, dependencies=[CsrfDep])
def claim(case: ClinicianCase, user: RequiredUser, db: DbDep) -> ClaimOut:
    won = case_work.claim(db, case, user)
    if not won:
        raise HTTPException(status_code=409, detail="Another clinician claimed this case first.")
    return ClaimOut(claimed=True, claimed_by=user.username)


@router.post(
    "/cases/{case_id}/overrides", response_model=FeedbackRow, status_code=201, dependencies=[CsrfDep]
)
def override(body: OverrideIn, case: ClinicianCase, user: RequiredUser, db: DbDep) -> FeedbackRow:
    row = followup.override(db, case, user, body.disposition, body.reason)
    return _feedback(row, True)


@router.post("/cases/{case_id}/escalation/clear", response_model=ClearOut, dependencies=[CsrfDep])
def clear_escalation(body: ClearIn, case: ClinicianCase, user: RequiredUser, db: DbDep) -> ClearOut:
    """A clinician reviewed the escalation: every active floor is cleared with the reason
    (audited); 409 when none is active."""
    try:
        rows = followup.clear_escalation(db, case, user, body.reason)
    except followup.NothingToClear:
        raise HTTPException(status_code=409, detail="This case has no escalation to clear.") from None
    levels = repo_care.case_levels(db, case)
    return ClearOut(cleared=len(rows), disposition=levels.clinician, patient_disposition=levels.patient)


def _feedback(row: Any, with_reason: bool) -> FeedbackRow:
    return FeedbackRow(
        id=row.id,
        created_at=row.created_at,
        ruleset_version=row.ruleset_version,
        ruleset_sha256=row.ruleset_sha256,
        fired_rule_ids=[str(r) for r in row.fired_rule_ids],
        from_disposition=row.from_disposition,
        to_disposition=row.to_disposition,
        assessment_version=row.assessment_version,
        reason=row.reason if with_reason else None,
    )


@router.get("/ruleset-feedback", response_model=list[FeedbackRow])
def ruleset_feedback(user: FeedbackReader, db: DbDep) -> list[FeedbackRow]:
    """Every disposition override as feedback on the rule set: clinicians see their clinic's with
    reasons; admins see all, without the free-text reason."""
    clinician = user.role == "clinician"
    rows = reads.ruleset_feedback(db, user)
    return [_feedback(r, clinician) for r in rows]


@router.post("/cases/{case_id}/bookings", response_model=BookingOut, status_code=201, dependencies=[CsrfDep])
def book(
    body: BookingIn, case: ClinicianCase, user: RequiredUser, db: DbDep, settings: SettingsDep
) -> BookingOut:
    """Book a slot on the grid; 409 when the clinician already has that slot, 422 off the grid,
    409 for a result that needs care in person (the same gate as the patient's side)."""
    from telespine.services import visits as visit_service

    try:
        booking = visit_service.clinician_book(
            db,
            case,
            user,
            body.slot_start,
            body.mode,
            now=dt.datetime.now(dt.UTC),
            slot_minutes=settings.visit_slot_minutes,
            link_base=settings.public_url,
            minutes=body.minutes,
        )
    except visit_service.VisitNotAllowed:
        raise HTTPException(status_code=409, detail=VISIT_REFUSED) from None
    except repo_care.BadSlot as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from None
    except repo_care.SlotTaken:
        raise HTTPException(
            status_code=409, detail="This time is already booked for this clinician."
        ) from None
    return BookingOut(
        id=booking.id,
        case_id=case.id,
        clinician=user.username,
        slot_start=booking.slot_start,
        mode=booking.mode,
        status=booking.status,
    )


def _failed(outcome: followup.Outcome, what: str, emergency_number: str) -> JSONResponse:
    """503 with the emergency safety net: the save failed, so the patient must not wait on it."""
    detail = (
        f"{what} If you have a warning sign or feel very unwell, call {emergency_number} now. "
        "Your care team has been told."
    )
    return JSONResponse({"detail": detail, "safety_net": outcome.signs}, status_code=503)


@router.post("/cases/{case_id}/messages", response_model=MessageOut, status_code=201, dependencies=[CsrfDep])
def message(
    body: MessageIn, case: ReadableCase, user: RequiredUser, db: DbDep, settings: SettingsDep
) -> MessageOut | JSONResponse:
    """A message; a patient's is stored, then screened (in the threadpool: this route is sync);
    a flagged one re-triages and raises the case, and every one gets the automatic reply."""
    if user.role in ("patient", "parent"):
        if case.assessment.profile.owner_id != user.id:
            raise HTTPException(status_code=403, detail="Only the patient or parent can do this.")
    elif not can_work_case(user, case):
        raise HTTPException(status_code=404, detail="Not found.")
    out = followup.post_message(db, case, user, body.body, emergency_number=settings.emergency_number)
    if out.failed or out.message is None:
        return _failed(out, "Your message could not be saved.", settings.emergency_number)
    reply = None
    if out.reply is not None:
        reply = ReplyOut(
            id=out.reply.id,
            body=out.reply.body,
            offers_check=out.reply.offers_check,
            check_url=f"/api/v1/cases/{out.case_id}/red-flag-check" if out.reply.offers_check else None,
        )
    return MessageOut(
        id=out.message.id,
        flagged=out.flagged,
        raised=out.raised,
        disposition=out.shown,
        safety_net=out.signs if out.safety_net else [],
        emergency=out.safety_net and out.emergency,
        reply=reply,
    )


@router.post(
    "/cases/{case_id}/red-flag-check", response_model=CheckOut, status_code=201, dependencies=[CsrfDep]
)
def red_flag_check(
    body: CheckIn, case: PatientCase, user: RequiredUser, db: DbDep, settings: SettingsDep
) -> CheckOut | JSONResponse:
    """The one-minute red-flag check of the automatic reply: the answers go through the triage
    engine; `emergency` true means show the emergency page now."""
    try:
        out = followup.red_flag_check(
            db,
            case,
            user,
            body.answers,
            emergency_number=settings.emergency_number,
            message_id=body.message_id,
        )
    except CheckAnswerError as exc:
        raise HTTPException(status_code=422, detail=f"Invalid check: {exc}") from None
    if out.failed or out.check is None:
        return _failed(out, "Your answers could not be saved.", settings.emergency_number)
    return CheckOut(
        id=out.check.id,
        disposition=out.shown,
        emergency=out.emergency,
        safety_net=out.signs if out.safety_net else [],
    )


@router.post("/cases/{case_id}/diary", response_model=DiaryOut, status_code=201, dependencies=[CsrfDep])
def diary(
    body: DiaryIn, case: PatientCase, user: RequiredUser, db: DbDep, settings: SettingsDep
) -> DiaryOut | JSONResponse:
    """A diary entry; the escalation rules run at once (re-triage, review, alert)."""
    problem = repo_care.diary_day_problem(case, body.day)
    if problem:
        raise HTTPException(status_code=422, detail=problem)
    try:
        known = {q["id"] for q in clinical.diary_questions(followup.audience_of(case))}
    except Exception:
        known = set(body.red_flag_check)  # the check cannot load: diary_entry below fails safe
    unknown_keys = sorted(set(body.red_flag_check) - known)
    if unknown_keys:
        raise HTTPException(status_code=422, detail=f"Unknown question in red_flag_check: {unknown_keys[0]}")
    try:
        entry = clinical.diary_entry(body.model_dump())
    except clinical.DiaryProblem as exc:
        raise HTTPException(status_code=422, detail=f"Invalid diary entry: {exc}") from None
    except clinical.ClinicalFailure:
        repo_care.raise_case(db, case, "A diary entry could not be checked: contact the patient.")
        db.commit()
        raise HTTPException(
            status_code=503,
            detail="Your entry could not be checked. If you have a warning sign, call the emergency number.",
        ) from None
    out = followup.add_diary_entry(db, case, user, entry, emergency_number=settings.emergency_number)
    if out.failed or out.diary_entry is None:
        return _failed(out, "Your diary entry could not be saved.", settings.emergency_number)
    return DiaryOut(
        id=out.diary_entry.id,
        escalations=out.escalations,
        disposition=out.shown,
        safety_net=out.signs if out.safety_net else [],
    )


@router.post(
    "/cases/{case_id}/visit-requests", response_model=VisitRequestOut, status_code=201, dependencies=[CsrfDep]
)
def visit_request(body: VisitRequestIn, case: PatientCase, user: RequiredUser, db: DbDep) -> VisitRequestOut:
    """Ask for a video, phone or message visit with preferred times (409 for a result that needs
    care in person: only telemedicine and routine results, as in policy.visit_fits)."""
    ensure_visit_allowed(user, case.assessment)
    try:
        visit = assessments.request_visit(
            db, case.assessment, user, mode=body.mode, preferred_times=body.preferred_times
        )
    except assessments.VisitNotAllowed:
        raise HTTPException(status_code=409, detail=VISIT_REFUSED) from None
    return VisitRequestOut(
        id=visit.id, status=visit.status, mode=body.mode, preferred_times=body.preferred_times
    )


class MessageRead(BaseModel):
    id: str
    author: str
    from_patient: bool
    body: str
    flagged: bool
    created_at: dt.datetime
    automatic: bool = False  # telespine's automatic reply to the message reply_to
    reply_to: str | None = None
    offers_check: bool = False


class DiaryRead(BaseModel):
    id: str
    day: dt.date
    pain: int
    function: int
    medicine_use: str
    red_flag_check: dict[str, str]
    note: str | None


@router.get("/cases/{case_id}/messages", response_model=list[MessageRead])
def read_messages(case: ReadableCase, user: RequiredUser, db: DbDep) -> list[MessageRead]:
    """The case's messages, oldest first (screening details are for the clinician's chart)."""
    return [
        MessageRead(
            id=m.id,
            author=m.author_name,
            from_patient=m.from_patient,
            body=m.body,
            flagged=m.flagged,
            created_at=m.created_at,
            automatic=m.automatic,
            reply_to=m.reply_to_id,
            offers_check=m.offers_check,
        )
        for m in records.messages(db, case, user)  # audited as a read of messages
    ]


@router.get("/cases/{case_id}/diary", response_model=list[DiaryRead])
def read_diary(case: ReadableCase, user: RequiredUser, db: DbDep) -> list[DiaryRead]:
    """The case's diary entries, oldest first."""
    return [
        DiaryRead(
            id=d.id,
            day=d.day,
            pain=d.pain,
            function=d.function,
            medicine_use=d.medicine_use,
            red_flag_check={str(k): str(v) for k, v in d.red_flag_check.items()},
            note=d.note,
        )
        for d in records.diary_entries(db, case, user)  # audited as a read of diary entries
    ]
