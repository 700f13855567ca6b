"""Request and response models of /api/v1 (separate models per use, as in XCreate / XRead)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from telespine.store.models import Assessment, AssessmentVersion, AuditEvent, Profile, User, VisitRequest
from telespine.triage.types import Audience, Disposition, TriageResult


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Ping(BaseModel):
    status: Literal["ok"] = "ok"


class ErrorItem(BaseModel):
    field: str
    problem: str


class ErrorOut(BaseModel):
    detail: str
    errors: list[ErrorItem] = []


class LoginIn(_In):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)
    totp_code: str | None = Field(
        default=None,
        max_length=12,
        description="The 6-digit code, for accounts with two-step sign-in (or a single-use recovery code).",
    )


class ProfileRead(BaseModel):
    id: str
    display_name: str
    is_child: bool
    clinic_id: str | None

    @classmethod
    def of(cls, p: Profile) -> ProfileRead:
        return cls(id=p.id, display_name=p.display_name, is_child=p.is_child, clinic_id=p.clinic_id)


class UserRead(BaseModel):
    id: str
    username: str
    display_name: str
    role: str
    clinic_id: str | None
    profiles: list[ProfileRead]

    @classmethod
    def of(cls, u: User, profiles: list[Profile]) -> UserRead:
        return cls(
            id=u.id,
            username=u.username,
            display_name=u.display_name,
            role=u.role,
            clinic_id=u.clinic_id,
            profiles=[ProfileRead.of(p) for p in profiles],
        )


class LoginOut(BaseModel):
    token: str = Field(description="Send as `Authorization: Bearer <token>`; it is also set as a cookie.")
    csrf_token: str = Field(description="Send as X-CSRF-Token when authenticating by cookie.")
    user: UserRead


class AssessmentCreate(_In):
    findings: dict[str, Any] = Field(description="A findings document (see POST /api/v1/triage).")
    profile_id: str | None = Field(default=None, max_length=64, description="Default: your own profile.")


class VersionCreate(_In):
    findings: dict[str, Any]


class VersionRead(BaseModel):
    version: int
    findings: dict[str, Any] = Field(description="The findings document ({} if none could be made).")
    answers: dict[str, Any] | None = Field(
        default=None, description="The questionnaire answers of a web assessment, as given."
    )
    result: TriageResult
    disposition: Disposition
    safety_net: bool
    ruleset_version: str
    ruleset_sha256: str
    created_at: datetime
    # None: made by the system (an automatic re-triage), with what set it off in `trigger`.
    created_by_id: str | None
    trigger: str | None = None

    @classmethod
    def of(cls, v: AssessmentVersion) -> VersionRead:
        return cls(
            version=v.version,
            findings=v.findings,
            answers=v.answers,
            result=TriageResult.model_validate(v.result),
            disposition=Disposition(v.disposition),
            safety_net=v.safety_net,
            ruleset_version=v.ruleset_version,
            ruleset_sha256=v.ruleset_sha256,
            created_at=v.created_at,
            created_by_id=v.created_by_id,
            trigger=v.trigger,
        )


class VersionCreated(VersionRead):
    """A new version, with what the patient is now shown: never below an escalation floor."""

    shown_disposition: Disposition = Field(
        description="What the patient is told now: a red flag or a clinician's raise holds until cleared."
    )
    emergency_signs: list[str] = Field(
        default=[], description="Emergency warning signs to show at once (emergency or same-day advice)."
    )


class AssessmentSummary(BaseModel):
    id: str
    profile_id: str
    created_at: datetime
    version: int
    disposition: Disposition

    @classmethod
    def of(cls, a: Assessment, shown: str | None = None) -> AssessmentSummary:
        """shown: the more urgent of the engine's and a clinician's override (policy.shown_disposition)."""
        latest = a.latest
        return cls(
            id=a.id,
            profile_id=a.profile_id,
            created_at=a.created_at,
            version=latest.version,
            disposition=Disposition(shown or latest.disposition),
        )


class AssessmentRead(BaseModel):
    id: str
    profile_id: str
    created_at: datetime
    latest: VersionRead
    versions: list[VersionRead]
    # What the person is told: the more urgent of latest.disposition (the engine's) and a
    # clinician's latest override; never less urgent than the engine's.
    disposition: Disposition | None = None

    @classmethod
    def of(cls, a: Assessment, shown: str | None = None) -> AssessmentRead:
        versions = [VersionRead.of(v) for v in a.versions]
        return cls(
            id=a.id,
            profile_id=a.profile_id,
            created_at=a.created_at,
            latest=versions[-1],
            versions=versions,
            disposition=Disposition(shown or a.latest.disposition),
        )


class VisitRead(BaseModel):
    id: str
    assessment_id: str
    status: str
    created_at: datetime

    @classmethod
    def of(cls, v: VisitRequest) -> VisitRead:
        return cls(id=v.id, assessment_id=v.assessment_id, status=v.status, created_at=v.created_at)


class GuideSummary(BaseModel):
    condition: str
    audience: Audience
    title: str


class GuideRead(BaseModel):
    condition: str
    audience: Audience
    title: str
    version: str
    document: dict[str, Any]


class GuideHit(BaseModel):
    condition: str
    audience: Audience
    section_id: str
    section_title: str
    snippet: str
    score: float


class AuditRead(BaseModel):
    id: int
    at: datetime
    actor_id: str | None
    actor_username: str | None
    actor_role: str | None
    action: str
    object_type: str
    object_id: str | None
    profile_id: str | None
    detail: str | None

    @classmethod
    def of(cls, e: AuditEvent) -> AuditRead:
        return cls(
            id=e.id,
            at=e.at,
            actor_id=e.actor_id,
            actor_username=e.actor_username,
            actor_role=e.actor_role,
            action=e.action,
            object_type=e.object_type,
            object_id=e.object_id,
            profile_id=e.profile_id,
            detail=e.detail,
        )
