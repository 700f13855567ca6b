"""Tables of account security (issue 13): login counters, password resets, two-factor secrets
and the stored answers of idempotent requests. Migration 0010_accounts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from telespine.store.models import Base, new_id, utcnow

__all__ = ["Base", "IdempotencyRecord", "LoginCounter", "PasswordReset", "RecoveryCode", "TotpCredential"]


class LoginCounter(Base):
    """Attempts in the current window for one key (`pair:<name>:<address>`, `ip:<address>`,
    `signup:<address>`). Counted with one atomic UPDATE ... RETURNING before the password check,
    so parallel attempts cannot all read the same old count."""

    __tablename__ = "login_counters"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    window_start: Mapped[datetime] = mapped_column(default=utcnow)


class PasswordReset(Base):
    """A password-reset request. The worker makes the token when it sends the e-mail and keeps
    only its SHA-256 here, so the link exists nowhere but in the e-mail; used once, then stamped."""

    __tablename__ = "password_resets"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    # pending -> claimed (a worker sends it) -> sent; back to pending after a failed send,
    # failed after three tries.
    status: Mapped[str] = mapped_column(String(16), default="pending")
    tries: Mapped[int] = mapped_column(Integer, default=0)
    claimed_at: Mapped[datetime | None] = mapped_column(default=None)
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    used_at: Mapped[datetime | None] = mapped_column(default=None)


class TotpCredential(Base):
    """A time-based one-time-password secret of an account (RFC 6238, pyotp). `secret` holds it
    encrypted (a Fernet token, telespine.store.datakeys; migration 0015), never as it is."""

    __tablename__ = "totp_credentials"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    secret: Mapped[str] = mapped_column(String(255))
    confirmed_at: Mapped[datetime | None] = mapped_column(default=None)
    # The last time step accepted: a code is never accepted twice.
    last_step: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RecoveryCode(Base):
    """A single-use recovery code of two-step sign-in: shown once, kept only as an argon2id hash;
    `used_at` is set by a conditional UPDATE, so a code works once. New codes replace all old ones."""

    __tablename__ = "totp_recovery_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(default=None)


class IdempotencyRecord(Base):
    """The stored answer of a creating API request sent with an Idempotency-Key header."""

    __tablename__ = "idempotency_records"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(300))
    body_sha256: Mapped[str] = mapped_column(String(64))
    # None while the first request is still running.
    status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    response: Mapped[Any] = mapped_column(JSON, default=None, nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
