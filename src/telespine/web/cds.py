"""CDS Hooks 2.0 on the web app: discovery, the three services, feedback, JWT checks and CORS.

The EHR's JWT is checked before anything is read (telespine.fhir.cds_auth); a refused token
gets a bare 401. Inside a service any failure answers with the critical safety-net card.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from telespine.fhir import cds, terms
from telespine.fhir.cds_auth import TokenRefused, jti_key, verify
from telespine.settings import Settings
from telespine.store import cases
from telespine.store.models import Assessment, Profile
from telespine.store.models_care import CareCase, DispositionOverride
from telespine.store.models_fhir import CdsCardIssued, CdsFeedback, CdsTokenUse
from telespine.triage.types import Disposition, TriageResult
from telespine.web.routing import add_routes

log = logging.getLogger("telespine.web")
router = APIRouter(prefix="/cds-services", include_in_schema=False)
HOOKS = {cds.PATIENT_VIEW: "patient-view", cds.ORDER_SELECT: "order-select", cds.ORDER_SIGN: "order-sign"}


def _unauthorized() -> Response:
    return Response(status_code=401, headers={"www-authenticate": "Bearer"})


def _error(status: int, text: str) -> JSONResponse:
    return JSONResponse({"error": text}, status_code=status)


def _endpoint(settings: Settings, service_id: str) -> str:
    return f"{settings.public_url.rstrip('/')}/cds-services/{service_id}"


def _authenticate(request: Request, settings: Settings, db: Session, audiences: list[str]) -> str | None:
    """The issuer of a valid, unused token; None (-> 401) for anything else."""
    auth = request.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    now = time.time()
    try:
        claims = verify(token.strip(), issuers=settings.cds_issuers, audiences=audiences, now=now)
    except TokenRefused:
        return None
    issuer = str(claims["iss"])
    expires = dt.datetime.fromtimestamp(float(claims["exp"]), dt.UTC)
    try:
        db.execute(delete(CdsTokenUse).where(CdsTokenUse.expires_at < dt.datetime.now(dt.UTC)))
        db.add(CdsTokenUse(key=jti_key(issuer, str(claims["jti"])), expires_at=expires))
        db.commit()
    except IntegrityError:
        db.rollback()
        return None  # this jti was used before: a replay
    return issuer


@router.get("")
def discovery() -> JSONResponse:
    return JSONResponse({"services": [s.model_dump(exclude_none=True) for s in cds.services()]})


class HookRequest(BaseModel):
    model_config = ConfigDict(extra="allow")

    hook: str
    hookInstance: str = Field(max_length=200)
    context: dict[str, Any]
    prefetch: dict[str, Any] | None = None
    fhirServer: str | None = None


def _profile_for(db: Session, req: HookRequest) -> Profile | None:
    candidates: list[str] = []
    pid = req.context.get("patientId")
    if isinstance(pid, str):
        candidates.append(pid[:64])
    patient = (req.prefetch or {}).get("patient")
    if isinstance(patient, dict):
        for ident in patient.get("identifier") or []:
            if isinstance(ident, dict) and ident.get("system") == terms.PROFILE_ID_SYSTEM:
                value = ident.get("value")
                if isinstance(value, str):
                    candidates.append(value[:64])
    for candidate in candidates:
        profile = db.get(Profile, candidate)
        if profile is not None:
            return profile
    return None


def latest_for(db: Session, settings: Settings, profile: Profile | None) -> cds.Latest | None:
    """The newest assessment of a profile, as the cards need it."""
    if profile is None:
        return None
    assessment = db.scalar(
        select(Assessment)
        .where(Assessment.profile_id == profile.id)
        .order_by(Assessment.created_at.desc(), Assessment.id.desc())
        .limit(1)
    )
    if assessment is None:
        return None
    version = assessment.latest
    result = TriageResult.model_validate(version.result)
    case = db.scalar(select(CareCase).where(CareCase.assessment_id == assessment.id))
    override = None
    shown = result.disposition
    if case is not None:
        row = db.scalar(
            select(DispositionOverride)
            .where(DispositionOverride.case_id == case.id)
            .order_by(DispositionOverride.created_at.desc(), DispositionOverride.id.desc())
            .limit(1)
        )
        if row is not None:
            override = (row.from_disposition, row.to_disposition, row.reason)
        # the clinicians' level: their override, else the engine's; never below an active floor
        shown = Disposition(cases.effective_disposition(db, case))
    base = settings.public_url.rstrip("/")
    link = f"{base}/care/cases/{case.id}" if case is not None else f"{base}/care/assessments/{assessment.id}"
    days = version.findings.get("duration_days")
    return cds.Latest(
        assessment_id=assessment.id,
        created_at=version.created_at,
        disposition=shown,
        engine_disposition=result.disposition,
        rules=list(result.rules),
        unresolved=list(result.unresolved),
        safety_net=result.safety_net,
        ruleset_version=version.ruleset_version,
        ruleset_sha256=version.ruleset_sha256,
        duration_days=float(days) if isinstance(days, int | float) and not isinstance(days, bool) else None,
        link=link,
        override=override,
    )


def _cards(db: Session, settings: Settings, service_id: str, req: HookRequest) -> list[cds.Issued]:
    latest = latest_for(db, settings, _profile_for(db, req))
    if service_id == cds.PATIENT_VIEW:
        return cds.patient_view(latest)
    selections = req.context.get("selections") if service_id == cds.ORDER_SELECT else None
    orders = cds.lumbar_imaging_orders(
        req.context.get("draftOrders"),
        [s for s in selections if isinstance(s, str)] if isinstance(selections, list) else None,
    )
    return cds.imaging_cards(latest, orders, dt.datetime.now(dt.UTC))


def _record(db: Session, service_id: str, issuer: str, issued: list[cds.Issued]) -> None:
    for item in issued:
        db.add(
            CdsCardIssued(
                uuid=item.card.uuid,
                service_id=service_id,
                issuer=issuer,
                indicator=item.card.indicator,
                assessment_id=item.assessment_id,
                rule_ids=item.rule_ids,
                ruleset_version=item.ruleset_version,
                ruleset_sha256=item.ruleset_sha256,
            )
        )
    db.commit()


def _session(request: Request) -> Session:
    factory = request.app.state.sessionmaker
    db: Session = factory()
    return db


@router.post("/{service_id}")
async def call_service(service_id: str, request: Request) -> Response:
    if service_id not in HOOKS:
        return _error(404, "No such CDS service.")
    settings: Settings = request.app.state.settings
    with _session(request) as db:
        issuer = _authenticate(request, settings, db, [_endpoint(settings, service_id)])
        if issuer is None:
            return _unauthorized()
        try:
            req = HookRequest.model_validate(json.loads(await request.body()))
        except (ValueError, ValidationError):
            return _error(400, "The body is not a CDS Hooks request.")
        if req.hook != HOOKS[service_id]:
            return _error(400, f"This service answers the {HOOKS[service_id]} hook.")
        try:
            issued = _cards(db, settings, service_id, req)
        except Exception as exc:  # never silence: the safety-net card
            db.rollback()
            log.error("CDS service %s failed: %s", service_id, type(exc).__name__)
            issued = [cds.safety_net_card()]
        try:
            _record(db, service_id, issuer, issued)
        except Exception as exc:
            db.rollback()
            log.error("CDS cards not recorded: %s", type(exc).__name__)
        return JSONResponse({"cards": [i.card.payload() for i in issued]})


class OverrideReason(BaseModel):
    reason: dict[str, Any] | None = None
    userComment: str | None = Field(default=None, max_length=2000)


class FeedbackItem(BaseModel):
    card: str = Field(min_length=1, max_length=64)
    outcome: str = Field(pattern="^(accepted|overridden)$")
    acceptedSuggestions: list[dict[str, Any]] = []
    overrideReason: OverrideReason | None = None
    outcomeTimestamp: dt.datetime


class FeedbackBody(BaseModel):
    feedback: list[FeedbackItem] = Field(min_length=1, max_length=50)


@router.post("/{service_id}/feedback")
async def feedback(service_id: str, request: Request) -> Response:
    if service_id not in HOOKS:
        return _error(404, "No such CDS service.")
    settings: Settings = request.app.state.settings
    endpoint = _endpoint(settings, service_id)
    with _session(request) as db:
        issuer = _authenticate(request, settings, db, [endpoint, f"{endpoint}/feedback"])
        if issuer is None:
            return _unauthorized()
        try:
            body = FeedbackBody.model_validate(json.loads(await request.body()))
        except (ValueError, ValidationError):
            return _error(400, "The body is not CDS Hooks feedback.")
        for item in body.feedback:
            issued = db.get(CdsCardIssued, item.card)
            reason = (item.overrideReason.reason or {}) if item.overrideReason else {}
            when = (
                item.outcomeTimestamp
                if item.outcomeTimestamp.tzinfo
                else item.outcomeTimestamp.replace(tzinfo=dt.UTC)
            )
            db.add(
                CdsFeedback(
                    service_id=service_id,
                    card_uuid=item.card,
                    issuer=issuer,
                    outcome=item.outcome,
                    accepted_suggestions=item.acceptedSuggestions,
                    override_reason_system=str(reason.get("system"))[:255] if reason.get("system") else None,
                    override_reason_code=str(reason.get("code"))[:64] if reason.get("code") else None,
                    override_reason_display=str(reason.get("display"))[:255]
                    if reason.get("display")
                    else None,
                    user_comment=item.overrideReason.userComment if item.overrideReason else None,
                    outcome_at=when,
                    rule_ids=issued.rule_ids if issued is not None and issued.issuer == issuer else None,
                    ruleset_version=issued.ruleset_version
                    if issued is not None and issued.issuer == issuer
                    else None,
                    ruleset_sha256=issued.ruleset_sha256
                    if issued is not None and issued.issuer == issuer
                    else None,
                )
            )
        db.commit()
    return Response(status_code=200)


def install(app: FastAPI, settings: Settings) -> None:
    """Add the CDS Hooks routes and their CORS (only for the configured EHR origins)."""
    add_routes(app, router)
    origins = settings.cds_cors_origins

    @app.middleware("http")
    async def cds_cors(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        if not request.url.path.startswith("/cds-services"):
            return await call_next(request)
        origin = request.headers.get("origin")
        allowed = origin is not None and origin.rstrip("/") in origins
        if request.method == "OPTIONS" and request.headers.get("access-control-request-method"):
            if not allowed:
                return Response(status_code=403)
            return Response(
                status_code=204,
                headers={
                    "access-control-allow-origin": origin or "",
                    "access-control-allow-methods": "GET, POST, OPTIONS",
                    "access-control-allow-headers": "authorization, content-type",
                    "access-control-max-age": "600",
                    "vary": "Origin",
                },
            )
        response = await call_next(request)
        if allowed and origin is not None:
            response.headers["access-control-allow-origin"] = origin
            response.headers["vary"] = "Origin"
        return response
