"""SQLAlchemy models: clinics, accounts, profiles, append-only assessments, sessions, audit log."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

# Stable constraint names so that migrations are the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ROLES = ("patient", "parent", "clinician", "admin")


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    """A random public id: object ids in URLs must not be guessable or countable."""
    return uuid.uuid4().hex


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC and returns aware UTC, so SQLite and PostgreSQL behave the same."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        try:
            return value.astimezone(UTC).replace(tzinfo=None)
        except OverflowError:
            raise ValueError("the time is out of range") from None

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime(), dict[str, Any]: JSON()}


class Clinic(Base):
    __tablename__ = "clinics"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class User(Base):
    """An account. Patients and parents may belong to a clinic; clinicians must."""

    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    clinic_id: Mapped[str | None] = mapped_column(ForeignKey("clinics.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    clinic: Mapped[Clinic | None] = relationship()


class Profile(Base):
    """The person whose health data it is: the account holder themself, or a parent's child."""

    __tablename__ = "profiles"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    clinic_id: Mapped[str | None] = mapped_column(ForeignKey("clinics.id"), index=True)
    display_name: Mapped[str] = mapped_column(String(200))
    is_child: Mapped[bool] = mapped_column(Boolean, default=False)
    birth_year: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    owner: Mapped[User] = relationship()


class Assessment(Base):
    """One assessment of one profile; its content lives in append-only versions."""

    __tablename__ = "assessments"
    # Keyset pages of the lists (store/lists.py): newest first, for a clinic and for a profile.
    __table_args__ = (
        Index("ix_assessments_created_at_id", "created_at", "id"),
        Index("ix_assessments_profile_id_created_at_id", "profile_id", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    profile_id: Mapped[str] = mapped_column(ForeignKey("profiles.id"), index=True)
    created_by_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The /clinic table's stored sort key, written only by store/queue_order.py (a flush hook):
    # the profile's clinic (a copy; a profile's clinic never changes) and the level 1-5 of the
    # latest version's engine result (unknown results count as 1). NULL until the first flush
    # with a version; pages list such rows first (store/lists.py clinic_page).
    list_clinic_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    list_level: Mapped[int | None] = mapped_column(Integer, nullable=True)

    profile: Mapped[Profile] = relationship()
    versions: Mapped[list[AssessmentVersion]] = relationship(
        order_by="AssessmentVersion.version", back_populates="assessment"
    )

    @property
    def latest(self) -> AssessmentVersion:
        return self.versions[-1]


# The /clinic page is one range of this index: the clinic, most urgent first, newest first.
Index(
    "ix_assessments_clinic_list",
    Assessment.list_clinic_id,
    Assessment.list_level,
    Assessment.created_at.desc(),
    Assessment.id.desc(),
)


class AssessmentVersion(Base):
    """A saved snapshot: findings, result, rule-set version and hash. Never updated."""

    __tablename__ = "assessment_versions"
    __table_args__ = (UniqueConstraint("assessment_id", "version", name="uq_assessment_versions_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    assessment_id: Mapped[str] = mapped_column(ForeignKey("assessments.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    # A findings document ({} when the answers could not become one: the safety net was saved).
    findings: Mapped[dict[str, Any]] = mapped_column(JSON)
    # The questionnaire answers of a web assessment, as given (None for findings sent to the API).
    answers: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    result: Mapped[dict[str, Any]] = mapped_column(JSON)
    disposition: Mapped[str] = mapped_column(String(16))
    safety_net: Mapped[bool] = mapped_column(Boolean, default=False)
    ruleset_version: Mapped[str] = mapped_column(String(64))
    ruleset_sha256: Mapped[str] = mapped_column(String(64))
    # Who made the version; None: the system (an automatic re-triage by the follow-up rules),
    # with what set it off in `trigger` ("<source>:<rule ids>", e.g. "diary:care.diary_red_flag").
    created_by_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    trigger: Mapped[str | None] = mapped_column(String(64), nullable=True, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    assessment: Mapped[Assessment] = relationship(back_populates="versions")


class VisitRequest(Base):
    """A request for a tele-visit about one assessment."""

    __tablename__ = "visit_requests"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    assessment_id: Mapped[str] = mapped_column(ForeignKey("assessments.id"), index=True)
    requested_by_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(16), default="requested")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    assessment: Mapped[Assessment] = relationship()


class UserSession(Base):
    """A server-side session; the cookie holds a random token, the table only its SHA-256."""

    __tablename__ = "sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # Draft answers of an assessment in progress (kept server-side, not in the cookie).
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User | None] = relationship()


class LoginAttempt(Base):
    """A login attempt, for rate limiting and the security log; never the password."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_username_at", "username", "at"),
        Index("ix_login_attempts_ip_at", "ip", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64))
    ip: Mapped[str] = mapped_column(String(64))
    success: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEvent(Base):
    """Who read or wrote which health record, and when. Holds ids, never health data."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[str | None] = mapped_column(String(32), index=True)
    actor_username: Mapped[str | None] = mapped_column(String(64))
    actor_role: Mapped[str | None] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(32))
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str | None] = mapped_column(String(64), index=True)
    profile_id: Mapped[str | None] = mapped_column(String(32), index=True)
    detail: Mapped[str | None] = mapped_column(Text)


class AppendOnlyError(RuntimeError):
    """Raised when code tries to change a saved assessment version."""


@event.listens_for(AssessmentVersion, "before_update")
def _refuse_version_update(*_: object) -> None:
    raise AppendOnlyError("assessment versions are append-only: save a new version instead")


@event.listens_for(AssessmentVersion, "before_delete")
def _refuse_version_delete(*_: object) -> None:
    raise AppendOnlyError("assessment versions are append-only")


@event.listens_for(AuditEvent, "before_update")
def _refuse_audit_update(*_: object) -> None:
    raise AppendOnlyError("the audit log is append-only")
